/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-satellite"

#include "config.h"

#include <Python.h>
#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-satellite-private.h"
#include "orr-satellite-resources.h"

/*
 * One job on its socket: receive JOB, SCHEMA, BATCH…, END_INPUT; hand the
 * input to the glue's run_job(); send what the script printed while it ran,
 * then either ERROR or RESULT_SCHEMA, RESULT_BATCH…, OUTPUT_PARAMS, DONE.
 */

#define GLUE_RESOURCE "/org/orrery/satellite/orrery_satellite.py"
/* Bytes of one variable-length column in one result batch, at most: keeps
 * batches far from the 2 GiB of int32 offsets and from huge mappings. */
#define BATCH_DATA_BYTES (256u * 1024u * 1024u)

static PyObject *glue;

gboolean
_orr_satellite_load_glue (void)
{
  g_autoptr(GBytes) source = NULL;
  g_autoptr(GError) error = NULL;
  PyObject *code;

  source = g_resource_lookup_data (orr_satellite_get_resource (), GLUE_RESOURCE,
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (source == NULL)
    {
      PyErr_Format (PyExc_ImportError, _("cannot find the satellite glue: %s"), error->message);
      return FALSE;
    }
  /* GResource data is always NUL-terminated. */
  code = Py_CompileString (g_bytes_get_data (source, NULL), "orrery_satellite.py", Py_file_input);
  if (code == NULL)
    return FALSE;
  glue = PyImport_ExecCodeModuleEx ("orrery_satellite", code, "orrery_satellite.py");
  Py_DECREF (code);
  return glue != NULL;
}

PyObject *
_orr_satellite_get_glue (void)
{
  return glue;
}

static void
send_error (int         sock,
            const char *kind,
            const char *message,
            const char *traceback,
            gint32      line)
{
  OrrWireError err = { (char *) kind, (char *) message, (char *) (traceback ? traceback : ""), line };
  g_autoptr(GBytes) payload = orr_wire_encode_error (&err);
  g_autoptr(GError) error = NULL;

  if (!orr_wire_send (sock, ORR_WIRE_ERROR, payload, -1, &error))
    g_printerr ("orrery-satellite: %s\n", error->message);
}

void
_orr_satellite_send_py_error (int         sock,
                              const char *context)
{
  PyObject *type = NULL, *exc = NULL, *tb = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *text = NULL;
  g_autofree char *message = NULL;
  g_autofree char *traceback = NULL;
  PyObject *tb_module, *lines;

  PyErr_Fetch (&type, &exc, &tb);
  PyErr_NormalizeException (&type, &exc, &tb);
  if (exc != NULL && tb != NULL)
    PyException_SetTraceback (exc, tb);
  Py_XDECREF (type);
  Py_XDECREF (tb);
  if (exc == NULL)
    {
      send_error (sock, "OrreryInternalError", context, NULL, 0);
      return;
    }
  kind = g_strdup (Py_TYPE (exc)->tp_name);
  text = _orr_satellite_dup_text (exc);
  message = context ? g_strdup_printf (_("%s: %s"), context, text) : g_steal_pointer (&text);
  tb_module = PyImport_ImportModule ("traceback");
  lines = tb_module ? PyObject_CallMethod (tb_module, "format_exception", "O", exc) : NULL;
  if (lines != NULL)
    {
      PyObject *empty = PyUnicode_FromString ("");
      PyObject *joined = empty ? PyUnicode_Join (empty, lines) : NULL;

      traceback = _orr_satellite_dup_text (joined);
      Py_XDECREF (joined);
      Py_XDECREF (empty);
    }
  PyErr_Clear ();
  Py_XDECREF (lines);
  Py_XDECREF (tb_module);
  Py_DECREF (exc);
  send_error (sock, kind, message, traceback, 0);
}

/* ---------------------------------------------------------------- input */

static OrrWireMessage *
recv_expected (int           sock,
               OrrWireType   expected,
               GError      **error)
{
  g_autoptr(OrrWireMessage) msg = orr_wire_recv (sock, error);

  if (msg == NULL)
    return NULL;
  if (msg->type != expected)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Unexpected message %u from the engine (expected %u)"), msg->type, expected);
      return NULL;
    }
  if (msg->fd >= 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("Unexpected descriptor with message %u"), msg->type);
      return NULL;
    }
  return g_steal_pointer (&msg);
}

