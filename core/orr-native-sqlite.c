/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-native"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orr-error.h"
#include "orr-native.h"

/* SQLite's fast path: the database file the SQLite3 ODBC driver names,
 * opened read-only through the C API, the query stepped straight into
 * batches.
 *
 * The driver types a result column by its declared type and converts each
 * value from SQLite's text form of it; this path maps the same declared
 * types to the same OrrSchema and converts the same way. Columns without a
 * declared type (expressions, which the driver types from their first
 * value) or of a declared type not listed here make the query go through
 * ODBC. One difference is deliberate: the driver reads a REAL value through
 * its text form, rounded to 15 significant digits; this path hands out the
 * double as stored. */

typedef enum {
  CONV_INT16,
  CONV_INT32,
  CONV_INT64,
  CONV_FLOAT64,
  CONV_BOOL,
  CONV_TEXT,
  CONV_BLOB,
  CONV_DATE,
  CONV_TIME,
  CONV_TIMESTAMP,
} Conv;

typedef struct {
  char *path;
  int timeout_ms;
  sqlite3 *db;
} LiteSource;

typedef struct {
  LiteSource *source;
  sqlite3_stmt *stmt;
  Conv *conv;
  guint n_columns;
  guint batch_rows;
  gboolean done;
  guint64 rows_seen;
  OrrBatch *first;          /* the first batch, read at execute time */
  GByteArray **staging;
  GMutex lock;              /* guards db for sqlite3_interrupt */
  gboolean interrupted;
} LiteCursor;

/* The declared types the driver maps, by name (size or precision ignored). */
static const struct {
  const char *name;
  Conv conv;
  OrrDataType type;
} decl_map[] = {
  { "INTEGER", CONV_INT32, ORR_DATA_TYPE_INT32 },
  { "INT", CONV_INT32, ORR_DATA_TYPE_INT32 },
  { "BIGINT", CONV_INT64, ORR_DATA_TYPE_INT64 },
  { "SMALLINT", CONV_INT16, ORR_DATA_TYPE_INT16 },
  { "TINYINT", CONV_INT16, ORR_DATA_TYPE_INT16 },
  { "REAL", CONV_FLOAT64, ORR_DATA_TYPE_FLOAT64 },
  { "DOUBLE", CONV_FLOAT64, ORR_DATA_TYPE_FLOAT64 },
  { "DOUBLE PRECISION", CONV_FLOAT64, ORR_DATA_TYPE_FLOAT64 },
  { "FLOAT", CONV_FLOAT64, ORR_DATA_TYPE_FLOAT64 },
  { "NUMERIC", CONV_FLOAT64, ORR_DATA_TYPE_FLOAT64 },
  { "TEXT", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "VARCHAR", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "CHAR", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "NVARCHAR", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "CHARACTER", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "CLOB", CONV_TEXT, ORR_DATA_TYPE_TEXT },
  { "DECIMAL", CONV_TEXT, ORR_DATA_TYPE_TEXT },   /* the driver: SQL_VARCHAR */
  { "BLOB", CONV_BLOB, ORR_DATA_TYPE_BINARY },
  { "VARBINARY", CONV_BLOB, ORR_DATA_TYPE_BINARY },
  { "BOOLEAN", CONV_BOOL, ORR_DATA_TYPE_BOOL },
  { "BIT", CONV_BOOL, ORR_DATA_TYPE_BOOL },
  { "DATE", CONV_DATE, ORR_DATA_TYPE_DATE },
  { "TIME", CONV_TIME, ORR_DATA_TYPE_TIME },
  { "TIMESTAMP", CONV_TIMESTAMP, ORR_DATA_TYPE_TIMESTAMP },
  { "DATETIME", CONV_TIMESTAMP, ORR_DATA_TYPE_TIMESTAMP },
};

static gboolean
map_decltype (const char *decl, Conv *conv, OrrDataType *type)
{
  g_autofree char *name = NULL;
  char *paren;

  if (decl == NULL)
    return FALSE;
  name = g_strstrip (g_strdup (decl));
  paren = strchr (name, '(');
  if (paren)
    {
      *paren = '\0';
      g_strstrip (name);
    }
  for (guint i = 0; i < G_N_ELEMENTS (decl_map); i++)
    if (g_ascii_strcasecmp (name, decl_map[i].name) == 0)
      {
        *conv = decl_map[i].conv;
        *type = decl_map[i].type;
        return TRUE;
      }
  return FALSE;
}

