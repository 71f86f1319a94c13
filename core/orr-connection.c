/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-connection"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <sql.h>
#include <sqlext.h>
#include <string.h>

#include "orr-connection.h"
#include "orr-error.h"
#include "orr-native.h"
#include "orr-wire.h"

#define DEFAULT_BATCH_ROWS 16384
#define STAGING_BUDGET (32u * 1024u * 1024u)
/* Text and binary columns wider than this, or of unknown size, are read row by
 * row with SQLGetData so no value is ever truncated. */
#define MAX_BOUND_WIDTH 8000

struct _OrrConnection {
  GObject parent_instance;

  char *target;
  char *dbms_name;
  char *dbms_version;
  char *driver_name;
  char quote[4];

  GMutex lock;      /* one statement at a time */
  SQLHENV env;
  SQLHDBC dbc;
  gboolean wide;    /* driver speaks UTF-16 (SQL_C_WCHAR) rather than UTF-8 */
  gboolean unsized; /* declared text sizes mean nothing (SQLite): read text whole */
  guint batch_rows;
  /* The native fast path (libpq, SQLite C API) when the driver is known and
   * the connection did not opt out (OrreryNative=No, ORRERY_NATIVE=0). */
  gboolean native_opt_out;
  OrrNativeSource *native;
  gboolean in_transaction;  /* between orr_connection_begin() and _end() */
};

G_DEFINE_FINAL_TYPE (OrrConnection, orr_connection, G_TYPE_OBJECT)

typedef struct {
  OrrDataType type;
  SQLSMALLINT sql_type;
  SQLSMALLINT c_type;
  SQLLEN width;          /* bytes of one staged value */
  gboolean direct;       /* ODBC writes straight into the batch values */
  gboolean text_bool;    /* psqlODBC's BoolsAsChar: 'true'/'false' text */
  int precision;
  int scale;
  guint8 *staging;
  SQLLEN *indicators;
} ColumnPlan;

struct _OrrCursor {
  GObject parent_instance;

  OrrConnection *connection;  /* holds connection->lock while open */
  SQLHSTMT stmt;
  GMutex cancel_lock;
  OrrSchema *schema;
  ColumnPlan *plans;
  guint n_columns;
  guint batch_rows;
  gboolean row_mode;
  gboolean done;
  /* Row mode with row-wise binding: every column of known width is bound
   * into one staging row per fetched row (SQL_ATTR_ROW_BIND_OFFSET_PTR moves
   * along the rows); only the long ones go through SQLGetData. */
  int row_bound;          /* -1 not tried, 0 unavailable, 1 bound */
  guint8 *row_staging;
  gsize row_size;
  SQLULEN bind_offset;
  gssize *value_offsets;  /* per column; -1: not bound */
  SQLULEN fetched;
  guint64 rows_seen;
  OrrNativeCursor *native;  /* set: the query runs on the native path */
};

G_DEFINE_FINAL_TYPE (OrrCursor, orr_cursor, G_TYPE_OBJECT)

/* ------------------------------------------------------------ diagnostics */

static void
set_odbc_error (GError     **error,
                int          code,
                SQLSMALLINT  handle_type,
                SQLHANDLE    handle,
                const char  *context)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (SQLSMALLINT i = 1; i < 10; i++)
    {
      SQLCHAR state[6] = { 0 };
      SQLCHAR message[2048] = { 0 };
      SQLINTEGER native = 0;
      SQLSMALLINT len = 0;
      SQLRETURN rc;

      rc = SQLGetDiagRec (handle_type, handle, i, state, &native, message, sizeof message, &len);
      if (!SQL_SUCCEEDED (rc))
        break;
      if (text->len)
        g_string_append (text, "; ");
      g_string_append_printf (text, "SQLSTATE %s: %s", state, g_strchomp ((char *) message));
    }
  if (text->len == 0)
    g_string_append (text, _("the driver gave no diagnostic"));
  g_set_error (error, ORR_ERROR, code, _("%s: %s"), context, text->str);
}

