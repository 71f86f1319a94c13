/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-wire"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-wire.h"

/* ------------------------------------------------------------- writer */

static void
put_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, 4);
}

static void
put_i32 (GByteArray *out, gint32 v)
{
  put_u32 (out, (guint32) v);
}

static void
put_u64 (GByteArray *out, guint64 v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, 8);
}

static void
put_i64 (GByteArray *out, gint64 v)
{
  put_u64 (out, (guint64) v);
}

static void
put_f64 (GByteArray *out, double v)
{
  guint64 bits;

  memcpy (&bits, &v, 8);
  put_u64 (out, bits);
}

static void
put_bytes (GByteArray *out, const void *data, gsize len)
{
  put_u32 (out, (guint32) len);
  if (len)
    g_byte_array_append (out, data, len);
}

static void
put_string (GByteArray *out, const char *s)
{
  put_bytes (out, s ? s : "", s ? strlen (s) : 0);
}

/* ------------------------------------------------------------- reader */

typedef struct {
  const guint8 *data;
  gsize len;
  gsize pos;
  GError *error;
} Reader;

static void
reader_init (Reader *r, GBytes *payload)
{
  r->data = payload ? g_bytes_get_data (payload, &r->len) : NULL;
  if (r->data == NULL)
    r->len = 0;
  r->pos = 0;
  r->error = NULL;
}

static gboolean
need (Reader *r, gsize n, const char *what)
{
  if (r->error)
    return FALSE;
  if (r->len - r->pos < n)
    {
      g_set_error (&r->error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Truncated message: %s needs %zu bytes, %zu left"),
                   what, n, r->len - r->pos);
      return FALSE;
    }
  return TRUE;
}

static guint8
get_u8 (Reader *r, const char *what)
{
  if (!need (r, 1, what))
    return 0;
  return r->data[r->pos++];
}

static guint32
get_u32 (Reader *r, const char *what)
{
  guint32 v;

  if (!need (r, 4, what))
    return 0;
  memcpy (&v, r->data + r->pos, 4);
  r->pos += 4;
  return GUINT32_FROM_LE (v);
}

static gint32
get_i32 (Reader *r, const char *what)
{
  return (gint32) get_u32 (r, what);
}

static guint64
get_u64 (Reader *r, const char *what)
{
  guint64 v;

  if (!need (r, 8, what))
    return 0;
  memcpy (&v, r->data + r->pos, 8);
  r->pos += 8;
  return GUINT64_FROM_LE (v);
}

static gint64
get_i64 (Reader *r, const char *what)
{
  return (gint64) get_u64 (r, what);
}

static double
get_f64 (Reader *r, const char *what)
{
  guint64 bits = get_u64 (r, what);
  double v;

  memcpy (&v, &bits, 8);
  return v;
}

static GBytes *
get_bytes (Reader *r, const char *what)
{
  guint32 len = get_u32 (r, what);
  GBytes *b;

  if (!need (r, len, what))
    return NULL;
  b = g_bytes_new (r->data + r->pos, len);
  r->pos += len;
  return b;
}

