/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-page"

#include "config.h"

#include "orr-page.h"

G_DEFINE_INTERFACE (OrrPage, orr_page, GTK_TYPE_WIDGET)

static void
orr_page_default_init (OrrPageInterface *iface)
{
}

void
orr_page_set_session (OrrPage    *self,
                      OrrSession *session)
{
  g_return_if_fail (ORR_IS_PAGE (self));
  g_return_if_fail (session == NULL || ORR_IS_SESSION (session));

  ORR_PAGE_GET_IFACE (self)->set_session (self, session);
}

OrrInfoBar *
orr_page_get_info_bar (OrrPage *self)
{
  g_return_val_if_fail (ORR_IS_PAGE (self), NULL);

  return ORR_PAGE_GET_IFACE (self)->get_info_bar (self);
}
