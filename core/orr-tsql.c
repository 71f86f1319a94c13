/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-tsql"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <math.h>   /* isfinite: a macro, no libm */
#include <stdlib.h>
#include <string.h>

#include "orr-catalog.h"
#include "orr-error.h"
#include "orr-tsql.h"

/*
 * The batch language of sp_execute_external_script users, and the
 * procedure's semantics on top of the engine:
 *
 *   text ─lexer─▶ tokens ─GO lines─▶ batches ─parser─▶ statements
 *   statements ─session─▶ variables, PRINT, SELECT, and one engine job per
 *   EXEC sp_execute_external_script (WITH RESULT SETS applied to its result)
 *
 * Errors carry SQL Server's message numbers and wording where SQL Server
 * has the same error, so that what users search for is what they see.
 */

#define MAX_NESTING 128          /* expression depth, as SQL Server limits it (Msg 191) */
#define MAX_SHOWN_CHARS 100      /* of a value or a token quoted in a message */
#define MAX_GO_COUNT 1000000

/* ==================================================================== messages */

OrrTsqlMessage *
orr_tsql_message_copy (const OrrTsqlMessage *message)
{
  OrrTsqlMessage *copy = g_new0 (OrrTsqlMessage, 1);

  *copy = *message;
  copy->procedure = g_strdup (message->procedure);
  copy->text = g_strdup (message->text);
  return copy;
}

void
orr_tsql_message_free (OrrTsqlMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->procedure);
  g_free (message->text);
  g_free (message);
}

char *
orr_tsql_message_format (const OrrTsqlMessage *message)
{
  GString *out = g_string_new (NULL);

  if (message->number > 0)
    g_string_append_printf (out, _("Msg %d, Level %d, State %d, "), message->number, message->level, message->state);
  else
    g_string_append_printf (out, _("Orrery error, Level %d, "), message->level);
  if (message->procedure)
    g_string_append_printf (out, _("Procedure %s, "), message->procedure);
  g_string_append_printf (out, _("Line %d\n%s"), message->line, message->text);
  return g_string_free (out, FALSE);
}

static OrrTsqlMessage *msg_new (int number, int level, const char *format, ...) G_GNUC_PRINTF (3, 4);

static OrrTsqlMessage *
msg_new (int         number,
         int         level,
         const char *format,
         ...)
{
  OrrTsqlMessage *m = g_new0 (OrrTsqlMessage, 1);
  va_list ap;

  m->number = number;
  m->level = level;
  m->state = 1;
  va_start (ap, format);
  m->text = g_strdup_vprintf (format, ap);
  va_end (ap);
  return m;
}

/* A value or token as a message quotes it: cut after MAX_SHOWN_CHARS. */
static char *
shown (const char *text,
       gsize       len)
{
  const char *end = text;
  glong n = 0;

  while ((gsize) (end - text) < len && n < MAX_SHOWN_CHARS)
    {
      end = g_utf8_next_char (end);
      n++;
    }
  if ((gsize) (end - text) >= len)
    return g_strndup (text, len);
  return g_strdup_printf ("%.*s…", (int) (end - text), text);
}

/* ==================================================================== types */

typedef enum {
  SQL_BIT,
  SQL_TINYINT,
  SQL_SMALLINT,
  SQL_INT,
  SQL_BIGINT,
  SQL_REAL,
  SQL_FLOAT,
  SQL_DECIMAL,
  SQL_NUMERIC,
  SQL_MONEY,
  SQL_SMALLMONEY,
  SQL_CHAR,
  SQL_VARCHAR,
  SQL_NCHAR,
  SQL_NVARCHAR,
  SQL_TEXT,
  SQL_NTEXT,
  SQL_SYSNAME,
  SQL_XML,
  SQL_UNIQUEIDENTIFIER,
  SQL_BINARY,
  SQL_VARBINARY,
  SQL_IMAGE,
  SQL_DATE,
  SQL_TIME,
  SQL_DATETIME,
  SQL_DATETIME2,
  SQL_SMALLDATETIME,
} SqlKind;

/* How a type takes arguments in parentheses. */
typedef enum {
  ARGS_NONE,
  ARGS_LENGTH,       /* (n) or (max) for the var- types */
  ARGS_PRECISION,    /* (p[, s]) */
  ARGS_FLOAT,        /* (n): mantissa bits */
  ARGS_FRACTION,     /* (n): fractional second digits, 0..7 */
} TypeArgs;

typedef struct {
  const char *name;
  SqlKind kind;
  TypeArgs args;
  int max_length;    /* ARGS_LENGTH: the largest n; the var- types also take max */
  gboolean takes_max;
} TypeInfo;

static const TypeInfo type_infos[] = {
  { "bit", SQL_BIT, ARGS_NONE, 0, FALSE },
  { "tinyint", SQL_TINYINT, ARGS_NONE, 0, FALSE },
  { "smallint", SQL_SMALLINT, ARGS_NONE, 0, FALSE },
  { "int", SQL_INT, ARGS_NONE, 0, FALSE },
  { "integer", SQL_INT, ARGS_NONE, 0, FALSE },
  { "bigint", SQL_BIGINT, ARGS_NONE, 0, FALSE },
  { "real", SQL_REAL, ARGS_NONE, 0, FALSE },
  { "float", SQL_FLOAT, ARGS_FLOAT, 0, FALSE },
  { "decimal", SQL_DECIMAL, ARGS_PRECISION, 0, FALSE },
  { "dec", SQL_DECIMAL, ARGS_PRECISION, 0, FALSE },
  { "numeric", SQL_NUMERIC, ARGS_PRECISION, 0, FALSE },
  { "money", SQL_MONEY, ARGS_NONE, 0, FALSE },
  { "smallmoney", SQL_SMALLMONEY, ARGS_NONE, 0, FALSE },
  { "char", SQL_CHAR, ARGS_LENGTH, 8000, FALSE },
  { "character", SQL_CHAR, ARGS_LENGTH, 8000, FALSE },
  { "varchar", SQL_VARCHAR, ARGS_LENGTH, 8000, TRUE },
  { "nchar", SQL_NCHAR, ARGS_LENGTH, 4000, FALSE },
  { "nvarchar", SQL_NVARCHAR, ARGS_LENGTH, 4000, TRUE },
  { "text", SQL_TEXT, ARGS_NONE, 0, FALSE },
  { "ntext", SQL_NTEXT, ARGS_NONE, 0, FALSE },
  { "sysname", SQL_SYSNAME, ARGS_NONE, 0, FALSE },
  { "xml", SQL_XML, ARGS_NONE, 0, FALSE },
  { "uniqueidentifier", SQL_UNIQUEIDENTIFIER, ARGS_NONE, 0, FALSE },
  { "binary", SQL_BINARY, ARGS_LENGTH, 8000, FALSE },
  { "varbinary", SQL_VARBINARY, ARGS_LENGTH, 8000, TRUE },
  { "image", SQL_IMAGE, ARGS_NONE, 0, FALSE },
  { "date", SQL_DATE, ARGS_NONE, 0, FALSE },
  { "time", SQL_TIME, ARGS_FRACTION, 0, FALSE },
  { "datetime", SQL_DATETIME, ARGS_NONE, 0, FALSE },
  { "datetime2", SQL_DATETIME2, ARGS_FRACTION, 0, FALSE },
  { "smalldatetime", SQL_SMALLDATETIME, ARGS_NONE, 0, FALSE },
};

typedef struct {
  SqlKind kind;
  int length;       /* characters or bytes; -1: max */
  int precision;    /* decimal digits; float mantissa bits; fractional second digits */
  int scale;
} SqlType;

/* The canonical name of each kind (first in type_infos). */
static const char *
kind_name (SqlKind kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (type_infos); i++)
    if (type_infos[i].kind == kind)
      return type_infos[i].name;
  g_assert_not_reached ();
  return "?";
}

static const TypeInfo *
kind_info (SqlKind kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (type_infos); i++)
    if (type_infos[i].kind == kind)
      return &type_infos[i];
  g_assert_not_reached ();
  return NULL;
}

static SqlType
sql_type (SqlKind kind)
{
  SqlType t = { kind, 0, 0, 0 };

  switch (kind)
    {
    case SQL_FLOAT: t.precision = 53; break;
    case SQL_REAL: t.precision = 24; break;
    case SQL_DECIMAL: case SQL_NUMERIC: t.precision = 18; break;
    case SQL_MONEY: t.precision = 19; t.scale = 4; break;
    case SQL_SMALLMONEY: t.precision = 10; t.scale = 4; break;
    case SQL_TIME: case SQL_DATETIME2: t.precision = 7; break;
    case SQL_DATETIME: t.precision = 3; break;
    case SQL_SMALLDATETIME: t.precision = 0; break;
    case SQL_TEXT: case SQL_NTEXT: case SQL_XML: case SQL_IMAGE: t.length = -1; break;
    case SQL_SYSNAME: t.length = 128; break;
    case SQL_UNIQUEIDENTIFIER: t.length = 36; break;
    case SQL_CHAR: case SQL_VARCHAR: case SQL_NCHAR: case SQL_NVARCHAR:
    case SQL_BINARY: case SQL_VARBINARY: t.length = 1; break;
    default: break;
    }
  return t;
}

static SqlType
sql_string_type (gboolean unicode, glong length)
{
  SqlType t = sql_type (unicode ? SQL_NVARCHAR : SQL_VARCHAR);

  t.length = length > (unicode ? 4000 : 8000) ? -1 : MAX (length, 1);
  return t;
}

/* "nvarchar(20)", "decimal(10,2)", "varchar(max)", "int". */
static char *
type_to_string (const SqlType *t)
{
  const TypeInfo *info = kind_info (t->kind);

  switch (info->args)
    {
    case ARGS_LENGTH:
      if (t->length < 0)
        return g_strdup_printf ("%s(max)", info->name);
      return g_strdup_printf ("%s(%d)", info->name, t->length);
    case ARGS_PRECISION:
      return g_strdup_printf ("%s(%d,%d)", info->name, t->precision, t->scale);
    case ARGS_FLOAT:
      return g_strdup (t->precision <= 24 ? "real" : "float");
    case ARGS_FRACTION:
      return g_strdup_printf ("%s(%d)", info->name, t->precision);
    case ARGS_NONE:
    default:
      return g_strdup (info->name);
    }
}

/* The name in conversion messages: SQL Server says "numeric", "nvarchar". */
static const char *
type_base_name (const SqlType *t)
{
  if (t->kind == SQL_FLOAT && t->precision <= 24)
    return "real";
  if (t->kind == SQL_DECIMAL)
    return "numeric";
  return kind_name (t->kind);
}

typedef enum {
  VC_BIT,
  VC_INT,
  VC_FLOAT,
  VC_DECIMAL,     /* int64 unscaled with the type's scale */
  VC_STRING,      /* UTF-8 */
  VC_BINARY,
  VC_DATE,        /* days since 1970-01-01 */
  VC_TIME,        /* µs since midnight */
  VC_DATETIME,    /* µs since 1970-01-01T00:00 */
} ValueClass;

static gboolean
is_wide_decimal (const SqlType *t)
{
  /* Decimals beyond 18 digits do not fit an int64: they are carried as
   * float64, as the engine carries them (see README). */
  return (t->kind == SQL_DECIMAL || t->kind == SQL_NUMERIC) && t->precision > 18;
}

static ValueClass
type_class (const SqlType *t)
{
  switch (t->kind)
    {
    case SQL_BIT: return VC_BIT;
    case SQL_TINYINT: case SQL_SMALLINT: case SQL_INT: case SQL_BIGINT: return VC_INT;
    case SQL_REAL: case SQL_FLOAT: return VC_FLOAT;
    case SQL_DECIMAL: case SQL_NUMERIC: return is_wide_decimal (t) ? VC_FLOAT : VC_DECIMAL;
    case SQL_MONEY: case SQL_SMALLMONEY: return VC_DECIMAL;
    case SQL_BINARY: case SQL_VARBINARY: case SQL_IMAGE: return VC_BINARY;
    case SQL_DATE: return VC_DATE;
    case SQL_TIME: return VC_TIME;
    case SQL_DATETIME: case SQL_DATETIME2: case SQL_SMALLDATETIME: return VC_DATETIME;
    default: return VC_STRING;
    }
}

static gboolean
is_unicode (const SqlType *t)
{
  return t->kind == SQL_NCHAR || t->kind == SQL_NVARCHAR || t->kind == SQL_NTEXT ||
         t->kind == SQL_SYSNAME || t->kind == SQL_XML;
}

static gboolean
is_single_float (const SqlType *t)
{
  return t->kind == SQL_REAL || (t->kind == SQL_FLOAT && t->precision <= 24);
}

/* The engine's column type for a SQL type. */
static OrrDataType
type_to_orr (const SqlType *t, int *precision, int *scale)
{
  *precision = 0;
  *scale = 0;
  switch (type_class (t))
    {
    case VC_BIT: return ORR_DATA_TYPE_BOOL;
    case VC_INT:
      return t->kind == SQL_BIGINT ? ORR_DATA_TYPE_INT64 : t->kind == SQL_INT ? ORR_DATA_TYPE_INT32 : ORR_DATA_TYPE_INT16;
    case VC_FLOAT: return is_single_float (t) ? ORR_DATA_TYPE_FLOAT32 : ORR_DATA_TYPE_FLOAT64;
    case VC_DECIMAL:
      *precision = t->precision;
      *scale = t->scale;
      return ORR_DATA_TYPE_DECIMAL;
    case VC_BINARY: return ORR_DATA_TYPE_BINARY;
    case VC_DATE: return ORR_DATA_TYPE_DATE;
    case VC_TIME: return ORR_DATA_TYPE_TIME;
    case VC_DATETIME: return ORR_DATA_TYPE_TIMESTAMP;
    case VC_STRING:
    default:
      return ORR_DATA_TYPE_TEXT;
    }
}

/* The SQL type an engine column stands for, as SQL Server would name what
 * sp_execute_external_script sends back. */
static SqlType
type_from_orr (OrrDataType type, int precision, int scale)
{
  SqlType t;

  switch (type)
    {
    case ORR_DATA_TYPE_BOOL: return sql_type (SQL_BIT);
    case ORR_DATA_TYPE_INT16: return sql_type (SQL_SMALLINT);
    case ORR_DATA_TYPE_INT32: return sql_type (SQL_INT);
    case ORR_DATA_TYPE_INT64: return sql_type (SQL_BIGINT);
    case ORR_DATA_TYPE_FLOAT32: return sql_type (SQL_REAL);
    case ORR_DATA_TYPE_FLOAT64: return sql_type (SQL_FLOAT);
    case ORR_DATA_TYPE_DECIMAL:
      t = sql_type (SQL_DECIMAL);
      t.precision = CLAMP (precision, 1, 18);
      t.scale = CLAMP (scale, 0, t.precision);
      return t;
    case ORR_DATA_TYPE_BINARY:
      t = sql_type (SQL_VARBINARY);
      t.length = -1;
      return t;
    case ORR_DATA_TYPE_DATE: return sql_type (SQL_DATE);
    case ORR_DATA_TYPE_TIME:
      t = sql_type (SQL_TIME);
      t.precision = 6;
      return t;
    case ORR_DATA_TYPE_TIMESTAMP:
      t = sql_type (SQL_DATETIME2);
      t.precision = 6;
      return t;
    case ORR_DATA_TYPE_TEXT:
    default:
      t = sql_type (SQL_NVARCHAR);
      t.length = -1;
      return t;
    }
}

/* ==================================================================== values */

typedef struct {
  SqlType type;
  gboolean is_null;
  gint64 i;         /* VC_BIT, VC_INT, VC_DECIMAL (unscaled), VC_DATE, VC_TIME, VC_DATETIME */
  double f;         /* VC_FLOAT */
  GBytes *bytes;    /* VC_STRING (UTF-8), VC_BINARY */
} Value;

static void
value_clear (Value *v)
{
  g_clear_pointer (&v->bytes, g_bytes_unref);
  memset (v, 0, sizeof *v);
}

static void
value_copy (Value *dest, const Value *src)
{
  *dest = *src;
  if (src->bytes)
    dest->bytes = g_bytes_ref (src->bytes);
}

static void
value_null (Value *v, SqlType type)
{
  memset (v, 0, sizeof *v);
  v->type = type;
  v->is_null = TRUE;
}

static void
value_take_string (Value *v, SqlType type, char *text, gsize len)
{
  memset (v, 0, sizeof *v);
  v->type = type;
  v->bytes = g_bytes_new_take (text, len);
}

static const char *
value_data (const Value *v, gsize *len)
{
  const char *data = v->bytes ? g_bytes_get_data (v->bytes, len) : NULL;

  if (data == NULL)
    {
      *len = 0;
      return "";
    }
  return data;
}

static const gint64 pow10_table[19] = {
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  G_GINT64_CONSTANT (10000000000), G_GINT64_CONSTANT (100000000000), G_GINT64_CONSTANT (1000000000000),
  G_GINT64_CONSTANT (10000000000000), G_GINT64_CONSTANT (100000000000000),
  G_GINT64_CONSTANT (1000000000000000), G_GINT64_CONSTANT (10000000000000000),
  G_GINT64_CONSTANT (100000000000000000), G_GINT64_CONSTANT (1000000000000000000),
};

#define US_PER_DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

