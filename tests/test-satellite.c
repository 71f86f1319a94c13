/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-satellite"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "orr-error.h"
#include "orr-wire.h"

/* The tests play the engine: they start orrery-satellite with one end of a
 * socketpair as descriptor 3, send a job and read what comes back. */

#define TIMEOUT_MS 60000

static const char *
satellite_path (void)
{
  const char *path = g_getenv ("ORRERY_SATELLITE");

  return path != NULL ? path : ORRERY_BUILD_SATELLITE;
}

/* ------------------------------------------------------------ process */

typedef struct {
  GSubprocess *process;
  int sock;
} Satellite;

static Satellite *
satellite_start (const char       *mode,
                 GSubprocessFlags  flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  Satellite *sat = g_new0 (Satellite, 1);
  int sv[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  g_subprocess_launcher_take_fd (launcher, sv[1], 3);
  sat->process = g_subprocess_launcher_spawn (launcher, &error, satellite_path (), mode, NULL);
  g_assert_no_error (error);
  sat->sock = sv[0];
  return sat;
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits for the satellite to exit, at most TIMEOUT_MS; returns its status
 * (a signal number + 128 if killed). */
static int
satellite_wait (Satellite *sat)
{
  gboolean done = FALSE, timed_out = FALSE;
  guint timeout_id;

  g_subprocess_wait_async (sat->process, NULL, on_waited, &done);
  timeout_id = g_timeout_add (TIMEOUT_MS, on_timeout, &timed_out);
  while (!done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  if (!done)
    {
      g_subprocess_force_exit (sat->process);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
    }
  g_assert_false (timed_out);
  if (g_subprocess_get_if_exited (sat->process))
    return g_subprocess_get_exit_status (sat->process);
  return 128 + g_subprocess_get_term_sig (sat->process);
}

static void
satellite_free (Satellite *sat)
{
  if (sat->sock >= 0)
    close (sat->sock);
  g_clear_object (&sat->process);
  g_free (sat);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Satellite, satellite_free)

static OrrWireMessage *
recv_message (int sock)
{
  struct pollfd pfd = { .fd = sock, .events = POLLIN };
  g_autoptr(GError) error = NULL;
  OrrWireMessage *msg;
  int r;

  do
    r = poll (&pfd, 1, TIMEOUT_MS);
  while (r < 0 && errno == EINTR);
  g_assert_cmpint (r, ==, 1);
  msg = orr_wire_recv (sock, &error);
  g_assert_no_error (error);
  return msg;
}

static void
send_message (int          sock,
              OrrWireType  type,
              GBytes      *payload,
              int          fd)
{
  g_autoptr(GError) error = NULL;

  orr_wire_send (sock, type, payload, fd, &error);
  g_assert_no_error (error);
}

/* ------------------------------------------------------------ batches */

static OrrBatch *
batch_new (OrrSchema *schema,
           guint      n_rows)
{
  g_autoptr(GError) error = NULL;
  OrrBatch *batch = orr_batch_new (schema, n_rows, TRUE, &error);

  g_assert_no_error (error);
  orr_batch_set_n_rows (batch, n_rows);
  return batch;
}

static void
set_fixed (OrrBatch   *batch,
           guint       col,
           const void *values,
           gsize       size)
{
  memcpy (orr_batch_get_values_mut (batch, col), values, size);
}

/* Fills a TEXT or BINARY column; a NULL entry is a NULL value. */
static void
set_varlen (OrrBatch          *batch,
            guint              col,
            const char *const *values,
            const gsize       *lens,
            guint              n)
{
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      gsize len = values[i] == NULL ? 0 : lens != NULL ? lens[i] : strlen (values[i]);
      gint32 *offsets;

      orr_batch_append_data (batch, col, values[i], len, &error);
      g_assert_no_error (error);
      /* Appending may move the batch: look the offsets up again. */
      offsets = (gint32 *) orr_batch_get_values_mut (batch, col);
      offsets[i + 1] = (gint32) orr_batch_get_data_len (batch, col);
      if (values[i] == NULL)
        orr_batch_set_null (batch, col, i, TRUE);
    }
}

static void
send_batch (int       sock,
            OrrBatch *batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autofree OrrBufferDesc *descs = NULL;
  guint64 size;
  int fd;

  _orr_batch_seal (batch, &fd, &size, &descs, &error);
  g_assert_no_error (error);
  payload = orr_wire_encode_batch (orr_batch_get_n_rows (batch), size,
                                   orr_batch_get_n_columns (batch), descs);
  send_message (sock, ORR_WIRE_BATCH, payload, fd);
}

/* ------------------------------------------------------------ jobs */

typedef struct {
  const char *script;
  const char *output_name;
  OrrSchema *schema;        /* NULL: no input query */
  OrrBatch **batches;
  guint n_batches;
  GPtrArray *params;        /* OrrParam */
  guint64 max_output_bytes;
  guint64 max_message_bytes;
} JobSpec;

typedef struct {
  GString *out;
  GString *err;
  GArray *order;            /* OrrWireType of each message, in order */
  OrrSchema *schema;
  GPtrArray *batches;       /* OrrBatch */
  GPtrArray *params;        /* OrrParam */
  gboolean failed;
  OrrWireError error;
  guint64 rows;
  guint64 total_rows;
  int status;
} Reply;

static void
reply_free (Reply *r)
{
  g_string_free (r->out, TRUE);
  g_string_free (r->err, TRUE);
  g_array_unref (r->order);
  g_clear_pointer (&r->schema, orr_schema_unref);
  g_ptr_array_unref (r->batches);
  g_clear_pointer (&r->params, g_ptr_array_unref);
  orr_wire_error_clear (&r->error);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

static void
send_job (int            sock,
          const JobSpec *spec)
{
  g_autoptr(OrrSchema) empty = orr_schema_new ();
  g_autoptr(GBytes) job_payload = NULL;
  g_autoptr(GBytes) schema_payload = NULL;
  g_autoptr(GBytes) end = g_bytes_new (NULL, 0);
  OrrWireJob job = {
    .script = (char *) spec->script,
    .input_name = (char *) "InputDataSet",
    .output_name = (char *) (spec->output_name ? spec->output_name : "OutputDataSet"),
    .max_output_bytes = spec->max_output_bytes,
    .max_message_bytes = spec->max_message_bytes,
    .params = spec->params,
  };

  job_payload = orr_wire_encode_job (&job);
  send_message (sock, ORR_WIRE_JOB, job_payload, -1);
  schema_payload = orr_wire_encode_schema (spec->schema ? spec->schema : empty);
  send_message (sock, ORR_WIRE_SCHEMA, schema_payload, -1);
  for (guint i = 0; i < spec->n_batches; i++)
    send_batch (sock, spec->batches[i]);
  send_message (sock, ORR_WIRE_END_INPUT, end, -1);
}

/* Reads a job's messages up to DONE or ERROR, checking their order. */
static Reply *
read_reply (int sock)
{
  Reply *r = g_new0 (Reply, 1);
  g_autoptr(GError) error = NULL;

  r->out = g_string_new (NULL);
  r->err = g_string_new (NULL);
  r->order = g_array_new (FALSE, FALSE, sizeof (OrrWireType));
  r->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);

  for (;;)
    {
      g_autoptr(OrrWireMessage) msg = recv_message (sock);

      g_array_append_val (r->order, msg->type);
      switch (msg->type)
        {
        case ORR_WIRE_STDOUT:
        case ORR_WIRE_STDERR:
          {
            g_autofree char *text = orr_wire_decode_string (msg->payload, &error);

            g_assert_no_error (error);
            g_assert_null (r->schema);
            g_string_append (msg->type == ORR_WIRE_STDOUT ? r->out : r->err, text);
          }
          break;
        case ORR_WIRE_ERROR:
          g_assert_null (r->schema);
          orr_wire_decode_error (msg->payload, &r->error, &error);
          g_assert_no_error (error);
          r->failed = TRUE;
          return r;
        case ORR_WIRE_RESULT_SCHEMA:
          g_assert_null (r->schema);
          r->schema = orr_wire_decode_schema (msg->payload, &error);
          g_assert_no_error (error);
          break;
        case ORR_WIRE_RESULT_BATCH:
          {
            OrrWireBatch wire;
            OrrBatch *batch;

            g_assert_nonnull (r->schema);
            g_assert_null (r->params);
            orr_wire_decode_batch (msg->payload, &wire, &error);
            g_assert_no_error (error);
            g_assert_cmpint (msg->fd, >=, 0);
            g_assert_cmpuint (wire.n_rows, <=, 65536);
            batch = _orr_batch_new_from_fd (r->schema, msg->fd, wire.size, wire.n_rows,
                                            wire.descs, TRUE, &error);
            msg->fd = -1;
            g_assert_no_error (error);
            r->total_rows += wire.n_rows;
            g_ptr_array_add (r->batches, batch);
            orr_wire_batch_clear (&wire);
          }
          break;
        case ORR_WIRE_OUTPUT_PARAMS:
          g_assert_nonnull (r->schema);
          r->params = orr_wire_decode_params (msg->payload, &error);
          g_assert_no_error (error);
          break;
        case ORR_WIRE_DONE:
          g_assert_nonnull (r->params);
          orr_wire_decode_u64 (msg->payload, &r->rows, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (r->rows, ==, r->total_rows);
          return r;
        default:
          g_assert_cmpint (msg->type, ==, ORR_WIRE_DONE);
        }
    }
}

static Reply *
run_job (const JobSpec *spec)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_NONE);
  Reply *r;

  send_job (sat->sock, spec);
  r = read_reply (sat->sock);
  r->status = satellite_wait (sat);
  if (r->failed)
    g_test_message ("%s: %s\n%s", r->error.kind, r->error.message, r->error.traceback);
  return r;
}

static Reply *
run_script (const char *script)
{
  JobSpec spec = { .script = script };

  return run_job (&spec);
}

static void
assert_success (Reply *r)
{
  g_assert_false (r->failed);
  g_assert_cmpint (r->status, ==, 0);
}

static void
assert_failure (Reply      *r,
                const char *kind,
                const char *message)
{
  g_assert_true (r->failed);
  g_assert_cmpstr (r->error.kind, ==, kind);
  if (message != NULL)
    g_assert_cmpstr (r->error.message, ==, message);
  g_assert_cmpint (r->status, ==, 1);
}

/* One value of the result, as text (NULL for SQL NULL). */
static char *
reply_value (Reply *r,
             guint  col,
             guint  row)
{
  for (guint i = 0; i < r->batches->len; i++)
    {
      OrrBatch *batch = g_ptr_array_index (r->batches, i);

      if (row < orr_batch_get_n_rows (batch))
        return orr_batch_format_value (batch, col, row);
      row -= orr_batch_get_n_rows (batch);
    }
  g_assert_not_reached ();
}

static void
assert_column (Reply             *r,
               guint              col,
               const char        *name,
               OrrDataType        type,
               const char *const *expected,
               guint              n)
{
  const OrrField *field;

  g_assert_cmpuint (col, <, orr_schema_get_n_fields (r->schema));
  field = orr_schema_get_field (r->schema, col);
  g_assert_cmpstr (field->name, ==, name);
  g_assert_cmpstr (orr_data_type_to_string (field->type), ==, orr_data_type_to_string (type));
  g_assert_cmpuint (r->rows, ==, n);
  for (guint row = 0; row < n; row++)
    {
      g_autofree char *value = reply_value (r, col, row);
      g_assert_cmpstr (value, ==, expected[row]);
    }
}

static const OrrParam *
find_param (Reply      *r,
            const char *name)
{
  for (guint i = 0; i < r->params->len; i++)
    {
      const OrrParam *p = g_ptr_array_index (r->params, i);

      if (g_strcmp0 (p->name, name) == 0)
        return p;
    }
  return NULL;
}

/* ------------------------------------------------------------ the data */

#define USEC_PER_DAY G_GINT64_CONSTANT (86400000000)

/* Every input type, with extremes and NULLs, three rows. */
static OrrBatch *
all_types_batch (OrrSchema **schema_out)
{
  OrrSchema *schema = orr_schema_new ();
  OrrBatch *batch;
  static const guint8 b[] = { 1, 0, 0 };
  static const gint16 i16[] = { G_MININT16, G_MAXINT16, 0 };
  static const gint32 i32[] = { G_MININT32, G_MAXINT32, 0 };
  static const gint64 i64[] = { G_MININT64, G_MAXINT64, 0 };
  float f32[] = { -1.5f, INFINITY, NAN };
  double f64[] = { -1e308, -INFINITY, 0 };
  static const gint64 dec[] = { 12345, -1, 0 };
  static const char *const text[] = { "", "é漢字😀", NULL };
  static const char *const bin[] = { "\x00\x01\xff", "", NULL };
  static const gsize bin_lens[] = { 3, 0, 0 };
  static const gint32 date[] = { -719162, 2932896, 0 };
  static const gint64 time[] = { G_GINT64_CONSTANT (86399999999), 0, 0 };
  /* 0001-01-01 and 9999-12-31 23:59:59.999999: outside datetime64[ns]. */
  const gint64 wide[] = { -719162 * USEC_PER_DAY, 2932897 * USEC_PER_DAY - 1, 0 };
  static const gint64 narrow[] = { 0, G_GINT64_CONSTANT (1700000000123456), -1 };

  orr_schema_add_field (schema, "b", ORR_DATA_TYPE_BOOL, 0, 0);
  orr_schema_add_field (schema, "i16", ORR_DATA_TYPE_INT16, 0, 0);
  orr_schema_add_field (schema, "i32", ORR_DATA_TYPE_INT32, 0, 0);
  orr_schema_add_field (schema, "i64", ORR_DATA_TYPE_INT64, 0, 0);
  orr_schema_add_field (schema, "f32", ORR_DATA_TYPE_FLOAT32, 0, 0);
  orr_schema_add_field (schema, "f64", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (schema, "dec", ORR_DATA_TYPE_DECIMAL, 18, 2);
  orr_schema_add_field (schema, "text", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (schema, "bin", ORR_DATA_TYPE_BINARY, 0, 0);
  orr_schema_add_field (schema, "date", ORR_DATA_TYPE_DATE, 0, 0);
  orr_schema_add_field (schema, "time", ORR_DATA_TYPE_TIME, 0, 0);
  orr_schema_add_field (schema, "wide", ORR_DATA_TYPE_TIMESTAMP, 0, 0);
  orr_schema_add_field (schema, "narrow", ORR_DATA_TYPE_TIMESTAMP, 0, 0);

  batch = batch_new (schema, 3);
  set_fixed (batch, 0, b, sizeof b);
  set_fixed (batch, 1, i16, sizeof i16);
  set_fixed (batch, 2, i32, sizeof i32);
  set_fixed (batch, 3, i64, sizeof i64);
  set_fixed (batch, 4, f32, sizeof f32);
  set_fixed (batch, 5, f64, sizeof f64);
  set_fixed (batch, 6, dec, sizeof dec);
  set_varlen (batch, 7, text, NULL, 3);
  set_varlen (batch, 8, bin, bin_lens, 3);
  set_fixed (batch, 9, date, sizeof date);
  set_fixed (batch, 10, time, sizeof time);
  set_fixed (batch, 11, wide, sizeof wide);
  set_fixed (batch, 12, narrow, sizeof narrow);
  /* Row 3 is NULL everywhere but in f32, where it is a NaN. */
  for (guint col = 0; col < 13; col++)
    if (col != 4)
      orr_batch_set_null (batch, col, 2, TRUE);

  *schema_out = schema;
  return batch;
}

/* ------------------------------------------------------------ tests */

static void
test_roundtrip_types (void)
{
  g_autoptr(OrrSchema) schema = NULL;
  g_autoptr(OrrBatch) batch = all_types_batch (&schema);
  OrrBatch *batches[] = { batch };
  JobSpec spec = { .script = "OutputDataSet = InputDataSet\n", .schema = schema,
                   .batches = batches, .n_batches = 1 };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("OutputDataSet = InputDataSet returns every type, extremes and NULLs "
                  "unchanged (decimal as float64, a NaN as NULL)");
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpuint (orr_schema_get_n_fields (r->schema), ==, 13);
  assert_column (r, 0, "b", ORR_DATA_TYPE_BOOL, (const char *[]) { "true", "false", NULL }, 3);
  assert_column (r, 1, "i16", ORR_DATA_TYPE_INT16, (const char *[]) { "-32768", "32767", NULL }, 3);
  assert_column (r, 2, "i32", ORR_DATA_TYPE_INT32,
                 (const char *[]) { "-2147483648", "2147483647", NULL }, 3);
  assert_column (r, 3, "i64", ORR_DATA_TYPE_INT64,
                 (const char *[]) { "-9223372036854775808", "9223372036854775807", NULL }, 3);
  assert_column (r, 4, "f32", ORR_DATA_TYPE_FLOAT32, (const char *[]) { "-1.5", "inf", NULL }, 3);
  assert_column (r, 5, "f64", ORR_DATA_TYPE_FLOAT64, (const char *[]) { "-1e+308", "-inf", NULL }, 3);
  assert_column (r, 6, "dec", ORR_DATA_TYPE_FLOAT64, (const char *[]) { "123.45", "-0.01", NULL }, 3);
  assert_column (r, 7, "text", ORR_DATA_TYPE_TEXT, (const char *[]) { "", "é漢字😀", NULL }, 3);
  assert_column (r, 8, "bin", ORR_DATA_TYPE_BINARY, (const char *[]) { "\\x0001ff", "\\x", NULL }, 3);
  assert_column (r, 9, "date", ORR_DATA_TYPE_DATE,
                 (const char *[]) { "0001-01-01", "9999-12-31", NULL }, 3);
  assert_column (r, 10, "time", ORR_DATA_TYPE_TIME,
                 (const char *[]) { "23:59:59.999999", "00:00:00", NULL }, 3);
  assert_column (r, 11, "wide", ORR_DATA_TYPE_TIMESTAMP,
                 (const char *[]) { "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", NULL }, 3);
  assert_column (r, 12, "narrow", ORR_DATA_TYPE_TIMESTAMP,
                 (const char *[]) { "1970-01-01 00:00:00", "2023-11-14 22:13:20.123456", NULL }, 3);
}

static void
test_input_dtypes (void)
{
  g_autoptr(OrrSchema) schema = NULL;
  g_autoptr(OrrBatch) batch = all_types_batch (&schema);
  OrrBatch *batches[] = { batch };
  JobSpec spec = {
    .script =
      "import numpy as np\n"
      "print(';'.join(f'{c}={t}' for c, t in InputDataSet.dtypes.items()))\n"
      "print(' '.join(type(v).__name__ for v in InputDataSet.iloc[0]))\n"
      "print(' '.join(repr(v) for v in InputDataSet.iloc[2]))\n"
      "print(type(InputDataSet.index).__name__, len(InputDataSet))\n",
    .schema = schema, .batches = batches, .n_batches = 1,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("InputDataSet's dtypes follow the documented mapping, NULLs included");
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpstr (r->out->str, ==,
                   "b=boolean;i16=Int16;i32=Int32;i64=Int64;f32=float32;f64=float64;dec=float64;"
                   "text=object;bin=object;date=object;time=object;wide=object;narrow=datetime64[ns]\n"
                   "bool_ int16 int32 int64 float32 float64 float64 str bytes date time datetime Timestamp\n"
                   "<NA> <NA> <NA> <NA> nan nan nan None None None None None NaT\n"
                   "RangeIndex 3\n");
  g_assert_cmpuint (r->rows, ==, 0);
}

static void
test_zero_copy (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) batch = NULL;
  OrrBatch *batches[1];
  static const gint64 n[] = { 1, 2, 3, 4 };
  static const double f[] = { 0.5, 1.5, 2.5, 3.5 };
  static const guint8 b[] = { 1, 0, 1, 0 };
  JobSpec spec = {
    .script =
      "def owner(a):\n"
      "    while type(a).__name__ == 'ndarray' and a.base is not None:\n"
      "        a = a.base\n"
      "    return type(a).__name__\n"
      "for name in ('n', 'f', 'b'):\n"
      "    a = InputDataSet[name].to_numpy()\n"
      "    print(name, a.dtype, owner(a), a.flags.writeable)\n"
      "InputDataSet['n'].to_numpy()[0] = 100\n"
      "OutputDataSet = InputDataSet\n",
    .schema = schema, .batches = batches, .n_batches = 1,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("A single batch's numeric and bool columns are writable views of the "
                  "batch memory, and writing to them stays in the satellite");
  orr_schema_add_field (schema, "n", ORR_DATA_TYPE_INT64, 0, 0);
  orr_schema_add_field (schema, "f", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (schema, "b", ORR_DATA_TYPE_BOOL, 0, 0);
  batch = batch_new (schema, 4);
  set_fixed (batch, 0, n, sizeof n);
  set_fixed (batch, 1, f, sizeof f);
  set_fixed (batch, 2, b, sizeof b);
  batches[0] = batch;
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpstr (r->out->str, ==,
                   "n int64 Mapping True\n"
                   "f float64 Mapping True\n"
                   "b bool Mapping True\n");
  assert_column (r, 0, "n", ORR_DATA_TYPE_INT64, (const char *[]) { "100", "2", "3", "4" }, 4);
  /* The engine's memory is sealed and untouched. */
  {
    OrrColumn col;

    orr_batch_get_column (batch, 0, &col);
    g_assert_cmpint (((const gint64 *) col.values)[0], ==, 1);
  }
}

static void
test_roundtrip_empty (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  JobSpec spec = { .script = "OutputDataSet = InputDataSet\n", .schema = schema };
  g_autoptr(Reply) r = NULL;
  g_autoptr(Reply) none = NULL;

  g_test_summary ("Zero rows keep their columns and types; no input at all gives an empty result");
  orr_schema_add_field (schema, "id", ORR_DATA_TYPE_INT32, 0, 0);
  orr_schema_add_field (schema, "name", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (schema, "at", ORR_DATA_TYPE_TIMESTAMP, 0, 0);
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpuint (r->batches->len, ==, 0);
  g_assert_cmpuint (r->rows, ==, 0);
  assert_column (r, 0, "id", ORR_DATA_TYPE_INT32, NULL, 0);
  assert_column (r, 1, "name", ORR_DATA_TYPE_TEXT, NULL, 0);
  assert_column (r, 2, "at", ORR_DATA_TYPE_TIMESTAMP, NULL, 0);

  none = run_script ("assert InputDataSet.empty and InputDataSet.shape == (0, 0)\n"
                     "assert OutputDataSet.empty\n");
  assert_success (none);
  g_assert_cmpuint (orr_schema_get_n_fields (none->schema), ==, 0);
  g_assert_cmpuint (none->rows, ==, 0);
}

static void
test_roundtrip_batches (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  OrrBatch *batches[3];
  static const guint sizes[] = { 1000, 0, 2500 };
  JobSpec spec = {
    .script =
      "import pandas as pd\n"
      "assert len(InputDataSet) == 3500, len(InputDataSet)\n"
      "assert list(InputDataSet.index[:3]) == [0, 1, 2]\n"
      "big = pd.DataFrame({'x': range(70000)})\n"
      "OutputDataSet = pd.concat([InputDataSet, big], axis=1)\n",
    .schema = schema, .batches = batches, .n_batches = 3,
  };
  g_autoptr(Reply) r = NULL;
  guint row = 0;

  g_test_summary ("Several input batches are concatenated in order; a long result is split "
                  "into batches of at most 65536 rows");
  orr_schema_add_field (schema, "n", ORR_DATA_TYPE_INT32, 0, 0);
  orr_schema_add_field (schema, "s", ORR_DATA_TYPE_TEXT, 0, 0);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
      gint32 *values;

      batches[i] = batch_new (schema, sizes[i]);
      values = (gint32 *) orr_batch_get_values_mut (batches[i], 0);
      for (guint j = 0; j < sizes[i]; j++)
        {
          values[j] = row + j;
          g_ptr_array_add (texts, (row + j) % 7 == 0 ? NULL : g_strdup_printf ("row %u", row + j));
        }
      set_varlen (batches[i], 1, (const char *const *) texts->pdata, NULL, sizes[i]);
      if (sizes[i] > 3)
        orr_batch_set_null (batches[i], 0, 3, TRUE);
      row += sizes[i];
    }

  r = run_job (&spec);
  for (guint i = 0; i < 3; i++)
    orr_batch_unref (batches[i]);
  assert_success (r);
  g_assert_cmpuint (r->rows, ==, 70000);
  g_assert_cmpuint (r->batches->len, ==, 2);
  g_assert_cmpuint (orr_batch_get_n_rows (g_ptr_array_index (r->batches, 0)), ==, 65536);
  /* concat() pads the 3500 input rows with NULLs up to 70000. */
  for (guint i = 0; i < 70000; i += 499)
    {
      g_autofree char *n = reply_value (r, 0, i);
      g_autofree char *s = reply_value (r, 1, i);
      g_autofree char *x = reply_value (r, 2, i);
      g_autofree char *expected_x = g_strdup_printf ("%u", i);

      g_assert_cmpstr (x, ==, expected_x);
      if (i >= 3500 || i == 3 || i == 1003)
        g_assert_null (n);
      else
        {
          g_autofree char *expected_n = g_strdup_printf ("%u", i);
          g_autofree char *expected_s = g_strdup_printf ("row %u", i);

          g_assert_cmpstr (n, ==, expected_n);
          g_assert_cmpstr (s, ==, i % 7 == 0 ? NULL : expected_s);
        }
    }
}

/* Batches converted one by one as they arrive (InputBuilder) give what one
 * batch gives: the same values, NULLs and dtypes, in order. */
static void
test_input_batches_all_types (void)
{
  g_autoptr(OrrSchema) schema = NULL;
  g_autoptr(OrrBatch) batch = all_types_batch (&schema);
  OrrBatch *batches[] = { batch, batch, batch };
  JobSpec spec = {
    .script =
      "import pandas as pd\n"
      "a = InputDataSet\n"
      "assert len(a) == 9 and list(a.index) == list(range(9))\n"
      "print(' '.join(str(t) for t in a.dtypes))\n"
      "pd.testing.assert_frame_equal(a, pd.concat([a.iloc[:3]] * 3, ignore_index=True))\n"
      "OutputDataSet = InputDataSet\n",
    .schema = schema, .batches = batches, .n_batches = 3,
  };
  g_autoptr(Reply) r = NULL;
  const char *b[9], *i16[9], *dec[9], *text[9], *wide[9], *narrow[9];

  g_test_summary ("Three batches of every type, extremes and NULLs give the single batch's values "
                  "and dtypes three times over");
  for (guint i = 0; i < 9; i++)
    {
      static const char *const b1[] = { "true", "false", NULL };
      static const char *const i161[] = { "-32768", "32767", NULL };
      static const char *const dec1[] = { "123.45", "-0.01", NULL };
      static const char *const text1[] = { "", "é漢字😀", NULL };
      static const char *const wide1[] = { "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", NULL };
      static const char *const narrow1[] = { "1970-01-01 00:00:00", "2023-11-14 22:13:20.123456", NULL };

      b[i] = b1[i % 3];
      i16[i] = i161[i % 3];
      dec[i] = dec1[i % 3];
      text[i] = text1[i % 3];
      wide[i] = wide1[i % 3];
      narrow[i] = narrow1[i % 3];
    }
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpstr (r->out->str, ==,
                   "boolean Int16 Int32 Int64 float32 float64 float64 object object object object "
                   "object datetime64[ns]\n");
  assert_column (r, 0, "b", ORR_DATA_TYPE_BOOL, b, 9);
  assert_column (r, 1, "i16", ORR_DATA_TYPE_INT16, i16, 9);
  assert_column (r, 6, "dec", ORR_DATA_TYPE_FLOAT64, dec, 9);
  assert_column (r, 7, "text", ORR_DATA_TYPE_TEXT, text, 9);
  assert_column (r, 11, "wide", ORR_DATA_TYPE_TIMESTAMP, wide, 9);
  assert_column (r, 12, "narrow", ORR_DATA_TYPE_TIMESTAMP, narrow, 9);
}

/* A timestamp column that fits datetime64[ns] in its first batches and not
 * in a later one becomes objects as a whole. */
static void
test_input_batches_wide_later (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) narrow = NULL;
  g_autoptr(OrrBatch) wide = NULL;
  static const gint64 narrow_values[] = { 0, G_GINT64_CONSTANT (1700000000123456) };
  const gint64 wide_values[] = { -719162 * USEC_PER_DAY, 5 };
  OrrBatch *batches[3];
  JobSpec spec = {
    .script = "print(InputDataSet['t'].dtype)\nOutputDataSet = InputDataSet\n",
    .schema = schema, .batches = batches, .n_batches = 3,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("A timestamp out of datetime64[ns] in a later batch makes the whole column objects, "
                  "earlier batches and NULLs included");
  orr_schema_add_field (schema, "t", ORR_DATA_TYPE_TIMESTAMP, 0, 0);
  narrow = batch_new (schema, 2);
  set_fixed (narrow, 0, narrow_values, sizeof narrow_values);
  orr_batch_set_null (narrow, 0, 0, TRUE);
  wide = batch_new (schema, 2);
  set_fixed (wide, 0, wide_values, sizeof wide_values);
  batches[0] = narrow;
  batches[1] = wide;
  batches[2] = narrow;
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpstr (r->out->str, ==, "object\n");
  assert_column (r, 0, "t", ORR_DATA_TYPE_TIMESTAMP,
                 (const char *[]) { NULL, "2023-11-14 22:13:20.123456", "0001-01-01 00:00:00",
                                    "1970-01-01 00:00:00.000005", NULL, "2023-11-14 22:13:20.123456" }, 6);
}

static void
test_output_types (void)
{
  g_autoptr(Reply) r = NULL;

  g_test_summary ("Output columns map from numpy, nullable, categorical, tz-aware and object dtypes");
  r = run_script (
    "import datetime, decimal\n"
    "import numpy as np, pandas as pd\n"
    "OutputDataSet = pd.DataFrame({\n"
    "  'u8': np.array([1, 255], np.uint8),\n"
    "  'u16': np.array([1, 65535], np.uint16),\n"
    "  'u32': np.array([1, 2**32 - 1], np.uint32),\n"
    "  'i8': np.array([-128, 127], np.int8),\n"
    "  'f16': np.array([0.5, np.nan], np.float16),\n"
    "  'nb': pd.array([True, None], dtype='boolean'),\n"
    "  'ni': pd.array([7, None], dtype='Int32'),\n"
    "  'tz': pd.to_datetime(['2020-01-01 01:00', None]).tz_localize('Europe/Paris'),\n"
    "  'cat': pd.Categorical(['a', None]),\n"
    "  'oint': pd.Series([1, None], dtype=object),\n"
    "  'mix': pd.Series([1, 2.5], dtype=object),\n"
    "  'dec': [decimal.Decimal('1.25'), None],\n"
    "  'dates': [datetime.date(2020, 1, 2), None],\n"
    "  'times': [datetime.time(1, 2, 3, 4), None],\n"
    "  'dts': [datetime.datetime(1, 1, 1), pd.Timestamp('2000-01-01 00:00:00.000001')],\n"
    "  'bytes': [b'a', bytearray(b'b')],\n"
    "  'str': pd.Series(['x', None], dtype='string'),\n"
    "  'nan': [np.nan, np.nan],\n"
    "  'none': [None, None],\n"
    "  'bools': pd.Series([True, np.bool_(False)], dtype=object),\n"
    "})\n"
    "OutputDataSet[3] = ['same', 'name']\n"
    "OutputDataSet.index = [10, 20]\n");
  assert_success (r);
  assert_column (r, 0, "u8", ORR_DATA_TYPE_INT16, (const char *[]) { "1", "255" }, 2);
  assert_column (r, 1, "u16", ORR_DATA_TYPE_INT32, (const char *[]) { "1", "65535" }, 2);
  assert_column (r, 2, "u32", ORR_DATA_TYPE_INT64, (const char *[]) { "1", "4294967295" }, 2);
  assert_column (r, 3, "i8", ORR_DATA_TYPE_INT16, (const char *[]) { "-128", "127" }, 2);
  assert_column (r, 4, "f16", ORR_DATA_TYPE_FLOAT32, (const char *[]) { "0.5", NULL }, 2);
  assert_column (r, 5, "nb", ORR_DATA_TYPE_BOOL, (const char *[]) { "true", NULL }, 2);
  assert_column (r, 6, "ni", ORR_DATA_TYPE_INT32, (const char *[]) { "7", NULL }, 2);
  assert_column (r, 7, "tz", ORR_DATA_TYPE_TIMESTAMP, (const char *[]) { "2020-01-01 00:00:00", NULL }, 2);
  assert_column (r, 8, "cat", ORR_DATA_TYPE_TEXT, (const char *[]) { "a", NULL }, 2);
  assert_column (r, 9, "oint", ORR_DATA_TYPE_INT64, (const char *[]) { "1", NULL }, 2);
  assert_column (r, 10, "mix", ORR_DATA_TYPE_FLOAT64, (const char *[]) { "1", "2.5" }, 2);
  assert_column (r, 11, "dec", ORR_DATA_TYPE_FLOAT64, (const char *[]) { "1.25", NULL }, 2);
  assert_column (r, 12, "dates", ORR_DATA_TYPE_DATE, (const char *[]) { "2020-01-02", NULL }, 2);
  assert_column (r, 13, "times", ORR_DATA_TYPE_TIME, (const char *[]) { "01:02:03.000004", NULL }, 2);
  assert_column (r, 14, "dts", ORR_DATA_TYPE_TIMESTAMP,
                 (const char *[]) { "0001-01-01 00:00:00", "2000-01-01 00:00:00.000001" }, 2);
  assert_column (r, 15, "bytes", ORR_DATA_TYPE_BINARY, (const char *[]) { "\\x61", "\\x62" }, 2);
  assert_column (r, 16, "str", ORR_DATA_TYPE_TEXT, (const char *[]) { "x", NULL }, 2);
  assert_column (r, 17, "nan", ORR_DATA_TYPE_FLOAT64, (const char *[]) { NULL, NULL }, 2);
  assert_column (r, 18, "none", ORR_DATA_TYPE_TEXT, (const char *[]) { NULL, NULL }, 2);
  assert_column (r, 19, "bools", ORR_DATA_TYPE_BOOL, (const char *[]) { "true", "false" }, 2);
  assert_column (r, 20, "3", ORR_DATA_TYPE_TEXT, (const char *[]) { "same", "name" }, 2);
}

static void
test_stdout_streamed (void)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_NONE);
  JobSpec spec = {
    .script =
      "import sys, time\n"
      "print('first line')\n"
      "time.sleep(1.5)\n"
      "print('to stderr', file=sys.stderr)\n"
      "sys.stdout.write('no newline')\n"
      "import pandas as pd\n"
      "OutputDataSet = pd.DataFrame({'x': [1]})\n",
  };
  g_autoptr(GString) early = g_string_new (NULL);
  g_autoptr(Reply) r = NULL;
  gint64 start;
  guint n_text;

  g_test_summary ("What the script prints reaches the engine while it runs, before the result");
  send_job (sat->sock, &spec);
  start = g_get_monotonic_time ();
  while (strchr (early->str, '\n') == NULL)
    {
      g_autoptr(OrrWireMessage) msg = recv_message (sat->sock);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      g_assert_cmpint (msg->type, ==, ORR_WIRE_STDOUT);
      text = orr_wire_decode_string (msg->payload, &error);
      g_assert_no_error (error);
      g_string_append (early, text);
    }
  g_assert_cmpstr (early->str, ==, "first line\n");
  /* It came before the script's 1.5 s sleep ended. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1400 * G_TIME_SPAN_MILLISECOND);

  r = read_reply (sat->sock);
  r->status = satellite_wait (sat);
  assert_success (r);
  g_assert_cmpstr (r->err->str, ==, "to stderr\n");
  g_assert_cmpstr (r->out->str, ==, "no newline");
  /* stderr's text, then stdout's, then the result. */
  for (n_text = 0; g_array_index (r->order, OrrWireType, n_text) != ORR_WIRE_RESULT_SCHEMA; n_text++)
    ;
  g_assert_cmpint (g_array_index (r->order, OrrWireType, 0), ==, ORR_WIRE_STDERR);
  g_assert_cmpint (g_array_index (r->order, OrrWireType, n_text - 1), ==, ORR_WIRE_STDOUT);
  g_assert_cmpint (g_array_index (r->order, OrrWireType, n_text), ==, ORR_WIRE_RESULT_SCHEMA);
}

static void
test_message_limit (void)
{
  JobSpec spec = {
    .script =
      "for i in range(1000):\n"
      "    print('0123456789')\n",
    .max_message_bytes = 105,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("Output past max_message_bytes is cut with one notice line");
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpstr (r->out->str, ==,
                   "0123456789\n0123456789\n0123456789\n0123456789\n0123456789\n"
                   "0123456789\n0123456789\n0123456789\n0123456789\n012345\n"
                   "[output truncated: more than 105 bytes]\n");
}

static void
test_output_limit (void)
{
  JobSpec spec = {
    .script =
      "import pandas as pd\n"
      "OutputDataSet = pd.DataFrame({'x': range(100000)})\n",
    .max_output_bytes = 4096,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("A result larger than max_output_bytes is an error, not a partial result");
  r = run_job (&spec);
  assert_failure (r, "OrreryOutputError", "The result exceeds the limit of 4096 bytes");
  g_assert_null (r->schema);
}

static void
test_syntax_error (void)
{
  g_autoptr(Reply) r = NULL;

  g_test_summary ("A syntax error reports Python's message and its line");
  r = run_script ("x = 1\n"
                  "y = 2\n"
                  "z = (x +\n");
  assert_failure (r, "SyntaxError", "'(' was never closed");
  g_assert_cmpint (r->error.line, ==, 3);
  g_assert_true (g_str_has_prefix (r->error.traceback, "  File \"<script>\", line 3\n"));
  g_assert_nonnull (strstr (r->error.traceback, "z = (x +"));

  g_clear_pointer (&r, reply_free);
  r = run_script ("if True:\n"
                  "print(1)\n");
  assert_failure (r, "IndentationError", "expected an indented block after 'if' statement on line 1");
  g_assert_cmpint (r->error.line, ==, 2);
}

static void
test_runtime_error (void)
{
  g_autoptr(Reply) r = NULL;

  g_test_summary ("A runtime error keeps what was printed before it, and its traceback "
                  "starts at the script's own frame with the script's line");
  r = run_script ("print('before')\n"
                  "x = 1 / 0\n");
  assert_failure (r, "ZeroDivisionError", "division by zero");
  g_assert_cmpstr (r->out->str, ==, "before\n");
  g_assert_cmpint (g_array_index (r->order, OrrWireType, 0), ==, ORR_WIRE_STDOUT);
  g_assert_cmpint (r->error.line, ==, 2);
  g_assert_cmpstr (r->error.traceback, ==,
                   "Traceback (most recent call last):\n"
                   "  File \"<script>\", line 2, in <module>\n"
                   "    x = 1 / 0\n"
                   "        ~~^~~\n"
                   "ZeroDivisionError: division by zero\n");

  /* The line is that of the innermost frame in the script. */
  g_clear_pointer (&r, reply_free);
  r = run_script ("def f(d):\n"
                  "    return d / 0\n"
                  "f(1)\n");
  assert_failure (r, "ZeroDivisionError", "division by zero");
  g_assert_cmpint (r->error.line, ==, 2);
  g_assert_true (g_str_has_prefix (r->error.traceback,
                                   "Traceback (most recent call last):\n"
                                   "  File \"<script>\", line 3, in <module>\n"
                                   "    f(1)\n"
                                   "  File \"<script>\", line 2, in f\n"));

  /* Library frames below the script stay, the glue's above it do not. */
  g_clear_pointer (&r, reply_free);
  r = run_script ("import pandas as pd\n"
                  "pd.DataFrame({'a': [1]})['b']\n");
  assert_failure (r, "KeyError", "'b'");
  g_assert_cmpint (r->error.line, ==, 2);
  g_assert_nonnull (strstr (r->error.traceback,
                            "Traceback (most recent call last):\n"
                            "  File \"<script>\", line 2, in <module>\n"));
  g_assert_true (g_str_has_suffix (r->error.traceback, "KeyError: 'b'\n"));
  g_assert_null (strstr (r->error.traceback, "orrery_satellite"));
}

static void
test_exit (void)
{
  g_autoptr(Reply) ok = NULL;
  g_autoptr(Reply) code = NULL;
  g_autoptr(Reply) interrupt = NULL;

  g_test_summary ("sys.exit(0) is a success, other exit codes and KeyboardInterrupt are errors");
  ok = run_script ("import sys, pandas as pd\n"
                   "OutputDataSet = pd.DataFrame({'a': [1]})\n"
                   "sys.exit(0)\n");
  assert_success (ok);
  g_assert_cmpuint (ok->rows, ==, 1);

  code = run_script ("import sys\nsys.exit(3)\n");
  assert_failure (code, "SystemExit", "3");
  g_assert_cmpint (code->error.line, ==, 2);

  interrupt = run_script ("raise KeyboardInterrupt\n");
  assert_failure (interrupt, "KeyboardInterrupt", "");
  g_assert_cmpint (interrupt->error.line, ==, 1);
}

typedef struct {
  const char *path;
  const char *summary;
  const char *script;
  const char *output_name;
  const char *message;
} OutputErrorCase;

static const OutputErrorCase output_errors[] = {
  { "not-a-frame", "OutputDataSet must be a DataFrame",
    "OutputDataSet = 5\n", NULL,
    "OutputDataSet must be a pandas DataFrame, not int" },
  { "renamed", "The message names the output variable the job chose",
    "Result = [1]\n", "Result",
    "Result must be a pandas DataFrame, not list" },
  { "undefined", "Deleting OutputDataSet is an error",
    "del OutputDataSet\n", NULL,
    "OutputDataSet is not defined; assign a pandas DataFrame to it" },
  { "timedelta", "A timedelta column cannot be returned",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'d': pd.to_timedelta([1, 2], unit='s')})\n", NULL,
    "Column “d” of OutputDataSet has dtype timedelta64[ns], which Orrery cannot return; "
    "convert it (for example with .astype(str))" },
  { "complex", "A complex column cannot be returned",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'c': [1j]})\n", NULL,
    "Column “c” of OutputDataSet has dtype complex128, which Orrery cannot return; "
    "convert it (for example with .astype(str))" },
  { "mixed", "A column mixing str and int is an error that says so",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'x': ['a', 1, None]})\n", NULL,
    "Column “x” of OutputDataSet mixes str and int values; "
    "convert it to one type (for example with .astype(str))" },
  { "dict", "A column of dicts cannot be returned",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'x': [{}, {}]})\n", NULL,
    "Column “x” of OutputDataSet holds dict values, which Orrery cannot return; "
    "convert it (for example with .astype(str))" },
  { "uint64", "uint64 values above int64's range are an error",
    "import numpy as np, pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'u': np.array([1, 2**64 - 1], np.uint64)})\n", NULL,
    "Column “u” of OutputDataSet holds values above 9223372036854775807, "
    "which do not fit in a 64-bit integer" },
  { "bigint", "A Python int beyond 64 bits is an error naming the row",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'big': pd.Series([2**70], dtype=object)})\n", NULL,
    "Column “big” of OutputDataSet: row 1 holds 1180591620717411303424, "
    "which does not fit in a 64-bit integer" },
  { "surrogate", "Text that is not encodable as UTF-8 is an error naming the row",
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({'s': ['ok', '\\udc80']})\n", NULL,
    "Column “s” of OutputDataSet: the text in row 2 cannot be encoded as UTF-8 "
    "(it holds a lone surrogate)" },
};

