/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-native"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libpq-fe.h>
#include <math.h>
#include <string.h>

#include "orr-error.h"
#include "orr-native.h"

/* PostgreSQL's fast path: the input query through libpq's
 * COPY (query) TO STDOUT (FORMAT binary), parsed straight into batches, and
 * --output-table through COPY … FROM STDIN (FORMAT binary).
 *
 * The schema is derived from the query's row description exactly as
 * psqlODBC describes it and plan_column() in orr-connection.c maps it; a
 * column of any other type makes the whole query go through ODBC. */

/* Type OIDs (pg_type.dat; stable across versions). */
enum {
  OID_BOOL = 16, OID_BYTEA = 17, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
  OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_JSON = 114, OID_XML = 142,
  OID_CIDR = 650, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_INET = 869,
  OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082, OID_TIME = 1083,
  OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184, OID_INTERVAL = 1186,
  OID_TIMETZ = 1266, OID_NUMERIC = 1700, OID_UUID = 2950, OID_JSONB = 3802,
};

/* Days and microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_USEC G_GINT64_CONSTANT (946684800000000)
#define USEC_PER_DAY G_GINT64_CONSTANT (86400000000)

typedef enum {
  DEC_BOOL,
  DEC_INT16,
  DEC_INT32,
  DEC_INT64,
  DEC_OID,          /* uint32 → int64 (psqlODBC: unsigned SQL_INTEGER) */
  DEC_FLOAT32,
  DEC_FLOAT64,
  DEC_NUMERIC_DEC,  /* numeric(p ≤ 18, s) → scaled int64 */
  DEC_NUMERIC_F64,  /* other numeric → float64 */
  DEC_TEXT,         /* text-like: the bytes are UTF-8 */
  DEC_UUID,
  DEC_BYTEA,
  DEC_DATE,
  DEC_TIME,
  DEC_TIMESTAMP,
} Decoder;

typedef struct {
  Decoder decoder;
  OrrDataType type;
  int precision;
  int scale;
  const char *cast;     /* server-side cast in the COPY's select list ("output":
                         * the type's own text output, as psqlODBC gets it), or NULL */
} PgColumn;

typedef struct {
  char **keys;
  char **values;
  PGconn *conn;
  gboolean broken;   /* could not connect once: ODBC only from then on */
  GThread *connecting;   /* the first connection, made in the background */
} PgSource;

typedef struct {
  PgSource *source;
  PgColumn *columns;
  guint n_columns;
  guint batch_rows;
  gboolean header_seen;
  gboolean copy_done;   /* the COPY's data and final result have been read */
  gboolean failed;
  guint64 rows_seen;
  GMutex cancel_lock;
  PGcancel *cancel;
  gboolean cancel_requested;
  /* Variable-length columns are staged per batch: a batch's data buffers are
   * written one column after the other. */
  GByteArray **staging;
} PgCursor;

/* ------------------------------------------------------- connection string */