/* A list of str (empty for NULL). */
static PyObject *
strv_to_python (char **strv)
{
  guint n = strv ? g_strv_length (strv) : 0;
  PyObject *list = PyList_New (n);

  for (guint i = 0; list && i < n; i++)
    {
      PyObject *item = PyUnicode_FromString (strv[i]);

      if (item == NULL)
        {
          Py_CLEAR (list);
          break;
        }
      PyList_SET_ITEM (list, i, item);
    }
  return list;
}

static PyObject *
schema_to_python (const OrrSchema *schema)
{
  guint n = orr_schema_get_n_fields (schema);
  PyObject *list = PyList_New (n);

  if (list == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      const OrrField *f = orr_schema_get_field (schema, i);
      PyObject *item = Py_BuildValue ("(s i i i)", f->name, (int) f->type, f->precision, f->scale);

      if (item == NULL)
        {
          Py_DECREF (list);
          return NULL;
        }
      PyList_SET_ITEM (list, i, item);
    }
  return list;
}

/* Validates a BATCH and maps its memory privately (copy-on-write), so that
 * numpy can wrap its columns without copying and the script may still write
 * to them. Returns a (mapping, n_rows, [(validity_off, values_off, data_off,
 * data_len)…]) tuple, or NULL with @error (protocol) or a Python error. */
static PyObject *
receive_batch (OrrSchema       *schema,
               OrrWireMessage  *msg,
               GError         **error)
{
  OrrWireBatch wire = { 0 };
  g_autoptr(OrrBatch) batch = NULL;
  guint n_columns = orr_schema_get_n_fields (schema);
  PyObject *mapping, *columns, *piece;
  void *base;
  int fd, copy_fd;

  if (msg->fd < 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("BATCH message without its memory"));
      return NULL;
    }
  if (!orr_wire_decode_batch (msg->payload, &wire, error))
    return NULL;
  if (wire.n_columns != n_columns)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("BATCH has %u columns, the schema %u"), wire.n_columns, n_columns);
      orr_wire_batch_clear (&wire);
      return NULL;
    }

  fd = msg->fd;
  msg->fd = -1;
  copy_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  if (copy_fd < 0)
    {
      int errsv = errno;
      close (fd);
      orr_wire_batch_clear (&wire);
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot duplicate batch memory: %s"),
                   g_strerror (errsv));
      return NULL;
    }
  batch = _orr_batch_new_from_fd (schema, fd, wire.size, wire.n_rows, wire.descs, TRUE, error);
  if (batch == NULL)
    {
      close (copy_fd);
      orr_wire_batch_clear (&wire);
      return NULL;
    }
  /* The memfd is sealed against writes, so this private view holds exactly
   * what was validated above. */
  base = mmap (NULL, wire.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, copy_fd, 0);
  close (copy_fd);
  if (base == MAP_FAILED)
    {
      int errsv = errno;
      orr_wire_batch_clear (&wire);
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot map batch memory: %s"),
                   g_strerror (errsv));
      return NULL;
    }

  mapping = _orr_satellite_mapping_new (base, wire.size);
  columns = PyList_New (n_columns);
  if (mapping == NULL || columns == NULL)
    {
      Py_XDECREF (mapping);
      Py_XDECREF (columns);
      orr_wire_batch_clear (&wire);
      return NULL;
    }
  for (guint i = 0; i < n_columns; i++)
    {
      OrrColumn col;
      const OrrBufferDesc *d = &wire.descs[i];
      PyObject *item;

      orr_batch_get_column (batch, i, &col);
      item = Py_BuildValue ("(L K K K)",
                            col.null_count > 0 ? (long long) d->validity_off : -1LL,
                            (unsigned long long) d->values_off,
                            (unsigned long long) d->data_off,
                            (unsigned long long) (orr_data_type_is_variable (col.type) ? d->data_len : 0));
      if (item == NULL)
        {
          Py_DECREF (mapping);
          Py_DECREF (columns);
          orr_wire_batch_clear (&wire);
          return NULL;
        }
      PyList_SET_ITEM (columns, i, item);
    }
  piece = Py_BuildValue ("(N I N)", mapping, wire.n_rows, columns);
  orr_wire_batch_clear (&wire);
  return piece;
}

