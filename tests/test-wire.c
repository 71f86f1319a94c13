/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-wire"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-batch-private.h"
#include "orr-error.h"
#include "orr-wire.h"

/* Like g_assert_cmpstr, but for "contains": error messages must name what
 * was wrong without the tests pinning down their whole wording. */
#define assert_str_contains(s, sub) G_STMT_START { \
    const char *s_ = (s), *sub_ = (sub); \
    if (s_ == NULL || strstr (s_, sub_) == NULL) \
      g_assertion_message_cmpstr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                                  #s " contains " #sub, s_, "does not contain", sub_); \
  } G_STMT_END

#define UNICODE_TEXT "é漢字😀"

/* ------------------------------------------------- hand-written payloads */

/* The documented layout, written independently of the encoder, so that a
 * mistake made the same way on both sides still shows. */

static void
put8 (GByteArray *a, guint8 v)
{
  g_byte_array_append (a, &v, 1);
}

static void
put16 (GByteArray *a, guint16 v)
{
  guint8 b[2] = { v & 0xff, v >> 8 };

  g_byte_array_append (a, b, sizeof b);
}

static void
put32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

  g_byte_array_append (a, b, sizeof b);
}

static void
put64 (GByteArray *a, guint64 v)
{
  put32 (a, (guint32) v);
  put32 (a, (guint32) (v >> 32));
}

static void
put_str (GByteArray *a, const char *s, gsize len)
{
  put32 (a, len);
  g_byte_array_append (a, (const guint8 *) s, len);
}

static void
put_header (GByteArray *a, guint32 magic, guint16 version, guint16 type, guint32 len, guint32 n_fds)
{
  put32 (a, magic);
  put16 (a, version);
  put16 (a, type);
  put32 (a, len);
  put32 (a, n_fds);
}

static GBytes *
bytes_of (const void *data, gsize len)
{
  return g_bytes_new (data, len);
}

static GBytes *
bytes_append (GBytes *payload, const void *extra, gsize len)
{
  GByteArray *a = g_byte_array_new ();
  gsize plen;
  const guint8 *p = g_bytes_get_data (payload, &plen);

  g_byte_array_append (a, p, plen);
  g_byte_array_append (a, extra, len);
  return g_byte_array_free_to_bytes (a);
}

/* ------------------------------------------------------- sample messages */

static void
add_param (GPtrArray *params, const char *name, guint flags, OrrValue *value)
{
  g_ptr_array_add (params, orr_param_new (name, flags, value));
  g_clear_pointer (&value->bytes, g_bytes_unref);
}

static GPtrArray *
make_params (void)
{
  static const guint8 blob[] = { 0x00, 0x01, 0x00, 0xff, 0x00 };
  GPtrArray *params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  OrrValue v;

  v = (OrrValue) { .type = ORR_DATA_TYPE_BOOL, .v.b = TRUE };
  add_param (params, "@yes", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_BOOL, .v.b = FALSE };
  add_param (params, "@no", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_INT16, .v.i = G_MININT16 };
  add_param (params, "@small", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_INT32, .v.i = G_MAXINT32 };
  add_param (params, "@int", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_INT64, .v.i = G_MININT64 };
  add_param (params, "@big", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_FLOAT32, .v.f = 0.5 };
  add_param (params, "@f32", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_FLOAT64, .v.f = -0.0 };
  add_param (params, "@negzero", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_FLOAT64, .v.f = G_MAXDOUBLE };
  add_param (params, "@huge", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_DECIMAL, .v.f = -123.45 };
  add_param (params, "@money", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_TEXT, .bytes = g_bytes_new_static (UNICODE_TEXT, strlen (UNICODE_TEXT)) };
  add_param (params, "@text", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_TEXT, .bytes = g_bytes_new_static ("", 0) };
  add_param (params, "@empty", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_BINARY, .bytes = g_bytes_new_static (blob, sizeof blob) };
  add_param (params, "@blob", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_DATE, .v.i = -719162 };
  add_param (params, "@day", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_TIME, .v.i = G_GINT64_CONSTANT (86399999999) };
  add_param (params, "@clock", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_TIMESTAMP, .v.i = -1 };
  add_param (params, "@stamp", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_INT32, .is_null = TRUE };
  add_param (params, "@null_out", ORR_PARAM_OUTPUT, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_TEXT, .is_null = TRUE };
  add_param (params, "@null_text", 0, &v);
  v = (OrrValue) { .type = ORR_DATA_TYPE_INT64, .v.i = 42 };
  add_param (params, "@out", ORR_PARAM_OUTPUT, &v);
  return params;
}

static void
assert_params_equal (GPtrArray *expected, GPtrArray *actual)
{
  g_assert_nonnull (actual);
  g_assert_cmpuint (actual->len, ==, expected->len);
  for (guint i = 0; i < expected->len; i++)
    {
      const OrrParam *e = g_ptr_array_index (expected, i);
      const OrrParam *a = g_ptr_array_index (actual, i);

      g_assert_cmpstr (a->name, ==, e->name);
      g_assert_cmpuint (a->flags, ==, e->flags);
      g_assert_cmpint (a->value.type, ==, e->value.type);
      g_assert_cmpint (!!a->value.is_null, ==, !!e->value.is_null);
      if (e->value.is_null)
        continue;
      switch (e->value.type)
        {
        case ORR_DATA_TYPE_BOOL:
          g_assert_cmpint (!!a->value.v.b, ==, !!e->value.v.b);
          break;
        case ORR_DATA_TYPE_INT16:
        case ORR_DATA_TYPE_INT32:
        case ORR_DATA_TYPE_INT64:
        case ORR_DATA_TYPE_DATE:
        case ORR_DATA_TYPE_TIME:
        case ORR_DATA_TYPE_TIMESTAMP:
          g_assert_cmpint (a->value.v.i, ==, e->value.v.i);
          break;
        case ORR_DATA_TYPE_FLOAT32:
        case ORR_DATA_TYPE_FLOAT64:
        case ORR_DATA_TYPE_DECIMAL:
          /* Bit for bit: -0.0 must stay negative. */
          g_assert_cmpmem (&a->value.v.f, sizeof (double), &e->value.v.f, sizeof (double));
          break;
        case ORR_DATA_TYPE_TEXT:
        case ORR_DATA_TYPE_BINARY:
          g_assert_nonnull (a->value.bytes);
          g_assert_true (g_bytes_equal (a->value.bytes, e->value.bytes));
          break;
        case ORR_DATA_TYPE_INVALID:
        default:
          g_assert_not_reached ();
        }
    }
}

static void
make_job (OrrWireJob *job)
{
  memset (job, 0, sizeof *job);
  job->script = g_strdup ("import math\nprint('héllo')\nOutputDataSet = InputDataSet\n");
  job->input_name = g_strdup ("InputDataSet");
  job->output_name = g_strdup ("OutputDataSet");
  job->max_output_bytes = G_MAXUINT64;
  job->max_message_bytes = 65536;
  job->params = make_params ();
  job->flags = ORR_WIRE_JOB_SQLSERVER_TYPES;
  job->partition_by = g_strsplit ("region,payment type " UNICODE_TEXT, ",", -1);
  job->order_by = g_strsplit ("amount", ",", -1);
  job->rows_per_read = 10000;
}

