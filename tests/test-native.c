/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-native"

#include "config.h"

#include <math.h>
#include <string.h>

#include "orr-connection.h"
#include "orr-error.h"
#include "orr-native.h"

/* The native fast paths (libpq binary COPY, the SQLite C API) against the
 * ODBC path on the same real databases: identical schemas and identical
 * values, column by column, compared in the batches' own memory. */

typedef struct {
  OrrSchema *schema;
  GPtrArray *batches;
  const char *path;   /* native path the query ran on, or NULL */
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->schema, orr_schema_unref);
  g_clear_pointer (&r->batches, g_ptr_array_unref);
}

static const char *
dsn_or_skip (const char *env)
{
  const char *dsn = g_getenv (env);

  if (dsn == NULL || *dsn == '\0')
    {
      g_autofree char *why = g_strdup_printf ("%s is not set: run the suite with tools/test.sh", env);
      g_test_skip (why);
      return NULL;
    }
  return dsn;
}

/* @native FALSE: the same data source with OrreryNative=No. */
static OrrConnection *
open_conn (const char *dsn, gboolean native)
{
  g_autofree char *target = NULL;
  g_autoptr(GError) error = NULL;
  OrrConnection *conn;

  if (strchr (dsn, '=') != NULL)
    target = g_strdup_printf ("%s;OrreryNative=%s", dsn, native ? "Yes" : "No");
  else
    target = g_strdup_printf ("DSN=%s;OrreryNative=%s", dsn, native ? "Yes" : "No");
  conn = orr_connection_new (target);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  if (native)
    g_assert_nonnull (orr_connection_get_native_path (conn));
  else
    g_assert_null (orr_connection_get_native_path (conn));
  return conn;
}