/* Proleptic Gregorian calendar (H. Hinnant's algorithms). */
static gint64
days_from_civil (gint64 y, int m, int d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64 days, gint64 *year, int *month, int *day)
{
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;

  *day = (int) (doy - (153 * mp + 2) / 5 + 1);
  *month = (int) (mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

static gint64
floor_div (gint64 a, gint64 b)
{
  gint64 q = a / b;

  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static void
append_date (GString *s, gint64 days)
{
  gint64 year;
  int month, day;

  civil_from_days (days, &year, &month, &day);
  g_string_append_printf (s, "%04" G_GINT64_FORMAT "-%02d-%02d", year, month, day);
}

/* hh:mm:ss and @digits fractional digits (SQL Server prints them all). */
static void
append_time (GString *s, gint64 us, int digits)
{
  gint64 secs = us / G_USEC_PER_SEC;

  g_string_append_printf (s, "%02d:%02d:%02d", (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
  if (digits > 0)
    {
      char frac[8];

      g_snprintf (frac, sizeof frac, "%06d0", (int) (us % G_USEC_PER_SEC));
      g_string_append_printf (s, ".%.*s", MIN (digits, 7), frac);
    }
}

static char *
format_double (double value, gboolean single)
{
  static const char * const double_formats[] = { "%.15g", "%.16g", "%.17g" };
  static const char * const float_formats[] = { "%.6g", "%.7g", "%.8g", "%.9g" };
  const char * const *formats = single ? float_formats : double_formats;
  guint n = single ? G_N_ELEMENTS (float_formats) : G_N_ELEMENTS (double_formats);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < n; i++)
    {
      double back;

      g_ascii_formatd (buf, sizeof buf, formats[i], value);
      back = g_ascii_strtod (buf, NULL);
      if (single ? (float) back == (float) value : back == value)
        break;
    }
  return g_strdup (buf);
}

static char *
format_unscaled (gint64 unscaled, int scale)
{
  guint64 mag = unscaled < 0 ? (guint64) 0 - (guint64) unscaled : (guint64) unscaled;
  char digits[32];
  int len;
  GString *s = g_string_new (unscaled < 0 ? "-" : "");

  len = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, mag);
  if (scale <= 0)
    g_string_append (s, digits);
  else if (len <= scale)
    {
      g_string_append (s, "0.");
      for (int i = len; i < scale; i++)
        g_string_append_c (s, '0');
      g_string_append (s, digits);
    }
  else
    {
      g_string_append_len (s, digits, len - scale);
      g_string_append_c (s, '.');
      g_string_append (s, digits + len - scale);
    }
  return g_string_free (s, FALSE);
}

/* The value as text (what CAST(v AS nvarchar(max)) gives), NULL for NULL.
 * Binary values are their bytes, taken as UTF-8. */
static char *
value_to_text (const Value *v, gsize *len_out)
{
  GString *s;
  char *text;

  if (v->is_null)
    return NULL;
  switch (type_class (&v->type))
    {
    case VC_BIT:
      text = g_strdup (v->i ? "1" : "0");
      break;
    case VC_INT:
      text = g_strdup_printf ("%" G_GINT64_FORMAT, v->i);
      break;
    case VC_FLOAT:
      text = format_double (v->f, is_single_float (&v->type));
      break;
    case VC_DECIMAL:
      text = format_unscaled (v->i, v->type.scale);
      break;
    case VC_STRING:
    case VC_BINARY:
      {
        gsize len;
        const char *data = value_data (v, &len);

        if (type_class (&v->type) == VC_BINARY && !g_utf8_validate_len (data, len, NULL))
          text = g_utf8_make_valid (data, len);
        else
          {
            if (len_out)
              *len_out = len;
            return g_strndup (data, len);
          }
      }
      break;
    case VC_DATE:
      s = g_string_new (NULL);
      append_date (s, v->i);
      text = g_string_free (s, FALSE);
      break;
    case VC_TIME:
      s = g_string_new (NULL);
      append_time (s, v->i, v->type.precision);
      text = g_string_free (s, FALSE);
      break;
    case VC_DATETIME:
    default:
      s = g_string_new (NULL);
      append_date (s, floor_div (v->i, US_PER_DAY));
      g_string_append_c (s, ' ');
      append_time (s, v->i - floor_div (v->i, US_PER_DAY) * US_PER_DAY,
                   v->type.kind == SQL_SMALLDATETIME ? 0 : v->type.precision);
      text = g_string_free (s, FALSE);
      break;
    }
  if (len_out)
    *len_out = strlen (text);
  return text;
}

/* ==================================================================== conversion */

/* Errors of a conversion; the caller adds the line. SQL Server ends the
 * whole batch on these. */
static OrrTsqlMessage *
conversion_failed (const Value *in, const SqlType *to)
{
  gsize len;
  g_autofree char *text = value_to_text (in, &len);
  g_autofree char *quoted = shown (text ? text : "", text ? len : 0);

  return msg_new (245, 16, _("Conversion failed when converting the %s value '%s' to data type %s."),
                  type_base_name (&in->type), quoted, type_base_name (to));
}

static OrrTsqlMessage *
overflow (const Value *in, const SqlType *to)
{
  if (type_class (&in->type) == VC_INT && type_class (to) == VC_INT)
    return msg_new (220, 16, _("Arithmetic overflow error for data type %s, value = %lld."),
                    type_base_name (to), (long long) in->i);
  return msg_new (8115, 16, _("Arithmetic overflow error converting %s to data type %s."),
                  type_base_name (&in->type), type_base_name (to));
}

static OrrTsqlMessage *
not_allowed (const SqlType *from, const SqlType *to)
{
  return msg_new (529, 16, _("Explicit conversion from data type %s to %s is not allowed."),
                  type_base_name (from), type_base_name (to));
}

static void
int_range (const SqlType *t, gint64 *low, gint64 *high)
{
  switch (t->kind)
    {
    case SQL_TINYINT: *low = 0; *high = 255; break;
    case SQL_SMALLINT: *low = G_MININT16; *high = G_MAXINT16; break;
    case SQL_INT: *low = G_MININT32; *high = G_MAXINT32; break;
    default: *low = G_MININT64; *high = G_MAXINT64; break;
    }
}

/* The largest unscaled value of a decimal or money type. */
static void
decimal_range (const SqlType *t, gint64 *low, gint64 *high)
{
  if (t->kind == SQL_MONEY)
    {
      *low = G_MININT64;
      *high = G_MAXINT64;
    }
  else if (t->kind == SQL_SMALLMONEY)
    {
      *low = G_MININT32;
      *high = G_MAXINT32;
    }
  else
    {
      *high = pow10_table[CLAMP (t->precision, 1, 18)] - 1;
      *low = -*high;
    }
}

/* Rescales an unscaled value, rounding half away from zero. */
static gboolean
rescale (gint64 value, int from_scale, int to_scale, gint64 *out)
{
  if (to_scale >= from_scale)
    {
      int d = to_scale - from_scale;

      if (d > 18)
        return value == 0 ? (*out = 0, TRUE) : FALSE;
      return !__builtin_mul_overflow (value, pow10_table[d], out);
    }
  else
    {
      int d = from_scale - to_scale;
      gint64 q, r;

      if (d > 18)
        {
          *out = 0;
          return TRUE;
        }
      q = value / pow10_table[d];
      r = value % pow10_table[d];
      if (r >= 0 ? r * 2 >= pow10_table[d] : -r * 2 >= pow10_table[d])
        q += value < 0 ? -1 : 1;
      *out = q;
      return TRUE;
    }
}

static gboolean
double_to_unscaled (double f, int scale, gint64 *out)
{
  double scaled;

  if (!isfinite (f))
    return FALSE;
  scaled = f * (double) pow10_table[CLAMP (scale, 0, 18)];
  /* Half away from zero; the cast truncates toward zero. */
  scaled += scaled < 0 ? -0.5 : 0.5;
  if (scaled >= 9.2233720368547758e18 || scaled <= -9.2233720368547758e18)
    return FALSE;
  *out = (gint64) scaled;
  return TRUE;
}

static double
unscaled_to_double (gint64 unscaled, int scale)
{
  return (double) unscaled / (double) pow10_table[CLAMP (scale, 0, 18)];
}

static const char *
skip_space (const char *s, const char *end)
{
  while (s < end && g_ascii_isspace (*s))
    s++;
  return s;
}

static const char *
trim_end (const char *s, const char *end)
{
  while (end > s && g_ascii_isspace (end[-1]))
    end--;
  return end;
}

/* [sign] digits, whole: a string SQL Server converts to an integer. */
static gboolean
parse_integer (const char *s, gsize len, gint64 *out, gboolean *overflowed)
{
  const char *end = trim_end (s, s + len);
  gboolean negative = FALSE;
  guint64 mag = 0;

  *overflowed = FALSE;
  s = skip_space (s, end);
  if (s < end && (*s == '-' || *s == '+'))
    negative = *s++ == '-';
  if (s == end)
    return FALSE;
  for (; s < end; s++)
    {
      if (!g_ascii_isdigit (*s))
        return FALSE;
      if (mag > (G_MAXUINT64 - 9) / 10)
        *overflowed = TRUE;
      else
        mag = mag * 10 + (guint64) (*s - '0');
    }
  if (*overflowed || mag > (guint64) G_MAXINT64 + (negative ? 1 : 0))
    {
      *overflowed = TRUE;
      return TRUE;
    }
  *out = negative ? (gint64) (0 - mag) : (gint64) mag;
  return TRUE;
}

/* [sign] digits [. digits]: an exact decimal, rounded to @scale. */
static gboolean
parse_decimal (const char *s, gsize len, int scale, gint64 *out, gboolean *overflowed)
{
  const char *end = trim_end (s, s + len);
  gboolean negative = FALSE, any = FALSE, dot = FALSE;
  guint64 mag = 0;
  int frac = 0;
  int round_digit = -1;

  *overflowed = FALSE;
  s = skip_space (s, end);
  if (s < end && (*s == '-' || *s == '+'))
    negative = *s++ == '-';
  for (; s < end; s++)
    {
      if (*s == '.' && !dot)
        {
          dot = TRUE;
          continue;
        }
      if (!g_ascii_isdigit (*s))
        return FALSE;
      any = TRUE;
      if (dot && frac >= scale)
        {
          if (round_digit < 0)
            round_digit = *s - '0';
          continue;
        }
      if (dot)
        frac++;
      if (mag > (G_MAXUINT64 - 9) / 10)
        *overflowed = TRUE;
      else
        mag = mag * 10 + (guint64) (*s - '0');
    }
  if (!any)
    return FALSE;
  for (; frac < scale && !*overflowed; frac++)
    {
      if (mag > G_MAXUINT64 / 10)
        *overflowed = TRUE;
      else
        mag *= 10;
    }
  if (round_digit >= 5)
    mag++;
  if (*overflowed || mag > (guint64) G_MAXINT64)
    {
      *overflowed = TRUE;
      return TRUE;
    }
  *out = negative ? -(gint64) mag : (gint64) mag;
  return TRUE;
}

static gboolean
parse_float (const char *s, gsize len, double *out)
{
  g_autofree char *copy = g_strndup (s, len);
  char *start = g_strstrip (copy);
  char *end = NULL;

  if (*start == '\0')
    {
      *out = 0;   /* SQL Server converts '' to 0 */
      return TRUE;
    }
  /* strtod also reads hexadecimal, "inf" and "nan"; SQL Server does not. */
  if ((!g_ascii_isdigit (*start) && *start != '-' && *start != '+' && *start != '.') || strpbrk (start, "xXnNiI"))
    return FALSE;
  errno = 0;
  *out = g_ascii_strtod (start, &end);
  return end != start && *end == '\0' && isfinite (*out);
}

static gboolean
parse_digits (const char **p, const char *end, int n, int *out)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    {
      if (*p >= end || !g_ascii_isdigit (**p))
        return FALSE;
      v = v * 10 + (**p - '0');
      (*p)++;
    }
  *out = v;
  return TRUE;
}

/* hh:mm[:ss[.fffffff]] → µs since midnight. */
static gboolean
parse_clock (const char **p, const char *end, gint64 *us)
{
  int h, m, sec = 0;
  gint64 frac = 0;
  int digits = 0;
  const char *s = *p;

  if (!parse_digits (&s, end, 1, &h))
    return FALSE;
  if (s < end && g_ascii_isdigit (*s))
    h = h * 10 + (*s++ - '0');
  if (s >= end || *s++ != ':' || !parse_digits (&s, end, 2, &m))
    return FALSE;
  if (s < end && *s == ':')
    {
      s++;
      if (!parse_digits (&s, end, 2, &sec))
        return FALSE;
      if (s < end && *s == '.')
        {
          s++;
          while (s < end && g_ascii_isdigit (*s))
            {
              if (digits < 7)
                {
                  frac = frac * 10 + (*s - '0');
                  digits++;
                }
              s++;
            }
        }
    }
  if (h > 23 || m > 59 || sec > 59)
    return FALSE;
  for (; digits < 7; digits++)
    frac *= 10;
  /* 100 ns units to µs, rounding half up */
  *us = (((gint64) h * 60 + m) * 60 + sec) * G_USEC_PER_SEC + (frac + 5) / 10;
  *p = s;
  return TRUE;
}

static gboolean
valid_ymd (int y, int m, int d)
{
  static const int days_in[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  gboolean leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 &&
         d <= days_in[m - 1] + (m == 2 && leap ? 1 : 0);
}

/* The ISO formats: YYYY-MM-DD, YYYYMMDD, optionally followed by a space or
 * T and a time; or a time alone (the date is then 1900-01-01). */
static gboolean
parse_datetime_text (const char *s, gsize len, gboolean *has_date, gint64 *days, gboolean *has_time, gint64 *us)
{
  const char *end = trim_end (s, s + len);
  int y = 0, m = 0, d = 0;

  s = skip_space (s, end);
  *has_date = *has_time = FALSE;
  *days = days_from_civil (1900, 1, 1);
  *us = 0;
  if (end - s >= 8 && g_ascii_isdigit (s[0]) && g_ascii_isdigit (s[1]) && g_ascii_isdigit (s[2]) &&
      g_ascii_isdigit (s[3]) && (s[4] == '-' || g_ascii_isdigit (s[4])))
    {
      const char *q = s;

      parse_digits (&q, end, 4, &y);
      if (*q == '-')
        {
          q++;
          if (!parse_digits (&q, end, 2, &m) || q >= end || *q++ != '-' || !parse_digits (&q, end, 2, &d))
            return FALSE;
        }
      else if (!parse_digits (&q, end, 2, &m) || !parse_digits (&q, end, 2, &d))
        return FALSE;
      if (!valid_ymd (y, m, d))
        return FALSE;
      *has_date = TRUE;
      *days = days_from_civil (y, m, d);
      s = q;
      if (s < end && (*s == 'T' || *s == ' '))
        {
          s++;
          while (s < end && *s == ' ')
            s++;
        }
      else if (s != end)
        return FALSE;
    }
  if (s < end)
    {
      if (!parse_clock (&s, end, us))
        return FALSE;
      *has_time = TRUE;
      if (s < end && *s == 'Z')
        s++;
    }
  return s == end && (*has_date || *has_time);
}

/* Rounds µs to the type's fractional digits; datetime to 1/300 s and
 * smalldatetime to the minute, as SQL Server stores them. */
static gint64
round_time (gint64 us, const SqlType *t)
{
  gint64 unit;

  if (t->kind == SQL_SMALLDATETIME)
    {
      /* Through datetime first: 29.999 s rounds up (it is 30.000 there). */
      SqlType datetime = sql_type (SQL_DATETIME);

      us = round_time (us, &datetime);
      unit = 60 * G_USEC_PER_SEC;
    }
  else if (t->kind == SQL_DATETIME)
    {
      /* ticks of 1/300 s: 3⅓ ms */
      gint64 day = floor_div (us, US_PER_DAY) * US_PER_DAY;
      gint64 rest = us - day;
      gint64 ticks = (rest * 300 + G_USEC_PER_SEC / 2) / G_USEC_PER_SEC;

      return day + (ticks * G_USEC_PER_SEC + 150) / 300 / 1000 * 1000;
    }
  else
    unit = t->precision >= 6 ? 1 : pow10_table[6 - CLAMP (t->precision, 0, 6)];
  return floor_div (us + unit / 2, unit) * unit;
}

static gboolean
datetime_in_range (gint64 us, const SqlType *t)
{
  gint64 low, high;

  if (t->kind == SQL_DATETIME)
    low = days_from_civil (1753, 1, 1) * US_PER_DAY;
  else if (t->kind == SQL_SMALLDATETIME)
    low = days_from_civil (1900, 1, 1) * US_PER_DAY;
  else
    low = days_from_civil (1, 1, 1) * US_PER_DAY;
  if (t->kind == SQL_SMALLDATETIME)
    high = days_from_civil (2079, 6, 6) * US_PER_DAY + (G_GINT64_CONSTANT (23) * 3600 + 59 * 60) * G_USEC_PER_SEC;
  else
    high = days_from_civil (10000, 1, 1) * US_PER_DAY - 1;
  return us >= low && us <= high;
}

static gboolean
is_guid (const char *s, gsize len)
{
  if (len == 38 && s[0] == '{' && s[37] == '}')
    {
      s++;
      len -= 2;
    }
  if (len != 36)
    return FALSE;
  for (gsize i = 0; i < 36; i++)
    {
      if (i == 8 || i == 13 || i == 18 || i == 23)
        {
          if (s[i] != '-')
            return FALSE;
        }
      else if (!g_ascii_isxdigit (s[i]))
        return FALSE;
    }
  return TRUE;
}

/* Applies a character type's length: char(n) pads with spaces, varchar(n)
 * cuts (what CAST does). Lengths count characters. */
static void
fit_string (Value *out, const SqlType *to, const char *data, gsize len)
{
  GString *s;
  glong n;

  if (to->length < 0 || to->kind == SQL_TEXT || to->kind == SQL_NTEXT || to->kind == SQL_XML)
    {
      value_take_string (out, *to, g_strndup (data, len), len);
      return;
    }
  n = g_utf8_strlen (data, len);
  if (n > to->length)
    {
      const char *cut = g_utf8_offset_to_pointer (data, to->length);
      len = cut - data;
      n = to->length;
    }
  s = g_string_new_len (data, len);
  if (to->kind == SQL_CHAR || to->kind == SQL_NCHAR)
    for (; n < to->length; n++)
      g_string_append_c (s, ' ');
  len = s->len;
  value_take_string (out, *to, g_string_free (s, FALSE), len);
}

static void
fit_binary (Value *out, const SqlType *to, const guint8 *data, gsize len)
{
  GByteArray *b;

  if (to->length >= 0 && to->kind != SQL_IMAGE)
    len = MIN (len, (gsize) to->length);
  b = g_byte_array_sized_new (MAX (len, 1));
  g_byte_array_append (b, data, len);
  if (to->kind == SQL_BINARY)
    while (b->len < (guint) to->length)
      g_byte_array_append (b, (const guint8 *) "", 1);
  memset (out, 0, sizeof *out);
  out->type = *to;
  out->bytes = g_byte_array_free_to_bytes (b);
}

/* Converts @in to @to as CAST does (and as SQL Server converts values
 * implicitly: assignments, parameters, result sets). */
static gboolean
convert_value (const Value *in, const SqlType *to, Value *out, OrrTsqlMessage **error)
{
  ValueClass from = type_class (&in->type);
  ValueClass target = type_class (to);
  gsize len = 0;
  const char *data = NULL;
  gint64 low, high, iv = 0;
  gboolean overflowed;
  double fv;

  if (in->is_null)
    {
      value_null (out, *to);
      return TRUE;
    }
  if (from == VC_STRING || from == VC_BINARY)
    data = value_data (in, &len);

  memset (out, 0, sizeof *out);
  out->type = *to;
  switch (target)
    {
    case VC_BIT:
      switch (from)
        {
        case VC_BIT: case VC_INT: case VC_DECIMAL: out->i = in->i != 0; return TRUE;
        case VC_FLOAT: out->i = in->f != 0; return TRUE;
        case VC_BINARY: out->i = len > 0 && data[len - 1] != 0; return TRUE;
        case VC_STRING:
          {
            g_autofree char *t = g_strstrip (g_strndup (data, len));

            if (g_ascii_strcasecmp (t, "true") == 0)
              out->i = 1;
            else if (g_ascii_strcasecmp (t, "false") == 0)
              out->i = 0;
            else if (parse_integer (t, strlen (t), &iv, &overflowed) && !overflowed)
              out->i = iv != 0;
            else
              {
                *error = conversion_failed (in, to);
                return FALSE;
              }
            return TRUE;
          }
        default:
          break;
        }
      break;

    case VC_INT:
      int_range (to, &low, &high);
      switch (from)
        {
        case VC_BIT: case VC_INT: iv = in->i; break;
        case VC_FLOAT:
          /* Toward zero, as SQL Server converts float to integers. */
          if (!isfinite (in->f) || in->f >= 9.2233720368547758e18 || in->f <= -9.2233720368547758e18)
            goto overflow;
          iv = (gint64) in->f;
          break;
        case VC_DECIMAL:
          iv = in->i / pow10_table[CLAMP (in->type.scale, 0, 18)];
          if (iv < low || iv > high)
            goto overflow;
          break;
        case VC_STRING:
          if (!parse_integer (data, len, &iv, &overflowed))
            {
              /* '' converts to 0; anything else that is not an integer fails */
              if (skip_space (data, data + len) == data + len)
                iv = 0;
              else
                {
                  *error = conversion_failed (in, to);
                  return FALSE;
                }
            }
          else if (overflowed || iv < low || iv > high)
            {
              g_autofree char *q = shown (data, len);
              *error = msg_new (248, 16, _("The conversion of the %s value '%s' overflowed an %s column."),
                                type_base_name (&in->type), q, type_base_name (to));
              return FALSE;
            }
          break;
        case VC_BINARY:
          for (gsize i = len > 8 ? len - 8 : 0; i < len; i++)
            iv = (gint64) (((guint64) iv << 8) | (guint8) data[i]);
          break;
        case VC_DATETIME:
          if (in->type.kind != SQL_DATETIME && in->type.kind != SQL_SMALLDATETIME)
            goto not_allowed;
          iv = floor_div (in->i - days_from_civil (1900, 1, 1) * US_PER_DAY + US_PER_DAY / 2, US_PER_DAY);
          break;
        default:
          goto not_allowed;
        }
      if (iv < low || iv > high)
        goto overflow;
      out->i = iv;
      return TRUE;

    case VC_FLOAT:
      switch (from)
        {
        case VC_BIT: case VC_INT: fv = (double) in->i; break;
        case VC_FLOAT: fv = in->f; break;
        case VC_DECIMAL: fv = unscaled_to_double (in->i, in->type.scale); break;
        case VC_STRING:
          if (!parse_float (data, len, &fv))
            {
              *error = msg_new (8114, 16, _("Error converting data type %s to %s."),
                                type_base_name (&in->type), type_base_name (to));
              return FALSE;
            }
          break;
        case VC_DATETIME:
          if (in->type.kind != SQL_DATETIME && in->type.kind != SQL_SMALLDATETIME)
            goto not_allowed;
          fv = (double) (in->i - days_from_civil (1900, 1, 1) * US_PER_DAY) / (double) US_PER_DAY;
          break;
        default:
          goto not_allowed;
        }
      if (is_single_float (to))
        {
          if (isfinite (fv) && !isfinite ((float) fv))
            goto overflow;
          fv = (float) fv;
        }
      out->f = fv;
      return TRUE;

    case VC_DECIMAL:
      decimal_range (to, &low, &high);
      switch (from)
        {
        case VC_BIT: case VC_INT:
          if (!rescale (in->i, 0, to->scale, &iv))
            goto overflow;
          break;
        case VC_FLOAT:
          if (!double_to_unscaled (in->f, to->scale, &iv))
            goto overflow;
          break;
        case VC_DECIMAL:
          if (!rescale (in->i, in->type.scale, to->scale, &iv))
            goto overflow;
          break;
        case VC_STRING:
          if (!parse_decimal (data, len, to->scale, &iv, &overflowed))
            {
              if (skip_space (data, data + len) == data + len)
                iv = 0;
              else
                {
                  *error = msg_new (8114, 16, _("Error converting data type %s to %s."),
                                    type_base_name (&in->type), type_base_name (to));
                  return FALSE;
                }
            }
          else if (overflowed)
            goto overflow;
          break;
        default:
          goto not_allowed;
        }
      if (iv < low || iv > high)
        goto overflow;
      out->i = iv;
      return TRUE;

    case VC_STRING:
      {
        g_autofree char *text = NULL;

        if (from == VC_BINARY && !g_utf8_validate_len (data, len, NULL))
          {
            *error = msg_new (0, 16, _("The %s value cannot be converted to %s: its bytes are not UTF-8 text."),
                              type_base_name (&in->type), type_base_name (to));
            return FALSE;
          }
        text = value_to_text (in, &len);
        if (to->kind == SQL_UNIQUEIDENTIFIER)
          {
            if (!is_guid (text, len))
              {
                *error = msg_new (8169, 16, _("Conversion failed when converting from a character string to uniqueidentifier."));
                return FALSE;
              }
            {
              g_autofree char *up = g_ascii_strup (text[0] == '{' ? text + 1 : text, 36);
              value_take_string (out, *to, g_steal_pointer (&up), 36);
            }
            return TRUE;
          }
        fit_string (out, to, text, len);
        return TRUE;
      }

    case VC_BINARY:
      switch (from)
        {
        case VC_STRING: case VC_BINARY:
          fit_binary (out, to, (const guint8 *) data, len);
          return TRUE;
        case VC_BIT: case VC_INT:
          {
            guint8 be[8];
            int width = in->type.kind == SQL_BIGINT ? 8 : in->type.kind == SQL_INT ? 4
                        : in->type.kind == SQL_SMALLINT ? 2 : 1;

            for (int i = 0; i < width; i++)
              be[i] = (guint8) ((guint64) in->i >> (8 * (width - 1 - i)));
            fit_binary (out, to, be, width);
            return TRUE;
          }
        default:
          goto not_allowed;
        }

    case VC_DATE:
    case VC_TIME:
    case VC_DATETIME:
      {
        gboolean has_date = FALSE, has_time = FALSE;
        gint64 days = days_from_civil (1900, 1, 1), us = 0;

        switch (from)
          {
          case VC_STRING:
            if (!parse_datetime_text (data, len, &has_date, &days, &has_time, &us))
              {
                if (skip_space (data, data + len) == data + len && target != VC_TIME)
                  break;   /* '' is 1900-01-01 */
                *error = msg_new (241, 16, _("Conversion failed when converting date and/or time from character string."));
                return FALSE;
              }
            break;
          case VC_DATE:
            if (target == VC_TIME)
              goto not_allowed;
            days = in->i;
            break;
          case VC_TIME:
            if (target == VC_DATE)
              goto not_allowed;
            us = in->i;
            break;
          case VC_DATETIME:
            days = floor_div (in->i, US_PER_DAY);
            us = in->i - days * US_PER_DAY;
            break;
          case VC_BIT: case VC_INT: case VC_FLOAT: case VC_DECIMAL:
            if (to->kind != SQL_DATETIME && to->kind != SQL_SMALLDATETIME)
              goto not_allowed;
            fv = from == VC_FLOAT ? in->f : from == VC_DECIMAL ? unscaled_to_double (in->i, in->type.scale)
                                                               : (double) in->i;
            if (!isfinite (fv) || fv > 3e6 || fv < -3e6)
              goto overflow;
            days = (gint64) fv;
            if ((double) days > fv)
              days--;   /* floor */
            us = (gint64) ((fv - (double) days) * (double) US_PER_DAY + 0.5);
            days += days_from_civil (1900, 1, 1);
            break;
          default:
            goto not_allowed;
          }
        if (target == VC_DATE)
          {
            out->i = days;
            if (days < days_from_civil (1, 1, 1) || days > days_from_civil (9999, 12, 31))
              goto out_of_range;
            return TRUE;
          }
        if (target == VC_TIME)
          {
            out->i = round_time (us, to) % US_PER_DAY;
            return TRUE;
          }
        out->i = round_time (days * US_PER_DAY + us, to);
        if (!datetime_in_range (out->i, to))
          goto out_of_range;
        return TRUE;
      }
    }

not_allowed:
  *error = not_allowed (&in->type, to);
  return FALSE;

overflow:
  *error = overflow (in, to);
  return FALSE;

out_of_range:
  if (from == VC_STRING)
    *error = msg_new (242, 16, _("The conversion of a %s data type to a %s data type resulted in an out-of-range value."),
                      type_base_name (&in->type), type_base_name (to));
  else
    *error = msg_new (8115, 16, _("Arithmetic overflow error converting expression to data type %s."),
                      type_base_name (to));
  return FALSE;
}

/* Whether any value of @from can convert to @to (for WITH RESULT SETS,
 * whose Msg 11538 is about types, not values). */
static gboolean
can_convert (const SqlType *from, const SqlType *to)
{
  ValueClass f = type_class (from), t = type_class (to);
  gboolean datetime_from = from->kind == SQL_DATETIME || from->kind == SQL_SMALLDATETIME;
  gboolean datetime_to = to->kind == SQL_DATETIME || to->kind == SQL_SMALLDATETIME;

  if (f == VC_STRING || t == VC_STRING)
    return TRUE;
  switch (t)
    {
    case VC_BIT: return f != VC_DATE && f != VC_TIME && f != VC_DATETIME;
    case VC_INT: return f != VC_DATE && f != VC_TIME && (f != VC_DATETIME || datetime_from);
    case VC_FLOAT: return f != VC_BINARY && f != VC_DATE && f != VC_TIME && (f != VC_DATETIME || datetime_from);
    case VC_DECIMAL: return f == VC_BIT || f == VC_INT || f == VC_FLOAT || f == VC_DECIMAL;
    case VC_BINARY: return f == VC_BINARY || f == VC_BIT || f == VC_INT;
    case VC_DATE: return f == VC_DATE || f == VC_DATETIME;
    case VC_TIME: return f == VC_TIME || f == VC_DATETIME;
    case VC_DATETIME:
      return f == VC_DATE || f == VC_TIME || f == VC_DATETIME ||
             (datetime_to && (f == VC_BIT || f == VC_INT || f == VC_FLOAT || f == VC_DECIMAL));
    case VC_STRING:
    default:
      return TRUE;
    }
}

/* ==================================================================== lexer */

typedef enum {
  TOK_END,
  TOK_WORD,       /* identifier or keyword */
  TOK_QUOTED,     /* [name] or "name" */
  TOK_VARIABLE,   /* @name */
  TOK_STRING,     /* '…' */
  TOK_NSTRING,    /* N'…' */
  TOK_NUMBER,     /* 12, 1.5, 1e3 */
  TOK_BINARY,     /* 0x0A */
  TOK_SYMBOL,     /* one character: , ( ) ; . = + - * / % and anything else */
} TokenKind;

typedef struct {
  TokenKind kind;
  int line;           /* absolute, from 1 */
  int column;         /* in characters, from 1 */
  int end_line;       /* line of its last character */
  char *value;        /* name, string contents, number text, hex digits, the symbol */
  gsize value_len;
} Token;

static void
token_clear (gpointer data)
{
  Token *t = data;

  g_free (t->value);
}

typedef struct {
  const char *text;
  gsize len;
  gsize pos;
  int line;
  gsize line_start;
  gsize col_offset;   /* column cache: a byte offset on the current line … */
  int col;            /* … and its column, so that long lines cost linear time */
  GArray *tokens;
  OrrTsqlMessage *error;
  int error_line;
} Lexer;

static int
lexer_column (Lexer *lx, gsize offset)
{
  if (lx->col_offset < lx->line_start || lx->col_offset > offset)
    {
      lx->col_offset = lx->line_start;
      lx->col = 1;
    }
  lx->col += (int) g_utf8_strlen (lx->text + lx->col_offset, offset - lx->col_offset);
  lx->col_offset = offset;
  return lx->col;
}

/* Consumes one byte, counting lines. */
static void
lexer_advance (Lexer *lx)
{
  if (lx->text[lx->pos] == '\n')
    {
      lx->line++;
      lx->line_start = lx->pos + 1;
    }
  lx->pos++;
}

static gboolean
lexer_fail (Lexer *lx, int line, OrrTsqlMessage *message)
{
  lx->error = message;
  lx->error_line = line;
  return FALSE;
}

static gboolean
is_ident_start (gunichar c)
{
  return c == '_' || c == '#' || (c < 128 ? g_ascii_isalpha (c) : g_unichar_isalpha (c));
}

static gboolean
is_ident_char (gunichar c)
{
  return c == '_' || c == '#' || c == '@' || c == '$' || (c < 128 ? g_ascii_isalnum (c) : g_unichar_isalnum (c));
}

static gunichar
lexer_char (Lexer *lx, gsize at)
{
  if (at >= lx->len)
    return 0;
  if ((guchar) lx->text[at] < 0x80)
    return (guchar) lx->text[at];
  return g_utf8_get_char (lx->text + at);
}

static gsize
char_len (Lexer *lx, gsize at)
{
  return (guchar) lx->text[at] < 0x80 ? 1 : (gsize) (g_utf8_next_char (lx->text + at) - (lx->text + at));
}

static void
push_token (Lexer *lx, TokenKind kind, int line, int column, char *value, gsize value_len)
{
  Token t = { kind, line, column, lx->line, value, value_len };

  g_array_append_val (lx->tokens, t);
}

/* A quoted run ending with @close, where a doubled @close stands for one. */
static gboolean
lex_quoted (Lexer *lx, char close, GString *out)
{
  const char *text = lx->text;

  for (;;)
    {
      const char *stop;
      gsize run;

      if (lx->pos >= lx->len)
        return FALSE;
      stop = memchr (text + lx->pos, close, lx->len - lx->pos);
      run = stop ? (gsize) (stop - (text + lx->pos)) : lx->len - lx->pos;
      g_string_append_len (out, text + lx->pos, run);
      /* Count the lines the run spans. */
      for (const char *nl = memchr (text + lx->pos, '\n', run); nl; nl = memchr (nl + 1, '\n', text + lx->pos + run - nl - 1))
        {
          lx->line++;
          lx->line_start = nl - text + 1;
        }
      lx->pos += run;
      if (stop == NULL)
        return FALSE;
      lx->pos++;
      if (lx->pos < lx->len && text[lx->pos] == close)
        {
          g_string_append_c (out, close);
          lx->pos++;
          continue;
        }
      return TRUE;
    }
}

static gboolean
lex_all (Lexer *lx)
{
  const char *text = lx->text;

  while (lx->pos < lx->len)
    {
      char c = text[lx->pos];
      gunichar u;
      int line, column;
      gsize start;

      if (c == '\n' || g_ascii_isspace (c))
        {
          lexer_advance (lx);
          continue;
        }
      u = lexer_char (lx, lx->pos);
      if (u >= 0x80 && g_unichar_isspace (u))
        {
          lx->pos += char_len (lx, lx->pos);
          continue;
        }
      if (c == '-' && lx->pos + 1 < lx->len && text[lx->pos + 1] == '-')
        {
          const char *nl = memchr (text + lx->pos, '\n', lx->len - lx->pos);
          lx->pos = nl ? (gsize) (nl - text) : lx->len;
          continue;
        }
      line = lx->line;
      column = lexer_column (lx, lx->pos);
      start = lx->pos;
      if (c == '/' && lx->pos + 1 < lx->len && text[lx->pos + 1] == '*')
        {
          /* T-SQL block comments nest. */
          int depth = 0;

          while (lx->pos < lx->len)
            {
              if (text[lx->pos] == '/' && lx->pos + 1 < lx->len && text[lx->pos + 1] == '*')
                {
                  depth++;
                  lx->pos += 2;
                }
              else if (text[lx->pos] == '*' && lx->pos + 1 < lx->len && text[lx->pos + 1] == '/')
                {
                  lx->pos += 2;
                  if (--depth == 0)
                    break;
                }
              else
                lexer_advance (lx);
            }
          if (depth > 0)
            return lexer_fail (lx, line, msg_new (113, 15, _("Missing end comment mark '*/' for the comment that starts at line %d, column %d."),
                                                  line, column));
          continue;
        }
      if (c == '\'' || ((c == 'N' || c == 'n') && lx->pos + 1 < lx->len && text[lx->pos + 1] == '\''))
        {
          GString *s = g_string_new (NULL);
          gboolean national = c != '\'';

          lx->pos += national ? 2 : 1;
          if (!lex_quoted (lx, '\'', s))
            {
              g_autofree char *q = shown (s->str, s->len);

              g_string_free (s, TRUE);
              return lexer_fail (lx, line, msg_new (105, 15, _("Unclosed quotation mark after the character string '%s' "
                                                      "that starts at line %d, column %d."), q, line, column));
            }
          {
            gsize n = s->len;
            push_token (lx, national ? TOK_NSTRING : TOK_STRING, line, column, g_string_free (s, FALSE), n);
          }
          continue;
        }
      if (c == '[' || c == '"')
        {
          GString *s = g_string_new (NULL);

          lx->pos++;
          if (!lex_quoted (lx, c == '[' ? ']' : '"', s))
            {
              g_autofree char *q = shown (s->str, s->len);

              g_string_free (s, TRUE);
              return lexer_fail (lx, line, msg_new (105, 15, _("Unclosed quotation mark after the character string '%s' "
                                                      "that starts at line %d, column %d."), q, line, column));
            }
          {
            gsize n = s->len;
            push_token (lx, TOK_QUOTED, line, column, g_string_free (s, FALSE), n);
          }
          continue;
        }
      if (c == '0' && lx->pos + 1 < lx->len && (text[lx->pos + 1] == 'x' || text[lx->pos + 1] == 'X'))
        {
          lx->pos += 2;
          while (lx->pos < lx->len && g_ascii_isxdigit (text[lx->pos]))
            lx->pos++;
          push_token (lx, TOK_BINARY, line, column, g_strndup (text + start + 2, lx->pos - start - 2), lx->pos - start - 2);
          continue;
        }
      if (g_ascii_isdigit (c) || (c == '.' && lx->pos + 1 < lx->len && g_ascii_isdigit (text[lx->pos + 1])))
        {
          while (lx->pos < lx->len && g_ascii_isdigit (text[lx->pos]))
            lx->pos++;
          if (lx->pos < lx->len && text[lx->pos] == '.')
            for (lx->pos++; lx->pos < lx->len && g_ascii_isdigit (text[lx->pos]); lx->pos++)
              ;
          if (lx->pos < lx->len && (text[lx->pos] == 'e' || text[lx->pos] == 'E'))
            {
              gsize e = lx->pos + 1;

              if (e < lx->len && (text[e] == '+' || text[e] == '-'))
                e++;
              if (e < lx->len && g_ascii_isdigit (text[e]))
                for (lx->pos = e; lx->pos < lx->len && g_ascii_isdigit (text[lx->pos]); lx->pos++)
                  ;
            }
          push_token (lx, TOK_NUMBER, line, column, g_strndup (text + start, lx->pos - start), lx->pos - start);
          continue;
        }
      if ((c == '@' && is_ident_char (lexer_char (lx, lx->pos + 1))) || is_ident_start (u))
        {
          lx->pos += char_len (lx, lx->pos);
          while (lx->pos < lx->len && is_ident_char (lexer_char (lx, lx->pos)))
            lx->pos += char_len (lx, lx->pos);
          push_token (lx, c == '@' ? TOK_VARIABLE : TOK_WORD, line, column,
                      g_strndup (text + start, lx->pos - start), lx->pos - start);
          continue;
        }
      lx->pos += char_len (lx, lx->pos);
      push_token (lx, TOK_SYMBOL, line, column, g_strndup (text + start, lx->pos - start), lx->pos - start);
    }
  return TRUE;
}

/* ==================================================================== syntax tree */

typedef enum {
  EXPR_LITERAL,
  EXPR_VARIABLE,
  EXPR_NEGATE,
  EXPR_BINARY,
  EXPR_CAST,
  EXPR_FUNCTION,
  EXPR_DEFAULT,     /* DEFAULT as a procedure argument */
} ExprKind;

typedef struct _Expr Expr;
struct _Expr {
  ExprKind kind;
  int line;
  int depth;
  Value value;        /* LITERAL */
  char *name;         /* VARIABLE (as written), FUNCTION (upper case) */
  char op;            /* BINARY: + - * / % */
  Expr *left;         /* BINARY, NEGATE, CAST */
  Expr *right;
  GPtrArray *args;    /* FUNCTION: Expr */
  SqlType type;       /* CAST */
};

static void
expr_free (Expr *e)
{
  if (e == NULL)
    return;
  value_clear (&e->value);
  g_free (e->name);
  expr_free (e->left);
  expr_free (e->right);
  if (e->args)
    g_ptr_array_unref (e->args);
  g_free (e);
}

static Expr *
expr_new (ExprKind kind, int line)
{
  Expr *e = g_new0 (Expr, 1);

  e->kind = kind;
  e->line = line;
  e->depth = 1;
  return e;
}

typedef enum {
  STMT_DECLARE,
  STMT_SET_VARIABLE,
  STMT_SET_OPTION,
  STMT_PRINT,
  STMT_SELECT,
  STMT_EXEC,
  STMT_USE,
  STMT_RECONFIGURE,
} StatementKind;

typedef struct {
  char *name;
  SqlType type;
  Expr *init;
} Declaration;

typedef struct {
  char *alias;        /* NULL: "(No column name)" */
  char *variable;     /* SELECT @v = expr */
  Expr *expr;
} SelectItem;

typedef struct {
  char *name;         /* @name, or NULL when positional */
  Expr *value;
  gboolean output;
  int line;
} Argument;

typedef struct {
  char *name;
  SqlType type;
  gboolean not_null;
} ColumnDef;

typedef enum {
  RESULT_SETS_UNDEFINED,
  RESULT_SETS_NONE,
  RESULT_SETS_DEFINED,
} ResultSetsMode;

typedef struct {
  StatementKind kind;
  int line;                   /* absolute, of its first token */
  GPtrArray *declarations;    /* DECLARE: Declaration */
  char *variable;             /* SET @v: the variable; EXEC @r = : the return variable */
  char op;                    /* SET @v op= expr: 0 or + - * / */
  Expr *expr;                 /* SET, PRINT */
  char *option;               /* SET option ON|OFF; USE: the database */
  gboolean on;
  GPtrArray *items;           /* SELECT: SelectItem */
  char *procedure;            /* EXEC: the name as written */
  char *procedure_base;       /* … its last part */
  GPtrArray *arguments;       /* EXEC: Argument */
  ResultSetsMode result_sets;
  GPtrArray *result_set_defs; /* EXEC … WITH RESULT SETS ((…), …): GPtrArray of ColumnDef */
} Statement;

static void
declaration_free (gpointer data)
{
  Declaration *d = data;

  g_free (d->name);
  expr_free (d->init);
  g_free (d);
}

static void
select_item_free (gpointer data)
{
  SelectItem *item = data;

  g_free (item->alias);
  g_free (item->variable);
  expr_free (item->expr);
  g_free (item);
}

static void
argument_free (gpointer data)
{
  Argument *a = data;

  g_free (a->name);
  expr_free (a->value);
  g_free (a);
}

static void
column_def_free (gpointer data)
{
  ColumnDef *c = data;

  g_free (c->name);
  g_free (c);
}

static void
statement_free (gpointer data)
{
  Statement *s = data;

  if (s->declarations)
    g_ptr_array_unref (s->declarations);
  g_free (s->variable);
  expr_free (s->expr);
  g_free (s->option);
  if (s->items)
    g_ptr_array_unref (s->items);
  g_free (s->procedure);
  g_free (s->procedure_base);
  if (s->arguments)
    g_ptr_array_unref (s->arguments);
  if (s->result_set_defs)
    g_ptr_array_unref (s->result_set_defs);
  g_free (s);
}

struct _OrrTsqlBatch {
  int first_line;
  guint repeat;
  GPtrArray *statements;      /* Statement */
  OrrTsqlMessage *error;
};

void
orr_tsql_batch_free (OrrTsqlBatch *batch)
{
  if (batch == NULL)
    return;
  g_ptr_array_unref (batch->statements);
  orr_tsql_message_free (batch->error);
  g_free (batch);
}

const OrrTsqlMessage *
orr_tsql_batch_get_error (OrrTsqlBatch *batch)
{
  return batch->error;
}

int
orr_tsql_batch_get_first_line (OrrTsqlBatch *batch)
{
  return batch->first_line;
}

guint
orr_tsql_batch_get_repeat (OrrTsqlBatch *batch)
{
  return batch->repeat;
}

/* ==================================================================== parser */

typedef struct {
  const Token *tokens;
  guint n;
  guint pos;
  int first_line;
  OrrTsqlMessage *error;
  GHashTable *declared;       /* casefolded variable names declared so far */
  int nesting;
  gboolean first_statement;
} Parser;

static const Token end_token = { TOK_END, 0, 0, 0, NULL, 0 };

static const Token *
peek_at (Parser *p, guint ahead)
{
  return p->pos + ahead < p->n ? &p->tokens[p->pos + ahead] : &end_token;
}

static const Token *
peek (Parser *p)
{
  return peek_at (p, 0);
}

static const Token *
advance (Parser *p)
{
  const Token *t = peek (p);

  if (p->pos < p->n)
    p->pos++;
  return t;
}

static gboolean
is_keyword (const Token *t, const char *keyword)
{
  return t->kind == TOK_WORD && g_ascii_strcasecmp (t->value, keyword) == 0;
}

static gboolean
is_symbol (const Token *t, char c)
{
  return t->kind == TOK_SYMBOL && t->value[0] == c && t->value[1] == '\0';
}

static gboolean
accept_keyword (Parser *p, const char *keyword)
{
  if (!is_keyword (peek (p), keyword))
    return FALSE;
  advance (p);
  return TRUE;
}

static gboolean
accept_symbol (Parser *p, char c)
{
  if (!is_symbol (peek (p), c))
    return FALSE;
  advance (p);
  return TRUE;
}

/* T-SQL's reserved words (those a batch here may meet): SQL Server says
 * "near the keyword" for them (Msg 156). */
static gboolean
is_reserved (const char *word)
{
  static const char * const reserved[] = {
    "ADD", "ALL", "ALTER", "AND", "ANY", "AS", "ASC", "BEGIN", "BETWEEN", "BREAK", "BY", "CASE", "CHECK",
    "CLOSE", "COLUMN", "COMMIT", "CONSTRAINT", "CONTINUE", "CONVERT", "CREATE", "CROSS", "CURRENT",
    "CURSOR", "DATABASE", "DECLARE", "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END",
    "EXCEPT", "EXEC", "EXECUTE", "EXISTS", "FETCH", "FOR", "FOREIGN", "FROM", "FUNCTION", "GOTO", "GRANT",
    "GROUP", "HAVING", "IF", "IN", "INDEX", "INNER", "INSERT", "INTERSECT", "INTO", "IS", "JOIN", "KEY",
    "LEFT", "LIKE", "MERGE", "NOT", "NULL", "OF", "OFF", "ON", "OPEN", "OR", "ORDER", "OUTER", "PRIMARY",
    "PRINT", "PROC", "PROCEDURE", "RAISERROR", "RECONFIGURE", "RETURN", "REVOKE", "RIGHT", "ROLLBACK",
    "SELECT", "SET", "TABLE", "THEN", "TO", "TOP", "TRAN", "TRANSACTION", "TRUNCATE", "UNION", "UPDATE",
    "USE", "VALUES", "VIEW", "WHEN", "WHERE", "WHILE", "WITH",
  };

  for (guint i = 0; i < G_N_ELEMENTS (reserved); i++)
    if (g_ascii_strcasecmp (word, reserved[i]) == 0)
      return TRUE;
  return FALSE;
}

static int
relative_line (Parser *p, int line)
{
  return MAX (line - p->first_line + 1, 1);
}

static char *
token_text (const Token *t)
{
  if (t->kind == TOK_BINARY)
    return g_strdup_printf ("0x%s", t->value);
  return shown (t->value, t->value_len);
}

/* Msg 102/156: "Incorrect syntax near 'x'." and, Orrery's addition, what
 * was expected where. At the end of the batch, near its last token. */
static gboolean
fail_expected (Parser *p, const char *expected)
{
  const Token *near = peek (p);
  gboolean at_end = near->kind == TOK_END;
  g_autofree char *text = NULL;

  if (p->error)
    return FALSE;
  if (at_end)
    {
      if (p->n == 0)
        {
          p->error = msg_new (102, 15, _("Incorrect syntax: expected %s, but the batch is empty."), expected);
          p->error->line = 1;
          return FALSE;
        }
      near = &p->tokens[p->n - 1];
    }
  text = token_text (near);
  if (near->kind == TOK_WORD && is_reserved (near->value))
    p->error = msg_new (156, 15, _("Incorrect syntax near the keyword '%s'. Expected %s%s (line %d, column %d)."),
                        text, expected, at_end ? _(", but the batch ends") : "", near->line, near->column);
  else
    p->error = msg_new (102, 15, _("Incorrect syntax near '%s'. Expected %s%s (line %d, column %d)."),
                        text, expected, at_end ? _(", but the batch ends") : "", near->line, near->column);
  p->error->line = relative_line (p, near->line);
  return FALSE;
}

static gboolean
fail_message (Parser *p, int line, OrrTsqlMessage *message)
{
  if (p->error)
    {
      orr_tsql_message_free (message);
      return FALSE;
    }
  message->line = relative_line (p, line);
  p->error = message;
  return FALSE;
}

static gboolean
expect_symbol (Parser *p, char c, const char *expected)
{
  if (accept_symbol (p, c))
    return TRUE;
  return fail_expected (p, expected);
}

static gboolean
check_declared (Parser *p, const Token *t)
{
  g_autofree char *key = g_utf8_casefold (t->value, -1);

  if (g_hash_table_contains (p->declared, key))
    return TRUE;
  return fail_message (p, t->line, msg_new (137, 15, _("Must declare the scalar variable \"%s\"."), t->value));
}

/* A data type: int, nvarchar(20), decimal(10,2), varchar(max), [int],
 * double precision, … @in_cast: CAST's default lengths (30, not 1). */
static gboolean
parse_type (Parser *p, SqlType *out, gboolean in_cast, int ordinal)
{
  const Token *t = peek (p);
  g_autofree char *name = NULL;
  const TypeInfo *info = NULL;

  if (t->kind != TOK_WORD && t->kind != TOK_QUOTED)
    return fail_expected (p, _("a data type"));
  advance (p);
  name = g_ascii_strdown (t->value, -1);
  /* sys.int and the like */
  if (g_str_equal (name, "sys") && is_symbol (peek (p), '.') &&
      (peek_at (p, 1)->kind == TOK_WORD || peek_at (p, 1)->kind == TOK_QUOTED))
    {
      advance (p);
      t = advance (p);
      g_free (name);
      name = g_ascii_strdown (t->value, -1);
    }
  if (t->kind == TOK_WORD)
    {
      if (g_str_equal (name, "double") && accept_keyword (p, "precision"))
        {
          g_free (name);
          name = g_strdup ("float");
        }
      else if (g_str_equal (name, "national") && (accept_keyword (p, "char") || accept_keyword (p, "character")))
        {
          g_free (name);
          name = g_strdup (accept_keyword (p, "varying") ? "nvarchar" : "nchar");
        }
      else if ((g_str_equal (name, "char") || g_str_equal (name, "character")) && accept_keyword (p, "varying"))
        {
          g_free (name);
          name = g_strdup ("varchar");
        }
      else if (g_str_equal (name, "binary") && accept_keyword (p, "varying"))
        {
          g_free (name);
          name = g_strdup ("varbinary");
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (type_infos); i++)
    if (g_str_equal (type_infos[i].name, name))
      info = &type_infos[i];
  if (info == NULL)
    {
      if (g_str_equal (name, "table"))
        return fail_message (p, t->line, msg_new (0, 15, _("Table variables are not supported: Orrery's batches hold "
                                                    "scalar variables; rows come from @input_data_1 (line %d, column %d)."),
                                                  t->line, t->column));
      return fail_message (p, t->line, msg_new (2715, 16, _("Column, parameter, or variable #%d: Cannot find data type %s."),
                                                ordinal, t->value));
    }
  *out = sql_type (info->kind);
  if (info->args == ARGS_LENGTH)
    out->length = in_cast ? 30 : 1;
  if (!accept_symbol (p, '('))
    return TRUE;
  if (info->args == ARGS_NONE)
    return fail_message (p, t->line, msg_new (2716, 16, _("Column, parameter, or variable #%d: Cannot specify a column width on data type %s."),
                                              ordinal, info->name));
  if (info->args == ARGS_LENGTH && info->takes_max && accept_keyword (p, "max"))
    out->length = -1;
  else
    {
      const Token *n = peek (p);
      gint64 v = 0, s = 0;
      gboolean overflowed = FALSE;

      if (n->kind != TOK_NUMBER || !parse_integer (n->value, n->value_len, &v, &overflowed) || overflowed)
        return fail_expected (p, info->args == ARGS_LENGTH && info->takes_max ? _("a length or MAX") : _("a number"));
      advance (p);
      switch (info->args)
        {
        case ARGS_LENGTH:
          if (v > info->max_length)
            return fail_message (p, n->line, msg_new (131, 15, _("The size (%lld) given to the type '%s' exceeds the maximum allowed for any data type (%d)."),
                                                      (long long) v, info->name, info->max_length));
          if (v < 1)
            return fail_message (p, n->line, msg_new (1001, 15, _("Line %d: Length or precision specification %lld is invalid."),
                                                      relative_line (p, n->line), (long long) v));
          out->length = (int) v;
          break;
        case ARGS_PRECISION:
          if (v < 1 || v > 38)
            return fail_message (p, n->line, msg_new (2750, 16, _("Column or parameter #%d: Specified column precision %lld is greater than the maximum precision of 38."),
                                                      ordinal, (long long) v));
          if (accept_symbol (p, ','))
            {
              const Token *sn = peek (p);

              if (sn->kind != TOK_NUMBER || !parse_integer (sn->value, sn->value_len, &s, &overflowed) || overflowed)
                return fail_expected (p, _("a scale"));
              advance (p);
              if (s > v)
                return fail_message (p, sn->line, msg_new (2751, 16, _("Column or parameter #%d: Specified column scale %lld is greater than the specified precision of %lld."),
                                                           ordinal, (long long) s, (long long) v));
            }
          out->precision = (int) v;
          out->scale = (int) s;
          break;
        case ARGS_FLOAT:
          if (v < 1 || v > 53)
            return fail_message (p, n->line, msg_new (2750, 16, _("Column or parameter #%d: Specified column precision %lld is greater than the maximum precision of 53."),
                                                      ordinal, (long long) v));
          out->precision = v <= 24 ? 24 : 53;
          break;
        case ARGS_FRACTION:
          if (v > 7)
            return fail_message (p, n->line, msg_new (1002, 15, _("Line %d: Specified scale %lld is invalid."),
                                                      relative_line (p, n->line), (long long) v));
          out->precision = (int) v;
          break;
        case ARGS_NONE:
        default:
          g_assert_not_reached ();
        }
    }
  return expect_symbol (p, ')', _("')' after the type's length or precision"));
}

/* A number literal: int if it fits, else an exact numeric, else float. */
static void
number_literal (const char *text, Value *v)
{
  gint64 iv;
  gboolean overflowed;
  const char *dot = strchr (text, '.');

  memset (v, 0, sizeof *v);
  if (strpbrk (text, "eE") == NULL)
    {
      const char *digits = text;
      int int_digits, frac_digits;

      if (dot == NULL && parse_integer (text, strlen (text), &iv, &overflowed) && !overflowed && iv <= G_MAXINT32)
        {
          v->type = sql_type (SQL_INT);
          v->i = iv;
          return;
        }
      while (*digits == '0' && digits[1] != '.' && digits[1] != '\0')
        digits++;
      int_digits = dot ? (int) (dot - digits) : (int) strlen (digits);
      frac_digits = dot ? (int) strlen (dot + 1) : 0;
      if (int_digits == 1 && digits[0] == '0')
        int_digits = 0;
      v->type = sql_type (SQL_NUMERIC);
      v->type.precision = MAX (int_digits + frac_digits, 1);
      v->type.scale = frac_digits;
      if (v->type.precision <= 38 && v->type.precision <= 18 &&
          parse_decimal (text, strlen (text), frac_digits, &iv, &overflowed) && !overflowed)
        {
          v->i = iv;
          return;
        }
      if (v->type.precision <= 38)
        {
          v->f = g_ascii_strtod (text, NULL);
          return;
        }
    }
  v->type = sql_type (SQL_FLOAT);
  v->f = g_ascii_strtod (text, NULL);
}

static Expr *parse_expr (Parser *p);

static Expr *
literal_expr (const Token *t)
{
  Expr *e = expr_new (EXPR_LITERAL, t->line);

  switch (t->kind)
    {
    case TOK_NUMBER:
      number_literal (t->value, &e->value);
      break;
    case TOK_STRING:
    case TOK_NSTRING:
      value_take_string (&e->value, sql_string_type (t->kind == TOK_NSTRING, g_utf8_strlen (t->value, t->value_len)),
                         g_strndup (t->value, t->value_len), t->value_len);
      break;
    case TOK_BINARY:
      {
        gsize n = t->value_len;
        GByteArray *b = g_byte_array_sized_new ((guint) (n / 2 + 1));
        gsize i = 0;

        e->value.type = sql_type (SQL_VARBINARY);
        if (n % 2)
          {
            guint8 x = (guint8) g_ascii_xdigit_value (t->value[0]);
            g_byte_array_append (b, &x, 1);
            i = 1;
          }
        for (; i < n; i += 2)
          {
            guint8 x = (guint8) (g_ascii_xdigit_value (t->value[i]) << 4 | g_ascii_xdigit_value (t->value[i + 1]));
            g_byte_array_append (b, &x, 1);
          }
        e->value.type.length = MAX ((int) b->len, 1);
        e->value.bytes = g_byte_array_free_to_bytes (b);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  return e;
}

static gboolean
nest (Parser *p)
{
  if (++p->nesting <= MAX_NESTING)
    return TRUE;
  if (!p->error)
    fail_message (p, peek (p)->kind == TOK_END ? p->tokens[p->n - 1].line : peek (p)->line,
                  msg_new (191, 15, _("Some part of your SQL statement is nested too deeply. "
                             "Rewrite the query or break it up into smaller queries.")));
  return FALSE;
}

static Expr *
parse_function (Parser *p, const Token *name)
{
  g_autofree char *upper = g_ascii_strup (name->value, -1);
  Expr *e;

  advance (p);   /* ( */
  if (g_str_equal (upper, "CAST"))
    {
      e = expr_new (EXPR_CAST, name->line);
      e->left = parse_expr (p);
      if (e->left == NULL || !accept_keyword (p, "AS"))
        {
          fail_expected (p, _("AS and a data type in CAST"));
          expr_free (e);
          return NULL;
        }
      if (!parse_type (p, &e->type, TRUE, 1) || !expect_symbol (p, ')', _("')' closing CAST")))
        {
          expr_free (e);
          return NULL;
        }
      e->depth = e->left->depth + 1;
      return e;
    }
  if (g_str_equal (upper, "CONVERT"))
    {
      e = expr_new (EXPR_CAST, name->line);
      if (!parse_type (p, &e->type, TRUE, 1) || !expect_symbol (p, ',', _("',' after the data type in CONVERT")) ||
          (e->left = parse_expr (p)) == NULL)
        {
          expr_free (e);
          return NULL;
        }
      /* The style only shapes dates as text; Orrery's text is ISO 8601. */
      if (accept_symbol (p, ',') && advance (p)->kind != TOK_NUMBER)
        {
          p->pos--;
          fail_expected (p, _("a style number"));
          expr_free (e);
          return NULL;
        }
      if (!expect_symbol (p, ')', _("')' closing CONVERT")))
        {
          expr_free (e);
          return NULL;
        }
      e->depth = e->left->depth + 1;
      return e;
    }
  if (!g_str_equal (upper, "CHAR") && !g_str_equal (upper, "NCHAR") && !g_str_equal (upper, "CONCAT"))
    {
      p->pos--;
      fail_message (p, name->line, msg_new (195, 15, _("'%s' is not a recognized built-in function name. "
                                              "Orrery's batches know CAST, CONVERT, CHAR, NCHAR and CONCAT."), name->value));
      return NULL;
    }
  e = expr_new (EXPR_FUNCTION, name->line);
  e->name = g_steal_pointer (&upper);
  e->args = g_ptr_array_new_with_free_func ((GDestroyNotify) expr_free);
  do
    {
      Expr *arg = parse_expr (p);

      if (arg == NULL)
        {
          expr_free (e);
          return NULL;
        }
      e->depth = MAX (e->depth, arg->depth + 1);
      g_ptr_array_add (e->args, arg);
    }
  while (accept_symbol (p, ','));
  if (!expect_symbol (p, ')', _("')' closing the function's arguments")))
    {
      expr_free (e);
      return NULL;
    }
  if (g_str_equal (e->name, "CONCAT") ? e->args->len < 2 || e->args->len > 254 : e->args->len != 1)
    {
      fail_message (p, name->line, g_str_equal (e->name, "CONCAT")
                                   ? msg_new (189, 15, _("The concat function requires 2 to 254 arguments."))
                                   : msg_new (174, 15, _("The %s function requires 1 argument(s)."), e->name));
      expr_free (e);
      return NULL;
    }
  return e;
}

static Expr *
parse_primary (Parser *p)
{
  const Token *t = peek (p);
  Expr *e;

  switch (t->kind)
    {
    case TOK_NUMBER:
    case TOK_STRING:
    case TOK_NSTRING:
    case TOK_BINARY:
      advance (p);
      return literal_expr (t);
    case TOK_VARIABLE:
      if (!check_declared (p, t))
        return NULL;
      advance (p);
      e = expr_new (EXPR_VARIABLE, t->line);
      e->name = g_strdup (t->value);
      return e;
    case TOK_WORD:
      if (is_keyword (t, "NULL"))
        {
          advance (p);
          e = expr_new (EXPR_LITERAL, t->line);
          value_null (&e->value, sql_type (SQL_INT));
          return e;
        }
      if (is_symbol (peek_at (p, 1), '('))
        {
          advance (p);
          return parse_function (p, t);
        }
      break;
    case TOK_SYMBOL:
      if (is_symbol (t, '('))
        {
          advance (p);
          if (is_keyword (peek (p), "SELECT"))
            {
              fail_expected (p, _("an expression (subqueries are not supported: queries go in @input_data_1)"));
              return NULL;
            }
          e = parse_expr (p);
          if (e && !expect_symbol (p, ')', _("')'")))
            {
              expr_free (e);
              return NULL;
            }
          return e;
        }
      break;
    default:
      break;
    }
  fail_expected (p, _("an expression"));
  return NULL;
}

static Expr *
parse_factor (Parser *p)
{
  Expr *e;

  if (!nest (p))
    return NULL;
  if (is_symbol (peek (p), '-') || is_symbol (peek (p), '+'))
    {
      const Token *sign = advance (p);
      Expr *operand = parse_factor (p);

      if (operand == NULL)
        e = NULL;
      else if (sign->value[0] == '+')
        e = operand;
      else
        {
          e = expr_new (EXPR_NEGATE, sign->line);
          e->left = operand;
          e->depth = operand->depth + 1;
        }
    }
  else
    e = parse_primary (p);
  p->nesting--;
  return e;
}

static Expr *
binary_expr (Parser *p, char op, Expr *left, Expr *right, int line)
{
  Expr *e = expr_new (EXPR_BINARY, line);

  e->op = op;
  e->left = left;
  e->right = right;
  e->depth = MAX (left->depth, right->depth) + 1;
  /* Long chains (a + b + c …) are deep trees: evaluation recurses on them. */
  if (e->depth > MAX_NESTING * 8)
    {
      expr_free (e);
      fail_message (p, line, msg_new (191, 15, _("Some part of your SQL statement is nested too deeply. "
                                        "Rewrite the query or break it up into smaller queries.")));
      return NULL;
    }
  return e;
}

static Expr *
parse_term (Parser *p)
{
  Expr *left = parse_factor (p);

  while (left && (is_symbol (peek (p), '*') || is_symbol (peek (p), '/') || is_symbol (peek (p), '%')) &&
         !is_symbol (peek_at (p, 1), '='))
    {
      const Token *op = advance (p);
      Expr *right = parse_factor (p);

      if (right == NULL)
        {
          expr_free (left);
          return NULL;
        }
      left = binary_expr (p, op->value[0], left, right, op->line);
    }
  return left;
}

static Expr *
parse_expr (Parser *p)
{
  Expr *left;

  if (!nest (p))
    return NULL;
  left = parse_term (p);
  while (left && (is_symbol (peek (p), '+') || is_symbol (peek (p), '-')) && !is_symbol (peek_at (p, 1), '='))
    {
      const Token *op = advance (p);
      Expr *right = parse_term (p);

      if (right == NULL)
        {
          expr_free (left);
          left = NULL;
          break;
        }
      left = binary_expr (p, op->value[0], left, right, op->line);
    }
  p->nesting--;
  return left;
}

static void
declare (Parser *p, const char *name)
{
  g_hash_table_add (p->declared, g_utf8_casefold (name, -1));
}

static Statement *
statement_new (StatementKind kind, int line)
{
  Statement *s = g_new0 (Statement, 1);

  s->kind = kind;
  s->line = line;
  return s;
}

static Statement *
parse_declare (Parser *p, const Token *start)
{
  g_autoptr(GPtrArray) decls = g_ptr_array_new_with_free_func (declaration_free);
  Statement *s;

  do
    {
      const Token *var = peek (p);
      Declaration *d;
      g_autofree char *key = NULL;

      if (var->kind != TOK_VARIABLE)
        {
          fail_expected (p, _("a variable name such as @name"));
          return NULL;
        }
      advance (p);
      accept_keyword (p, "AS");
      d = g_new0 (Declaration, 1);
      d->name = g_strdup (var->value);
      g_ptr_array_add (decls, d);
      if (!parse_type (p, &d->type, FALSE, (int) decls->len))
        return NULL;
      if (accept_symbol (p, '=') && (d->init = parse_expr (p)) == NULL)
        return NULL;
      key = g_utf8_casefold (var->value, -1);
      if (g_hash_table_contains (p->declared, key))
        {
          fail_message (p, var->line, msg_new (134, 15, _("The variable name '%s' has already been declared. Variable names must be unique "
                                                 "within a query batch or stored procedure."), var->value));
          return NULL;
        }
      declare (p, var->value);
    }
  while (accept_symbol (p, ','));
  s = statement_new (STMT_DECLARE, start->line);
  s->declarations = g_steal_pointer (&decls);
  return s;
}

static Statement *
parse_set (Parser *p, const Token *start)
{
  const Token *t = peek (p);
  Statement *s;

  if (t->kind == TOK_VARIABLE)
    {
      char op = 0;

      if (!check_declared (p, t))
        return NULL;
      advance (p);
      if (!is_symbol (peek (p), '=') && is_symbol (peek_at (p, 1), '=') &&
          (is_symbol (peek (p), '+') || is_symbol (peek (p), '-') || is_symbol (peek (p), '*') || is_symbol (peek (p), '/')))
        op = advance (p)->value[0];
      if (!expect_symbol (p, '=', _("'=' after the variable")))
        return NULL;
      s = statement_new (STMT_SET_VARIABLE, start->line);
      s->variable = g_strdup (t->value);
      s->op = op;
      if ((s->expr = parse_expr (p)) == NULL)
        {
          statement_free (s);
          return NULL;
        }
      return s;
    }
  if (t->kind == TOK_WORD)
    {
      /* SET NOCOUNT ON, SET ANSI_NULLS, QUOTED_IDENTIFIER ON, … */
      GString *names = g_string_new (NULL);

      do
        {
          const Token *option = peek (p);

          if (option->kind != TOK_WORD)
            {
              g_string_free (names, TRUE);
              fail_expected (p, _("the name of a SET option"));
              return NULL;
            }
          advance (p);
          g_string_append_printf (names, "%s%s", names->len ? ", " : "", option->value);
        }
      while (accept_symbol (p, ','));
      s = statement_new (STMT_SET_OPTION, start->line);
      s->option = g_ascii_strup (names->str, -1);
      g_string_free (names, TRUE);
      if (accept_keyword (p, "ON"))
        s->on = TRUE;
      else if (!accept_keyword (p, "OFF"))
        {
          statement_free (s);
          fail_expected (p, _("ON or OFF"));
          return NULL;
        }
      return s;
    }
  fail_expected (p, _("a variable or an option after SET"));
  return NULL;
}

/* An alias: a word, [name], "name" or 'name'. */
static gboolean
is_alias (const Token *t)
{
  return (t->kind == TOK_WORD && !is_reserved (t->value)) || t->kind == TOK_QUOTED;
}

static Statement *
parse_select (Parser *p, const Token *start)
{
  Statement *s = statement_new (STMT_SELECT, start->line);
  guint assignments = 0;

  s->items = g_ptr_array_new_with_free_func (select_item_free);
  do
    {
      const Token *t = peek (p);
      SelectItem *item = g_new0 (SelectItem, 1);

      g_ptr_array_add (s->items, item);
      if (t->kind == TOK_VARIABLE && is_symbol (peek_at (p, 1), '=') && !is_symbol (peek_at (p, 2), '='))
        {
          if (!check_declared (p, t))
            goto fail;
          advance (p);
          advance (p);
          item->variable = g_strdup (t->value);
          assignments++;
        }
      else if (is_alias (t) && is_symbol (peek_at (p, 1), '='))
        {
          advance (p);
          advance (p);
          item->alias = g_strdup (t->value);
        }
      if ((item->expr = parse_expr (p)) == NULL)
        goto fail;
      if (item->variable == NULL && item->alias == NULL)
        {
          if (accept_keyword (p, "AS"))
            {
              const Token *a = peek (p);

              if (!is_alias (a) && a->kind != TOK_STRING && a->kind != TOK_NSTRING)
                {
                  fail_expected (p, _("a column alias after AS"));
                  goto fail;
                }
              item->alias = g_strdup (advance (p)->value);
            }
          else if (is_alias (peek (p)) || peek (p)->kind == TOK_STRING || peek (p)->kind == TOK_NSTRING)
            item->alias = g_strdup (advance (p)->value);
        }
    }
  while (accept_symbol (p, ','));
  if (is_keyword (peek (p), "FROM"))
    {
      fail_expected (p, _("the end of the SELECT: Orrery's batches SELECT variables and constants; "
                          "queries go in @input_data_1"));
      goto fail;
    }
  if (assignments > 0 && assignments < s->items->len)
    {
      fail_message (p, start->line, msg_new (141, 15, _("A SELECT statement that assigns a value to a variable must not be "
                                               "combined with data-retrieval operations.")));
      goto fail;
    }
  return s;

fail:
  statement_free (s);
  return NULL;
}

/* A procedure argument: a constant, a variable, NULL or DEFAULT (T-SQL
 * allows no expressions there). */
static Expr *
parse_argument_value (Parser *p)
{
  const Token *t = peek (p);

  if ((is_symbol (t, '-') || is_symbol (t, '+')) && peek_at (p, 1)->kind == TOK_NUMBER)
    {
      gboolean negative = t->value[0] == '-';
      Expr *e;

      advance (p);
      e = literal_expr (advance (p));
      if (negative)
        {
          if (type_class (&e->value.type) == VC_FLOAT)
            e->value.f = -e->value.f;
          else
            e->value.i = -e->value.i;
        }
      return e;
    }
  switch (t->kind)
    {
    case TOK_NUMBER:
    case TOK_STRING:
    case TOK_NSTRING:
    case TOK_BINARY:
    case TOK_VARIABLE:
      return parse_primary (p);
    case TOK_WORD:
      if (is_keyword (t, "NULL"))
        return parse_primary (p);
      if (is_keyword (t, "DEFAULT"))
        {
          advance (p);
          return expr_new (EXPR_DEFAULT, t->line);
        }
      if (!is_reserved (t->value))
        {
          /* EXEC p abc passes the string 'abc'. */
          Expr *e = expr_new (EXPR_LITERAL, t->line);

          advance (p);
          value_take_string (&e->value, sql_string_type (TRUE, g_utf8_strlen (t->value, -1)), g_strdup (t->value), t->value_len);
          return e;
        }
      break;
    default:
      break;
    }
  fail_expected (p, _("a constant or a variable (a procedure's arguments cannot be expressions)"));
  return NULL;
}

static gboolean
starts_argument (const Token *t)
{
  switch (t->kind)
    {
    case TOK_VARIABLE: case TOK_STRING: case TOK_NSTRING: case TOK_NUMBER: case TOK_BINARY:
      return TRUE;
    case TOK_WORD:
      return is_keyword (t, "NULL") || is_keyword (t, "DEFAULT") || !is_reserved (t->value);
    case TOK_SYMBOL:
      return is_symbol (t, '-') || is_symbol (t, '+');
    default:
      return FALSE;
    }
}

static gboolean
parse_result_sets (Parser *p, Statement *s)
{
  if (!accept_keyword (p, "RESULT"))
    return fail_expected (p, _("RESULT SETS after WITH"));
  if (!accept_keyword (p, "SETS"))
    return fail_expected (p, _("SETS after WITH RESULT"));
  if (accept_keyword (p, "UNDEFINED"))
    {
      s->result_sets = RESULT_SETS_UNDEFINED;
      return TRUE;
    }
  if (accept_keyword (p, "NONE"))
    {
      s->result_sets = RESULT_SETS_NONE;
      return TRUE;
    }
  if (!expect_symbol (p, '(', _("UNDEFINED, NONE or '(' and result set definitions")))
    return FALSE;
  s->result_sets = RESULT_SETS_DEFINED;
  s->result_set_defs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  do
    {
      GPtrArray *columns;

      if (is_keyword (peek (p), "AS"))
        return fail_expected (p, _("'(' and column definitions (AS OBJECT, AS TYPE and AS FOR XML are not supported)"));
      if (!expect_symbol (p, '(', _("'(' and the result set's column definitions")))
        return FALSE;
      columns = g_ptr_array_new_with_free_func (column_def_free);
      g_ptr_array_add (s->result_set_defs, columns);
      do
        {
          const Token *name = peek (p);
          ColumnDef *c;

          if (name->kind != TOK_WORD && name->kind != TOK_QUOTED)
            return fail_expected (p, _("a column name"));
          advance (p);
          c = g_new0 (ColumnDef, 1);
          c->name = g_strdup (name->value);
          g_ptr_array_add (columns, c);
          if (!parse_type (p, &c->type, FALSE, (int) columns->len))
            return FALSE;
          if (accept_keyword (p, "COLLATE") && !(peek (p)->kind == TOK_WORD && advance (p)))
            return fail_expected (p, _("a collation name"));
          if (accept_keyword (p, "NOT"))
            {
              if (!accept_keyword (p, "NULL"))
                return fail_expected (p, _("NULL after NOT"));
              c->not_null = TRUE;
            }
          else
            accept_keyword (p, "NULL");
        }
      while (accept_symbol (p, ','));
      if (!expect_symbol (p, ')', _("',' and another column, or ')' closing the result set")))
        return FALSE;
    }
  while (accept_symbol (p, ','));
  return expect_symbol (p, ')', _("',' and another result set, or ')' closing WITH RESULT SETS"));
}

static Statement *
parse_exec (Parser *p, const Token *start)
{
  Statement *s = statement_new (STMT_EXEC, start->line);
  GString *name = g_string_new (NULL);
  const Token *part = NULL;
  gboolean named = FALSE;
  int parts = 0;

  if (peek (p)->kind == TOK_VARIABLE && is_symbol (peek_at (p, 1), '='))
    {
      if (!check_declared (p, peek (p)))
        goto fail;
      s->variable = g_strdup (advance (p)->value);
      advance (p);
    }
  if (is_symbol (peek (p), '('))
    {
      fail_expected (p, _("a procedure name (EXEC of a string of SQL is not supported)"));
      goto fail;
    }
  /* [server.][database.][schema.]procedure; parts may be empty: master..sp */
  for (;;)
    {
      const Token *t = peek (p);

      if (t->kind == TOK_WORD || t->kind == TOK_QUOTED)
        {
          advance (p);
          part = t;
          g_string_append (name, t->value);
        }
      else if (!is_symbol (t, '.') || parts == 0)
        {
          fail_expected (p, _("the name of a procedure, such as sp_execute_external_script"));
          goto fail;
        }
      if (!is_symbol (peek (p), '.') || ++parts >= 4)
        break;
      advance (p);
      g_string_append_c (name, '.');
      part = NULL;
    }
  if (part == NULL)
    {
      fail_expected (p, _("the name of a procedure"));
      goto fail;
    }
  s->procedure = g_string_free (g_steal_pointer (&name), FALSE);
  s->procedure_base = g_strdup (part->value);
  s->arguments = g_ptr_array_new_with_free_func (argument_free);
  if (starts_argument (peek (p)))
    do
      {
        const Token *t = peek (p);
        Argument *a = g_new0 (Argument, 1);

        g_ptr_array_add (s->arguments, a);
        a->line = t->line;
        if (t->kind == TOK_VARIABLE && is_symbol (peek_at (p, 1), '='))
          {
            a->name = g_strdup (t->value);
            advance (p);
            advance (p);
            named = TRUE;
          }
        else if (named)
          {
            fail_message (p, t->line, msg_new (119, 15, _("Must pass parameter number %u and subsequent parameters as '@name = value'. "
                                                 "After the form '@name = value' has been used, all subsequent parameters "
                                                 "must be passed in the form '@name = value'."), s->arguments->len));
            goto fail;
          }
        if ((a->value = parse_argument_value (p)) == NULL)
          goto fail;
        if (accept_keyword (p, "OUTPUT") || accept_keyword (p, "OUT"))
          a->output = TRUE;
      }
    while (accept_symbol (p, ','));
  /* No statement starts with a value: a comma is missing. */
  switch (peek (p)->kind)
    {
    case TOK_VARIABLE: case TOK_STRING: case TOK_NSTRING: case TOK_NUMBER: case TOK_BINARY:
      fail_expected (p, _("',' between the procedure's arguments"));
      goto fail;
    default:
      break;
    }
  if (accept_keyword (p, "WITH") && !parse_result_sets (p, s))
    goto fail;
  return s;

fail:
  if (name)
    g_string_free (name, TRUE);
  statement_free (s);
  return NULL;
}

static Statement *
parse_statement (Parser *p)
{
  const Token *t = peek (p);
  Statement *s;

  if (accept_keyword (p, "DECLARE"))
    return parse_declare (p, t);
  if (accept_keyword (p, "SET"))
    return parse_set (p, t);
  if (accept_keyword (p, "PRINT"))
    {
      s = statement_new (STMT_PRINT, t->line);
      if ((s->expr = parse_expr (p)) == NULL)
        {
          statement_free (s);
          return NULL;
        }
      return s;
    }
  if (accept_keyword (p, "SELECT"))
    return parse_select (p, t);
  if (accept_keyword (p, "EXEC") || accept_keyword (p, "EXECUTE"))
    return parse_exec (p, t);
  if (accept_keyword (p, "USE"))
    {
      const Token *db = peek (p);

      if (db->kind != TOK_WORD && db->kind != TOK_QUOTED)
        {
          fail_expected (p, _("a database name after USE"));
          return NULL;
        }
      advance (p);
      s = statement_new (STMT_USE, t->line);
      s->option = g_strdup (db->value);
      return s;
    }
  if (accept_keyword (p, "RECONFIGURE"))
    {
      if (accept_keyword (p, "WITH") && !accept_keyword (p, "OVERRIDE"))
        {
          fail_expected (p, _("OVERRIDE after RECONFIGURE WITH"));
          return NULL;
        }
      return statement_new (STMT_RECONFIGURE, t->line);
    }
  /* The first statement of a batch may name a procedure without EXEC. */
  if (p->first_statement && ((t->kind == TOK_WORD && !is_reserved (t->value) && !is_keyword (t, "GO")) ||
                             t->kind == TOK_QUOTED))
    return parse_exec (p, t);
  fail_expected (p, _("a statement Orrery runs: DECLARE, SET, PRINT, SELECT or EXEC"));
  return NULL;
}

static OrrTsqlBatch *
parse_tokens (const Token *tokens, guint n, int first_line)
{
  OrrTsqlBatch *batch = g_new0 (OrrTsqlBatch, 1);
  Parser p = { tokens, n, 0, first_line, NULL, NULL, 0, TRUE };

  batch->first_line = first_line;
  batch->repeat = 1;
  batch->statements = g_ptr_array_new_with_free_func (statement_free);
  p.declared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  while (p.pos < p.n)
    {
      Statement *s;

      if (accept_symbol (&p, ';'))
        continue;
      s = parse_statement (&p);
      if (s == NULL)
        break;
      g_ptr_array_add (batch->statements, s);
      p.first_statement = FALSE;
    }
  if (p.error)
    {
      batch->error = p.error;
      g_ptr_array_set_size (batch->statements, 0);
    }
  g_hash_table_unref (p.declared);
  return batch;
}

/* A GO line: GO alone on its line, or GO and a count. Returns the tokens
 * it takes (0: not one). */
static guint
go_line (const Token *tokens, guint n, guint i, gint64 *count)
{
  const Token *t = &tokens[i];
  gboolean overflowed;

  if (t->kind != TOK_WORD || g_ascii_strcasecmp (t->value, "GO") != 0)
    return 0;
  if (i > 0 && tokens[i - 1].end_line >= t->line)
    return 0;
  *count = 1;
  if (i + 1 == n || tokens[i + 1].line > t->line)
    return 1;
  if (tokens[i + 1].kind == TOK_NUMBER && (i + 2 == n || tokens[i + 2].line > t->line) &&
      parse_integer (tokens[i + 1].value, tokens[i + 1].value_len, count, &overflowed))
    {
      if (overflowed)
        *count = G_MAXINT64;
      return 2;
    }
  return 0;
}

GPtrArray *
orr_tsql_parse_script (const char *text,
                       gssize      len)
{
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_tsql_batch_free);
  Lexer lx = { 0 };
  const char *invalid = NULL;
  guint start = 0;
  int first_line = 1;
  gboolean lexed;
  const Token *tokens;
  guint n;

  g_return_val_if_fail (text != NULL || len == 0, batches);

  lx.len = len < 0 ? strlen (text) : (gsize) len;
  lx.text = text ? text : "";
  lx.line = 1;
  lx.col = 1;
  lx.tokens = g_array_new (FALSE, FALSE, sizeof (Token));
  g_array_set_clear_func (lx.tokens, token_clear);

  if (!g_utf8_validate_len (lx.text, lx.len, &invalid))
    {
      OrrTsqlBatch *batch = g_new0 (OrrTsqlBatch, 1);
      const char *line_start = lx.text;
      int line = 1;

      for (const char *c = lx.text; c < invalid; c++)
        if (*c == '\n')
          {
            line++;
            line_start = c + 1;
          }
      batch->first_line = 1;
      batch->repeat = 1;
      batch->statements = g_ptr_array_new_with_free_func (statement_free);
      if (*invalid == '\0')
        batch->error = msg_new (102, 15, _("Incorrect syntax near the NUL character (0x00) at line %d, column %ld: "
                                  "T-SQL text cannot hold one."), line, g_utf8_strlen (line_start, invalid - line_start) + 1);
      else
        batch->error = msg_new (0, 15, _("The batch is not valid UTF-8 text: byte 0x%02x at line %d, byte %zu of the input."),
                                (guchar) *invalid, line, (gsize) (invalid - lx.text) + 1);
      batch->error->line = line;
      g_ptr_array_add (batches, batch);
      g_array_unref (lx.tokens);
      return batches;
    }

  lexed = lex_all (&lx);
  tokens = (const Token *) lx.tokens->data;
  n = lx.tokens->len;
  for (guint i = 0; i <= n; i++)
    {
      gint64 count = 1;
      guint taken = i < n ? go_line (tokens, n, i, &count) : 0;
      OrrTsqlBatch *batch;

      if (i < n && taken == 0)
        continue;
      /* The last batch, if the text does not end with GO: only when it
       * holds something (or the lexer stopped in it). */
      if (i == n && start == n && lexed)
        break;
      if (i == start && (i < n || lexed) && count >= 1 && count <= MAX_GO_COUNT)
        {
          /* Nothing between two GO lines: nothing to run. */
          first_line = tokens[i].line + 1;
          start = i + taken;
          i += taken - 1;
          continue;
        }
      batch = parse_tokens (tokens + start, i - start, first_line);
      if (i == n && !lexed)
        {
          /* The text the lexer could not read is the cause of any parse error. */
          orr_tsql_message_free (batch->error);
          g_ptr_array_set_size (batch->statements, 0);
          batch->error = g_steal_pointer (&lx.error);
          batch->error->line = MAX (lx.error_line - first_line + 1, 1);
        }
      if (taken && (count < 1 || count > MAX_GO_COUNT) && batch->error == NULL)
        {
          batch->error = msg_new (0, 15, _("GO's count must be between 1 and %d (line %d)."), MAX_GO_COUNT, tokens[i].line);
          batch->error->line = MAX (tokens[i].line - first_line + 1, 1);
        }
      batch->repeat = (guint) CLAMP (count, 1, MAX_GO_COUNT);
      g_ptr_array_add (batches, batch);
      if (i == n)
        break;
      first_line = tokens[i].line + 1;
      start = i + taken;
      i += taken - 1;
    }
  orr_tsql_message_free (lx.error);
  g_array_unref (lx.tokens);
  return batches;
}

/* ==================================================================== describe */

static void
describe_string (GString *out, const char *prefix, const char *data, gsize len)
{
  glong n = g_utf8_strlen (data, len);
  const char *end = n > 60 ? g_utf8_offset_to_pointer (data, 40) : data + len;

  g_string_append_printf (out, "%s'", prefix);
  for (const char *c = data; c < end; c++)
    {
      if (*c == '\'')
        g_string_append_c (out, '\'');
      if (*c == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *c);
    }
  g_string_append_c (out, '\'');
  if (end < data + len)
    g_string_append_printf (out, "…[%ld chars]", n);
}

static void
describe_value (GString *out, const Value *v)
{
  ValueClass c = type_class (&v->type);
  gsize len;

  if (v->is_null)
    {
      g_string_append (out, "NULL");
      return;
    }
  if (c == VC_STRING)
    {
      const char *data = value_data (v, &len);
      describe_string (out, is_unicode (&v->type) ? "N" : "", data, len);
    }
  else if (c == VC_BINARY)
    {
      const guint8 *data = (const guint8 *) value_data (v, &len);

      g_string_append (out, "0x");
      for (gsize i = 0; i < len; i++)
        g_string_append_printf (out, "%02X", data[i]);
    }
  else
    {
      g_autofree char *text = value_to_text (v, NULL);
      g_string_append (out, text);
    }
}

static void
describe_type (GString *out, const SqlType *t)
{
  g_autofree char *name = type_to_string (t);

  g_string_append (out, name);
}

static void
describe_expr (GString *out, const Expr *e)
{
  switch (e->kind)
    {
    case EXPR_LITERAL:
      describe_value (out, &e->value);
      break;
    case EXPR_VARIABLE:
      g_string_append (out, e->name);
      break;
    case EXPR_DEFAULT:
      g_string_append (out, "DEFAULT");
      break;
    case EXPR_NEGATE:
      g_string_append (out, "-");
      describe_expr (out, e->left);
      break;
    case EXPR_BINARY:
      g_string_append_c (out, '(');
      describe_expr (out, e->left);
      g_string_append_printf (out, " %c ", e->op);
      describe_expr (out, e->right);
      g_string_append_c (out, ')');
      break;
    case EXPR_CAST:
      g_string_append (out, "CAST(");
      describe_expr (out, e->left);
      g_string_append (out, " AS ");
      describe_type (out, &e->type);
      g_string_append_c (out, ')');
      break;
    case EXPR_FUNCTION:
    default:
      g_string_append_printf (out, "%s(", e->name);
      for (guint i = 0; i < e->args->len; i++)
        {
          if (i)
            g_string_append (out, ", ");
          describe_expr (out, g_ptr_array_index (e->args, i));
        }
      g_string_append_c (out, ')');
      break;
    }
}

static void
describe_statement (GString *out, const Statement *s)
{
  switch (s->kind)
    {
    case STMT_DECLARE:
      g_string_append (out, "DECLARE ");
      for (guint i = 0; i < s->declarations->len; i++)
        {
          const Declaration *d = g_ptr_array_index (s->declarations, i);

          g_string_append_printf (out, "%s%s ", i ? ", " : "", d->name);
          describe_type (out, &d->type);
          if (d->init)
            {
              g_string_append (out, " = ");
              describe_expr (out, d->init);
            }
        }
      break;
    case STMT_SET_VARIABLE:
      g_string_append_printf (out, "SET %s ", s->variable);
      if (s->op)
        g_string_append_c (out, s->op);
      g_string_append (out, "= ");
      describe_expr (out, s->expr);
      break;
    case STMT_SET_OPTION:
      g_string_append_printf (out, "SET %s %s", s->option, s->on ? "ON" : "OFF");
      break;
    case STMT_PRINT:
      g_string_append (out, "PRINT ");
      describe_expr (out, s->expr);
      break;
    case STMT_SELECT:
      g_string_append (out, "SELECT ");
      for (guint i = 0; i < s->items->len; i++)
        {
          const SelectItem *item = g_ptr_array_index (s->items, i);

          if (i)
            g_string_append (out, ", ");
          if (item->variable)
            g_string_append_printf (out, "%s = ", item->variable);
          describe_expr (out, item->expr);
          if (item->alias)
            g_string_append_printf (out, " AS [%s]", item->alias);
        }
      break;
    case STMT_EXEC:
      g_string_append (out, "EXEC ");
      if (s->variable)
        g_string_append_printf (out, "%s = ", s->variable);
      g_string_append (out, s->procedure);
      for (guint i = 0; i < s->arguments->len; i++)
        {
          const Argument *a = g_ptr_array_index (s->arguments, i);

          g_string_append (out, i ? ", " : " ");
          if (a->name)
            g_string_append_printf (out, "%s = ", a->name);
          describe_expr (out, a->value);
          if (a->output)
            g_string_append (out, " OUTPUT");
        }
      if (s->result_sets == RESULT_SETS_NONE)
        g_string_append (out, " WITH RESULT SETS NONE");
      else if (s->result_sets == RESULT_SETS_DEFINED)
        {
          g_string_append (out, " WITH RESULT SETS (");
          for (guint i = 0; i < s->result_set_defs->len; i++)
            {
              GPtrArray *columns = g_ptr_array_index (s->result_set_defs, i);

              g_string_append (out, i ? ", (" : "(");
              for (guint j = 0; j < columns->len; j++)
                {
                  const ColumnDef *c = g_ptr_array_index (columns, j);

                  g_string_append_printf (out, "%s[%s] ", j ? ", " : "", c->name);
                  describe_type (out, &c->type);
                  if (c->not_null)
                    g_string_append (out, " NOT NULL");
                }
              g_string_append_c (out, ')');
            }
          g_string_append_c (out, ')');
        }
      break;
    case STMT_USE:
      g_string_append_printf (out, "USE [%s]", s->option);
      break;
    case STMT_RECONFIGURE:
    default:
      g_string_append (out, "RECONFIGURE");
      break;
    }
}

char *
orr_tsql_batch_describe (OrrTsqlBatch *batch)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (batch != NULL, NULL);
  if (batch->error)
    {
      g_autofree char *text = orr_tsql_message_format (batch->error);
      g_string_append_printf (out, "%s\n", text);
    }
  for (guint i = 0; i < batch->statements->len; i++)
    {
      describe_statement (out, g_ptr_array_index (batch->statements, i));
      g_string_append_c (out, '\n');
    }
  if (batch->repeat > 1)
    g_string_append_printf (out, "GO %u\n", batch->repeat);
  return g_string_free (out, FALSE);
}

/* ==================================================================== session */

typedef struct {
  char *name;        /* as declared */
  Value value;       /* value.type is the declared type */
} Variable;

static void
variable_free (gpointer data)
{
  Variable *v = data;

  g_free (v->name);
  value_clear (&v->value);
  g_free (v);
}

struct _OrrTsqlSession {
  GObject parent_instance;

  OrrEngine *engine;
  OrrConnection *connection;
  guint timeout_ms;

  GMutex lock;
  OrrJob *job;             /* the running script, under lock */
  gboolean cancelled;      /* under lock */
};

G_DEFINE_FINAL_TYPE (OrrTsqlSession, orr_tsql_session, G_TYPE_OBJECT)

static void
orr_tsql_session_finalize (GObject *object)
{
  OrrTsqlSession *self = ORR_TSQL_SESSION (object);

  g_clear_object (&self->engine);
  g_clear_object (&self->connection);
  g_clear_object (&self->job);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (orr_tsql_session_parent_class)->finalize (object);
}

static void
orr_tsql_session_class_init (OrrTsqlSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_tsql_session_finalize;
}

static void
orr_tsql_session_init (OrrTsqlSession *self)
{
  g_mutex_init (&self->lock);
}

OrrTsqlSession *
orr_tsql_session_new (OrrEngine     *engine,
                      OrrConnection *connection)
{
  OrrTsqlSession *self;

  g_return_val_if_fail (ORR_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (ORR_IS_CONNECTION (connection), NULL);

  self = g_object_new (ORR_TYPE_TSQL_SESSION, NULL);
  self->engine = g_object_ref (engine);
  self->connection = g_object_ref (connection);
  return self;
}

void
orr_tsql_session_set_timeout (OrrTsqlSession *self,
                              guint           timeout_ms)
{
  g_return_if_fail (ORR_IS_TSQL_SESSION (self));
  self->timeout_ms = timeout_ms;
}

void
orr_tsql_session_cancel (OrrTsqlSession *self)
{
  g_return_if_fail (ORR_IS_TSQL_SESSION (self));
  g_mutex_lock (&self->lock);
  self->cancelled = TRUE;
  if (self->job)
    orr_job_cancel (self->job);
  g_mutex_unlock (&self->lock);
}

static gboolean
session_cancelled (OrrTsqlSession *self)
{
  gboolean cancelled;

  g_mutex_lock (&self->lock);
  cancelled = self->cancelled;
  g_mutex_unlock (&self->lock);
  return cancelled;
}

/* One run of one batch. */
typedef struct {
  OrrTsqlSession *session;
  const OrrTsqlHandler *handler;
  gpointer user_data;
  int first_line;
  GHashTable *variables;       /* casefolded name → Variable */
  int line;                    /* relative line of the running statement */
  gboolean failed;
  gboolean abort_batch;
} Run;

static void
emit_output (Run *r, OrrTsqlOutputKind kind, const char *text)
{
  if (r->handler->output)
    r->handler->output (kind, text, r->user_data);
}

/* Reports @m (taken) at the running statement's line. Conversion errors
 * end the batch, as SQL Server ends it. */
static void
report (Run *r, OrrTsqlMessage *m)
{
  if (m->line == 0)
    m->line = r->line;
  if (m->level > 10)
    r->failed = TRUE;
  switch (m->number)
    {
    case 220: case 241: case 242: case 245: case 248: case 529: case 8114: case 8115: case 8134: case 8169:
      r->abort_batch = TRUE;
      break;
    default:
      break;
    }
  if (r->handler->message)
    r->handler->message (m, r->user_data);
  orr_tsql_message_free (m);
}

static Variable *
lookup_variable (Run *r, const char *name)
{
  g_autofree char *key = g_utf8_casefold (name, -1);

  return g_hash_table_lookup (r->variables, key);
}

/* ---------------------------------------------------------- expressions */

static gboolean eval (Run *r, const Expr *e, Value *out, OrrTsqlMessage **error);

static gboolean
is_numeric_class (ValueClass c)
{
  return c == VC_BIT || c == VC_INT || c == VC_FLOAT || c == VC_DECIMAL;
}

/* SQL Server's data type precedence among the numeric types. */
static int
numeric_rank (const SqlType *t)
{
  switch (t->kind)
    {
    case SQL_FLOAT: return is_single_float (t) ? 8 : 9;
    case SQL_REAL: return 8;
    case SQL_DECIMAL: case SQL_NUMERIC: return 7;
    case SQL_MONEY: return 6;
    case SQL_SMALLMONEY: return 5;
    case SQL_BIGINT: return 4;
    case SQL_INT: return 3;
    case SQL_SMALLINT: return 2;
    case SQL_TINYINT: return 1;
    default: return 0;
    }
}

static const char *
operator_name (char op)
{
  switch (op)
    {
    case '+': return "add";
    case '-': return "subtract";
    case '*': return "multiply";
    case '/': return "divide";
    default: return "modulo";
    }
}

static gboolean
concat_values (const Value *a, const Value *b, Value *out)
{
  gsize la, lb;
  const char *da = value_data (a, &la);
  const char *db = value_data (b, &lb);
  gboolean binary = type_class (&a->type) == VC_BINARY;
  SqlType t = binary ? sql_type (SQL_VARBINARY) : sql_string_type (is_unicode (&a->type) || is_unicode (&b->type), 1);
  int limit = binary ? 8000 : is_unicode (&t) ? 4000 : 8000;
  char *joined;

  t.length = a->type.length < 0 || b->type.length < 0 || a->type.length + b->type.length > limit
             ? -1 : MAX (a->type.length + b->type.length, 1);
  if (a->is_null || b->is_null)
    {
      value_null (out, t);
      return TRUE;
    }
  joined = g_malloc (la + lb + 1);
  memcpy (joined, da, la);
  memcpy (joined + la, db, lb);
  joined[la + lb] = '\0';
  value_take_string (out, t, joined, la + lb);
  return TRUE;
}

static gboolean
eval_binary (char op, const Value *a_in, const Value *b_in, Value *out, OrrTsqlMessage **error)
{
  ValueClass ca = type_class (&a_in->type), cb = type_class (&b_in->type);
  Value a = { 0 }, b = { 0 };
  SqlType result;
  gboolean ok = FALSE;

  if (op == '+' && ((ca == VC_STRING && cb == VC_STRING) || (ca == VC_BINARY && cb == VC_BINARY)))
    return concat_values (a_in, b_in, out);
  /* A string meets a number: the string converts (data type precedence). */
  if (ca == VC_STRING && is_numeric_class (cb))
    {
      if (!convert_value (a_in, &b_in->type, &a, error))
        return FALSE;
      value_copy (&b, b_in);
    }
  else if (cb == VC_STRING && is_numeric_class (ca))
    {
      if (!convert_value (b_in, &a_in->type, &b, error))
        return FALSE;
      value_copy (&a, a_in);
    }
  else
    {
      value_copy (&a, a_in);
      value_copy (&b, b_in);
    }
  ca = type_class (&a.type);
  cb = type_class (&b.type);
  if (!is_numeric_class (ca) || !is_numeric_class (cb))
    {
      const Value *bad = is_numeric_class (ca) ? &b : &a;

      *error = msg_new (8117, 16, _("Operand data type %s is invalid for %s operator."),
                        type_base_name (&bad->type), operator_name (op));
      goto out;
    }
  result = numeric_rank (&a.type) >= numeric_rank (&b.type) ? a.type : b.type;
  if (result.kind == SQL_BIT)
    result = sql_type (SQL_INT);
  if (a.is_null || b.is_null)
    {
      value_null (out, result);
      ok = TRUE;
      goto out;
    }
  if (ca == VC_FLOAT || cb == VC_FLOAT || ca == VC_DECIMAL || cb == VC_DECIMAL)
    {
      /* Orrery computes decimal arithmetic in float (see README). */
      double x = ca == VC_FLOAT ? a.f : ca == VC_DECIMAL ? unscaled_to_double (a.i, a.type.scale) : (double) a.i;
      double y = cb == VC_FLOAT ? b.f : cb == VC_DECIMAL ? unscaled_to_double (b.i, b.type.scale) : (double) b.i;
      double z;

      if (type_class (&result) != VC_FLOAT)
        result = sql_type (SQL_FLOAT);
      switch (op)
        {
        case '+': z = x + y; break;
        case '-': z = x - y; break;
        case '*': z = x * y; break;
        case '/':
          if (y == 0)
            {
              *error = msg_new (8134, 16, _("Divide by zero error encountered."));
              goto out;
            }
          z = x / y;
          break;
        default:
          *error = msg_new (8117, 16, _("Operand data type %s is invalid for modulo operator."),
                            type_base_name (&result));
          goto out;
        }
      if (!isfinite (z))
        {
          *error = msg_new (8115, 16, _("Arithmetic overflow error converting expression to data type %s."),
                            type_base_name (&result));
          goto out;
        }
      memset (out, 0, sizeof *out);
      out->type = result;
      out->f = is_single_float (&result) ? (float) z : z;
      ok = TRUE;
    }
  else
    {
      gint64 z = 0, low, high;
      gboolean over = FALSE;

      switch (op)
        {
        case '+': over = __builtin_add_overflow (a.i, b.i, &z); break;
        case '-': over = __builtin_sub_overflow (a.i, b.i, &z); break;
        case '*': over = __builtin_mul_overflow (a.i, b.i, &z); break;
        default:
          if (b.i == 0)
            {
              *error = msg_new (8134, 16, _("Divide by zero error encountered."));
              goto out;
            }
          if (a.i == G_MININT64 && b.i == -1)
            over = TRUE;
          else
            z = op == '/' ? a.i / b.i : a.i % b.i;
          break;
        }
      int_range (&result, &low, &high);
      if (over || z < low || z > high)
        {
          *error = msg_new (8115, 16, _("Arithmetic overflow error converting expression to data type %s."),
                            type_base_name (&result));
          goto out;
        }
      memset (out, 0, sizeof *out);
      out->type = result;
      out->i = z;
      ok = TRUE;
    }
out:
  value_clear (&a);
  value_clear (&b);
  return ok;
}

static gboolean
eval_function (Run *r, const Expr *e, Value *out, OrrTsqlMessage **error)
{
  if (g_str_equal (e->name, "CONCAT"))
    {
      GString *s = g_string_new (NULL);
      gboolean unicode = FALSE;
      gsize len;

      for (guint i = 0; i < e->args->len; i++)
        {
          Value v = { 0 };
          g_autofree char *text = NULL;

          if (!eval (r, g_ptr_array_index (e->args, i), &v, error))
            {
              g_string_free (s, TRUE);
              return FALSE;
            }
          unicode |= is_unicode (&v.type);
          text = value_to_text (&v, &len);
          if (text)
            g_string_append_len (s, text, len);
          value_clear (&v);
        }
      len = s->len;
      value_take_string (out, sql_string_type (unicode, G_MAXLONG), g_string_free (s, FALSE), len);
      return TRUE;
    }
  else
    {
      gboolean national = g_str_equal (e->name, "NCHAR");
      SqlType int_type = sql_type (SQL_INT);
      SqlType t = sql_string_type (national, 1);
      Value v = { 0 }, n = { 0 };
      gboolean ok;

      if (!eval (r, g_ptr_array_index (e->args, 0), &v, error))
        return FALSE;
      ok = convert_value (&v, &int_type, &n, error);
      value_clear (&v);
      if (!ok)
        return FALSE;
      /* Out of range gives NULL, as SQL Server's CHAR and NCHAR do. CHAR
       * takes 128–255 as Latin-1 (SQL Server: the collation's code page). */
      if (n.is_null || n.i < 0 || n.i > (national ? 0x10FFFF : 255) || (n.i >= 0xD800 && n.i <= 0xDFFF))
        value_null (out, t);
      else
        {
          char buf[8];
          int len = g_unichar_to_utf8 ((gunichar) n.i, buf);

          value_take_string (out, t, g_strndup (buf, len), len);
        }
      return TRUE;
    }
}

static gboolean
eval (Run *r, const Expr *e, Value *out, OrrTsqlMessage **error)
{
  memset (out, 0, sizeof *out);
  switch (e->kind)
    {
    case EXPR_LITERAL:
      value_copy (out, &e->value);
      return TRUE;
    case EXPR_VARIABLE:
      {
        Variable *var = lookup_variable (r, e->name);

        if (var == NULL)
          {
            *error = msg_new (137, 15, _("Must declare the scalar variable \"%s\"."), e->name);
            return FALSE;
          }
        value_copy (out, &var->value);
        return TRUE;
      }
    case EXPR_DEFAULT:
      value_null (out, sql_type (SQL_INT));
      return TRUE;
    case EXPR_NEGATE:
      {
        Value v = { 0 };
        ValueClass c;

        if (!eval (r, e->left, &v, error))
          return FALSE;
        c = type_class (&v.type);
        if (!is_numeric_class (c))
          {
            *error = msg_new (8117, 16, _("Operand data type %s is invalid for minus operator."), type_base_name (&v.type));
            value_clear (&v);
            return FALSE;
          }
        *out = v;
        if (out->is_null)
          return TRUE;
        if (c == VC_FLOAT)
          out->f = -out->f;
        else if (out->i == G_MININT64)
          {
            *error = msg_new (8115, 16, _("Arithmetic overflow error converting expression to data type bigint."));
            return FALSE;
          }
        else
          out->i = -out->i;
        if (c == VC_BIT)
          out->type = sql_type (SQL_INT);
        return TRUE;
      }
    case EXPR_BINARY:
      {
        Value a = { 0 }, b = { 0 };
        gboolean ok = eval (r, e->left, &a, error) && eval (r, e->right, &b, error) &&
                      eval_binary (e->op, &a, &b, out, error);

        value_clear (&a);
        value_clear (&b);
        return ok;
      }
    case EXPR_CAST:
      {
        Value v = { 0 };
        gboolean ok = eval (r, e->left, &v, error) && convert_value (&v, &e->type, out, error);

        value_clear (&v);
        return ok;
      }
    case EXPR_FUNCTION:
    default:
      return eval_function (r, e, out, error);
    }
}

/* Evaluates @e and converts it to @type, reporting a failure. */
static gboolean
eval_as (Run *r, const Expr *e, const SqlType *type, Value *out)
{
  OrrTsqlMessage *error = NULL;
  Value v = { 0 };
  gboolean ok = eval (r, e, &v, &error) && convert_value (&v, type, out, &error);

  value_clear (&v);
  if (!ok)
    report (r, error);
  return ok;
}

static void
assign (Variable *var, Value *value)
{
  value_clear (&var->value);
  var->value = *value;
  memset (value, 0, sizeof *value);
}

/* ---------------------------------------------------------- result sets */

static void
cell_value (OrrBatch *batch, guint col, guint row, Value *out)
{
  OrrColumn c;
  const OrrField *f = orr_schema_get_field (orr_batch_get_schema (batch), col);

  orr_batch_get_column (batch, col, &c);
  memset (out, 0, sizeof *out);
  out->type = type_from_orr (f->type, f->precision, f->scale);
  if (orr_column_is_null (&c, row))
    {
      out->is_null = TRUE;
      return;
    }
  switch (c.type)
    {
    case ORR_DATA_TYPE_BOOL: out->i = c.values[row] != 0; break;
    case ORR_DATA_TYPE_INT16: out->i = ((const gint16 *) c.values)[row]; break;
    case ORR_DATA_TYPE_INT32: out->i = ((const gint32 *) c.values)[row]; break;
    case ORR_DATA_TYPE_DATE: out->i = ((const gint32 *) c.values)[row]; break;
    case ORR_DATA_TYPE_INT64: case ORR_DATA_TYPE_DECIMAL: case ORR_DATA_TYPE_TIME: case ORR_DATA_TYPE_TIMESTAMP:
      out->i = ((const gint64 *) c.values)[row];
      break;
    case ORR_DATA_TYPE_FLOAT32: out->f = ((const float *) c.values)[row]; break;
    case ORR_DATA_TYPE_FLOAT64: out->f = ((const double *) c.values)[row]; break;
    case ORR_DATA_TYPE_TEXT:
    case ORR_DATA_TYPE_BINARY:
    default:
      {
        const gint32 *off = (const gint32 *) c.values;
        out->bytes = g_bytes_new (c.data + off[row], off[row + 1] - off[row]);
      }
      break;
    }
}

/* Writes @v (of the column's SQL type) at @row; variable-length data must
 * be written row after row, one column at a time. */
static gboolean
write_cell (OrrBatch *batch, guint col, guint row, const Value *v, GError **error)
{
  OrrDataType type = orr_schema_get_field (orr_batch_get_schema (batch), col)->type;
  guint8 *values = orr_batch_get_values_mut (batch, col);

  if (type == ORR_DATA_TYPE_TEXT || type == ORR_DATA_TYPE_BINARY)
    {
      gsize len = 0;
      const char *data = v->is_null ? "" : value_data (v, &len);

      if (!orr_batch_append_data (batch, col, data, len, error))
        return FALSE;
      values = orr_batch_get_values_mut (batch, col);   /* the batch may have moved */
      ((gint32 *) values)[row + 1] = (gint32) orr_batch_get_data_len (batch, col);
      if (v->is_null)
        orr_batch_set_null (batch, col, row, TRUE);
      return TRUE;
    }
  if (v->is_null)
    {
      orr_batch_set_null (batch, col, row, TRUE);
      return TRUE;
    }
  switch (type)
    {
    case ORR_DATA_TYPE_BOOL: values[row] = v->i != 0; break;
    case ORR_DATA_TYPE_INT16: ((gint16 *) values)[row] = (gint16) v->i; break;
    case ORR_DATA_TYPE_INT32: ((gint32 *) values)[row] = (gint32) v->i; break;
    case ORR_DATA_TYPE_DATE: ((gint32 *) values)[row] = (gint32) v->i; break;
    case ORR_DATA_TYPE_FLOAT32: ((float *) values)[row] = (float) v->f; break;
    case ORR_DATA_TYPE_FLOAT64: ((double *) values)[row] = v->f; break;
    default: ((gint64 *) values)[row] = v->i; break;
    }
  return TRUE;
}

static OrrSchema *
unnamed_schema (OrrSchema *schema)
{
  OrrSchema *out = orr_schema_new ();

  for (guint i = 0; i < orr_schema_get_n_fields (schema); i++)
    {
      const OrrField *f = orr_schema_get_field (schema, i);
      orr_schema_add_field (out, ORR_TSQL_NO_COLUMN_NAME, f->type, f->precision, f->scale);
    }
  return out;
}

static void
emit_result (Run *r, OrrSchema *schema, GPtrArray *batches, guint64 n_rows)
{
  if (r->handler->result)
    r->handler->result (schema, batches, n_rows, r->user_data);
}

/* WITH RESULT SETS ((…)): names the columns and converts each value to the
 * declared type, with SQL Server's errors. */
static gboolean
apply_result_set (Run *r, GPtrArray *columns, OrrSchema *schema, GPtrArray *batches,
                  OrrSchema **schema_out, GPtrArray **batches_out)
{
  g_autoptr(OrrSchema) target = orr_schema_new ();
  g_autoptr(GPtrArray) converted = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  guint n = orr_schema_get_n_fields (schema);

  if (columns->len != n)
    {
      report (r, msg_new (11537, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified %u column(s) "
                            "for result set number 1, but the statement sent %u column(s) at run time."), columns->len, n));
      return FALSE;
    }
  for (guint c = 0; c < n; c++)
    {
      const ColumnDef *def = g_ptr_array_index (columns, c);
      const OrrField *f = orr_schema_get_field (schema, c);
      SqlType sent = type_from_orr (f->type, f->precision, f->scale);
      int precision, scale;
      OrrDataType type = type_to_orr (&def->type, &precision, &scale);

      if (!can_convert (&sent, &def->type))
        {
          g_autofree char *want = type_to_string (&def->type);
          g_autofree char *got = type_to_string (&sent);

          report (r, msg_new (11538, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified type '%s' "
                                "for column #%u in result set #1, and the corresponding type sent at run time was '%s'; "
                                "there is no conversion between the two types."), want, c + 1, got));
          return FALSE;
        }
      orr_schema_add_field (target, def->name, type, precision, scale);
    }
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *in = g_ptr_array_index (batches, b);
      guint rows = orr_batch_get_n_rows (in);
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrBatch) out = orr_batch_new (target, MAX (rows, 1), FALSE, &error);

      if (out == NULL)
        {
          report (r, msg_new (0, 16, "%s", error->message));
          return FALSE;
        }
      for (guint c = 0; c < n; c++)
        {
          const ColumnDef *def = g_ptr_array_index (columns, c);

          for (guint row = 0; row < rows; row++)
            {
              Value v = { 0 }, w = { 0 };
              OrrTsqlMessage *m = NULL;
              gboolean ok;

              cell_value (in, c, row, &v);
              if (v.is_null && def->not_null)
                {
                  value_clear (&v);
                  report (r, msg_new (11553, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified a "
                                        "non-nullable type for column #%u in result set #1, and the corresponding value "
                                        "sent at run time was null."), c + 1));
                  return FALSE;
                }
              ok = convert_value (&v, &def->type, &w, &m);
              value_clear (&v);
              if (!ok)
                {
                  report (r, m);
                  return FALSE;
                }
              ok = write_cell (out, c, row, &w, &error);
              value_clear (&w);
              if (!ok)
                {
                  report (r, msg_new (0, 16, "%s", error->message));
                  return FALSE;
                }
            }
        }
      orr_batch_set_n_rows (out, rows);
      g_ptr_array_add (converted, g_steal_pointer (&out));
    }
  *schema_out = g_steal_pointer (&target);
  *batches_out = g_steal_pointer (&converted);
  return TRUE;
}

