/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-batch.h"

G_BEGIN_DECLS

#define ORR_TYPE_CONNECTION (orr_connection_get_type ())
G_DECLARE_FINAL_TYPE (OrrConnection, orr_connection, ORR, CONNECTION, GObject)

#define ORR_TYPE_CURSOR (orr_cursor_get_type ())
G_DECLARE_FINAL_TYPE (OrrCursor, orr_cursor, ORR, CURSOR, GObject)

/* @target: an ODBC data source name, or a full connection string
 * (anything containing '=' is taken as a connection string). */
OrrConnection *orr_connection_new              (const char *target);
const char    *orr_connection_get_target       (OrrConnection *self);
/* Same as the target, with any PWD=… value masked, for messages and logs. */
char          *orr_connection_dup_display_name (OrrConnection *self) G_GNUC_WARN_UNUSED_RESULT;

gboolean       orr_connection_open             (OrrConnection  *self,
                                                GCancellable   *cancellable,
                                                GError        **error);
void           orr_connection_open_async       (OrrConnection       *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
gboolean       orr_connection_open_finish      (OrrConnection  *self,
                                                GAsyncResult   *result,
                                                GError        **error);
gboolean       orr_connection_is_open          (OrrConnection *self);
void           orr_connection_close            (OrrConnection *self);

const char    *orr_connection_get_dbms_name    (OrrConnection *self);
const char    *orr_connection_get_dbms_version (OrrConnection *self);
const char    *orr_connection_get_driver_name  (OrrConnection *self);
/* The native fast path the connection's queries and output tables go through
 * when they can ("libpq", "sqlite"), or NULL: ODBC only (unknown driver, or
 * opted out with OrreryNative=No in the connection string or ORRERY_NATIVE=0
 * in the environment). */
const char    *orr_connection_get_native_path  (OrrConnection *self);

/* Rows per fetched batch (array size of the column-wise fetch). */
void           orr_connection_set_batch_rows   (OrrConnection *self,
                                                guint          rows);
guint          orr_connection_get_batch_rows   (OrrConnection *self);

/* Runs @sql and returns a cursor over its result (one statement at a time
 * per connection: the cursor holds the connection until it is freed or
 * closed). Blocking: call from a worker thread. @cancellable cancels a
 * running statement with SQLCancel. */
OrrCursor     *orr_connection_execute          (OrrConnection  *self,
                                                const char     *sql,
                                                GCancellable   *cancellable,
                                                GError        **error);
/* The same with @params (OrrValue, NULL allowed) bound to its ? markers. */
OrrCursor     *orr_connection_execute_params   (OrrConnection  *self,
                                                const char     *sql,
                                                GPtrArray      *params,
                                                GCancellable   *cancellable,
                                                GError        **error);
/* Runs a statement that returns no rows. */
gboolean       orr_connection_execute_update   (OrrConnection  *self,
                                                const char     *sql,
                                                GCancellable   *cancellable,
                                                GError        **error);

gboolean       orr_connection_execute_update_params (OrrConnection  *self,
                                                     const char     *sql,
                                                     GPtrArray      *params,
                                                     GCancellable   *cancellable,
                                                     GError        **error);

/* A transaction: everything until orr_connection_end() commits or rolls back. */
gboolean       orr_connection_begin            (OrrConnection  *self,
                                                GError        **error);
gboolean       orr_connection_end              (OrrConnection  *self,
                                                gboolean        commit,
                                                GError        **error);

/* Runs @sql in a worker thread and collects every batch (for small results:
 * the console's catalog queries). Finish returns a GPtrArray of OrrBatch. */
void           orr_connection_query_async      (OrrConnection       *self,
                                                const char          *sql,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
GPtrArray     *orr_connection_query_finish     (OrrConnection  *self,
                                                GAsyncResult   *result,
                                                OrrSchema     **schema,
                                                GError        **error);

/* Writes @batches into @table in one transaction: the table is created with
 * column types inferred from @schema when it does not exist; all rows or none. */
gboolean       orr_connection_write_table      (OrrConnection  *self,
                                                const char     *table,
                                                OrrSchema      *schema,
                                                GPtrArray      *batches,
                                                GCancellable   *cancellable,
                                                GError        **error);

OrrSchema     *orr_cursor_get_schema           (OrrCursor *self);
/* The native path this cursor's query runs on ("libpq", "sqlite"), or NULL: ODBC. */
const char    *orr_cursor_get_native_path      (OrrCursor *self);
/* The next batch, shared (memfd) when @shared; NULL with no error at the end. */
OrrBatch      *orr_cursor_fetch                (OrrCursor     *self,
                                                gboolean       shared,
                                                GCancellable  *cancellable,
                                                GError       **error);
/* Thread-safe: interrupts a running execute or fetch (SQLCancel). */
void           orr_cursor_cancel               (OrrCursor *self);
void           orr_cursor_close                (OrrCursor *self);

G_END_DECLS