static void
test_output_error (gconstpointer data)
{
  const OutputErrorCase *c = data;
  JobSpec spec = { .script = c->script, .output_name = c->output_name };
  g_autoptr(Reply) r = NULL;

  g_test_summary (c->summary);
  r = run_job (&spec);
  assert_failure (r, "OrreryOutputError", c->message);
}

static GPtrArray *
params_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
}

static void
add_param (GPtrArray   *params,
           const char  *name,
           guint        flags,
           OrrValue     value)
{
  g_ptr_array_add (params, orr_param_new (name, flags, &value));
  orr_value_clear (&value);
}

static void
test_params_in (void)
{
  g_autoptr(GPtrArray) params = params_new ();
  JobSpec spec = {
    .script =
      "import datetime\n"
      "assert b is True\n"
      "assert i16 == -5 and type(i16) is int\n"
      "assert i32 == 70000 and type(i32) is int\n"
      "assert i64 == 2**63 - 1 and type(i64) is int\n"
      "assert f32 == 1.5 and type(f32) is float\n"
      "assert f64 == -2.25 and type(f64) is float\n"
      "assert dec == 12.34 and type(dec) is float\n"
      "assert text == 'é漢字😀', repr(text)\n"
      "assert binary == b'\\x00\\x01\\x02', repr(binary)\n"
      "assert d == datetime.date(9999, 12, 31), repr(d)\n"
      "assert t == datetime.time(1, 0, 0, 1), repr(t)\n"
      "assert ts == datetime.datetime(1969, 12, 31, 23, 59, 59, 999999), repr(ts)\n"
      "assert null is None\n"
      "assert at == 'sign', repr(at)\n",
    .params = params,
  };
  g_autoptr(Reply) r = NULL;

  g_test_summary ("Parameters of every type are bound as the matching Python values");
  add_param (params, "b", 0, (OrrValue) { .type = ORR_DATA_TYPE_BOOL, .v.b = TRUE });
  add_param (params, "i16", 0, (OrrValue) { .type = ORR_DATA_TYPE_INT16, .v.i = -5 });
  add_param (params, "i32", 0, (OrrValue) { .type = ORR_DATA_TYPE_INT32, .v.i = 70000 });
  add_param (params, "i64", 0, (OrrValue) { .type = ORR_DATA_TYPE_INT64, .v.i = G_MAXINT64 });
  add_param (params, "f32", 0, (OrrValue) { .type = ORR_DATA_TYPE_FLOAT32, .v.f = 1.5 });
  add_param (params, "f64", 0, (OrrValue) { .type = ORR_DATA_TYPE_FLOAT64, .v.f = -2.25 });
  add_param (params, "dec", 0, (OrrValue) { .type = ORR_DATA_TYPE_DECIMAL, .v.f = 12.34 });
  add_param (params, "text", 0, (OrrValue) { .type = ORR_DATA_TYPE_TEXT,
                                             .bytes = g_bytes_new_static ("é漢字😀", strlen ("é漢字😀")) });
  add_param (params, "binary", 0, (OrrValue) { .type = ORR_DATA_TYPE_BINARY,
                                               .bytes = g_bytes_new_static ("\0\1\2", 3) });
  add_param (params, "d", 0, (OrrValue) { .type = ORR_DATA_TYPE_DATE, .v.i = 2932896 });
  add_param (params, "t", 0, (OrrValue) { .type = ORR_DATA_TYPE_TIME, .v.i = G_GINT64_CONSTANT (3600000001) });
  add_param (params, "ts", 0, (OrrValue) { .type = ORR_DATA_TYPE_TIMESTAMP, .v.i = -1 });
  add_param (params, "null", 0, (OrrValue) { .type = ORR_DATA_TYPE_INT64, .is_null = TRUE });
  add_param (params, "@at", 0, (OrrValue) { .type = ORR_DATA_TYPE_TEXT,
                                            .bytes = g_bytes_new_static ("sign", 4) });
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpuint (r->params->len, ==, 0);
}

