/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-engine"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-engine.h"
#include "orr-error.h"

/* One engine (one warm zygote) for the whole run, as the console has. */
static OrrEngine *engine;

typedef struct {
  const char *dsn_env;
  const char *dialect;
} Target;

static const Target targets[] = {
  { "ORRERY_TEST_SQLITE_DSN", "sqlite" },
  { "ORRERY_TEST_PG_DSN", "pg" },
};

static OrrConnection *
connect_or_skip (const Target *target)
{
  const char *dsn = g_getenv (target->dsn_env);
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  if (dsn == NULL || *dsn == '\0')
    {
      g_autofree char *why = g_strdup_printf ("%s is not set: run the suite with tools/test.sh", target->dsn_env);
      g_test_skip (why);
      return NULL;
    }
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  /* The test runs as the database's administrator: switch external scripts on. */
  {
    g_autoptr(OrrCatalog) catalog = orr_catalog_new (conn);

    orr_catalog_enable (catalog, &error);
    g_assert_no_error (error);
  }
  return g_steal_pointer (&conn);
}

static void
exec_sql (OrrConnection *conn, const char *sql)
{
  g_autoptr(GError) error = NULL;

  orr_connection_execute_update (conn, sql, NULL, &error);
  g_assert_no_error (error);
}

static OrrJob *
run_job (OrrConnection *conn, const char *script, const char *input, GPtrArray *params,
         const char *output_table, guint timeout_ms)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  OrrJob *job;

  spec->script = g_strdup (script);
  spec->input_query = g_strdup (input);
  spec->params = params ? g_ptr_array_ref (params) : NULL;
  spec->output_table = g_strdup (output_table);
  spec->timeout_ms = timeout_ms;
  job = orr_engine_submit (engine, conn, spec);
  orr_job_wait (job);
  return job;
}

/* All values of a result as "a|b|c" lines, NULL as "NULL". */
static char *
dump_batches (OrrSchema *schema, GPtrArray *batches)
{
  GString *out = g_string_new (NULL);

  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          for (guint c = 0; c < orr_schema_get_n_fields (schema); c++)
            {
              g_autofree char *v = orr_batch_format_value (batch, c, r);
              g_string_append_printf (out, "%s%s", c ? "|" : "", v ? v : "NULL");
            }
          g_string_append_c (out, '\n');
        }
    }
  return g_string_free (out, FALSE);
}

static char *
dump_query (OrrConnection *conn, const char *sql, OrrSchema **schema_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = orr_connection_execute (conn, sql, NULL, &error);
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  OrrBatch *batch;
  char *text;

  g_assert_no_error (error);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    g_ptr_array_add (batches, batch);
  g_assert_no_error (error);
  text = dump_batches (orr_cursor_get_schema (cursor), batches);
  if (schema_out)
    *schema_out = orr_schema_ref (orr_cursor_get_schema (cursor));
  return text;
}

static void
assert_succeeded (OrrJob *job)
{
  const GError *error = orr_job_get_error (job);

  if (error)
    g_test_message ("job error: %s\n%s", error->message, orr_job_get_traceback (job) ? orr_job_get_traceback (job) : "");
  g_assert_no_error ((GError *) error);
  g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_SUCCEEDED);
}

static void
test_hello (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *text = NULL;

  g_test_summary ("OutputDataSet = InputDataSet over SELECT 1 AS hello returns the row, named");
  if (conn == NULL)
    return;
  job = run_job (conn, "OutputDataSet = InputDataSet", "SELECT 1 AS hello", NULL, NULL, 0);
  assert_succeeded (job);
  g_assert_cmpstr (orr_schema_get_field (orr_job_get_result_schema (job), 0)->name, ==, "hello");
  text = dump_batches (orr_job_get_result_schema (job), orr_job_get_result_batches (job));
  g_assert_cmpstr (text, ==, "1\n");
  g_assert_cmpuint (orr_job_get_rows_in (job), ==, 1);
  g_assert_cmpuint (orr_job_get_rows_out (job), ==, 1);
}