/* ---------------------------------------------------------- statements */

static void
run_declare (Run *r, const Statement *s)
{
  for (guint i = 0; i < s->declarations->len; i++)
    {
      const Declaration *d = g_ptr_array_index (s->declarations, i);
      Variable *var = g_new0 (Variable, 1);

      var->name = g_strdup (d->name);
      value_null (&var->value, d->type);
      g_hash_table_replace (r->variables, g_utf8_casefold (d->name, -1), var);
      if (d->init)
        {
          Value v = { 0 };

          if (!eval_as (r, d->init, &d->type, &v))
            return;
          assign (var, &v);
        }
    }
}

static void
run_set (Run *r, const Statement *s)
{
  Variable *var = lookup_variable (r, s->variable);
  OrrTsqlMessage *error = NULL;
  Value v = { 0 }, combined = { 0 }, w = { 0 };
  gboolean ok;

  g_assert (var != NULL);   /* the parser checked the declaration */
  ok = eval (r, s->expr, &v, &error);
  if (ok && s->op)
    {
      ok = eval_binary (s->op, &var->value, &v, &combined, &error);
      value_clear (&v);
      v = combined;
    }
  ok = ok && convert_value (&v, &var->value.type, &w, &error);
  value_clear (&v);
  if (!ok)
    {
      report (r, error);
      return;
    }
  assign (var, &w);
}