static char *
get_string (Reader *r, const char *what)
{
  guint32 len = get_u32 (r, what);
  char *s;

  if (!need (r, len, what))
    return NULL;
  if (!g_utf8_validate_len ((const char *) r->data + r->pos, len, NULL) ||
      memchr (r->data + r->pos, 0, len) != NULL)
    {
      g_set_error (&r->error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Malformed message: %s is not valid UTF-8 text"), what);
      return NULL;
    }
  s = g_strndup ((const char *) r->data + r->pos, len);
  r->pos += len;
  return s;
}

static gboolean
reader_finish (Reader *r, const char *what, GError **error)
{
  if (r->error == NULL && r->pos != r->len)
    g_set_error (&r->error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                 _("Malformed %s message: %zu unexpected trailing bytes"),
                 what, r->len - r->pos);
  if (r->error)
    {
      g_propagate_error (error, r->error);
      r->error = NULL;
      return FALSE;
    }
  return TRUE;
}

static void
reader_fail (Reader *r, const char *message)
{
  if (r->error == NULL)
    g_set_error_literal (&r->error, ORR_ERROR, ORR_ERROR_PROTOCOL, message);
}

/* ------------------------------------------------------------- values */

void
orr_value_clear (OrrValue *value)
{
  g_clear_pointer (&value->bytes, g_bytes_unref);
  value->is_null = TRUE;
}

char *
orr_value_to_string (const OrrValue *value)
{
  if (value->is_null)
    return g_strdup ("NULL");
  switch (value->type)
    {
    case ORR_DATA_TYPE_BOOL:
      return g_strdup (value->v.b ? "true" : "false");
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, value->v.i);
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup (g_ascii_dtostr (buf, sizeof buf, value->v.f));
      }
    case ORR_DATA_TYPE_TEXT:
      {
        gsize len;
        const char *s = g_bytes_get_data (value->bytes, &len);
        return g_strndup (s, len);
      }
    case ORR_DATA_TYPE_BINARY:
      {
        gsize len;
        const guint8 *b = g_bytes_get_data (value->bytes, &len);
        GString *s = g_string_new ("0x");
        for (gsize i = 0; i < len; i++)
          g_string_append_printf (s, "%02X", b[i]);
        return g_string_free (s, FALSE);
      }
    case ORR_DATA_TYPE_DATE:
    case ORR_DATA_TYPE_TIME:
    case ORR_DATA_TYPE_TIMESTAMP:
      {
        g_autoptr(OrrSchema) schema = orr_schema_new ();
        g_autoptr(OrrBatch) batch = NULL;
        guint8 *values;

        orr_schema_add_field (schema, "v", value->type, 0, 0);
        batch = orr_batch_new (schema, 1, FALSE, NULL);
        values = orr_batch_get_values_mut (batch, 0);
        if (value->type == ORR_DATA_TYPE_DATE)
          *(gint32 *) values = (gint32) value->v.i;
        else
          *(gint64 *) values = value->v.i;
        orr_batch_set_n_rows (batch, 1);
        return orr_batch_format_value (batch, 0, 0);
      }
    case ORR_DATA_TYPE_INVALID:
    default:
      return g_strdup ("?");
    }
}

OrrParam *
orr_param_new (const char     *name,
               guint           flags,
               const OrrValue *value)
{
  OrrParam *p = g_new0 (OrrParam, 1);

  p->name = g_strdup (name);
  p->flags = flags;
  p->value = *value;
  if (value->bytes)
    p->value.bytes = g_bytes_ref (value->bytes);
  return p;
}

void
orr_param_free (OrrParam *param)
{
  if (param == NULL)
    return;
  g_free (param->name);
  orr_value_clear (&param->value);
  g_free (param);
}

static void
put_value (GByteArray *out, const OrrValue *v)
{
  put_u8 (out, v->type);
  put_u8 (out, v->is_null ? 1 : 0);
  if (v->is_null)
    return;
  switch (v->type)
    {
    case ORR_DATA_TYPE_BOOL:
      put_u8 (out, v->v.b ? 1 : 0);
      break;
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_DATE:
    case ORR_DATA_TYPE_TIME:
    case ORR_DATA_TYPE_TIMESTAMP:
      put_i64 (out, v->v.i);
      break;
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
      put_f64 (out, v->v.f);
      break;
    case ORR_DATA_TYPE_TEXT:
    case ORR_DATA_TYPE_BINARY:
      {
        gsize len = 0;
        const void *data = v->bytes ? g_bytes_get_data (v->bytes, &len) : NULL;
        put_bytes (out, data, len);
      }
      break;
    case ORR_DATA_TYPE_INVALID:
    default:
      g_assert_not_reached ();
    }
}

static void
get_value (Reader *r, OrrValue *v)
{
  guint8 type = get_u8 (r, "value type");

  memset (v, 0, sizeof *v);
  v->is_null = TRUE;
  if (r->error)
    return;
  if (type == ORR_DATA_TYPE_INVALID || type > ORR_DATA_TYPE_LAST)
    {
      reader_fail (r, _("Malformed message: unknown value type"));
      return;
    }
  v->type = type;
  v->is_null = get_u8 (r, "value null flag") != 0;
  if (v->is_null || r->error)
    return;
  switch (v->type)
    {
    case ORR_DATA_TYPE_BOOL:
      v->v.b = get_u8 (r, "boolean") != 0;
      break;
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_DATE:
    case ORR_DATA_TYPE_TIME:
    case ORR_DATA_TYPE_TIMESTAMP:
      v->v.i = get_i64 (r, "integer");
      break;
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
      v->v.f = get_f64 (r, "float");
      break;
    case ORR_DATA_TYPE_TEXT:
      {
        char *s = get_string (r, "text value");
        if (s)
          v->bytes = g_bytes_new_take (s, strlen (s));
      }
      break;
    case ORR_DATA_TYPE_BINARY:
      v->bytes = get_bytes (r, "binary value");
      break;
    case ORR_DATA_TYPE_INVALID:
    default:
      g_assert_not_reached ();
    }
  if (r->error)
    orr_value_clear (v);
}

