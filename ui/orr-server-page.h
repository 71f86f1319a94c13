/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * OrrServerPage:
 * The database and this host as Orrery sees them: the DBMS, the current
 * principal and whether it administers, the "external scripts enabled"
 * switch, the Python runtime of the satellites and the isolation probe's
 * report.
 */
#define ORR_TYPE_SERVER_PAGE (orr_server_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrServerPage, orr_server_page, ORR, SERVER_PAGE, GtkBox)

/* Whether a load or a change of the switch is under way (for tests). */
gboolean orr_server_page_is_busy (OrrServerPage *self);

G_END_DECLS