GHashTable *
orr_native_parse_conn_str (const char *conn_str)
{
  GHashTable *attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *p = conn_str;

  while (p && *p)
    {
      const char *eq, *end;
      g_autofree char *key = NULL;
      char *value;

      while (*p == ';' || g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      eq = strchr (p, '=');
      if (eq == NULL)
        break;
      key = g_ascii_strdown (p, eq - p);
      g_strstrip (key);
      p = eq + 1;
      if (*p == '{')
        {
          /* {…} quotes a value; "}}" is a literal brace inside it. */
          GString *v = g_string_new (NULL);

          for (p++; *p; p++)
            {
              if (*p == '}')
                {
                  if (p[1] == '}')
                    {
                      g_string_append_c (v, '}');
                      p++;
                      continue;
                    }
                  p++;
                  break;
                }
              g_string_append_c (v, *p);
            }
          value = g_string_free (v, FALSE);
          end = strchr (p, ';');
          p = end ? end : p + strlen (p);
        }
      else
        {
          end = strchr (p, ';');
          if (end == NULL)
            end = p + strlen (p);
          value = g_strndup (p, end - p);
          p = end;
        }
      g_hash_table_replace (attrs, g_steal_pointer (&key), value);
    }
  return attrs;
}

static const char *
attr (GHashTable *attrs, const char *a, const char *b)
{
  const char *v = g_hash_table_lookup (attrs, a);

  if ((v == NULL || *v == '\0') && b)
    v = g_hash_table_lookup (attrs, b);
  return v && *v ? v : NULL;
}

static void
pg_source_free (gpointer priv)
{
  PgSource *pg = priv;

  if (pg->connecting)
    pg->conn = g_thread_join (g_steal_pointer (&pg->connecting));
  if (pg->conn)
    PQfinish (pg->conn);
  g_strfreev (pg->keys);
  g_strfreev (pg->values);
  g_free (pg);
}

static gpointer connect_thread (gpointer data);
static OrrNativeCursor *pg_execute (gpointer priv, const char *sql, guint batch_rows,
                                    GCancellable *cancellable, GError **error);

OrrNativeSource *
orr_native_pg_new (const char  *completed,
                   char       **why)
{
  g_autoptr(GHashTable) attrs = orr_native_parse_conn_str (completed);
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  OrrNativeSource *source;
  PgSource *pg;
  const char *v;
  static const struct { const char *odbc, *alt, *libpq; } map[] = {
    { "server", "servername", "host" },
    { "port", NULL, "port" },
    { "database", NULL, "dbname" },
    { "uid", "username", "user" },
    { "pwd", "password", "password" },
    { "sslmode", NULL, "sslmode" },
  };

  /* Options under which psqlODBC hands out other values than the server's:
   * the ODBC path keeps those connections. */
  if ((v = attr (attrs, "connsettings", NULL)) != NULL)
    {
      *why = g_strdup ("the connection sets ConnSettings");
      return NULL;
    }
  if ((v = attr (attrs, "pqopt", NULL)) != NULL)
    {
      *why = g_strdup ("the connection sets pqopt");
      return NULL;
    }
  if ((v = attr (attrs, "lfconversion", NULL)) != NULL && strcmp (v, "0") != 0)
    {
      *why = g_strdup ("LFConversion is on");
      return NULL;
    }
  if ((v = attr (attrs, "bi", NULL)) != NULL && strcmp (v, "0") != 0)
    {
      *why = g_strdup ("BI (bigint mapping) is set");
      return NULL;
    }
  if ((v = attr (attrs, "d6", "numericas")) != NULL && strcmp (v, "-101") != 0)
    {
      *why = g_strdup ("NumericAs is set");
      return NULL;
    }
  if ((v = attr (attrs, "trueisminus1", NULL)) != NULL && strcmp (v, "0") != 0)
    {
      *why = g_strdup ("TrueIsMinus1 is on");
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if ((v = attr (attrs, map[i].odbc, map[i].alt)) != NULL)
      {
        g_ptr_array_add (keys, g_strdup (map[i].libpq));
        g_ptr_array_add (values, g_strdup (v));
      }
  g_ptr_array_add (keys, g_strdup ("client_encoding"));
  g_ptr_array_add (values, g_strdup ("UTF8"));
  g_ptr_array_add (keys, g_strdup ("application_name"));
  g_ptr_array_add (values, g_strdup ("orrery"));
  g_ptr_array_add (keys, g_strdup ("connect_timeout"));
  g_ptr_array_add (values, g_strdup ("15"));
  g_ptr_array_add (keys, NULL);
  g_ptr_array_add (values, NULL);

  pg = g_new0 (PgSource, 1);
  pg->keys = (char **) g_ptr_array_free (g_steal_pointer (&keys), FALSE);
  pg->values = (char **) g_ptr_array_free (g_steal_pointer (&values), FALSE);
  source = g_new0 (OrrNativeSource, 1);
  source->kind = "libpq";
  source->priv = pg;
  /* Log in while the caller does its other work (catalog checks, the
   * satellite's start): the input query finds the session ready. */
  pg->connecting = g_thread_new ("orrery-libpq", connect_thread, pg);
  source->free = pg_source_free;
  source->execute = pg_execute;
  return source;
}

/* The server's message, with its SQLSTATE, as the ODBC path words it; never
 * the connection's password (libpq does not echo it). */
static void
set_pg_error (GError     **error,
              int          code,
              const char  *context,
              PGconn      *conn,
              PGresult    *res)
{
  const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
  const char *severity = res ? PQresultErrorField (res, PG_DIAG_SEVERITY) : NULL;
  const char *primary = res ? PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  g_autofree char *text = NULL;

  if (primary)
    text = g_strdup_printf ("%s: %s", severity ? severity : "ERROR", primary);
  else
    text = g_strchomp (g_strdup (conn ? PQerrorMessage (conn) : "no message"));
  g_set_error (error, ORR_ERROR, code, "%s: SQLSTATE %s: %s", context, state ? state : "08000", text);
}

static gpointer
connect_thread (gpointer data)
{
  PgSource *pg = data;

  return PQconnectdbParams ((const char * const *) pg->keys, (const char * const *) pg->values, FALSE);
}

static gboolean
pg_connect (PgSource *pg, GError **error)
{
  if (pg->connecting)
    pg->conn = g_thread_join (g_steal_pointer (&pg->connecting));
  if (pg->conn && PQstatus (pg->conn) != CONNECTION_OK)
    {
      g_autofree char *msg = g_strchomp (g_strdup (PQerrorMessage (pg->conn)));

      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION,
                   _("Cannot connect to PostgreSQL through libpq: %s"), msg);
      PQfinish (pg->conn);
      pg->conn = NULL;
      pg->broken = TRUE;
      return FALSE;
    }
  if (pg->conn && PQstatus (pg->conn) == CONNECTION_OK && PQtransactionStatus (pg->conn) == PQTRANS_IDLE)
    return TRUE;
  if (pg->conn)
    {
      PQfinish (pg->conn);
      pg->conn = NULL;
    }
  if (pg->broken)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION, _("libpq could not connect before"));
      return FALSE;
    }
  pg->conn = PQconnectdbParams ((const char * const *) pg->keys, (const char * const *) pg->values, FALSE);
  if (pg->conn == NULL || PQstatus (pg->conn) != CONNECTION_OK)
    {
      g_autofree char *msg = g_strchomp (g_strdup (pg->conn ? PQerrorMessage (pg->conn) : "out of memory"));

      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION,
                   _("Cannot connect to PostgreSQL through libpq: %s"), msg);
      if (pg->conn)
        PQfinish (pg->conn);
      pg->conn = NULL;
      pg->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------ the input */

/* Only a query COPY takes as is: SELECT, WITH, VALUES, TABLE or a
 * parenthesised one, after blanks and comments. */
static gboolean
is_copyable_query (const char *sql)
{
  const char *p = sql;
  static const char *words[] = { "select", "with", "values", "table" };

  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (p[0] == '-' && p[1] == '-')
        {
          p = strchr (p, '\n');
          if (p == NULL)
            return FALSE;
          continue;
        }
      if (p[0] == '/' && p[1] == '*')
        {
          p = strstr (p + 2, "*/");
          if (p == NULL)
            return FALSE;
          p += 2;
          continue;
        }
      break;
    }
  if (*p == '(')
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      gsize n = strlen (words[i]);
      if (g_ascii_strncasecmp (p, words[i], n) == 0 && !g_ascii_isalnum (p[n]) && p[n] != '_')
        return TRUE;
    }
  return FALSE;
}

/* Functions whose result depends on the ODBC connection's own session: such
 * a query stays there. */
static gboolean
uses_session_state (const char *sql)
{
  static const char *names[] = { "currval", "lastval", "pg_advisory", "pg_try_advisory", "set_config",
                                 "pg_backend_pid", "txid_current", "pg_current_xact_id", "pg_temp",
                                 "current_setting" };
  g_autofree char *lower = g_ascii_strdown (sql, -1);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strstr (lower, names[i]))
      return TRUE;
  return FALSE;
}

/* The query without trailing blanks and semicolons (COPY takes no ';'). */
static char *
strip_query (const char *sql)
{
  char *q = g_strdup (sql);
  gsize n = strlen (q);

  while (n > 0 && (g_ascii_isspace (q[n - 1]) || q[n - 1] == ';'))
    q[--n] = '\0';
  return q;
}

/* Maps a result column as psqlODBC describes it and plan_column() maps that;
 * FALSE: not a type this path reproduces exactly. */
