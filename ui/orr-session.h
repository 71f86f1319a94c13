/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-catalog.h"
#include "orr-engine.h"

G_BEGIN_DECLS

/**
 * OrrSession:
 * What a window is connected to, shared by its pages: one connection for the
 * Script page's jobs (a job holds its connection while it runs) and a second
 * one under the governance catalog, so that the Server and Security pages
 * stay usable while a long job fetches. The catalog caches what it learns
 * and is not thread-safe: its blocking calls run in worker threads that hold
 * the catalog lock (orr_session_lock_catalog()).
 */
#define ORR_TYPE_SESSION (orr_session_get_type ())
G_DECLARE_FINAL_TYPE (OrrSession, orr_session, ORR, SESSION, GObject)

/* @target: a DSN or connection string (may hold a password); "" opens the
 * demo database. Both connections are opened in a worker thread. */
void           orr_session_open_async       (OrrEngine           *engine,
                                             const char          *target,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
OrrSession    *orr_session_open_finish      (GAsyncResult  *result,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;

gboolean       orr_session_is_demo          (OrrSession *self);
/* "Demo database", or the target with any password masked. */
const char    *orr_session_get_display_name (OrrSession *self);
/* "SQLite 3.40.1", from the driver. */
const char    *orr_session_get_dbms         (OrrSession *self);
OrrEngine     *orr_session_get_engine       (OrrSession *self);
/* The connection the Script page's jobs run on. */
OrrConnection *orr_session_get_connection   (OrrSession *self);
/* Blocking calls only, with the lock held (see above). */
OrrCatalog    *orr_session_get_catalog      (OrrSession *self);
GMutexLocker  *orr_session_lock_catalog     (OrrSession *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