static void
run_print (Run *r, const Statement *s)
{
  OrrTsqlMessage *error = NULL;
  Value v = { 0 };
  g_autofree char *text = NULL;

  if (!eval (r, s->expr, &v, &error))
    {
      value_clear (&v);
      report (r, error);
      return;
    }
  text = value_to_text (&v, NULL);
  value_clear (&v);
  emit_output (r, ORR_TSQL_OUTPUT_PRINT, text ? text : "");
}

static void
run_select (Run *r, const Statement *s)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  g_autoptr(GError) gerror = NULL;
  g_autoptr(GArray) values = g_array_new (FALSE, TRUE, sizeof (Value));
  OrrBatch *batch;

  g_array_set_clear_func (values, (GDestroyNotify) value_clear);
  for (guint i = 0; i < s->items->len; i++)
    {
      const SelectItem *item = g_ptr_array_index (s->items, i);
      OrrTsqlMessage *error = NULL;
      Value v = { 0 };
      int precision, scale;
      OrrDataType type;

      if (item->variable)
        {
          Variable *var = lookup_variable (r, item->variable);

          g_assert (var != NULL);
          if (!eval_as (r, item->expr, &var->value.type, &v))
            return;
          assign (var, &v);
          continue;
        }
      if (!eval (r, item->expr, &v, &error))
        {
          value_clear (&v);
          report (r, error);
          return;
        }
      type = type_to_orr (&v.type, &precision, &scale);
      orr_schema_add_field (schema, item->alias ? item->alias : ORR_TSQL_NO_COLUMN_NAME, type, precision, scale);
      g_array_append_val (values, v);
    }
  if (values->len == 0)
    return;
  batch = orr_batch_new (schema, 1, FALSE, &gerror);
  g_ptr_array_add (batches, batch);
  for (guint i = 0; batch && i < values->len; i++)
    if (!write_cell (batch, i, 0, &g_array_index (values, Value, i), &gerror))
      break;
  if (gerror)
    {
      report (r, msg_new (0, 16, "%s", gerror->message));
      return;
    }
  orr_batch_set_n_rows (batch, 1);
  emit_result (r, schema, batches, 1);
}

