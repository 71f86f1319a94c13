/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * OrrConnectPage:
 * Where the user says which database to open: ODBC data sources and
 * drivers as the driver manager lists them, a connection string, a user
 * name and a password (kept in the desktop keyring on request, never in a
 * file), recent connections, and the demo database. Emits
 * ::connect-requested with the ODBC target (password included) and what
 * the settings may remember of it.
 */
#define ORR_TYPE_CONNECT_PAGE (orr_connect_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrConnectPage, orr_connect_page, ORR, CONNECT_PAGE, GtkBox)

void orr_connect_page_set_settings    (OrrConnectPage *self,
                                       GSettings      *settings);
/* Asks the keyring for a password when needed, then emits ::connect-requested. */
void orr_connect_page_request_connect (OrrConnectPage *self);
/* The window's connect failed or was cancelled: nothing to keep. */
void orr_connect_page_connect_failed  (OrrConnectPage *self);

/* The ODBC target the fields make, and what may be remembered of them
 * (exposed for tests). */
char *orr_connect_page_compose_target     (const char *target,
                                           const char *user,
                                           const char *password) G_GNUC_WARN_UNUSED_RESULT;
char *orr_connect_page_compose_remembered (const char *target,
                                           const char *user) G_GNUC_WARN_UNUSED_RESULT;
/* Splits a remembered text back into target and user. */
void  orr_connect_page_split_remembered   (const char  *remembered,
                                           char       **target,
                                           char       **user);

G_END_DECLS