static gboolean
map_column (Oid oid, int typmod, PgColumn *col)
{
  memset (col, 0, sizeof *col);
  switch (oid)
    {
    case OID_BOOL: col->decoder = DEC_BOOL; col->type = ORR_DATA_TYPE_BOOL; return TRUE;
    case OID_INT2: col->decoder = DEC_INT16; col->type = ORR_DATA_TYPE_INT16; return TRUE;
    case OID_INT4: col->decoder = DEC_INT32; col->type = ORR_DATA_TYPE_INT32; return TRUE;
    case OID_INT8: col->decoder = DEC_INT64; col->type = ORR_DATA_TYPE_INT64; return TRUE;
    case OID_OID: col->decoder = DEC_OID; col->type = ORR_DATA_TYPE_INT64; return TRUE;
    case OID_FLOAT4: col->decoder = DEC_FLOAT32; col->type = ORR_DATA_TYPE_FLOAT32; return TRUE;
    case OID_FLOAT8: col->decoder = DEC_FLOAT64; col->type = ORR_DATA_TYPE_FLOAT64; return TRUE;
    case OID_NUMERIC:
      {
        /* psqlODBC: precision and scale from the type modifier, 28 and 6
         * without one; the ODBC path takes precision ≤ 18 as a decimal. */
        int precision = 28, scale = 6;

        if (typmod >= 4)
          {
            precision = ((typmod - 4) >> 16) & 0xffff;
            scale = (typmod - 4) & 0x7ff;
            if (scale & 0x400)
              return FALSE;   /* negative scale (PostgreSQL 15) */
          }
        if (precision >= 1 && precision <= 18 && scale <= precision)
          {
            col->decoder = DEC_NUMERIC_DEC;
            col->type = ORR_DATA_TYPE_DECIMAL;
            col->precision = precision;
            col->scale = scale;
          }
        else if (scale > precision)
          return FALSE;
        else
          {
            col->decoder = DEC_NUMERIC_F64;
            col->type = ORR_DATA_TYPE_FLOAT64;
          }
        return TRUE;
      }
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
      col->decoder = DEC_TEXT;
      col->type = ORR_DATA_TYPE_TEXT;
      return TRUE;
    case OID_JSON:
    case OID_JSONB:
    case OID_XML:
    case OID_INET:
    case OID_CIDR:
    case OID_INTERVAL:
    case OID_TIMETZ:
      /* psqlODBC hands out the server's text: have the server make it. */
      col->decoder = DEC_TEXT;
      col->type = ORR_DATA_TYPE_TEXT;
      col->cast = "output";
      return TRUE;
    case OID_UUID: col->decoder = DEC_UUID; col->type = ORR_DATA_TYPE_TEXT; return TRUE;
    case OID_BYTEA: col->decoder = DEC_BYTEA; col->type = ORR_DATA_TYPE_BINARY; return TRUE;
    case OID_DATE: col->decoder = DEC_DATE; col->type = ORR_DATA_TYPE_DATE; return TRUE;
    case OID_TIME: col->decoder = DEC_TIME; col->type = ORR_DATA_TYPE_TIME; return TRUE;
    case OID_TIMESTAMP: col->decoder = DEC_TIMESTAMP; col->type = ORR_DATA_TYPE_TIMESTAMP; return TRUE;
    case OID_TIMESTAMPTZ:
      /* psqlODBC reads the text in the session's time zone and drops the
       * offset: the cast to timestamp does the same on the server. */
      col->decoder = DEC_TIMESTAMP;
      col->type = ORR_DATA_TYPE_TIMESTAMP;
      col->cast = "timestamp";
      return TRUE;
    default:
      return FALSE;
    }
}

static void
pg_cursor_cancel (OrrNativeCursor *self)
{
  PgCursor *c = self->priv;
  char errbuf[256];

  g_mutex_lock (&c->cancel_lock);
  c->cancel_requested = TRUE;
  if (c->cancel && !c->copy_done)
    PQcancel (c->cancel, errbuf, sizeof errbuf);
  g_mutex_unlock (&c->cancel_lock);
}

static void
cancelled_cb (GCancellable *cancellable, OrrNativeCursor *self)
{
  pg_cursor_cancel (self);
}

/* Reads the rest of a COPY that was left unfinished, so the connection can
 * serve the next query; drops the connection when that fails. */
static void
pg_cursor_drain (PgCursor *c)
{
  PGconn *conn = c->source->conn;
  char *buf = NULL;
  char errbuf[256];
  PGresult *res;

  if (c->copy_done || conn == NULL)
    return;
  g_mutex_lock (&c->cancel_lock);
  if (c->cancel)
    PQcancel (c->cancel, errbuf, sizeof errbuf);
  c->copy_done = TRUE;
  g_mutex_unlock (&c->cancel_lock);
  while (PQgetCopyData (conn, &buf, 0) > 0)
    PQfreemem (buf);
  while ((res = PQgetResult (conn)) != NULL)
    PQclear (res);
  if (PQstatus (conn) != CONNECTION_OK || PQtransactionStatus (conn) != PQTRANS_IDLE)
    {
      PQfinish (conn);
      c->source->conn = NULL;
    }
}

static void
pg_cursor_free (OrrNativeCursor *self)
{
  PgCursor *c = self->priv;

  pg_cursor_drain (c);
  g_mutex_lock (&c->cancel_lock);
  if (c->cancel)
    PQfreeCancel (c->cancel);
  c->cancel = NULL;
  g_mutex_unlock (&c->cancel_lock);
  g_mutex_clear (&c->cancel_lock);
  for (guint i = 0; i < c->n_columns; i++)
    if (c->staging[i])
      g_byte_array_unref (c->staging[i]);
  g_free (c->staging);
  g_free (c->columns);
  g_free (c);
  g_clear_pointer (&self->schema, orr_schema_unref);
  g_free (self);
}

static inline guint16
rd16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
rd32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline guint64
rd64 (const guint8 *p)
{
  return ((guint64) rd32 (p) << 32) | rd32 (p + 4);
}

/* numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits. */
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

