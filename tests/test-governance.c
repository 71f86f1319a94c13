/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-governance"

#include "config.h"

#include <string.h>

#include "orr-catalog.h"
#include "orr-engine.h"
#include "orr-error.h"

/* An administrator (the test server's superuser) and an analyst, a real
 * login whose rights come only from the database. */
static OrrEngine *engine;
static OrrConnection *admin;
static OrrConnection *analyst;

#define ANALYST "orr_analyst"
#define SCIENTISTS "orr_scientists"

static gboolean
have_pg (void)
{
  if (admin == NULL)
    {
      g_test_skip ("ORRERY_TEST_PG_CONN is not set: run the suite with tools/test.sh");
      return FALSE;
    }
  return TRUE;
}

static void
exec_sql (OrrConnection *conn, const char *sql)
{
  g_autoptr(GError) error = NULL;

  orr_connection_execute_update (conn, sql, NULL, &error);
  g_assert_no_error (error);
}

static char *
query_text (OrrConnection *conn, const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = orr_connection_execute (conn, sql, NULL, &error);
  g_autoptr(GString) out = g_string_new (NULL);
  OrrBatch *batch;

  g_assert_no_error (error);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        for (guint c = 0; c < orr_batch_get_n_columns (batch); c++)
          {
            g_autofree char *v = orr_batch_format_value (batch, c, r);
            g_string_append_printf (out, "%s%s", c ? "|" : (out->len ? "\n" : ""), v ? v : "NULL");
          }
      orr_batch_unref (batch);
    }
  g_assert_no_error (error);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static OrrJob *
run_as (OrrConnection *conn, const char *script)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  OrrJob *job;

  spec->script = g_strdup (script);
  spec->input_query = g_strdup ("SELECT 1 AS one");
  job = orr_engine_submit (engine, conn, spec);
  orr_job_wait (job);
  return job;
}

static void
assert_job_error (OrrJob *job, int code, const char *fragment)
{
  const GError *error = orr_job_get_error (job);

  g_assert_nonnull (error);
  if (!g_error_matches (error, ORR_ERROR, code) || strstr (error->message, fragment) == NULL)
    g_error ("expected error %d with “%s”, got %d: %s", code, fragment, error->code, error->message);
}

static void
assert_job_ok (OrrJob *job)
{
  if (orr_job_get_error (job))
    g_error ("job failed: %s", orr_job_get_error (job)->message);
  g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_SUCCEEDED);
}

static guint64
log_rows (const char *where)
{
  g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM orrery_job_log WHERE %s", where);
  g_autofree char *n = query_text (admin, sql);

  return g_ascii_strtoull (n, NULL, 10);
}

static void
setup_roles (void)
{
  exec_sql (admin, "DROP TABLE IF EXISTS orrery_job_log, orrery_pool_members, orrery_pools, orrery_grants,"
                   " orrery_settings, orrery_catalog_version");
  exec_sql (admin, "DO $$BEGIN"
                   " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" ANALYST "') THEN"
                   "   DROP OWNED BY " ANALYST "; DROP ROLE " ANALYST "; END IF;"
                   " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" SCIENTISTS "') THEN DROP ROLE " SCIENTISTS "; END IF;"
                   " END$$");
  exec_sql (admin, "CREATE ROLE " SCIENTISTS " NOLOGIN");
  exec_sql (admin, "CREATE ROLE " ANALYST " LOGIN PASSWORD 'analyst-pw' IN ROLE " SCIENTISTS);
}

static void
test_enable_disable (void)
{
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Enable and disable take effect for the next job; a disabled database refuses "
                  "with SQL Server's Msg 39023 and says how to enable");
  if (!have_pg ())
    return;
  catalog = orr_catalog_new (admin);
  {
    g_autoptr(OrrJob) job = run_as (admin, "pass");
    assert_job_error (job, ORR_ERROR_DISABLED, "orrery enable");
  }
  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_no_error (error);
  g_assert_cmpint (orr_catalog_get_version (catalog, NULL), ==, ORR_CATALOG_VERSION);
  {
    g_autoptr(OrrJob) job = run_as (admin, "OutputDataSet = InputDataSet");
    assert_job_ok (job);
  }
  g_assert_true (orr_catalog_disable (catalog, &error));
  {
    g_autoptr(OrrJob) job = run_as (admin, "pass");
    assert_job_error (job, ORR_ERROR_DISABLED, "Msg 39023");
    g_assert_cmpint (orr_job_get_pid (job), ==, 0);
  }
  g_assert_true (orr_catalog_enable (catalog, &error));
}