static void
exec_sql (OrrConnection *conn, const char *sql)
{
  g_autoptr(GError) error = NULL;

  orr_connection_execute_update (conn, sql, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
run_query (OrrConnection *conn, const char *sql, Result *out, GError **error)
{
  g_autoptr(OrrCursor) cursor = NULL;
  OrrBatch *batch;

  memset (out, 0, sizeof *out);
  cursor = orr_connection_execute (conn, sql, NULL, error);
  if (cursor == NULL)
    return FALSE;
  out->path = orr_cursor_get_native_path (cursor);
  out->schema = orr_schema_ref (orr_cursor_get_schema (cursor));
  out->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  while ((batch = orr_cursor_fetch (cursor, TRUE, NULL, error)) != NULL)
    g_ptr_array_add (out->batches, batch);
  if (error && *error)
    {
      result_clear (out);
      return FALSE;
    }
  return TRUE;
}

/* Row @row of the result: which batch and which row in it. */
static OrrBatch *
locate (Result *r, guint64 row, guint *in_batch)
{
  for (guint b = 0; b < r->batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (r->batches, b);
      guint n = orr_batch_get_n_rows (batch);

      if (row < n)
        {
          *in_batch = row;
          return batch;
        }
      row -= n;
    }
  g_assert_not_reached ();
  return NULL;
}

static guint64
count_rows (Result *r)
{
  guint64 n = 0;

  for (guint b = 0; b < r->batches->len; b++)
    n += orr_batch_get_n_rows (g_ptr_array_index (r->batches, b));
  return n;
}

/* Equal doubles, bit for bit (NaN equals NaN); with @digits15, a differs
 * from b only by the ODBC driver's rounding to 15 significant digits. */
static gboolean
same_double (double a, double b, gboolean digits15)
{
  char text[64];

  if (memcmp (&a, &b, sizeof a) == 0 || (isnan (a) && isnan (b)))
    return TRUE;
  if (!digits15)
    return FALSE;
  g_snprintf (text, sizeof text, "%.15g", a);
  return g_ascii_strtod (text, NULL) == b;
}

/* Compares two results column by column, value by value. @odbc_rounds_doubles:
 * the ODBC side's float64 values went through 15 significant digits. */
static void
assert_same_results (Result *native, Result *odbc, gboolean odbc_rounds_doubles)
{
  guint n_fields = orr_schema_get_n_fields (odbc->schema);
  guint64 n_rows = count_rows (odbc);

  g_assert_cmpuint (orr_schema_get_n_fields (native->schema), ==, n_fields);
  for (guint c = 0; c < n_fields; c++)
    {
      const OrrField *a = orr_schema_get_field (native->schema, c);
      const OrrField *b = orr_schema_get_field (odbc->schema, c);

      if (g_strcmp0 (a->name, b->name) != 0 || a->type != b->type ||
          a->precision != b->precision || a->scale != b->scale)
        g_error ("column %u: native “%s” %s(%d,%d), ODBC “%s” %s(%d,%d)", c,
                 a->name, orr_data_type_to_string (a->type), a->precision, a->scale,
                 b->name, orr_data_type_to_string (b->type), b->precision, b->scale);
    }
  g_assert_true (orr_schema_equal (native->schema, odbc->schema));
  g_assert_cmpuint (count_rows (native), ==, n_rows);

  for (guint c = 0; c < n_fields; c++)
    {
      const OrrField *field = orr_schema_get_field (odbc->schema, c);
      gsize width = orr_data_type_get_width (field->type);

      for (guint64 r = 0; r < n_rows; r++)
        {
          guint ra, rb;
          OrrBatch *ba = locate (native, r, &ra);
          OrrBatch *bb = locate (odbc, r, &rb);
          OrrColumn ca, cb;
          gboolean same;

          orr_batch_get_column (ba, c, &ca);
          orr_batch_get_column (bb, c, &cb);
          if (orr_column_is_null (&ca, ra) || orr_column_is_null (&cb, rb))
            {
              if (orr_column_is_null (&ca, ra) != orr_column_is_null (&cb, rb))
                g_error ("column “%s”, row %" G_GUINT64_FORMAT ": NULL on one side only (native %d)",
                         field->name, r, orr_column_is_null (&ca, ra));
              continue;
            }
          if (orr_data_type_is_variable (field->type))
            {
              const gint32 *oa = (const gint32 *) ca.values, *ob = (const gint32 *) cb.values;

              same = oa[ra + 1] - oa[ra] == ob[rb + 1] - ob[rb] &&
                     memcmp (ca.data + oa[ra], cb.data + ob[rb], oa[ra + 1] - oa[ra]) == 0;
            }
          else if (field->type == ORR_DATA_TYPE_FLOAT64)
            same = same_double (((const double *) ca.values)[ra], ((const double *) cb.values)[rb],
                                odbc_rounds_doubles);
          else if (field->type == ORR_DATA_TYPE_FLOAT32)
            {
              float fa = ((const float *) ca.values)[ra], fb = ((const float *) cb.values)[rb];
              same = memcmp (&fa, &fb, 4) == 0 || (isnan (fa) && isnan (fb));
            }
          else
            same = memcmp (ca.values + ra * width, cb.values + rb * width, width) == 0;
          if (!same)
            {
              g_autofree char *va = orr_batch_format_value (ba, c, ra);
              g_autofree char *vb = orr_batch_format_value (bb, c, rb);
              g_error ("column “%s” (%s), row %" G_GUINT64_FORMAT ": native “%s”, ODBC “%s”",
                       field->name, orr_data_type_to_string (field->type), r, va, vb);
            }
        }
    }
}

/* Runs @sql both ways and compares; @expect_native: the native path must
 * have taken it (else it must have declined). */
static void
compare_query (OrrConnection *native_conn, OrrConnection *odbc_conn, const char *sql,
               gboolean expect_native, gboolean odbc_rounds_doubles)
{
  Result native, odbc;
  g_autoptr(GError) error = NULL;

  run_query (native_conn, sql, &native, &error);
  g_assert_no_error (error);
  run_query (odbc_conn, sql, &odbc, &error);
  g_assert_no_error (error);
  g_assert_null (odbc.path);
  if (expect_native && native.path == NULL)
    g_error ("the native path declined: %s", sql);
  if (!expect_native && native.path != NULL)
    g_error ("the native path took a query it should leave to ODBC: %s", sql);
  assert_same_results (&native, &odbc, odbc_rounds_doubles);
  result_clear (&native);
  result_clear (&odbc);
}

/* ------------------------------------------------------------ PostgreSQL */

static const char *pg_types_table =
  "DROP TABLE IF EXISTS native_types;"
  "CREATE TABLE native_types (id int PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint,"
  " f4 real, f8 double precision, n12 numeric(12,2), n18 numeric(18,6), n30 numeric(30,4), nn numeric,"
  " t text, v varchar(40), c char(5), nm name, d date, tm time, ts timestamp, tz timestamptz,"
  " by bytea, u uuid, j json, jb jsonb, iv interval, ip inet, ttz timetz, o oid);"
  "INSERT INTO native_types VALUES"
  " (1, true, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308,"
  "  9999999999.99, 999999999999.999999, 12345678901234567890123456.7890, 3.14159265358979323846264338,"
  "  'hello', 'ünïcödé ✓ 😀', 'ab', 'pg_class', '2262-04-11', '23:59:59.999999', '2262-04-11 23:47:16.854775',"
  "  '2020-06-01 12:00:00.123456+02', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}',"
  "  '{\"b\": 1,  \"a\": null}', '1 year 2 mons 3 days 04:05:06.7', '192.168.0.1/24', '12:00:00+02', 4294967295),"
  " (2, false, -32768, -2147483648, -9223372036854775808, -1.17549435e-38, 4.9e-324,"
  "  -9999999999.99, -0.000001, -0.0001, -1e-20,"
  "  '', '', '', '', '1677-09-21', '00:00:00', '1677-09-21 00:12:43.145225', '1970-01-01 00:00:00+00',"
  "  '\\x', '00000000-0000-0000-0000-000000000000', '[]', '[]', '-1 days', '::1', '00:00:00-11', 0),"
  " (3, NULL, NULL, NULL, NULL, 'NaN', 'NaN', NULL, 'NaN', 'NaN', 'NaN',"
  "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
  " (4, true, 0, 0, 0, 'Infinity', '-Infinity', 0, 0.5, 1e20, 'Infinity',"
  "  'line1\nline2\ttab \\ back', 'x', 'x    ', 'n', '2000-01-01', '12:34:56.5', '2000-01-01 00:00:00', NULL,"
  "  '\\x0000', NULL, 'null', '\"s\"', '0', '10.0.0.0/8', NULL, 26),"
  " (5, false, 1, -1, 1, '-Infinity', 0.1, 0.01, 123.456789, 0, -123456789.123456789,"
  "  repeat('long ', 3000), 'y', NULL, 'z', '1999-12-31', '24:00:00', '1999-12-31 23:59:59.999999', 'infinity',"
  "  decode(repeat('ab', 20000), 'hex'), NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
  " (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0044-03-15 BC', NULL,"
  "  '-infinity', '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
  " (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', NULL,"
  "  '0044-03-15 10:11:12.5 BC', '0001-01-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
  " (8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', NULL,"
  "  'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);";

static void
test_pg_types (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  g_assert_cmpstr (orr_connection_get_native_path (native), ==, "libpq");
  exec_sql (odbc, pg_types_table);

  compare_query (native, odbc, "SELECT * FROM native_types ORDER BY id", TRUE, FALSE);
  /* Small batches: values across batch boundaries, text staged per batch. */
  orr_connection_set_batch_rows (native, 2);
  compare_query (native, odbc, "SELECT * FROM native_types ORDER BY id", TRUE, FALSE);
  orr_connection_set_batch_rows (native, 16384);
  /* Expressions, trailing semicolon and comment, a CTE, VALUES. */
  compare_query (native, odbc,
                 "-- leading comment\n SELECT 1 AS one, 2.5::numeric AS n, 'x'::text || id AS t, now() - now() AS iv,"
                 " id::numeric(5,1) / 3 AS q FROM native_types ORDER BY id; ",
                 TRUE, FALSE);
  compare_query (native, odbc,
                 "WITH w AS (SELECT g, g * 1.5 AS h FROM generate_series(1, 50000) g)"
                 " SELECT g, h, (g % 7 = 0) AS flag, md5(g::text) AS m,"
                 " timestamp '2020-01-01' + g * interval '37 seconds' AS ts FROM w ORDER BY g",
                 TRUE, FALSE);
  compare_query (native, odbc, "VALUES (1, 'a'), (2, NULL)", TRUE, FALSE);
  /* Zero rows. */
  compare_query (native, odbc, "SELECT * FROM native_types WHERE id < 0", TRUE, FALSE);
}

static void
test_pg_fallback (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = NULL;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  exec_sql (odbc, "DROP TABLE IF EXISTS native_fb; CREATE TABLE native_fb (id int, m money, p point, n numeric(5,-2));"
                  "INSERT INTO native_fb VALUES (1, 12.5, '(1,2)', 1200), (2, NULL, NULL, NULL)");
  /* Types the native path does not reproduce: ODBC takes the query. */
  compare_query (native, odbc, "SELECT id, m FROM native_fb ORDER BY id", FALSE, FALSE);
  compare_query (native, odbc, "SELECT id, p FROM native_fb ORDER BY id", FALSE, FALSE);
  compare_query (native, odbc, "SELECT id, n FROM native_fb ORDER BY id", FALSE, FALSE);
  /* Not a plain SELECT: a statement COPY does not take, an ODBC escape. */
  compare_query (native, odbc, "EXPLAIN (COSTS OFF) SELECT * FROM native_fb", FALSE, FALSE);
  compare_query (native, odbc, "SELECT {fn UCASE('abc')} AS u", FALSE, FALSE);
  compare_query (native, odbc, "SELECT id FROM native_fb ORDER BY id; SELECT 2", FALSE, FALSE);
  /* Session state belongs to the ODBC connection's session. */
  compare_query (native, odbc, "SELECT current_setting('search_path') AS s", FALSE, FALSE);

  /* Errors: the same SQLSTATE as the ODBC path, whichever path reports it. */
  cursor = orr_connection_execute (native, "SELECT * FROM no_such_table_here", NULL, &error);
  g_assert_null (cursor);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
  g_assert_nonnull (strstr (error->message, "42P01"));
  g_clear_error (&error);
  /* A failure while the COPY streams: the server's SQLSTATE and message. */
  cursor = orr_connection_execute (native, "SELECT 1 / (5000 - g) FROM generate_series(1, 10000) g", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (orr_cursor_get_native_path (cursor), ==, "libpq");
  {
    OrrBatch *batch;
    while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
      orr_batch_unref (batch);
  }
  g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
  g_assert_nonnull (strstr (error->message, "SQLSTATE 22012"));
  g_assert_nonnull (strstr (error->message, "division by zero"));
  g_clear_error (&error);
  g_clear_object (&cursor);
  /* The connection still serves the next query. */
  compare_query (native, odbc, "SELECT 42 AS answer", TRUE, FALSE);
}

typedef struct {
  OrrCursor *cursor;
  GCancellable *cancellable;
  GError *error;
  guint64 rows;
  gint64 done_at;
} CancelRun;

static gpointer
cancel_fetch_thread (gpointer data)
{
  CancelRun *run = data;
  OrrBatch *batch;

  while ((batch = orr_cursor_fetch (run->cursor, TRUE, run->cancellable, &run->error)) != NULL)
    {
      run->rows += orr_batch_get_n_rows (batch);
      orr_batch_unref (batch);
    }
  run->done_at = g_get_monotonic_time ();
  return NULL;
}

static void
test_pg_cancel (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(GError) error = NULL;
  CancelRun run = { 0 };
  GThread *thread;
  gint64 cancelled_at;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  orr_connection_set_batch_rows (native, 100);
  run.cancellable = g_cancellable_new ();
  /* 10 000 rows at 10 ms each: 100 s unless cancelled. */
  run.cursor = orr_connection_execute (native, "SELECT g, pg_sleep(0.01) IS NULL AS s FROM generate_series(1, 10000) g",
                                       run.cancellable, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (orr_cursor_get_native_path (run.cursor), ==, "libpq");
  thread = g_thread_new ("fetch", cancel_fetch_thread, &run);
  g_usleep (1500 * 1000);
  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (run.cancellable);
  g_thread_join (thread);
  /* Cancelled in the middle of a fetch, or between two (as the ODBC path). */
  g_assert_nonnull (run.error);
  g_assert_true (g_error_matches (run.error, ORR_ERROR, ORR_ERROR_CANCELLED) ||
                 g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert_cmpuint (run.rows, <, 10000);
  g_assert_cmpint (run.done_at - cancelled_at, <, 2 * G_USEC_PER_SEC);
  g_test_message ("cancelled after %" G_GUINT64_FORMAT " rows, returned in %.0f ms", run.rows,
                  (run.done_at - cancelled_at) / 1000.0);
  g_clear_error (&run.error);
  g_clear_object (&run.cursor);
  g_clear_object (&run.cancellable);

  /* A cursor closed in the middle of a COPY leaves the connection usable;
   * orr_cursor_cancel() works too. */
  run.cursor = orr_connection_execute (native, "SELECT g FROM generate_series(1, 5000000) g", NULL, &error);
  g_assert_no_error (error);
  {
    OrrBatch *batch = orr_cursor_fetch (run.cursor, FALSE, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (batch);
    orr_batch_unref (batch);
  }
  orr_cursor_cancel (run.cursor);
  g_clear_object (&run.cursor);
  {
    Result r;
    run_query (native, "SELECT 7 AS seven", &r, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (r.path, ==, "libpq");
    g_assert_cmpuint (count_rows (&r), ==, 1);
    result_clear (&r);
  }
}

/* Reads a table whole through ODBC. */
static void
read_table (OrrConnection *odbc, const char *sql, Result *out)
{
  g_autoptr(GError) error = NULL;

  run_query (odbc, sql, out, &error);
  g_assert_no_error (error);
  g_assert_null (out->path);
}

static void
test_pg_write (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;
  g_autoptr(GError) error = NULL;
  Result source, via_copy, via_odbc;
  gboolean ok;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  exec_sql (odbc, pg_types_table);
  exec_sql (odbc, "DROP TABLE IF EXISTS native_out_copy; DROP TABLE IF EXISTS native_out_odbc");
  /* Every OrrDataType the output supports, NULLs and extremes, in
   * several batches. */
  orr_connection_set_batch_rows (native, 2);
  /* (24:00:00 is left out: the ODBC path writes it as 00:00:00, its text
   * form being "86400000000 µs"; COPY writes 24:00:00.) */
  run_query (native, "SELECT id, b, i2, i4, i8, f4, f8, n12, n18, nn AS f, t, v, by, d,"
                     " CASE WHEN tm < '24:00' THEN tm END AS tm, ts"
                     " FROM native_types WHERE id <= 5 ORDER BY id", &source, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (source.batches->len, ==, 3);

  ok = orr_connection_write_table (native, "native_out_copy", source.schema, source.batches, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  ok = orr_connection_write_table (odbc, "native_out_odbc", source.schema, source.batches, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  read_table (odbc, "SELECT * FROM native_out_copy ORDER BY id", &via_copy);
  read_table (odbc, "SELECT * FROM native_out_odbc ORDER BY id", &via_odbc);
  g_assert_cmpuint (count_rows (&via_copy), ==, 5);
  assert_same_results (&via_copy, &via_odbc, FALSE);
  result_clear (&via_copy);
  result_clear (&via_odbc);

  /* Appending to the existing table: both paths again. */
  ok = orr_connection_write_table (native, "native_out_copy", source.schema, source.batches, NULL, &error);
  g_assert_no_error (error);
  ok = orr_connection_write_table (odbc, "native_out_odbc", source.schema, source.batches, NULL, &error);
  g_assert_no_error (error);
  read_table (odbc, "SELECT * FROM native_out_copy ORDER BY id", &via_copy);
  read_table (odbc, "SELECT * FROM native_out_odbc ORDER BY id", &via_odbc);
  g_assert_cmpuint (count_rows (&via_copy), ==, 10);
  assert_same_results (&via_copy, &via_odbc, FALSE);
  result_clear (&via_copy);
  result_clear (&via_odbc);
  result_clear (&source);
}

static void
test_pg_write_atomic (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;
  g_autoptr(GError) error = NULL;
  Result source, before, after;
  gboolean ok;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  exec_sql (odbc, "DROP TABLE IF EXISTS native_nn;"
                  "CREATE TABLE native_nn (id bigint NOT NULL, name text NOT NULL);"
                  "INSERT INTO native_nn VALUES (1, 'kept'), (2, 'also kept')");
  /* 20 000 rows, the last one's name NULL: the COPY fails at its end. */
  orr_connection_set_batch_rows (native, 4096);
  run_query (native, "SELECT g::bigint AS id, CASE WHEN g < 20000 THEN 'n' || g END AS name"
                     " FROM generate_series(1, 20000) g ORDER BY g", &source, &error);
  g_assert_no_error (error);
  read_table (odbc, "SELECT * FROM native_nn ORDER BY id", &before);

  ok = orr_connection_write_table (native, "native_nn", source.schema, source.batches, NULL, &error);
  g_assert_false (ok);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
  g_assert_nonnull (strstr (error->message, "23502"));   /* not_null_violation */
  g_clear_error (&error);
  read_table (odbc, "SELECT * FROM native_nn ORDER BY id", &after);
  assert_same_results (&after, &before, FALSE);
  g_assert_cmpuint (count_rows (&after), ==, 2);
  result_clear (&before);
  result_clear (&after);

  /* A new table whose COPY fails is not left behind either: the text
   * column is NOT NULL by a domain-less trick, so fail on a cancellation. */
  exec_sql (odbc, "DROP TABLE IF EXISTS native_new_cancelled");
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    Result probe;

    g_cancellable_cancel (cancellable);
    ok = orr_connection_write_table (native, "native_new_cancelled", source.schema, source.batches,
                                     cancellable, &error);
    g_assert_false (ok);
    g_assert_nonnull (error);
    g_clear_error (&error);
    run_query (odbc, "SELECT count(*) FROM pg_tables WHERE tablename = 'native_new_cancelled'", &probe, &error);
    g_assert_no_error (error);
    {
      OrrColumn col;
      orr_batch_get_column (g_ptr_array_index (probe.batches, 0), 0, &col);
      g_assert_cmpint (((const gint64 *) col.values)[0], ==, 0);
    }
    result_clear (&probe);
  }
  /* The native connection is still usable, in autocommit. */
  ok = orr_connection_write_table (native, "native_nn", source.schema, source.batches, NULL, &error);
  g_assert_false (ok);
  g_clear_error (&error);
  result_clear (&source);
}

static void
test_pg_credentials (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  const char *port = g_getenv ("PGPORT");
  const char *secret = "S3cr3t-Xyzzy-42";
  g_autofree char *target = NULL;
  g_autofree char *completed = NULL;
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  OrrNativeSource *source;

  if (dsn == NULL)
    return;
  if (port == NULL)
    {
      g_test_skip ("PGPORT is not set: run the suite with tools/test.sh");
      return;
    }
  /* Through the whole connection: the ODBC login fails first. */
  target = g_strdup_printf ("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=%s;Database=orrery_test;"
                            "Uid=orrery;Pwd=%s", port, secret);
  conn = orr_connection_new (target);
  g_assert_false (orr_connection_open (conn, NULL, &error));
  g_assert_nonnull (error);
  g_assert_null (strstr (error->message, secret));
  g_clear_error (&error);
  /* The native login alone, as psqlODBC's completed string would give it. */
  completed = g_strdup_printf ("DRIVER={PostgreSQL Unicode};DATABASE=orrery_test;SERVER=127.0.0.1;PORT=%s;"
                               "UID=orrery;PWD={%s};SSLmode=disable;BI=0;LFConversion=0;D6=-101", port, secret);
  source = orr_native_pg_new (completed, &why);
  g_assert_nonnull (source);
  g_assert_false (_orr_native_pg_connect (source, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_CONNECTION);
  g_assert_null (strstr (error->message, secret));
  g_test_message ("libpq login error: %s", error->message);
  orr_native_source_free (source);
}

static void
test_opt_out (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  if (dsn == NULL)
    return;
  g_setenv ("ORRERY_NATIVE", "0", TRUE);
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_unsetenv ("ORRERY_NATIVE");
  g_assert_no_error (error);
  g_assert_null (orr_connection_get_native_path (conn));
  g_clear_object (&conn);
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (orr_connection_get_native_path (conn), ==, "libpq");
}

/* ------------------------------------------------------------ SQLite */

static void
test_sqlite_types (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  g_assert_cmpstr (orr_connection_get_native_path (native), ==, "sqlite");
  exec_sql (odbc, "DROP TABLE IF EXISTS native_lite");
  exec_sql (odbc, "CREATE TABLE native_lite (id INTEGER, i INT, bi BIGINT, si SMALLINT, r REAL, d DOUBLE,"
                  " f FLOAT, t TEXT, v VARCHAR(8), c CHAR(3), bl BLOB, b BOOLEAN, dt DATE, tm TIME, ts TIMESTAMP,"
                  " n NUMERIC, dc DECIMAL(10,2))");
  exec_sql (odbc, "INSERT INTO native_lite VALUES (1, 2147483647, 9223372036854775807, 32767, 1.5, 0.1,"
                  " 3.141592653589793, 'hello', 'longer than eight ✓ 😀', 'abc', x'00ff', 1, '2262-04-11',"
                  " '23:59:59', '2262-04-11 23:47:16.854', 12.5, 1234.56)");
  exec_sql (odbc, "INSERT INTO native_lite VALUES (2, -2147483648, -9223372036854775808, -32768, -0.0, 1e308,"
                  " -1e-300, '', '', '', x'', 0, '1677-09-21', '00:00:00', '1677-09-21 00:12:43.145', -3, -0.01)");
  exec_sql (odbc, "INSERT INTO native_lite VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                  " NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  exec_sql (odbc, "INSERT INTO native_lite VALUES (4, 0, 0, 0, 0, 2.0/3, 1.0/3, 'line1\nline2', 'x', 'y',"
                  " x'0102', 0, '2000-01-01', '12:34:56', '2000-01-01 00:00:00', 0.5, 0)");
  compare_query (native, odbc, "SELECT * FROM native_lite ORDER BY id", TRUE, TRUE);
  orr_connection_set_batch_rows (native, 3);
  compare_query (native, odbc, "SELECT * FROM native_lite ORDER BY id", TRUE, TRUE);
  orr_connection_set_batch_rows (native, 16384);
  compare_query (native, odbc, "SELECT id, t FROM native_lite WHERE id > 100", TRUE, TRUE);

  /* SQLite keeps any value in any column: the driver reads a value stored
   * in another form than the declared type through its text, and so does
   * the native path. */
  /* The SQLite ODBC driver (0.9998) reads two bytes past the end of a
   * timestamp without seconds when it parses it (strtol over the heap
   * buffer): harmless in practice, but AddressSanitizer stops there. */
#ifdef __SANITIZE_ADDRESS__
#define TS_WITHOUT_SECONDS "NULL"
  g_test_message ("ASan build: the timestamp '2020-01-01 10:00' is left out, the SQLite ODBC driver over-reads it");
#else
#define TS_WITHOUT_SECONDS "'2020-01-01 10:00'"
#endif
  exec_sql (odbc, "DROP TABLE IF EXISTS native_lite_mixed");
  exec_sql (odbc, "CREATE TABLE native_lite_mixed (id INTEGER, i INT, bi BIGINT, si SMALLINT, d DOUBLE,"
                  " b BOOLEAN, t TEXT, bl BLOB, dt DATE, ts TIMESTAMP)");
  exec_sql (odbc, "INSERT INTO native_lite_mixed VALUES"
                  " (1, 'abc', 'abc', 'abc', 'abc', 'abc', 5, 'abc', 'garbage', 'garbage'),"
                  " (2, '12abc', '1.5', 70000, '1e5', 2, 1.5, 7, 20200101, '2020-01-01'),"
                  " (3, 1.7, 1e20, '0x10', '', 'true', x'41', 1.5, '2020-1-1', '2020-01-01T10:00:00'),"
                  " (4, 3000000000, '010', '-5', ' 12', 'yes', 12345678901234567, '', '2020-01-01 10:00:00',"
                  "  '2020-01-01 10:00:00.123456789'),"
                  " (5, '', 9.9, 0.5, '0x10', 0.5, 1e300, x'', 2459000.5, 2459000.5),"
                  " (6, ' 42', '-0', '1e3', 'inf', 'f', -0.0, x'00', '2020-02-30', " TS_WITHOUT_SECONDS "),"
                  " (7, '42 ', '99999999999999999999', '', 'nan', '', 'x', x'0102', '', ''),"
                  " (8, '010abc', '0x1Fz', '-12x', '1.5abc', '-1', x'ab0c', NULL, '2020-01-01garbage',"
                  "  '2020-01-01 10:00:00garbage'),"
                  " (9, '+7x', ' 9x', 'x', '  ', ' 1', x'', NULL, '2020-13-01', '2020-01-01 25:00:00'),"
                  " (10, NULL, NULL, NULL, '1,5', 'T', NULL, NULL, '2020/01/01', '2020-1-1 1:2:3'),"
                  " (11, NULL, NULL, NULL, 'Infinity', 'Yes', NULL, NULL, '0000-01-01', '2020-01-01 10:00:00.5Z'),"
                  " (12, NULL, NULL, NULL, '.5', 'N', NULL, NULL, '2020-01-01T10:00', '2020-01-01 10:00:00+02:00'),"
                  " (13, NULL, NULL, NULL, '5.', '2x', NULL, NULL, ' 2020-01-01', '20200101'),"
                  " (14, NULL, NULL, NULL, NULL, 'false', NULL, NULL, NULL, ' 2020-01-01')");
  compare_query (native, odbc, "SELECT * FROM native_lite_mixed ORDER BY id", TRUE, TRUE);
}

static void
test_sqlite_fallback (void)
{
  const char *dsn = dsn_or_skip ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(OrrConnection) native = NULL;
  g_autoptr(OrrConnection) odbc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = NULL;

  if (dsn == NULL)
    return;
  native = open_conn (dsn, TRUE);
  odbc = open_conn (dsn, FALSE);
  exec_sql (odbc, "DROP TABLE IF EXISTS native_lite_fb");
  exec_sql (odbc, "CREATE TABLE native_lite_fb (id INTEGER, x, j JSON)");
  exec_sql (odbc, "INSERT INTO native_lite_fb VALUES (1, 'a', '{}'), (2, 3, NULL)");
  /* Expressions and columns without a declared type, unknown declared types. */
  compare_query (native, odbc, "SELECT id, x FROM native_lite_fb ORDER BY id", FALSE, TRUE);
  compare_query (native, odbc, "SELECT id, j FROM native_lite_fb ORDER BY id", FALSE, TRUE);
  compare_query (native, odbc, "SELECT id + 1 AS e FROM native_lite_fb ORDER BY id", FALSE, TRUE);
  /* Values the native path does not read as the driver would, in the
   * first batch: the query goes to ODBC as a whole. */
  exec_sql (odbc, "DROP TABLE IF EXISTS native_lite_odd");
  exec_sql (odbc, "CREATE TABLE native_lite_odd (id INTEGER, dt DATE)");
  exec_sql (odbc, "INSERT INTO native_lite_odd VALUES (1, '2020-01-01'), (2, '99999-01-01')");
  compare_query (native, odbc, "SELECT * FROM native_lite_odd ORDER BY id", FALSE, TRUE);
  /* A TIME the ODBC path cannot read: the same error either way. */
  exec_sql (odbc, "DROP TABLE IF EXISTS native_lite_badtime");
  exec_sql (odbc, "CREATE TABLE native_lite_badtime (id INTEGER, tm TIME)");
  exec_sql (odbc, "INSERT INTO native_lite_badtime VALUES (1, '10:00')");
  {
    Result r;

    g_assert_false (run_query (native, "SELECT * FROM native_lite_badtime", &r, &error));
    g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
    g_assert_nonnull (strstr (error->message, "as time"));
    g_clear_error (&error);
  }
  /* Not a query: ODBC. */
  compare_query (native, odbc, "PRAGMA table_info(native_lite_fb)", FALSE, TRUE);
  cursor = orr_connection_execute (native, "SELECT * FROM no_such_table_here", NULL, &error);
  g_assert_null (cursor);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_ODBC);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/native/pg/types", test_pg_types);
  g_test_add_func ("/native/pg/fallback", test_pg_fallback);
  g_test_add_func ("/native/pg/cancel", test_pg_cancel);
  g_test_add_func ("/native/pg/write", test_pg_write);
  g_test_add_func ("/native/pg/write-atomic", test_pg_write_atomic);
  g_test_add_func ("/native/pg/credentials", test_pg_credentials);
  g_test_add_func ("/native/opt-out", test_opt_out);
  g_test_add_func ("/native/sqlite/types", test_sqlite_types);
  g_test_add_func ("/native/sqlite/fallback", test_sqlite_fallback);
  return g_test_run ();
}