static gboolean
numeric_to_string (const guint8 *p, gsize len, GString *out)
{
  int ndigits, weight, sign, dscale;

  g_string_truncate (out, 0);
  if (len < 8)
    return FALSE;
  ndigits = (gint16) rd16 (p);
  weight = (gint16) rd16 (p + 2);
  sign = rd16 (p + 4);
  dscale = rd16 (p + 6);
  if (ndigits < 0 || len != 8 + (gsize) ndigits * 2)
    return FALSE;
  if (sign == NUMERIC_NAN)
    {
      g_string_append (out, "NaN");
      return TRUE;
    }
  if (sign == NUMERIC_PINF || sign == NUMERIC_NINF)
    {
      g_string_append (out, sign == NUMERIC_PINF ? "Infinity" : "-Infinity");
      return TRUE;
    }
  if (sign == NUMERIC_NEG)
    g_string_append_c (out, '-');
  /* Integer part: groups 0…weight. */
  if (weight < 0)
    g_string_append_c (out, '0');
  else
    for (int g = 0; g <= weight; g++)
      {
        int d = g < ndigits ? rd16 (p + 8 + g * 2) : 0;
        if (g == 0)
          g_string_append_printf (out, "%d", d);
        else
          g_string_append_printf (out, "%04d", d);
      }
  if (dscale > 0)
    {
      int written = 0;

      g_string_append_c (out, '.');
      for (int g = weight + 1; written < dscale; g++)
        {
          int d = (g >= 0 && g < ndigits) ? rd16 (p + 8 + g * 2) : 0;
          char four[5];

          g_snprintf (four, sizeof four, "%04d", d);
          for (int k = 0; k < 4 && written < dscale; k++, written++)
            g_string_append_c (out, four[k]);
        }
    }
  return TRUE;
}

/* The unscaled value at @scale, digits beyond it dropped (as the ODBC path's
 * text parse does); NaN reads as 0 there too. */
static gboolean
numeric_to_scaled (const guint8 *p, gsize len, int scale, gint64 *out)
{
  int ndigits, weight, sign;
  gint64 v = 0;
  int frac = 0;

  if (len < 8)
    return FALSE;
  ndigits = (gint16) rd16 (p);
  weight = (gint16) rd16 (p + 2);
  sign = rd16 (p + 4);
  if (ndigits < 0 || len != 8 + (gsize) ndigits * 2)
    return FALSE;
  if (sign == NUMERIC_NAN)
    {
      *out = 0;
      return TRUE;
    }
  if (sign != NUMERIC_POS && sign != NUMERIC_NEG)
    return FALSE;
  if (weight > 5)
    return FALSE;   /* ≥ 10^24: not a numeric(p ≤ 18) */
  /* Base-10000 groups by exponent, from the integer part down to the last
   * group that holds digits within the scale. */
  for (int e = MAX (weight, 0); e >= -((scale + 3) / 4); e--)
    {
      int g = weight - e;
      int d = (g >= 0 && g < ndigits) ? rd16 (p + 8 + g * 2) : 0;

      if (e >= 0)
        {
          if (v > (G_MAXINT64 - 9999) / 10000)
            return FALSE;
          v = v * 10000 + d;
        }
      else
        {
          /* The group's first min(4, scale - frac) digits. */
          static const int pow10[] = { 1, 10, 100, 1000, 10000 };
          int take = MIN (4, scale - frac);

          if (v > (G_MAXINT64 - 9999) / pow10[take])
            return FALSE;
          v = v * pow10[take] + d / pow10[4 - take];
          frac += take;
        }
    }
  for (; frac < scale; frac++)
    {
      if (v > G_MAXINT64 / 10)
        return FALSE;
      v *= 10;
    }
  *out = sign == NUMERIC_NEG ? -v : v;
  return TRUE;
}

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

static void
civil_from_days (gint64 z, gint64 *y, unsigned *m, unsigned *d)
{
  gint64 era, doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

/* psqlODBC reads a BC date's text without its era ("0044-03-15 BC" arrives
 * as 44-03-15 AD) and a BC timestamp's as a negative year (-44-03-15).
 * Days since 1970 as the ODBC path gets them. */
static gint64
odbc_days (gint64 days, gboolean timestamp)
{
  gint64 y;
  unsigned m, d;

  if (days >= -719162)   /* 0001-01-01 and later: as they are */
    return days;
  civil_from_days (days, &y, &m, &d);
  if (y > 0)
    return days;
  return days_from_civil (timestamp ? y - 1 : 1 - y, m, d);
}

static gint32
odbc_date (gint32 pg_days)
{
  if (pg_days == G_MAXINT32 || pg_days == G_MININT32)
    {
      /* psqlODBC turns ±infinity into today's date (local time). */
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();
      return (gint32) days_from_civil (g_date_time_get_year (now), g_date_time_get_month (now),
                                       g_date_time_get_day_of_month (now));
    }
  return (gint32) odbc_days ((gint64) pg_days + PG_EPOCH_DAYS, FALSE);
}

static gint64
odbc_timestamp (gint64 pg_usec)
{
  gint64 usec, days, rest;

  /* psqlODBC's stand-ins for ±infinity. */
  if (pg_usec == G_MAXINT64)
    return (days_from_civil (9999, 12, 31) * 86400 + 86399) * G_USEC_PER_SEC;
  if (pg_usec == G_MININT64)
    return days_from_civil (-9999, 1, 1) * 86400 * G_USEC_PER_SEC;
  usec = pg_usec + PG_EPOCH_USEC;
  days = usec >= 0 ? usec / USEC_PER_DAY : -((-usec - 1) / USEC_PER_DAY) - 1;
  rest = usec - days * USEC_PER_DAY;
  return odbc_days (days, TRUE) * 86400 * G_USEC_PER_SEC + rest;
}

static gboolean
bad_value (PgCursor *c, OrrNativeCursor *self, guint col, guint row, GError **error)
{
  g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
               _("Column “%s”, row %llu: the server sent a malformed %s value"),
               orr_schema_get_field (self->schema, col)->name, (unsigned long long) (c->rows_seen + row + 1),
               orr_data_type_to_string (c->columns[col].type));
  return FALSE;
}