static gboolean
diag_has_state (SQLSMALLINT handle_type,
                SQLHANDLE   handle,
                const char *prefix)
{
  for (SQLSMALLINT i = 1; i < 10; i++)
    {
      SQLCHAR state[6] = { 0 };
      SQLCHAR message[16];
      SQLINTEGER native;
      SQLSMALLINT len;

      if (!SQL_SUCCEEDED (SQLGetDiagRec (handle_type, handle, i, state, &native, message, sizeof message, &len)))
        break;
      if (g_str_has_prefix ((char *) state, prefix))
        return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------ connection */

static void
orr_connection_finalize (GObject *object)
{
  OrrConnection *self = ORR_CONNECTION (object);

  orr_connection_close (self);
  g_free (self->target);
  g_free (self->dbms_name);
  g_free (self->dbms_version);
  g_free (self->driver_name);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (orr_connection_parent_class)->finalize (object);
}

static void
orr_connection_class_init (OrrConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_connection_finalize;
}

static void
orr_connection_init (OrrConnection *self)
{
  g_mutex_init (&self->lock);
  self->batch_rows = DEFAULT_BATCH_ROWS;
  self->env = SQL_NULL_HENV;
  self->dbc = SQL_NULL_HDBC;
}

OrrConnection *
orr_connection_new (const char *target)
{
  OrrConnection *self;

  g_return_val_if_fail (target != NULL, NULL);

  self = g_object_new (ORR_TYPE_CONNECTION, NULL);
  self->target = g_strdup (target);
  return self;
}

const char *
orr_connection_get_target (OrrConnection *self)
{
  return self->target;
}

char *
orr_connection_dup_display_name (OrrConnection *self)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  if (strchr (self->target, '=') == NULL)
    return g_strdup (self->target);
  parts = g_strsplit (self->target, ";", -1);
  for (guint i = 0; parts[i]; i++)
    {
      const char *eq = strchr (parts[i], '=');
      g_autofree char *key = eq ? g_strstrip (g_strndup (parts[i], eq - parts[i])) : NULL;

      if (parts[i][0] == '\0')
        continue;
      if (out->len)
        g_string_append_c (out, ';');
      if (key && (g_ascii_strcasecmp (key, "pwd") == 0 || g_ascii_strcasecmp (key, "password") == 0))
        g_string_append_printf (out, "%s=***", key);
      else
        g_string_append (out, parts[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
get_info_string (SQLHDBC dbc, SQLUSMALLINT what)
{
  char buf[512] = { 0 };
  SQLSMALLINT len = 0;

  if (!SQL_SUCCEEDED (SQLGetInfo (dbc, what, buf, sizeof buf, &len)))
    return g_strdup ("");
  return g_strdup (buf);
}

/* Removes the OrreryNative=… attribute (Orrery's, not the driver's) from a
 * connection string; TRUE when it says no. */
static gboolean
strip_native_option (char *conn_str)
{
  gboolean opt_out = FALSE;
  char *p = conn_str;

  while (*p)
    {
      char *start = p, *end = strchr (p, ';');
      char *eq;

      if (end == NULL)
        end = p + strlen (p);
      eq = memchr (start, '=', end - start);
      if (eq)
        {
          g_autofree char *key = g_strstrip (g_strndup (start, eq - start));

          if (g_ascii_strcasecmp (key, "OrreryNative") == 0)
            {
              g_autofree char *value = g_strstrip (g_strndup (eq + 1, end - eq - 1));

              opt_out = g_ascii_strcasecmp (value, "no") == 0 || g_ascii_strcasecmp (value, "0") == 0 ||
                        g_ascii_strcasecmp (value, "false") == 0 || g_ascii_strcasecmp (value, "off") == 0;
              memmove (start, *end ? end + 1 : end, strlen (*end ? end + 1 : end) + 1);
              continue;
            }
        }
      p = *end ? end + 1 : end;
    }
  return opt_out;
}

static void
setup_native (OrrConnection *self,
              const char    *completed)
{
  const char *env = g_getenv ("ORRERY_NATIVE");
  g_autofree char *why = NULL;

  g_clear_pointer (&self->native, orr_native_source_free);
  if (self->native_opt_out)
    why = g_strdup ("OrreryNative=No in the connection string");
  else if (env && (strcmp (env, "0") == 0 || g_ascii_strcasecmp (env, "no") == 0))
    why = g_strdup ("ORRERY_NATIVE=0");
  /* psqlODBC's Unicode driver only: the ANSI one hands out text in the
   * client's charset, which the native path (UTF-8) would not reproduce. */
  else if (strstr (self->driver_name, "psqlodbcw") != NULL && strstr (self->dbms_name, "PostgreSQL") != NULL)
    self->native = orr_native_pg_new (completed, &why);
  else if (strstr (self->driver_name, "sqlite3odbc") != NULL && strstr (self->dbms_name, "SQLite") != NULL)
    self->native = orr_native_sqlite_new (completed, &why);
  else
    why = g_strdup ("no native path for this driver");
  {
    /* Never the password: the display name masks it. */
    g_autofree char *display = orr_connection_dup_display_name (self);

    if (self->native)
      g_debug ("%s: native fast path through %s", display, self->native->kind);
    else
      g_debug ("%s: ODBC only (%s)", display, why ? why : "");
  }
}

const char *
orr_connection_get_native_path (OrrConnection *self)
{
  return self->native ? self->native->kind : NULL;
}

gboolean
orr_connection_open (OrrConnection  *self,
                     GCancellable   *cancellable,
                     GError        **error)
{
  g_autofree char *conn_str = NULL;
  g_autofree char *display = NULL;
  SQLCHAR out[4096];
  SQLSMALLINT out_len;
  SQLRETURN rc;

  g_return_val_if_fail (ORR_IS_CONNECTION (self), FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  g_mutex_lock (&self->lock);
  if (self->dbc != SQL_NULL_HDBC)
    {
      g_mutex_unlock (&self->lock);
      return TRUE;
    }

  if (strchr (self->target, '=') != NULL)
    conn_str = g_strdup (self->target);
  else
    conn_str = g_strdup_printf ("DSN=%s", self->target);
  self->native_opt_out = strip_native_option (conn_str);
  display = orr_connection_dup_display_name (self);

  if (!SQL_SUCCEEDED (SQLAllocHandle (SQL_HANDLE_ENV, SQL_NULL_HANDLE, &self->env)))
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION, _("Cannot start the ODBC driver manager"));
      return FALSE;
    }
  SQLSetEnvAttr (self->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER) SQL_OV_ODBC3, 0);
  SQLAllocHandle (SQL_HANDLE_DBC, self->env, &self->dbc);
  SQLSetConnectAttr (self->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER) 15, 0);

  rc = SQLDriverConnect (self->dbc, NULL, (SQLCHAR *) conn_str, SQL_NTS,
                         out, sizeof out, &out_len, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED (rc))
    {
      g_autofree char *context = g_strdup_printf (_("Cannot connect to “%s”"), display);

      set_odbc_error (error, ORR_ERROR_CONNECTION, SQL_HANDLE_DBC, self->dbc, context);
      SQLFreeHandle (SQL_HANDLE_DBC, self->dbc);
      SQLFreeHandle (SQL_HANDLE_ENV, self->env);
      self->dbc = SQL_NULL_HDBC;
      self->env = SQL_NULL_HENV;
      g_mutex_unlock (&self->lock);
      return FALSE;
    }

  g_free (self->dbms_name);
  g_free (self->dbms_version);
  g_free (self->driver_name);
  self->dbms_name = get_info_string (self->dbc, SQL_DBMS_NAME);
  self->dbms_version = get_info_string (self->dbc, SQL_DBMS_VER);
  self->driver_name = get_info_string (self->dbc, SQL_DRIVER_NAME);
  {
    g_autofree char *q = get_info_string (self->dbc, SQL_IDENTIFIER_QUOTE_CHAR);
    g_strlcpy (self->quote, (q[0] == '\0' || q[0] == ' ') ? "\"" : q, sizeof self->quote);
  }
  /* psqlODBC's Unicode driver converts SQL_C_CHAR to the locale's charset;
   * ask it for UTF-16 instead. Other drivers here hand out UTF-8 as is. */
  self->wide = strstr (self->driver_name, "psqlodbcw") != NULL;
  /* SQLite stores a text of any length in a varchar(32) column: a declared
   * size is no bound, so text and blobs are read with SQLGetData. */
  self->unsized = strstr (self->dbms_name, "SQLite") != NULL;
  out[MIN ((gsize) MAX (out_len, 0), sizeof out - 1)] = '\0';
  setup_native (self, (const char *) out);

  g_mutex_unlock (&self->lock);
  return TRUE;
}

static void
open_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;

  if (orr_connection_open (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
orr_connection_open_async (OrrConnection       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ORR_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, orr_connection_open_async);
  g_task_run_in_thread (task, open_worker);
}

gboolean
orr_connection_open_finish (OrrConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
orr_connection_is_open (OrrConnection *self)
{
  return self->dbc != SQL_NULL_HDBC;
}

void
orr_connection_close (OrrConnection *self)
{
  g_mutex_lock (&self->lock);
  if (self->dbc != SQL_NULL_HDBC)
    {
      SQLDisconnect (self->dbc);
      SQLFreeHandle (SQL_HANDLE_DBC, self->dbc);
      self->dbc = SQL_NULL_HDBC;
    }
  if (self->env != SQL_NULL_HENV)
    {
      SQLFreeHandle (SQL_HANDLE_ENV, self->env);
      self->env = SQL_NULL_HENV;
    }
  g_clear_pointer (&self->native, orr_native_source_free);
  g_mutex_unlock (&self->lock);
}

const char *
orr_connection_get_dbms_name (OrrConnection *self)
{
  return self->dbms_name;
}

const char *
orr_connection_get_dbms_version (OrrConnection *self)
{
  return self->dbms_version;
}

const char *
orr_connection_get_driver_name (OrrConnection *self)
{
  return self->driver_name;
}

void
orr_connection_set_batch_rows (OrrConnection *self,
                               guint          rows)
{
  self->batch_rows = CLAMP (rows, 1, 1u << 20);
}

guint
orr_connection_get_batch_rows (OrrConnection *self)
{
  return self->batch_rows;
}

/* ---------------------------------------------------------- text helpers */

/* UTF-16LE → UTF-8; lone surrogates become U+FFFD. Returns bytes written;
 * @out must hold 3 bytes per UTF-16 unit. */
static gsize
utf16_to_utf8 (const SQLWCHAR *in,
               gsize           n_units,
               guint8         *out)
{
  guint8 *p = out;

  for (gsize i = 0; i < n_units; i++)
    {
      guint32 c = in[i];

      if (c < 0x80)
        {
          *p++ = c;
          continue;
        }
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n_units && in[i + 1] >= 0xDC00 && in[i + 1] <= 0xDFFF)
        {
          c = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00);
          i++;
        }
      else if (c >= 0xD800 && c <= 0xDFFF)
        c = 0xFFFD;

      if (c < 0x800)
        {
          *p++ = 0xC0 | (c >> 6);
          *p++ = 0x80 | (c & 0x3F);
        }
      else if (c < 0x10000)
        {
          *p++ = 0xE0 | (c >> 12);
          *p++ = 0x80 | ((c >> 6) & 0x3F);
          *p++ = 0x80 | (c & 0x3F);
        }
      else
        {
          *p++ = 0xF0 | (c >> 18);
          *p++ = 0x80 | ((c >> 12) & 0x3F);
          *p++ = 0x80 | ((c >> 6) & 0x3F);
          *p++ = 0x80 | (c & 0x3F);
        }
    }
  return p - out;
}

static SQLWCHAR *
utf8_to_sqlwchar (const char *text, gssize len, glong *n_units)
{
  return (SQLWCHAR *) g_utf8_to_utf16 (text, len, NULL, n_units, NULL);
}

/* -------------------------------------------------------- value parsing */

static gint32
days_from_civil (gint64 y, unsigned m, unsigned d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (gint32) (era * 146097 + doe - 719468);
}

static gboolean
parse_decimal (const char *s, gsize len, int scale, gint64 *out)
{
  gint64 v = 0;
  gboolean negative = FALSE, seen_dot = FALSE;
  int frac = 0;
  gsize i = 0;

  while (i < len && s[i] == ' ')
    i++;
  if (i < len && (s[i] == '-' || s[i] == '+'))
    negative = s[i++] == '-';
  for (; i < len; i++)
    {
      if (s[i] == '.')
        {
          if (seen_dot)
            return FALSE;
          seen_dot = TRUE;
          continue;
        }
      if (s[i] < '0' || s[i] > '9')
        break;
      if (seen_dot)
        {
          if (frac >= scale)
            continue;   /* more digits than the declared scale: drop them */
          frac++;
        }
      if (v > (G_MAXINT64 - 9) / 10)
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  for (; frac < scale; frac++)
    {
      if (v > G_MAXINT64 / 10)
        return FALSE;
      v *= 10;
    }
  *out = negative ? -v : v;
  return TRUE;
}

static gboolean
parse_time (const char *s, gsize len, gint64 *out)
{
  int h = 0, m = 0, sec = 0;
  gint64 frac = 0;
  int frac_digits = 0;
  gsize i = 0;
  char buf[64];

  if (len >= sizeof buf)
    return FALSE;
  memcpy (buf, s, len);
  buf[len] = '\0';
  if (sscanf (buf, "%d:%d:%d", &h, &m, &sec) != 3)
    return FALSE;
  for (i = 0; buf[i] && buf[i] != '.'; i++)
    ;
  if (buf[i] == '.')
    for (i++; buf[i] >= '0' && buf[i] <= '9'; i++)
      if (frac_digits < 6)
        {
          frac = frac * 10 + (buf[i] - '0');
          frac_digits++;
        }
  for (; frac_digits < 6; frac_digits++)
    frac *= 10;
  *out = (((gint64) h * 60 + m) * 60 + sec) * G_USEC_PER_SEC + frac;
  return TRUE;
}

static gboolean
parse_bool_text (const char *s, gsize len, guint8 *out)
{
  if (len == 0)
    return FALSE;
  switch (g_ascii_tolower (s[0]))
    {
    case 't': case '1': case 'y':
      *out = 1;
      return TRUE;
    case 'f': case '0': case 'n':
      *out = 0;
      return TRUE;
    default:
      return FALSE;
    }
}

/* ------------------------------------------------------------ the cursor */

static void
orr_cursor_dispose (GObject *object)
{
  orr_cursor_close (ORR_CURSOR (object));
  G_OBJECT_CLASS (orr_cursor_parent_class)->dispose (object);
}

static void
orr_cursor_finalize (GObject *object)
{
  OrrCursor *self = ORR_CURSOR (object);

  g_mutex_clear (&self->cancel_lock);
  G_OBJECT_CLASS (orr_cursor_parent_class)->finalize (object);
}

static void
orr_cursor_class_init (OrrCursorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = orr_cursor_dispose;
  G_OBJECT_CLASS (klass)->finalize = orr_cursor_finalize;
}

static void
orr_cursor_init (OrrCursor *self)
{
  g_mutex_init (&self->cancel_lock);
  self->row_bound = -1;
  self->stmt = SQL_NULL_HSTMT;
}

void
orr_cursor_close (OrrCursor *self)
{
  OrrNativeCursor *native;

  g_mutex_lock (&self->cancel_lock);
  if (self->stmt != SQL_NULL_HSTMT)
    {
      SQLFreeHandle (SQL_HANDLE_STMT, self->stmt);
      self->stmt = SQL_NULL_HSTMT;
    }
  native = g_steal_pointer (&self->native);
  g_mutex_unlock (&self->cancel_lock);
  /* Still under the connection's lock: the native source is the connection's. */
  orr_native_cursor_free (native);

  g_clear_pointer (&self->row_staging, g_free);
  g_clear_pointer (&self->value_offsets, g_free);
  if (self->plans)
    {
      for (guint i = 0; i < self->n_columns; i++)
        {
          g_free (self->plans[i].staging);
          g_free (self->plans[i].indicators);
        }
      g_clear_pointer (&self->plans, g_free);
    }
  g_clear_pointer (&self->schema, orr_schema_unref);
  if (self->connection)
    {
      g_mutex_unlock (&self->connection->lock);
      g_clear_object (&self->connection);
    }
}

void
orr_cursor_cancel (OrrCursor *self)
{
  g_mutex_lock (&self->cancel_lock);
  if (self->stmt != SQL_NULL_HSTMT)
    SQLCancel (self->stmt);
  if (self->native)
    self->native->cancel (self->native);
  g_mutex_unlock (&self->cancel_lock);
}

const char *
orr_cursor_get_native_path (OrrCursor *self)
{
  return self->native && self->connection && self->connection->native ? self->connection->native->kind : NULL;
}

OrrSchema *
orr_cursor_get_schema (OrrCursor *self)
{
  return self->schema;
}

static void
cancelled_cb (GCancellable *cancellable,
              OrrCursor    *self)
{
  orr_cursor_cancel (self);
}

static gboolean
plan_column (OrrConnection *conn,
             SQLHSTMT       stmt,
             SQLUSMALLINT   index,
             ColumnPlan    *plan,
             char         **name_out,
             gboolean      *long_out)
{
  SQLCHAR name[512] = { 0 };
  SQLSMALLINT name_len = 0, data_type = 0, digits = 0, nullable = 0;
  SQLULEN size = 0;
  char type_name[128] = { 0 };
  SQLSMALLINT type_name_len = 0;
  SQLLEN unsigned_attr = SQL_FALSE;
  gsize char_width = conn->wide ? sizeof (SQLWCHAR) : 4;

  if (conn->wide)
    {
      SQLWCHAR wname[512] = { 0 };
      if (!SQL_SUCCEEDED (SQLDescribeColW (stmt, index, wname, G_N_ELEMENTS (wname), &name_len,
                                           &data_type, &size, &digits, &nullable)))
        return FALSE;
      {
        guint8 utf8[512 * 3 + 1];
        gsize n = utf16_to_utf8 (wname, MIN ((gsize) name_len, G_N_ELEMENTS (wname) - 1), utf8);
        *name_out = g_strndup ((char *) utf8, n);
      }
    }
  else
    {
      if (!SQL_SUCCEEDED (SQLDescribeCol (stmt, index, name, sizeof name, &name_len,
                                          &data_type, &size, &digits, &nullable)))
        return FALSE;
      *name_out = g_utf8_make_valid ((char *) name, -1);
    }
  SQLColAttribute (stmt, index, SQL_DESC_TYPE_NAME, type_name, sizeof type_name, &type_name_len, NULL);
  SQLColAttribute (stmt, index, SQL_DESC_UNSIGNED, NULL, 0, NULL, &unsigned_attr);

  memset (plan, 0, sizeof *plan);
  plan->sql_type = data_type;
  switch (data_type)
    {
    case SQL_BIT:
      plan->type = ORR_DATA_TYPE_BOOL;
      plan->c_type = SQL_C_BIT;
      plan->width = 1;
      plan->direct = TRUE;
      break;
    case SQL_TINYINT:
    case SQL_SMALLINT:
      plan->type = ORR_DATA_TYPE_INT16;
      plan->c_type = SQL_C_SSHORT;
      plan->width = 2;
      plan->direct = TRUE;
      if (data_type == SQL_SMALLINT && unsigned_attr == SQL_TRUE)
        {
          plan->type = ORR_DATA_TYPE_INT32;
          plan->c_type = SQL_C_SLONG;
          plan->width = 4;
        }
      break;
    case SQL_INTEGER:
      plan->type = ORR_DATA_TYPE_INT32;
      plan->c_type = SQL_C_SLONG;
      plan->width = 4;
      plan->direct = TRUE;
      if (unsigned_attr == SQL_TRUE)
        {
          plan->type = ORR_DATA_TYPE_INT64;
          plan->c_type = SQL_C_SBIGINT;
          plan->width = 8;
        }
      break;
    case SQL_BIGINT:
      plan->type = ORR_DATA_TYPE_INT64;
      plan->c_type = SQL_C_SBIGINT;
      plan->width = 8;
      plan->direct = TRUE;
      break;
    case SQL_REAL:
      plan->type = ORR_DATA_TYPE_FLOAT32;
      plan->c_type = SQL_C_FLOAT;
      plan->width = 4;
      plan->direct = TRUE;
      break;
    case SQL_FLOAT:
    case SQL_DOUBLE:
      plan->type = ORR_DATA_TYPE_FLOAT64;
      plan->c_type = SQL_C_DOUBLE;
      plan->width = 8;
      plan->direct = TRUE;
      break;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
      if (size >= 1 && size <= 18 && digits >= 0 && (SQLULEN) digits <= size)
        {
          plan->type = ORR_DATA_TYPE_DECIMAL;
          plan->c_type = SQL_C_CHAR;
          plan->width = 48;
          plan->precision = size;
          plan->scale = digits;
        }
      else
        {
          plan->type = ORR_DATA_TYPE_FLOAT64;
          plan->c_type = SQL_C_DOUBLE;
          plan->width = 8;
          plan->direct = TRUE;
        }
      break;
    case SQL_TYPE_DATE:
    case SQL_DATE:
      plan->type = ORR_DATA_TYPE_DATE;
      plan->c_type = SQL_C_TYPE_DATE;
      plan->width = sizeof (SQL_DATE_STRUCT);
      break;
    case SQL_TYPE_TIME:
    case SQL_TIME:
    case -154: /* SQL_SS_TIME2 */
      plan->type = ORR_DATA_TYPE_TIME;
      plan->c_type = SQL_C_CHAR;
      plan->width = 48;
      break;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
      plan->type = ORR_DATA_TYPE_TIMESTAMP;
      plan->c_type = SQL_C_TYPE_TIMESTAMP;
      plan->width = sizeof (SQL_TIMESTAMP_STRUCT);
      break;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
      plan->type = ORR_DATA_TYPE_BINARY;
      plan->c_type = SQL_C_BINARY;
      if (data_type == SQL_LONGVARBINARY || size == 0 || size > MAX_BOUND_WIDTH || conn->unsized)
        *long_out = TRUE;
      else
        plan->width = size;
      break;
    default:
      /* Characters, GUIDs, intervals and anything else: as text. */
      plan->type = ORR_DATA_TYPE_TEXT;
      plan->c_type = conn->wide ? SQL_C_WCHAR : SQL_C_CHAR;
      if (g_ascii_strcasecmp (type_name, "bool") == 0 || g_ascii_strcasecmp (type_name, "boolean") == 0)
        {
          plan->type = ORR_DATA_TYPE_BOOL;
          plan->text_bool = TRUE;
          plan->c_type = SQL_C_CHAR;
          plan->width = 16;
          break;
        }
      if (data_type == SQL_LONGVARCHAR || data_type == SQL_WLONGVARCHAR ||
          size == 0 || size > MAX_BOUND_WIDTH || conn->unsized)
        *long_out = TRUE;
      else if (data_type == SQL_GUID)
        plan->width = 64 * char_width;
      else
        plan->width = (size + 1) * char_width;
      break;
    }
  return TRUE;
}

/* Binds @params (OrrValue) as input parameters 1…n of @stmt. The buffers
 * live in @keep until the statement has run. */
static gboolean
bind_values (OrrConnection  *self,
             SQLHSTMT        stmt,
             GPtrArray      *params,
             GPtrArray      *keep,
             GError        **error)
{
  for (guint i = 0; params && i < params->len; i++)
    {
      const OrrValue *v = g_ptr_array_index (params, i);
      SQLLEN *ind = g_new0 (SQLLEN, 1);
      SQLSMALLINT c_type = SQL_C_CHAR, sql_type = SQL_VARCHAR;
      SQLULEN size = 1;
      SQLSMALLINT digits = 0;
      gpointer buffer = NULL;
      SQLLEN buffer_len = 0;

      g_ptr_array_add (keep, ind);
      if (v->is_null)
        *ind = SQL_NULL_DATA;
      switch (v->type)
        {
        case ORR_DATA_TYPE_BOOL:
        case ORR_DATA_TYPE_INT16:
        case ORR_DATA_TYPE_INT32:
        case ORR_DATA_TYPE_INT64:
          {
            gint64 *n = g_new0 (gint64, 1);
            *n = v->type == ORR_DATA_TYPE_BOOL ? (v->v.b ? 1 : 0) : v->v.i;
            c_type = SQL_C_SBIGINT;
            sql_type = SQL_BIGINT;
            size = 19;
            buffer = n;
            buffer_len = sizeof *n;
          }
          break;
        case ORR_DATA_TYPE_FLOAT32:
        case ORR_DATA_TYPE_FLOAT64:
        case ORR_DATA_TYPE_DECIMAL:
          {
            double *f = g_new0 (double, 1);
            *f = v->v.f;
            c_type = SQL_C_DOUBLE;
            sql_type = SQL_DOUBLE;
            size = 15;
            buffer = f;
            buffer_len = sizeof *f;
          }
          break;
        case ORR_DATA_TYPE_TEXT:
          {
            gsize len = 0;
            const char *text = v->bytes ? g_bytes_get_data (v->bytes, &len) : "";

            if (self->wide)
              {
                glong units = 0;
                SQLWCHAR *w = utf8_to_sqlwchar (text ? text : "", len, &units);

                if (w == NULL)
                  {
                    g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT, _("A parameter is not valid UTF-8"));
                    return FALSE;
                  }
                c_type = SQL_C_WCHAR;
                sql_type = SQL_WVARCHAR;
                size = MAX (units, 1);
                buffer = w;
                buffer_len = units * sizeof (SQLWCHAR);
              }
            else
              {
                c_type = SQL_C_CHAR;
                sql_type = SQL_VARCHAR;
                size = MAX (len, 1);
                buffer = g_strndup (text ? text : "", len);
                buffer_len = len;
              }
            if (!v->is_null)
              *ind = buffer_len;
          }
          break;
        case ORR_DATA_TYPE_DATE:
        case ORR_DATA_TYPE_TIMESTAMP:
          {
            SQL_TIMESTAMP_STRUCT *ts = g_new0 (SQL_TIMESTAMP_STRUCT, 1);
            g_autofree char *text = orr_value_to_string (v);
            int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, us = 0;

            sscanf (text, "%d-%d-%d %d:%d:%d.%d", &y, &mo, &d, &h, &mi, &sec, &us);
            ts->year = y; ts->month = mo; ts->day = d;
            ts->hour = h; ts->minute = mi; ts->second = sec;
            ts->fraction = (SQLUINTEGER) us * 1000;
            if (v->type == ORR_DATA_TYPE_DATE)
              {
                c_type = SQL_C_TYPE_DATE;
                sql_type = SQL_TYPE_DATE;
                size = 10;
                buffer_len = sizeof (SQL_DATE_STRUCT);
              }
            else
              {
                c_type = SQL_C_TYPE_TIMESTAMP;
                sql_type = SQL_TYPE_TIMESTAMP;
                size = 26;
                digits = 6;
                buffer_len = sizeof *ts;
              }
            /* SQL_DATE_STRUCT is the first three fields of the timestamp's. */
            buffer = ts;
          }
          break;
        default:
          {
            g_autofree char *text = orr_value_to_string (v);
            c_type = SQL_C_CHAR;
            sql_type = SQL_VARCHAR;
            size = MAX (strlen (text), 1);
            buffer_len = strlen (text);
            buffer = g_steal_pointer (&text);
            if (!v->is_null)
              *ind = buffer_len;
          }
          break;
        }
      if (buffer)
        g_ptr_array_add (keep, buffer);
      if (!v->is_null && *ind == 0 && c_type != SQL_C_CHAR && c_type != SQL_C_WCHAR)
        *ind = buffer_len;
      if (!SQL_SUCCEEDED (SQLBindParameter (stmt, i + 1, SQL_PARAM_INPUT, c_type, sql_type, size, digits,
                                            buffer, buffer_len, ind)))
        {
          set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, _("Cannot bind a query parameter"));
          return FALSE;
        }
    }
  return TRUE;
}

static OrrCursor *execute_internal (OrrConnection *self, const char *sql, GPtrArray *params,
                                    gboolean allow_native, GCancellable *cancellable, GError **error);

/* Queries without parameters (the engine's input query, the console's) may
 * take the native path; parameterised ones (the catalog's) stay on ODBC. */
OrrCursor *
orr_connection_execute (OrrConnection  *self,
                        const char     *sql,
                        GCancellable   *cancellable,
                        GError        **error)
{
  return execute_internal (self, sql, NULL, TRUE, cancellable, error);
}

OrrCursor *
orr_connection_execute_params (OrrConnection  *self,
                               const char     *sql,
                               GPtrArray      *params,
                               GCancellable   *cancellable,
                               GError        **error)
{
  return execute_internal (self, sql, params, FALSE, cancellable, error);
}

static OrrCursor *
execute_internal (OrrConnection  *self,
                  const char     *sql,
                  GPtrArray      *params,
                  gboolean        allow_native,
                  GCancellable   *cancellable,
                  GError        **error)
{
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(OrrCursor) cursor = NULL;
  SQLSMALLINT n_columns = 0;
  SQLRETURN rc;
  gulong handler = 0;
  gboolean any_long = FALSE;
  gsize row_width = 0;

  g_return_val_if_fail (ORR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  if (self->dbc == SQL_NULL_HDBC)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION, _("The connection is not open"));
      return NULL;
    }

  cursor = g_object_new (ORR_TYPE_CURSOR, NULL);
  g_mutex_lock (&self->lock);
  cursor->connection = g_object_ref (self);

  /* The native path takes plain queries in autocommit; it declines (NULL,
   * no error) whatever it cannot return exactly as ODBC would. */
  if (self->native && allow_native && (params == NULL || params->len == 0) && !self->in_transaction)
    {
      GError *native_error = NULL;
      OrrNativeCursor *native = self->native->execute (self->native->priv, sql, self->batch_rows,
                                                       cancellable, &native_error);

      if (native)
        {
          g_debug ("query through %s: %s", self->native->kind, sql);
          cursor->native = native;
          cursor->schema = orr_schema_ref (native->schema);
          cursor->n_columns = orr_schema_get_n_fields (native->schema);
          return g_steal_pointer (&cursor);
        }
      if (native_error)
        {
          g_propagate_error (error, native_error);
          return NULL;
        }
    }

  if (!SQL_SUCCEEDED (SQLAllocHandle (SQL_HANDLE_STMT, self->dbc, &cursor->stmt)))
    {
      set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_DBC, self->dbc, _("Cannot create a statement"));
      return NULL;
    }

  if (!bind_values (self, cursor->stmt, params, keep, error))
    return NULL;

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), cursor, NULL);

  if (self->wide)
    {
      glong n_units = 0;
      g_autofree SQLWCHAR *wsql = utf8_to_sqlwchar (sql, -1, &n_units);

      if (wsql == NULL)
        {
          g_cancellable_disconnect (cancellable, handler);
          g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT, _("The query is not valid UTF-8"));
          return NULL;
        }
      rc = SQLExecDirectW (cursor->stmt, wsql, n_units);
    }
  else
    rc = SQLExecDirect (cursor->stmt, (SQLCHAR *) sql, SQL_NTS);

  g_cancellable_disconnect (cancellable, handler);

  if (!SQL_SUCCEEDED (rc) && rc != SQL_NO_DATA)
    {
      if (g_cancellable_is_cancelled (cancellable) || diag_has_state (SQL_HANDLE_STMT, cursor->stmt, "HY008"))
        g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The query was cancelled"));
      else
        set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, cursor->stmt, _("The query failed"));
      return NULL;
    }

  SQLNumResultCols (cursor->stmt, &n_columns);
  cursor->schema = orr_schema_new ();
  cursor->n_columns = n_columns;
  cursor->plans = g_new0 (ColumnPlan, MAX (n_columns, 1));
  if (n_columns == 0)
    cursor->done = TRUE;

  for (SQLUSMALLINT i = 0; i < n_columns; i++)
    {
      g_autofree char *name = NULL;

      if (!plan_column (self, cursor->stmt, i + 1, &cursor->plans[i], &name, &any_long))
        {
          set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, cursor->stmt, _("Cannot describe the result"));
          return NULL;
        }
      orr_schema_add_field (cursor->schema, name, cursor->plans[i].type,
                            cursor->plans[i].precision, cursor->plans[i].scale);
      row_width += cursor->plans[i].width + sizeof (SQLLEN) + orr_data_type_get_width (cursor->plans[i].type);
    }

  cursor->row_mode = any_long;
  if (cursor->row_mode)
    cursor->batch_rows = MIN (self->batch_rows, 4096);
  else
    cursor->batch_rows = CLAMP (STAGING_BUDGET / MAX (row_width, 1), 1, self->batch_rows);

  if (!cursor->row_mode && n_columns > 0)
    {
      SQLSetStmtAttr (cursor->stmt, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER) SQL_BIND_BY_COLUMN, 0);
      if (!SQL_SUCCEEDED (SQLSetStmtAttr (cursor->stmt, SQL_ATTR_ROW_ARRAY_SIZE,
                                          (SQLPOINTER) (SQLULEN) cursor->batch_rows, 0)))
        {
          /* A driver without array fetch still works, one row at a time. */
          cursor->row_mode = TRUE;
          cursor->batch_rows = MIN (self->batch_rows, 4096);
        }
      else
        SQLSetStmtAttr (cursor->stmt, SQL_ATTR_ROWS_FETCHED_PTR, &cursor->fetched, 0);
    }
  if (!cursor->row_mode)
    for (guint i = 0; i < cursor->n_columns; i++)
      {
        ColumnPlan *plan = &cursor->plans[i];

        plan->indicators = g_new (SQLLEN, cursor->batch_rows);
        if (!plan->direct)
          plan->staging = g_malloc ((gsize) plan->width * cursor->batch_rows);
      }

  return g_steal_pointer (&cursor);
}