/* Every type, with NULLs, extremes, empty strings and Unicode. */
static const char *pg_types_sql[] = {
  "DROP TABLE IF EXISTS orr_types",
  "CREATE TABLE orr_types (id int, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,"
  " n numeric(12,2), t text, v varchar(32), bin bytea, d date, tm time, ts timestamp)",
  "INSERT INTO orr_types VALUES (1, true, -32768, -2147483648, -9223372036854775808, 1.5, -1e308, -9999999999.99,"
  " 'é漢字😀', '', '\\x00ff10', '0001-01-01', '00:00:00', '1969-12-31 23:59:59.999999')",
  "INSERT INTO orr_types VALUES (2, false, 32767, 2147483647, 9223372036854775807, -3.25, 2.2250738585072014e-308,"
  " 9999999999.99, '', 'plain', '\\x', '9999-12-31', '23:59:59.999999', '2262-04-11 23:47:16.854775')",
  "INSERT INTO orr_types VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
  "INSERT INTO orr_types VALUES (4, true, 0, 0, 0, 0, 0.1, -0.05, 'line\nbreak \"quoted\"', 'x', '\\x41', '1970-01-01',"
  " '12:34:56.5', '2026-11-24 12:00:00')",
  NULL
};

static const char *sqlite_types_sql[] = {
  "DROP TABLE IF EXISTS orr_types",
  "CREATE TABLE orr_types (id integer, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double,"
  " t text, v varchar(32), bin blob, d date, tm time, ts timestamp)",
  "INSERT INTO orr_types VALUES (1, 1, -32768, -2147483648, -9223372036854775808, 1.5, -1e300, 'é漢字😀', '',"
  " x'00ff10', '0001-01-01', '00:00:00', '1969-12-31 23:59:59.999999')",
  "INSERT INTO orr_types VALUES (2, 0, 32767, 2147483647, 9223372036854775807, -3.25, 0.1, '', 'plain', x'',"
  " '9999-12-31', '23:59:59', '2262-04-11 23:47:16.854775')",
  "INSERT INTO orr_types VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
  NULL
};

static void
test_types (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *through = NULL;
  gboolean pg;
  const char * const *sql;

  g_test_summary ("Every type survives InputDataSet → OutputDataSet with NULLs, extremes and Unicode; "
                  "decimals arrive as float64, as SQL Server maps them");
  if (conn == NULL)
    return;
  pg = g_str_equal (target->dialect, "pg");
  for (sql = pg ? pg_types_sql : sqlite_types_sql; *sql; sql++)
    exec_sql (conn, *sql);

  direct = dump_query (conn, "SELECT * FROM orr_types ORDER BY id", &schema);
  job = run_job (conn, "OutputDataSet = InputDataSet", "SELECT * FROM orr_types ORDER BY id", NULL, NULL, 0);
  assert_succeeded (job);
  through = dump_batches (orr_job_get_result_schema (job), orr_job_get_result_batches (job));
  g_test_message ("direct:\n%s\nthrough the satellite:\n%s", direct, through);

  if (pg)
    {
      /* The numeric(12,2) column comes back as float64 (SQL Server's mapping);
       * everything else is exact. Compare the rest column by column. */
      g_auto(GStrv) d_rows = g_strsplit (direct, "\n", -1);
      g_auto(GStrv) t_rows = g_strsplit (through, "\n", -1);

      g_assert_cmpuint (g_strv_length (d_rows), ==, g_strv_length (t_rows));
      for (guint r = 0; d_rows[r]; r++)
        {
          g_auto(GStrv) d = g_strsplit (d_rows[r], "|", -1);
          g_auto(GStrv) t = g_strsplit (t_rows[r], "|", -1);

          g_assert_cmpuint (g_strv_length (d), ==, g_strv_length (t));
          for (guint c = 0; d[c]; c++)
            if (c == 7 && g_strcmp0 (d[c], "NULL") != 0)
              g_assert_cmpfloat_with_epsilon (g_ascii_strtod (d[c], NULL), g_ascii_strtod (t[c], NULL), 1e-6);
            else
              g_assert_cmpstr (d[c], ==, t[c]);
        }
      g_assert_cmpint (orr_schema_get_field (orr_job_get_result_schema (job), 7)->type, ==, ORR_DATA_TYPE_FLOAT64);
      g_assert_cmpint (orr_schema_get_field (schema, 7)->type, ==, ORR_DATA_TYPE_DECIMAL);
      g_assert_true (strstr (direct, "1|true|-32768|-2147483648|-9223372036854775808|1.5|-1e+308|-9999999999.99|é漢字😀||\\x00ff10|0001-01-01|00:00:00|1969-12-31 23:59:59.999999") != NULL);
    }
  else
    g_assert_cmpstr (direct, ==, through);

  /* Types of the result: the same as the input's (decimal aside). */
  for (guint c = 0; c < orr_schema_get_n_fields (schema); c++)
    if (orr_schema_get_field (schema, c)->type != ORR_DATA_TYPE_DECIMAL)
      g_assert_cmpstr (orr_data_type_to_string (orr_schema_get_field (orr_job_get_result_schema (job), c)->type), ==,
                       orr_data_type_to_string (orr_schema_get_field (schema, c)->type));
}