/* ------------------------------------------------------------- messages */

void
orr_wire_message_free (OrrWireMessage *msg)
{
  if (msg == NULL)
    return;
  g_clear_pointer (&msg->payload, g_bytes_unref);
  if (msg->fd >= 0)
    close (msg->fd);
  g_free (msg);
}

void
orr_wire_job_clear (OrrWireJob *job)
{
  g_clear_pointer (&job->script, g_free);
  g_clear_pointer (&job->input_name, g_free);
  g_clear_pointer (&job->output_name, g_free);
  g_clear_pointer (&job->params, g_ptr_array_unref);
  g_clear_pointer (&job->partition_by, g_strfreev);
  g_clear_pointer (&job->order_by, g_strfreev);
}

void
orr_wire_batch_clear (OrrWireBatch *batch)
{
  g_clear_pointer (&batch->descs, g_free);
}

void
orr_wire_error_clear (OrrWireError *err)
{
  g_clear_pointer (&err->kind, g_free);
  g_clear_pointer (&err->message, g_free);
  g_clear_pointer (&err->traceback, g_free);
}

static void
put_params (GByteArray *out, GPtrArray *params)
{
  guint n = params ? params->len : 0;

  put_u32 (out, n);
  for (guint i = 0; i < n; i++)
    {
      const OrrParam *p = g_ptr_array_index (params, i);
      put_string (out, p->name);
      put_u8 (out, p->flags);
      put_value (out, &p->value);
    }
}

static GPtrArray *
get_params (Reader *r)
{
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  guint32 n = get_u32 (r, "parameter count");

  if (n > ORR_WIRE_MAX_PARAMS)
    {
      reader_fail (r, _("Malformed message: too many parameters"));
      return NULL;
    }
  for (guint i = 0; i < n && r->error == NULL; i++)
    {
      g_autofree char *name = get_string (r, "parameter name");
      guint8 flags = get_u8 (r, "parameter flags");
      OrrValue v;

      get_value (r, &v);
      if (r->error)
        break;
      if (name == NULL || name[0] == '\0')
        {
          reader_fail (r, _("Malformed message: empty parameter name"));
          orr_value_clear (&v);
          break;
        }
      g_ptr_array_add (params, orr_param_new (name, flags & ORR_PARAM_OUTPUT, &v));
      orr_value_clear (&v);
    }
  if (r->error)
    return NULL;
  return g_steal_pointer (&params);
}

static void
put_strv (GByteArray *out, const char * const *strv)
{
  guint n = strv ? g_strv_length ((char **) strv) : 0;

  put_u32 (out, n);
  for (guint i = 0; i < n; i++)
    put_string (out, strv[i]);
}

/* NULL when the list is empty. */
static GStrv
get_strv (Reader *r, const char *what)
{
  guint32 n = get_u32 (r, what);
  GPtrArray *strv;

  if (r->error || n == 0)
    return NULL;
  if (n > ORR_WIRE_MAX_COLUMNS)
    {
      reader_fail (r, _("Malformed job: too many column names"));
      return NULL;
    }
  strv = g_ptr_array_new ();
  for (guint i = 0; i < n && r->error == NULL; i++)
    {
      char *s = get_string (r, what);

      if (s)
        g_ptr_array_add (strv, s);
    }
  g_ptr_array_add (strv, NULL);
  if (r->error)
    {
      g_strfreev ((char **) g_ptr_array_free (strv, FALSE));
      return NULL;
    }
  return (GStrv) g_ptr_array_free (strv, FALSE);
}