static PyObject *
value_to_python (const OrrValue *value)
{
  gsize len = 0;
  const char *data;

  if (value->is_null)
    Py_RETURN_NONE;
  switch (value->type)
    {
    case ORR_DATA_TYPE_BOOL:
      return PyBool_FromLong (value->v.b);
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_DATE:
    case ORR_DATA_TYPE_TIME:
    case ORR_DATA_TYPE_TIMESTAMP:
      return PyLong_FromLongLong (value->v.i);
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
      return PyFloat_FromDouble (value->v.f);
    case ORR_DATA_TYPE_TEXT:
      data = value->bytes ? g_bytes_get_data (value->bytes, &len) : "";
      return PyUnicode_DecodeUTF8 (data ? data : "", len, "strict");
    case ORR_DATA_TYPE_BINARY:
      data = value->bytes ? g_bytes_get_data (value->bytes, &len) : "";
      return PyBytes_FromStringAndSize (data ? data : "", len);
    case ORR_DATA_TYPE_INVALID:
    default:
      Py_RETURN_NONE;
    }
}

static PyObject *
params_to_python (GPtrArray *params)
{
  guint n = params ? params->len : 0;
  PyObject *list = PyList_New (n);

  if (list == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      const OrrParam *p = g_ptr_array_index (params, i);
      PyObject *raw = value_to_python (&p->value);
      PyObject *item;

      if (raw == NULL)
        {
          Py_DECREF (list);
          return NULL;
        }
      item = Py_BuildValue ("(s i O N)", p->name, (int) p->value.type,
                            (p->flags & ORR_PARAM_OUTPUT) ? Py_True : Py_False, raw);
      if (item == NULL)
        {
          Py_DECREF (list);
          return NULL;
        }
      PyList_SET_ITEM (list, i, item);
    }
  return list;
}

/* --------------------------------------------------------------- output */

typedef struct {
  char *name;
  OrrDataType type;
  gsize width;
  gboolean variable;
  gboolean has_values;
  gboolean has_mask;
  Py_buffer values;
  Py_buffer mask;
  const char **ptrs;   /* this batch's values, variable-length columns */
  gsize *lens;
} OutColumn;

static void
out_column_clear (OutColumn *c)
{
  g_clear_pointer (&c->name, g_free);
  if (c->has_values)
    PyBuffer_Release (&c->values);
  if (c->has_mask)
    PyBuffer_Release (&c->mask);
  c->has_values = c->has_mask = FALSE;
  g_clear_pointer (&c->ptrs, g_free);
  g_clear_pointer (&c->lens, g_free);
}

typedef struct {
  OrrBatch *batch;
  int fd;
  guint64 size;
  OrrBufferDesc *descs;
} Sealed;

static void
sealed_free (gpointer data)
{
  Sealed *s = data;

  g_clear_pointer (&s->batch, orr_batch_unref);
  g_free (s->descs);
  g_free (s);
}

