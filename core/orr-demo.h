/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The embedded default: a SQLite database under $XDG_DATA_HOME/orrery/,
 * created on first use with sample tables (iris, sales), reached through the
 * SQLite ODBC driver referenced by path (nothing in /etc to edit). Returns an
 * ODBC connection string to it. Blocking. */
char *orr_demo_dup_connection_string (GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Path of the demo database file (it may not exist yet). */
char *orr_demo_dup_path              (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