GBytes *
orr_wire_encode_job (const OrrWireJob *job)
{
  GByteArray *out = g_byte_array_new ();

  put_string (out, job->script);
  put_string (out, job->input_name);
  put_string (out, job->output_name);
  put_u64 (out, job->max_output_bytes);
  put_u64 (out, job->max_message_bytes);
  put_params (out, job->params);
  put_u32 (out, job->flags);
  put_strv (out, (const char * const *) job->partition_by);
  put_strv (out, (const char * const *) job->order_by);
  put_u64 (out, job->rows_per_read);
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_job (GBytes *payload, OrrWireJob *out, GError **error)
{
  Reader r;

  memset (out, 0, sizeof *out);
  reader_init (&r, payload);
  out->script = get_string (&r, "script");
  out->input_name = get_string (&r, "input name");
  out->output_name = get_string (&r, "output name");
  out->max_output_bytes = get_u64 (&r, "output limit");
  out->max_message_bytes = get_u64 (&r, "message limit");
  out->params = get_params (&r);
  out->flags = get_u32 (&r, "job flags");
  if (out->flags & ~ORR_WIRE_JOB_ALL_FLAGS)
    reader_fail (&r, _("Malformed job: unknown flags"));
  out->partition_by = get_strv (&r, "partition column");
  out->order_by = get_strv (&r, "order column");
  out->rows_per_read = get_u64 (&r, "rows per read");
  if (!reader_finish (&r, "job", error))
    {
      orr_wire_job_clear (out);
      return FALSE;
    }
  return TRUE;
}

void
orr_wire_fork_clear (OrrWireFork *spec)
{
  g_clear_pointer (&spec->cpus, g_array_unref);
  g_clear_pointer (&spec->job_dir, g_free);
  g_clear_pointer (&spec->hidden, g_ptr_array_unref);
  g_clear_pointer (&spec->cgroups, g_ptr_array_unref);
}

GBytes *
orr_wire_encode_fork (const OrrWireFork *spec)
{
  GByteArray *out = g_byte_array_new ();
  guint n_cpus = spec->cpus ? spec->cpus->len : 0;
  guint n_hidden = spec->hidden ? spec->hidden->len : 0;
  guint n_cgroups = spec->cgroups ? spec->cgroups->len : 0;

  put_u32 (out, spec->flags);
  put_u32 (out, spec->uid);
  put_u32 (out, spec->gid);
  put_u64 (out, spec->memory_rlimit);
  put_u32 (out, spec->max_processes);
  put_u64 (out, spec->tmp_size);
  put_u32 (out, n_cpus);
  for (guint i = 0; i < n_cpus; i++)
    put_u32 (out, g_array_index (spec->cpus, guint32, i));
  put_string (out, spec->job_dir);
  put_u32 (out, n_hidden);
  for (guint i = 0; i < n_hidden; i++)
    put_string (out, g_ptr_array_index (spec->hidden, i));
  put_u32 (out, n_cgroups);
  for (guint i = 0; i < n_cgroups; i++)
    put_string (out, g_ptr_array_index (spec->cgroups, i));
  return g_byte_array_free_to_bytes (out);
}

/* A path the sandbox mounts on: absolute, bounded, no "." or ".." component
 * (the child resolves it as root before any isolation). */
static gboolean
is_sandbox_path (const char *path)
{
  if (path[0] != '/' || strlen (path) >= ORR_WIRE_MAX_PATH)
    return FALSE;
  for (const char *p = path; *p; p++)
    if (p[0] == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0' || (p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))
      return FALSE;
  return TRUE;
}

gboolean
orr_wire_decode_fork (GBytes *payload, OrrWireFork *out, GError **error)
{
  Reader r;
  guint32 n;

  memset (out, 0, sizeof *out);
  reader_init (&r, payload);
  out->flags = get_u32 (&r, "sandbox flags");
  if (out->flags & ~ORR_WIRE_FORK_ALL_FLAGS)
    reader_fail (&r, _("Malformed fork request: unknown sandbox flags"));
  out->uid = get_u32 (&r, "worker uid");
  out->gid = get_u32 (&r, "worker gid");
  if ((out->flags & ORR_WIRE_FORK_IDENTITY) && (out->uid == 0 || out->gid == 0 ||
                                                out->uid == G_MAXUINT32 || out->gid == G_MAXUINT32))
    reader_fail (&r, _("Malformed fork request: the worker identity cannot be root"));
  out->memory_rlimit = get_u64 (&r, "memory limit");
  out->max_processes = get_u32 (&r, "process limit");
  out->tmp_size = get_u64 (&r, "/tmp size");
  n = get_u32 (&r, "CPU count");
  if (n > ORR_WIRE_MAX_CPUS)
    reader_fail (&r, _("Malformed fork request: too many CPUs"));
  else if (r.error == NULL && r.len - r.pos < (gsize) n * 4)
    need (&r, (gsize) n * 4, "CPU list");
  if (r.error == NULL)
    {
      out->cpus = g_array_sized_new (FALSE, FALSE, sizeof (guint32), n);
      for (guint i = 0; i < n; i++)
        {
          guint32 cpu = get_u32 (&r, "CPU");

          if (cpu >= ORR_WIRE_MAX_CPUS)
            {
              reader_fail (&r, _("Malformed fork request: CPU number out of range"));
              break;
            }
          g_array_append_val (out->cpus, cpu);
        }
    }
  out->job_dir = get_string (&r, "job directory");
  if (out->job_dir && out->job_dir[0] != '\0' && !is_sandbox_path (out->job_dir))
    reader_fail (&r, _("Malformed fork request: the job directory is not a plain absolute path"));
  n = get_u32 (&r, "hidden path count");
  if (n > ORR_WIRE_MAX_HIDDEN)
    reader_fail (&r, _("Malformed fork request: too many hidden paths"));
  if (r.error == NULL)
    {
      out->hidden = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < n && r.error == NULL; i++)
        {
          char *path = get_string (&r, "hidden path");

          if (path && !is_sandbox_path (path))
            reader_fail (&r, _("Malformed fork request: a hidden path is not a plain absolute path"));
          if (path)
            g_ptr_array_add (out->hidden, path);
        }
    }
  n = get_u32 (&r, "cgroup count");
  if (n > ORR_WIRE_MAX_CGROUPS)
    reader_fail (&r, _("Malformed fork request: too many cgroups"));
  if (r.error == NULL)
    {
      out->cgroups = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < n && r.error == NULL; i++)
        {
          char *path = get_string (&r, "cgroup");

          if (path && !is_sandbox_path (path))
            reader_fail (&r, _("Malformed fork request: a cgroup is not a plain absolute path"));
          if (path)
            g_ptr_array_add (out->cgroups, path);
        }
    }
  if (!reader_finish (&r, "fork request", error))
    {
      orr_wire_fork_clear (out);
      return FALSE;
    }
  return TRUE;
}