static void
test_sizes (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  gboolean pg;
  const char *big;

  g_test_summary ("0 rows, 1 row and 100 000 rows make the trip (several batches)");
  if (conn == NULL)
    return;
  pg = g_str_equal (target->dialect, "pg");
  big = pg ? "SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 100000) AS g"
           : "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) "
             "SELECT n, 'row ' || n AS label FROM s";
  {
    g_autoptr(OrrJob) job = run_job (conn, "OutputDataSet = InputDataSet",
                                     pg ? "SELECT 1 AS n WHERE false" : "SELECT 1 AS n WHERE 0", NULL, NULL, 0);
    assert_succeeded (job);
    g_assert_cmpuint (orr_job_get_rows_out (job), ==, 0);
    g_assert_cmpuint (orr_schema_get_n_fields (orr_job_get_result_schema (job)), ==, 1);
  }
  {
    g_autoptr(OrrJob) job = run_job (conn, "assert len(InputDataSet) == 100000\n"
                                           "assert InputDataSet['n'].sum() == 5000050000\n"
                                           "OutputDataSet = InputDataSet", big, NULL, NULL, 0);
    g_autofree char *text = NULL;

    assert_succeeded (job);
    g_assert_cmpuint (orr_job_get_rows_in (job), ==, 100000);
    g_assert_cmpuint (orr_job_get_rows_out (job), ==, 100000);
    text = dump_batches (orr_job_get_result_schema (job), orr_job_get_result_batches (job));
    g_assert_true (g_str_has_prefix (text, "1|row 1\n2|row 2\n"));
    g_assert_true (g_str_has_suffix (text, "100000|row 100000\n"));
  }
}

static void
on_message (OrrJob *job, guint kind, const char *text, GString *out)
{
  g_string_append_printf (out, "[%u]%s", kind, text);
}

