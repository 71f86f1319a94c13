/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-satellite"

#include "config.h"

#include <Python.h>
#include <datetime.h>
#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "orr-satellite-private.h"

/*
 * The builtin `_orrery` module: the per-row loops of the glue
 * (orrery_satellite.py) written in C, and the stream that carries the
 * script's sys.stdout/sys.stderr to the engine while it runs.
 *
 * Object arrays are numpy arrays of dtype=object made by the glue; they are
 * reached through the buffer protocol (format "O": an array of PyObject *),
 * so this file needs no numpy headers.
 */

#define USEC_PER_DAY G_GINT64_CONSTANT (86400000000)
#define DATE_MIN_DAYS (-719162)  /* 0001-01-01 */
#define DATE_MAX_DAYS 2932896    /* 9999-12-31 */

/* Kinds of values in an object column, as classify() reports them. */
enum {
  KIND_STR = 1,
  KIND_BYTES,
  KIND_BOOL,
  KIND_INT,
  KIND_FLOAT,
  KIND_DECIMAL,
  KIND_DATETIME,
  KIND_DATE,
  KIND_TIME,
  KIND_DATETIME64,
  KIND_OTHER,
  N_KINDS
};

/* Types and sentinels of numpy, pandas and decimal, given by setup(). */
static struct {
  PyObject *na;
  PyObject *nat;
  PyObject *np_integer;
  PyObject *np_floating;
  PyObject *np_bool;
  PyObject *np_datetime64;
  PyObject *decimal;
} known;

/* ----------------------------------------------------------- dates */

static gint64
floor_div (gint64 a,
           gint64 b)
{
  gint64 q = a / b;

  if ((a % b) != 0 && ((a < 0) != (b < 0)))
    q--;
  return q;
}

/* Howard Hinnant's civil calendar algorithms (proleptic Gregorian). */
static void
civil_from_days (gint64  z,
                 int    *year,
                 int    *month,
                 int    *day)
{
  gint64 era, y;
  guint doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (guint) (z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = (gint64) yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *day = (int) (doy - (153 * mp + 2) / 5 + 1);
  *month = (int) (mp < 10 ? mp + 3 : mp - 9);
  *year = (int) (y + (*month <= 2));
}

static gint64
days_from_civil (gint64 y,
                 guint  m,
                 guint  d)
{
  gint64 era;
  guint yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (guint) (y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (gint64) doe - 719468;
}

/* ----------------------------------------------------------- Mapping */

typedef struct {
  PyObject_HEAD
  void *base;
  Py_ssize_t size;
} Mapping;

static void
mapping_dealloc (PyObject *self)
{
  Mapping *m = (Mapping *) self;

  if (m->base != NULL)
    munmap (m->base, m->size);
  Py_TYPE (self)->tp_free (self);
}

static int
mapping_getbuffer (PyObject  *self,
                   Py_buffer *view,
                   int        flags)
{
  Mapping *m = (Mapping *) self;

  /* Writable: the mapping is private, writes stay in this process. */
  return PyBuffer_FillInfo (view, self, m->base, m->size, 0, flags);
}

static PyBufferProcs mapping_as_buffer = {
  .bf_getbuffer = mapping_getbuffer,
};

static PyTypeObject MappingType = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "_orrery.Mapping",
  .tp_basicsize = sizeof (Mapping),
  .tp_dealloc = mapping_dealloc,
  .tp_as_buffer = &mapping_as_buffer,
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A private copy-on-write mapping of one input batch.",
};

PyObject *
_orr_satellite_mapping_new (void  *base,
                            gsize  size)
{
  Mapping *m = PyObject_New (Mapping, &MappingType);

  if (m == NULL)
    {
      munmap (base, size);
      return NULL;
    }
  m->base = base;
  m->size = (Py_ssize_t) size;
  return (PyObject *) m;
}

static gboolean
mapping_has (Mapping    *m,
             Py_ssize_t  off,
             Py_ssize_t  len)
{
  return off >= 0 && len >= 0 && off <= m->size && len <= m->size - off;
}

/* ----------------------------------------------------------- buffers */

static gboolean
get_array (PyObject   *obj,
           Py_buffer  *view,
           Py_ssize_t  itemsize,
           gboolean    objects,
           gboolean    writable)
{
  int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);

  if (PyObject_GetBuffer (obj, view, flags) < 0)
    return FALSE;
  if (view->itemsize != itemsize || view->ndim > 1 ||
      (objects && (view->format == NULL || strcmp (view->format, "O") != 0)))
    {
      PyBuffer_Release (view);
      PyErr_Format (PyExc_TypeError, _("expected a one-dimensional %s array of %zd-byte items"),
                    objects ? _("object") : _("numeric"), itemsize);
      return FALSE;
    }
  return TRUE;
}

static Py_ssize_t
array_len (const Py_buffer *view)
{
  return view->len / view->itemsize;
}

/* ----------------------------------------------------------- decoding */