static void
test_params_out (void)
{
  g_autoptr(GPtrArray) params = params_new ();
  JobSpec spec = {
    .script =
      "import datetime, numpy as np, pandas as pd\n"
      "total = np.int64(total + 41)\n"
      "ratio = 1\n"
      "label = 'done'\n"
      "flag = np.bool_(True)\n"
      "blob = bytearray(b'ab')\n"
      "day = datetime.date(2024, 2, 29)\n"
      "moment = pd.Timestamp('2024-02-29 12:00:00.000001', tz='UTC')\n"
      "clock = datetime.time(12, 30)\n"
      "gone = None\n",
    .params = params,
  };
  g_autoptr(Reply) r = NULL;
  const OrrParam *p;

  g_test_summary ("Output parameters are read back and converted to their declared types");
  add_param (params, "total", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_INT32, .v.i = 1 });
  add_param (params, "ratio", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_FLOAT64, .is_null = TRUE });
  add_param (params, "label", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_TEXT, .is_null = TRUE });
  add_param (params, "flag", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_BOOL, .is_null = TRUE });
  add_param (params, "blob", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_BINARY, .is_null = TRUE });
  add_param (params, "day", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_DATE, .is_null = TRUE });
  add_param (params, "moment", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_TIMESTAMP, .is_null = TRUE });
  add_param (params, "clock", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_TIME, .is_null = TRUE });
  add_param (params, "gone", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_INT64, .v.i = 3 });
  add_param (params, "input_only", 0, (OrrValue) { .type = ORR_DATA_TYPE_INT64, .v.i = 3 });
  r = run_job (&spec);
  assert_success (r);
  g_assert_cmpuint (r->params->len, ==, 9);
  g_assert_null (find_param (r, "input_only"));