/* An argument's value; DEFAULT (or nothing) gives NULL. */
static gboolean
argument_value (Run *r, const Argument *a, Value *out)
{
  OrrTsqlMessage *error = NULL;

  if (a == NULL)
    {
      value_null (out, sql_type (SQL_INT));
      return TRUE;
    }
  if (!eval (r, a->value, out, &error))
    {
      value_clear (out);
      report (r, error);
      return FALSE;
    }
  return TRUE;
}

/* An argument as text (NULL for NULL). */
static gboolean
argument_text (Run *r, const Argument *a, char **text)
{
  Value v = { 0 };
  gsize len = 0;

  *text = NULL;
  if (!argument_value (r, a, &v))
    return FALSE;
  *text = value_to_text (&v, &len);
  value_clear (&v);
  if (*text && memchr (*text, '\0', len))
    {
      g_clear_pointer (text, g_free);
      report (r, msg_new (0, 16, _("The value of %s holds a NUL character (CHAR(0)), which Orrery cannot pass on."),
                          a->name ? a->name : _("an argument")));
      return FALSE;
    }
  return TRUE;
}

/* sp_configure 'external scripts enabled'[, 0 | 1]: Orrery's switch. */
static void
run_sp_configure (Run *r, const Statement *s)
{
  static const char option[] = "external scripts enabled";
  g_autoptr(OrrCatalog) catalog = orr_catalog_new (r->session->connection);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  const Argument *name_arg = NULL, *value_arg = NULL;
  gboolean enabled;

  for (guint i = 0; i < s->arguments->len; i++)
    {
      const Argument *a = g_ptr_array_index (s->arguments, i);

      if (a->name == NULL ? i == 0 : g_ascii_strcasecmp (a->name, "@configname") == 0)
        name_arg = a;
      else if (a->name == NULL ? i == 1 : g_ascii_strcasecmp (a->name, "@configvalue") == 0)
        value_arg = a;
      else if (a->name)
        {
          report (r, msg_new (8145, 16, _("%s is not a parameter for procedure sp_configure."), a->name));
          return;
        }
      else
        {
          report (r, msg_new (8144, 16, _("Procedure or function sp_configure has too many arguments specified.")));
          return;
        }
    }
  if (!argument_text (r, name_arg, &name))
    return;
  /* SQL Server takes any unique prefix of an option's name. */
  if (name && (strlen (g_strstrip (name)) < 8 || g_ascii_strncasecmp (name, option, strlen (name)) != 0))
    {
      report (r, msg_new (15123, 16, _("The configuration option '%s' does not exist, or it may be an advanced option. "
                            "Orrery has one: 'external scripts enabled'."), name));
      return;
    }
  enabled = orr_catalog_is_enabled (catalog, &error);
  if (error)
    {
      report (r, msg_new (0, 16, "%s", error->message));
      return;
    }
  if (value_arg == NULL)
    {
      g_autoptr(OrrSchema) schema = orr_schema_new ();
      g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
      OrrBatch *batch;
      const char *names[] = { "minimum", "maximum", "config_value", "run_value" };
      gint32 numbers[] = { 0, 1, enabled, enabled };

      orr_schema_add_field (schema, "name", ORR_DATA_TYPE_TEXT, 0, 0);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        orr_schema_add_field (schema, names[i], ORR_DATA_TYPE_INT32, 0, 0);
      batch = orr_batch_new (schema, 1, FALSE, &error);
      if (batch == NULL || !orr_batch_append_data (batch, 0, option, strlen (option), &error))
        {
          g_clear_pointer (&batch, orr_batch_unref);
          report (r, msg_new (0, 16, "%s", error->message));
          return;
        }
      ((gint32 *) orr_batch_get_values_mut (batch, 0))[1] = (gint32) strlen (option);
      for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
        ((gint32 *) orr_batch_get_values_mut (batch, i + 1))[0] = numbers[i];
      orr_batch_set_n_rows (batch, 1);
      g_ptr_array_add (batches, batch);
      emit_result (r, schema, batches, 1);
      return;
    }
  {
    Value v = { 0 }, b = { 0 };
    SqlType int_type = sql_type (SQL_INT);
    OrrTsqlMessage *m = NULL;
    g_autofree char *line = NULL;
    gboolean ok;

    if (!argument_value (r, value_arg, &v))
      return;
    ok = convert_value (&v, &int_type, &b, &m);
    value_clear (&v);
    if (!ok)
      {
        report (r, m);
        return;
      }
    if (b.is_null || (b.i != 0 && b.i != 1))
      {
        g_autofree char *shown_value = value_to_text (&b, NULL);

        report (r, msg_new (15129, 16, _("'%s' is not a valid value for configuration option '%s'."),
                            shown_value ? shown_value : "NULL", option));
        return;
      }
    if (!(b.i ? orr_catalog_enable (catalog, &error) : orr_catalog_disable (catalog, &error)))
      {
        if (g_error_matches (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED))
          report (r, msg_new (15247, 16, _("User does not have permission to perform this action. %s"), error->message));
        else
          report (r, msg_new (0, 16, "%s", error->message));
        return;
      }
    line = g_strdup_printf (_("Configuration option '%s' changed from %d to %d. Run the RECONFIGURE statement to install."),
                            option, enabled ? 1 : 0, (int) b.i);
    emit_output (r, ORR_TSQL_OUTPUT_PRINT, line);
  }
}