/* Reads one (name, type, values, mask) tuple of the glue into @c. */
static gboolean
out_column_init (OutColumn  *c,
                 PyObject   *spec,
                 Py_ssize_t  n_rows)
{
  PyObject *name, *values, *mask;
  int type;

  if (!PyArg_ParseTuple (spec, "UiOO:column", &name, &type, &values, &mask))
    return FALSE;
  if (type <= ORR_DATA_TYPE_INVALID || type > ORR_DATA_TYPE_LAST)
    {
      PyErr_Format (PyExc_ValueError, _("unknown column type %d"), type);
      return FALSE;
    }
  c->name = _orr_satellite_dup_text (name);
  c->type = type;
  c->variable = orr_data_type_is_variable (type);
  c->width = c->variable ? sizeof (PyObject *) : orr_data_type_get_width (type);

  if (PyObject_GetBuffer (values, &c->values, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
    return FALSE;
  c->has_values = TRUE;
  if (c->values.itemsize != (Py_ssize_t) c->width || c->values.len / c->values.itemsize != n_rows ||
      (c->variable && (c->values.format == NULL || strcmp (c->values.format, "O") != 0)))
    {
      PyErr_Format (PyExc_ValueError, _("column “%s”: values of the wrong size or kind"), c->name);
      return FALSE;
    }
  if (mask != Py_None)
    {
      if (PyObject_GetBuffer (mask, &c->mask, PyBUF_C_CONTIGUOUS) < 0)
        return FALSE;
      c->has_mask = TRUE;
      if (c->mask.itemsize != 1 || c->mask.len != n_rows)
        {
          PyErr_Format (PyExc_ValueError, _("column “%s”: mask of the wrong size"), c->name);
          return FALSE;
        }
    }
  if (c->variable)
    {
      c->ptrs = g_new (const char *, ORR_SATELLITE_BATCH_ROWS);
      c->lens = g_new (gsize, ORR_SATELLITE_BATCH_ROWS);
    }
  return TRUE;
}

static inline gboolean
out_is_null (const OutColumn *c,
             Py_ssize_t       row)
{
  return c->has_mask && ((const guint8 *) c->mask.buf)[row] != 0;
}

static gboolean
varlen_value (const OutColumn  *c,
              PyObject         *v,
              Py_ssize_t        row,
              const char       *output_name,
              const char      **ptr,
              gsize            *len,
              GError          **error)
{
  Py_ssize_t n = 0;

  if (c->type == ORR_DATA_TYPE_TEXT && PyUnicode_Check (v))
    {
      *ptr = PyUnicode_AsUTF8AndSize (v, &n);
      if (*ptr == NULL)
        {
          PyErr_Clear ();
          g_set_error (error, ORR_ERROR, ORR_ERROR_OUTPUT,
                       _("Column “%s” of %s: the text in row %zd cannot be encoded as UTF-8 "
                         "(it holds a lone surrogate)"), c->name, output_name, row + 1);
          return FALSE;
        }
    }
  else if (c->type == ORR_DATA_TYPE_BINARY && PyBytes_Check (v))
    {
      *ptr = PyBytes_AS_STRING (v);
      n = PyBytes_GET_SIZE (v);
    }
  else if (c->type == ORR_DATA_TYPE_BINARY && PyByteArray_Check (v))
    {
      *ptr = PyByteArray_AS_STRING (v);
      n = PyByteArray_GET_SIZE (v);
    }
  else
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_OUTPUT,
                   _("Column “%s” of %s: row %zd holds a %s value among %s values"),
                   c->name, output_name, row + 1, Py_TYPE (v)->tp_name,
                   c->type == ORR_DATA_TYPE_TEXT ? "str" : "bytes");
      return FALSE;
    }
  if ((gsize) n > G_MAXINT32)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_OUTPUT,
                   _("Column “%s” of %s: row %zd holds more than 2 GiB"), c->name, output_name, row + 1);
      return FALSE;
    }
  *len = n;
  return TRUE;
}

/* Fills and seals one result batch of rows [@first, @first + *@n). May take
 * fewer rows (*@n is updated) to bound the variable-length data. */