/* Decodes one tuple of the COPY into row @row of @batch. */
static gboolean
decode_tuple (OrrNativeCursor *self,
              OrrBatch        *batch,
              guint8         **columns_values,
              guint            row,
              const guint8    *p,
              gsize            len,
              GError         **error)
{
  PgCursor *c = self->priv;
  const guint8 *end = p + len;
  g_autoptr(GString) num = NULL;

  if (len < 2 || rd16 (p) != c->n_columns)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL,
                   _("The server's COPY data does not have the %u columns it described"), c->n_columns);
      return FALSE;
    }
  p += 2;
  for (guint i = 0; i < c->n_columns; i++)
    {
      PgColumn *col = &c->columns[i];
      guint8 *values = columns_values[i];
      gint32 flen;

      if (end - p < 4)
        return bad_value (c, self, i, row, error);
      flen = (gint32) rd32 (p);
      p += 4;
      if (flen < 0)
        {
          gsize w = orr_data_type_get_width (col->type);

          orr_batch_set_null (batch, i, row, TRUE);
          if (c->staging[i])
            ((gint32 *) values)[row + 1] = c->staging[i]->len;
          else
            memset (values + (gsize) row * w, 0, w);
          continue;
        }
      if (end - p < flen)
        return bad_value (c, self, i, row, error);
      switch (col->decoder)
        {
        case DEC_BOOL:
          if (flen != 1)
            return bad_value (c, self, i, row, error);
          values[row] = p[0] != 0;
          break;
        case DEC_INT16:
          if (flen != 2)
            return bad_value (c, self, i, row, error);
          ((gint16 *) values)[row] = (gint16) rd16 (p);
          break;
        case DEC_INT32:
          if (flen != 4)
            return bad_value (c, self, i, row, error);
          ((gint32 *) values)[row] = (gint32) rd32 (p);
          break;
        case DEC_OID:
          if (flen != 4)
            return bad_value (c, self, i, row, error);
          ((gint64 *) values)[row] = rd32 (p);
          break;
        case DEC_INT64:
          if (flen != 8)
            return bad_value (c, self, i, row, error);
          ((gint64 *) values)[row] = (gint64) rd64 (p);
          break;
        case DEC_FLOAT32:
          {
            guint32 bits;
            float f;

            if (flen != 4)
              return bad_value (c, self, i, row, error);
            bits = rd32 (p);
            memcpy (&f, &bits, 4);
            /* The ODBC path parses "NaN": always the one quiet NaN. */
            ((float *) values)[row] = isnan (f) ? NAN : f;
          }
          break;
        case DEC_FLOAT64:
          {
            guint64 bits;
            double d;

            if (flen != 8)
              return bad_value (c, self, i, row, error);
            bits = rd64 (p);
            memcpy (&d, &bits, 8);
            ((double *) values)[row] = isnan (d) ? (double) NAN : d;
          }
          break;
        case DEC_NUMERIC_DEC:
          if (!numeric_to_scaled (p, flen, col->scale, &((gint64 *) values)[row]))
            return bad_value (c, self, i, row, error);
          break;
        case DEC_NUMERIC_F64:
          {
            double d;

            if (num == NULL)
              num = g_string_new (NULL);
            if (!numeric_to_string (p, flen, num))
              return bad_value (c, self, i, row, error);
            d = g_ascii_strtod (num->str, NULL);
            ((double *) values)[row] = isnan (d) ? (double) NAN : d;
          }
          break;
        case DEC_TEXT:
        case DEC_BYTEA:
          g_byte_array_append (c->staging[i], p, flen);
          ((gint32 *) values)[row + 1] = c->staging[i]->len;
          break;
        case DEC_UUID:
          {
            char text[37];
            static const char hex[] = "0123456789ABCDEF";   /* psqlODBC: upper case */
            int k = 0;

            if (flen != 16)
              return bad_value (c, self, i, row, error);
            for (int b = 0; b < 16; b++)
              {
                if (b == 4 || b == 6 || b == 8 || b == 10)
                  text[k++] = '-';
                text[k++] = hex[p[b] >> 4];
                text[k++] = hex[p[b] & 15];
              }
            g_byte_array_append (c->staging[i], (const guint8 *) text, 36);
            ((gint32 *) values)[row + 1] = c->staging[i]->len;
          }
          break;
        case DEC_DATE:
          if (flen != 4)
            return bad_value (c, self, i, row, error);
          ((gint32 *) values)[row] = odbc_date ((gint32) rd32 (p));
          break;
        case DEC_TIME:
          if (flen != 8)
            return bad_value (c, self, i, row, error);
          ((gint64 *) values)[row] = (gint64) rd64 (p);
          break;
        case DEC_TIMESTAMP:
          if (flen != 8)
            return bad_value (c, self, i, row, error);
          ((gint64 *) values)[row] = odbc_timestamp ((gint64) rd64 (p));
          break;
        default:
          g_assert_not_reached ();
        }
      p += flen;
    }
  return TRUE;
}

/* The COPY ended with an error (@res, or the next result): cancelled, or
 * the server's message. */
static gboolean
copy_failed (OrrNativeCursor *self, PGresult *res, GCancellable *cancellable, GError **error)
{
  PgCursor *c = self->priv;
  PGconn *conn = c->source->conn;
  gboolean cancelled;

  if (res == NULL)
    res = PQgetResult (conn);
  g_mutex_lock (&c->cancel_lock);
  cancelled = c->cancel_requested;
  c->copy_done = TRUE;
  g_mutex_unlock (&c->cancel_lock);
  if (cancelled || g_cancellable_is_cancelled (cancellable))
    g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The query was cancelled"));
  else
    set_pg_error (error, ORR_ERROR_ODBC, _("Fetching the result failed"), conn, res);
  PQclear (res);
  while ((res = PQgetResult (conn)) != NULL)
    PQclear (res);
  c->failed = TRUE;
  return FALSE;
}