static inline gboolean
bit_is_null (const guint8 *validity,
             Py_ssize_t    row)
{
  return validity != NULL && (validity[row >> 3] & (1u << (row & 7))) == 0;
}

static PyObject *
decode_varlen (PyObject *module,
               PyObject *args)
{
  PyObject *out, *mapping_obj;
  Py_ssize_t start, values_off, data_off, data_len, n, validity_off;
  int binary;
  Mapping *m;
  Py_buffer view;
  PyObject **slots;
  const gint32 *offsets;
  const char *data;
  const guint8 *validity = NULL;

  if (!PyArg_ParseTuple (args, "OnO!nnnnnp:decode_varlen", &out, &start, &MappingType, &mapping_obj,
                         &values_off, &data_off, &data_len, &n, &validity_off, &binary))
    return NULL;
  m = (Mapping *) mapping_obj;
  if (n < 0 || n >= G_MAXINT32 || values_off % 4 != 0 ||
      !mapping_has (m, values_off, (n + 1) * 4) || !mapping_has (m, data_off, data_len) ||
      (validity_off >= 0 && !mapping_has (m, validity_off, (n + 7) / 8)))
    {
      PyErr_SetString (PyExc_ValueError, _("column buffers lie outside the batch"));
      return NULL;
    }
  if (!get_array (out, &view, sizeof (PyObject *), TRUE, TRUE))
    return NULL;
  if (start < 0 || start > array_len (&view) - n)
    {
      PyBuffer_Release (&view);
      PyErr_SetString (PyExc_ValueError, _("rows outside the output array"));
      return NULL;
    }

  slots = (PyObject **) view.buf + start;
  offsets = (const gint32 *) ((const char *) m->base + values_off);
  data = (const char *) m->base + data_off;
  if (validity_off >= 0)
    validity = (const guint8 *) m->base + validity_off;

  for (Py_ssize_t i = 0; i < n; i++)
    {
      gint32 s = offsets[i], e = offsets[i + 1];
      PyObject *value;

      if (bit_is_null (validity, i))
        continue;
      if (s < 0 || e < s || e > data_len)
        {
          PyBuffer_Release (&view);
          PyErr_Format (PyExc_ValueError, _("row %zd: offsets out of range"), i + 1);
          return NULL;
        }
      if (binary)
        value = PyBytes_FromStringAndSize (data + s, e - s);
      else
        value = PyUnicode_DecodeUTF8 (data + s, e - s, "strict");
      if (value == NULL)
        {
          PyBuffer_Release (&view);
          return NULL;
        }
      Py_XSETREF (slots[i], value);
    }

  PyBuffer_Release (&view);
  Py_RETURN_NONE;
}

static PyObject *
temporal_object (int         type,
                 gint64      v,
                 Py_ssize_t  row)
{
  gint64 days = 0, us = 0;
  int y, mo, d;

  switch (type)
    {
    case ORR_DATA_TYPE_DATE:
      days = v;
      break;
    case ORR_DATA_TYPE_TIME:
      if (v < 0 || v >= USEC_PER_DAY)
        {
          PyErr_Format (PyExc_ValueError, _("row %zd holds a time of %lld µs, outside one day"),
                        row + 1, (long long) v);
          return NULL;
        }
      return PyTime_FromTime ((int) (v / G_GINT64_CONSTANT (3600000000)),
                              (int) (v / 60000000 % 60),
                              (int) (v / 1000000 % 60),
                              (int) (v % 1000000));
    case ORR_DATA_TYPE_TIMESTAMP:
      days = floor_div (v, USEC_PER_DAY);
      us = v - days * USEC_PER_DAY;
      break;
    default:
      PyErr_SetString (PyExc_ValueError, _("not a date, time or timestamp type"));
      return NULL;
    }

  if (days < DATE_MIN_DAYS || days > DATE_MAX_DAYS)
    {
      PyErr_Format (PyExc_ValueError,
                    _("row %zd holds a %s %lld days from 1970-01-01, outside the years 1 to 9999 "
                      "that Python's datetime can hold"),
                    row + 1, type == ORR_DATA_TYPE_DATE ? _("date") : _("timestamp"), (long long) days);
      return NULL;
    }
  civil_from_days (days, &y, &mo, &d);
  if (type == ORR_DATA_TYPE_DATE)
    return PyDate_FromDate (y, mo, d);
  return PyDateTime_FromDateAndTime (y, mo, d,
                                     (int) (us / G_GINT64_CONSTANT (3600000000)),
                                     (int) (us / 60000000 % 60),
                                     (int) (us / 1000000 % 60),
                                     (int) (us % 1000000));
}