static Sealed *
build_batch (OrrSchema   *schema,
             OutColumn   *cols,
             guint        n_cols,
             Py_ssize_t   first,
             Py_ssize_t  *n,
             const char  *output_name,
             GError     **error)
{
  g_autoptr(OrrBatch) batch = NULL;
  Sealed *sealed;

  for (guint j = 0; j < n_cols; j++)
    {
      OutColumn *c = &cols[j];
      PyObject **items = (PyObject **) c->values.buf + first;
      gsize total = 0;

      if (!c->variable)
        continue;
      for (Py_ssize_t i = 0; i < *n; i++)
        {
          if (out_is_null (c, first + i))
            {
              c->ptrs[i] = NULL;
              c->lens[i] = 0;
              continue;
            }
          if (!varlen_value (c, items[i], first + i, output_name, &c->ptrs[i], &c->lens[i], error))
            return NULL;
          total += c->lens[i];
          if (total > BATCH_DATA_BYTES && i > 0)
            {
              *n = i;
              break;
            }
        }
    }

  batch = orr_batch_new (schema, *n, TRUE, error);
  if (batch == NULL)
    return NULL;
  for (guint j = 0; j < n_cols; j++)
    {
      OutColumn *c = &cols[j];

      if (c->variable)
        {
          gsize total = 0, pos = 0;
          guint8 *dest;
          gint32 *offsets;

          for (Py_ssize_t i = 0; i < *n; i++)
            total += c->lens[i];
          /* Reserving may move the batch: take the offsets pointer after. */
          dest = orr_batch_reserve_data (batch, j, total, error);
          if (dest == NULL)
            return NULL;
          for (Py_ssize_t i = 0; i < *n; i++)
            {
              if (c->lens[i] > 0)
                memcpy (dest + pos, c->ptrs[i], c->lens[i]);
              pos += c->lens[i];
            }
          orr_batch_commit_data (batch, j, total);
          offsets = (gint32 *) orr_batch_get_values_mut (batch, j);
          pos = 0;
          offsets[0] = 0;
          for (Py_ssize_t i = 0; i < *n; i++)
            {
              pos += c->lens[i];
              offsets[i + 1] = (gint32) pos;
            }
        }
      else if (*n > 0)
        memcpy (orr_batch_get_values_mut (batch, j), (const guint8 *) c->values.buf + first * c->width,
                *n * c->width);

      if (c->has_mask)
        for (Py_ssize_t i = 0; i < *n; i++)
          if (out_is_null (c, first + i))
            orr_batch_set_null (batch, j, i, TRUE);
    }
  orr_batch_set_n_rows (batch, *n);

  sealed = g_new0 (Sealed, 1);
  if (!_orr_batch_seal (batch, &sealed->fd, &sealed->size, &sealed->descs, error))
    {
      g_free (sealed);
      return NULL;
    }
  sealed->batch = g_steal_pointer (&batch);
  return sealed;
}