static OrrBatch *
pg_cursor_fetch (OrrNativeCursor *self,
                 gboolean         shared,
                 GCancellable    *cancellable,
                 GError         **error)
{
  PgCursor *c = self->priv;
  PGconn *conn = c->source->conn;
  g_autoptr(OrrBatch) batch = NULL;
  gulong handler = 0;
  guint row = 0;
  gboolean ok = TRUE;
  g_autofree guint8 **columns_values = NULL;

  if (c->copy_done || c->failed || conn == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  batch = orr_batch_new (self->schema, c->batch_rows, shared, error);
  if (batch == NULL)
    return NULL;
  /* The values buffers stay put until data is appended, after the rows. */
  columns_values = g_new (guint8 *, MAX (c->n_columns, 1));
  for (guint i = 0; i < c->n_columns; i++)
    {
      columns_values[i] = orr_batch_get_values_mut (batch, i);
      if (c->staging[i])
        g_byte_array_set_size (c->staging[i], 0);
    }

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);
  while (row < c->batch_rows)
    {
      char *buf = NULL;
      int n = PQgetCopyData (conn, &buf, 0);
      const guint8 *p = (const guint8 *) buf;
      gsize len = n;

      if (n == -1)
        {
          PGresult *res = PQgetResult (conn);

          if (PQresultStatus (res) != PGRES_COMMAND_OK)
            {
              ok = copy_failed (self, res, cancellable, error);
              break;
            }
          PQclear (res);
          while ((res = PQgetResult (conn)) != NULL)
            PQclear (res);
          g_mutex_lock (&c->cancel_lock);
          c->copy_done = TRUE;
          g_mutex_unlock (&c->cancel_lock);
          break;
        }
      if (n < 0)
        {
          ok = copy_failed (self, NULL, cancellable, error);
          break;
        }
      if (!c->header_seen)
        {
          guint32 ext;

          if (len < 19 || memcmp (p, "PGCOPY\n\377\r\n\0", 11) != 0)
            {
              PQfreemem (buf);
              g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("The server's COPY data has no binary header"));
              ok = FALSE;
              break;
            }
          ext = rd32 (p + 15);
          if (len < 19 + (gsize) ext)
            {
              PQfreemem (buf);
              g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("The server's COPY header is truncated"));
              ok = FALSE;
              break;
            }
          p += 19 + ext;
          len -= 19 + ext;
          c->header_seen = TRUE;
          if (len == 0)
            {
              PQfreemem (buf);
              continue;
            }
        }
      if (len == 2 && rd16 (p) == 0xFFFF)
        {
          PQfreemem (buf);
          continue;   /* the trailer; the end follows */
        }
      ok = decode_tuple (self, batch, columns_values, row, p, len, error);
      PQfreemem (buf);
      if (!ok)
        break;
      row++;
    }
  g_cancellable_disconnect (cancellable, handler);
  if (!ok)
    {
      c->failed = TRUE;
      return NULL;
    }

  for (guint i = 0; i < c->n_columns; i++)
    if (c->staging[i] && c->staging[i]->len > 0 &&
        !orr_batch_append_data (batch, i, c->staging[i]->data, c->staging[i]->len, error))
      {
        c->failed = TRUE;
        return NULL;
      }
  orr_batch_set_n_rows (batch, row);
  c->rows_seen += row;
  if (row == 0)
    return NULL;
  return g_steal_pointer (&batch);
}

static OrrNativeCursor *
pg_execute (gpointer       priv,
            const char    *sql,
            guint          batch_rows,
            GCancellable  *cancellable,
            GError       **error)
{
  PgSource *pg = priv;
  g_autofree char *query = NULL;
  g_autoptr(GString) copy = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  g_autofree PgColumn *columns = NULL;
  OrrNativeCursor *self;
  PgCursor *c;
  PGresult *res;
  gboolean any_cast = FALSE;
  int n_fields;
  gulong handler = 0;
  g_autoptr(GError) connect_error = NULL;

  if (!is_copyable_query (sql) || uses_session_state (sql))
    {
      g_debug ("native PostgreSQL path declines: not a SELECT, WITH, VALUES or TABLE query");
      return NULL;
    }
  if (!pg_connect (pg, &connect_error))
    {
      g_debug ("native PostgreSQL path declines: %s", connect_error->message);
      return NULL;
    }
  query = strip_query (sql);

  /* Describe first: a query that does not prepare (several statements, ODBC
   * escapes, a session's temporary table…) goes through ODBC, which reports
   * its own error if it has one. */
  res = PQprepare (pg->conn, "", query, 0, NULL);
  if (PQresultStatus (res) != PGRES_COMMAND_OK)
    {
      g_debug ("native PostgreSQL path declines: %s", PQresultErrorMessage (res));
      PQclear (res);
      return NULL;
    }
  PQclear (res);
  res = PQdescribePrepared (pg->conn, "");
  if (PQresultStatus (res) != PGRES_COMMAND_OK || (n_fields = PQnfields (res)) == 0)
    {
      PQclear (res);
      g_debug ("native PostgreSQL path declines: the query returns no columns");
      return NULL;
    }
  schema = orr_schema_new ();
  columns = g_new0 (PgColumn, n_fields);
  for (int i = 0; i < n_fields; i++)
    {
      if (!map_column (PQftype (res, i), PQfmod (res, i), &columns[i]))
        {
          g_debug ("native PostgreSQL path declines: column “%s” has type OID %u",
                   PQfname (res, i), PQftype (res, i));
          PQclear (res);
          return NULL;
        }
      orr_schema_add_field (schema, PQfname (res, i), columns[i].type, columns[i].precision, columns[i].scale);
      any_cast |= columns[i].cast != NULL;
    }
  PQclear (res);

  copy = g_string_new ("COPY (");
  if (any_cast)
    {
      g_string_append (copy, "SELECT ");
      for (int i = 0; i < n_fields; i++)
        {
          if (i)
            g_string_append (copy, ", ");
          if (g_strcmp0 (columns[i].cast, "output") == 0)
            /* format's %s is the output function, not the cast to text
             * (inet::text adds the netmask); it turns NULL into ''. */
            g_string_append_printf (copy, "CASE WHEN q.c%d IS NULL THEN NULL ELSE format('%%s', q.c%d) END",
                                    i + 1, i + 1);
          else if (columns[i].cast)
            g_string_append_printf (copy, "q.c%d::%s", i + 1, columns[i].cast);
          else
            g_string_append_printf (copy, "q.c%d", i + 1);
        }
      g_string_append (copy, " FROM (");
      g_string_append (copy, query);
      g_string_append (copy, "\n) AS q(");
      for (int i = 0; i < n_fields; i++)
        g_string_append_printf (copy, "%sc%d", i ? ", " : "", i + 1);
      g_string_append (copy, ")");
    }
  else
    {
      g_string_append (copy, query);
      g_string_append (copy, "\n");
    }
  g_string_append (copy, ") TO STDOUT (FORMAT binary)");

  c = g_new0 (PgCursor, 1);
  g_mutex_init (&c->cancel_lock);
  c->source = pg;
  c->columns = g_steal_pointer (&columns);
  c->n_columns = n_fields;
  c->batch_rows = MAX (batch_rows, 1);
  c->staging = g_new0 (GByteArray *, n_fields);
  for (int i = 0; i < n_fields; i++)
    if (orr_data_type_is_variable (c->columns[i].type))
      c->staging[i] = g_byte_array_new ();
  c->cancel = PQgetCancel (pg->conn);
  self = g_new0 (OrrNativeCursor, 1);
  self->schema = g_steal_pointer (&schema);
  self->priv = c;
  self->fetch = pg_cursor_fetch;
  self->cancel = pg_cursor_cancel;
  self->free = pg_cursor_free;

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);
  if (!PQsendQuery (pg->conn, copy->str))
    {
      g_cancellable_disconnect (cancellable, handler);
      set_pg_error (error, ORR_ERROR_ODBC, _("The query failed"), pg->conn, NULL);
      c->copy_done = TRUE;
      orr_native_cursor_free (self);
      return NULL;
    }
  res = PQgetResult (pg->conn);
  g_cancellable_disconnect (cancellable, handler);
  if (PQresultStatus (res) != PGRES_COPY_OUT)
    {
      gboolean cancelled = c->cancel_requested || g_cancellable_is_cancelled (cancellable);

      if (cancelled)
        g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The query was cancelled"));
      else
        g_debug ("native PostgreSQL path declines: COPY refused the query: %s", PQresultErrorMessage (res));
      PQclear (res);
      while ((res = PQgetResult (pg->conn)) != NULL)
        PQclear (res);
      c->copy_done = TRUE;
      orr_native_cursor_free (self);
      return NULL;
    }
  PQclear (res);
  return self;
}