static void
test_errors (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);

  g_test_summary ("Script errors name the user's line; OutputDataSet and dtype errors say what to do; "
                  "invalid SQL carries the driver's SQLSTATE");
  if (conn == NULL)
    return;

  {
    g_autoptr(OrrJob) job = run_job (conn, "x = 1\ny = 2\nz = (\n", NULL, NULL, NULL, 0);
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_SCRIPT);
    g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_FAILED);
    g_assert_cmpint (orr_job_get_error_line (job), ==, 3);
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "SyntaxError"));
  }
  {
    g_autoptr(GString) messages = g_string_new (NULL);
    g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
    g_autoptr(OrrJob) job = NULL;

    spec->script = g_strdup ("print('before the fall')\nx = 1 / 0\n");
    job = orr_engine_submit (engine, conn, spec);
    g_signal_connect (job, "message", G_CALLBACK (on_message), messages);
    orr_job_wait (job);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_SCRIPT);
    g_assert_cmpint (orr_job_get_error_line (job), ==, 2);
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "ZeroDivisionError"));
    g_assert_true (g_str_has_prefix (orr_job_get_traceback (job), "Traceback (most recent call last):\n  File \"<script>\", line 2"));
    g_assert_cmpstr (messages->str, ==, "[0]before the fall\n");
  }
  {
    g_autoptr(OrrJob) job = run_job (conn, "OutputDataSet = 5", NULL, NULL, NULL, 0);
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_OUTPUT);
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "OutputDataSet must be a pandas DataFrame, not int"));
  }
  {
    g_autoptr(OrrJob) job = run_job (conn, "import pandas as pd\n"
                                           "OutputDataSet = pd.DataFrame({'d': pd.to_timedelta([1, 2], unit='s')})",
                                     NULL, NULL, NULL, 0);
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_OUTPUT);
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "timedelta64"));
  }
  {
    g_autoptr(OrrJob) job = run_job (conn, "OutputDataSet = InputDataSet", "SELECT * FROM no_such_table_here",
                                     NULL, NULL, 0);
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_ODBC);
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "SQLSTATE"));
    g_assert_nonnull (strstr (orr_job_get_error (job)->message, "no_such_table_here"));
  }
}

static void
test_malformed_reply (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  const char *scripts[] = {
    /* A frame header with a bad magic number, written straight to the job socket. */
    "import os, socket, stat\n"
    "for fd in range(3, 64):\n"
    "    try:\n"
    "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
    "            os.write(fd, b'GARBAGE!' * 4)\n"
    "    except OSError:\n"
    "        pass\n",
    /* A valid header announcing more payload than ever comes, then exit. */
    "import os, stat, struct\n"
    "for fd in range(3, 64):\n"
    "    try:\n"
    "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
    "            os.write(fd, struct.pack('<IHHII', 0x5752524f, 1, 21, 1000, 0) + b'abc')\n"
    "    except OSError:\n"
    "        pass\n"
    "os._exit(0)\n",
  };

  g_test_summary ("A satellite that sends a malformed or truncated message fails its job with a protocol "
                  "error; the engine carries on with the next job");
  if (conn == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (scripts); i++)
    {
      g_autoptr(OrrJob) job = run_job (conn, scripts[i], NULL, NULL, NULL, 5000);
      g_autoptr(OrrJob) next = NULL;

      g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_FAILED);
      g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_PROTOCOL);
      g_test_message ("%s", orr_job_get_error (job)->message);
      next = run_job (conn, "OutputDataSet = InputDataSet", "SELECT 1 AS still_here", NULL, NULL, 0);
      assert_succeeded (next);
    }
}

static void
test_sqlite_long_text (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *text = NULL;

  g_test_summary ("SQLite keeps text longer than a column's declared size: it arrives whole, never cut");
  if (conn == NULL)
    return;
  exec_sql (conn, "DROP TABLE IF EXISTS orr_short");
  exec_sql (conn, "CREATE TABLE orr_short (v varchar(4), n integer)");
  exec_sql (conn, "INSERT INTO orr_short VALUES (printf('%.1000c', 'x'), 1), ('ok', 2)");
  job = run_job (conn, "OutputDataSet = InputDataSet.assign(length=InputDataSet.v.str.len())",
                 "SELECT v, n, (SELECT group_concat(v, ',') FROM orr_short) AS joined FROM orr_short ORDER BY n",
                 NULL, NULL, 0);
  assert_succeeded (job);
  text = dump_batches (orr_job_get_result_schema (job), orr_job_get_result_batches (job));
  {
    g_autofree char *xs = g_strnfill (1000, 'x');
    g_autofree char *expected = g_strdup_printf ("%s|1|%s,ok|1000\nok|2|%s,ok|2\n", xs, xs, xs);

    g_assert_cmpstr (text, ==, expected);
  }
}

