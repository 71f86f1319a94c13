/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-i18n-cli"

#include "config.h"

#include <gio/gio.h>
#include <stdarg.h>
#include <string.h>

/* The CLI in French: `LANGUAGE=fr orrery …` on a host without a French
 * locale (the C locale, as in CI), with the catalog built from po/ in
 * $ORRERY_LOCALEDIR. The engine's, the catalog's and the sandboxed
 * satellite's own messages are French; what comes from elsewhere (Python's
 * traceback) stays as it was. Without LANGUAGE, everything is English. */

#define NBSP "\xc2\xa0"

typedef struct {
  char *out;
  char *err;
  int status;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

/* Runs the built orrery with @args on the test's own demo database, in the
 * C locale, with LANGUAGE=@language (NULL: unset). */
static void
run_cli (Result *r, const char *language, const char *first, ...)
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
  for (const char * const *v = (const char * const[]) { "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE", NULL }; *v; v++)
    g_subprocess_launcher_unsetenv (launcher, *v);
  if (language)
    g_subprocess_launcher_setenv (launcher, "LANGUAGE", language, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("LANGUAGE=%s status %d\nstdout:\n%s\nstderr:\n%s", language ? language : "(unset)",
                  r->status, r->out, r->err);
}

#define assert_has(haystack, needle) \
  G_STMT_START { \
    if (strstr ((haystack), (needle)) == NULL) \
      g_error ("“%s” is missing from:\n%s", (needle), (haystack)); \
  } G_STMT_END
#define assert_lacks(haystack, needle) \
  G_STMT_START { \
    if (strstr ((haystack), (needle)) != NULL) \
      g_error ("“%s” should not be in:\n%s", (needle), (haystack)); \
  } G_STMT_END

static void
test_catalog_built (void)
{
  const char *dir = g_getenv ("ORRERY_LOCALEDIR");
  g_autofree char *mo = NULL;

  g_test_summary ("The French catalog was built where the tests look for it");
  g_assert_nonnull (dir);
  mo = g_build_filename (dir, "fr", "LC_MESSAGES", "orrery.mo", NULL);
  g_assert_true (g_file_test (mo, G_FILE_TEST_IS_REGULAR));
}

static void
test_help_fr (void)
{
  g_auto(Result) r = { 0 };
  g_auto(Result) run = { 0 };

  g_test_summary ("orrery --help and orrery run --help are in French under LANGUAGE=fr, in the C locale");
  run_cli (&r, "fr", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.out, "Utilisation" NBSP ":");
  assert_has (r.out, "Commandes" NBSP ":");
  assert_has (r.out, "Exécuter un script Python sur les lignes d'une requête");
  assert_has (r.out, "orrery [--dsn NOM | --connection CHAÎNE] COMMANDE");
  assert_lacks (r.out, "Usage:");
  assert_lacks (r.out, "Run a Python script");

  run_cli (&run, "fr", "run", "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_has (run.out, "exécuter un script Python sur les lignes d'une requête");
  assert_has (run.out, "Script Python à exécuter");
  assert_has (run.out, "--input=SQL");
  assert_has (run.out, "Chaîne de connexion ODBC complète");
  assert_lacks (run.out, "Python script to run");
  assert_lacks (run.out, "Query whose rows");
}

static void
test_help_c (void)
{
  g_auto(Result) r = { 0 };
  g_auto(Result) run = { 0 };

  g_test_summary ("Without LANGUAGE, in the C locale, the same help is English");
  run_cli (&r, NULL, "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.out, "Usage:");
  assert_has (r.out, "Run a Python script over a query's rows");
  assert_lacks (r.out, "Utilisation");

  run_cli (&run, NULL, "run", "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_has (run.out, "Python script to run");
  assert_lacks (run.out, "Script Python");
}

static void
test_script_error_fr (void)
{
  g_auto(Result) fr = { 0 };
  g_auto(Result) en = { 0 };

  g_test_summary ("A failing script: Orrery's words in French around Python's traceback, "
                  "which stays as Python wrote it; in English without LANGUAGE");
  run_cli (&fr, "fr", "run", "-e", "x = 1\ny = x / 0", NULL);
  g_assert_cmpint (fr.status, !=, 0);
  assert_has (fr.err, "ZeroDivisionError à la ligne 2 du script" NBSP ": division by zero");
  assert_has (fr.err, "Traceback (most recent call last):");
  assert_has (fr.err, "ZeroDivisionError: division by zero");
  assert_lacks (fr.err, "of the script");

  run_cli (&en, NULL, "run", "-e", "x = 1\ny = x / 0", NULL);
  g_assert_cmpint (en.status, ==, fr.status);
  assert_has (en.err, "ZeroDivisionError at line 2 of the script: division by zero");
  assert_has (en.err, "Traceback (most recent call last):");
}

static void
test_satellite_fr (void)
{
  g_auto(Result) fr = { 0 };
  g_auto(Result) en = { 0 };

  g_test_summary ("The satellite's own message (OutputDataSet of the wrong type), from a sandboxed "
                  "job, is French too");
  run_cli (&fr, "fr", "run", "-e", "OutputDataSet = 42", NULL);
  g_assert_cmpint (fr.status, !=, 0);
  assert_has (fr.err, "OutputDataSet doit être un DataFrame pandas, et non int");

  run_cli (&en, NULL, "run", "-e", "OutputDataSet = 42", NULL);
  assert_has (en.err, "OutputDataSet must be a pandas DataFrame, not int");
}

static void
test_disabled_fr (void)
{
  g_auto(Result) disable = { 0 };
  g_auto(Result) fr = { 0 };
  g_auto(Result) en = { 0 };
  g_auto(Result) enable = { 0 };

  g_test_summary ("A job on a database with external scripts disabled is refused in French");
  run_cli (&disable, "fr", "disable", NULL);
  g_assert_cmpint (disable.status, ==, 0);
  assert_has (disable.out, "Scripts externes désactivés.");

  run_cli (&fr, "fr", "run", "-e", "OutputDataSet = InputDataSet", "--input", "SELECT 1 AS a", NULL);
  g_assert_cmpint (fr.status, !=, 0);
  assert_has (fr.err, "Les scripts externes sont désactivés sur cette base de données");
  assert_has (fr.err, "«" NBSP "orrery enable" NBSP "»");

  run_cli (&en, NULL, "run", "-e", "OutputDataSet = InputDataSet", "--input", "SELECT 1 AS a", NULL);
  assert_has (en.err, "External scripts are disabled on this database");

  run_cli (&enable, "fr", "enable", NULL);
  g_assert_cmpint (enable.status, ==, 0);
  assert_has (enable.out, "Scripts externes activés.");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Orr/I18n/catalog-built", test_catalog_built);
  g_test_add_func ("/Orr/I18n/help-fr", test_help_fr);
  g_test_add_func ("/Orr/I18n/help-c", test_help_c);
  g_test_add_func ("/Orr/I18n/script-error-fr", test_script_error_fr);
  g_test_add_func ("/Orr/I18n/satellite-fr", test_satellite_fr);
  g_test_add_func ("/Orr/I18n/disabled-fr", test_disabled_fr);
  return g_test_run ();
}