static gboolean
param_from_python (PyObject  *spec,
                   OrrParam **out)
{
  PyObject *name_obj, *raw;
  int type;
  OrrValue value = { 0 };
  g_autofree char *name = NULL;

  if (!PyArg_ParseTuple (spec, "UiO:param", &name_obj, &type, &raw))
    return FALSE;
  if (type <= ORR_DATA_TYPE_INVALID || type > ORR_DATA_TYPE_LAST)
    {
      PyErr_Format (PyExc_ValueError, _("unknown parameter type %d"), type);
      return FALSE;
    }
  name = _orr_satellite_dup_text (name_obj);
  value.type = type;
  value.is_null = raw == Py_None;
  if (!value.is_null)
    {
      switch (value.type)
        {
        case ORR_DATA_TYPE_BOOL:
          value.v.b = PyObject_IsTrue (raw) > 0;
          break;
        case ORR_DATA_TYPE_INT16:
        case ORR_DATA_TYPE_INT32:
        case ORR_DATA_TYPE_INT64:
        case ORR_DATA_TYPE_DATE:
        case ORR_DATA_TYPE_TIME:
        case ORR_DATA_TYPE_TIMESTAMP:
          value.v.i = PyLong_AsLongLong (raw);
          break;
        case ORR_DATA_TYPE_FLOAT32:
        case ORR_DATA_TYPE_FLOAT64:
        case ORR_DATA_TYPE_DECIMAL:
          value.v.f = PyFloat_AsDouble (raw);
          break;
        case ORR_DATA_TYPE_TEXT:
          {
            Py_ssize_t len;
            const char *s = PyUnicode_Check (raw) ? PyUnicode_AsUTF8AndSize (raw, &len) : NULL;

            if (s == NULL || memchr (s, '\0', len) != NULL)
              {
                if (!PyErr_Occurred ())
                  PyErr_SetString (PyExc_ValueError, _("text parameter is not NUL-free text"));
                return FALSE;
              }
            value.bytes = g_bytes_new (s, len);
          }
          break;
        case ORR_DATA_TYPE_BINARY:
          if (!PyBytes_Check (raw))
            {
              PyErr_SetString (PyExc_TypeError, _("binary parameter is not bytes"));
              return FALSE;
            }
          value.bytes = g_bytes_new (PyBytes_AS_STRING (raw), PyBytes_GET_SIZE (raw));
          break;
        case ORR_DATA_TYPE_INVALID:
        default:
          g_assert_not_reached ();
        }
      if (PyErr_Occurred ())
        {
          orr_value_clear (&value);
          return FALSE;
        }
    }
  *out = orr_param_new (name, ORR_PARAM_OUTPUT, &value);
  orr_value_clear (&value);
  return TRUE;
}

static gboolean
send_or_die (int          sock,
             OrrWireType  type,
             GBytes      *payload,
             int          fd)
{
  g_autoptr(GError) error = NULL;

  if (orr_wire_send (sock, type, payload, fd, &error))
    return TRUE;
  g_printerr ("orrery-satellite: %s\n", error->message);
  return FALSE;
}

