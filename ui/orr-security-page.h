/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * OrrSecurityPage:
 * Who may run external scripts (principals with their grant state, a
 * toggle per row to grant or revoke; read-only for non-administrators,
 * saying why) and the job log, filtered by principal and outcome and
 * searchable.
 */
#define ORR_TYPE_SECURITY_PAGE (orr_security_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrSecurityPage, orr_security_page, ORR, SECURITY_PAGE, GtkBox)

gboolean orr_security_page_is_busy       (OrrSecurityPage *self);
/* Toggles @principal's grant as a click on its row would (for tests);
 * FALSE when there is no such row or it cannot be changed. */
gboolean orr_security_page_toggle_grant  (OrrSecurityPage *self,
                                          const char      *principal);

G_END_DECLS
