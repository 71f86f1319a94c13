/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  ORR_ODBC_SOURCE_USER,
  ORR_ODBC_SOURCE_SYSTEM,
  ORR_ODBC_SOURCE_DRIVER,
} OrrOdbcSourceKind;

/* A data source (name, and the driver it uses as description) or a driver
 * (name, and its attributes "Driver=…; Setup=…" as description). */
typedef struct {
  OrrOdbcSourceKind kind;
  char *name;
  char *description;
} OrrOdbcSource;

void orr_odbc_source_free (OrrOdbcSource *source);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrOdbcSource, orr_odbc_source_free)

/* Asks the driver manager (SQLDataSources, SQLDrivers) in a worker thread.
 * Finish returns a GPtrArray of OrrOdbcSource: user data sources, then
 * system ones, then drivers, each sorted by name. */
void       orr_odbc_sources_list_async  (GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
GPtrArray *orr_odbc_sources_list_finish (GAsyncResult  *result,
                                         GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* The same, blocking. */
GPtrArray *orr_odbc_sources_list        (GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