#define ASSERT_PARAM(name, type_, text) G_STMT_START { \
    g_autofree char *s_ = NULL; \
    p = find_param (r, name); \
    g_assert_nonnull (p); \
    g_assert_cmpint (p->value.type, ==, type_); \
    s_ = orr_value_to_string (&p->value); \
    g_assert_cmpstr (s_, ==, text); \
  } G_STMT_END
  ASSERT_PARAM ("total", ORR_DATA_TYPE_INT32, "42");
  ASSERT_PARAM ("ratio", ORR_DATA_TYPE_FLOAT64, "1");
  ASSERT_PARAM ("label", ORR_DATA_TYPE_TEXT, "done");
  ASSERT_PARAM ("flag", ORR_DATA_TYPE_BOOL, "true");
  ASSERT_PARAM ("blob", ORR_DATA_TYPE_BINARY, "0x6162");
  ASSERT_PARAM ("day", ORR_DATA_TYPE_DATE, "2024-02-29");
  ASSERT_PARAM ("moment", ORR_DATA_TYPE_TIMESTAMP, "2024-02-29 12:00:00.000001");
  ASSERT_PARAM ("clock", ORR_DATA_TYPE_TIME, "12:30:00");
  ASSERT_PARAM ("gone", ORR_DATA_TYPE_INT64, "NULL");