/* ------------------------------------------------------------ source */

static void
lite_source_free (gpointer priv)
{
  LiteSource *lite = priv;

  if (lite->db)
    sqlite3_close_v2 (lite->db);
  g_free (lite->path);
  g_free (lite);
}

static OrrNativeCursor *lite_execute (gpointer priv, const char *sql, guint batch_rows,
                                      GCancellable *cancellable, GError **error);

static gboolean
option_on (GHashTable *attrs, const char *key)
{
  const char *v = g_hash_table_lookup (attrs, key);

  return v && *v && g_ascii_strcasecmp (v, "0") != 0 && g_ascii_strcasecmp (v, "no") != 0 &&
         g_ascii_strcasecmp (v, "false") != 0 && g_ascii_strcasecmp (v, "off") != 0;
}

OrrNativeSource *
orr_native_sqlite_new (const char  *completed,
                       char       **why)
{
  g_autoptr(GHashTable) attrs = orr_native_parse_conn_str (completed);
  static const char *changes_values[] = { "bigint", "jdconv", "longnames", "loadext", "nowchar", "shortnames" };
  const char *database = g_hash_table_lookup (attrs, "database");
  const char *timeout = g_hash_table_lookup (attrs, "timeout");
  OrrNativeSource *source;
  LiteSource *lite;

  if (database == NULL || *database == '\0' || strcmp (database, ":memory:") == 0)
    {
      *why = g_strdup ("no database file");
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (changes_values); i++)
    if (option_on (attrs, changes_values[i]))
      {
        *why = g_strdup_printf ("the driver option %s is on", changes_values[i]);
        return NULL;
      }
  lite = g_new0 (LiteSource, 1);
  lite->path = g_strdup (database);
  lite->timeout_ms = timeout && *timeout ? atoi (timeout) : 100000;
  source = g_new0 (OrrNativeSource, 1);
  source->kind = "sqlite";
  source->priv = lite;
  source->free = lite_source_free;
  source->execute = lite_execute;
  return source;
}

static gboolean
lite_open (LiteSource *lite, GError **error)
{
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
  int rc;

  if (lite->db)
    return TRUE;
  if (g_str_has_prefix (lite->path, "file:"))
    flags |= SQLITE_OPEN_URI;
  rc = sqlite3_open_v2 (lite->path, &lite->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION, _("Cannot open the SQLite database “%s”: %s"),
                   lite->path, lite->db ? sqlite3_errmsg (lite->db) : sqlite3_errstr (rc));
      sqlite3_close_v2 (lite->db);
      lite->db = NULL;
      return FALSE;
    }
  sqlite3_busy_timeout (lite->db, lite->timeout_ms);
  return TRUE;
}

/* ------------------------------------------------------------ values */

static gint64
days_from_civil (gint64 y, unsigned m, unsigned d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

typedef enum {
  VALUE_OK,
  VALUE_NULL,
  VALUE_UNSURE,   /* a stored form this path does not convert as the driver would */
} ValueResult;

/* The driver's reading of a date or timestamp text: blanks, then
 * year, month and day (1 or more digits, '-' or '/' between), then for a
 * timestamp an optional time after ' ' or 'T' (H:M[:S[.fraction]]);
 * anything after that is ignored. An impossible date or time is NULL. */
static ValueResult
lenient_datetime (const char *text, gboolean want_time, gint64 *days_out, gint64 *usec_out)
{
  const char *p = text;
  gint64 f[3] = { 0 };
  gint64 t[3] = { 0 };
  gint64 frac = 0;
  int frac_digits = 0;

  if (strpbrk (text, "0123456789") == NULL)
    return VALUE_NULL;
  while (*p == ' ')
    p++;
  for (int k = 0; k < 3; k++)
    {
      int digits = 0;

      for (; g_ascii_isdigit (*p) && digits < 6; p++, digits++)
        f[k] = f[k] * 10 + (*p - '0');
      if (digits == 0)
        return VALUE_UNSURE;
      if (k < 2)
        {
          if (*p != '-' && *p != '/')
            return VALUE_UNSURE;
          p++;
        }
    }
  if (f[0] > 9999)
    return VALUE_UNSURE;
  if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > g_date_get_days_in_month (f[1], f[0] ? f[0] : 2000))
    return VALUE_NULL;
  *days_out = days_from_civil (f[0], f[1], f[2]);
  *usec_out = 0;
  if (!want_time || (*p != ' ' && *p != 'T') || !g_ascii_isdigit (p[1]))
    {
      if (want_time && *p != '\0' && *p != ' ' && *p != 'T')
        return VALUE_UNSURE;
      return VALUE_OK;
    }
  p++;
  for (int k = 0; k < 3; k++)
    {
      int digits = 0;

      for (; g_ascii_isdigit (*p) && digits < 2; p++, digits++)
        t[k] = t[k] * 10 + (*p - '0');
      if (digits == 0)
        return VALUE_UNSURE;
      if (k < 2 && *p != ':')
        {
          if (k == 1)
            break;   /* H:M */
          return VALUE_UNSURE;
        }
      if (k < 2)
        p++;
    }
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      if (frac_digits < 6)
        {
          frac = frac * 10 + (*p - '0');
          frac_digits++;
        }
  for (; frac_digits < 6; frac_digits++)
    frac *= 10;
  if (t[0] > 23 || t[1] > 59 || t[2] > 59)
    return VALUE_NULL;
  *usec_out = ((t[0] * 60 + t[1]) * 60 + t[2]) * G_USEC_PER_SEC + frac;
  return VALUE_OK;
}