static PyObject *
decode_temporal (PyObject *module,
                 PyObject *args)
{
  PyObject *out, *mapping_obj;
  Py_ssize_t start, values_off, n, validity_off, width;
  int type;
  Mapping *m;
  Py_buffer view;
  PyObject **slots;
  const guint8 *values;
  const guint8 *validity = NULL;

  if (!PyArg_ParseTuple (args, "OnO!nnni:decode_temporal", &out, &start, &MappingType, &mapping_obj,
                         &values_off, &n, &validity_off, &type))
    return NULL;
  m = (Mapping *) mapping_obj;
  width = type == ORR_DATA_TYPE_DATE ? 4 : 8;
  if (n < 0 || n >= G_MAXINT32 || values_off % width != 0 ||
      !mapping_has (m, values_off, n * width) ||
      (validity_off >= 0 && !mapping_has (m, validity_off, (n + 7) / 8)))
    {
      PyErr_SetString (PyExc_ValueError, _("column buffers lie outside the batch"));
      return NULL;
    }
  if (!get_array (out, &view, sizeof (PyObject *), TRUE, TRUE))
    return NULL;
  if (start < 0 || start > array_len (&view) - n)
    {
      PyBuffer_Release (&view);
      PyErr_SetString (PyExc_ValueError, _("rows outside the output array"));
      return NULL;
    }

  slots = (PyObject **) view.buf + start;
  values = (const guint8 *) m->base + values_off;
  if (validity_off >= 0)
    validity = (const guint8 *) m->base + validity_off;

  for (Py_ssize_t i = 0; i < n; i++)
    {
      gint64 v;
      PyObject *value;

      if (bit_is_null (validity, i))
        continue;
      if (width == 4)
        v = ((const gint32 *) values)[i];
      else
        v = ((const gint64 *) values)[i];
      value = temporal_object (type, v, i);
      if (value == NULL)
        {
          PyBuffer_Release (&view);
          return NULL;
        }
      Py_XSETREF (slots[i], value);
    }

  PyBuffer_Release (&view);
  Py_RETURN_NONE;
}

/* ----------------------------------------------------------- classifying */

static int
isinstance_known (PyTypeObject *type,
                  PyObject     *known_type)
{
  return known_type != NULL && PyType_Check (known_type) &&
         PyType_IsSubtype (type, (PyTypeObject *) known_type);
}

static int
kind_of_type (PyTypeObject *t)
{
  if (PyType_IsSubtype (t, &PyUnicode_Type))
    return KIND_STR;
  if (PyType_IsSubtype (t, &PyBytes_Type) || PyType_IsSubtype (t, &PyByteArray_Type) ||
      PyType_IsSubtype (t, &PyMemoryView_Type))
    return KIND_BYTES;
  /* bool before int: bool is an int subclass, but not an int here. */
  if (PyType_IsSubtype (t, &PyBool_Type) || isinstance_known (t, known.np_bool))
    return KIND_BOOL;
  if (PyType_IsSubtype (t, &PyLong_Type) || isinstance_known (t, known.np_integer))
    return KIND_INT;
  if (PyType_IsSubtype (t, &PyFloat_Type) || isinstance_known (t, known.np_floating))
    return KIND_FLOAT;
  if (isinstance_known (t, known.decimal))
    return KIND_DECIMAL;
  /* datetime before date: datetime is a date subclass. */
  if (PyType_IsSubtype (t, PyDateTimeAPI->DateTimeType))
    return KIND_DATETIME;
  if (PyType_IsSubtype (t, PyDateTimeAPI->DateType))
    return KIND_DATE;
  if (PyType_IsSubtype (t, PyDateTimeAPI->TimeType))
    return KIND_TIME;
  if (isinstance_known (t, known.np_datetime64))
    return KIND_DATETIME64;
  return KIND_OTHER;
}

#define TYPES_PER_KIND 4

/* classify(values, nulls) -> {kind: [types]}
 * Sets nulls[i] for None, pandas.NA, pandas.NaT and float NaN, and says
 * which kinds of value (and which Python types of each) the rest holds. */