GBytes *
orr_wire_encode_schema (const OrrSchema *schema)
{
  GByteArray *out = g_byte_array_new ();
  guint n = orr_schema_get_n_fields (schema);

  put_u32 (out, n);
  for (guint i = 0; i < n; i++)
    {
      const OrrField *f = orr_schema_get_field (schema, i);
      put_string (out, f->name);
      put_u8 (out, f->type);
      put_i32 (out, f->precision);
      put_i32 (out, f->scale);
    }
  return g_byte_array_free_to_bytes (out);
}

OrrSchema *
orr_wire_decode_schema (GBytes *payload, GError **error)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  Reader r;
  guint32 n;

  reader_init (&r, payload);
  n = get_u32 (&r, "column count");
  if (n > ORR_WIRE_MAX_COLUMNS)
    reader_fail (&r, _("Malformed schema: too many columns"));
  for (guint i = 0; i < n && r.error == NULL; i++)
    {
      g_autofree char *name = get_string (&r, "column name");
      guint8 type = get_u8 (&r, "column type");
      gint32 precision = get_i32 (&r, "precision");
      gint32 scale = get_i32 (&r, "scale");

      if (r.error)
        break;
      if (type == ORR_DATA_TYPE_INVALID || type > ORR_DATA_TYPE_LAST)
        reader_fail (&r, _("Malformed schema: unknown column type"));
      else if (precision < 0 || precision > 38 || scale < 0 || scale > precision)
        reader_fail (&r, _("Malformed schema: impossible precision or scale"));
      else
        orr_schema_add_field (schema, name, type, precision, scale);
    }
  if (!reader_finish (&r, "schema", error))
    return NULL;
  return g_steal_pointer (&schema);
}

