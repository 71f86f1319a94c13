/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-connection.h"

G_BEGIN_DECLS

/* Small helpers the pages share. */

/* orr_i18n_init (LC_ALL) (the locale from the environment, C.UTF-8 when
 * $LANGUAGE is set in the C locale, Orrery's catalog from $ORRERY_LOCALEDIR
 * or the installed one), "orrery" as the default text domain, and
 * gtk_init() told not to set the locale again. Before gtk_init(). */
void      orr_ui_init_i18n         (void);

gboolean  orr_error_is_cancelled   (const GError *error);
/* "1,234,567" in the user's locale. */
char     *orr_format_count         (guint64 n) G_GNUC_WARN_UNUSED_RESULT;
/* "1 row", "150 rows". */
char     *orr_format_rows          (guint64 n) G_GNUC_WARN_UNUSED_RESULT;
/* "0.84 s", "2 min 05 s". */
char     *orr_format_elapsed       (gint64 usec) G_GNUC_WARN_UNUSED_RESULT;
/* µs since the epoch, UTC, as local "2026-11-24 21:05:48"; "" for 0. */
char     *orr_format_timestamp     (gint64 usec) G_GNUC_WARN_UNUSED_RESULT;
/* What to do about a governance error (permission denied, disabled, …). */
const char *orr_describe_catalog_todo (const GError *error);

/* Reads every batch of a cursor (blocking, worker threads only). */
GPtrArray *orr_cursor_fetch_all    (OrrCursor     *cursor,
                                    GCancellable  *cancellable,
                                    GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* Column @name of @schema, or -1. */
int       orr_schema_find          (OrrSchema  *schema,
                                    const char *name);
/* A value of batch @b's column @col as text, "" for NULL or a missing column. */
char     *orr_batch_dup_text       (OrrBatch *batch,
                                    int       column,
                                    guint     row) G_GNUC_WARN_UNUSED_RESULT;
gboolean  orr_text_is_true         (const char *text);
/* A timestamp column's value in µs since the epoch (UTC), also from drivers
 * that return timestamps as text (SQLite); 0 for NULL or unknown. */
gint64    orr_batch_get_timestamp  (OrrBatch *batch,
                                    int       column,
                                    guint     row);
/* "2.1 MB" from a count of bytes as text; "" for "" or negative. */
char     *orr_format_bytes_text    (const char *text) G_GNUC_WARN_UNUSED_RESULT;
/* "1.25 s" from seconds as text; "" for "". */
char     *orr_format_seconds_text  (const char *text) G_GNUC_WARN_UNUSED_RESULT;

/* Gives the accessible object of @widget the name @name. */
void      orr_set_accessible_name  (GtkWidget  *widget,
                                    const char *name);
/* Names the focusable parts @widget builds inside itself (a combo box's
 * button) after @widget, where they have no name of their own. */
void      orr_name_internal_parts  (GtkWidget  *widget);
/* Whether @text is an ODBC connection string that carries a password. */
gboolean  orr_connection_string_has_password (const char *text);

G_END_DECLS