/* Sends the result the glue returned: ("ok", n_rows, columns, out_params). */
static int
send_result (int          sock,
             PyObject    *result,
             const char  *output_name,
             guint64      max_output_bytes)
{
  PyObject *tag, *columns, *out_params;
  Py_ssize_t n_rows, n_cols;
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GPtrArray) sealed = g_ptr_array_new_with_free_func (sealed_free);
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) schema_payload = NULL;
  g_autoptr(GBytes) params_payload = NULL;
  g_autoptr(GBytes) done_payload = NULL;
  OutColumn *cols = NULL;
  guint64 total_size = 0;
  int status = ORR_SATELLITE_EXIT_ERROR;

  if (!PyArg_ParseTuple (result, "UnO!O!:result", &tag, &n_rows, &PyList_Type, &columns,
                         &PyList_Type, &out_params) ||
      n_rows < 0)
    {
      if (!PyErr_Occurred ())
        PyErr_SetString (PyExc_ValueError, _("impossible row count"));
      _orr_satellite_send_py_error (sock, _("The satellite glue returned a malformed result"));
      return ORR_SATELLITE_EXIT_ERROR;
    }

  n_cols = PyList_GET_SIZE (columns);
  if (n_cols == 0)
    n_rows = 0;
  cols = g_new0 (OutColumn, MAX (n_cols, 1));
  for (Py_ssize_t j = 0; j < n_cols; j++)
    {
      if (!out_column_init (&cols[j], PyList_GET_ITEM (columns, j), n_rows))
        {
          _orr_satellite_send_py_error (sock, _("The satellite glue returned a malformed column"));
          goto out;
        }
      orr_schema_add_field (schema, cols[j].name, cols[j].type, 0, 0);
    }

  for (Py_ssize_t first = 0; first < n_rows;)
    {
      Py_ssize_t n = MIN (n_rows - first, ORR_SATELLITE_BATCH_ROWS);
      Sealed *s = build_batch (schema, cols, n_cols, first, &n, output_name, &error);

      if (s == NULL)
        {
          send_error (sock, "OrreryOutputError", error->message, NULL, 0);
          goto out;
        }
      g_ptr_array_add (sealed, s);
      total_size += s->size;
      if (max_output_bytes > 0 && total_size > max_output_bytes)
        {
          g_autofree char *message =
            g_strdup_printf (_("The result exceeds the limit of %llu bytes"), (unsigned long long) max_output_bytes);
          send_error (sock, "OrreryOutputError", message, NULL, 0);
          goto out;
        }
      first += n;
    }

  for (Py_ssize_t i = 0; i < PyList_GET_SIZE (out_params); i++)
    {
      OrrParam *p = NULL;

      if (!param_from_python (PyList_GET_ITEM (out_params, i), &p))
        {
          _orr_satellite_send_py_error (sock, _("The satellite glue returned a malformed parameter"));
          goto out;
        }
      g_ptr_array_add (params, p);
    }

  schema_payload = orr_wire_encode_schema (schema);
  if (!send_or_die (sock, ORR_WIRE_RESULT_SCHEMA, schema_payload, -1))
    {
      status = ORR_SATELLITE_EXIT_PROTOCOL;
      goto out;
    }
  for (guint i = 0; i < sealed->len; i++)
    {
      Sealed *s = g_ptr_array_index (sealed, i);
      g_autoptr(GBytes) payload = orr_wire_encode_batch (orr_batch_get_n_rows (s->batch), s->size,
                                                         n_cols, s->descs);

      if (!send_or_die (sock, ORR_WIRE_RESULT_BATCH, payload, s->fd))
        {
          status = ORR_SATELLITE_EXIT_PROTOCOL;
          goto out;
        }
      /* Sent: the engine has its own descriptor now. */
      g_clear_pointer (&s->batch, orr_batch_unref);
    }
  params_payload = orr_wire_encode_params (params);
  done_payload = orr_wire_encode_u64 ((guint64) n_rows);
  if (!send_or_die (sock, ORR_WIRE_OUTPUT_PARAMS, params_payload, -1) ||
      !send_or_die (sock, ORR_WIRE_DONE, done_payload, -1))
    {
      status = ORR_SATELLITE_EXIT_PROTOCOL;
      goto out;
    }
  status = ORR_SATELLITE_EXIT_OK;

out:
  for (Py_ssize_t j = 0; j < n_cols; j++)
    out_column_clear (&cols[j]);
  g_free (cols);
  return status;
}

static int
send_script_error (int       sock,
                   PyObject *result)
{
  PyObject *tag, *kind, *message, *traceback;
  int line;
  g_autofree char *kind_text = NULL;
  g_autofree char *message_text = NULL;
  g_autofree char *traceback_text = NULL;

  if (!PyArg_ParseTuple (result, "UOOOi:error", &tag, &kind, &message, &traceback, &line))
    {
      _orr_satellite_send_py_error (sock, _("The satellite glue returned a malformed error"));
      return ORR_SATELLITE_EXIT_ERROR;
    }
  kind_text = _orr_satellite_dup_text (kind);
  message_text = _orr_satellite_dup_text (message);
  traceback_text = _orr_satellite_dup_text (traceback);
  send_error (sock, kind_text, message_text, traceback_text, line);
  return ORR_SATELLITE_EXIT_ERROR;
}

/* ------------------------------------------------------------------ job */

static int
protocol_failure (GError *error)
{
  g_printerr ("orrery-satellite: %s\n", error->message);
  return ORR_SATELLITE_EXIT_PROTOCOL;
}