#undef ASSERT_PARAM
}

static void
test_params_out_mismatch (void)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autoptr(GPtrArray) range = params_new ();
  JobSpec spec = { .script = "total = 'abc'\n", .params = params };
  JobSpec range_spec = { .script = "small = 70000\n", .params = range };
  g_autoptr(Reply) r = NULL;
  g_autoptr(Reply) r2 = NULL;

  g_test_summary ("An output parameter of the wrong type or range is an error naming it");
  add_param (params, "total", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_INT64, .is_null = TRUE });
  r = run_job (&spec);
  assert_failure (r, "OrreryOutputError", "Output parameter “total” is declared int but the script left str");

  add_param (range, "small", ORR_PARAM_OUTPUT, (OrrValue) { .type = ORR_DATA_TYPE_INT16, .is_null = TRUE });
  r2 = run_job (&range_spec);
  assert_failure (r2, "OrreryOutputError",
                  "Output parameter “small” holds 70000, outside the range of int16 (-32768 to 32767)");
}

/* ------------------------------------------------------------ protocol */

static void
expect_protocol_failure (Satellite *sat)
{
  g_autoptr(GError) error = NULL;
  GInputStream *err = g_subprocess_get_stderr_pipe (sat->process);
  char buf[4096];
  gsize len = 0;
  int status;

  /* The satellite may have died before reading everything: no SIGPIPE. */
  shutdown (sat->sock, SHUT_WR);
  status = satellite_wait (sat);
  g_assert_cmpint (status, ==, 2);
  g_input_stream_read_all (err, buf, sizeof buf - 1, &len, NULL, &error);
  g_assert_no_error (error);
  buf[len] = '\0';
  g_assert_true (g_str_has_prefix (buf, "orrery-satellite: "));
}