static void
test_satellite_death (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  const char *cases[][2] = {
    { "import os, signal\nprint('going down')\nos.kill(os.getpid(), signal.SIGSEGV)", "killed by signal 11 (SIGSEGV)" },
    { "import os\nos._exit(3)", "exit code 3" },
  };

  g_test_summary ("A satellite that dies without a result fails its job with the cause: signal or exit code");
  if (conn == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OrrJob) job = run_job (conn, cases[i][0], NULL, NULL, NULL, 0);

      g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_FAILED);
      g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_SATELLITE);
      if (strstr (orr_job_get_error (job)->message, cases[i][1]) == NULL)
        g_error ("“%s” lacks “%s”", orr_job_get_error (job)->message, cases[i][1]);
    }
}

static void
test_unknown_dsn (void)
{
  g_autoptr(OrrConnection) conn = orr_connection_new ("orrery_no_such_dsn");
  g_autoptr(GError) error = NULL;

  g_test_summary ("An unknown DSN is a connection error that names it and carries the SQLSTATE");
  g_assert_false (orr_connection_open (conn, NULL, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_CONNECTION);
  g_assert_nonnull (strstr (error->message, "orrery_no_such_dsn"));
  g_assert_nonnull (strstr (error->message, "SQLSTATE IM002"));
}

static gboolean
process_exists (int pid)
{
  return pid > 0 && kill (pid, 0) == 0;
}

static int
wait_for_state (OrrJob *job, OrrJobState state)
{
  int pid = 0;

  for (int i = 0; i < 3000 && orr_job_get_state (job) < state; i++)
    g_usleep (5000);
  for (int i = 0; i < 200 && (pid = orr_job_get_pid (job)) == 0 && !orr_job_is_finished (job); i++)
    g_usleep (5000);
  return pid;
}

static void
check_cancel (OrrConnection *conn, const char *script, const char *input, OrrJobState when,
              gboolean use_timeout)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJob) job = NULL;
  gint64 start;
  int pid;

  spec->script = g_strdup (script);
  spec->input_query = g_strdup (input);
  spec->timeout_ms = use_timeout ? 1000 : 0;
  job = orr_engine_submit (engine, conn, spec);
  pid = wait_for_state (job, when);
  g_assert_cmpint (pid, >, 0);
  /* Let it settle into the slow part. */
  g_usleep (300 * 1000);
  g_assert_false (orr_job_is_finished (job));
  start = g_get_monotonic_time ();
  if (!use_timeout)
    orr_job_cancel (job);
  orr_job_wait (job);
  if (!use_timeout)
    {
      gint64 took = g_get_monotonic_time () - start;
      g_test_message ("cancelled in %" G_GINT64_FORMAT " µs", took);
      /* 200 ms is the target; sanitizer builds get slack. */
      g_assert_cmpint (took, <, 1000 * 1000);
      g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_CANCELLED);
      g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_CANCELLED);
    }
  else
    {
      g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_FAILED);
      g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_TIMEOUT);
      g_assert_cmpstr (orr_job_get_error (job)->message, ==, "timeout after 1 s");
    }
  /* Nothing of the job survives it. */
  for (int i = 0; i < 100 && process_exists (pid); i++)
    g_usleep (10 * 1000);
  g_assert_false (process_exists (pid));
}