static PyObject *
classify (PyObject *module,
          PyObject *args)
{
  PyObject *values_obj, *nulls_obj;
  Py_buffer values, nulls;
  PyObject **items;
  guint8 *is_null;
  PyTypeObject *seen[N_KINDS][TYPES_PER_KIND] = { { NULL } };
  PyTypeObject *last_type = NULL, *last_recorded = NULL;
  int last_kind = 0;
  PyObject *result;
  Py_ssize_t n;

  if (!PyArg_ParseTuple (args, "OO:classify", &values_obj, &nulls_obj))
    return NULL;
  if (!get_array (values_obj, &values, sizeof (PyObject *), TRUE, FALSE))
    return NULL;
  if (!get_array (nulls_obj, &nulls, 1, FALSE, TRUE))
    {
      PyBuffer_Release (&values);
      return NULL;
    }
  n = array_len (&values);
  if (array_len (&nulls) != n)
    {
      PyBuffer_Release (&values);
      PyBuffer_Release (&nulls);
      PyErr_SetString (PyExc_ValueError, _("values and nulls differ in length"));
      return NULL;
    }

  items = values.buf;
  is_null = nulls.buf;
  for (Py_ssize_t i = 0; i < n; i++)
    {
      PyObject *v = items[i];
      PyTypeObject *t;
      int kind;

      if (v == NULL || v == Py_None || v == known.na || v == known.nat)
        {
          is_null[i] = 1;
          continue;
        }
      t = Py_TYPE (v);
      if (t != last_type)
        {
          last_type = t;
          last_kind = kind_of_type (t);
        }
      kind = last_kind;
      if (kind == KIND_FLOAT)
        {
          double x = PyFloat_Check (v) ? PyFloat_AS_DOUBLE (v) : PyFloat_AsDouble (v);

          if (x == -1.0 && PyErr_Occurred ())
            PyErr_Clear ();
          else if (isnan (x))
            {
              is_null[i] = 1;
              continue;
            }
        }
      is_null[i] = 0;
      if (t == last_recorded)
        continue;
      last_recorded = t;
      for (int j = 0; j < TYPES_PER_KIND; j++)
        {
          if (seen[kind][j] == t)
            break;
          if (seen[kind][j] == NULL)
            {
              seen[kind][j] = t;
              break;
            }
        }
    }
  PyBuffer_Release (&values);
  PyBuffer_Release (&nulls);

  result = PyDict_New ();
  if (result == NULL)
    return NULL;
  for (int kind = 1; kind < N_KINDS; kind++)
    {
      PyObject *list, *key;
      int status;

      if (seen[kind][0] == NULL)
        continue;
      list = PyList_New (0);
      key = PyLong_FromLong (kind);
      if (list == NULL || key == NULL)
        {
          Py_XDECREF (list);
          Py_XDECREF (key);
          Py_DECREF (result);
          return NULL;
        }
      for (int j = 0; j < TYPES_PER_KIND && seen[kind][j] != NULL; j++)
        if (PyList_Append (list, (PyObject *) seen[kind][j]) < 0)
          {
            Py_DECREF (list);
            Py_DECREF (key);
            Py_DECREF (result);
            return NULL;
          }
      status = PyDict_SetItem (result, key, list);
      Py_DECREF (list);
      Py_DECREF (key);
      if (status < 0)
        {
          Py_DECREF (result);
          return NULL;
        }
    }
  return result;
}

/* ----------------------------------------------------------- converting */

static gboolean
timedelta_us (PyObject *delta,
              gint64   *us)
{
  if (!PyDelta_Check (delta))
    {
      PyErr_SetString (PyExc_TypeError, _("utcoffset() did not return a timedelta"));
      return FALSE;
    }
  *us = (gint64) PyDateTime_DELTA_GET_DAYS (delta) * USEC_PER_DAY +
        (gint64) PyDateTime_DELTA_GET_SECONDS (delta) * 1000000 +
        PyDateTime_DELTA_GET_MICROSECONDS (delta);
  return TRUE;
}

/* Microseconds since 1970-01-01 of a datetime; aware ones are taken in UTC. */
static gboolean
datetime_us (PyObject *v,
             gint64   *out)
{
  gint64 days = days_from_civil (PyDateTime_GET_YEAR (v), PyDateTime_GET_MONTH (v),
                                 PyDateTime_GET_DAY (v));
  gint64 us = days * USEC_PER_DAY +
              (gint64) PyDateTime_DATE_GET_HOUR (v) * G_GINT64_CONSTANT (3600000000) +
              (gint64) PyDateTime_DATE_GET_MINUTE (v) * 60000000 +
              (gint64) PyDateTime_DATE_GET_SECOND (v) * 1000000 +
              PyDateTime_DATE_GET_MICROSECOND (v);

  if (PyDateTime_DATE_GET_TZINFO (v) != Py_None)
    {
      PyObject *offset = PyObject_CallMethod (v, "utcoffset", NULL);
      gint64 off = 0;

      if (offset == NULL)
        return FALSE;
      if (offset != Py_None && !timedelta_us (offset, &off))
        {
          Py_DECREF (offset);
          return FALSE;
        }
      Py_DECREF (offset);
      us -= off;
    }
  *out = us;
  return TRUE;
}

