/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-cli"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
  int status;
  char *out;
  char *err;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

/* Runs the built orrery with @args (NULL-terminated), without ORRERY_DSN so
 * that it falls back to the demo database in the test's own XDG_DATA_HOME. */
static void
run_cli (Result *r, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("ORRERY_CLI");
  va_list ap;

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "ORRERY_DSN");
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  /* The isolated directories of this test case, for the demo database. */
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("status %d\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
}

static void
test_hello_demo (void)
{
  g_auto(Result) r = { 0 };

  g_test_summary ("With no DSN, orrery run prints the row from the demo database it creates");
  run_cli (&r, "run", "-e", "OutputDataSet = InputDataSet", "--input", "SELECT 1 AS hello", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "hello\n-----\n1    \n\n(1 row affected)\n");
}

static void
test_demo_tables (void)
{
  g_auto(Result) r = { 0 };

  g_test_summary ("The demo database has the iris (150 rows) and sales tables");
  run_cli (&r, "run", "-e",
           "OutputDataSet = InputDataSet.groupby('species', as_index=False).size()",
           "--input", "SELECT * FROM iris", "--format", "csv", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "species,size\r\nsetosa,50\r\nversicolor,50\r\nvirginica,50\r\n");
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, "run", "-e",
           "import pandas as pd\n"
           "OutputDataSet = pd.DataFrame({'n': [len(InputDataSet)], 'regions': [InputDataSet.region.nunique()]})",
           "--input", "SELECT id, region FROM sales", "--format", "json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "[\n  {\"n\": 1000, \"regions\": 4}\n]\n");
}

static void
test_stdout_block (void)
{
  g_auto(Result) r = { 0 };

  g_test_summary ("Script output appears under SQL Server's STDOUT and STDERR headings");
  run_cli (&r, "run", "-e", "import sys\nprint('hello from Python')\nprint('careful', file=sys.stderr)", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==,
                   "STDOUT message(s) from external script:\nhello from Python\n"
                   "STDERR message(s) from external script:\ncareful\n");
}

static void
test_script_error (void)
{
  g_auto(Result) r = { 0 };

  g_test_summary ("A script error exits 1 and names the user's line, with the traceback");
  run_cli (&r, "run", "-e", "x = 1\nprint('so far so good')\nraise ValueError('bad value')", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "so far so good"));
  g_assert_nonnull (strstr (r.err, "ValueError at line 3 of the script: bad value"));
  g_assert_nonnull (strstr (r.err, "File \"<script>\", line 3, in <module>"));
}

static void
test_usage_errors (void)
{
  struct {
    const char *args[6];
    int status;
    const char *message;
  } cases[] = {
    { { "run", "--param", "a:int=x", "-e", "pass", NULL }, 2, "Parameter “a”: “x” is not a valid int value" },
    { { "run", "--param", "oops", "-e", "pass", NULL }, 2, "Malformed parameter “oops”" },
    { { "run", NULL }, 2, "Give the script with --script FILE or -e CODE" },
    { { "run", "-e", "pass", "--format", "xml", NULL }, 2, "Unknown format “xml”" },
    { { "frobnicate", NULL }, 2, "unknown command “frobnicate”" },
    { { "--dsn", "orrery_no_such_dsn", "run", "-e", "pass", NULL }, 3, "SQLSTATE IM002" },
    { { "run", "-e", "OutputDataSet = InputDataSet", "--input", "SELEC 1", NULL }, 1, "SQLSTATE" },
  };

  g_test_summary ("Bad input gets a clear error naming what was wrong, and a distinct exit status");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Result) r = { 0 };
      const char **a = cases[i].args;

      run_cli (&r, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
      g_assert_cmpint (r.status, ==, cases[i].status);
      if (strstr (r.err, cases[i].message) == NULL)
        g_error ("case %u: stderr “%s” lacks “%s”", i, r.err, cases[i].message);
    }
}

static void
test_help (void)
{
  const char *commands[] = { "run", "status" };

  g_test_summary ("--help works for the program and for every command");
  {
    g_auto(Result) r = { 0 };
    run_cli (&r, "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "Commands:"));
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto(Result) r = { 0 };
      run_cli (&r, commands[i], "--help", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, "--dsn"));
    }
}

static void
test_pg_hello (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_PG_DSN");
  g_auto(Result) r = { 0 };

  g_test_summary ("orrery --dsn prints the row from PostgreSQL");
  if (dsn == NULL)
    {
      g_test_skip ("ORRERY_TEST_PG_DSN is not set: run the suite with tools/test.sh");
      return;
    }
  run_cli (&r, "--dsn", dsn, "enable", NULL);
  g_assert_cmpint (r.status, ==, 0);
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, "--dsn", dsn, "run", "-e", "OutputDataSet = InputDataSet", "--input", "SELECT 1 AS hello", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "hello\n-----\n1    \n\n(1 row affected)\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Orr/Cli/hello-demo", test_hello_demo);
  g_test_add_func ("/Orr/Cli/demo-tables", test_demo_tables);
  g_test_add_func ("/Orr/Cli/stdout-block", test_stdout_block);
  g_test_add_func ("/Orr/Cli/script-error", test_script_error);
  g_test_add_func ("/Orr/Cli/usage-errors", test_usage_errors);
  g_test_add_func ("/Orr/Cli/help", test_help);
  g_test_add_func ("/Orr/Cli/pg-hello", test_pg_hello);
  return g_test_run ();
}
