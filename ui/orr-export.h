/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-batch.h"

G_BEGIN_DECLS

typedef enum {
  ORR_EXPORT_CSV,
  ORR_EXPORT_JSON,
} OrrExportFormat;

/* Writes a result to @file in a worker thread, batch after batch, in the
 * same format as `orrery run --format csv|json`: CSV (RFC 4180, CRLF, NULL
 * as an empty field) or a JSON array of objects (numbers bare, NULL as
 * null). The file is replaced only once it is complete. */
void     orr_export_async  (GFile               *file,
                            OrrExportFormat      format,
                            OrrSchema           *schema,
                            GPtrArray           *batches,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data);
/* Returns the number of rows written, or -1 with @error. */
gint64   orr_export_finish (GAsyncResult  *result,
                            GError       **error);

/* The format a file name asks for (".json" → JSON, else CSV). */
OrrExportFormat orr_export_format_for_name (const char *name);

G_END_DECLS