/* ---------------------------------------------------------- sp_execute_external_script */

enum {
  ARG_LANGUAGE,
  ARG_SCRIPT,
  ARG_INPUT_DATA_1,
  ARG_INPUT_DATA_1_NAME,
  ARG_ORDER_BY,
  ARG_PARTITION_BY,
  ARG_OUTPUT_DATA_1_NAME,
  ARG_PARALLEL,
  ARG_PARAMS,
  N_PROC_ARGS,
};

/* In the documented order, which positional arguments follow. */
static const char * const proc_args[N_PROC_ARGS] = {
  "@language",
  "@script",
  "@input_data_1",
  "@input_data_1_name",
  "@input_data_1_order_by_columns",
  "@input_data_1_partition_by_columns",
  "@output_data_1_name",
  "@parallel",
  "@params",
};

#define PROCEDURE "sp_execute_external_script"
#define ROWS_PER_READ "@r_rowsPerRead"

typedef struct {
  char *name;          /* as declared in @params */
  SqlType type;
  gboolean output;
  const Argument *argument;
} ScriptParam;

static void
script_param_free (gpointer data)
{
  ScriptParam *p = data;

  g_free (p->name);
  g_free (p);
}

/* @params: "@a int, @b nvarchar(20) OUTPUT, …", parsed with the batch's
 * own lexer and type parser. */
