/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * OrrInfoBar:
 * The bar at the top of each page where its errors and notes appear: what
 * happened in bold, then what to do about it. Closable; hidden until used.
 */
#define ORR_TYPE_INFO_BAR (orr_info_bar_get_type ())
G_DECLARE_FINAL_TYPE (OrrInfoBar, orr_info_bar, ORR, INFO_BAR, GtkInfoBar)

GtkWidget  *orr_info_bar_new         (void);
void        orr_info_bar_show        (OrrInfoBar     *self,
                                      GtkMessageType  type,
                                      const char     *what,
                                      const char     *todo);
void        orr_info_bar_show_error  (OrrInfoBar     *self,
                                      const char     *what,
                                      const char     *todo);
void        orr_info_bar_hide        (OrrInfoBar     *self);
/* The text shown, "what\ntodo" (for tests). */
const char *orr_info_bar_get_text    (OrrInfoBar     *self);
gboolean    orr_info_bar_is_shown    (OrrInfoBar     *self);

G_END_DECLS