GBytes *
orr_wire_encode_batch (guint n_rows, guint64 size, guint n_columns, const OrrBufferDesc *descs)
{
  GByteArray *out = g_byte_array_new ();

  put_u32 (out, n_rows);
  put_u64 (out, size);
  put_u32 (out, n_columns);
  for (guint i = 0; i < n_columns; i++)
    {
      put_u64 (out, descs[i].validity_off);
      put_u64 (out, descs[i].validity_len);
      put_u64 (out, descs[i].values_off);
      put_u64 (out, descs[i].values_len);
      put_u64 (out, descs[i].data_off);
      put_u64 (out, descs[i].data_len);
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_batch (GBytes *payload, OrrWireBatch *out, GError **error)
{
  Reader r;

  memset (out, 0, sizeof *out);
  reader_init (&r, payload);
  out->n_rows = get_u32 (&r, "row count");
  out->size = get_u64 (&r, "batch size");
  out->n_columns = get_u32 (&r, "column count");
  if (out->n_columns > ORR_WIRE_MAX_COLUMNS)
    reader_fail (&r, _("Malformed batch: too many columns"));
  else if (r.error == NULL && r.len - r.pos != (gsize) out->n_columns * 48)
    reader_fail (&r, _("Malformed batch: column descriptors do not match the column count"));
  if (r.error == NULL)
    {
      out->descs = g_new0 (OrrBufferDesc, MAX (out->n_columns, 1));
      for (guint i = 0; i < out->n_columns; i++)
        {
          out->descs[i].validity_off = get_u64 (&r, "validity offset");
          out->descs[i].validity_len = get_u64 (&r, "validity length");
          out->descs[i].values_off = get_u64 (&r, "values offset");
          out->descs[i].values_len = get_u64 (&r, "values length");
          out->descs[i].data_off = get_u64 (&r, "data offset");
          out->descs[i].data_len = get_u64 (&r, "data length");
        }
    }
  if (!reader_finish (&r, "batch", error))
    {
      orr_wire_batch_clear (out);
      return FALSE;
    }
  return TRUE;
}

GBytes *
orr_wire_encode_string (const char *text, gssize len)
{
  GByteArray *out = g_byte_array_new ();

  if (len < 0)
    len = text ? strlen (text) : 0;
  put_bytes (out, text, len);
  return g_byte_array_free_to_bytes (out);
}

char *
orr_wire_decode_string (GBytes *payload, GError **error)
{
  Reader r;
  g_autofree char *s = NULL;

  reader_init (&r, payload);
  s = get_string (&r, "text");
  if (!reader_finish (&r, "text", error))
    return NULL;
  return g_steal_pointer (&s);
}

GBytes *
orr_wire_encode_strings (const char * const *strings, guint n)
{
  GByteArray *out = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    put_string (out, strings[i]);
  return g_byte_array_free_to_bytes (out);
}

char **
orr_wire_decode_strings (GBytes *payload, guint n, GError **error)
{
  g_auto(GStrv) strv = g_new0 (char *, n + 1);
  Reader r;

  reader_init (&r, payload);
  for (guint i = 0; i < n && r.error == NULL; i++)
    strv[i] = get_string (&r, "text");
  if (!reader_finish (&r, "text list", error))
    return NULL;
  return g_steal_pointer (&strv);
}

GBytes *
orr_wire_encode_params (GPtrArray *params)
{
  GByteArray *out = g_byte_array_new ();

  put_params (out, params);
  return g_byte_array_free_to_bytes (out);
}

GPtrArray *
orr_wire_decode_params (GBytes *payload, GError **error)
{
  g_autoptr(GPtrArray) params = NULL;
  Reader r;

  reader_init (&r, payload);
  params = get_params (&r);
  if (!reader_finish (&r, "parameters", error))
    return NULL;
  return g_steal_pointer (&params);
}

GBytes *
orr_wire_encode_error (const OrrWireError *err)
{
  GByteArray *out = g_byte_array_new ();

  put_string (out, err->kind);
  put_string (out, err->message);
  put_string (out, err->traceback);
  put_i32 (out, err->line);
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_error (GBytes *payload, OrrWireError *out, GError **error)
{
  Reader r;

  memset (out, 0, sizeof *out);
  reader_init (&r, payload);
  out->kind = get_string (&r, "error kind");
  out->message = get_string (&r, "error message");
  out->traceback = get_string (&r, "traceback");
  out->line = get_i32 (&r, "error line");
  if (!reader_finish (&r, "error", error))
    {
      orr_wire_error_clear (out);
      return FALSE;
    }
  return TRUE;
}

GBytes *
orr_wire_encode_i32s (const gint32 *values, guint n)
{
  GByteArray *out = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    put_i32 (out, values[i]);
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_i32s (GBytes *payload, gint32 *values, guint n, GError **error)
{
  Reader r;

  reader_init (&r, payload);
  for (guint i = 0; i < n; i++)
    values[i] = get_i32 (&r, "integer");
  return reader_finish (&r, "integers", error);
}

GBytes *
orr_wire_encode_i64s (const gint64 *values, guint n)
{
  GByteArray *out = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    put_i64 (out, values[i]);
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_i64s (GBytes *payload, gint64 *values, guint n, GError **error)
{
  Reader r;

  reader_init (&r, payload);
  for (guint i = 0; i < n; i++)
    values[i] = get_i64 (&r, "integer");
  return reader_finish (&r, "integers", error);
}

GBytes *
orr_wire_encode_u64 (guint64 value)
{
  GByteArray *out = g_byte_array_new ();

  put_u64 (out, value);
  return g_byte_array_free_to_bytes (out);
}

gboolean
orr_wire_decode_u64 (GBytes *payload, guint64 *value, GError **error)
{
  Reader r;

  reader_init (&r, payload);
  *value = get_u64 (&r, "count");
  return reader_finish (&r, "count", error);
}

/* ------------------------------------------------------------- framing */

static gboolean
known_type (guint16 type)
{
  switch (type)
    {
    case ORR_WIRE_JOB: case ORR_WIRE_SCHEMA: case ORR_WIRE_BATCH: case ORR_WIRE_END_INPUT:
    case ORR_WIRE_READY: case ORR_WIRE_STDOUT: case ORR_WIRE_STDERR:
    case ORR_WIRE_RESULT_SCHEMA: case ORR_WIRE_RESULT_BATCH: case ORR_WIRE_OUTPUT_PARAMS:
    case ORR_WIRE_ERROR: case ORR_WIRE_DONE:
    case ORR_WIRE_FORK: case ORR_WIRE_FORKED: case ORR_WIRE_EXITED:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
orr_wire_parse_header (const guint8  header[ORR_WIRE_HEADER_SIZE],
                       OrrWireType  *type,
                       guint32      *payload_len,
                       guint32      *n_fds,
                       GError      **error)
{
  guint32 magic, len, fds;
  guint16 version, t;

  memcpy (&magic, header, 4);
  memcpy (&version, header + 4, 2);
  memcpy (&t, header + 6, 2);
  memcpy (&len, header + 8, 4);
  memcpy (&fds, header + 12, 4);
  magic = GUINT32_FROM_LE (magic);
  version = GUINT16_FROM_LE (version);
  t = GUINT16_FROM_LE (t);
  len = GUINT32_FROM_LE (len);
  fds = GUINT32_FROM_LE (fds);

  if (magic != ORR_WIRE_MAGIC)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Malformed frame: bad magic number"));
      return FALSE;
    }
  if (version != ORR_WIRE_VERSION)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Wire protocol version %u is not the expected version %u"),
                   version, ORR_WIRE_VERSION);
      return FALSE;
    }
  if (!known_type (t))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Malformed frame: unknown message type %u"), t);
      return FALSE;
    }
  if (len > ORR_WIRE_MAX_PAYLOAD)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Malformed frame: payload of %u bytes exceeds the limit"), len);
      return FALSE;
    }
  if (fds > 1)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Malformed frame: %u descriptors"), fds);
      return FALSE;
    }
  *type = t;
  *payload_len = len;
  *n_fds = fds;
  return TRUE;
}

static void
build_header (guint8 header[ORR_WIRE_HEADER_SIZE], OrrWireType type, guint32 len, guint32 fds)
{
  guint32 magic = GUINT32_TO_LE (ORR_WIRE_MAGIC);
  guint16 version = GUINT16_TO_LE (ORR_WIRE_VERSION);
  guint16 t = GUINT16_TO_LE ((guint16) type);

  len = GUINT32_TO_LE (len);
  fds = GUINT32_TO_LE (fds);
  memcpy (header, &magic, 4);
  memcpy (header + 4, &version, 2);
  memcpy (header + 6, &t, 2);
  memcpy (header + 8, &len, 4);
  memcpy (header + 12, &fds, 4);
}

gboolean
orr_wire_send (int          sock,
               OrrWireType  type,
               GBytes      *payload,
               int          fd,
               GError     **error)
{
  guint8 header[ORR_WIRE_HEADER_SIZE];
  gsize len = 0;
  const guint8 *data = payload ? g_bytes_get_data (payload, &len) : NULL;
  struct iovec iov[2];
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  gsize total, sent = 0;
  gboolean first = TRUE;

  if (len > ORR_WIRE_MAX_PAYLOAD)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                   _("Message of %zu bytes exceeds the wire limit"), len);
      return FALSE;
    }
  build_header (header, type, len, fd >= 0 ? 1 : 0);
  total = ORR_WIRE_HEADER_SIZE + len;

  while (sent < total)
    {
      ssize_t n;
      int iovcnt = 0;

      memset (&msg, 0, sizeof msg);
      if (sent < ORR_WIRE_HEADER_SIZE)
        {
          iov[iovcnt].iov_base = header + sent;
          iov[iovcnt].iov_len = ORR_WIRE_HEADER_SIZE - sent;
          iovcnt++;
          if (len)
            {
              iov[iovcnt].iov_base = (void *) data;
              iov[iovcnt].iov_len = len;
              iovcnt++;
            }
        }
      else
        {
          iov[0].iov_base = (void *) (data + (sent - ORR_WIRE_HEADER_SIZE));
          iov[0].iov_len = total - sent;
          iovcnt = 1;
        }
      msg.msg_iov = iov;
      msg.msg_iovlen = iovcnt;
      if (first && fd >= 0)
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

      n = sendmsg (sock, &msg, MSG_NOSIGNAL);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                       _("Cannot write to the satellite channel: %s"), g_strerror (errsv));
          return FALSE;
        }
      first = FALSE;
      sent += n;
    }
  return TRUE;
}

