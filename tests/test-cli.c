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
  g_assert_cmpstr (r.out, ==, "hello\n-----\n    1\n\n(1 row affected)\n");
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
  const char *commands[] = { "run", "status", "enable", "disable", "grant", "revoke", "permissions", "log" };

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
  g_assert_cmpstr (r.out, ==, "hello\n-----\n    1\n\n(1 row affected)\n");
}

static void
expect (Result *r, int status, const char *fragment, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  while (args->len < 12)
    g_ptr_array_add (args, NULL);
  result_clear (r);
  memset (r, 0, sizeof *r);
  run_cli (r, args->pdata[0], args->pdata[1], args->pdata[2], args->pdata[3], args->pdata[4], args->pdata[5],
           args->pdata[6], args->pdata[7], args->pdata[8], args->pdata[9], args->pdata[10], NULL);
  if (status >= 0)
    g_assert_cmpint (r->status, ==, status);
  if (fragment && strstr (r->out, fragment) == NULL && strstr (r->err, fragment) == NULL)
    g_error ("output lacks “%s”:\n%s\n%s", fragment, r->out, r->err);
}

static void
test_pg_dba_flow (void)
{
  const char *admin = g_getenv ("ORRERY_TEST_PG_CONN");
  g_autoptr(GRegex) uid = NULL;
  g_autofree char *analyst = NULL;
  g_auto(Result) r = { 0 };

  g_test_summary ("A DBA's whole flow with the CLI against PostgreSQL: enable, grant a role, pools, "
                  "the analyst runs in its pool, the log shows it; the analyst cannot change anything");
  if (admin == NULL)
    {
      g_test_skip ("ORRERY_TEST_PG_CONN is not set: run the suite with tools/test.sh");
      return;
    }
  uid = g_regex_new ("Uid=[^;]*;Pwd=[^;]*", G_REGEX_CASELESS, 0, NULL);
  analyst = g_regex_replace_literal (uid, admin, -1, 0, "Uid=orr_cli_analyst;Pwd=cli-pw", 0, NULL);

  expect (&r, 0, NULL, "--connection", admin, "run", "-e", "pass", NULL);
  expect (&r, 0, "External scripts are enabled.", "--connection", admin, "enable", NULL);
  /* Roles through SQL, as a DBA would create them. */
  expect (&r, 0, NULL, "--connection", admin, "run", "-e", "pass", "--input",
          "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orr_cli_team') THEN"
          " CREATE ROLE orr_cli_team; CREATE ROLE orr_cli_analyst LOGIN PASSWORD 'cli-pw' IN ROLE orr_cli_team;"
          " END IF; END$$", NULL);
  /* From a clean slate, whatever an earlier run left. */
  expect (&r, 0, NULL, "--connection", admin, "revoke", "orr_cli_team", NULL);
  expect (&r, 0, NULL, "--connection", admin, "revoke", "orr_cli_analyst", NULL);
  expect (&r, 1, "does not have the EXECUTE ANY EXTERNAL SCRIPT permission", "--connection", analyst,
          "run", "-e", "pass", NULL);
  expect (&r, 0, "Granted EXECUTE ANY EXTERNAL SCRIPT to orr_cli_team.", "--connection", admin,
          "grant", "orr_cli_team", NULL);
  expect (&r, 0, "orr_cli_analyst,login,true,orr_cli_team", "--connection", admin, "permissions",
          "--format", "csv", NULL);
  expect (&r, 2, "--max-cpu-percent must be between 1 and 100", "--connection", admin, "pool", "create",
          "cli_pool", "--max-cpu-percent", "0", NULL);
  /* Gone or not, from an earlier run. */
  expect (&r, -1, NULL, "--connection", admin, "pool", "drop", "cli_pool", NULL);
  expect (&r, 0, "Created resource pool cli_pool.", "--connection", admin, "pool", "create", "cli_pool",
          "--max-cpu-percent", "50", "--max-memory-mb", "512", "--cpus", "0", NULL);
  expect (&r, 0, "Changed resource pool cli_pool.", "--connection", admin, "pool", "alter", "cli_pool",
          "--timeout", "60", NULL);
  expect (&r, 1, "There is no resource pool “nope”", "--connection", admin, "pool", "assign", "orr_cli_team",
          "nope", NULL);
  expect (&r, 0, "now run in resource pool cli_pool", "--connection", admin, "pool", "assign", "orr_cli_team",
          "cli_pool", NULL);
  expect (&r, 0, "\"name\": \"cli_pool\", \"max_cpu_percent\": 50, \"max_memory_mb\": 512",
          "--connection", admin, "pool", "list", "--format", "json", NULL);
  expect (&r, 0, "42", "--connection", analyst, "run", "-e", "OutputDataSet = InputDataSet",
          "--input", "SELECT 42 AS answer", NULL);
  expect (&r, 0, "orr_cli_analyst,cli_pool", "--connection", admin, "log", "--principal", "orr_cli_analyst",
          "--limit", "1", "--format", "csv", NULL);
  expect (&r, 1, "Only an administrator can disable external scripts", "--connection", analyst, "disable", NULL);
  expect (&r, 1, "Only an administrator can grant permissions", "--connection", analyst, "grant",
          "orr_cli_analyst", NULL);
  expect (&r, 2, "The “default” pool cannot be dropped", "--connection", admin, "pool", "drop", "default", NULL);
  expect (&r, 2, "Unknown outcome “exploded”", "--connection", admin, "log", "--outcome", "exploded", NULL);
  expect (&r, 0, "Revoked", "--connection", admin, "revoke", "orr_cli_team", NULL);
  expect (&r, 1, "does not have the EXECUTE ANY EXTERNAL SCRIPT permission", "--connection", analyst,
          "run", "-e", "pass", NULL);
  expect (&r, 0, "External scripts are disabled.", "--connection", admin, "disable", NULL);
  expect (&r, 1, "Msg 39023", "--connection", admin, "run", "-e", "pass", NULL);
  expect (&r, 0, NULL, "--connection", admin, "enable", NULL);
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
  g_test_add_func ("/Orr/Cli/pg-dba-flow", test_pg_dba_flow);
  return g_test_run ();
}