static gboolean
convert_one (int         type,
             PyObject   *v,
             guint8     *dest,
             guint8     *is_null,
             Py_ssize_t  row)
{
  switch (type)
    {
    case ORR_DATA_TYPE_BOOL:
      {
        int truth = PyObject_IsTrue (v);

        if (truth < 0)
          return FALSE;
        *dest = truth ? 1 : 0;
        return TRUE;
      }
    case ORR_DATA_TYPE_INT64:
      {
        PyObject *index;
        long long x;
        int overflow = 0;

        if (PyBool_Check (v))
          break;
        index = PyNumber_Index (v);
        if (index == NULL)
          return FALSE;
        x = PyLong_AsLongLongAndOverflow (index, &overflow);
        Py_DECREF (index);
        if (overflow != 0)
          {
            PyErr_Format (PyExc_OverflowError,
                          _("row %zd holds %R, which does not fit in a 64-bit integer"), row + 1, v);
            return FALSE;
          }
        if (x == -1 && PyErr_Occurred ())
          return FALSE;
        memcpy (dest, &(gint64) { x }, 8);
        return TRUE;
      }
    case ORR_DATA_TYPE_FLOAT64:
      {
        double x = PyFloat_AsDouble (v);

        if (x == -1.0 && PyErr_Occurred ())
          {
            if (PyErr_ExceptionMatches (PyExc_OverflowError))
              {
                PyErr_Clear ();
                PyErr_Format (PyExc_OverflowError,
                              _("row %zd holds %R, which is too large for a 64-bit float"), row + 1, v);
              }
            return FALSE;
          }
        if (isnan (x))
          *is_null = 1;
        memcpy (dest, &x, 8);
        return TRUE;
      }
    case ORR_DATA_TYPE_DATE:
      {
        gint32 days;

        if (!PyDate_Check (v) || PyDateTime_Check (v))
          break;
        days = (gint32) days_from_civil (PyDateTime_GET_YEAR (v), PyDateTime_GET_MONTH (v),
                                         PyDateTime_GET_DAY (v));
        memcpy (dest, &days, 4);
        return TRUE;
      }
    case ORR_DATA_TYPE_TIME:
      {
        gint64 us;

        if (!PyTime_Check (v))
          break;
        us = (gint64) PyDateTime_TIME_GET_HOUR (v) * G_GINT64_CONSTANT (3600000000) +
             (gint64) PyDateTime_TIME_GET_MINUTE (v) * 60000000 +
             (gint64) PyDateTime_TIME_GET_SECOND (v) * 1000000 +
             PyDateTime_TIME_GET_MICROSECOND (v);
        memcpy (dest, &us, 8);
        return TRUE;
      }
    case ORR_DATA_TYPE_TIMESTAMP:
      {
        gint64 us;

        if (!PyDateTime_Check (v))
          break;
        if (!datetime_us (v, &us))
          return FALSE;
        memcpy (dest, &us, 8);
        return TRUE;
      }
    default:
      PyErr_SetString (PyExc_ValueError, _("cannot convert objects to this type"));
      return FALSE;
    }

  PyErr_Format (PyExc_TypeError, _("row %zd holds a %s value"), row + 1, Py_TYPE (v)->tp_name);
  return FALSE;
}

/* convert(values, nulls, out, type): fills the numeric array @out from the
 * objects of @values, skipping rows flagged in @nulls (FLOAT64 flags NaN). */
static PyObject *
convert (PyObject *module,
         PyObject *args)
{
  PyObject *values_obj, *nulls_obj, *out_obj;
  int type;
  Py_buffer values, nulls, out;
  Py_ssize_t width, n;
  PyObject **items;
  guint8 *is_null, *dest;

  if (!PyArg_ParseTuple (args, "OOOi:convert", &values_obj, &nulls_obj, &out_obj, &type))
    return NULL;
  width = orr_data_type_get_width (type);
  if (width == 0 || orr_data_type_is_variable (type))
    {
      PyErr_SetString (PyExc_ValueError, _("not a fixed-width type"));
      return NULL;
    }
  if (!get_array (values_obj, &values, sizeof (PyObject *), TRUE, FALSE))
    return NULL;
  if (!get_array (nulls_obj, &nulls, 1, FALSE, TRUE))
    {
      PyBuffer_Release (&values);
      return NULL;
    }
  if (!get_array (out_obj, &out, width, FALSE, TRUE))
    {
      PyBuffer_Release (&values);
      PyBuffer_Release (&nulls);
      return NULL;
    }
  n = array_len (&values);
  if (array_len (&nulls) != n || array_len (&out) != n)
    {
      PyErr_SetString (PyExc_ValueError, _("arrays differ in length"));
      goto fail;
    }

  items = values.buf;
  is_null = nulls.buf;
  dest = out.buf;
  for (Py_ssize_t i = 0; i < n; i++)
    {
      if (is_null[i])
        {
          memset (dest + i * width, 0, width);
          continue;
        }
      if (!convert_one (type, items[i], dest + i * width, &is_null[i], i))
        goto fail;
    }

  PyBuffer_Release (&values);
  PyBuffer_Release (&nulls);
  PyBuffer_Release (&out);
  Py_RETURN_NONE;

fail:
  PyBuffer_Release (&values);
  PyBuffer_Release (&nulls);
  PyBuffer_Release (&out);
  return NULL;
}