int
_orr_satellite_run_job (int sock)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrWireMessage) msg = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  OrrWireJob job = { 0 };
  PyObject *pieces = NULL, *schema_list = NULL, *params_list = NULL, *result = NULL;
  PyObject *partition_list = NULL, *order_list = NULL;
  const char *input_name, *output_name;
  int status;

  msg = recv_expected (sock, ORR_WIRE_JOB, &error);
  if (msg == NULL || !orr_wire_decode_job (msg->payload, &job, &error))
    return protocol_failure (error);
  g_clear_pointer (&msg, orr_wire_message_free);

  msg = recv_expected (sock, ORR_WIRE_SCHEMA, &error);
  if (msg == NULL || (schema = orr_wire_decode_schema (msg->payload, &error)) == NULL)
    {
      orr_wire_job_clear (&job);
      return protocol_failure (error);
    }
  g_clear_pointer (&msg, orr_wire_message_free);

  /* Each batch is converted as it arrives, while the engine fetches the
   * next one (the two are separate processes, so this runs in parallel). */
  schema_list = schema_to_python (schema);
  if (schema_list == NULL)
    goto python_failure;
  pieces = PyObject_CallMethod (glue, "InputBuilder", "(O)", schema_list);
  if (pieces == NULL)
    goto python_failure;
  for (;;)
    {
      PyObject *piece, *added;

      msg = orr_wire_recv (sock, &error);
      if (msg == NULL)
        goto protocol;
      if (msg->type == ORR_WIRE_END_INPUT && msg->fd < 0 && g_bytes_get_size (msg->payload) == 0)
        break;
      if (msg->type != ORR_WIRE_BATCH)
        {
          g_set_error (&error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                       _("Unexpected message %u from the engine (expected a batch or the end of input)"),
                       msg->type);
          goto protocol;
        }
      piece = receive_batch (schema, msg, &error);
      if (piece == NULL)
        {
          if (error != NULL)
            goto protocol;
          goto python_failure;
        }
      added = PyObject_CallMethod (pieces, "add", "(O)", piece);
      Py_DECREF (piece);
      if (added == NULL)
        goto python_failure;
      Py_DECREF (added);
      g_clear_pointer (&msg, orr_wire_message_free);
    }
  g_clear_pointer (&msg, orr_wire_message_free);

  input_name = job.input_name && job.input_name[0] ? job.input_name : "InputDataSet";
  output_name = job.output_name && job.output_name[0] ? job.output_name : "OutputDataSet";
  params_list = params_to_python (job.params);
  partition_list = strv_to_python (job.partition_by);
  order_list = strv_to_python (job.order_by);
  if (params_list == NULL || partition_list == NULL || order_list == NULL)
    goto python_failure;

  _orr_satellite_sink_start (sock, job.max_message_bytes);
  result = PyObject_CallMethod (glue, "run_job", "sssOOOOOKi", job.script, input_name, output_name,
                                schema_list, pieces, params_list, partition_list, order_list,
                                (unsigned long long) job.rows_per_read,
                                (job.flags & ORR_WIRE_JOB_SQLSERVER_TYPES) != 0);
  _orr_satellite_sink_stop ();
  Py_CLEAR (pieces);
  if (result == NULL)
    goto python_failure;

  if (PyTuple_Check (result) && PyTuple_GET_SIZE (result) > 0 &&
      PyUnicode_Check (PyTuple_GET_ITEM (result, 0)) &&
      PyUnicode_CompareWithASCIIString (PyTuple_GET_ITEM (result, 0), "ok") == 0)
    status = send_result (sock, result, output_name, job.max_output_bytes);
  else
    status = send_script_error (sock, result);
  goto out;

protocol:
  status = protocol_failure (error);
  goto out;

python_failure:
  _orr_satellite_sink_stop ();
  _orr_satellite_send_py_error (sock, _("The satellite failed"));
  status = ORR_SATELLITE_EXIT_ERROR;

out:
  Py_XDECREF (result);
  Py_XDECREF (order_list);
  Py_XDECREF (partition_list);
  Py_XDECREF (params_list);
  Py_XDECREF (schema_list);
  Py_XDECREF (pieces);
  orr_wire_job_clear (&job);
  return status;
}