/* Stores one fetched value (at @src, @len bytes per the indicator) in the batch. */
static gboolean
store_value (OrrCursor   *self,
             OrrBatch    *batch,
             guint        col,
             guint        row,
             const guint8 *src,
             SQLLEN       len,
             GError     **error)
{
  ColumnPlan *plan = &self->plans[col];
  guint8 *values = orr_batch_get_values_mut (batch, col);

  if (len == SQL_NULL_DATA)
    {
      orr_batch_set_null (batch, col, row, TRUE);
      if (orr_data_type_is_variable (plan->type))
        ((gint32 *) values)[row + 1] = orr_batch_get_data_len (batch, col);
      else
        memset (values + row * orr_data_type_get_width (plan->type), 0, orr_data_type_get_width (plan->type));
      return TRUE;
    }

  switch (plan->type)
    {
    case ORR_DATA_TYPE_BOOL:
      if (plan->text_bool)
        {
          if (!parse_bool_text ((const char *) src, len, values + row))
            goto bad_value;
        }
      else
        values[row] = src[0] != 0;
      break;
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
      {
        gsize w = orr_data_type_get_width (plan->type);
        if (src != values + row * w)
          memcpy (values + row * w, src, w);
      }
      break;
    case ORR_DATA_TYPE_DECIMAL:
      if (!parse_decimal ((const char *) src, len, plan->scale, &((gint64 *) values)[row]))
        goto bad_value;
      break;
    case ORR_DATA_TYPE_DATE:
      {
        const SQL_DATE_STRUCT *d = (const SQL_DATE_STRUCT *) src;
        ((gint32 *) values)[row] = days_from_civil (d->year, d->month, d->day);
      }
      break;
    case ORR_DATA_TYPE_TIME:
      if (!parse_time ((const char *) src, len, &((gint64 *) values)[row]))
        goto bad_value;
      break;
    case ORR_DATA_TYPE_TIMESTAMP:
      {
        const SQL_TIMESTAMP_STRUCT *t = (const SQL_TIMESTAMP_STRUCT *) src;
        gint64 days = days_from_civil (t->year, t->month, t->day);
        ((gint64 *) values)[row] = ((days * 24 + t->hour) * 60 + t->minute) * (gint64) 60 * G_USEC_PER_SEC +
                                   (gint64) t->second * G_USEC_PER_SEC + t->fraction / 1000;
      }
      break;
    case ORR_DATA_TYPE_TEXT:
      if (plan->c_type == SQL_C_WCHAR)
        {
          gsize units = len / sizeof (SQLWCHAR);
          guint8 *dest = orr_batch_reserve_data (batch, col, units * 3, error);
          if (dest == NULL)
            return FALSE;
          orr_batch_commit_data (batch, col, utf16_to_utf8 ((const SQLWCHAR *) src, units, dest));
        }
      else
        {
          const char *end = NULL;

          if (!g_utf8_validate_len ((const char *) src, len, &end))
            {
              g_autofree char *fixed = g_utf8_make_valid ((const char *) src, len);
              if (!orr_batch_append_data (batch, col, fixed, strlen (fixed), error))
                return FALSE;
            }
          else if (!orr_batch_append_data (batch, col, src, len, error))
            return FALSE;
        }
      ((gint32 *) orr_batch_get_values_mut (batch, col))[row + 1] = orr_batch_get_data_len (batch, col);
      break;
    case ORR_DATA_TYPE_BINARY:
      if (!orr_batch_append_data (batch, col, src, len, error))
        return FALSE;
      ((gint32 *) orr_batch_get_values_mut (batch, col))[row + 1] = orr_batch_get_data_len (batch, col);
      break;
    case ORR_DATA_TYPE_INVALID:
    default:
      g_assert_not_reached ();
    }
  return TRUE;

bad_value:
  {
    g_autofree char *text = g_strndup ((const char *) src, MIN (len, 64));
    g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC,
                 _("Column “%s”, row %llu: cannot read “%s” as %s"),
                 orr_schema_get_field (self->schema, col)->name, (unsigned long long) (self->rows_seen + row + 1),
                 text, orr_data_type_to_string (plan->type));
    return FALSE;
  }
}