/* Orrery's ODBC path reads a TIME column as text, "%d:%d:%d[.fraction]". */
static gboolean
odbc_time (const char *s, gint64 *out)
{
  int h = 0, m = 0, sec = 0;
  gint64 frac = 0;
  int frac_digits = 0;
  gsize i;

  if (strlen (s) >= 64 || sscanf (s, "%d:%d:%d", &h, &m, &sec) != 3)
    return FALSE;
  for (i = 0; s[i] && s[i] != '.'; i++)
    ;
  if (s[i] == '.')
    for (i++; s[i] >= '0' && s[i] <= '9'; i++)
      if (frac_digits < 6)
        {
          frac = frac * 10 + (s[i] - '0');
          frac_digits++;
        }
  for (; frac_digits < 6; frac_digits++)
    frac *= 10;
  *out = (((gint64) h * 60 + m) * 60 + sec) * G_USEC_PER_SEC + frac;
  return TRUE;
}

/* Integers: stored ones as they are (cut to the C type's width, as the
 * driver's C cast does); others through their text with strtol (base 0),
 * NULL when it holds no number. */
static ValueResult
read_integer (sqlite3_stmt *stmt, int i, gint64 *out)
{
  const char *text;
  char *end = NULL;

  if (sqlite3_column_type (stmt, i) == SQLITE_INTEGER)
    {
      *out = sqlite3_column_int64 (stmt, i);
      return VALUE_OK;
    }
  if (sqlite3_column_type (stmt, i) == SQLITE_BLOB)
    return VALUE_UNSURE;
  text = (const char *) sqlite3_column_text (stmt, i);
  errno = 0;
  *out = strtoll (text, &end, 0);
  if (end == text)
    return VALUE_NULL;
  if (errno == ERANGE)
    return VALUE_UNSURE;
  return VALUE_OK;
}