static PyObject *
setup (PyObject *module,
       PyObject *args)
{
  PyObject *na, *nat, *np_integer, *np_floating, *np_bool, *np_datetime64, *decimal;

  if (!PyArg_ParseTuple (args, "OOOOOOO:setup", &na, &nat, &np_integer, &np_floating, &np_bool,
                         &np_datetime64, &decimal))
    return NULL;
  Py_XSETREF (known.na, Py_NewRef (na));
  Py_XSETREF (known.nat, Py_NewRef (nat));
  Py_XSETREF (known.np_integer, Py_NewRef (np_integer));
  Py_XSETREF (known.np_floating, Py_NewRef (np_floating));
  Py_XSETREF (known.np_bool, Py_NewRef (np_bool));
  Py_XSETREF (known.np_datetime64, Py_NewRef (np_datetime64));
  Py_XSETREF (known.decimal, Py_NewRef (decimal));
  Py_RETURN_NONE;
}

/* ----------------------------------------------------------- text */

char *
_orr_satellite_dup_text (PyObject *obj)
{
  PyObject *str = NULL, *bytes = NULL;
  const char *data;
  Py_ssize_t len;
  GString *out;

  if (obj == NULL)
    return g_strdup ("");
  str = PyObject_Str (obj);
  if (str == NULL)
    {
      PyErr_Clear ();
      return g_strdup ("<unprintable>");
    }
  data = PyUnicode_AsUTF8AndSize (str, &len);
  if (data == NULL)
    {
      PyErr_Clear ();
      bytes = PyUnicode_AsEncodedString (str, "utf-8", "backslashreplace");
      if (bytes == NULL)
        {
          PyErr_Clear ();
          Py_DECREF (str);
          return g_strdup ("<unprintable>");
        }
      data = PyBytes_AS_STRING (bytes);
      len = PyBytes_GET_SIZE (bytes);
    }

  out = g_string_sized_new (len);
  for (Py_ssize_t i = 0; i < len; i++)
    {
      if (data[i] == '\0')
        g_string_append (out, "\\x00");
      else
        g_string_append_c (out, data[i]);
    }
  Py_XDECREF (bytes);
  Py_DECREF (str);
  return g_string_free (out, FALSE);
}

/* ----------------------------------------------------------- streaming */

#define SINK_FLUSH_BYTES 8192
#define SINK_FLUSH_USEC  (50 * G_TIME_SPAN_MILLISECOND)
#define SINK_CHUNK       (1024 * 1024)

/* sys.stdout and sys.stderr of the running script. Text is kept until a
 * line ends, 8 KiB gather or 50 ms pass, whichever comes first, but lines
 * are sent at most every 50 ms (a loop printing a million lines makes a
 * few hundred messages, not a million); a thread sends what has waited
 * 50 ms, so a line printed before a long computation shows at once. The
 * mutex also serialises writes to the socket. */
static struct {
  GMutex lock;
  GCond cond;
  GThread *thread;
  int sock;               /* -1: no job; writes go to fds 1 and 2 */
  gboolean stopping;
  gboolean stopped;
  GString *pending;
  OrrWireType pending_type;
  gint64 pending_since;   /* when the oldest unsent byte came */
  gint64 last_send;
  guint64 limit;
  guint64 total;
  gboolean truncated;
  char last_char;         /* last byte sent on any stream */
} sink = { .sock = -1 };

static void
sink_send_locked (OrrWireType  type,
                  const char  *data,
                  gsize        len)
{
  while (len > 0)
    {
      gsize cut = MIN (len, SINK_CHUNK);
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GError) error = NULL;

      /* Never split a UTF-8 sequence: every message must be valid text. */
      while (cut < len && cut > 0 && ((guchar) data[cut] & 0xC0) == 0x80)
        cut--;
      if (cut == 0)
        cut = MIN (len, SINK_CHUNK);
      payload = orr_wire_encode_string (data, cut);
      if (!orr_wire_send (sink.sock, type, payload, -1, &error))
        {
          /* The engine is gone: nobody will read the result either. */
          g_printerr ("orrery-satellite: %s\n", error->message);
          _exit (ORR_SATELLITE_EXIT_PROTOCOL);
        }
      sink.last_char = data[cut - 1];
      data += cut;
      len -= cut;
    }
  sink.last_send = g_get_monotonic_time ();
}

static void
sink_flush_locked (void)
{
  if (sink.pending == NULL || sink.pending->len == 0)
    return;
  sink_send_locked (sink.pending_type, sink.pending->str, sink.pending->len);
  g_string_truncate (sink.pending, 0);
}

static gpointer
sink_thread (gpointer data)
{
  g_mutex_lock (&sink.lock);
  while (!sink.stopping)
    {
      if (sink.pending->len == 0)
        g_cond_wait (&sink.cond, &sink.lock);
      else if (g_get_monotonic_time () >= sink.pending_since + SINK_FLUSH_USEC)
        sink_flush_locked ();
      else
        g_cond_wait_until (&sink.cond, &sink.lock, sink.pending_since + SINK_FLUSH_USEC);
    }
  g_mutex_unlock (&sink.lock);
  return NULL;
}

