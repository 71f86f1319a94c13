/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Native fast paths beside ODBC, private to OrrConnection.
 *
 * When an ODBC connection's driver is recognised (psqlODBC, the SQLite3 ODBC
 * driver), a query can run through the database's own client library instead:
 * libpq's binary COPY for PostgreSQL, the SQLite C API for SQLite. Either
 * produces the same OrrSchema and the same values as the ODBC path would, or
 * declines the query, and the ODBC path runs it as before. */

#include <gio/gio.h>

#include "orr-batch.h"

G_BEGIN_DECLS

typedef struct _OrrNativeSource OrrNativeSource;
typedef struct _OrrNativeCursor OrrNativeCursor;

/* Where the native path came from, per connection (shared by both kinds). */
struct _OrrNativeSource {
  const char *kind;   /* "libpq" or "sqlite" */
  gpointer    priv;
  void      (*free)    (gpointer priv);
  OrrNativeCursor *(*execute) (gpointer       priv,
                               const char    *sql,
                               guint          batch_rows,
                               GCancellable  *cancellable,
                               GError       **error);
};

struct _OrrNativeCursor {
  OrrSchema *schema;
  gpointer   priv;
  OrrBatch *(*fetch)  (OrrNativeCursor *self,
                       gboolean         shared,
                       GCancellable    *cancellable,
                       GError         **error);
  void      (*cancel) (OrrNativeCursor *self);   /* thread-safe */
  void      (*free)   (OrrNativeCursor *self);
};

/* Attributes of an ODBC connection string ("KEY=value;KEY={value};…"),
 * keys folded to lower case. */
GHashTable *orr_native_parse_conn_str (const char *conn_str);

/* A PostgreSQL source from psqlODBC's completed connection string, or NULL
 * (with @why set) when the connection's options change values in ways the
 * native path does not reproduce. */
OrrNativeSource *orr_native_pg_new      (const char  *completed,
                                         char       **why);
/* Writes @batches into @table with COPY FROM STDIN (FORMAT binary), in one
 * transaction with its creation. @create_sql creates the table (used when it
 * does not exist), @columns_sql is the quoted, comma-separated column list.
 * Returns FALSE with no error when the existing table's column types are not
 * ones the binary COPY can fill exactly as the ODBC insert would: then the
 * caller writes through ODBC. */
gboolean         orr_native_pg_write_table (OrrNativeSource *source,
                                            const char      *table,
                                            const char      *table_sql,
                                            const char      *create_sql,
                                            const char      *columns_sql,
                                            OrrSchema       *schema,
                                            GPtrArray       *batches,
                                            GCancellable    *cancellable,
                                            gboolean        *handled,
                                            GError         **error);

/* Connects now (for tests: the error a bad login gives). */
gboolean         _orr_native_pg_connect (OrrNativeSource *source,
                                         GError         **error);

/* A SQLite source opening the database file named by the completed
 * connection string, read-only, or NULL with @why set. */
OrrNativeSource *orr_native_sqlite_new  (const char  *completed,
                                         char       **why);

void             orr_native_source_free (OrrNativeSource *source);
void             orr_native_cursor_free (OrrNativeCursor *cursor);

G_END_DECLS