static void
test_cancel (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  gboolean pg;

  g_test_summary ("Cancel and timeout, while fetching and while running, end the job quickly and leave no process");
  if (conn == NULL)
    return;
  pg = g_str_equal (target->dialect, "pg");
  check_cancel (conn, "import time\ntime.sleep(60)", NULL, ORR_JOB_RUNNING, FALSE);
  check_cancel (conn, "import time\ntime.sleep(60)", NULL, ORR_JOB_RUNNING, TRUE);
  if (pg)
    {
      check_cancel (conn, "OutputDataSet = InputDataSet", "SELECT pg_sleep(60) AS slept", ORR_JOB_FETCHING, FALSE);
      check_cancel (conn, "OutputDataSet = InputDataSet", "SELECT pg_sleep(60) AS slept", ORR_JOB_FETCHING, TRUE);
    }
  else
    {
      const char *slow = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000000000) "
                         "SELECT sum(n) AS total FROM s";
      check_cancel (conn, "OutputDataSet = InputDataSet", slow, ORR_JOB_FETCHING, FALSE);
      check_cancel (conn, "OutputDataSet = InputDataSet", slow, ORR_JOB_FETCHING, TRUE);
    }
}

static void
test_params (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GString) seen = g_string_new (NULL);
  const char *specs[] = {
    "a:int=5", "f:float=2.5", "s:str=héllo", "flag:bool=true", "raw:bytes=00ff", "d:date=2026-11-24",
    "t:time=12:30:00.25", "ts:timestamp=2026-11-24 08:15:00", "total:int:out", "label:str:out=unset",
  };

  g_test_summary ("Typed parameters arrive as Python values; output parameters are read back after the script");
  if (conn == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autoptr(GError) error = NULL;
      OrrParam *p = orr_param_parse (specs[i], &error);
      g_assert_no_error (error);
      g_ptr_array_add (params, p);
    }
  job = run_job (conn,
                 "import datetime\n"
                 "assert a == 5 and f == 2.5 and s == 'héllo' and flag is True and raw == b'\\x00\\xff'\n"
                 "assert d == datetime.date(2026, 11, 24) and t == datetime.time(12, 30, 0, 250000)\n"
                 "assert ts == datetime.datetime(2026, 11, 24, 8, 15)\n"
                 "assert total is None and label == 'unset'\n"
                 "total = a * 2\n"
                 "label = s.upper()\n", NULL, params, NULL, 0);
  assert_succeeded (job);
  for (guint i = 0; i < orr_job_get_output_params (job)->len; i++)
    {
      const OrrParam *p = g_ptr_array_index (orr_job_get_output_params (job), i);
      g_autofree char *v = orr_value_to_string (&p->value);
      g_string_append_printf (seen, "%s=%s;", p->name, v);
    }
  g_assert_cmpstr (seen->str, ==, "total=10;label=HÉLLO;");
}

static void
test_param_errors (void)
{
  const char *bad[][2] = {
    { "a", "expected NAME:TYPE=VALUE" },
    { "a:int", "expected NAME:TYPE=VALUE" },
    { "a:integer=5", "unknown type “integer”" },
    { "a:int=five", "“five” is not a valid int value" },
    { "1a:int=5", "not a valid Python identifier" },
    { "d:date=2026-02-30", "not a valid date value" },
    { "b:bytes=0g", "not a valid bytes value" },
    { "x:int:inout=1", "expected NAME:TYPE=VALUE" },
  };

  g_test_summary ("A malformed --param is refused with a message that says what is wrong");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrParam) p = orr_param_parse (bad[i][0], &error);

      g_assert_null (p);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, bad[i][1]) == NULL)
        g_error ("“%s”: message “%s” lacks “%s”", bad[i][0], error->message, bad[i][1]);
    }
}