static void
test_protocol_garbage (void)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_STDERR_PIPE);
  static const char junk[] = "this is not an Orrery frame at all";

  g_test_summary ("Bytes that are not a frame make the satellite exit with status 2");
  g_assert_cmpint (send (sat->sock, junk, sizeof junk, MSG_NOSIGNAL), ==, sizeof junk);
  expect_protocol_failure (sat);
}

static void
test_protocol_truncated (void)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_STDERR_PIPE);
  OrrWireJob job = { .script = (char *) "print(1)", .input_name = (char *) "InputDataSet",
                     .output_name = (char *) "OutputDataSet" };
  g_autoptr(GBytes) payload = orr_wire_encode_job (&job);
  guint8 frame[ORR_WIRE_HEADER_SIZE];
  guint32 magic = GUINT32_TO_LE (ORR_WIRE_MAGIC), len = GUINT32_TO_LE (g_bytes_get_size (payload));
  guint16 version = GUINT16_TO_LE (ORR_WIRE_VERSION), type = GUINT16_TO_LE (ORR_WIRE_JOB);
  guint32 fds = 0;

  g_test_summary ("A frame cut short by a closed socket makes the satellite exit with status 2");
  memcpy (frame, &magic, 4);
  memcpy (frame + 4, &version, 2);
  memcpy (frame + 6, &type, 2);
  memcpy (frame + 8, &len, 4);
  memcpy (frame + 12, &fds, 4);
  g_assert_cmpint (send (sat->sock, frame, sizeof frame, MSG_NOSIGNAL), ==, sizeof frame);
  g_assert_cmpint (send (sat->sock, g_bytes_get_data (payload, NULL), 5, MSG_NOSIGNAL), ==, 5);
  expect_protocol_failure (sat);
}