static OrrSchema *
make_schema (void)
{
  OrrSchema *schema = orr_schema_new ();

  orr_schema_add_field (schema, "flag", ORR_DATA_TYPE_BOOL, 0, 0);
  orr_schema_add_field (schema, "small", ORR_DATA_TYPE_INT16, 0, 0);
  orr_schema_add_field (schema, "int", ORR_DATA_TYPE_INT32, 0, 0);
  orr_schema_add_field (schema, "big", ORR_DATA_TYPE_INT64, 0, 0);
  orr_schema_add_field (schema, "f32", ORR_DATA_TYPE_FLOAT32, 0, 0);
  orr_schema_add_field (schema, "f64", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (schema, "money", ORR_DATA_TYPE_DECIMAL, 18, 2);
  orr_schema_add_field (schema, "text " UNICODE_TEXT, ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (schema, "blob", ORR_DATA_TYPE_BINARY, 0, 0);
  orr_schema_add_field (schema, "day", ORR_DATA_TYPE_DATE, 0, 0);
  orr_schema_add_field (schema, "clock", ORR_DATA_TYPE_TIME, 0, 0);
  orr_schema_add_field (schema, "stamp", ORR_DATA_TYPE_TIMESTAMP, 0, 0);
  orr_schema_add_field (schema, "plain", ORR_DATA_TYPE_INT32, 0, 0);
  return schema;
}

static const OrrBufferDesc sample_descs[] = {
  { 0, 1, 64, 20, 128, 0 },
  { G_MAXUINT64, G_MAXUINT64 - 1, 1u << 31, 3, 5, 7 },
  { 0x0102030405060708u, 0, 0, 0, 0, 0 },
};

/* ------------------------------------------- uniform decoder wrappers */

typedef gboolean (*DecodeFunc) (GBytes *payload, GError **error);

static gboolean
decode_job_any (GBytes *payload, GError **error)
{
  OrrWireJob job;

  if (!orr_wire_decode_job (payload, &job, error))
    {
      /* A failed decode leaves nothing behind to free. */
      g_assert_null (job.script);
      g_assert_null (job.params);
      return FALSE;
    }
  orr_wire_job_clear (&job);
  return TRUE;
}

static gboolean
decode_fork_any (GBytes *payload, GError **error)
{
  OrrWireFork spec;

  if (!orr_wire_decode_fork (payload, &spec, error))
    {
      g_assert_null (spec.cpus);
      g_assert_null (spec.job_dir);
      g_assert_null (spec.hidden);
      g_assert_null (spec.cgroups);
      return FALSE;
    }
  orr_wire_fork_clear (&spec);
  return TRUE;
}

/* A sandbox with every field set. */
static void
make_fork (OrrWireFork *spec)
{
  static const guint32 cpus[] = { 0, 3, 4095 };

  memset (spec, 0, sizeof *spec);
  spec->flags = ORR_WIRE_FORK_ALL_FLAGS;
  spec->uid = 70001;
  spec->gid = 70002;
  spec->memory_rlimit = G_GUINT64_CONSTANT (256) << 20;
  spec->max_processes = 16;
  spec->tmp_size = G_MAXUINT64;
  spec->cpus = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_array_append_vals (spec->cpus, cpus, G_N_ELEMENTS (cpus));
  spec->job_dir = g_strdup ("/run/orrery/jobs/12-34");
  spec->hidden = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (spec->hidden, g_strdup ("/etc/odbc.ini"));
  g_ptr_array_add (spec->hidden, g_strdup ("/home/" UNICODE_TEXT));
  spec->cgroups = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (spec->cgroups, g_strdup ("/sys/fs/cgroup/memory/orrery/default/job-12-34"));
  g_ptr_array_add (spec->cgroups, g_strdup ("/sys/fs/cgroup/orrery/" UNICODE_TEXT "/job-12-34"));
}

static gboolean
decode_schema_any (GBytes *payload, GError **error)
{
  OrrSchema *schema = orr_wire_decode_schema (payload, error);

  if (schema == NULL)
    return FALSE;
  orr_schema_unref (schema);
  return TRUE;
}

static gboolean
decode_batch_any (GBytes *payload, GError **error)
{
  OrrWireBatch batch;

  if (!orr_wire_decode_batch (payload, &batch, error))
    {
      g_assert_null (batch.descs);
      return FALSE;
    }
  orr_wire_batch_clear (&batch);
  return TRUE;
}

static gboolean
decode_string_any (GBytes *payload, GError **error)
{
  g_autofree char *s = orr_wire_decode_string (payload, error);

  return s != NULL;
}

static gboolean
decode_strings3_any (GBytes *payload, GError **error)
{
  g_auto(GStrv) strv = orr_wire_decode_strings (payload, 3, error);

  return strv != NULL;
}

static gboolean
decode_params_any (GBytes *payload, GError **error)
{
  g_autoptr(GPtrArray) params = orr_wire_decode_params (payload, error);

  return params != NULL;
}

static gboolean
decode_error_any (GBytes *payload, GError **error)
{
  OrrWireError err;

  if (!orr_wire_decode_error (payload, &err, error))
    {
      g_assert_null (err.kind);
      g_assert_null (err.message);
      g_assert_null (err.traceback);
      return FALSE;
    }
  orr_wire_error_clear (&err);
  return TRUE;
}

static gboolean
decode_i32s1_any (GBytes *payload, GError **error)
{
  gint32 v[1];

  return orr_wire_decode_i32s (payload, v, G_N_ELEMENTS (v), error);
}

static gboolean
decode_i32s2_any (GBytes *payload, GError **error)
{
  gint32 v[2];

  return orr_wire_decode_i32s (payload, v, G_N_ELEMENTS (v), error);
}

static gboolean
decode_u64_any (GBytes *payload, GError **error)
{
  guint64 v;

  return orr_wire_decode_u64 (payload, &v, error);
}

typedef struct {
  const char *name;
  DecodeFunc decode;
  GBytes *payload;
} Case;

static GArray *
make_cases (void)
{
  GArray *cases = g_array_new (FALSE, TRUE, sizeof (Case));
  OrrWireJob job;
  OrrWireFork sandbox;
  g_autoptr(OrrSchema) schema = make_schema ();
  g_autoptr(GPtrArray) params = make_params ();
  static const char * const versions[] = { "3.11.2", "", UNICODE_TEXT };
  static const gint32 pid[] = { 4242 };
  static const gint32 exited[] = { 4242, 256 };
  OrrWireError err = {
    .kind = g_strdup ("ZeroDivisionError"),
    .message = g_strdup ("division by zero"),
    .traceback = g_strdup ("Traceback (most recent call last):\n  line 3\n"),
    .line = 3,
  };
  Case c;

  make_job (&job);
  c = (Case) { "job", decode_job_any, orr_wire_encode_job (&job) };
  g_array_append_val (cases, c);
  make_fork (&sandbox);
  c = (Case) { "fork", decode_fork_any, orr_wire_encode_fork (&sandbox) };
  g_array_append_val (cases, c);
  orr_wire_fork_clear (&sandbox);
  c = (Case) { "schema", decode_schema_any, orr_wire_encode_schema (schema) };
  g_array_append_val (cases, c);
  c = (Case) { "batch", decode_batch_any,
               orr_wire_encode_batch (7, 4096, G_N_ELEMENTS (sample_descs), sample_descs) };
  g_array_append_val (cases, c);
  c = (Case) { "string", decode_string_any, orr_wire_encode_string (UNICODE_TEXT, -1) };
  g_array_append_val (cases, c);
  c = (Case) { "strings", decode_strings3_any, orr_wire_encode_strings (versions, 3) };
  g_array_append_val (cases, c);
  c = (Case) { "params", decode_params_any, orr_wire_encode_params (params) };
  g_array_append_val (cases, c);
  c = (Case) { "error", decode_error_any, orr_wire_encode_error (&err) };
  g_array_append_val (cases, c);
  c = (Case) { "i32s(1)", decode_i32s1_any, orr_wire_encode_i32s (pid, 1) };
  g_array_append_val (cases, c);
  c = (Case) { "i32s(2)", decode_i32s2_any, orr_wire_encode_i32s (exited, 2) };
  g_array_append_val (cases, c);
  c = (Case) { "u64", decode_u64_any, orr_wire_encode_u64 (G_MAXUINT64) };
  g_array_append_val (cases, c);

  orr_wire_job_clear (&job);
  orr_wire_error_clear (&err);
  return cases;
}

static void
free_cases (GArray *cases)
{
  for (guint i = 0; i < cases->len; i++)
    g_bytes_unref (g_array_index (cases, Case, i).payload);
  g_array_unref (cases);
}

/* ------------------------------------------------------- round trips */

static void
test_job_round_trip (void)
{
  OrrWireJob job, back;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A job with parameters of every type, NULLs and output flags "
                  "decodes to exactly what was encoded");

  make_job (&job);
  payload = orr_wire_encode_job (&job);
  g_assert_true (orr_wire_decode_job (payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.script, ==, job.script);
  g_assert_cmpstr (back.input_name, ==, job.input_name);
  g_assert_cmpstr (back.output_name, ==, job.output_name);
  g_assert_cmpuint (back.max_output_bytes, ==, job.max_output_bytes);
  g_assert_cmpuint (back.max_message_bytes, ==, job.max_message_bytes);
  assert_params_equal (job.params, back.params);
  g_assert_cmpuint (back.flags, ==, ORR_WIRE_JOB_SQLSERVER_TYPES);
  g_assert_true (g_strv_equal ((const char * const *) back.partition_by, (const char * const *) job.partition_by));
  g_assert_true (g_strv_equal ((const char * const *) back.order_by, (const char * const *) job.order_by));
  g_assert_cmpuint (back.rows_per_read, ==, 10000);
  orr_wire_job_clear (&back);
  orr_wire_job_clear (&job);
}

static void
test_fork_round_trip (void)
{
  OrrWireFork spec, back;
  OrrWireFork plain = { 0 };
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) plain_payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A FORK request's sandbox decodes to exactly what was encoded; one with nothing asked "
                  "decodes to no flag, no CPU, no job directory, nothing hidden and no cgroup");

  make_fork (&spec);
  payload = orr_wire_encode_fork (&spec);
  g_assert_true (orr_wire_decode_fork (payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (back.flags, ==, spec.flags);
  g_assert_cmpuint (back.uid, ==, spec.uid);
  g_assert_cmpuint (back.gid, ==, spec.gid);
  g_assert_cmpuint (back.memory_rlimit, ==, spec.memory_rlimit);
  g_assert_cmpuint (back.max_processes, ==, spec.max_processes);
  g_assert_cmpuint (back.tmp_size, ==, spec.tmp_size);
  g_assert_cmpmem (back.cpus->data, back.cpus->len * 4, spec.cpus->data, spec.cpus->len * 4);
  g_assert_cmpstr (back.job_dir, ==, spec.job_dir);
  g_assert_cmpuint (back.hidden->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (back.hidden, 1), ==, "/home/" UNICODE_TEXT);
  g_assert_cmpuint (back.cgroups->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (back.cgroups, 0), ==, g_ptr_array_index (spec.cgroups, 0));
  g_assert_cmpstr (g_ptr_array_index (back.cgroups, 1), ==, g_ptr_array_index (spec.cgroups, 1));
  orr_wire_fork_clear (&back);
  orr_wire_fork_clear (&spec);

  plain_payload = orr_wire_encode_fork (&plain);
  g_assert_true (orr_wire_decode_fork (plain_payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (back.flags, ==, 0);
  g_assert_cmpuint (back.cpus->len, ==, 0);
  g_assert_cmpstr (back.job_dir, ==, "");
  g_assert_cmpuint (back.hidden->len, ==, 0);
  g_assert_cmpuint (back.cgroups->len, ==, 0);
  orr_wire_fork_clear (&back);
}

static void
test_fork_refused (void)
{
  static const struct { guint32 flags, uid; guint32 cpu; const char *dir, *hidden, *cgroup, *what; } bad[] = {
    { 1u << 9, 0, 0, "", "/x", "/c", "unknown sandbox flags" },
    { ORR_WIRE_FORK_IDENTITY, 0, 0, "", "/x", "/c", "cannot be root" },
    { 0, 0, ORR_WIRE_MAX_CPUS, "", "/x", "/c", "CPU number out of range" },
    { 0, 0, 0, "relative/dir", "/x", "/c", "job directory" },
    { 0, 0, 0, "/run/../etc", "/x", "/c", "job directory" },
    { 0, 0, 0, "/run/orrery/.", "/x", "/c", "job directory" },
    { 0, 0, 0, "", "etc/shadow", "/c", "hidden path" },
    { 0, 0, 0, "", "/etc/../root", "/c", "hidden path" },
    { 0, 0, 0, "", "/x", "sys/fs/cgroup/memory", "cgroup" },
    { 0, 0, 0, "", "/x", "/sys/fs/cgroup/memory/../../../proc", "cgroup" },
  };

  g_test_summary ("A FORK request with unknown flags, a root worker identity, a CPU beyond the bound, or "
                  "a job directory, hidden path or cgroup that is not a plain absolute path is refused");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GPtrArray) hidden = g_ptr_array_new ();
      g_autoptr(GPtrArray) cgroups = g_ptr_array_new ();
      g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint32));
      OrrWireFork spec = { .flags = bad[i].flags, .uid = bad[i].uid, .gid = 1, .cpus = cpus,
                           .job_dir = (char *) bad[i].dir, .hidden = hidden, .cgroups = cgroups };
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GError) error = NULL;

      g_array_append_val (cpus, bad[i].cpu);
      g_ptr_array_add (hidden, (char *) bad[i].hidden);
      g_ptr_array_add (cgroups, (char *) bad[i].cgroup);
      payload = orr_wire_encode_fork (&spec);
      g_assert_false (decode_fork_any (payload, &error));
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, bad[i].what);
    }
  {
    /* Counts beyond the bounds, with nothing behind them. */
    GByteArray *a = g_byte_array_new ();
    g_autoptr(GBytes) payload = NULL;
    g_autoptr(GError) error = NULL;

    put32 (a, 0);
    put32 (a, 0);
    put32 (a, 0);
    put64 (a, 0);
    put32 (a, 0);
    put64 (a, 0);
    put32 (a, ORR_WIRE_MAX_CPUS + 1);
    payload = g_byte_array_free_to_bytes (a);
    g_assert_false (decode_fork_any (payload, &error));
    assert_str_contains (error->message, "too many CPUs");
  }
}

static void
test_job_defaults (void)
{
  OrrWireJob job = { 0 }, back;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A job with no strings and no parameter list decodes to empty strings "
                  "and an empty parameter list; no flags, partitions, order or chunks");

  payload = orr_wire_encode_job (&job);
  g_assert_true (orr_wire_decode_job (payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.script, ==, "");
  g_assert_cmpstr (back.input_name, ==, "");
  g_assert_cmpstr (back.output_name, ==, "");
  g_assert_cmpuint (back.max_output_bytes, ==, 0);
  g_assert_nonnull (back.params);
  g_assert_cmpuint (back.params->len, ==, 0);
  g_assert_cmpuint (back.flags, ==, 0);
  g_assert_null (back.partition_by);
  g_assert_null (back.order_by);
  g_assert_cmpuint (back.rows_per_read, ==, 0);
  orr_wire_job_clear (&back);
}