/* ------------------------------------------------------------ the output */

static Oid
natural_oid (OrrDataType type)
{
  switch (type)
    {
    case ORR_DATA_TYPE_BOOL: return OID_BOOL;
    case ORR_DATA_TYPE_INT16: return OID_INT2;
    case ORR_DATA_TYPE_INT32: return OID_INT4;
    case ORR_DATA_TYPE_INT64: return OID_INT8;
    case ORR_DATA_TYPE_FLOAT32: return OID_FLOAT4;
    case ORR_DATA_TYPE_FLOAT64: return OID_FLOAT8;
    case ORR_DATA_TYPE_DECIMAL: return OID_NUMERIC;
    case ORR_DATA_TYPE_TEXT: return OID_TEXT;
    case ORR_DATA_TYPE_BINARY: return OID_BYTEA;
    case ORR_DATA_TYPE_DATE: return OID_DATE;
    case ORR_DATA_TYPE_TIME: return OID_TIME;
    case ORR_DATA_TYPE_TIMESTAMP: return OID_TIMESTAMP;
    case ORR_DATA_TYPE_INVALID:
    default:
      return 0;
    }
}

static inline void
put16 (GByteArray *b, guint16 v)
{
  guint8 x[2] = { v >> 8, v & 0xff };
  g_byte_array_append (b, x, 2);
}

static inline void
put32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (b, x, 4);
}

static inline void
put64 (GByteArray *b, guint64 v)
{
  put32 (b, v >> 32);
  put32 (b, v & 0xffffffffu);
}

/* A scaled int64 as numeric's binary form (dscale = @scale). */
static void
put_numeric (GByteArray *b, gint64 unscaled, int scale)
{
  char digits[64];
  guint64 mag = unscaled < 0 ? (guint64) 0 - (guint64) unscaled : (guint64) unscaled;
  int n = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, mag);
  char padded[128];
  int int_len, lead, total;
  guint16 groups[40];
  int n_groups = 0, weight, first = 0, last;

  /* At least one integer digit; integer digits padded on the left and
   * fraction digits on the right to whole groups of 4. */
  if (n <= scale)
    {
      memset (padded, '0', scale - n + 1);
      memcpy (padded + scale - n + 1, digits, n);
      n = scale + 1;
    }
  else
    memcpy (padded, digits, n);
  int_len = n - scale;
  lead = (4 - int_len % 4) % 4;
  total = lead + n;
  {
    char all[160];

    memset (all, '0', sizeof all);
    memcpy (all + lead, padded, n);
    total += (4 - (total - lead - int_len) % 4) % 4;   /* fraction to whole groups */
    for (int i = 0; i < total; i += 4)
      groups[n_groups++] = (all[i] - '0') * 1000 + (all[i + 1] - '0') * 100 + (all[i + 2] - '0') * 10 + (all[i + 3] - '0');
  }
  weight = (lead + int_len) / 4 - 1;
  last = n_groups - 1;
  while (first <= last && groups[first] == 0)
    {
      first++;
      weight--;
    }
  while (last >= first && groups[last] == 0)
    last--;
  if (first > last)
    {
      put32 (b, 8);
      put16 (b, 0);
      put16 (b, 0);
      put16 (b, NUMERIC_POS);
      put16 (b, scale);
      return;
    }
  put32 (b, 8 + 2 * (last - first + 1));
  put16 (b, last - first + 1);
  put16 (b, (guint16) (gint16) weight);
  put16 (b, unscaled < 0 ? NUMERIC_NEG : NUMERIC_POS);
  put16 (b, scale);
  for (int i = first; i <= last; i++)
    put16 (b, groups[i]);
}

static gboolean
pg_exec_ok (PGconn *conn, const char *sql, const char *context, GError **error)
{
  PGresult *res = PQexec (conn, sql);
  gboolean ok = PQresultStatus (res) == PGRES_COMMAND_OK || PQresultStatus (res) == PGRES_TUPLES_OK;

  if (!ok)
    set_pg_error (error, ORR_ERROR_ODBC, context, conn, res);
  PQclear (res);
  return ok;
}

static gboolean
encode_batch (OrrBatch *batch, GByteArray *out, GError **error)
{
  guint n_rows = orr_batch_get_n_rows (batch);
  guint n_columns = orr_batch_get_n_columns (batch);
  OrrSchema *schema = orr_batch_get_schema (batch);
  g_autofree OrrColumn *cols = g_new0 (OrrColumn, MAX (n_columns, 1));

  for (guint c = 0; c < n_columns; c++)
    orr_batch_get_column (batch, c, &cols[c]);
  for (guint r = 0; r < n_rows; r++)
    {
      put16 (out, n_columns);
      for (guint c = 0; c < n_columns; c++)
        {
          const OrrColumn *col = &cols[c];

          if (orr_column_is_null (col, r))
            {
              put32 (out, 0xFFFFFFFFu);
              continue;
            }
          switch (col->type)
            {
            case ORR_DATA_TYPE_BOOL:
              put32 (out, 1);
              g_byte_array_append (out, (const guint8 []) { col->values[r] != 0 }, 1);
              break;
            case ORR_DATA_TYPE_INT16:
              put32 (out, 2);
              put16 (out, ((const guint16 *) col->values)[r]);
              break;
            case ORR_DATA_TYPE_INT32:
            case ORR_DATA_TYPE_FLOAT32:
              put32 (out, 4);
              put32 (out, ((const guint32 *) col->values)[r]);
              break;
            case ORR_DATA_TYPE_INT64:
            case ORR_DATA_TYPE_FLOAT64:
            case ORR_DATA_TYPE_TIME:
              put32 (out, 8);
              put64 (out, ((const guint64 *) col->values)[r]);
              break;
            case ORR_DATA_TYPE_TIMESTAMP:
              put32 (out, 8);
              put64 (out, (guint64) (((const gint64 *) col->values)[r] - PG_EPOCH_USEC));
              break;
            case ORR_DATA_TYPE_DATE:
              put32 (out, 4);
              put32 (out, (guint32) (((const gint32 *) col->values)[r] - PG_EPOCH_DAYS));
              break;
            case ORR_DATA_TYPE_DECIMAL:
              put_numeric (out, ((const gint64 *) col->values)[r], orr_schema_get_field (schema, c)->scale);
              break;
            case ORR_DATA_TYPE_TEXT:
            case ORR_DATA_TYPE_BINARY:
              {
                const gint32 *off = (const gint32 *) col->values;
                gsize len = off[r + 1] - off[r];

                put32 (out, len);
                g_byte_array_append (out, col->data + off[r], len);
              }
              break;
            case ORR_DATA_TYPE_INVALID:
            default:
              g_set_error (error, ORR_ERROR, ORR_ERROR_UNSUPPORTED, _("Column %u has no type"), c + 1);
              return FALSE;
            }
        }
    }
  return TRUE;
}