static void
test_protocol_malformed (void)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(Satellite) order = satellite_start ("--job", G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GBytes) junk = g_bytes_new_static ("\xff\xff\xff\xff", 4);
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GBytes) schema_payload = orr_wire_encode_schema (schema);

  g_test_summary ("A well-framed but malformed or misplaced message makes the satellite exit with status 2");
  send_message (sat->sock, ORR_WIRE_JOB, junk, -1);
  expect_protocol_failure (sat);

  send_message (order->sock, ORR_WIRE_SCHEMA, schema_payload, -1);
  expect_protocol_failure (order);
}

static void
test_protocol_bad_batch (void)
{
  g_autoptr(Satellite) sat = satellite_start ("--job", G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) batch = NULL;
  g_autoptr(GBytes) job_payload = NULL;
  g_autoptr(GBytes) schema_payload = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree OrrBufferDesc *descs = NULL;
  OrrWireJob job = { .script = (char *) "", .input_name = (char *) "InputDataSet",
                     .output_name = (char *) "OutputDataSet" };
  guint64 size;
  int fd;

  g_test_summary ("A batch whose buffers lie outside its memory makes the satellite exit with status 2");
  orr_schema_add_field (schema, "n", ORR_DATA_TYPE_INT64, 0, 0);
  batch = batch_new (schema, 10);
  _orr_batch_seal (batch, &fd, &size, &descs, &error);
  g_assert_no_error (error);
  descs[0].values_off = size;
  job_payload = orr_wire_encode_job (&job);
  schema_payload = orr_wire_encode_schema (schema);
  payload = orr_wire_encode_batch (10, size, 1, descs);
  send_message (sat->sock, ORR_WIRE_JOB, job_payload, -1);
  send_message (sat->sock, ORR_WIRE_SCHEMA, schema_payload, -1);
  send_message (sat->sock, ORR_WIRE_BATCH, payload, fd);
  expect_protocol_failure (sat);
}

static void
test_usage (void)
{
  g_autoptr(GSubprocess) bad = NULL;
  g_autoptr(GSubprocess) version = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_test_summary ("Invalid arguments print the usage and exit 2; --version prints the version");
  bad = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, satellite_path (), "--bogus", NULL);
  g_assert_no_error (error);
  g_subprocess_wait (bad, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (bad), ==, 2);

  version = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, satellite_path (), "--version", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (version, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (out, "orrery-satellite " PACKAGE_VERSION " (Python 3."));
  g_assert_cmpint (g_subprocess_get_exit_status (version), ==, 0);
}

/* ------------------------------------------------------------ zygote */

/* Runs @script in a child of @zygote isolated as @sandbox asks (flags 0:
 * none); returns the child's pid, the job's reply and its wait status. */