static GPtrArray *
parse_params (Run *r, const char *text)
{
  GPtrArray *params = g_ptr_array_new_with_free_func (script_param_free);
  Lexer lx = { 0 };
  Parser p = { 0 };

  lx.text = text;
  lx.len = strlen (text);
  lx.line = 1;
  lx.col = 1;
  lx.tokens = g_array_new (FALSE, FALSE, sizeof (Token));
  g_array_set_clear_func (lx.tokens, token_clear);
  if (!lex_all (&lx))
    {
      report (r, g_steal_pointer (&lx.error));
      goto fail;
    }
  p.tokens = (const Token *) lx.tokens->data;
  p.n = lx.tokens->len;
  p.first_line = 1;
  while (p.pos < p.n)
    {
      const Token *name = peek (&p);
      ScriptParam *sp;

      if (name->kind != TOK_VARIABLE)
        {
          fail_expected (&p, _("a parameter name such as @name in @params"));
          break;
        }
      advance (&p);
      for (guint i = 0; i < params->len; i++)
        if (g_ascii_strcasecmp (((ScriptParam *) g_ptr_array_index (params, i))->name, name->value) == 0)
          fail_message (&p, name->line, msg_new (134, 15, _("The variable name '%s' has already been declared. Variable names "
                                                   "must be unique within a query batch or stored procedure."), name->value));
      if (p.error)
        break;
      sp = g_new0 (ScriptParam, 1);
      sp->name = g_strdup (name->value);
      g_ptr_array_add (params, sp);
      accept_keyword (&p, "AS");
      if (!parse_type (&p, &sp->type, FALSE, (int) params->len))
        break;
      if (accept_keyword (&p, "OUTPUT") || accept_keyword (&p, "OUT"))
        sp->output = TRUE;
      accept_keyword (&p, "READONLY");
      if (p.pos < p.n && !expect_symbol (&p, ',', _("',' and the next parameter in @params")))
        break;
    }
  if (p.error)
    {
      p.error->line = 0;
      report (r, p.error);
      goto fail;
    }
  orr_tsql_message_free (lx.error);
  g_array_unref (lx.tokens);
  return params;

fail:
  orr_tsql_message_free (lx.error);
  g_array_unref (lx.tokens);
  g_ptr_array_unref (params);
  return NULL;
}

/* "a, [b c], d" → column names. */
static GStrv
column_list (Run *r, const char *argument, const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i]; i++)
    {
      char *name = g_strstrip (parts[i]);
      gsize len = strlen (name);

      if (len >= 2 && ((name[0] == '[' && name[len - 1] == ']') || (name[0] == '"' && name[len - 1] == '"')))
        {
          name[len - 1] = '\0';
          name++;
        }
      if (*name == '\0')
        {
          report (r, msg_new (0, 16, _("%s names an empty column: give column names separated by commas."), argument));
          return NULL;
        }
      g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

/* Letters (any script), digits and _, not starting with a digit. */
static gboolean
is_python_identifier (const char *name)
{
  if (name == NULL || *name == '\0' || g_ascii_isdigit (*name))
    return FALSE;
  for (const char *c = name; *c; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);

      if (u != '_' && !g_unichar_isalnum (u))
        return FALSE;
    }
  return TRUE;
}

