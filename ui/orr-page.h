/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-info-bar.h"
#include "orr-session.h"

G_BEGIN_DECLS

/**
 * OrrPage:
 * One page of the window's stack. The window hands every page the session
 * (NULL while not connected) and shows errors about the session in the
 * page the user is looking at.
 */
#define ORR_TYPE_PAGE (orr_page_get_type ())
G_DECLARE_INTERFACE (OrrPage, orr_page, ORR, PAGE, GtkWidget)

struct _OrrPageInterface
{
  GTypeInterface parent_iface;

  void        (*set_session)  (OrrPage    *self,
                               OrrSession *session);
  OrrInfoBar *(*get_info_bar) (OrrPage    *self);
};

void        orr_page_set_session  (OrrPage    *self,
                                   OrrSession *session);
OrrInfoBar *orr_page_get_info_bar (OrrPage    *self);

G_END_DECLS