static gint32
zygote_run_sandboxed (Satellite         *zygote,
                      const char        *script,
                      const OrrWireFork *sandbox,
                      Reply            **reply_out,
                      int               *wait_status)
{
  g_autoptr(GBytes) request = orr_wire_encode_fork (sandbox);
  g_autoptr(GError) error = NULL;
  JobSpec spec = { .script = script };
  int sv[2];
  gint32 pid;
  gint64 exited[ORR_WIRE_EXITED_N_VALUES];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  send_message (zygote->sock, ORR_WIRE_FORK, request, sv[1]);
  close (sv[1]);
  {
    g_autoptr(OrrWireMessage) forked = recv_message (zygote->sock);

    g_assert_cmpint (forked->type, ==, ORR_WIRE_FORKED);
    orr_wire_decode_i32s (forked->payload, &pid, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (pid, >, 0);
  }

  send_job (sv[0], &spec);
  if (reply_out)
    *reply_out = read_reply (sv[0]);
  else
    {
      /* A job that dies says nothing: its socket just closes. */
      char buf[256];

      while (read (sv[0], buf, sizeof buf) > 0)
        ;
    }
  close (sv[0]);

  {
    g_autoptr(OrrWireMessage) msg = recv_message (zygote->sock);

    g_assert_cmpint (msg->type, ==, ORR_WIRE_EXITED);
    orr_wire_decode_i64s (msg->payload, exited, ORR_WIRE_EXITED_N_VALUES, &error);
    g_assert_no_error (error);
    g_assert_cmpint (exited[0], ==, pid);
    *wait_status = (int) exited[1];
    if (reply_out)
      (*reply_out)->status = WIFEXITED (*wait_status) ? WEXITSTATUS (*wait_status) : -1;
    /* The zygote reports the child's resource use from its rusage. */
    g_assert_cmpint (exited[2] + exited[3], >, 0);
    g_assert_cmpint (exited[4], >, 1024);
  }
  return pid;
}

static gint32
zygote_run_one (Satellite *zygote,
                const char *script,
                Reply     **reply_out)
{
  OrrWireFork plain = { 0 };
  int wait_status;
  gint32 pid = zygote_run_sandboxed (zygote, script, &plain, reply_out, &wait_status);

  g_assert_true (WIFEXITED (wait_status));
  return pid;
}

static void
test_zygote (void)
{
  g_autoptr(Satellite) zygote = satellite_start ("--zygote", G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(OrrWireMessage) ready = recv_message (zygote->sock);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) versions = NULL;
  g_autoptr(Reply) first = NULL;
  g_autoptr(Reply) second = NULL;
  gint32 pid1, pid2;

  g_test_summary ("The zygote says READY with its versions, forks one child per job, reports "
                  "each child's exit, and exits when its channel closes");
  g_assert_cmpint (ready->type, ==, ORR_WIRE_READY);
  versions = orr_wire_decode_strings (ready->payload, 3, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (versions[0], "3."));
  g_assert_cmpstr (versions[1], !=, "");
  g_assert_cmpstr (versions[2], !=, "");

  pid1 = zygote_run_one (zygote,
                         "import numpy as np, pandas as pd\n"
                         "print(np.random.randint(1 << 30))\n"
                         "OutputDataSet = pd.DataFrame({'x': [1, 2]})\n",
                         &first);
  assert_success (first);
  g_assert_cmpuint (first->rows, ==, 2);
  pid2 = zygote_run_one (zygote,
                         "import numpy as np, pandas as pd\n"
                         "print(np.random.randint(1 << 30))\n"
                         "OutputDataSet = pd.DataFrame({'y': ['a']})\n",
                         &second);
  assert_success (second);
  g_assert_cmpuint (second->rows, ==, 1);
  g_assert_cmpint (pid1, !=, pid2);
  /* Each child has its own random numbers, not the zygote's. */
  g_assert_cmpstr (first->out->str, !=, second->out->str);

  close (zygote->sock);
  zygote->sock = -1;
  g_assert_cmpint (satellite_wait (zygote), ==, 0);
}

static void
test_zygote_sandbox (void)
{
  g_autoptr(Satellite) zygote = satellite_start ("--zygote", G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(OrrWireMessage) ready = recv_message (zygote->sock);
  OrrWireFork sandbox = {
    .flags = ORR_WIRE_FORK_NET_NS | ORR_WIRE_FORK_MOUNT_NS | ORR_WIRE_FORK_PID_NS | ORR_WIRE_FORK_IPC_NS |
             ORR_WIRE_FORK_NO_NEW_PRIVS | ORR_WIRE_FORK_SECCOMP |
             (geteuid () == 0 ? 0 : ORR_WIRE_FORK_USER_NS),
  };
  struct {
    const char *script;
    gboolean signaled;
    int code;
  } cases[] = {
    { "import os, pandas as pd\n"
      "assert (os.getpid(), os.getppid()) == (2, 1), (os.getpid(), os.getppid())\n"
      "assert os.listdir('/tmp') == []\n"
      "assert set(os.environ) <= {'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'OPENBLAS_NUM_THREADS',\n"
      "                           'OMP_NUM_THREADS', 'MKL_NUM_THREADS'}, sorted(os.environ)\n"
      "OutputDataSet = pd.DataFrame({'x': [1]})\n", FALSE, 0 },
    { "import os\nos._exit(7)\n", FALSE, 7 },
    { "import os\nos.abort()\n", TRUE, SIGABRT },
    { "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n", TRUE, SIGTERM },
  };

  g_test_summary ("A sandboxed child runs its job as PID 2 of its own namespaces, and the zygote's EXITED "
                  "carries the job's own exit code or signal through the sandbox's keeper and init; a "
                  "sandbox step that fails fails the job with an error naming it");
  g_assert_cmpint (ready->type, ==, ORR_WIRE_READY);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(Reply) reply = NULL;
      int status;

      zygote_run_sandboxed (zygote, cases[i].script, &sandbox, i == 0 ? &reply : NULL, &status);
      if (cases[i].signaled)
        {
          g_assert_true (WIFSIGNALED (status));
          g_assert_cmpint (WTERMSIG (status), ==, cases[i].code);
        }
      else
        {
          g_assert_true (WIFEXITED (status));
          g_assert_cmpint (WEXITSTATUS (status), ==, cases[i].code);
          if (cases[i].code == 0)
            assert_success (reply);
        }
    }

  /* A step that fails is never skipped: the job is told which. */
  {
    g_autoptr(Reply) reply = NULL;
    OrrWireFork broken = sandbox;
    int status;

    broken.job_dir = (char *) "/nonexistent-orrery-job-dir";
    zygote_run_sandboxed (zygote, "print('never')", &broken, &reply, &status);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_true (reply->failed);
    g_assert_cmpstr (reply->error.kind, ==, "OrrerySandboxError");
    g_assert_cmpstr (reply->error.message, ==,
                     "Cannot isolate the job: opening the job directory: No such file or directory");
    g_assert_cmpstr (reply->out->str, ==, "");
  }
  /* The job's cgroups come first: one the child cannot join ends the job,
   * which never runs outside it. */
  {
    static const struct { const char *dir, *message; } bad[] = {
      { "/nonexistent-orrery-cgroup",
        "Cannot isolate the job: joining the cgroup /nonexistent-orrery-cgroup: No such file or directory" },
      { "/tmp", "Cannot isolate the job: joining the cgroup /tmp: Operation not supported" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(Reply) reply = NULL;
        g_autoptr(GPtrArray) cgroups = g_ptr_array_new ();
        OrrWireFork broken = sandbox;
        int status;

        g_ptr_array_add (cgroups, (char *) bad[i].dir);
        broken.cgroups = cgroups;
        zygote_run_sandboxed (zygote, "print('never')", &broken, &reply, &status);
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), ==, 1);
        g_assert_true (reply->failed);
        g_assert_cmpstr (reply->error.kind, ==, "OrrerySandboxError");
        g_assert_cmpstr (reply->error.message, ==, bad[i].message);
        g_assert_cmpstr (reply->out->str, ==, "");
      }
  }

  close (zygote->sock);
  zygote->sock = -1;
  g_assert_cmpint (satellite_wait (zygote), ==, 0);
}

static void
test_zygote_malformed (void)
{
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  OrrWireFork unknown = { .flags = 1u << 30 };
  g_autoptr(GBytes) bad_flags = orr_wire_encode_fork (&unknown);

  g_test_summary ("A message other than FORK with a socket and a valid sandbox makes the zygote exit "
                  "with status 2");
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(Satellite) zygote = satellite_start ("--zygote", G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autoptr(OrrWireMessage) ready = recv_message (zygote->sock);
      int sv[2];

      g_assert_cmpint (ready->type, ==, ORR_WIRE_READY);
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
      if (i == 0)
        /* FORK without the job socket it must carry. */
        send_message (zygote->sock, ORR_WIRE_FORK, empty, -1);
      else
        /* FORK without its sandbox, or with flags this satellite does not know. */
        send_message (zygote->sock, ORR_WIRE_FORK, i == 1 ? empty : bad_flags, sv[1]);
      close (sv[0]);
      close (sv[1]);
      expect_protocol_failure (zygote);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/satellite/roundtrip/types", test_roundtrip_types);
  g_test_add_func ("/satellite/roundtrip/empty", test_roundtrip_empty);
  g_test_add_func ("/satellite/roundtrip/batches", test_roundtrip_batches);
  g_test_add_func ("/satellite/input/batches-all-types", test_input_batches_all_types);
  g_test_add_func ("/satellite/input/batches-wide-later", test_input_batches_wide_later);
  g_test_add_func ("/satellite/input/dtypes", test_input_dtypes);
  g_test_add_func ("/satellite/input/zero-copy", test_zero_copy);
  g_test_add_func ("/satellite/output/types", test_output_types);
  g_test_add_func ("/satellite/output/limit", test_output_limit);
  for (gsize i = 0; i < G_N_ELEMENTS (output_errors); i++)
    {
      g_autofree char *path = g_strdup_printf ("/satellite/output/error/%s", output_errors[i].path);
      g_test_add_data_func (path, &output_errors[i], test_output_error);
    }
  g_test_add_func ("/satellite/stdout/streamed", test_stdout_streamed);
  g_test_add_func ("/satellite/stdout/limit", test_message_limit);
  g_test_add_func ("/satellite/error/syntax", test_syntax_error);
  g_test_add_func ("/satellite/error/runtime", test_runtime_error);
  g_test_add_func ("/satellite/error/exit", test_exit);
  g_test_add_func ("/satellite/params/in", test_params_in);
  g_test_add_func ("/satellite/params/out", test_params_out);
  g_test_add_func ("/satellite/params/out-mismatch", test_params_out_mismatch);
  g_test_add_func ("/satellite/protocol/garbage", test_protocol_garbage);
  g_test_add_func ("/satellite/protocol/truncated", test_protocol_truncated);
  g_test_add_func ("/satellite/protocol/malformed", test_protocol_malformed);
  g_test_add_func ("/satellite/protocol/bad-batch", test_protocol_bad_batch);
  g_test_add_func ("/satellite/usage", test_usage);
  g_test_add_func ("/satellite/zygote/jobs", test_zygote);
  g_test_add_func ("/satellite/zygote/sandbox", test_zygote_sandbox);
  g_test_add_func ("/satellite/zygote/malformed", test_zygote_malformed);

  return g_test_run ();
}