static void
test_job_layout (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  OrrWireJob job;
  const OrrParam *p;

  g_test_summary ("A job written by hand in the documented layout decodes; unknown flag "
                  "bits of a parameter are dropped; partition and order columns, chunk size");

  put_str (a, "x = 1", 5);
  put_str (a, "in", 2);
  put_str (a, "out", 3);
  put64 (a, 1000);
  put64 (a, 2000);
  put32 (a, 1);
  put_str (a, "@p", 2);
  put8 (a, 0xff);
  put8 (a, ORR_DATA_TYPE_INT32);
  put8 (a, 0);
  put64 (a, (guint64) -7);
  put32 (a, ORR_WIRE_JOB_SQLSERVER_TYPES);
  put32 (a, 2);
  put_str (a, "a", 1);
  put_str (a, "b c", 3);
  put32 (a, 0);
  put64 (a, 500);
  payload = g_byte_array_free_to_bytes (a);

  g_assert_true (orr_wire_decode_job (payload, &job, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (job.script, ==, "x = 1");
  g_assert_cmpstr (job.input_name, ==, "in");
  g_assert_cmpstr (job.output_name, ==, "out");
  g_assert_cmpuint (job.max_output_bytes, ==, 1000);
  g_assert_cmpuint (job.max_message_bytes, ==, 2000);
  g_assert_cmpuint (job.params->len, ==, 1);
  p = g_ptr_array_index (job.params, 0);
  g_assert_cmpstr (p->name, ==, "@p");
  g_assert_cmpuint (p->flags, ==, ORR_PARAM_OUTPUT);
  g_assert_cmpint (p->value.type, ==, ORR_DATA_TYPE_INT32);
  g_assert_false (p->value.is_null);
  g_assert_cmpint (p->value.v.i, ==, -7);
  g_assert_cmpuint (job.flags, ==, ORR_WIRE_JOB_SQLSERVER_TYPES);
  g_assert_cmpuint (g_strv_length (job.partition_by), ==, 2);
  g_assert_cmpstr (job.partition_by[1], ==, "b c");
  g_assert_null (job.order_by);
  g_assert_cmpuint (job.rows_per_read, ==, 500);
  orr_wire_job_clear (&job);
}

/* A job's fixed head: script "x", no names, no limits, no parameters. */
static GByteArray *
job_head (void)
{
  GByteArray *a = g_byte_array_new ();

  put_str (a, "x", 1);
  put_str (a, "", 0);
  put_str (a, "", 0);
  put64 (a, 0);
  put64 (a, 0);
  put32 (a, 0);
  return a;
}

static void
test_job_malformed_tail (void)
{
  g_autoptr(GError) error = NULL;
  OrrWireJob job;
  GByteArray *a;
  g_autoptr(GBytes) payload = NULL;

  g_test_summary ("A job with unknown flags, too many partition columns or a column name that is "
                  "not UTF-8 is refused, and leaves nothing to free");

  a = job_head ();
  put32 (a, 0x80);
  put32 (a, 0);
  put32 (a, 0);
  put64 (a, 0);
  payload = g_byte_array_free_to_bytes (a);
  g_assert_false (orr_wire_decode_job (payload, &job, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  assert_str_contains (error->message, "unknown flags");
  g_assert_null (job.script);
  g_clear_error (&error);
  g_clear_pointer (&payload, g_bytes_unref);

  a = job_head ();
  put32 (a, 0);
  put32 (a, ORR_WIRE_MAX_COLUMNS + 1);
  payload = g_byte_array_free_to_bytes (a);
  g_assert_false (orr_wire_decode_job (payload, &job, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  assert_str_contains (error->message, "too many column names");
  g_assert_null (job.partition_by);
  g_clear_error (&error);
  g_clear_pointer (&payload, g_bytes_unref);

  a = job_head ();
  put32 (a, 0);
  put32 (a, 1);
  put_str (a, "ok", 2);
  put32 (a, 2);
  put_str (a, "fine", 4);
  put_str (a, "\xff", 1);
  put64 (a, 0);
  payload = g_byte_array_free_to_bytes (a);
  g_assert_false (orr_wire_decode_job (payload, &job, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  assert_str_contains (error->message, "order column");
  g_assert_null (job.partition_by);
  g_assert_null (job.order_by);
}

static void
test_schema_round_trip (void)
{
  g_autoptr(OrrSchema) schema = make_schema ();
  g_autoptr(OrrSchema) back = NULL;
  g_autoptr(OrrSchema) empty = orr_schema_new ();
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A schema with every column type and a decimal's precision and scale "
                  "decodes to an equal schema; so does an empty one");

  payload = orr_wire_encode_schema (schema);
  back = orr_wire_decode_schema (payload, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_true (orr_schema_equal (schema, back));
  g_assert_cmpuint (orr_schema_get_n_fields (back), ==, 13);
  g_assert_cmpstr (orr_schema_get_field (back, 7)->name, ==, "text " UNICODE_TEXT);
  g_assert_cmpint (orr_schema_get_field (back, 6)->type, ==, ORR_DATA_TYPE_DECIMAL);
  g_assert_cmpint (orr_schema_get_field (back, 6)->precision, ==, 18);
  g_assert_cmpint (orr_schema_get_field (back, 6)->scale, ==, 2);
  g_clear_pointer (&back, orr_schema_unref);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_schema (empty);
  back = orr_wire_decode_schema (payload, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpuint (orr_schema_get_n_fields (back), ==, 0);
}

static void
test_schema_layout (void)
{
  static const guint8 expected[] = {
    1, 0, 0, 0,                  /* one column */
    1, 0, 0, 0, 'a',             /* name */
    ORR_DATA_TYPE_DECIMAL,
    18, 0, 0, 0,                 /* precision */
    2, 0, 0, 0,                  /* scale */
  };
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GBytes) payload = NULL;

  g_test_summary ("A schema is encoded in the documented little-endian layout");

  orr_schema_add_field (schema, "a", ORR_DATA_TYPE_DECIMAL, 18, 2);
  payload = orr_wire_encode_schema (schema);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                   expected, sizeof expected);
}

static void
test_batch_round_trip (void)
{
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  OrrWireBatch batch;

  g_test_summary ("Batch descriptors, including 64-bit extremes and zero columns, "
                  "decode to exactly what was encoded");

  payload = orr_wire_encode_batch (G_MAXUINT, G_MAXUINT64, G_N_ELEMENTS (sample_descs), sample_descs);
  g_assert_cmpuint (g_bytes_get_size (payload), ==, 16 + 48 * G_N_ELEMENTS (sample_descs));
  g_assert_true (orr_wire_decode_batch (payload, &batch, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (batch.n_rows, ==, G_MAXUINT);
  g_assert_cmpuint (batch.size, ==, G_MAXUINT64);
  g_assert_cmpuint (batch.n_columns, ==, G_N_ELEMENTS (sample_descs));
  g_assert_cmpmem (batch.descs, sizeof sample_descs, sample_descs, sizeof sample_descs);
  orr_wire_batch_clear (&batch);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_batch (0, 1, 0, NULL);
  g_assert_true (orr_wire_decode_batch (payload, &batch, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (batch.n_rows, ==, 0);
  g_assert_cmpuint (batch.size, ==, 1);
  g_assert_cmpuint (batch.n_columns, ==, 0);
  orr_wire_batch_clear (&batch);
}

static void
test_string_round_trip (void)
{
  static const guint8 expected[] = { 3, 0, 0, 0, 'h', 0xc3, 0xa9 };
  static const char * const in[] = { "3.11.2", NULL, UNICODE_TEXT };
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *s = NULL;
  g_auto(GStrv) strv = NULL;

  g_test_summary ("Strings round-trip; a string is a u32 length and UTF-8 bytes; "
                  "a NULL string is sent as empty; a string list must match its count");

  payload = orr_wire_encode_string ("hé", -1);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), expected, sizeof expected);
  s = orr_wire_decode_string (payload, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "hé");
  g_clear_pointer (&s, g_free);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_string ("abcdef", 3);
  s = orr_wire_decode_string (payload, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "abc");
  g_clear_pointer (&s, g_free);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_string (NULL, -1);
  s = orr_wire_decode_string (payload, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "");
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_strings (in, 3);
  strv = orr_wire_decode_strings (payload, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strv);
  g_assert_cmpuint (g_strv_length (strv), ==, 3);
  g_assert_cmpstr (strv[0], ==, "3.11.2");
  g_assert_cmpstr (strv[1], ==, "");
  g_assert_cmpstr (strv[2], ==, UNICODE_TEXT);
  g_clear_pointer (&strv, g_strfreev);

  strv = orr_wire_decode_strings (payload, 2, &error);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  g_assert_null (strv);
  g_clear_error (&error);
  strv = orr_wire_decode_strings (payload, 4, &error);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  g_assert_null (strv);
}

static void
test_params_round_trip (void)
{
  g_autoptr(GPtrArray) params = make_params ();
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Output parameters of every type, NULL included, round-trip; so does "
                  "an empty list");

  payload = orr_wire_encode_params (params);
  back = orr_wire_decode_params (payload, &error);
  g_assert_no_error (error);
  assert_params_equal (params, back);

  empty = orr_wire_encode_params (NULL);
  none = orr_wire_decode_params (empty, &error);
  g_assert_no_error (error);
  g_assert_nonnull (none);
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_error_round_trip (void)
{
  OrrWireError err = {
    .kind = g_strdup ("ZeroDivisionError"),
    .message = g_strdup ("division by zero — " UNICODE_TEXT),
    .traceback = g_strdup ("Traceback (most recent call last):\n  File \"script\", line 3\n"),
    .line = 3,
  };
  OrrWireError back, empty = { 0 };
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A script error's kind, message, traceback and line round-trip");

  payload = orr_wire_encode_error (&err);
  g_assert_true (orr_wire_decode_error (payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.kind, ==, err.kind);
  g_assert_cmpstr (back.message, ==, err.message);
  g_assert_cmpstr (back.traceback, ==, err.traceback);
  g_assert_cmpint (back.line, ==, 3);
  orr_wire_error_clear (&back);
  g_clear_pointer (&payload, g_bytes_unref);

  empty.line = -1;
  payload = orr_wire_encode_error (&empty);
  g_assert_true (orr_wire_decode_error (payload, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.kind, ==, "");
  g_assert_cmpint (back.line, ==, -1);
  orr_wire_error_clear (&back);
  orr_wire_error_clear (&err);
}

static void
test_numbers_round_trip (void)
{
  static const gint32 in[] = { G_MININT32, -2, G_MAXINT32 };
  static const guint8 minus_two[] = { 0xfe, 0xff, 0xff, 0xff };
  static const guint8 u64_layout[] = { 8, 7, 6, 5, 4, 3, 2, 1 };
  gint32 out[3] = { 0 };
  guint64 v = 0;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("i32 lists and u64 counts round-trip in little-endian order");

  payload = orr_wire_encode_i32s (in, 3);
  g_assert_true (orr_wire_decode_i32s (payload, out, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, sizeof out, in, sizeof in);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_i32s (in + 1, 1);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), minus_two, sizeof minus_two);
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_u64 (G_GUINT64_CONSTANT (0x0102030405060708));
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), u64_layout, sizeof u64_layout);
  g_assert_true (orr_wire_decode_u64 (payload, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (v, ==, G_GUINT64_CONSTANT (0x0102030405060708));
  g_clear_pointer (&payload, g_bytes_unref);

  payload = orr_wire_encode_u64 (0);
  g_assert_true (orr_wire_decode_u64 (payload, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (v, ==, 0);
}

/* ------------------------------------------------ malformed payloads */

static void
test_truncated (void)
{
  GArray *cases = make_cases ();

  g_test_summary ("Every proper prefix of every kind of valid payload, down to empty, "
                  "is refused with a protocol error");

  for (guint i = 0; i < cases->len; i++)
    {
      const Case *c = &g_array_index (cases, Case, i);
      gsize len = g_bytes_get_size (c->payload);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", c->name, len);
      g_assert_true (c->decode (c->payload, &error));
      g_assert_no_error (error);
      for (gsize n = 0; n < len; n++)
        {
          g_autoptr(GBytes) prefix = g_bytes_new_from_bytes (c->payload, 0, n);

          g_assert_false (c->decode (prefix, &error));
          g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
          g_assert_cmpstr (error->message, !=, "");
          g_clear_error (&error);
        }
    }
  free_cases (cases);
}

static void
test_trailing (void)
{
  GArray *cases = make_cases ();

  g_test_summary ("A valid payload followed by extra bytes is refused with a protocol error");

  for (guint i = 0; i < cases->len; i++)
    {
      const Case *c = &g_array_index (cases, Case, i);
      static const guint8 extra[] = { 0, 0, 0, 0, 0, 0, 0, 0 };

      for (gsize n = 1; n <= sizeof extra; n++)
        {
          g_autoptr(GBytes) longer = bytes_append (c->payload, extra, n);
          g_autoptr(GError) error = NULL;

          g_assert_false (c->decode (longer, &error));
          g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
          /* The batch decoder checks the descriptor count first. */
          if (c->decode != decode_batch_any)
            assert_str_contains (error->message, "trailing");
        }
    }
  free_cases (cases);
}

static void
test_null_payload (void)
{
  g_autoptr(GError) error = NULL;
  OrrWireJob job;
  guint64 v;

  g_test_summary ("A missing payload is an empty one: refused where fields are expected");

  g_assert_false (orr_wire_decode_job (NULL, &job, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (orr_wire_decode_u64 (NULL, &v, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
}

static void
test_invalid_utf8 (void)
{
  static const struct { const char *bytes; gsize len; } bad[] = {
    { "\xff", 1 },
    { "ab\xc3", 3 },             /* sequence cut short */
    { "\xc0\x80", 2 },           /* overlong NUL */
    { "\xed\xa0\x80", 3 },       /* UTF-16 surrogate */
    { "\xf4\x90\x80\x80", 4 },   /* beyond U+10FFFF */
    { "a\0b", 3 },               /* NUL inside */
  };

  g_test_summary ("Invalid UTF-8 (or a NUL) in a string, a script, a parameter name, a "
                  "text value or a column name is refused; the same bytes as BINARY are not");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      GByteArray *a;
      g_autoptr(GBytes) payload = NULL;
      g_autofree char *s = NULL;
      g_autoptr(GPtrArray) params = NULL;
      g_autoptr(OrrSchema) schema = NULL;
      OrrWireJob job;

      /* a plain string */
      a = g_byte_array_new ();
      put_str (a, bad[i].bytes, bad[i].len);
      payload = g_byte_array_free_to_bytes (a);
      s = orr_wire_decode_string (payload, &error);
      g_assert_null (s);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "UTF-8");
      g_clear_error (&error);
      g_clear_pointer (&payload, g_bytes_unref);

      /* a job's script */
      a = g_byte_array_new ();
      put_str (a, bad[i].bytes, bad[i].len);
      put_str (a, "", 0);
      put_str (a, "", 0);
      put64 (a, 0);
      put64 (a, 0);
      put32 (a, 0);
      put32 (a, 0);
      put32 (a, 0);
      put32 (a, 0);
      put64 (a, 0);
      payload = g_byte_array_free_to_bytes (a);
      g_assert_false (orr_wire_decode_job (payload, &job, &error));
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "script");
      g_clear_error (&error);
      g_clear_pointer (&payload, g_bytes_unref);

      /* a parameter's name */
      a = g_byte_array_new ();
      put32 (a, 1);
      put_str (a, bad[i].bytes, bad[i].len);
      put8 (a, 0);
      put8 (a, ORR_DATA_TYPE_INT32);
      put8 (a, 1);
      payload = g_byte_array_free_to_bytes (a);
      params = orr_wire_decode_params (payload, &error);
      g_assert_null (params);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      g_clear_error (&error);
      g_clear_pointer (&payload, g_bytes_unref);

      /* a text value, then the same bytes as binary */
      for (OrrDataType type = ORR_DATA_TYPE_TEXT; type <= ORR_DATA_TYPE_BINARY; type++)
        {
          a = g_byte_array_new ();
          put32 (a, 1);
          put_str (a, "@p", 2);
          put8 (a, 0);
          put8 (a, type);
          put8 (a, 0);
          put_str (a, bad[i].bytes, bad[i].len);
          payload = g_byte_array_free_to_bytes (a);
          params = orr_wire_decode_params (payload, &error);
          if (type == ORR_DATA_TYPE_TEXT)
            {
              g_assert_null (params);
              g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
              assert_str_contains (error->message, "text value");
              g_clear_error (&error);
            }
          else
            {
              const OrrParam *p;

              g_assert_no_error (error);
              g_assert_nonnull (params);
              p = g_ptr_array_index (params, 0);
              g_assert_cmpmem (g_bytes_get_data (p->value.bytes, NULL), g_bytes_get_size (p->value.bytes),
                               bad[i].bytes, bad[i].len);
              g_clear_pointer (&params, g_ptr_array_unref);
            }
          g_clear_pointer (&payload, g_bytes_unref);
        }

      /* a column name */
      a = g_byte_array_new ();
      put32 (a, 1);
      put_str (a, bad[i].bytes, bad[i].len);
      put8 (a, ORR_DATA_TYPE_INT32);
      put32 (a, 0);
      put32 (a, 0);
      payload = g_byte_array_free_to_bytes (a);
      schema = orr_wire_decode_schema (payload, &error);
      g_assert_null (schema);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "column name");
    }
}

static void
test_malformed_fields (void)
{
  g_test_summary ("Unknown types, impossible decimals, empty parameter names and counts "
                  "beyond the limits are refused with a protocol error");

  /* schema: unknown column types, impossible precision/scale, too many columns */
  {
    static const struct { guint8 type; gint32 precision, scale; const char *what; } bad[] = {
      { ORR_DATA_TYPE_INVALID, 0, 0, "unknown column type" },
      { ORR_DATA_TYPE_LAST + 1, 0, 0, "unknown column type" },
      { 0xff, 0, 0, "unknown column type" },
      { ORR_DATA_TYPE_DECIMAL, 39, 0, "precision" },
      { ORR_DATA_TYPE_DECIMAL, -1, 0, "precision" },
      { ORR_DATA_TYPE_DECIMAL, 10, 11, "precision" },
      { ORR_DATA_TYPE_DECIMAL, 10, -1, "precision" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        GByteArray *a = g_byte_array_new ();
        g_autoptr(GBytes) payload = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(OrrSchema) schema = NULL;

        put32 (a, 1);
        put_str (a, "c", 1);
        put8 (a, bad[i].type);
        put32 (a, (guint32) bad[i].precision);
        put32 (a, (guint32) bad[i].scale);
        payload = g_byte_array_free_to_bytes (a);
        schema = orr_wire_decode_schema (payload, &error);
        g_assert_null (schema);
        g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
        assert_str_contains (error->message, bad[i].what);
      }
  }
  {
    static const guint8 many[] = { 0x01, 0x10, 0, 0 }; /* 4097 columns, none sent */
    g_autoptr(GBytes) payload = bytes_of (many, sizeof many);
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrSchema) schema = orr_wire_decode_schema (payload, &error);

    g_assert_null (schema);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "too many columns");
  }

  /* parameters: too many, empty name, unknown value types */
  {
    static const guint8 many[] = { 0x01, 0x04, 0, 0 }; /* 1025 */
    g_autoptr(GBytes) payload = bytes_of (many, sizeof many);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) params = orr_wire_decode_params (payload, &error);

    g_assert_null (params);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "too many parameters");
  }
  {
    GByteArray *a = g_byte_array_new ();
    g_autoptr(GBytes) payload = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) params = NULL;

    put32 (a, 1);
    put_str (a, "", 0);
    put8 (a, 0);
    put8 (a, ORR_DATA_TYPE_TEXT);
    put8 (a, 0);
    put_str (a, "leaked?", 7);
    payload = g_byte_array_free_to_bytes (a);
    params = orr_wire_decode_params (payload, &error);
    g_assert_null (params);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "empty parameter name");
  }
  for (guint type = 0; type < 256; type += (type == 0 ? ORR_DATA_TYPE_LAST + 1 : 64))
    {
      GByteArray *a = g_byte_array_new ();
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) params = NULL;

      put32 (a, 1);
      put_str (a, "@p", 2);
      put8 (a, 0);
      put8 (a, type);
      put8 (a, 1);
      payload = g_byte_array_free_to_bytes (a);
      params = orr_wire_decode_params (payload, &error);
      g_assert_null (params);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "unknown value type");
    }

  /* batch: too many columns, descriptor count not matching the column count */
  {
    GByteArray *a = g_byte_array_new ();
    g_autoptr(GBytes) payload = NULL;
    g_autoptr(GError) error = NULL;
    OrrWireBatch batch;

    put32 (a, 1);
    put64 (a, 4096);
    put32 (a, ORR_WIRE_MAX_COLUMNS + 1);
    payload = g_byte_array_free_to_bytes (a);
    g_assert_false (orr_wire_decode_batch (payload, &batch, &error));
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "too many columns");
  }
  {
    g_autoptr(GBytes) payload = orr_wire_encode_batch (1, 4096, 1, sample_descs);
    g_autoptr(GBytes) two = NULL;
    g_autoptr(GError) error = NULL;
    OrrWireBatch batch;
    guint8 *p;
    gsize len;

    /* Claim two columns while describing one. */
    p = g_bytes_unref_to_data (g_steal_pointer (&payload), &len);
    p[12] = 2;
    two = g_bytes_new_take (p, len);
    g_assert_false (orr_wire_decode_batch (two, &batch, &error));
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "descriptors");
  }
}

/* ---------------------------------------------------------------- frames */

static guint8 *
make_header (guint32 magic, guint16 version, guint16 type, guint32 len, guint32 n_fds)
{
  GByteArray *a = g_byte_array_new ();

  put_header (a, magic, version, type, len, n_fds);
  return g_byte_array_free (a, FALSE);
}

static void
test_header (void)
{
  static const struct { guint32 magic; guint16 version, type; guint32 len, fds; const char *what; } bad[] = {
    { 0x5752524e, ORR_WIRE_VERSION, ORR_WIRE_JOB, 0, 0, "magic" },
    { 0x4f525257, ORR_WIRE_VERSION, ORR_WIRE_JOB, 0, 0, "magic" },  /* big-endian */
    { 0, 0, 0, 0, 0, "magic" },
    { ORR_WIRE_MAGIC, 0, ORR_WIRE_JOB, 0, 0, "version 0" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION + 1, ORR_WIRE_JOB, 0, 0, "version 2" },
    { ORR_WIRE_MAGIC, 0x100, ORR_WIRE_JOB, 0, 0, "version 256" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, 0, 0, 0, "unknown message type 0" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, 14, 0, 0, "unknown message type 14" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, 28, 0, 0, "unknown message type 28" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, 0xffff, 0, 0, "unknown message type 65535" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_BATCH, ORR_WIRE_MAX_PAYLOAD + 1, 0, "exceeds the limit" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_BATCH, G_MAXUINT32, 0, "exceeds the limit" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_BATCH, 0, 2, "2 descriptors" },
    { ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_BATCH, 0, G_MAXUINT32, "descriptors" },
  };
  static const guint16 good_types[] = { 10, 11, 12, 13, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32 };

  g_test_summary ("Frame headers with a bad magic number or version, an unknown type, an "
                  "oversized length or several descriptors are refused; good ones parse");

  for (guint i = 0; i < G_N_ELEMENTS (good_types); i++)
    {
      g_autofree guint8 *h = make_header (ORR_WIRE_MAGIC, ORR_WIRE_VERSION, good_types[i],
                                          i == 0 ? ORR_WIRE_MAX_PAYLOAD : i, i % 2);
      g_autoptr(GError) error = NULL;
      OrrWireType type = 0;
      guint32 len = 0, fds = 9;

      g_assert_true (orr_wire_parse_header (h, &type, &len, &fds, &error));
      g_assert_no_error (error);
      g_assert_cmpint (type, ==, good_types[i]);
      g_assert_cmpuint (len, ==, i == 0 ? ORR_WIRE_MAX_PAYLOAD : i);
      g_assert_cmpuint (fds, ==, i % 2);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree guint8 *h = make_header (bad[i].magic, bad[i].version, bad[i].type, bad[i].len, bad[i].fds);
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrWireMessage) msg = NULL;
      OrrWireType type;
      guint32 len, fds;
      gsize consumed = 0;

      g_assert_false (orr_wire_parse_header (h, &type, &len, &fds, &error));
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, bad[i].what);
      g_clear_error (&error);

      msg = orr_wire_parse_frame (h, ORR_WIRE_HEADER_SIZE, &consumed, &error);
      g_assert_null (msg);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    }
}

static void
test_parse_frame (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr(GBytes) stream = NULL;
  const guint8 *data;
  gsize len, pos = 0, consumed = 0;

  g_test_summary ("Frames are cut from a byte stream one at a time; a cut header or "
                  "payload is refused");

  put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_STDOUT, 7, 0);
  put_str (a, "hé", 3);
  put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_END_INPUT, 0, 0);
  put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_DONE, 8, 0);
  put64 (a, 12345);
  stream = g_byte_array_free_to_bytes (a);
  data = g_bytes_get_data (stream, &len);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = orr_wire_parse_frame (data + pos, len - pos, &consumed, &error);
    g_autofree char *text = NULL;

    g_assert_no_error (error);
    g_assert_nonnull (msg);
    g_assert_cmpint (msg->type, ==, ORR_WIRE_STDOUT);
    g_assert_cmpint (msg->fd, ==, -1);
    g_assert_cmpuint (consumed, ==, ORR_WIRE_HEADER_SIZE + 7);
    text = orr_wire_decode_string (msg->payload, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (text, ==, "hé");
    pos += consumed;
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = orr_wire_parse_frame (data + pos, len - pos, &consumed, &error);

    g_assert_no_error (error);
    g_assert_nonnull (msg);
    g_assert_cmpint (msg->type, ==, ORR_WIRE_END_INPUT);
    g_assert_cmpuint (g_bytes_get_size (msg->payload), ==, 0);
    g_assert_cmpuint (consumed, ==, ORR_WIRE_HEADER_SIZE);
    pos += consumed;
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = orr_wire_parse_frame (data + pos, len - pos, &consumed, &error);
    guint64 rows = 0;

    g_assert_no_error (error);
    g_assert_nonnull (msg);
    g_assert_cmpint (msg->type, ==, ORR_WIRE_DONE);
    g_assert_true (orr_wire_decode_u64 (msg->payload, &rows, &error));
    g_assert_cmpuint (rows, ==, 12345);
    pos += consumed;
  }
  g_assert_cmpuint (pos, ==, len);

  /* Every cut of the first frame is refused. */
  for (gsize n = 0; n < ORR_WIRE_HEADER_SIZE + 7; n++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrWireMessage) msg = orr_wire_parse_frame (data, n, &consumed, &error);

      g_assert_null (msg);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "Truncated frame");
    }
}