static ValueResult
convert (LiteCursor *c, OrrBatch *batch, guint i, guint row)
{
  sqlite3_stmt *stmt = c->stmt;
  guint8 *values = orr_batch_get_values_mut (batch, i);
  int storage = sqlite3_column_type (stmt, i);
  ValueResult r;
  gint64 n;

  if (storage == SQLITE_NULL)
    return VALUE_NULL;
  switch (c->conv[i])
    {
    case CONV_INT16:
      if ((r = read_integer (stmt, i, &n)) != VALUE_OK)
        return r;
      ((gint16 *) values)[row] = (gint16) n;
      return VALUE_OK;
    case CONV_INT32:
      if ((r = read_integer (stmt, i, &n)) != VALUE_OK)
        return r;
      ((gint32 *) values)[row] = (gint32) n;
      return VALUE_OK;
    case CONV_INT64:
      if ((r = read_integer (stmt, i, &n)) != VALUE_OK)
        return r;
      ((gint64 *) values)[row] = n;
      return VALUE_OK;
    case CONV_BOOL:
      {
        /* The driver: a leading digit reads as a number, a leading t or y
         * as true, anything else as false. */
        const char *text;

        if (storage == SQLITE_INTEGER)
          {
            n = sqlite3_column_int64 (stmt, i);
            values[row] = n > 0;   /* "-1" starts with no digit */
            return VALUE_OK;
          }
        if (storage == SQLITE_BLOB)
          return VALUE_UNSURE;
        text = (const char *) sqlite3_column_text (stmt, i);
        if (g_ascii_isdigit (text[0]))
          values[row] = strtoll (text, NULL, 0) != 0;
        else
          values[row] = strchr ("tTyY", text[0]) != NULL && text[0] != '\0';
        return VALUE_OK;
      }
    case CONV_FLOAT64:
      if (storage == SQLITE_INTEGER)
        ((double *) values)[row] = (double) sqlite3_column_int64 (stmt, i);
      else if (storage == SQLITE_FLOAT)
        ((double *) values)[row] = sqlite3_column_double (stmt, i);
      else if (storage == SQLITE_TEXT)
        {
          const char *text = (const char *) sqlite3_column_text (stmt, i);
          char *end = NULL;
          double d = g_ascii_strtod (text, &end);

          if (end == text)
            return VALUE_NULL;
          ((double *) values)[row] = d;
        }
      else
        return VALUE_UNSURE;
      return VALUE_OK;
    case CONV_TEXT:
      {
        const char *text;
        int len;

        if (storage == SQLITE_BLOB)
          {
            /* The driver shows a blob in a text column as a literal. */
            const guint8 *blob = sqlite3_column_blob (stmt, i);
            static const char hex[] = "0123456789ABCDEF";

            len = sqlite3_column_bytes (stmt, i);
            g_byte_array_append (c->staging[i], (const guint8 *) "X'", 2);
            for (int k = 0; k < len; k++)
              {
                guint8 two[2] = { hex[blob[k] >> 4], hex[blob[k] & 15] };
                g_byte_array_append (c->staging[i], two, 2);
              }
            g_byte_array_append (c->staging[i], (const guint8 *) "'", 1);
            ((gint32 *) values)[row + 1] = c->staging[i]->len;
            return VALUE_OK;
          }
        text = (const char *) sqlite3_column_text (stmt, i);
        len = sqlite3_column_bytes (stmt, i);
        if (!g_utf8_validate_len (text, len, NULL))
          return VALUE_UNSURE;
        g_byte_array_append (c->staging[i], (const guint8 *) text, len);
        ((gint32 *) values)[row + 1] = c->staging[i]->len;
        return VALUE_OK;
      }
    case CONV_BLOB:
      {
        /* A value of another kind: the bytes of its text. */
        const void *blob = storage == SQLITE_BLOB ? sqlite3_column_blob (stmt, i) :
                                                    (const void *) sqlite3_column_text (stmt, i);
        int len = sqlite3_column_bytes (stmt, i);

        g_byte_array_append (c->staging[i], blob, len);
        ((gint32 *) values)[row + 1] = c->staging[i]->len;
        return VALUE_OK;
      }
    case CONV_DATE:
    case CONV_TIMESTAMP:
      {
        gint64 days = 0, usec = 0;

        /* Numbers (Julian days, 20200101…) read as NULL without JDConv. */
        if (storage == SQLITE_INTEGER || storage == SQLITE_FLOAT)
          return VALUE_NULL;
        if (storage != SQLITE_TEXT)
          return VALUE_UNSURE;
        r = lenient_datetime ((const char *) sqlite3_column_text (stmt, i), c->conv[i] == CONV_TIMESTAMP,
                              &days, &usec);
        if (r != VALUE_OK)
          return r;
        if (c->conv[i] == CONV_DATE)
          ((gint32 *) values)[row] = (gint32) days;
        else
          ((gint64 *) values)[row] = days * 86400 * G_USEC_PER_SEC + usec;
        return VALUE_OK;
      }
    case CONV_TIME:
      if (storage != SQLITE_TEXT || !odbc_time ((const char *) sqlite3_column_text (stmt, i), &n))
        return VALUE_UNSURE;   /* the ODBC path fails on it: let it say so */
      ((gint64 *) values)[row] = n;
      return VALUE_OK;
    default:
      g_assert_not_reached ();
    }
  return VALUE_UNSURE;
}