/* A bound character or binary value must fit its buffer: a longer one
 * (the driver's declared size was wrong) is an error, never a cut value. */
static gboolean
value_fits (OrrCursor  *self,
            guint       col,
            guint       row,
            SQLLEN      len,
            GError    **error)
{
  ColumnPlan *plan = &self->plans[col];
  SQLLEN room;

  if (len == SQL_NULL_DATA ||
      (plan->c_type != SQL_C_CHAR && plan->c_type != SQL_C_WCHAR && plan->c_type != SQL_C_BINARY))
    return TRUE;
  room = plan->width - (plan->c_type == SQL_C_BINARY ? 0 :
                        plan->c_type == SQL_C_WCHAR ? (SQLLEN) sizeof (SQLWCHAR) : 1);
  if (len != SQL_NO_TOTAL && len <= room)
    return TRUE;
  g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC,
               _("Column “%s”, row %llu: the value is longer than the %ld bytes the driver declared for the column"),
               orr_schema_get_field (self->schema, col)->name, (unsigned long long) (self->rows_seen + row + 1), (long) room);
  return FALSE;
}

static gboolean
fetch_failed (OrrCursor     *self,
              GCancellable  *cancellable,
              GError       **error)
{
  if (g_cancellable_is_cancelled (cancellable) || diag_has_state (SQL_HANDLE_STMT, self->stmt, "HY008"))
    g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The query was cancelled"));
  else
    set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, self->stmt, _("Fetching the result failed"));
  return FALSE;
}