/* ---------------------------------------------------------------- socket */

static void
make_socketpair (int sv[2])
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void
write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      len -= n;
    }
}

static int
make_memfd (const void *data, gsize len, guint seals)
{
  int fd = memfd_create ("test-wire", MFD_CLOEXEC | MFD_ALLOW_SEALING);

  g_assert_cmpint (fd, >=, 0);
  if (len)
    write_all (fd, data, len);
  if (seals)
    g_assert_cmpint (fcntl (fd, F_ADD_SEALS, seals), ==, 0);
  return fd;
}

static guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
assert_fd_closed (int fd)
{
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, -1);
  g_assert_cmpint (errno, ==, EBADF);
}

static void
test_socket_send_recv (void)
{
  int sv[2], memfd;
  OrrWireJob job;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrWireMessage) msg = NULL;
  struct stat a, b;
  char buf[6] = { 0 };

  g_test_summary ("A frame and a descriptor passed with SCM_RIGHTS arrive intact over a "
                  "socketpair; so does an empty frame");

  make_socketpair (sv);
  make_job (&job);
  payload = orr_wire_encode_job (&job);
  memfd = make_memfd ("hello", 5, 0);

  g_assert_true (orr_wire_send (sv[0], ORR_WIRE_JOB, payload, memfd, &error));
  g_assert_no_error (error);
  g_assert_true (orr_wire_send (sv[0], ORR_WIRE_END_INPUT, NULL, -1, &error));
  g_assert_no_error (error);

  msg = orr_wire_recv (sv[1], &error);
  g_assert_no_error (error);
  g_assert_nonnull (msg);
  g_assert_cmpint (msg->type, ==, ORR_WIRE_JOB);
  g_assert_true (g_bytes_equal (msg->payload, payload));
  g_assert_cmpint (msg->fd, >=, 0);
  g_assert_cmpint (msg->fd, !=, memfd);
  /* The same open file, not a copy. */
  g_assert_cmpint (fstat (memfd, &a), ==, 0);
  g_assert_cmpint (fstat (msg->fd, &b), ==, 0);
  g_assert_cmpuint (a.st_ino, ==, b.st_ino);
  g_assert_cmpuint (a.st_dev, ==, b.st_dev);
  g_assert_cmpint (pread (msg->fd, buf, 5, 0), ==, 5);
  g_assert_cmpstr (buf, ==, "hello");
  g_assert_cmpint (fcntl (msg->fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
  {
    OrrWireJob back;

    g_assert_true (orr_wire_decode_job (msg->payload, &back, &error));
    g_assert_no_error (error);
    assert_params_equal (job.params, back.params);
    orr_wire_job_clear (&back);
  }
  g_clear_pointer (&msg, orr_wire_message_free);

  msg = orr_wire_recv (sv[1], &error);
  g_assert_no_error (error);
  g_assert_nonnull (msg);
  g_assert_cmpint (msg->type, ==, ORR_WIRE_END_INPUT);
  g_assert_cmpint (msg->fd, ==, -1);
  g_assert_cmpuint (g_bytes_get_size (msg->payload), ==, 0);

  orr_wire_job_clear (&job);
  close (memfd);
  close (sv[0]);
  close (sv[1]);
}

typedef struct {
  int sock;
  GBytes *payload;
  GError *error;
} Sender;

static gpointer
sender_thread (gpointer data)
{
  Sender *s = data;

  return GINT_TO_POINTER (orr_wire_send (s->sock, ORR_WIRE_STDOUT, s->payload, -1, &s->error));
}

static void
test_socket_large (void)
{
  const gsize size = 4 * 1024 * 1024 + 3;
  g_autofree char *text = g_malloc (size + 1);
  g_autofree char *back = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrWireMessage) msg = NULL;
  Sender sender = { 0 };
  GThread *thread;
  int sv[2];

  g_test_summary ("A frame much larger than the socket buffer is sent in pieces and "
                  "received whole");

  for (gsize i = 0; i < size; i++)
    text[i] = 'a' + i % 26;
  text[size] = '\0';
  payload = orr_wire_encode_string (text, size);
  make_socketpair (sv);

  sender.sock = sv[0];
  sender.payload = payload;
  thread = g_thread_new ("sender", sender_thread, &sender);
  msg = orr_wire_recv (sv[1], &error);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
  g_assert_no_error (sender.error);
  g_assert_no_error (error);
  g_assert_nonnull (msg);
  g_assert_cmpint (msg->type, ==, ORR_WIRE_STDOUT);
  back = orr_wire_decode_string (msg->payload, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (back), ==, size);
  g_assert_true (memcmp (back, text, size) == 0);
  close (sv[0]);
  close (sv[1]);
}