static void
test_output_table (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(OrrConnection) conn = connect_or_skip (target);
  gboolean pg;
  const char *gen;

  g_test_summary ("--output-table creates the table with inferred types and inserts every row in one "
                  "transaction; a failure mid-insert leaves no row");
  if (conn == NULL)
    return;
  pg = g_str_equal (target->dialect, "pg");
  gen = "import pandas as pd, numpy as np\n"
        "n = 10000\n"
        "OutputDataSet = pd.DataFrame({'id': np.arange(n, dtype='int64'), 'name': ['n%d' % i for i in range(n)],\n"
        "                              'score': np.linspace(0, 1, n), 'ok': np.arange(n) % 2 == 0,\n"
        "                              'day': pd.to_datetime('2026-01-01') + pd.to_timedelta(np.arange(n) % 365, unit='D')})\n";
  exec_sql (conn, "DROP TABLE IF EXISTS orr_out_new");
  {
    g_autoptr(OrrJob) job = run_job (conn, gen, NULL, NULL, "orr_out_new", 0);
    g_autofree char *text = NULL;

    assert_succeeded (job);
    text = dump_query (conn, "SELECT count(*), sum(id), min(name), max(score) FROM orr_out_new", NULL);
    g_assert_cmpstr (text, ==, "10000|49995000|n0|1\n");
  }

  /* The target refuses row 5001 onwards: nothing may remain. */
  exec_sql (conn, "DROP TABLE IF EXISTS orr_out_checked");
  exec_sql (conn, pg ? "CREATE TABLE orr_out_checked (id bigint CHECK (id < 5000), name text, score double precision,"
                       " ok boolean, day timestamp)"
                     : "CREATE TABLE orr_out_checked (id bigint CHECK (id < 5000), name text, score double,"
                       " ok boolean, day timestamp)");
  {
    g_autoptr(OrrJob) job = run_job (conn, gen, NULL, NULL, "orr_out_checked", 0);
    g_autofree char *text = NULL;

    g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_FAILED);
    g_assert_error ((GError *) orr_job_get_error (job), ORR_ERROR, ORR_ERROR_ODBC);
    text = dump_query (conn, "SELECT count(*) FROM orr_out_checked", NULL);
    g_assert_cmpstr (text, ==, "0\n");
  }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  engine = orr_engine_new ();

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      const Target *t = &targets[i];
      g_autofree char *hello = g_strdup_printf ("/Orr/Engine/%s/hello", t->dialect);
      g_autofree char *types = g_strdup_printf ("/Orr/Engine/%s/types", t->dialect);
      g_autofree char *sizes = g_strdup_printf ("/Orr/Engine/%s/sizes", t->dialect);
      g_autofree char *errors = g_strdup_printf ("/Orr/Engine/%s/errors", t->dialect);
      g_autofree char *cancel = g_strdup_printf ("/Orr/Engine/%s/cancel", t->dialect);
      g_autofree char *params = g_strdup_printf ("/Orr/Engine/%s/params", t->dialect);
      g_autofree char *output = g_strdup_printf ("/Orr/Engine/%s/output-table", t->dialect);

      g_test_add_data_func (hello, t, test_hello);
      g_test_add_data_func (types, t, test_types);
      g_test_add_data_func (sizes, t, test_sizes);
      g_test_add_data_func (errors, t, test_errors);
      g_test_add_data_func (cancel, t, test_cancel);
      g_test_add_data_func (params, t, test_params);
      g_test_add_data_func (output, t, test_output_table);
      if (i == 0)
        {
          g_test_add_data_func ("/Orr/Engine/sqlite/malformed-reply", t, test_malformed_reply);
          g_test_add_data_func ("/Orr/Engine/sqlite/satellite-death", t, test_satellite_death);
          g_test_add_data_func ("/Orr/Engine/sqlite/long-text", t, test_sqlite_long_text);
        }
    }
  g_test_add_func ("/Orr/Engine/unknown-dsn", test_unknown_dsn);
  g_test_add_func ("/Orr/Engine/param-errors", test_param_errors);

  rc = g_test_run ();
  g_clear_object (&engine);
  return rc;
}