gboolean
orr_native_pg_write_table (OrrNativeSource *source,
                           const char      *table,
                           const char      *table_sql,
                           const char      *create_sql,
                           const char      *columns_sql,
                           OrrSchema       *schema,
                           GPtrArray       *batches,
                           GCancellable    *cancellable,
                           gboolean        *handled,
                           GError         **error)
{
  PgSource *pg = source->priv;
  g_autofree char *probe = NULL;
  g_autofree char *copy = NULL;
  g_autoptr(GByteArray) buf = NULL;
  guint n_columns = orr_schema_get_n_fields (schema);
  PGresult *res;
  gboolean exists, ok = TRUE;

  *handled = FALSE;
  if (!pg_connect (pg, error))
    return FALSE;

  /* Probe outside the transaction, as the ODBC path does; an existing
   * table's columns must be of exactly the types the binary COPY sends. */
  probe = g_strdup_printf ("SELECT %s FROM %s WHERE 1=0", columns_sql, table_sql);
  res = PQexec (pg->conn, probe);
  exists = PQresultStatus (res) == PGRES_TUPLES_OK;
  if (exists)
    {
      if ((guint) PQnfields (res) != n_columns)
        exists = FALSE;
      for (guint i = 0; exists && i < n_columns; i++)
        {
          const OrrField *field = orr_schema_get_field (schema, i);
          Oid oid = PQftype (res, i);
          Oid want = natural_oid (field->type);

          if (oid == want)
            continue;
          if (field->type == ORR_DATA_TYPE_TEXT && (oid == OID_VARCHAR || oid == OID_BPCHAR))
            continue;
          g_debug ("native PostgreSQL write declines: column “%s” of %s has type OID %u",
                   field->name, table, oid);
          PQclear (res);
          return FALSE;
        }
      if (!exists)
        {
          PQclear (res);
          return FALSE;
        }
    }
  else
    {
      const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);

      /* Only a missing table is created here; anything else (a missing
       * column, no permission…) goes through ODBC, which reports it. */
      if (state == NULL || strcmp (state, "42P01") != 0)
        {
          PQclear (res);
          return FALSE;
        }
    }
  PQclear (res);
  *handled = TRUE;

  if (!pg_exec_ok (pg->conn, "BEGIN", _("Cannot start a transaction"), error))
    return FALSE;
  if (!exists)
    {
      g_autofree char *context = g_strdup_printf (_("Cannot create table “%s”"), table);
      ok = pg_exec_ok (pg->conn, create_sql, context, error);
    }
  if (ok)
    {
      copy = g_strdup_printf ("COPY %s (%s) FROM STDIN (FORMAT binary)", table_sql, columns_sql);
      res = PQexec (pg->conn, copy);
      if (PQresultStatus (res) != PGRES_COPY_IN)
        {
          set_pg_error (error, ORR_ERROR_ODBC, _("Inserting the result failed"), pg->conn, res);
          ok = FALSE;
        }
      PQclear (res);
    }
  if (ok)
    {
      static const guint8 header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
      g_autofree char *abort_reason = NULL;

      buf = g_byte_array_sized_new (1 << 20);
      g_byte_array_append (buf, header, sizeof header);
      for (guint b = 0; ok && b < (batches ? batches->len : 0); b++)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              abort_reason = g_strdup ("cancelled");
              ok = FALSE;
              break;
            }
          if (!encode_batch (g_ptr_array_index (batches, b), buf, error))
            {
              abort_reason = g_strdup ("bad data");
              ok = FALSE;
              break;
            }
          if (buf->len >= (1 << 20))
            {
              if (PQputCopyData (pg->conn, (const char *) buf->data, buf->len) != 1)
                ok = FALSE;
              g_byte_array_set_size (buf, 0);
            }
        }
      if (ok)
        {
          put16 (buf, 0xFFFF);
          if (PQputCopyData (pg->conn, (const char *) buf->data, buf->len) != 1)
            ok = FALSE;
        }
      PQputCopyEnd (pg->conn, abort_reason);
      res = PQgetResult (pg->conn);
      if (PQresultStatus (res) != PGRES_COMMAND_OK && abort_reason == NULL)
        {
          set_pg_error (error, ORR_ERROR_ODBC, _("Inserting the result failed"), pg->conn, res);
          ok = FALSE;
        }
      PQclear (res);
      while ((res = PQgetResult (pg->conn)) != NULL)
        PQclear (res);
    }
  if (ok)
    ok = pg_exec_ok (pg->conn, "COMMIT", _("Committing the result failed"), error);
  else
    {
      res = PQexec (pg->conn, "ROLLBACK");
      PQclear (res);
    }
  if (PQstatus (pg->conn) != CONNECTION_OK || PQtransactionStatus (pg->conn) != PQTRANS_IDLE)
    {
      PQfinish (pg->conn);
      pg->conn = NULL;
    }
  return ok;
}

/* ------------------------------------------------------------ shared */

gboolean
_orr_native_pg_connect (OrrNativeSource *source, GError **error)
{
  return pg_connect (source->priv, error);
}

void
orr_native_source_free (OrrNativeSource *source)
{
  if (source == NULL)
    return;
  source->free (source->priv);
  g_free (source);
}

void
orr_native_cursor_free (OrrNativeCursor *cursor)
{
  if (cursor)
    cursor->free (cursor);
}