void
_orr_satellite_sink_start (int     sock,
                           guint64 limit)
{
  g_mutex_lock (&sink.lock);
  sink.sock = sock;
  sink.limit = limit;
  sink.total = 0;
  sink.truncated = FALSE;
  sink.stopping = FALSE;
  sink.stopped = FALSE;
  sink.last_char = '\n';
  sink.last_send = 0;
  if (sink.pending == NULL)
    sink.pending = g_string_new (NULL);
  g_mutex_unlock (&sink.lock);
  sink.thread = g_thread_new ("orr-output", sink_thread, NULL);
}

void
_orr_satellite_sink_stop (void)
{
  if (sink.thread == NULL)
    return;
  g_mutex_lock (&sink.lock);
  sink_flush_locked ();
  sink.stopping = TRUE;
  g_cond_signal (&sink.cond);
  g_mutex_unlock (&sink.lock);
  g_thread_join (g_steal_pointer (&sink.thread));
  g_mutex_lock (&sink.lock);
  sink.stopped = TRUE;
  g_mutex_unlock (&sink.lock);
}

static void
sink_append_locked (OrrWireType  type,
                    const char  *data,
                    gsize        len)
{
  if (len == 0)
    return;
  if (sink.pending->len > 0 && sink.pending_type != type)
    sink_flush_locked ();
  if (sink.pending->len == 0)
    {
      sink.pending_since = g_get_monotonic_time ();
      g_cond_signal (&sink.cond);
    }
  sink.pending_type = type;
  g_string_append_len (sink.pending, data, len);
}

static void
sink_write (OrrWireType  type,
            const char  *data,
            gsize        len)
{
  gboolean newline;

  g_mutex_lock (&sink.lock);
  if (sink.sock < 0)
    {
      int fd = type == ORR_WIRE_STDOUT ? STDOUT_FILENO : STDERR_FILENO;

      g_mutex_unlock (&sink.lock);
      while (len > 0)
        {
          ssize_t n = write (fd, data, len);

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          data += n;
          len -= n;
        }
      return;
    }
  if (sink.stopped || sink.stopping || sink.truncated)
    {
      g_mutex_unlock (&sink.lock);
      return;
    }

  if (sink.limit > 0 && len > sink.limit - sink.total)
    {
      gsize keep = sink.limit - sink.total;
      g_autofree char *notice = NULL;

      while (keep > 0 && ((guchar) data[keep] & 0xC0) == 0x80)
        keep--;
      sink_append_locked (type, data, keep);
      sink_flush_locked ();
      sink.total = sink.limit;
      sink.truncated = TRUE;
      notice = g_strdup_printf (_("%s[output truncated: more than %llu bytes]\n"),
                                sink.last_char == '\n' ? "" : "\n", (unsigned long long) sink.limit);
      sink_send_locked (type, notice, strlen (notice));
      g_mutex_unlock (&sink.lock);
      return;
    }

  sink.total += len;
  sink_append_locked (type, data, len);
  newline = memchr (data, '\n', len) != NULL;
  if (sink.pending->len >= SINK_FLUSH_BYTES ||
      (newline && g_get_monotonic_time () - sink.last_send >= SINK_FLUSH_USEC))
    sink_flush_locked ();
  g_mutex_unlock (&sink.lock);
}

/* write(stream, text): stream 1 is stdout, 2 stderr. */
static PyObject *
module_write (PyObject *module,
              PyObject *args)
{
  int stream;
  PyObject *text;
  const char *data;
  Py_ssize_t len;
  PyObject *bytes = NULL;
  OrrWireType type;

  if (!PyArg_ParseTuple (args, "iU:write", &stream, &text))
    return NULL;
  type = stream == 2 ? ORR_WIRE_STDERR : ORR_WIRE_STDOUT;

  data = PyUnicode_AsUTF8AndSize (text, &len);
  if (data == NULL)
    {
      /* Lone surrogates: show them escaped rather than fail the print(). */
      PyErr_Clear ();
      bytes = PyUnicode_AsEncodedString (text, "utf-8", "backslashreplace");
      if (bytes == NULL)
        return NULL;
      data = PyBytes_AS_STRING (bytes);
      len = PyBytes_GET_SIZE (bytes);
    }

  if (memchr (data, '\0', len) == NULL)
    sink_write (type, data, len);
  else
    {
      /* The wire's strings carry no NUL. */
      g_autofree char *escaped = _orr_satellite_dup_text (text);
      sink_write (type, escaped, strlen (escaped));
    }
  Py_XDECREF (bytes);
  Py_RETURN_NONE;
}

static PyObject *
module_flush (PyObject *module,
              PyObject *args)
{
  g_mutex_lock (&sink.lock);
  if (sink.sock >= 0 && !sink.stopped)
    sink_flush_locked ();
  g_mutex_unlock (&sink.lock);
  Py_RETURN_NONE;
}

/* ----------------------------------------------------------- module */

/* The glue's own messages, from Orrery's catalog: loaded by the zygote
 * before any sandbox, so a job reads it from memory. */