static void
test_socket_eof (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrWireMessage) msg = NULL;
  int sv[2];

  g_test_summary ("A channel closed between frames is reported as a satellite error");

  make_socketpair (sv);
  close (sv[0]);
  msg = orr_wire_recv (sv[1], &error);
  g_assert_null (msg);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_SATELLITE);
  assert_str_contains (error->message, "closed");
  close (sv[1]);
}

static void
test_socket_cut (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr(GBytes) frame = NULL;
  const guint8 *data;
  gsize len;
  /* inside the header, right after it, in the middle of the payload, one byte short */
  const gsize cuts[] = { 1, 10, ORR_WIRE_HEADER_SIZE, ORR_WIRE_HEADER_SIZE + 50, ORR_WIRE_HEADER_SIZE + 99 };

  g_test_summary ("A frame cut anywhere by the channel closing is a protocol error");

  put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_STDERR, 100, 0);
  put32 (a, 96);
  for (guint i = 0; i < 96; i++)
    put8 (a, 'x');
  frame = g_byte_array_free_to_bytes (a);
  data = g_bytes_get_data (frame, &len);

  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrWireMessage) msg = NULL;
      int sv[2];

      make_socketpair (sv);
      write_all (sv[0], data, cuts[i]);
      close (sv[0]);
      msg = orr_wire_recv (sv[1], &error);
      g_assert_null (msg);
      g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
      assert_str_contains (error->message, "Truncated frame");
      close (sv[1]);
    }

  /* and the whole frame is fine */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = NULL;
    int sv[2];

    make_socketpair (sv);
    write_all (sv[0], data, len);
    close (sv[0]);
    msg = orr_wire_recv (sv[1], &error);
    g_assert_no_error (error);
    g_assert_nonnull (msg);
    g_assert_cmpint (msg->type, ==, ORR_WIRE_STDERR);
    close (sv[1]);
  }
}

static void
send_raw (int sock, const void *data, gsize len, int fd)
{
  struct iovec iov = { (void *) data, len };
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  g_assert_cmpint (sendmsg (sock, &msg, MSG_NOSIGNAL), ==, (ssize_t) len);
}

static void
test_socket_bad_frames (void)
{
  g_test_summary ("Over a socket: a descriptor announced but missing, one sent but not "
                  "announced (and then closed, not leaked), a bad header and an oversized "
                  "length are protocol errors");

  /* announced, not sent */
  {
    GByteArray *a = g_byte_array_new ();
    g_autoptr(GBytes) frame = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = NULL;
    int sv[2];

    put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_BATCH, 0, 1);
    frame = g_byte_array_free_to_bytes (a);
    make_socketpair (sv);
    send_raw (sv[0], g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), -1);
    msg = orr_wire_recv (sv[1], &error);
    g_assert_null (msg);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "descriptor");
    close (sv[0]);
    close (sv[1]);
  }
  /* sent, not announced */
  {
    GByteArray *a = g_byte_array_new ();
    g_autoptr(GBytes) frame = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(OrrWireMessage) msg = NULL;
    guint before;
    int sv[2], memfd;

    put_header (a, ORR_WIRE_MAGIC, ORR_WIRE_VERSION, ORR_WIRE_DONE, 8, 0);
    put64 (a, 1);
    frame = g_byte_array_free_to_bytes (a);
    make_socketpair (sv);
    before = count_open_fds ();
    memfd = make_memfd ("x", 1, 0);
    send_raw (sv[0], g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), memfd);
    close (memfd);
    msg = orr_wire_recv (sv[1], &error);
    g_assert_null (msg);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
    assert_str_contains (error->message, "descriptor");
    g_assert_cmpuint (count_open_fds (), ==, before);
    close (sv[0]);
    close (sv[1]);
  }
  /* bad magic, oversized length: refused from the header alone */
  {
    static const struct { guint32 magic; guint32 len; } bad[] = {
      { 0x12345678, 4 },
      { ORR_WIRE_MAGIC, ORR_WIRE_MAX_PAYLOAD + 1 },
      { ORR_WIRE_MAGIC, G_MAXUINT32 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        GByteArray *a = g_byte_array_new ();
        g_autoptr(GBytes) frame = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(OrrWireMessage) msg = NULL;
        int sv[2];

        put_header (a, bad[i].magic, ORR_WIRE_VERSION, ORR_WIRE_STDOUT, bad[i].len, 0);
        put32 (a, 0);
        frame = g_byte_array_free_to_bytes (a);
        make_socketpair (sv);
        send_raw (sv[0], g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), -1);
        msg = orr_wire_recv (sv[1], &error);
        g_assert_null (msg);
        g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
        close (sv[0]);
        close (sv[1]);
      }
  }
}