static gboolean
fetch_array (OrrCursor     *self,
             OrrBatch      *batch,
             GCancellable  *cancellable,
             GError       **error)
{
  SQLRETURN rc;

  for (guint i = 0; i < self->n_columns; i++)
    {
      ColumnPlan *plan = &self->plans[i];
      void *target = plan->direct ? (void *) orr_batch_get_values_mut (batch, i) : plan->staging;

      if (!SQL_SUCCEEDED (SQLBindCol (self->stmt, i + 1, plan->c_type, target, plan->width, plan->indicators)))
        {
          set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, self->stmt, _("Cannot bind a result column"));
          return FALSE;
        }
    }

  self->fetched = 0;
  rc = SQLFetch (self->stmt);
  if (rc == SQL_NO_DATA)
    {
      self->done = TRUE;
      return TRUE;
    }
  if (!SQL_SUCCEEDED (rc))
    return fetch_failed (self, cancellable, error);

  for (guint i = 0; i < self->n_columns; i++)
    {
      ColumnPlan *plan = &self->plans[i];

      for (SQLULEN row = 0; row < self->fetched; row++)
        {
          SQLLEN len = plan->indicators[row];
          const guint8 *src;

          if (plan->direct)
            src = orr_batch_get_values_mut (batch, i) + row * plan->width;
          else
            src = plan->staging + row * plan->width;

          if (!value_fits (self, i, row, len, error) ||
              !store_value (self, batch, i, row, src, len, error))
            return FALSE;
        }
    }
  orr_batch_set_n_rows (batch, self->fetched);
  self->rows_seen += self->fetched;
  return TRUE;
}

/* Reads one long value with repeated SQLGetData calls. */
static gboolean
get_long_value (OrrCursor   *self,
                guint        col,
                GByteArray  *buf,
                SQLLEN      *len_out,
                GError     **error)
{
  ColumnPlan *plan = &self->plans[col];
  gsize terminator = plan->c_type == SQL_C_BINARY ? 0 : plan->c_type == SQL_C_WCHAR ? sizeof (SQLWCHAR) : 1;
  guint8 chunk[16384];

  g_byte_array_set_size (buf, 0);
  for (;;)
    {
      SQLLEN ind = 0;
      SQLRETURN rc = SQLGetData (self->stmt, col + 1, plan->c_type, chunk, sizeof chunk, &ind);

      if (rc == SQL_NO_DATA)
        break;
      if (!SQL_SUCCEEDED (rc))
        {
          set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, self->stmt, _("Reading a long value failed"));
          return FALSE;
        }
      if (ind == SQL_NULL_DATA)
        {
          *len_out = SQL_NULL_DATA;
          return TRUE;
        }
      if (rc == SQL_SUCCESS_WITH_INFO && (ind == SQL_NO_TOTAL || (gsize) ind >= sizeof chunk - terminator))
        {
          gsize piece = sizeof chunk - terminator;
          /* A UTF-16 chunk ends on a whole unit. */
          piece -= piece % (terminator ? terminator : 1);
          g_byte_array_append (buf, chunk, piece);
          continue;
        }
      g_byte_array_append (buf, chunk, ind);
      break;
    }
  *len_out = buf->len;
  return TRUE;
}