static PyObject *
module_gettext (PyObject *module,
                PyObject *args)
{
  const char *msgid;

  if (!PyArg_ParseTuple (args, "s:gettext", &msgid))
    return NULL;
  return PyUnicode_FromString (g_dgettext (GETTEXT_PACKAGE, msgid));
}

static PyObject *
module_ngettext (PyObject *module,
                 PyObject *args)
{
  const char *msgid;
  const char *msgid_plural;
  unsigned long long n;

  if (!PyArg_ParseTuple (args, "ssK:ngettext", &msgid, &msgid_plural, &n))
    return NULL;
  return PyUnicode_FromString (g_dngettext (GETTEXT_PACKAGE, msgid, msgid_plural, n));
}

static PyMethodDef module_methods[] = {
  { "gettext", module_gettext, METH_VARARGS,
    "gettext(msgid) -> the message in the user's language (Orrery's catalog)." },
  { "ngettext", module_ngettext, METH_VARARGS,
    "ngettext(msgid, msgid_plural, n) -> the singular or plural message in the user's language." },
  { "decode_varlen", decode_varlen, METH_VARARGS,
    "decode_varlen(out, start, mapping, values_off, data_off, data_len, n, validity_off, binary)\n"
    "Fills out[start:start+n] with str (or bytes) of a TEXT (or BINARY) column; NULL stays None." },
  { "decode_temporal", decode_temporal, METH_VARARGS,
    "decode_temporal(out, start, mapping, values_off, n, validity_off, type)\n"
    "Fills out[start:start+n] with datetime.date/time/datetime objects; NULL stays None." },
  { "classify", classify, METH_VARARGS,
    "classify(values, nulls) -> {kind: [types]}\n"
    "Flags the NULL-like values of an object array and lists the kinds of the others." },
  { "convert", convert, METH_VARARGS,
    "convert(values, nulls, out, type)\n"
    "Converts the objects of values into the numeric array out (NaN flags a NULL)." },
  { "setup", setup, METH_VARARGS,
    "setup(na, nat, np_integer, np_floating, np_bool, np_datetime64, decimal)" },
  { "write", module_write, METH_VARARGS,
    "write(stream, text): sends text on the job's stdout (1) or stderr (2)." },
  { "flush", module_flush, METH_NOARGS, "flush(): sends the text not sent yet." },
  { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
  PyModuleDef_HEAD_INIT,
  .m_name = "_orrery",
  .m_doc = "Orrery satellite internals: wire streams and per-row loops in C.",
  .m_size = -1,
  .m_methods = module_methods,
};

PyObject *
_orr_satellite_module_init (void)
{
  static const struct { const char *name; int value; } constants[] = {
    { "BOOL", ORR_DATA_TYPE_BOOL },
    { "INT16", ORR_DATA_TYPE_INT16 },
    { "INT32", ORR_DATA_TYPE_INT32 },
    { "INT64", ORR_DATA_TYPE_INT64 },
    { "FLOAT32", ORR_DATA_TYPE_FLOAT32 },
    { "FLOAT64", ORR_DATA_TYPE_FLOAT64 },
    { "DECIMAL", ORR_DATA_TYPE_DECIMAL },
    { "TEXT", ORR_DATA_TYPE_TEXT },
    { "BINARY", ORR_DATA_TYPE_BINARY },
    { "DATE", ORR_DATA_TYPE_DATE },
    { "TIME", ORR_DATA_TYPE_TIME },
    { "TIMESTAMP", ORR_DATA_TYPE_TIMESTAMP },
    { "KIND_STR", KIND_STR },
    { "KIND_BYTES", KIND_BYTES },
    { "KIND_BOOL", KIND_BOOL },
    { "KIND_INT", KIND_INT },
    { "KIND_FLOAT", KIND_FLOAT },
    { "KIND_DECIMAL", KIND_DECIMAL },
    { "KIND_DATETIME", KIND_DATETIME },
    { "KIND_DATE", KIND_DATE },
    { "KIND_TIME", KIND_TIME },
    { "KIND_DATETIME64", KIND_DATETIME64 },
    { "KIND_OTHER", KIND_OTHER },
  };
  PyObject *module;

  PyDateTime_IMPORT;
  if (PyDateTimeAPI == NULL)
    return NULL;
  if (PyType_Ready (&MappingType) < 0)
    return NULL;
  module = PyModule_Create (&module_def);
  if (module == NULL)
    return NULL;
  Py_INCREF (&MappingType);
  if (PyModule_AddObject (module, "Mapping", (PyObject *) &MappingType) < 0)
    {
      Py_DECREF (&MappingType);
      Py_DECREF (module);
      return NULL;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (constants); i++)
    if (PyModule_AddIntConstant (module, constants[i].name, constants[i].value) < 0)
      {
        Py_DECREF (module);
        return NULL;
      }
  return module;
}