/* ------------------------------------------------------------ the cursor */

static void
lite_cursor_cancel (OrrNativeCursor *self)
{
  LiteCursor *c = self->priv;

  g_mutex_lock (&c->lock);
  c->interrupted = TRUE;
  if (c->source->db)
    sqlite3_interrupt (c->source->db);
  g_mutex_unlock (&c->lock);
}

static void
cancelled_cb (GCancellable *cancellable, OrrNativeCursor *self)
{
  lite_cursor_cancel (self);
}

static void
lite_cursor_free (OrrNativeCursor *self)
{
  LiteCursor *c = self->priv;

  g_mutex_lock (&c->lock);
  if (c->stmt)
    sqlite3_finalize (c->stmt);
  c->stmt = NULL;
  g_mutex_unlock (&c->lock);
  g_mutex_clear (&c->lock);
  g_clear_pointer (&c->first, orr_batch_unref);
  for (guint i = 0; i < c->n_columns; i++)
    if (c->staging[i])
      g_byte_array_unref (c->staging[i]);
  g_free (c->staging);
  g_free (c->conv);
  g_free (c);
  g_clear_pointer (&self->schema, orr_schema_unref);
  g_free (self);
}

/* Reads the next batch. *@unsure: a value this path cannot convert as the
 * driver would (the batch is then dropped). */
static OrrBatch *
read_batch (OrrNativeCursor *self, gboolean shared, GCancellable *cancellable,
            gboolean *unsure, GError **error)
{
  LiteCursor *c = self->priv;
  g_autoptr(OrrBatch) batch = NULL;
  gulong handler = 0;
  guint row = 0;

  *unsure = FALSE;
  if (c->done)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  batch = orr_batch_new (self->schema, c->batch_rows, shared, error);
  if (batch == NULL)
    return NULL;
  for (guint i = 0; i < c->n_columns; i++)
    if (c->staging[i])
      g_byte_array_set_size (c->staging[i], 0);

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);
  while (row < c->batch_rows)
    {
      int rc = sqlite3_step (c->stmt);

      if (rc == SQLITE_DONE)
        {
          c->done = TRUE;
          sqlite3_reset (c->stmt);   /* ends the read transaction now */
          break;
        }
      if (rc != SQLITE_ROW)
        {
          g_cancellable_disconnect (cancellable, handler);
          c->done = TRUE;
          if (rc == SQLITE_INTERRUPT || c->interrupted || g_cancellable_is_cancelled (cancellable))
            g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The query was cancelled"));
          else
            g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC, _("Fetching the result failed: SQLite error %d: %s"),
                         sqlite3_extended_errcode (c->source->db), sqlite3_errmsg (c->source->db));
          return NULL;
        }
      for (guint i = 0; i < c->n_columns; i++)
        {
          ValueResult r = convert (c, batch, i, row);

          if (r == VALUE_NULL)
            {
              guint8 *values = orr_batch_get_values_mut (batch, i);
              gsize w = orr_data_type_get_width (orr_schema_get_field (self->schema, i)->type);

              orr_batch_set_null (batch, i, row, TRUE);
              if (c->staging[i])
                ((gint32 *) values)[row + 1] = c->staging[i]->len;
              else
                memset (values + (gsize) row * w, 0, w);
            }
          else if (r == VALUE_UNSURE)
            {
              g_cancellable_disconnect (cancellable, handler);
              *unsure = TRUE;
              g_set_error (error, ORR_ERROR, ORR_ERROR_UNSUPPORTED,
                           _("Column “%s”, row %llu: the SQLite value “%.40s” (stored as %s) "
                             "does not fit the column's declared type; run the query with OrreryNative=No "
                             "in the connection string to read it as the ODBC driver does"),
                           orr_schema_get_field (self->schema, i)->name, (unsigned long long) (c->rows_seen + row + 1),
                           (const char *) sqlite3_column_text (c->stmt, i),
                           sqlite3_column_type (c->stmt, i) == SQLITE_TEXT ? "text" :
                           sqlite3_column_type (c->stmt, i) == SQLITE_BLOB ? "blob" :
                           sqlite3_column_type (c->stmt, i) == SQLITE_FLOAT ? "real" : "integer");
              return NULL;
            }
        }
      row++;
    }
  g_cancellable_disconnect (cancellable, handler);
  for (guint i = 0; i < c->n_columns; i++)
    if (c->staging[i] && c->staging[i]->len > 0 &&
        !orr_batch_append_data (batch, i, c->staging[i]->data, c->staging[i]->len, error))
      return NULL;
  orr_batch_set_n_rows (batch, row);
  c->rows_seen += row;
  if (row == 0)
    return NULL;
  return g_steal_pointer (&batch);
}