static gsize
align8 (gsize n)
{
  return (n + 7) & ~(gsize) 7;
}

/* Binds every column of known width row-wise into a staging area of
 * batch_rows rows; FALSE when the driver will not (then every column is
 * read with SQLGetData). */
static gboolean
setup_row_binding (OrrCursor *self)
{
  gsize size = 0;
  guint n_bound = 0;

  self->value_offsets = g_new (gssize, MAX (self->n_columns, 1));
  for (guint i = 0; i < self->n_columns; i++)
    {
      ColumnPlan *plan = &self->plans[i];

      if (plan->width <= 0)
        {
          self->value_offsets[i] = -1;
          continue;
        }
      self->value_offsets[i] = size;
      /* The value, then its indicator. */
      size = align8 (align8 (size + plan->width) + sizeof (SQLLEN));
      n_bound++;
    }
  if (n_bound == 0)
    return FALSE;
  self->row_size = size;
  self->row_staging = g_malloc0 (size * self->batch_rows);
  if (!SQL_SUCCEEDED (SQLSetStmtAttr (self->stmt, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER) (SQLULEN) size, 0)) ||
      !SQL_SUCCEEDED (SQLSetStmtAttr (self->stmt, SQL_ATTR_ROW_BIND_OFFSET_PTR, &self->bind_offset, 0)))
    return FALSE;
  for (guint i = 0; i < self->n_columns; i++)
    {
      ColumnPlan *plan = &self->plans[i];
      guint8 *value;

      if (self->value_offsets[i] < 0)
        continue;
      value = self->row_staging + self->value_offsets[i];
      if (!SQL_SUCCEEDED (SQLBindCol (self->stmt, i + 1, plan->c_type, value, plan->width,
                                      (SQLLEN *) (value + align8 (plan->width)))))
        {
          SQLFreeStmt (self->stmt, SQL_UNBIND);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
store_staged_column (OrrCursor  *self,
                     OrrBatch   *batch,
                     guint       col,
                     guint       n_rows,
                     GError    **error)
{
  ColumnPlan *plan = &self->plans[col];

  for (guint r = 0; r < n_rows; r++)
    {
      const guint8 *src = self->row_staging + r * self->row_size + self->value_offsets[col];
      SQLLEN len = *(const SQLLEN *) (src + align8 (plan->width));

      if (!value_fits (self, col, r, len, error) ||
          !store_value (self, batch, col, r, src, len, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
fetch_rows (OrrCursor     *self,
            OrrBatch      *batch,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint row = 0;
  /* Variable-length data is appended column after column, so stage it per
   * column and copy it into the batch at the end. */
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GPtrArray) lens = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  if (self->row_bound < 0)
    self->row_bound = setup_row_binding (self) ? 1 : 0;

  for (guint i = 0; i < self->n_columns; i++)
    {
      g_ptr_array_add (texts, g_byte_array_new ());
      g_ptr_array_add (lens, g_array_new (FALSE, FALSE, sizeof (SQLLEN)));
    }

  while (row < self->batch_rows)
    {
      SQLRETURN rc;

      self->bind_offset = self->row_bound ? row * self->row_size : 0;
      rc = SQLFetch (self->stmt);

      if (rc == SQL_NO_DATA)
        {
          self->done = TRUE;
          break;
        }
      if (!SQL_SUCCEEDED (rc))
        return fetch_failed (self, cancellable, error);

      for (guint i = 0; i < self->n_columns; i++)
        {
          ColumnPlan *plan = &self->plans[i];
          SQLLEN len = 0;

          if (self->row_bound && self->value_offsets[i] >= 0)
            continue;   /* bound: stored from the staging rows below */
          if (orr_data_type_is_variable (plan->type))
            {
              if (!get_long_value (self, i, buf, &len, error))
                return FALSE;
              if (len != SQL_NULL_DATA)
                g_byte_array_append (g_ptr_array_index (texts, i), buf->data, buf->len);
              g_array_append_val ((GArray *) g_ptr_array_index (lens, i), len);
            }
          else
            {
              guint8 value[64];
              SQLRETURN grc = SQLGetData (self->stmt, i + 1, plan->c_type, value, sizeof value, &len);

              if (!SQL_SUCCEEDED (grc))
                {
                  set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, self->stmt, _("Reading a value failed"));
                  return FALSE;
                }
              if (len != SQL_NULL_DATA && plan->c_type == SQL_C_CHAR)
                len = MIN (len, (SQLLEN) sizeof value - 1);
              if (!store_value (self, batch, i, row, value, len, error))
                return FALSE;
            }
        }
      row++;
    }

  for (guint i = 0; i < self->n_columns; i++)
    {
      GByteArray *data = g_ptr_array_index (texts, i);
      GArray *col_lens = g_ptr_array_index (lens, i);
      gsize pos = 0;

      if (self->row_bound && self->value_offsets[i] >= 0)
        {
          if (!store_staged_column (self, batch, i, row, error))
            return FALSE;
          continue;
        }
      if (!orr_data_type_is_variable (self->plans[i].type))
        continue;
      for (guint r = 0; r < row; r++)
        {
          SQLLEN len = g_array_index (col_lens, SQLLEN, r);

          if (!store_value (self, batch, i, r, data->data + pos, len, error))
            return FALSE;
          if (len != SQL_NULL_DATA)
            pos += len;
        }
    }
  orr_batch_set_n_rows (batch, row);
  self->rows_seen += row;
  return TRUE;
}

OrrBatch *
orr_cursor_fetch (OrrCursor     *self,
                  gboolean       shared,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(OrrBatch) batch = NULL;
  gulong handler = 0;
  gboolean ok;

  g_return_val_if_fail (ORR_IS_CURSOR (self), NULL);

  if (self->native && !self->done)
    {
      OrrBatch *native_batch = self->native->fetch (self->native, shared, cancellable, error);

      if (native_batch == NULL)
        self->done = TRUE;
      return native_batch;
    }
  if (self->done || self->stmt == SQL_NULL_HSTMT)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  batch = orr_batch_new (self->schema, self->batch_rows, shared, error);
  if (batch == NULL)
    return NULL;

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);
  if (self->row_mode)
    ok = fetch_rows (self, batch, cancellable, error);
  else
    ok = fetch_array (self, batch, cancellable, error);
  g_cancellable_disconnect (cancellable, handler);

  if (!ok)
    return NULL;
  if (orr_batch_get_n_rows (batch) == 0)
    {
      self->done = TRUE;
      return NULL;
    }
  return g_steal_pointer (&batch);
}

gboolean
orr_connection_execute_update (OrrConnection  *self,
                               const char     *sql,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autoptr(OrrCursor) cursor = orr_connection_execute (self, sql, cancellable, error);

  return cursor != NULL;
}

gboolean
orr_connection_begin (OrrConnection  *self,
                      GError        **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = SQL_SUCCEEDED (SQLSetConnectAttr (self->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER) SQL_AUTOCOMMIT_OFF, 0));
  self->in_transaction = ok;
  if (!ok)
    set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_DBC, self->dbc, _("Cannot start a transaction"));
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
orr_connection_end (OrrConnection  *self,
                    gboolean        commit,
                    GError        **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = SQL_SUCCEEDED (SQLEndTran (SQL_HANDLE_DBC, self->dbc, commit ? SQL_COMMIT : SQL_ROLLBACK));
  if (!ok)
    set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_DBC, self->dbc,
                    commit ? _("Committing the transaction failed") : _("Rolling back the transaction failed"));
  SQLSetConnectAttr (self->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER) SQL_AUTOCOMMIT_ON, 0);
  self->in_transaction = FALSE;
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
orr_connection_execute_update_params (OrrConnection  *self,
                                      const char     *sql,
                                      GPtrArray      *params,
                                      GCancellable   *cancellable,
                                      GError        **error)
{
  g_autoptr(OrrCursor) cursor = orr_connection_execute_params (self, sql, params, cancellable, error);

  return cursor != NULL;
}

/* ---------------------------------------------------------- query_async */

typedef struct {
  char *sql;
  OrrSchema *schema;
} QueryData;

static void
query_data_free (QueryData *data)
{
  g_free (data->sql);
  g_clear_pointer (&data->schema, orr_schema_unref);
  g_free (data);
}

static void
query_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  QueryData *data = task_data;
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  GError *error = NULL;
  OrrBatch *batch;

  cursor = orr_connection_execute (source_object, data->sql, cancellable, &error);
  if (cursor == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  data->schema = orr_schema_ref (orr_cursor_get_schema (cursor));
  while ((batch = orr_cursor_fetch (cursor, FALSE, cancellable, &error)) != NULL)
    g_ptr_array_add (batches, batch);
  if (error)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&batches), (GDestroyNotify) g_ptr_array_unref);
}

void
orr_connection_query_async (OrrConnection       *self,
                            const char          *sql,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  QueryData *data;

  g_return_if_fail (ORR_IS_CONNECTION (self));
  g_return_if_fail (sql != NULL);

  data = g_new0 (QueryData, 1);
  data->sql = g_strdup (sql);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, orr_connection_query_async);
  g_task_set_task_data (task, data, (GDestroyNotify) query_data_free);
  g_task_run_in_thread (task, query_worker);
}