static void
value_to_orr (const Value *v, OrrDataType type, OrrValue *out)
{
  memset (out, 0, sizeof *out);
  out->type = type;
  out->is_null = v->is_null;
  if (v->is_null)
    return;
  switch (type_class (&v->type))
    {
    case VC_BIT: out->v.b = v->i != 0; break;
    case VC_FLOAT: out->v.f = v->f; break;
    case VC_DECIMAL: out->v.f = unscaled_to_double (v->i, v->type.scale); break;
    case VC_STRING: case VC_BINARY: out->bytes = g_bytes_ref (v->bytes); break;
    default: out->v.i = v->i; break;
    }
}

static void
value_from_orr (const OrrValue *v, Value *out)
{
  memset (out, 0, sizeof *out);
  switch (v->type)
    {
    case ORR_DATA_TYPE_DECIMAL:
    case ORR_DATA_TYPE_FLOAT64:
      out->type = sql_type (SQL_FLOAT);
      break;
    default:
      out->type = type_from_orr (v->type, 0, 0);
      break;
    }
  out->is_null = v->is_null;
  if (v->is_null)
    return;
  switch (v->type)
    {
    case ORR_DATA_TYPE_BOOL: out->i = v->v.b != 0; break;
    case ORR_DATA_TYPE_FLOAT32: case ORR_DATA_TYPE_FLOAT64: case ORR_DATA_TYPE_DECIMAL: out->f = v->v.f; break;
    case ORR_DATA_TYPE_TEXT: case ORR_DATA_TYPE_BINARY:
      out->bytes = v->bytes ? g_bytes_ref (v->bytes) : g_bytes_new (NULL, 0);
      break;
    default: out->i = v->v.i; break;
    }
}

typedef struct {
  Run *run;
  gboolean finished;
} JobWatch;

static void
on_job_message (OrrJob     *job,
                guint       kind,
                const char *text,
                JobWatch   *watch)
{
  emit_output (watch->run, kind == ORR_JOB_MESSAGE_STDOUT ? ORR_TSQL_OUTPUT_STDOUT
                           : kind == ORR_JOB_MESSAGE_STDERR ? ORR_TSQL_OUTPUT_STDERR
                           : ORR_TSQL_OUTPUT_NOTICE, text);
}

static void
on_job_state_changed (OrrJob   *job,
                      guint     state,
                      JobWatch *watch)
{
  if (state >= ORR_JOB_SUCCEEDED)
    watch->finished = TRUE;
}

/* A failed job as SQL Server reports a failed sp_execute_external_script. */
static void
report_job_error (Run *r, OrrJob *job)
{
  const GError *error = orr_job_get_error (job);
  const char *traceback = orr_job_get_traceback (job);
  OrrTsqlMessage *m;

  switch (error->code)
    {
    case ORR_ERROR_SCRIPT:
    case ORR_ERROR_OUTPUT:
    case ORR_ERROR_SATELLITE:
    case ORR_ERROR_TIMEOUT:
    case ORR_ERROR_LIMIT:
      m = msg_new (39004, 16, _("A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004."));
      m->state = 20;
      report (r, m);
      if (error->code == ORR_ERROR_SCRIPT && traceback && *traceback)
        {
          g_autofree char *body = g_strdup (traceback);

          g_strchomp (body);
          m = msg_new (39019, 16, _("An external script error occurred:\n%s"), body);
        }
      else
        m = msg_new (39019, 16, _("An external script error occurred:\n%s"), error->message);
      m->state = 2;
      report (r, m);
      return;
    case ORR_ERROR_DISABLED:
      m = msg_new (39023, 16, _("'sp_execute_external_script' is disabled on this database. Use sp_configure 'external scripts enabled' "
                                "to enable it, or “orrery enable” (an administrator's task)."));
      m->procedure = g_strdup (PROCEDURE);
      m->line = 1;
      report (r, m);
      return;
    case ORR_ERROR_PERMISSION_DENIED:
      report (r, msg_new (297, 16, _("The user does not have permission to perform this action. %s"), error->message));
      return;
    case ORR_ERROR_CANCELLED:
      /* A cancelled session says so once, when it stops. */
      if (!session_cancelled (r->session))
        report (r, msg_new (0, 16, _("Query was cancelled by user.")));
      else
        r->failed = TRUE;
      return;
    case ORR_ERROR_ODBC:
      report (r, msg_new (0, 16, _("@input_data_1 failed in the database: %s"), error->message));
      return;
    default:
      report (r, msg_new (0, 16, "%s", error->message));
      return;
    }
}

/* Runs the job and reports its output as it comes. */
static OrrJob *
run_job (Run *r, const OrrJobSpec *spec)
{
  OrrTsqlSession *self = r->session;
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  JobWatch watch = { r, FALSE };
  OrrJob *job;

  g_mutex_lock (&self->lock);
  if (self->cancelled)
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  job = orr_engine_submit (self->engine, self->connection, spec);
  g_set_object (&self->job, job);
  g_mutex_unlock (&self->lock);

  g_signal_connect (job, "message", G_CALLBACK (on_job_message), &watch);
  g_signal_connect (job, "state-changed", G_CALLBACK (on_job_state_changed), &watch);
  while (!watch.finished)
    g_main_context_iteration (context, TRUE);
  g_signal_handlers_disconnect_by_data (job, &watch);

  g_mutex_lock (&self->lock);
  g_clear_object (&self->job);
  g_mutex_unlock (&self->lock);
  return job;
}

static void
run_external_script (Run *r, const Statement *s)
{
  const Argument *args[N_PROC_ARGS] = { NULL };
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();          /* Argument: the script's parameters */
  g_autoptr(GPtrArray) params = NULL;                        /* ScriptParam */
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *language = NULL;
  g_autofree char *params_text = NULL;
  g_autofree char *partition = NULL;
  g_autofree char *order = NULL;
  OrrSchema *schema;

  /* Bind the arguments: positional ones in the documented order, named
   * ones by name (case-insensitive, as T-SQL's are). */
  for (guint i = 0; i < s->arguments->len; i++)
    {
      const Argument *a = g_ptr_array_index (s->arguments, i);
      int slot = -1;

      if (a->name == NULL)
        {
          if (i >= N_PROC_ARGS)
            {
              report (r, msg_new (8144, 16, _("Procedure or function sp_execute_external_script has too many arguments specified.")));
              return;
            }
          slot = (int) i;
        }
      else
        for (int k = 0; k < N_PROC_ARGS; k++)
          if (g_ascii_strcasecmp (a->name, proc_args[k]) == 0)
            slot = k;
      if (slot < 0)
        {
          for (guint k = 0; k < extra->len; k++)
            if (g_ascii_strcasecmp (((const Argument *) g_ptr_array_index (extra, k))->name, a->name) == 0)
              {
                report (r, msg_new (8143, 16, _("Parameter '%s' was supplied multiple times."), a->name));
                return;
              }
          g_ptr_array_add (extra, (gpointer) a);
          continue;
        }
      if (args[slot])
        {
          report (r, msg_new (8143, 16, _("Parameter '%s' was supplied multiple times."), proc_args[slot]));
          return;
        }
      if (a->output)
        {
          report (r, msg_new (8162, 16, _("The formal parameter \"%s\" was not declared as an OUTPUT parameter, but the "
                                "actual parameter passed in requested output."), proc_args[slot]));
          return;
        }
      args[slot] = a;
    }
  for (int k = ARG_LANGUAGE; k <= ARG_SCRIPT; k++)
    if (args[k] == NULL || args[k]->value->kind == EXPR_DEFAULT)
      {
        report (r, msg_new (201, 16, _("Procedure or function 'sp_execute_external_script' expects parameter '%s', which was not supplied."),
                            proc_args[k]));
        return;
      }

  /* The language: only Python runs here. */
  if (!argument_text (r, args[ARG_LANGUAGE], &language))
    return;
  if (language == NULL || g_ascii_strcasecmp (g_strchomp (language), "Python") != 0)
    {
      const char *shown_language = language ? language : "NULL";
      OrrTsqlMessage *m = msg_new (39021, 16, _("Unable to launch runtime for '%s' script. Please check the configuration "
                                     "of the '%s' runtime."), shown_language, shown_language);

      report (r, m);
      m = msg_new (39019, 16, _("An external script error occurred:\nOrrery runs Python scripts only "
                     "(@language = N'Python'); '%s' is not available."), shown_language);
      m->state = 2;
      report (r, m);
      return;
    }

  /* The script's parameters: declared in @params, given by name. */
  if (!argument_text (r, args[ARG_PARAMS], &params_text))
    return;
  params = params_text ? parse_params (r, params_text) : g_ptr_array_new_with_free_func (script_param_free);
  if (params == NULL)
    return;
  for (guint i = 0; i < extra->len; i++)
    {
      const Argument *a = g_ptr_array_index (extra, i);
      ScriptParam *found = NULL;

      for (guint k = 0; k < params->len; k++)
        if (g_ascii_strcasecmp (((ScriptParam *) g_ptr_array_index (params, k))->name, a->name) == 0)
          found = g_ptr_array_index (params, k);
      if (found == NULL)
        {
          report (r, msg_new (8145, 16, _("%s is not a parameter for procedure sp_execute_external_script. "
                                      "Declare the script's parameters in @params."), a->name));
          return;
        }
      if (a->output && !found->output)
        {
          report (r, msg_new (8162, 16, _("The formal parameter \"%s\" was not declared as an OUTPUT parameter, but the "
                                "actual parameter passed in requested output."), found->name));
          return;
        }
      if (a->output && a->value->kind != EXPR_VARIABLE)
        {
          report (r, msg_new (179, 15, _("Cannot use the OUTPUT option when passing a constant to a stored procedure.")));
          return;
        }
      found->argument = a;
    }
  spec->params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  for (guint k = 0; k < params->len; k++)
    {
      ScriptParam *sp = g_ptr_array_index (params, k);
      Value given = { 0 }, v = { 0 };
      OrrTsqlMessage *m = NULL;
      OrrValue ov;
      int precision, scale;
      gboolean ok;

      if (sp->argument == NULL)
        {
          report (r, msg_new (8178, 16, _("The parameterized query '(%s)' expects the parameter '%s', which was not supplied."),
                              params_text, sp->name));
          return;
        }
      if (!argument_value (r, sp->argument, &given))
        return;
      ok = convert_value (&given, &sp->type, &v, &m);
      value_clear (&given);
      if (!ok)
        {
          report (r, m);
          return;
        }
      if (g_ascii_strcasecmp (sp->name, ROWS_PER_READ) == 0)
        {
          /* Streaming: not a variable of the script, but how it runs. */
          SqlType big = sql_type (SQL_BIGINT);
          Value n = { 0 };

          ok = convert_value (&v, &big, &n, &m);
          value_clear (&v);
          if (!ok || n.is_null || n.i < 1)
            {
              if (m == NULL)
                m = msg_new (0, 16, _("@r_rowsPerRead must be a number of rows above 0."));
              report (r, m);
              return;
            }
          spec->rows_per_read = (guint64) n.i;
          continue;
        }
      if (!is_python_identifier (sp->name + 1))
        {
          value_clear (&v);
          report (r, msg_new (0, 16, _("The parameter name '%s' is not a valid Python variable name."), sp->name));
          return;
        }
      value_to_orr (&v, type_to_orr (&sp->type, &precision, &scale), &ov);
      value_clear (&v);
      g_ptr_array_add (spec->params, orr_param_new (sp->name, sp->output ? ORR_PARAM_OUTPUT : 0, &ov));
      orr_value_clear (&ov);
    }

  /* The rest of the procedure's arguments. */
  if (!argument_text (r, args[ARG_SCRIPT], &spec->script) ||
      !argument_text (r, args[ARG_INPUT_DATA_1], &spec->input_query) ||
      !argument_text (r, args[ARG_INPUT_DATA_1_NAME], &spec->input_name) ||
      !argument_text (r, args[ARG_OUTPUT_DATA_1_NAME], &spec->output_name) ||
      !argument_text (r, args[ARG_PARTITION_BY], &partition) ||
      !argument_text (r, args[ARG_ORDER_BY], &order))
    return;
  if (spec->script == NULL)
    spec->script = g_strdup ("");
  for (int k = ARG_INPUT_DATA_1_NAME; k <= ARG_OUTPUT_DATA_1_NAME; k += ARG_OUTPUT_DATA_1_NAME - ARG_INPUT_DATA_1_NAME)
    {
      char **name = k == ARG_INPUT_DATA_1_NAME ? &spec->input_name : &spec->output_name;

      if (*name && **name == '\0')
        g_clear_pointer (name, g_free);
      if (*name && !is_python_identifier (*name))
        {
          report (r, msg_new (0, 16, _("%s '%s' is not a valid Python variable name."), proc_args[k], *name));
          return;
        }
    }
  if (partition && *g_strstrip (partition))
    {
      if ((spec->partition_by = column_list (r, proc_args[ARG_PARTITION_BY], partition)) == NULL)
        return;
    }
  if (order && *g_strstrip (order))
    {
      if ((spec->order_by = column_list (r, proc_args[ARG_ORDER_BY], order)) == NULL)
        return;
    }
  if ((spec->partition_by || spec->order_by || spec->rows_per_read) &&
      (spec->input_query == NULL || *spec->input_query == '\0'))
    {
      report (r, msg_new (0, 16, _("%s needs @input_data_1: it splits the input data set."),
                          spec->partition_by ? proc_args[ARG_PARTITION_BY] : spec->order_by ? proc_args[ARG_ORDER_BY]
                                                                                             : ROWS_PER_READ));
      return;
    }
  if (args[ARG_PARALLEL])
    {
      Value v = { 0 }, b = { 0 };
      SqlType bit = sql_type (SQL_BIT);
      OrrTsqlMessage *m = NULL;
      gboolean ok;

      if (!argument_value (r, args[ARG_PARALLEL], &v))
        return;
      ok = convert_value (&v, &bit, &b, &m);
      value_clear (&v);
      if (!ok)
        {
          report (r, m);
          return;
        }
      if (!b.is_null && b.i)
        emit_output (r, ORR_TSQL_OUTPUT_NOTICE,
                     _("@parallel = 1 is accepted and ignored: Orrery runs the script in one satellite process "
                       "(partitions and chunks one after another)."));
    }
  spec->timeout_ms = r->session->timeout_ms;
  spec->sqlserver_types = TRUE;

  job = run_job (r, spec);
  if (job == NULL)
    return;
  if (orr_job_get_log_error (job))
    emit_output (r, ORR_TSQL_OUTPUT_NOTICE, orr_job_get_log_error (job)->message);
  if (orr_job_get_error (job))
    {
      report_job_error (r, job);
      return;
    }

  /* Output parameters go back into the variables passed with OUTPUT. */
  for (guint i = 0; i < orr_job_get_output_params (job)->len; i++)
    {
      const OrrParam *out = g_ptr_array_index (orr_job_get_output_params (job), i);
      ScriptParam *sp = NULL;
      Variable *var;
      Value v = { 0 }, declared = { 0 }, w = { 0 };
      OrrTsqlMessage *m = NULL;
      gboolean ok;

      for (guint k = 0; k < params->len; k++)
        if (g_ascii_strcasecmp (((ScriptParam *) g_ptr_array_index (params, k))->name, out->name) == 0)
          sp = g_ptr_array_index (params, k);
      if (sp == NULL || !sp->argument->output || (var = lookup_variable (r, sp->argument->value->name)) == NULL)
        continue;
      value_from_orr (&out->value, &v);
      ok = convert_value (&v, &sp->type, &declared, &m) && convert_value (&declared, &var->value.type, &w, &m);
      value_clear (&v);
      value_clear (&declared);
      if (!ok)
        {
          value_clear (&w);
          report (r, m);
          return;
        }
      assign (var, &w);
    }

  /* The result set, shaped by WITH RESULT SETS. */
  schema = orr_job_get_result_schema (job);
  if (schema == NULL || orr_schema_get_n_fields (schema) == 0)
    {
      if (s->result_sets == RESULT_SETS_DEFINED)
        {
          report (r, msg_new (11536, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified %u result "
                                "set(s), but the statement only sent 0 result set(s) at run time."), s->result_set_defs->len));
          return;
        }
    }
  else if (s->result_sets == RESULT_SETS_NONE)
    {
      report (r, msg_new (11535, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified 0 result "
                            "set(s), and the statement tried to send more result sets than this.")));
      return;
    }
  else if (s->result_sets == RESULT_SETS_DEFINED)
    {
      g_autoptr(OrrSchema) named = NULL;
      g_autoptr(GPtrArray) converted = NULL;

      if (!apply_result_set (r, g_ptr_array_index (s->result_set_defs, 0), schema, orr_job_get_result_batches (job),
                             &named, &converted))
        return;
      emit_result (r, named, converted, orr_job_get_rows_out (job));
      if (s->result_set_defs->len > 1)
        {
          report (r, msg_new (11536, 16, _("EXECUTE statement failed because its WITH RESULT SETS clause specified %u result "
                                "set(s), but the statement only sent 1 result set(s) at run time."), s->result_set_defs->len));
          return;
        }
    }
  else
    {
      g_autoptr(OrrSchema) unnamed = unnamed_schema (schema);

      emit_result (r, unnamed, orr_job_get_result_batches (job), orr_job_get_rows_out (job));
    }
  if (s->variable)
    {
      Variable *var = lookup_variable (r, s->variable);
      Value zero = { 0 }, w = { 0 };
      OrrTsqlMessage *m = NULL;

      zero.type = sql_type (SQL_INT);
      if (convert_value (&zero, &var->value.type, &w, &m))
        assign (var, &w);
      else
        report (r, m);
    }
}

static void
run_statement (Run *r, const Statement *s)
{
  r->line = MAX (s->line - r->first_line + 1, 1);
  switch (s->kind)
    {
    case STMT_DECLARE:
      run_declare (r, s);
      break;
    case STMT_SET_VARIABLE:
      run_set (r, s);
      break;
    case STMT_SET_OPTION:
      /* Accepted for pasted scripts (SET NOCOUNT ON …); they change nothing here. */
      break;
    case STMT_PRINT:
      run_print (r, s);
      break;
    case STMT_SELECT:
      run_select (r, s);
      break;
    case STMT_USE:
      {
        g_autofree char *line = g_strdup_printf (_("USE %s is ignored: Orrery runs the batch on the database of its "
                                                   "connection."), s->option);
        emit_output (r, ORR_TSQL_OUTPUT_NOTICE, line);
      }
      break;
    case STMT_RECONFIGURE:
      break;
    case STMT_EXEC:
    default:
      if (g_ascii_strcasecmp (s->procedure_base, PROCEDURE) == 0)
        run_external_script (r, s);
      else if (g_ascii_strcasecmp (s->procedure_base, "sp_configure") == 0)
        run_sp_configure (r, s);
      else
        report (r, msg_new (2812, 16, _("Could not find stored procedure '%s'. Orrery runs sp_execute_external_script "
                              "and sp_configure."), s->procedure));
      break;
    }
}

gboolean
orr_tsql_session_run (OrrTsqlSession       *self,
                      const char           *text,
                      gssize                len,
                      const OrrTsqlHandler *handler,
                      gpointer              user_data)
{
  g_autoptr(GPtrArray) batches = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (ORR_IS_TSQL_SESSION (self), FALSE);
  g_return_val_if_fail (handler != NULL, FALSE);

  batches = orr_tsql_parse_script (text, len);
  for (guint b = 0; b < batches->len; b++)
    {
      OrrTsqlBatch *batch = g_ptr_array_index (batches, b);
      Run r = { self, handler, user_data, batch->first_line, NULL, 0, FALSE, FALSE };

      if (batch->error)
        {
          if (handler->message)
            handler->message (batch->error, user_data);
          ok = FALSE;
          continue;
        }
      if (batch->repeat > 1)
        emit_output (&r, ORR_TSQL_OUTPUT_PRINT, _("Beginning execution loop"));
      for (guint rep = 0; rep < batch->repeat; rep++)
        {
          r.variables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, variable_free);
          r.abort_batch = FALSE;
          for (guint i = 0; i < batch->statements->len && !r.abort_batch; i++)
            {
              if (session_cancelled (self))
                break;
              run_statement (&r, g_ptr_array_index (batch->statements, i));
            }
          g_clear_pointer (&r.variables, g_hash_table_unref);
          if (session_cancelled (self))
            break;
        }
      if (batch->repeat > 1 && !session_cancelled (self))
        {
          g_autofree char *line = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Batch execution completed %u time.",
                                                               "Batch execution completed %u times.", batch->repeat),
                                                  batch->repeat);
          emit_output (&r, ORR_TSQL_OUTPUT_PRINT, line);
        }
      ok = ok && !r.failed;
      if (session_cancelled (self))
        {
          r.line = 1;
          report (&r, msg_new (0, 16, _("Query was cancelled by user.")));
          return FALSE;
        }
    }
  return ok;
}