static gboolean
read_full (int       sock,
           guint8   *buf,
           gsize     len,
           int      *fd_out,
           gboolean  at_start,
           GError  **error)
{
  gsize got = 0;

  while (got < len)
    {
      struct iovec iov = { buf + got, len - got };
      union {
        char buf[CMSG_SPACE (sizeof (int) * 4)];
        struct cmsghdr align;
      } control;
      struct msghdr msg = { 0 };
      ssize_t n;

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      if (fd_out)
        {
          msg.msg_control = control.buf;
          msg.msg_controllen = sizeof control.buf;
        }
      n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                       _("Cannot read from the satellite channel: %s"), g_strerror (errsv));
          return FALSE;
        }
      if (fd_out)
        {
          for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
              {
                int n_fds = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
                int fds[4];

                memcpy (fds, CMSG_DATA (c), n_fds * sizeof (int));
                for (int i = 0; i < n_fds; i++)
                  {
                    /* Keep one descriptor; anything more is a peer's mistake. */
                    if (*fd_out < 0)
                      *fd_out = fds[i];
                    else
                      close (fds[i]);
                  }
              }
        }
      if (n == 0)
        {
          if (at_start && got == 0)
            g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("The satellite channel was closed"));
          else
            g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                         _("Truncated frame: the channel closed after %zu of %zu bytes"),
                         got, len);
          return FALSE;
        }
      got += n;
    }
  return TRUE;
}