static void
test_grants (void)
{
  g_autoptr(OrrCatalog) dba = NULL;
  g_autoptr(OrrCatalog) mine = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("The analyst needs the permission; a grant to a role applies to its members; "
                  "revoke takes effect for the next job");
  if (!have_pg ())
    return;
  dba = orr_catalog_new (admin);
  mine = orr_catalog_new (analyst);
  g_assert_true (orr_catalog_enable (dba, &error));
  g_assert_cmpstr (orr_catalog_get_principal (mine, NULL), ==, ANALYST);
  g_assert_false (orr_catalog_is_admin (mine, NULL));
  g_assert_true (orr_catalog_is_admin (dba, NULL));
  {
    g_autoptr(OrrJob) job = run_as (analyst, "pass");
    assert_job_error (job, ORR_ERROR_PERMISSION_DENIED,
                      "The principal “" ANALYST "” does not have the EXECUTE ANY EXTERNAL SCRIPT permission");
  }
  g_assert_true (orr_catalog_grant (dba, SCIENTISTS, &error));
  g_assert_no_error (error);
  {
    g_autoptr(OrrJob) job = run_as (analyst, "OutputDataSet = InputDataSet");
    assert_job_ok (job);
  }
  g_assert_true (orr_catalog_revoke (dba, SCIENTISTS, &error));
  {
    g_autoptr(OrrJob) job = run_as (analyst, "pass");
    assert_job_error (job, ORR_ERROR_PERMISSION_DENIED, "orrery grant " ANALYST);
  }
  g_assert_false (orr_catalog_grant (dba, "orr_nobody_at_all", &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (orr_catalog_grant (dba, ANALYST, &error));
  {
    g_autoptr(OrrJob) job = run_as (analyst, "pass");
    assert_job_ok (job);
  }
}

static void
expect_refused (const char *sql)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (orr_connection_execute_update (analyst, sql, NULL, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
  /* 42501: insufficient privilege, or a row-level security violation. */
  if (strstr (error->message, "42501") == NULL)
    g_error ("“%s” failed, but not for lack of privilege: %s", sql, error->message);
}

static void
test_protected (void)
{
  g_autoptr(OrrCatalog) dba = NULL;
  g_autoptr(OrrCatalog) mine = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrLimits) limits = orr_limits_new ("sneaky");
  g_autofree char *visible = NULL;

  g_test_summary ("The analyst cannot change settings, grants, pools or the log: Orrery says so, and the "
                  "database itself refuses whatever client is used; it reads only what applies to it");
  if (!have_pg ())
    return;
  dba = orr_catalog_new (admin);
  mine = orr_catalog_new (analyst);
  g_assert_true (orr_catalog_enable (dba, &error));
  g_assert_true (orr_catalog_grant (dba, "orrery", &error));

  g_assert_false (orr_catalog_disable (mine, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_false (orr_catalog_grant (mine, ANALYST, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_false (orr_catalog_create_pool (mine, limits, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  expect_refused ("UPDATE orrery_settings SET value = '0'");
  expect_refused ("INSERT INTO orrery_grants VALUES ('" ANALYST "', 'me', now())");
  expect_refused ("DELETE FROM orrery_grants");
  expect_refused ("INSERT INTO orrery_pools (name) VALUES ('mine')");
  expect_refused ("UPDATE orrery_pools SET max_cpu_percent = 100");
  expect_refused ("INSERT INTO orrery_pool_members VALUES ('" ANALYST "', 'default')");
  expect_refused ("DELETE FROM orrery_job_log");
  expect_refused ("UPDATE orrery_job_log SET outcome = 'succeeded'");
  expect_refused ("INSERT INTO orrery_job_log (principal, pool, started_at, ended_at, outcome, script_sha256,"
                  " script_text, rows_in, rows_out) VALUES ('orrery', 'default', now(), now(), 'failed', 'x', 'x', 0, 0)");
  expect_refused ("DROP TABLE orrery_job_log");

  /* Grants of others are invisible; the analyst's own jobs only. */
  visible = query_text (analyst, "SELECT string_agg(principal, ',' ORDER BY principal) FROM orrery_grants");
  g_assert_cmpstr (visible, ==, ANALYST);
  g_free (visible);
  visible = query_text (analyst, "SELECT COUNT(*) FROM orrery_job_log WHERE principal <> current_user");
  g_assert_cmpstr (visible, ==, "0");
}

static void
test_pools (void)
{
  g_autoptr(OrrCatalog) dba = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrLimits) limits = orr_limits_new ("analysts");
  g_autoptr(OrrLimits) read_back = NULL;
  guint64 before;

  g_test_summary ("Pools are created, altered, assigned and dropped with validation; a job runs in its "
                  "principal's pool (directly or through a role)");
  if (!have_pg ())
    return;
  dba = orr_catalog_new (admin);
  g_assert_true (orr_catalog_enable (dba, &error));
  g_assert_true (orr_catalog_grant (dba, SCIENTISTS, &error));

  limits->max_cpu_percent = 150;
  g_assert_false (orr_catalog_create_pool (dba, limits, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "between 1 and 100"));
  g_clear_error (&error);
  limits->max_cpu_percent = 40;
  limits->cpus = g_strdup ("0-x");
  g_assert_false (orr_catalog_create_pool (dba, limits, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_free (limits->cpus);
  limits->cpus = g_strdup ("0");
  limits->max_memory_bytes = 512u << 20;
  limits->max_processes = 4;
  g_assert_true (orr_catalog_create_pool (dba, limits, &error));
  g_assert_no_error (error);
  g_assert_false (orr_catalog_create_pool (dba, limits, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_clear_pointer (&limits, orr_limits_free);
  limits = orr_limits_new ("analysts");
  limits->timeout_ms = 30000;
  g_assert_true (orr_catalog_alter_pool (dba, limits, &error));
  read_back = orr_catalog_get_pool (dba, "analysts", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (read_back->max_cpu_percent, ==, 40);
  g_assert_cmpuint (read_back->max_memory_bytes, ==, 512u << 20);
  g_assert_cmpuint (read_back->max_processes, ==, 4);
  g_assert_cmpstr (read_back->cpus, ==, "0");
  g_assert_cmpuint (read_back->timeout_ms, ==, 30000);

  g_assert_false (orr_catalog_assign_pool (dba, SCIENTISTS, "no_such_pool", &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (orr_catalog_drop_pool (dba, "default", &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (orr_catalog_assign_pool (dba, SCIENTISTS, "analysts", &error));
  before = log_rows ("principal = '" ANALYST "' AND pool = 'analysts'");
  {
    g_autoptr(OrrJob) job = run_as (analyst, "pass");
    assert_job_ok (job);
  }
  g_assert_cmpuint (log_rows ("principal = '" ANALYST "' AND pool = 'analysts'"), ==, before + 1);
  /* The superuser belongs to no pool: default, not the role's. */
  {
    g_autoptr(OrrJob) job = run_as (admin, "pass");
    assert_job_ok (job);
  }
  g_assert_true (orr_catalog_drop_pool (dba, "analysts", &error));
  g_assert_no_error (error);
  before = log_rows ("principal = '" ANALYST "' AND pool = 'default'");
  {
    g_autoptr(OrrJob) job = run_as (analyst, "pass");
    assert_job_ok (job);
  }
  g_assert_cmpuint (log_rows ("principal = '" ANALYST "' AND pool = 'default'"), ==, before + 1);
}

static void
check_outcome (OrrConnection *conn, const char *script, const char *outcome, gboolean cancel)
{
  g_autofree char *where = g_strdup_printf ("outcome = '%s'", outcome);
  guint64 all = log_rows ("1 = 1");
  guint64 before = log_rows (where);
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJob) job = NULL;

  spec->script = g_strdup (script);
  job = orr_engine_submit (engine, conn, spec);
  if (cancel)
    {
      for (int i = 0; i < 2000 && orr_job_get_state (job) != ORR_JOB_RUNNING; i++)
        g_usleep (5000);
      g_usleep (200 * 1000);
      orr_job_cancel (job);
    }
  orr_job_wait (job);
  g_assert_null (orr_job_get_log_error (job));
  g_assert_cmpuint (log_rows (where), ==, before + 1);
  g_assert_cmpuint (log_rows ("1 = 1"), ==, all + 1);
}

static void
test_log_outcomes (void)
{
  g_autoptr(OrrCatalog) dba = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *row = NULL;

  g_test_summary ("Exactly one log row per job for every outcome, a satellite killed mid-run included, "
                  "with its script, rows and resources");
  if (!have_pg ())
    return;
  dba = orr_catalog_new (admin);
  g_assert_true (orr_catalog_enable (dba, &error));
  g_assert_true (orr_catalog_revoke (dba, ANALYST, &error));
  g_assert_true (orr_catalog_revoke (dba, SCIENTISTS, &error));

  check_outcome (admin, "x = sum(range(1000))", "succeeded", FALSE);
  row = query_text (admin, "SELECT principal, pool, script_text, script_sha256 = encode(sha256(convert_to(script_text,"
                           " 'UTF8')), 'hex'), cpu_seconds > 0, peak_memory_bytes > 1000000, ended_at >= started_at"
                           " FROM orrery_job_log ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (row, ==, "orrery|default|x = sum(range(1000))|true|true|true|true");
  check_outcome (admin, "1 / 0", "failed", FALSE);
  check_outcome (admin, "import time\ntime.sleep(30)", "cancelled", TRUE);
  check_outcome (admin, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "killed", FALSE);
  check_outcome (analyst, "pass", "rejected", FALSE);
  g_free (row);
  row = query_text (admin, "SELECT principal, error_text FROM orrery_job_log ORDER BY id DESC LIMIT 1");
  g_assert_true (g_str_has_prefix (row, ANALYST "|The principal"));
}

static void
test_queue (void)
{
  g_autoptr(OrrCatalog) dba = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrLimits) limits = orr_limits_new ("single");
  g_autoptr(OrrJobSpec) slow = orr_job_spec_new ();
  g_autoptr(OrrJobSpec) quick = orr_job_spec_new ();
  g_autoptr(OrrConnection) second = NULL;
  g_autoptr(OrrJob) first = NULL;
  g_autoptr(OrrJob) waiting = NULL;
  g_autoptr(OrrJob) refused = NULL;

  g_test_summary ("When the pool runs its maximum of processes the next job waits, visible as queued, "
                  "then runs; past the wait bound it is refused with a clear error");
  if (!have_pg ())
    return;
  dba = orr_catalog_new (admin);
  g_assert_true (orr_catalog_enable (dba, &error));
  g_assert_true (orr_catalog_grant (dba, ANALYST, &error));
  limits->max_processes = 1;
  g_assert_true (orr_catalog_create_pool (dba, limits, &error));
  g_assert_true (orr_catalog_assign_pool (dba, ANALYST, "single", &error));
  g_assert_no_error (error);

  /* A connection runs one job at a time: the second job gets its own. */
  second = orr_connection_new (orr_connection_get_target (analyst));
  g_assert_true (orr_connection_open (second, NULL, &error));

  slow->script = g_strdup ("import time\ntime.sleep(1.5)");
  first = orr_engine_submit (engine, analyst, slow);
  for (int i = 0; i < 2000 && orr_job_get_state (first) != ORR_JOB_RUNNING; i++)
    g_usleep (5000);
  quick->script = g_strdup ("pass");
  quick->queue_timeout_ms = 10000;
  waiting = orr_engine_submit (engine, second, quick);
  g_usleep (500 * 1000);
  g_assert_cmpint (orr_job_get_state (waiting), ==, ORR_JOB_QUEUED);
  orr_job_wait (first);
  orr_job_wait (waiting);
  assert_job_ok (first);
  assert_job_ok (waiting);

  g_clear_object (&first);
  first = orr_engine_submit (engine, analyst, slow);
  for (int i = 0; i < 2000 && orr_job_get_state (first) != ORR_JOB_RUNNING; i++)
    g_usleep (5000);
  quick->queue_timeout_ms = 200;
  refused = orr_engine_submit (engine, second, quick);
  orr_job_wait (refused);
  assert_job_error (refused, ORR_ERROR_QUEUE_TIMEOUT, "running its maximum of 1 processes");
  orr_job_wait (first);
  assert_job_ok (first);
  g_assert_true (orr_catalog_drop_pool (dba, "single", &error));
}

static void
test_sqlite (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rows = NULL;

  g_test_summary ("On SQLite the principal is the OS user and the file's owner administers; "
                  "the same switch, grants, pools and log work");
  if (dsn == NULL)
    {
      g_test_skip ("ORRERY_TEST_SQLITE_DSN is not set: run the suite with tools/test.sh");
      return;
    }
  conn = orr_connection_new (dsn);
  g_assert_true (orr_connection_open (conn, NULL, &error));
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_job_log");
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_pool_members");
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_pools");
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_grants");
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_settings");
  exec_sql (conn, "DROP TABLE IF EXISTS orrery_catalog_version");
  catalog = orr_catalog_new (conn);
  g_assert_cmpstr (orr_catalog_get_principal (catalog, NULL), ==, g_get_user_name ());
  g_assert_true (orr_catalog_is_admin (catalog, NULL));
  {
    g_autoptr(OrrJob) job = run_as (conn, "pass");
    assert_job_error (job, ORR_ERROR_DISABLED, "orrery enable");
  }
  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_no_error (error);
  g_assert_true (orr_catalog_disable (catalog, &error));
  {
    g_autoptr(OrrJob) job = run_as (conn, "pass");
    assert_job_error (job, ORR_ERROR_DISABLED, "orrery enable");
  }
  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_true (orr_catalog_grant (catalog, g_get_user_name (), &error));
  g_assert_false (orr_catalog_grant (catalog, "orr-no-such-os-user", &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  {
    g_autoptr(OrrLimits) limits = orr_limits_new ("lite");
    limits->max_cpu_percent = 25;
    g_assert_true (orr_catalog_create_pool (catalog, limits, &error));
    g_assert_true (orr_catalog_assign_pool (catalog, g_get_user_name (), "lite", &error));
  }
  {
    g_autoptr(OrrJob) job = run_as (conn, "OutputDataSet = InputDataSet");
    assert_job_ok (job);
  }
  {
    g_autoptr(OrrJob) job = run_as (conn, "raise ValueError('no')");
    assert_job_error (job, ORR_ERROR_SCRIPT, "ValueError");
  }
  rows = query_text (conn, "SELECT pool, outcome, rows_in FROM orrery_job_log ORDER BY id");
  g_assert_cmpstr (rows, ==, "default|rejected|0\nlite|succeeded|1\nlite|failed|1");
}

int
main (int argc, char **argv)
{
  const char *conn_str = g_getenv ("ORRERY_TEST_PG_CONN");
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  engine = orr_engine_new ();

  if (conn_str)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GRegex) uid = g_regex_new ("Uid=[^;]*;Pwd=[^;]*", G_REGEX_CASELESS, 0, NULL);
      g_autofree char *analyst_str = g_regex_replace_literal (uid, conn_str, -1, 0,
                                                              "Uid=" ANALYST ";Pwd=analyst-pw", 0, NULL);

      admin = orr_connection_new (conn_str);
      if (!orr_connection_open (admin, NULL, &error))
        g_error ("Cannot connect as the administrator: %s", error->message);
      setup_roles ();
      analyst = orr_connection_new (analyst_str);
      if (!orr_connection_open (analyst, NULL, &error))
        g_error ("Cannot connect as the analyst: %s", error->message);
    }

  g_test_add_func ("/Orr/Governance/pg/enable-disable", test_enable_disable);
  g_test_add_func ("/Orr/Governance/pg/grants", test_grants);
  g_test_add_func ("/Orr/Governance/pg/protected", test_protected);
  g_test_add_func ("/Orr/Governance/pg/pools", test_pools);
  g_test_add_func ("/Orr/Governance/pg/log-outcomes", test_log_outcomes);
  g_test_add_func ("/Orr/Governance/pg/queue", test_queue);
  g_test_add_func ("/Orr/Governance/sqlite", test_sqlite);
  rc = g_test_run ();

  g_clear_object (&analyst);
  g_clear_object (&admin);
  g_clear_object (&engine);
  return rc;
}