GPtrArray *
orr_connection_query_finish (OrrConnection  *self,
                             GAsyncResult   *result,
                             OrrSchema     **schema,
                             GError        **error)
{
  GPtrArray *batches;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  batches = g_task_propagate_pointer (G_TASK (result), error);
  if (batches && schema)
    {
      QueryData *data = g_task_get_task_data (G_TASK (result));
      *schema = orr_schema_ref (data->schema);
    }
  return batches;
}

/* ---------------------------------------------------------- write_table */

typedef enum {
  DIALECT_GENERIC,
  DIALECT_POSTGRESQL,
  DIALECT_SQLITE,
  DIALECT_MYSQL,
  DIALECT_SQLSERVER,
} Dialect;

static Dialect
get_dialect (OrrConnection *self)
{
  const char *name = self->dbms_name ? self->dbms_name : "";

  if (strstr (name, "PostgreSQL"))
    return DIALECT_POSTGRESQL;
  if (strstr (name, "SQLite"))
    return DIALECT_SQLITE;
  if (strstr (name, "MySQL") || strstr (name, "MariaDB"))
    return DIALECT_MYSQL;
  if (strstr (name, "SQL Server"))
    return DIALECT_SQLSERVER;
  return DIALECT_GENERIC;
}

static gboolean
is_plain_identifier (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static void
append_identifier (OrrConnection *self,
                   GString       *out,
                   const char    *name)
{
  char q = self->quote[0];

  if (is_plain_identifier (name))
    {
      g_string_append (out, name);
      return;
    }
  g_string_append_c (out, q == '[' ? '[' : q);
  for (const char *p = name; *p; p++)
    {
      g_string_append_c (out, *p);
      if (*p == q || (q == '[' && *p == ']'))
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, q == '[' ? ']' : q);
}

/* "schema.table" or "table"; each part plain or quoted as needed. */
static gboolean
append_table_name (OrrConnection  *self,
                   GString        *out,
                   const char     *table,
                   GError        **error)
{
  g_auto(GStrv) parts = g_strsplit (table, ".", -1);
  guint n = g_strv_length (parts);

  if (n == 0 || n > 3)
    goto bad;
  for (guint i = 0; i < n; i++)
    {
      if (parts[i][0] == '\0')
        goto bad;
      if (i)
        g_string_append_c (out, '.');
      append_identifier (self, out, parts[i]);
    }
  return TRUE;

bad:
  g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a valid table name (expected TABLE or SCHEMA.TABLE)"), table);
  return FALSE;
}

static char *
sql_type_for (Dialect dialect, const OrrField *field)
{
  static const char *names[][ORR_DATA_TYPE_LAST + 1] = {
    [DIALECT_GENERIC] = { NULL, "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION",
                          "NUMERIC", "VARCHAR(4000)", "VARBINARY(8000)", "DATE", "TIME", "TIMESTAMP" },
    [DIALECT_POSTGRESQL] = { NULL, "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION",
                             "NUMERIC", "TEXT", "BYTEA", "DATE", "TIME", "TIMESTAMP" },
    [DIALECT_SQLITE] = { NULL, "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE",
                         "NUMERIC", "TEXT", "BLOB", "DATE", "TIME", "TIMESTAMP" },
    [DIALECT_MYSQL] = { NULL, "BOOLEAN", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE",
                        "DECIMAL", "LONGTEXT", "LONGBLOB", "DATE", "TIME(6)", "DATETIME(6)" },
    [DIALECT_SQLSERVER] = { NULL, "BIT", "SMALLINT", "INT", "BIGINT", "REAL", "FLOAT",
                            "DECIMAL", "NVARCHAR(MAX)", "VARBINARY(MAX)", "DATE", "TIME(6)", "DATETIME2(6)" },
  };

  if (field->type == ORR_DATA_TYPE_DECIMAL)
    return g_strdup_printf ("%s(%d,%d)", names[dialect][field->type], MAX (field->precision, 1), field->scale);
  return g_strdup (names[dialect][field->type]);
}

typedef struct {
  SQLSMALLINT c_type;
  SQLSMALLINT sql_type;
  SQLULEN column_size;
  SQLSMALLINT digits;
  SQLLEN width;
  guint8 *staging;
  SQLLEN *indicators;
} ParamPlan;

static gboolean
bind_chunk (OrrConnection *self,
            SQLHSTMT       stmt,
            OrrBatch      *batch,
            guint          start,
            guint          count,
            ParamPlan     *plans,
            GError       **error)
{
  guint n_columns = orr_batch_get_n_columns (batch);

  for (guint c = 0; c < n_columns; c++)
    {
      ParamPlan *p = &plans[c];
      OrrColumn col;
      const OrrField *field = orr_schema_get_field (orr_batch_get_schema (batch), c);
      void *buffer;

      orr_batch_get_column (batch, c, &col);
      g_free (p->indicators);
      g_free (p->staging);
      p->staging = NULL;
      p->indicators = g_new (SQLLEN, MAX (count, 1));
      p->width = orr_data_type_get_width (col.type);
      p->digits = 0;
      p->column_size = 0;

      switch (col.type)
        {
        case ORR_DATA_TYPE_BOOL:
          p->c_type = SQL_C_BIT; p->sql_type = SQL_BIT; p->column_size = 1;
          break;
        case ORR_DATA_TYPE_INT16:
          p->c_type = SQL_C_SSHORT; p->sql_type = SQL_SMALLINT; p->column_size = 5;
          break;
        case ORR_DATA_TYPE_INT32:
          p->c_type = SQL_C_SLONG; p->sql_type = SQL_INTEGER; p->column_size = 10;
          break;
        case ORR_DATA_TYPE_INT64:
          p->c_type = SQL_C_SBIGINT; p->sql_type = SQL_BIGINT; p->column_size = 19;
          break;
        case ORR_DATA_TYPE_FLOAT32:
          p->c_type = SQL_C_FLOAT; p->sql_type = SQL_REAL; p->column_size = 7;
          break;
        case ORR_DATA_TYPE_FLOAT64:
          p->c_type = SQL_C_DOUBLE; p->sql_type = SQL_DOUBLE; p->column_size = 15;
          break;
        case ORR_DATA_TYPE_DATE:
          p->c_type = SQL_C_TYPE_DATE; p->sql_type = SQL_TYPE_DATE; p->column_size = 10;
          p->width = sizeof (SQL_DATE_STRUCT);
          break;
        case ORR_DATA_TYPE_TIMESTAMP:
          p->c_type = SQL_C_TYPE_TIMESTAMP; p->sql_type = SQL_TYPE_TIMESTAMP; p->column_size = 26;
          p->digits = 6; p->width = sizeof (SQL_TIMESTAMP_STRUCT);
          break;
        case ORR_DATA_TYPE_TIME:
          p->c_type = SQL_C_CHAR; p->sql_type = SQL_TYPE_TIME; p->column_size = 15; p->digits = 6;
          p->width = 32;
          break;
        case ORR_DATA_TYPE_DECIMAL:
          p->c_type = SQL_C_CHAR; p->sql_type = SQL_DECIMAL;
          p->column_size = MAX (field->precision, 1); p->digits = field->scale;
          p->width = 48;
          break;
        case ORR_DATA_TYPE_TEXT:
        case ORR_DATA_TYPE_BINARY:
          {
            const gint32 *off = (const gint32 *) col.values;
            gsize longest = 0;

            for (guint r = start; r < start + count; r++)
              longest = MAX (longest, (gsize) (off[r + 1] - off[r]));
            if (col.type == ORR_DATA_TYPE_BINARY)
              {
                p->c_type = SQL_C_BINARY;
                p->width = MAX (longest, 1);
                p->sql_type = longest > 8000 ? SQL_LONGVARBINARY : SQL_VARBINARY;
                p->column_size = MAX (longest, 1);
              }
            else if (self->wide)
              {
                p->c_type = SQL_C_WCHAR;
                p->width = (longest + 1) * sizeof (SQLWCHAR);
                p->sql_type = longest > 4000 ? SQL_WLONGVARCHAR : SQL_WVARCHAR;
                p->column_size = MAX (longest, 1);
              }
            else
              {
                p->c_type = SQL_C_CHAR;
                p->width = longest + 1;
                p->sql_type = longest > 8000 ? SQL_LONGVARCHAR : SQL_VARCHAR;
                p->column_size = MAX (longest, 1);
              }
          }
          break;
        case ORR_DATA_TYPE_INVALID:
        default:
          g_assert_not_reached ();
        }

      /* Native layouts bind the batch's own values; the rest are staged. */
      if (col.type <= ORR_DATA_TYPE_FLOAT64)
        buffer = (guint8 *) col.values + (gsize) start * p->width;
      else
        {
          p->staging = g_malloc0 ((gsize) p->width * MAX (count, 1));
          buffer = p->staging;
        }

      for (guint i = 0; i < count; i++)
        {
          guint r = start + i;
          guint8 *slot = p->staging ? p->staging + (gsize) i * p->width : NULL;

          if (orr_column_is_null (&col, r))
            {
              p->indicators[i] = SQL_NULL_DATA;
              continue;
            }
          switch (col.type)
            {
            case ORR_DATA_TYPE_DATE:
            case ORR_DATA_TYPE_TIME:
            case ORR_DATA_TYPE_TIMESTAMP:
            case ORR_DATA_TYPE_DECIMAL:
              {
                g_autofree char *text = orr_batch_format_value (batch, c, r);

                if (col.type == ORR_DATA_TYPE_DATE)
                  {
                    SQL_DATE_STRUCT *d = (SQL_DATE_STRUCT *) slot;
                    int y = 0, m = 0, dd = 0;
                    sscanf (text, "%d-%d-%d", &y, &m, &dd);
                    d->year = y; d->month = m; d->day = dd;
                    p->indicators[i] = sizeof *d;
                  }
                else if (col.type == ORR_DATA_TYPE_TIMESTAMP)
                  {
                    SQL_TIMESTAMP_STRUCT *t = (SQL_TIMESTAMP_STRUCT *) slot;
                    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, us = 0;
                    sscanf (text, "%d-%d-%d %d:%d:%d.%d", &y, &mo, &d, &h, &mi, &s, &us);
                    t->year = y; t->month = mo; t->day = d;
                    t->hour = h; t->minute = mi; t->second = s;
                    t->fraction = (SQLUINTEGER) us * 1000;
                    p->indicators[i] = sizeof *t;
                  }
                else
                  {
                    g_strlcpy ((char *) slot, text, p->width);
                    p->indicators[i] = SQL_NTS;
                  }
              }
              break;
            case ORR_DATA_TYPE_TEXT:
            case ORR_DATA_TYPE_BINARY:
              {
                const gint32 *off = (const gint32 *) col.values;
                const guint8 *src = col.data + off[r];
                gsize len = off[r + 1] - off[r];

                if (p->c_type == SQL_C_WCHAR)
                  {
                    glong units = 0;
                    g_autofree SQLWCHAR *w = utf8_to_sqlwchar ((const char *) src, len, &units);

                    if (w == NULL)
                      units = 0;
                    memcpy (slot, w, units * sizeof (SQLWCHAR));
                    ((SQLWCHAR *) slot)[units] = 0;
                    p->indicators[i] = units * sizeof (SQLWCHAR);
                  }
                else
                  {
                    memcpy (slot, src, len);
                    if (p->c_type == SQL_C_CHAR)
                      slot[len] = '\0';
                    p->indicators[i] = len;
                  }
              }
              break;
            default:
              p->indicators[i] = p->width;
              break;
            }
        }

      if (!SQL_SUCCEEDED (SQLBindParameter (stmt, c + 1, SQL_PARAM_INPUT, p->c_type, p->sql_type,
                                            p->column_size, p->digits, buffer, p->width, p->indicators)))
        {
          set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, _("Cannot bind an output column"));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
insert_batches (OrrConnection  *self,
                SQLHSTMT        stmt,
                const char     *insert_sql,
                OrrSchema      *schema,
                GPtrArray      *batches,
                GCancellable   *cancellable,
                GError        **error)
{
  guint n_columns = orr_schema_get_n_fields (schema);
  g_autofree ParamPlan *plans = g_new0 (ParamPlan, MAX (n_columns, 1));
  gboolean ok = TRUE;
  SQLULEN processed = 0;

  if (!SQL_SUCCEEDED (SQLPrepare (stmt, (SQLCHAR *) insert_sql, SQL_NTS)))
    {
      set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, _("Cannot prepare the insert"));
      return FALSE;
    }
  SQLSetStmtAttr (stmt, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER) SQL_PARAM_BIND_BY_COLUMN, 0);
  SQLSetStmtAttr (stmt, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0);

  for (guint b = 0; ok && b < (batches ? batches->len : 0); b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);
      guint n_rows = orr_batch_get_n_rows (batch);
      guint chunk = 4096;

      for (guint start = 0; ok && start < n_rows; start += chunk)
        {
          guint count = MIN (chunk, n_rows - start);
          SQLRETURN rc;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              ok = FALSE;
              break;
            }
          SQLFreeStmt (stmt, SQL_RESET_PARAMS);
          if (!SQL_SUCCEEDED (SQLSetStmtAttr (stmt, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER) (SQLULEN) count, 0)))
            {
              set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, _("The driver refuses parameter arrays"));
              ok = FALSE;
              break;
            }
          if (!bind_chunk (self, stmt, batch, start, count, plans, error))
            {
              ok = FALSE;
              break;
            }
          rc = SQLExecute (stmt);
          if (!SQL_SUCCEEDED (rc) && rc != SQL_NO_DATA)
            {
              set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, _("Inserting the result failed"));
              ok = FALSE;
            }
          SQLFreeStmt (stmt, SQL_CLOSE);
        }
    }

  for (guint c = 0; c < n_columns; c++)
    {
      g_free (plans[c].staging);
      g_free (plans[c].indicators);
    }
  return ok;
}

