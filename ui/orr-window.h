/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-application.h"
#include "orr-session.h"

G_BEGIN_DECLS

#define ORR_TYPE_WINDOW (orr_window_get_type ())
G_DECLARE_FINAL_TYPE (OrrWindow, orr_window, ORR, WINDOW, GtkApplicationWindow)

OrrWindow  *orr_window_new            (OrrApplication *application);
/* The open session, or NULL while not connected. */
OrrSession *orr_window_get_session    (OrrWindow *self);
gboolean    orr_window_is_connecting  (OrrWindow *self);
/* Opens @target ("" for the demo database; may hold a password) in place
 * of the current session; @remembered is what the settings may keep of it
 * (never a password), NULL to keep nothing. */
void        orr_window_connect_to     (OrrWindow  *self,
                                       const char *target,
                                       const char *remembered);

G_END_DECLS