static void
test_socket_send_errors (void)
{
  const gsize too_big = ORR_WIRE_MAX_PAYLOAD + 1;
  g_autoptr(GBytes) huge = NULL;
  g_autoptr(GBytes) small = NULL;
  g_autoptr(GError) error = NULL;
  void *mem;
  int sv[2];

  g_test_summary ("Sending more than the wire limit is a limit error; sending to a closed "
                  "peer is a satellite error, not SIGPIPE");

  /* Reserved, never touched: the limit is checked before anything is read. */
  mem = mmap (NULL, too_big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_assert_true (mem != MAP_FAILED);
  huge = g_bytes_new_static (mem, too_big);
  make_socketpair (sv);
  g_assert_false (orr_wire_send (sv[0], ORR_WIRE_STDOUT, huge, -1, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_LIMIT);
  g_clear_error (&error);
  g_clear_pointer (&huge, g_bytes_unref);
  munmap (mem, too_big);

  close (sv[1]);
  small = orr_wire_encode_u64 (1);
  g_assert_false (orr_wire_send (sv[0], ORR_WIRE_DONE, small, -1, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_SATELLITE);
  close (sv[0]);
}

/* ----------------------------------------------------------------- batches */

#define N_ROWS 5
#define N_COLS 13

/* What orr_batch_format_value() must say for each cell of the sample batch,
 * NULL for SQL NULL. */
static const char *const expected_cells[N_COLS][N_ROWS] = {
  { "true", "false", NULL, "false", "true" },
  { "-32768", "32767", "0", "-1", NULL },
  { NULL, "2147483647", "0", "42", "-2147483648" },
  { "-9223372036854775808", "9223372036854775807", "0", NULL, "-1" },
  { "0.1", NULL, "0", "-2.5", "1e+10" },
  { "0.5", "-1024", "0", "123456789.25", NULL },
  { "123.45", "-0.05", "0.00", "-1.00", NULL },
  { "", UNICODE_TEXT, NULL, "plain", "tab\there" },
  { "\\x000000", "\\x", "\\xff007f", NULL, "\\x00" },
  { "0001-01-01", "9999-12-31", "1969-12-31", "1970-01-01", NULL },
  { NULL, "23:59:59.999999", "12:34:56", "00:00:00.000001", "00:00:00" },
  { "1969-12-31 23:59:59.999999", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", NULL,
    "2023-11-14 22:13:20.123456" },
  { "1", "2", "3", "4", "5" },
};

static void
fill_fixed (OrrBatch *batch, guint col, const void *values, gsize size)
{
  memcpy (orr_batch_get_values_mut (batch, col), values, size);
  for (guint row = 0; row < N_ROWS; row++)
    if (expected_cells[col][row] == NULL)
      orr_batch_set_null (batch, col, row, TRUE);
}

static void
fill_variable (OrrBatch *batch, guint col, const char *const *values, const gsize *lens)
{
  for (guint row = 0; row < N_ROWS; row++)
    {
      g_autoptr(GError) error = NULL;
      gint32 end;

      if (values[row] == NULL)
        orr_batch_set_null (batch, col, row, TRUE);
      else
        {
          g_assert_true (orr_batch_append_data (batch, col, values[row], lens[row], &error));
          g_assert_no_error (error);
        }
      /* Appending may move the memory: look the offsets up again each time. */
      end = orr_batch_get_data_len (batch, col);
      memcpy (orr_batch_get_values_mut (batch, col) + (row + 1) * sizeof end, &end, sizeof end);
    }
}

static OrrBatch *
make_batch (OrrSchema *schema, gboolean shared)
{
  static const guint8 flags[] = { 1, 0, 0, 0, 1 };
  static const gint16 smalls[] = { G_MININT16, G_MAXINT16, 0, -1, 0 };
  static const gint32 ints[] = { 0, G_MAXINT32, 0, 42, G_MININT32 };
  static const gint64 bigs[] = { G_MININT64, G_MAXINT64, 0, 0, -1 };
  static const float f32s[] = { 0.1f, 0, 0.0f, -2.5f, 1e10f };
  static const double f64s[] = { 0.5, -1024.0, 0.0, 123456789.25, 0 };
  static const gint64 money[] = { 12345, -5, 0, -100, 0 };
  static const char *const texts[] = { "", UNICODE_TEXT, NULL, "plain", "tab\there" };
  static const gsize text_lens[] = { 0, sizeof UNICODE_TEXT - 1, 0, 5, 8 };
  static const char *const blobs[] = { "\0\0\0", "", "\xff\0\x7f", NULL, "\0" };
  static const gsize blob_lens[] = { 3, 0, 3, 0, 1 };
  static const gint32 days[] = { -719162, 2932896, -1, 0, 0 };
  static const gint64 clocks[] = { 0, G_GINT64_CONSTANT (86399999999), G_GINT64_CONSTANT (45296000000), 1, 0 };
  static const gint64 stamps[] = { -1, G_GINT64_CONSTANT (-62135596800000000),
                                   G_GINT64_CONSTANT (253402300799999999), 0,
                                   G_GINT64_CONSTANT (1700000000123456) };
  static const gint32 plain[] = { 1, 2, 3, 4, 5 };
  g_autoptr(GError) error = NULL;
  OrrBatch *batch;

  /* More room than rows: the sealed descriptors must describe the rows only. */
  batch = orr_batch_new (schema, N_ROWS + 3, shared, &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch);

  fill_fixed (batch, 0, flags, sizeof flags);
  fill_fixed (batch, 1, smalls, sizeof smalls);
  fill_fixed (batch, 2, ints, sizeof ints);
  fill_fixed (batch, 3, bigs, sizeof bigs);
  fill_fixed (batch, 4, f32s, sizeof f32s);
  fill_fixed (batch, 5, f64s, sizeof f64s);
  fill_fixed (batch, 6, money, sizeof money);
  fill_variable (batch, 7, texts, text_lens);
  fill_variable (batch, 8, blobs, blob_lens);
  fill_fixed (batch, 9, days, sizeof days);
  fill_fixed (batch, 10, clocks, sizeof clocks);
  fill_fixed (batch, 11, stamps, sizeof stamps);
  fill_fixed (batch, 12, plain, sizeof plain);
  orr_batch_set_n_rows (batch, N_ROWS);
  return batch;
}

static void
assert_batch_matches (OrrBatch *batch)
{
  g_assert_cmpuint (orr_batch_get_n_rows (batch), ==, N_ROWS);
  g_assert_cmpuint (orr_batch_get_n_columns (batch), ==, N_COLS);
  for (guint col = 0; col < N_COLS; col++)
    {
      OrrColumn column;
      gint64 nulls = 0;

      orr_batch_get_column (batch, col, &column);
      for (guint row = 0; row < N_ROWS; row++)
        {
          g_autofree char *text = orr_batch_format_value (batch, col, row);

          g_test_message ("column %u row %u: %s", col, row, text ? text : "NULL");
          g_assert_cmpstr (text, ==, expected_cells[col][row]);
          g_assert_cmpint (orr_column_is_null (&column, row), ==, expected_cells[col][row] == NULL);
          nulls += expected_cells[col][row] == NULL;
        }
      g_assert_cmpint (column.null_count, ==, nulls);
      if (nulls == 0)
        g_assert_null (column.validity);
    }
}

typedef struct {
  OrrSchema *schema;
  OrrBatch *batch;
  int fd;                 /* borrowed from the batch */
  guint64 size;
  OrrBufferDesc *descs;
} Sealed;

static void
sealed_setup (Sealed *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->schema = make_schema ();
  f->batch = make_batch (f->schema, TRUE);
  g_assert_true (_orr_batch_seal (f->batch, &f->fd, &f->size, &f->descs, &error));
  g_assert_no_error (error);
  g_assert_cmpint (f->fd, >=, 0);
  g_assert_cmpuint (f->size, >, 0);
}

static void
sealed_teardown (Sealed *f, gconstpointer data)
{
  g_free (f->descs);
  orr_batch_unref (f->batch);
  orr_schema_unref (f->schema);
}

static void
test_batch_local (void)
{
  g_autoptr(OrrSchema) schema = make_schema ();
  g_autoptr(OrrBatch) heap = make_batch (schema, FALSE);
  g_autoptr(OrrBatch) shared = make_batch (schema, TRUE);

  g_test_summary ("A batch in heap memory and one in a memfd hold and format every type: "
                  "NULLs, empty and non-ASCII text, binary with zero bytes");

  assert_batch_matches (heap);
  assert_batch_matches (shared);
}

static void
test_batch_sealed_round_trip (Sealed *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrBatch) back = NULL;
  int seals;

  g_test_summary ("A sealed batch is readable, sealed against every change, and maps back "
                  "(seals required) to the same values cell by cell");

  assert_batch_matches (f->batch);
  seals = fcntl (f->fd, F_GET_SEALS);
  g_assert_cmpint (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), ==,
                   F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  g_assert_cmpint (write (f->fd, "x", 1), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  /* No NULL in the last column: no bitmap is described for it. */
  g_assert_cmpuint (f->descs[N_COLS - 1].validity_len, ==, 0);
  g_assert_cmpuint (f->descs[0].validity_len, ==, 1);
  g_assert_cmpuint (f->descs[2].values_len, ==, N_ROWS * 4);
  g_assert_cmpuint (f->descs[7].values_len, ==, (N_ROWS + 1) * 4);

  back = _orr_batch_new_from_fd (f->schema, dup (f->fd), f->size, N_ROWS, f->descs, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  assert_batch_matches (back);
  for (guint col = 0; col < N_COLS; col++)
    for (guint row = 0; row < N_ROWS; row++)
      {
        g_autofree char *a = orr_batch_format_value (f->batch, col, row);
        g_autofree char *b = orr_batch_format_value (back, col, row);

        g_assert_cmpstr (a, ==, b);
      }
}

static void
test_batch_over_the_wire (Sealed *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) schema_payload = orr_wire_encode_schema (f->schema);
  g_autoptr(GBytes) batch_payload = orr_wire_encode_batch (N_ROWS, f->size, N_COLS, f->descs);
  g_autoptr(OrrWireMessage) schema_msg = NULL;
  g_autoptr(OrrWireMessage) batch_msg = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  g_autoptr(OrrBatch) back = NULL;
  OrrWireBatch wb;
  int sv[2];

  g_test_summary ("A sealed batch sent as SCHEMA and BATCH frames with its memfd is "
                  "rebuilt on the other side with the same values");

  make_socketpair (sv);
  g_assert_true (orr_wire_send (sv[0], ORR_WIRE_RESULT_SCHEMA, schema_payload, -1, &error));
  g_assert_no_error (error);
  g_assert_true (orr_wire_send (sv[0], ORR_WIRE_RESULT_BATCH, batch_payload, f->fd, &error));
  g_assert_no_error (error);

  schema_msg = orr_wire_recv (sv[1], &error);
  g_assert_no_error (error);
  g_assert_nonnull (schema_msg);
  g_assert_cmpint (schema_msg->type, ==, ORR_WIRE_RESULT_SCHEMA);
  schema = orr_wire_decode_schema (schema_msg->payload, &error);
  g_assert_no_error (error);
  g_assert_true (orr_schema_equal (schema, f->schema));

  batch_msg = orr_wire_recv (sv[1], &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch_msg);
  g_assert_cmpint (batch_msg->type, ==, ORR_WIRE_RESULT_BATCH);
  g_assert_cmpint (batch_msg->fd, >=, 0);
  g_assert_true (orr_wire_decode_batch (batch_msg->payload, &wb, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (wb.n_columns, ==, orr_schema_get_n_fields (schema));

  back = _orr_batch_new_from_fd (schema, g_steal_fd (&batch_msg->fd), wb.size, wb.n_rows,
                                 wb.descs, TRUE, &error);
  orr_wire_batch_clear (&wb);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  assert_batch_matches (back);
  close (sv[0]);
  close (sv[1]);
}

static void
test_batch_empty (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) batch = NULL;
  g_autoptr(OrrBatch) back = NULL;
  g_autoptr(GError) error = NULL;
  OrrBufferDesc *descs = NULL;
  guint64 size;
  int fd;

  g_test_summary ("A sealed batch with no rows maps back with no rows");

  orr_schema_add_field (schema, "t", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (schema, "i", ORR_DATA_TYPE_INT64, 0, 0);
  batch = orr_batch_new (schema, 0, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (_orr_batch_seal (batch, &fd, &size, &descs, &error));
  g_assert_no_error (error);
  back = _orr_batch_new_from_fd (schema, dup (fd), size, 0, descs, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpuint (orr_batch_get_n_rows (back), ==, 0);
  g_free (descs);
}

static void
assert_refused (OrrSchema *schema, int fd, guint64 size, guint n_rows, const OrrBufferDesc *descs,
                gboolean require_seals, const char *column, const char *what)
{
  g_autoptr(GError) error = NULL;
  OrrBatch *batch = _orr_batch_new_from_fd (schema, fd, size, n_rows, descs, require_seals, &error);

  g_assert_null (batch);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL);
  if (column != NULL)
    {
      g_autofree char *quoted = g_strdup_printf ("“%s”", column);

      assert_str_contains (error->message, quoted);
    }
  assert_str_contains (error->message, what);
  /* The batch would have owned the descriptor: on failure it is closed. */
  if (fd >= 0)
    assert_fd_closed (fd);
}

static void
test_batch_bad_descriptors (Sealed *f, gconstpointer data)
{
  static const struct {
    guint column;
    guint field;      /* 0..5: validity_off … data_len */
    gint64 delta;     /* added to the field, or … */
    guint64 value;    /* … this value when delta is 0 */
    const char *what;
  } bad[] = {
    /* outside the memory */
    { 2, 0, 0, G_MAXUINT64, "outside" },                 /* validity_off */
    { 2, 1, 0, G_MAXUINT64, "outside" },                 /* validity_len wraps */
    { 3, 2, 0, G_MAXUINT64 - 7, "outside" },             /* values_off + len wraps */
    { 3, 3, 0, G_MAXUINT64, "outside" },                 /* values_len */
    { 7, 4, 0, G_MAXUINT64 - 1, "outside" },             /* data_off */
    { 7, 5, 0, G_MAXUINT64, "outside" },                 /* data_len */
    /* misaligned */
    { 1, 2, 1, 0, "misaligned" },                        /* int16 at an odd offset */
    { 2, 2, 2, 0, "misaligned" },                        /* int32 at +2 */
    { 11, 2, 4, 0, "misaligned" },                       /* int64 at +4 */
    { 7, 2, 2, 0, "misaligned" },                        /* offsets at +2 */
    /* too short for the rows */
    { 2, 3, -1, 0, "values buffer too short" },
    { 7, 3, -4, 0, "values buffer too short" },          /* offsets need n+1 */
    /* offsets beyond the data */
    { 7, 5, -1, 0, "out of order or out of range" },
    { 8, 5, -1, 0, "out of order or out of range" },
  };

  g_test_summary ("Descriptors pointing outside the memory, misaligned, or too short are "
                  "refused with a message naming the column");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree OrrBufferDesc *descs = g_memdup2 (f->descs, N_COLS * sizeof (OrrBufferDesc));
      guint64 *fields = (guint64 *) &descs[bad[i].column];

      if (bad[i].delta != 0)
        fields[bad[i].field] += bad[i].delta;
      else
        fields[bad[i].field] = bad[i].value;
      g_test_message ("case %u: column %u field %u", i, bad[i].column, bad[i].field);
      assert_refused (f->schema, dup (f->fd), f->size, N_ROWS, descs, TRUE,
                      orr_schema_get_field (f->schema, bad[i].column)->name, bad[i].what);
    }

  /* a size the file does not have */
  assert_refused (f->schema, dup (f->fd), f->size + 1, N_ROWS, f->descs, TRUE, NULL, "does not match");
  assert_refused (f->schema, dup (f->fd), 0, N_ROWS, f->descs, TRUE, NULL, "does not match");
  assert_refused (f->schema, dup (f->fd), G_MAXUINT64, N_ROWS, f->descs, TRUE, NULL, "does not match");
  /* more rows than the buffers hold */
  assert_refused (f->schema, dup (f->fd), f->size, N_ROWS + 1, f->descs, TRUE, "flag", "too short");
}

static void
test_batch_not_memory (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  static const OrrBufferDesc descs[1] = { { 0, 0, 0, 4, 0, 0 } };
  int p[2];

  g_test_summary ("A descriptor that is not a memory file, or none, is refused");

  orr_schema_add_field (schema, "i", ORR_DATA_TYPE_INT32, 0, 0);
  g_assert_cmpint (pipe (p), ==, 0);
  close (p[1]);
  assert_refused (schema, p[0], 4, 1, descs, FALSE, NULL, "not a memory file");
  assert_refused (schema, -1, 4, 1, descs, FALSE, NULL, "not a memory file");
}

static void
test_batch_unsealed (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) batch = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  static const gint32 values[2] = { 7, -7 };
  static const OrrBufferDesc descs[1] = { { 0, 0, 0, 8, 0, 0 } };
  int fd;

  g_test_summary ("When seals are required, an unsealed or partly sealed memfd is refused; "
                  "without the requirement the same memory is accepted");

  orr_schema_add_field (schema, "n", ORR_DATA_TYPE_INT32, 0, 0);

  fd = make_memfd (values, sizeof values, 0);
  assert_refused (schema, fd, sizeof values, 2, descs, TRUE, NULL, "not sealed");
  fd = make_memfd (values, sizeof values, F_SEAL_SHRINK | F_SEAL_GROW);
  assert_refused (schema, fd, sizeof values, 2, descs, TRUE, NULL, "not sealed");
  fd = make_memfd (values, sizeof values, F_SEAL_WRITE | F_SEAL_GROW);
  assert_refused (schema, fd, sizeof values, 2, descs, TRUE, NULL, "not sealed");

  fd = make_memfd (values, sizeof values, 0);
  batch = _orr_batch_new_from_fd (schema, fd, sizeof values, 2, descs, FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch);
  text = orr_batch_format_value (batch, 0, 1);
  g_assert_cmpstr (text, ==, "-7");
}

typedef struct {
  const char *name;
  OrrDataType type;
  guint n_rows;
  OrrBufferDesc desc;
  const void *memory;
  gsize memory_len;
  const char *what;
} CraftedCase;

static void
test_batch_bad_contents (void)
{
  /* Offsets at 0, data at 64. */
  static const guint8 backwards[] = {
    0, 0, 0, 0,  3, 0, 0, 0,  1, 0, 0, 0,  [64] = 'a', 'b', 'c',
  };
  static const guint8 first_not_zero[] = {
    1, 0, 0, 0,  2, 0, 0, 0,  [64] = 'a', 'b', 'c',
  };
  static const guint8 negative[] = {
    0, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,  [64] = 'a',
  };
  static const guint8 beyond[] = {
    0, 0, 0, 0,  2, 0, 0, 0,  9, 0, 0, 0,  [64] = 'a', 'b', 'c', 'd',
  };
  static const guint8 bad_utf8[] = {
    0, 0, 0, 0,  2, 0, 0, 0,  4, 0, 0, 0,  [64] = 'o', 'k', 0xff, 0xfe,
  };
  static const guint8 cut_utf8[] = {
    0, 0, 0, 0,  1, 0, 0, 0,  2, 0, 0, 0,  [64] = 0xc3, 0xa9,   /* "é" split over two rows */
  };
  static const guint8 bools[] = { 0, 1, 2, 1 };
  static const guint8 validity_short[64 + 16 * 4] = { 0 };
  static const CraftedCase cases[] = {
    { "label", ORR_DATA_TYPE_TEXT, 2, { 0, 0, 0, 12, 64, 3 }, backwards, sizeof backwards, "row 2" },
    { "label", ORR_DATA_TYPE_TEXT, 1, { 0, 0, 0, 8, 64, 3 }, first_not_zero, sizeof first_not_zero, "first offset" },
    { "raw", ORR_DATA_TYPE_BINARY, 1, { 0, 0, 0, 8, 64, 1 }, negative, sizeof negative, "row 1" },
    { "label", ORR_DATA_TYPE_TEXT, 2, { 0, 0, 0, 12, 64, 4 }, beyond, sizeof beyond, "out of order or out of range" },
    { "label", ORR_DATA_TYPE_TEXT, 2, { 0, 0, 0, 12, 64, 4 }, bad_utf8, sizeof bad_utf8, "row 2 is not valid UTF-8" },
    { "label", ORR_DATA_TYPE_TEXT, 2, { 0, 0, 0, 12, 64, 2 }, cut_utf8, sizeof cut_utf8, "row 1 is not valid UTF-8" },
    { "ok", ORR_DATA_TYPE_BOOL, 4, { 0, 0, 0, 4, 0, 0 }, bools, sizeof bools, "row 3 is not a boolean" },
    { "n", ORR_DATA_TYPE_INT32, 16, { 0, 1, 64, 64, 0, 0 }, validity_short, sizeof validity_short, "validity bitmap too short" },
  };

  g_test_summary ("Memory with non-monotonic, negative or out-of-range offsets, invalid "
                  "UTF-8 text, a bool byte of 2 or a short bitmap is refused with a message "
                  "naming the column");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const CraftedCase *c = &cases[i];
      g_autoptr(OrrSchema) schema = orr_schema_new ();
      int fd = make_memfd (c->memory, c->memory_len,
                           F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

      g_test_message ("case %u: %s", i, c->what);
      orr_schema_add_field (schema, c->name, c->type, 0, 0);
      assert_refused (schema, fd, c->memory_len, c->n_rows, &c->desc, TRUE, c->name, c->what);
    }

  /* The same memory with valid bytes is accepted: the cases fail for the stated reason. */
  {
    static const guint8 good_bools[] = { 0, 1, 1, 0 };
    static const OrrBufferDesc desc = { 0, 0, 0, 4, 0, 0 };
    g_autoptr(OrrSchema) schema = orr_schema_new ();
    g_autoptr(OrrBatch) batch = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    int fd = make_memfd (good_bools, sizeof good_bools, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);

    orr_schema_add_field (schema, "ok", ORR_DATA_TYPE_BOOL, 0, 0);
    batch = _orr_batch_new_from_fd (schema, fd, sizeof good_bools, 4, &desc, TRUE, &error);
    g_assert_no_error (error);
    g_assert_nonnull (batch);
    text = orr_batch_format_value (batch, 0, 2);
    g_assert_cmpstr (text, ==, "true");
  }
}

static void
test_batch_huge_data (void)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  const guint64 size = G_GUINT64_CONSTANT (3) << 30;
  const OrrBufferDesc desc = { 0, 0, 0, 8, 64, (guint64) G_MAXINT32 + 1 };
  int fd = make_memfd (NULL, 0, 0);

  g_test_summary ("A text data buffer over 2 GiB (int32 offsets) is refused");

  /* Sparse: nothing is written, nothing is read past the offsets. */
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  orr_schema_add_field (schema, "huge", ORR_DATA_TYPE_TEXT, 0, 0);
  assert_refused (schema, fd, size, 1, &desc, FALSE, "huge", "2 GiB");
}

/* ------------------------------------------------------------ formatting */

static char *
format_one (OrrDataType type, int precision, int scale, const void *value, gsize width)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(OrrBatch) batch = NULL;
  g_autoptr(GError) error = NULL;

  orr_schema_add_field (schema, "v", type, precision, scale);
  batch = orr_batch_new (schema, 1, FALSE, &error);
  g_assert_no_error (error);
  memcpy (orr_batch_get_values_mut (batch, 0), value, width);
  orr_batch_set_n_rows (batch, 1);
  return orr_batch_format_value (batch, 0, 0);
}

static void
test_format_dates (void)
{
  static const struct { gint32 days; const char *text; } cases[] = {
    { -719162, "0001-01-01" },
    { -719162 + 58, "0001-02-28" },
    { -719162 + 59, "0001-03-01" },
    { -25567, "1900-01-01" },
    { -25567 + 59, "1900-03-01" },         /* 1900 is not a leap year */
    { -1, "1969-12-31" },
    { 0, "1970-01-01" },
    { 11016, "2000-02-29" },
    { 2932896, "9999-12-31" },
  };

  g_test_summary ("Dates format as YYYY-MM-DD from 0001-01-01 to 9999-12-31, across 1970 "
                  "and leap days");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_DATE, 0, 0, &cases[i].days, sizeof (gint32));

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_format_timestamps (void)
{
  static const struct { gint64 us; const char *text; } cases[] = {
    { -1, "1969-12-31 23:59:59.999999" },
    { -500000, "1969-12-31 23:59:59.500000" },
    { -999999, "1969-12-31 23:59:59.000001" },
    { -1000000, "1969-12-31 23:59:59" },
    { G_GINT64_CONSTANT (-86400000000), "1969-12-31 00:00:00" },
    { G_GINT64_CONSTANT (-86400000001), "1969-12-30 23:59:59.999999" },
    { G_GINT64_CONSTANT (-2208988800000000) + 1, "1900-01-01 00:00:00.000001" },
    { G_GINT64_CONSTANT (-62135596800000000), "0001-01-01 00:00:00" },
    { G_GINT64_CONSTANT (-62135596799999999), "0001-01-01 00:00:00.000001" },
    { 0, "1970-01-01 00:00:00" },
    { 1, "1970-01-01 00:00:00.000001" },
    { G_GINT64_CONSTANT (951782400000000), "2000-02-29 00:00:00" },
    { G_GINT64_CONSTANT (253402300799999999), "9999-12-31 23:59:59.999999" },
  };

  g_test_summary ("Timestamps format as YYYY-MM-DD HH:MM:SS[.ffffff], before 1970 too");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_TIMESTAMP, 0, 0, &cases[i].us, sizeof (gint64));

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_format_times (void)
{
  static const struct { gint64 us; const char *text; } cases[] = {
    { 0, "00:00:00" },
    { 1, "00:00:00.000001" },
    { G_GINT64_CONSTANT (45296000000), "12:34:56" },
    { G_GINT64_CONSTANT (45296500000), "12:34:56.500000" },
    { G_GINT64_CONSTANT (86399999999), "23:59:59.999999" },
  };

  g_test_summary ("Times of day format as HH:MM:SS[.ffffff] up to 23:59:59.999999");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_TIME, 0, 0, &cases[i].us, sizeof (gint64));

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_format_decimals (void)
{
  static const struct { gint64 unscaled; int precision, scale; const char *text; } cases[] = {
    { 12345, 18, 2, "123.45" },
    { -12345, 18, 2, "-123.45" },
    { -5, 18, 2, "-0.05" },
    { 5, 18, 2, "0.05" },
    { -50, 18, 2, "-0.50" },
    { 0, 18, 2, "0.00" },
    { -100, 18, 2, "-1.00" },
    { 100, 18, 2, "1.00" },
    { 42, 10, 0, "42" },
    { -42, 10, 0, "-42" },
    { 1, 18, 18, "0.000000000000000001" },
    { -1, 18, 18, "-0.000000000000000001" },
    { G_MAXINT64, 18, 2, "92233720368547758.07" },
    { G_MININT64, 18, 2, "-92233720368547758.08" },
    { G_MININT64, 18, 0, "-9223372036854775808" },
    { 7, 38, 20, "0.00000000000000000007" },
  };

  g_test_summary ("Decimals format exactly from the unscaled integer: signs, leading "
                  "zeros, scale 0 and the int64 extremes");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_DECIMAL, cases[i].precision, cases[i].scale,
                                          &cases[i].unscaled, sizeof (gint64));

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_format_numbers (void)
{
  static const float f32[] = { 0.1f, 1.0f / 3.0f, 16777216.0f, -0.0f };
  static const char *const f32_text[] = { "0.1", "0.33333334", "16777216", "-0" };
  static const double f64[] = { 0.5, -1024.0, 1.0 / 0.0 };
  static const char *const f64_text[] = { "0.5", "-1024", "inf" };

  g_test_summary ("Floats format with enough digits to read back the same value");

  for (guint i = 0; i < G_N_ELEMENTS (f32); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_FLOAT32, 0, 0, &f32[i], sizeof (float));

      g_assert_cmpstr (text, ==, f32_text[i]);
      g_assert_cmpfloat ((float) g_ascii_strtod (text, NULL), ==, f32[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (f64); i++)
    {
      g_autofree char *text = format_one (ORR_DATA_TYPE_FLOAT64, 0, 0, &f64[i], sizeof (double));

      g_assert_cmpstr (text, ==, f64_text[i]);
    }
}

static void
test_format_out_of_range (void)
{
  g_test_summary ("Dates and timestamps beyond 0001..9999 (which a peer can send and the "
                  "validator accepts) format as proleptic Gregorian dates, without "
                  "criticals or integer overflow");

  if (g_test_subprocess ())
    {
      static const struct { gint32 days; const char *text; } dates[] = {
        { -719163, "0000-12-31" },
        { 2932897, "10000-01-01" },
      };
      static const gint32 date_extremes[] = { G_MININT32, G_MAXINT32 };
      static const gint64 stamp_extremes[] = { G_MININT64, G_MININT64 + 1, G_MAXINT64 };
      const gint64 before_year_1 = G_GINT64_CONSTANT (-62135596800000001);

      for (guint i = 0; i < G_N_ELEMENTS (dates); i++)
        {
          g_autofree char *text = format_one (ORR_DATA_TYPE_DATE, 0, 0, &dates[i].days, sizeof (gint32));

          g_assert_cmpstr (text, ==, dates[i].text);
        }
      {
        g_autofree char *text = format_one (ORR_DATA_TYPE_TIMESTAMP, 0, 0, &before_year_1, sizeof (gint64));

        g_assert_cmpstr (text, ==, "0000-12-31 23:59:59.999999");
      }
      for (guint i = 0; i < G_N_ELEMENTS (date_extremes); i++)
        {
          g_autofree char *text = format_one (ORR_DATA_TYPE_DATE, 0, 0, &date_extremes[i], sizeof (gint32));

          g_assert_nonnull (text);
          g_assert_cmpstr (text, !=, "1970-01-01");
        }
      for (guint i = 0; i < G_N_ELEMENTS (stamp_extremes); i++)
        {
          g_autofree char *text = format_one (ORR_DATA_TYPE_TIMESTAMP, 0, 0, &stamp_extremes[i], sizeof (gint64));

          g_assert_nonnull (text);
        }
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  if (!g_test_trap_has_passed ())
    {
      /* Known bug in core/orr-batch.c (GDate's range); see the report. Turns
       * into a plain pass once fixed. */
      g_test_incomplete ("orr_batch_format_value() mis-formats dates outside 0001..9999 "
                         "(GDate: g_critical and 1970-01-01, wrapped years, int overflow)");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Orr/Wire/job/round-trip", test_job_round_trip);
  g_test_add_func ("/Orr/Wire/job/defaults", test_job_defaults);
  g_test_add_func ("/Orr/Wire/job/layout", test_job_layout);
  g_test_add_func ("/Orr/Wire/job/malformed-tail", test_job_malformed_tail);
  g_test_add_func ("/Orr/Wire/fork/round-trip", test_fork_round_trip);
  g_test_add_func ("/Orr/Wire/fork/refused", test_fork_refused);
  g_test_add_func ("/Orr/Wire/schema/round-trip", test_schema_round_trip);
  g_test_add_func ("/Orr/Wire/schema/layout", test_schema_layout);
  g_test_add_func ("/Orr/Wire/batch/round-trip", test_batch_round_trip);
  g_test_add_func ("/Orr/Wire/string/round-trip", test_string_round_trip);
  g_test_add_func ("/Orr/Wire/params/round-trip", test_params_round_trip);
  g_test_add_func ("/Orr/Wire/error/round-trip", test_error_round_trip);
  g_test_add_func ("/Orr/Wire/numbers/round-trip", test_numbers_round_trip);
  g_test_add_func ("/Orr/Wire/malformed/truncated", test_truncated);
  g_test_add_func ("/Orr/Wire/malformed/trailing", test_trailing);
  g_test_add_func ("/Orr/Wire/malformed/null-payload", test_null_payload);
  g_test_add_func ("/Orr/Wire/malformed/utf8", test_invalid_utf8);
  g_test_add_func ("/Orr/Wire/malformed/fields", test_malformed_fields);
  g_test_add_func ("/Orr/Wire/frame/header", test_header);
  g_test_add_func ("/Orr/Wire/frame/parse", test_parse_frame);
  g_test_add_func ("/Orr/Wire/socket/send-recv", test_socket_send_recv);
  g_test_add_func ("/Orr/Wire/socket/large", test_socket_large);
  g_test_add_func ("/Orr/Wire/socket/eof", test_socket_eof);
  g_test_add_func ("/Orr/Wire/socket/cut", test_socket_cut);
  g_test_add_func ("/Orr/Wire/socket/bad-frames", test_socket_bad_frames);
  g_test_add_func ("/Orr/Wire/socket/send-errors", test_socket_send_errors);
  g_test_add_func ("/Orr/Batch/local", test_batch_local);
  g_test_add ("/Orr/Batch/sealed/round-trip", Sealed, NULL, sealed_setup, test_batch_sealed_round_trip, sealed_teardown);
  g_test_add ("/Orr/Batch/sealed/over-the-wire", Sealed, NULL, sealed_setup, test_batch_over_the_wire, sealed_teardown);
  g_test_add ("/Orr/Batch/sealed/bad-descriptors", Sealed, NULL, sealed_setup, test_batch_bad_descriptors, sealed_teardown);
  g_test_add_func ("/Orr/Batch/sealed/empty", test_batch_empty);
  g_test_add_func ("/Orr/Batch/refused/not-memory", test_batch_not_memory);
  g_test_add_func ("/Orr/Batch/refused/unsealed", test_batch_unsealed);
  g_test_add_func ("/Orr/Batch/refused/contents", test_batch_bad_contents);
  g_test_add_func ("/Orr/Batch/refused/huge-data", test_batch_huge_data);
  g_test_add_func ("/Orr/Batch/format/dates", test_format_dates);
  g_test_add_func ("/Orr/Batch/format/timestamps", test_format_timestamps);
  g_test_add_func ("/Orr/Batch/format/times", test_format_times);
  g_test_add_func ("/Orr/Batch/format/decimals", test_format_decimals);
  g_test_add_func ("/Orr/Batch/format/floats", test_format_numbers);
  g_test_add_func ("/Orr/Batch/format/out-of-range", test_format_out_of_range);

  return g_test_run ();
}