gboolean
orr_connection_write_table (OrrConnection  *self,
                            const char     *table,
                            OrrSchema      *schema,
                            GPtrArray      *batches,
                            GCancellable   *cancellable,
                            GError        **error)
{
  g_autoptr(GString) name = g_string_new (NULL);
  g_autoptr(GString) probe = NULL;
  g_autoptr(GString) create = NULL;
  g_autoptr(GString) insert = NULL;
  Dialect dialect;
  guint n_columns;
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  gboolean exists, ok;

  g_return_val_if_fail (ORR_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (table != NULL, FALSE);

  if (self->dbc == SQL_NULL_HDBC)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION, _("The connection is not open"));
      return FALSE;
    }
  n_columns = orr_schema_get_n_fields (schema);
  if (n_columns == 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_OUTPUT,
                   _("The result has no columns to write into table “%s”"), table);
      return FALSE;
    }
  if (!append_table_name (self, name, table, error))
    return FALSE;
  dialect = get_dialect (self);

  g_mutex_lock (&self->lock);
  SQLAllocHandle (SQL_HANDLE_STMT, self->dbc, &stmt);

  /* Probe before the transaction: a failed statement would abort it on PostgreSQL. */
  probe = g_string_new ("SELECT * FROM ");
  g_string_append_printf (probe, "%s WHERE 1=0", name->str);
  exists = SQL_SUCCEEDED (SQLExecDirect (stmt, (SQLCHAR *) probe->str, SQL_NTS));
  SQLFreeStmt (stmt, SQL_CLOSE);

  create = g_string_new (NULL);
  g_string_append_printf (create, "CREATE TABLE %s (", name->str);
  insert = g_string_new (NULL);
  g_string_append_printf (insert, "INSERT INTO %s (", name->str);
  for (guint i = 0; i < n_columns; i++)
    {
      const OrrField *field = orr_schema_get_field (schema, i);
      g_autofree char *type = sql_type_for (dialect, field);
      g_autofree char *col_name = field->name[0] ? g_strdup (field->name) : g_strdup_printf ("column%u", i + 1);

      if (i)
        {
          g_string_append (create, ", ");
          g_string_append (insert, ", ");
        }
      append_identifier (self, create, col_name);
      g_string_append_printf (create, " %s", type);
      append_identifier (self, insert, col_name);
    }
  g_string_append (create, ")");
  g_string_append (insert, ") VALUES (");
  for (guint i = 0; i < n_columns; i++)
    g_string_append (insert, i ? ", ?" : "?");
  g_string_append (insert, ")");

  /* PostgreSQL: COPY FROM STDIN in one transaction with the creation, when
   * the table's columns take the binary values as they are. */
  if (self->native && dialect == DIALECT_POSTGRESQL && !self->in_transaction)
    {
      g_autoptr(GString) columns = g_string_new (NULL);
      gboolean handled = FALSE;
      GError *native_error = NULL;

      for (guint i = 0; i < n_columns; i++)
        {
          const OrrField *field = orr_schema_get_field (schema, i);
          g_autofree char *col_name = field->name[0] ? g_strdup (field->name) : g_strdup_printf ("column%u", i + 1);

          if (i)
            g_string_append (columns, ", ");
          append_identifier (self, columns, col_name);
        }
      ok = orr_native_pg_write_table (self->native, table, name->str, create->str, columns->str,
                                      schema, batches, cancellable, &handled, &native_error);
      if (handled)
        {
          if (native_error)
            g_propagate_error (error, native_error);
          g_debug ("table %s written through %s", table, self->native->kind);
          SQLFreeHandle (SQL_HANDLE_STMT, stmt);
          g_mutex_unlock (&self->lock);
          return ok;
        }
      if (native_error)
        {
          g_debug ("table %s: native write unavailable: %s", table, native_error->message);
          g_clear_error (&native_error);
        }
    }

  SQLSetConnectAttr (self->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER) SQL_AUTOCOMMIT_OFF, 0);
  ok = TRUE;
  if (!exists && !SQL_SUCCEEDED (SQLExecDirect (stmt, (SQLCHAR *) create->str, SQL_NTS)))
    {
      g_autofree char *context = g_strdup_printf (_("Cannot create table “%s”"), table);
      set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_STMT, stmt, context);
      ok = FALSE;
    }
  SQLFreeStmt (stmt, SQL_CLOSE);
  if (ok)
    ok = insert_batches (self, stmt, insert->str, schema, batches, cancellable, error);

  if (ok && !SQL_SUCCEEDED (SQLEndTran (SQL_HANDLE_DBC, self->dbc, SQL_COMMIT)))
    {
      set_odbc_error (error, ORR_ERROR_ODBC, SQL_HANDLE_DBC, self->dbc, _("Committing the result failed"));
      ok = FALSE;
    }
  if (!ok)
    SQLEndTran (SQL_HANDLE_DBC, self->dbc, SQL_ROLLBACK);
  SQLSetConnectAttr (self->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER) SQL_AUTOCOMMIT_ON, 0);

  SQLFreeHandle (SQL_HANDLE_STMT, stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}
