/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-info-bar"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-info-bar.h"

struct _OrrInfoBar
{
  GtkInfoBar  parent_instance;

  GtkLabel   *label;
};

G_DEFINE_FINAL_TYPE (OrrInfoBar, orr_info_bar, GTK_TYPE_INFO_BAR)

static void
orr_info_bar_response (GtkInfoBar *info_bar,
                       int         response)
{
  orr_info_bar_hide (ORR_INFO_BAR (info_bar));
}

static void
orr_info_bar_class_init (OrrInfoBarClass *klass)
{
  GTK_INFO_BAR_CLASS (klass)->response = orr_info_bar_response;
}

static void
orr_info_bar_init (OrrInfoBar *self)
{
  GtkInfoBar *info_bar = GTK_INFO_BAR (self);
  GtkWidget *action_area = gtk_info_bar_get_action_area (info_bar);
  g_autoptr(GList) buttons = NULL;
  GList *l;

  gtk_info_bar_set_show_close_button (info_bar, TRUE);
  gtk_info_bar_set_revealed (info_bar, FALSE);

  self->label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->label, 0);
  gtk_label_set_line_wrap (self->label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->label), TRUE);
  gtk_widget_show (GTK_WIDGET (self->label));
  gtk_container_add (GTK_CONTAINER (gtk_info_bar_get_content_area (info_bar)),
                     GTK_WIDGET (self->label));

  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self)), _("Message"));
  /* GtkInfoBar packs its close button beside its action area. */
  buttons = gtk_container_get_children (GTK_CONTAINER (gtk_widget_get_parent (action_area)));
  for (l = buttons; l != NULL; l = l->next)
    if (GTK_IS_BUTTON (l->data))
      atk_object_set_name (gtk_widget_get_accessible (l->data), _("Close the message"));
}

GtkWidget *
orr_info_bar_new (void)
{
  return g_object_new (ORR_TYPE_INFO_BAR, NULL);
}

void
orr_info_bar_show (OrrInfoBar     *self,
                   GtkMessageType  type,
                   const char     *what,
                   const char     *todo)
{
  g_autofree char *markup = NULL;

  g_return_if_fail (ORR_IS_INFO_BAR (self));
  g_return_if_fail (what != NULL);

  if (todo != NULL && *todo != '\0')
    markup = g_markup_printf_escaped ("<b>%s</b>\n%s", what, todo);
  else
    markup = g_markup_printf_escaped ("<b>%s</b>", what);
  gtk_label_set_markup (self->label, markup);
  /* Selectable (so focusable) only while there is something to copy. */
  gtk_label_set_selectable (self->label, TRUE);
  gtk_info_bar_set_message_type (GTK_INFO_BAR (self), type);
  gtk_widget_show (GTK_WIDGET (self));
  gtk_info_bar_set_revealed (GTK_INFO_BAR (self), TRUE);
}

void
orr_info_bar_show_error (OrrInfoBar *self,
                         const char *what,
                         const char *todo)
{
  orr_info_bar_show (self, GTK_MESSAGE_ERROR, what, todo);
}

void
orr_info_bar_hide (OrrInfoBar *self)
{
  g_return_if_fail (ORR_IS_INFO_BAR (self));

  gtk_info_bar_set_revealed (GTK_INFO_BAR (self), FALSE);
  gtk_label_set_selectable (self->label, FALSE);
}

const char *
orr_info_bar_get_text (OrrInfoBar *self)
{
  g_return_val_if_fail (ORR_IS_INFO_BAR (self), NULL);

  return gtk_label_get_text (self->label);
}

gboolean
orr_info_bar_is_shown (OrrInfoBar *self)
{
  g_return_val_if_fail (ORR_IS_INFO_BAR (self), FALSE);

  return gtk_info_bar_get_revealed (GTK_INFO_BAR (self));
}