static OrrBatch *
lite_cursor_fetch (OrrNativeCursor *self,
                   gboolean         shared,
                   GCancellable    *cancellable,
                   GError         **error)
{
  LiteCursor *c = self->priv;
  gboolean unsure;

  if (c->first)
    return g_steal_pointer (&c->first);
  return read_batch (self, shared, cancellable, &unsure, error);
}

static OrrNativeCursor *
lite_execute (gpointer       priv,
              const char    *sql,
              guint          batch_rows,
              GCancellable  *cancellable,
              GError       **error)
{
  LiteSource *lite = priv;
  g_autoptr(GError) open_error = NULL;
  g_autoptr(GError) first_error = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;
  OrrNativeCursor *self;
  LiteCursor *c;
  int n;
  gboolean unsure = FALSE;

  if (!lite_open (lite, &open_error))
    {
      g_debug ("native SQLite path declines: %s", open_error->message);
      return NULL;
    }
  if (sqlite3_prepare_v3 (lite->db, sql, -1, 0, &stmt, &tail) != SQLITE_OK)
    {
      /* ODBC runs it and reports its own error, if it has one. */
      g_debug ("native SQLite path declines: %s", sqlite3_errmsg (lite->db));
      sqlite3_finalize (stmt);
      return NULL;
    }
  while (tail && (g_ascii_isspace (*tail) || *tail == ';'))
    tail++;
  if (stmt == NULL || (tail && *tail) || !sqlite3_stmt_readonly (stmt) ||
      (n = sqlite3_column_count (stmt)) == 0 || sqlite3_stmt_isexplain (stmt))
    {
      g_debug ("native SQLite path declines: not a single query");
      sqlite3_finalize (stmt);
      return NULL;
    }
  schema = orr_schema_new ();
  c = g_new0 (LiteCursor, 1);
  g_mutex_init (&c->lock);
  c->source = lite;
  c->stmt = stmt;
  c->n_columns = n;
  c->batch_rows = MAX (batch_rows, 1);
  c->conv = g_new0 (Conv, n);
  c->staging = g_new0 (GByteArray *, n);
  for (int i = 0; i < n; i++)
    {
      OrrDataType type;

      if (!map_decltype (sqlite3_column_decltype (stmt, i), &c->conv[i], &type))
        {
          g_debug ("native SQLite path declines: column “%s” is declared “%s”",
                   sqlite3_column_name (stmt, i), sqlite3_column_decltype (stmt, i));
          self = g_new0 (OrrNativeCursor, 1);
          self->priv = c;
          self->schema = g_steal_pointer (&schema);
          lite_cursor_free (self);
          return NULL;
        }
      orr_schema_add_field (schema, sqlite3_column_name (stmt, i), type, 0, 0);
      if (orr_data_type_is_variable (type))
        c->staging[i] = g_byte_array_new ();
    }
  self = g_new0 (OrrNativeCursor, 1);
  self->schema = g_steal_pointer (&schema);
  self->priv = c;
  self->fetch = lite_cursor_fetch;
  self->cancel = lite_cursor_cancel;
  self->free = lite_cursor_free;

  /* The first batch now: a value this path would not read as the driver
   * does sends the whole query to ODBC while nothing has been handed out. */
  c->first = read_batch (self, TRUE, cancellable, &unsure, &first_error);
  if (unsure)
    {
      g_debug ("native SQLite path declines: %s", first_error->message);
      lite_cursor_free (self);
      return NULL;
    }
  if (first_error)
    {
      if (g_error_matches (first_error, ORR_ERROR, ORR_ERROR_CANCELLED) ||
          g_error_matches (first_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&first_error));
          lite_cursor_free (self);
          return NULL;
        }
      /* A runtime error: ODBC reports it in its words. */
      g_debug ("native SQLite path declines: %s", first_error->message);
      lite_cursor_free (self);
      return NULL;
    }
  return self;
}