OrrWireMessage *
orr_wire_recv (int      sock,
               GError **error)
{
  guint8 header[ORR_WIRE_HEADER_SIZE];
  g_autoptr(OrrWireMessage) msg = g_new0 (OrrWireMessage, 1);
  guint32 len, n_fds;
  guint8 *payload;

  msg->fd = -1;
  if (!read_full (sock, header, sizeof header, &msg->fd, TRUE, error))
    return NULL;
  if (!orr_wire_parse_header (header, &msg->type, &len, &n_fds, error))
    return NULL;
  payload = g_malloc (MAX (len, 1));
  if (!read_full (sock, payload, len, msg->fd < 0 ? &msg->fd : NULL, FALSE, error))
    {
      g_free (payload);
      return NULL;
    }
  msg->payload = g_bytes_new_take (payload, len);
  if ((n_fds == 1) != (msg->fd >= 0))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Malformed frame: %u descriptor(s) announced, %s received"),
                   n_fds, msg->fd >= 0 ? "one" : "none");
      return NULL;
    }
  return g_steal_pointer (&msg);
}

OrrWireMessage *
orr_wire_parse_frame (const guint8 *data,
                      gsize         len,
                      gsize        *consumed,
                      GError      **error)
{
  OrrWireMessage *msg;
  OrrWireType type;
  guint32 payload_len, n_fds;

  if (len < ORR_WIRE_HEADER_SIZE)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Truncated frame header"));
      return NULL;
    }
  if (!orr_wire_parse_header (data, &type, &payload_len, &n_fds, error))
    return NULL;
  if (len - ORR_WIRE_HEADER_SIZE < payload_len)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Truncated frame payload"));
      return NULL;
    }
  msg = g_new0 (OrrWireMessage, 1);
  msg->type = type;
  msg->fd = -1;
  msg->payload = g_bytes_new (data + ORR_WIRE_HEADER_SIZE, payload_len);
  *consumed = ORR_WIRE_HEADER_SIZE + payload_len;
  return msg;
}
