/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-pool-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-pool-dialog.h"

struct _OrrPoolDialog
{
  GtkDialog       parent_instance;

  GtkEntry       *name_entry;
  GtkSpinButton  *cpu_spin;
  GtkSpinButton  *memory_spin;
  GtkSpinButton  *processes_spin;
  GtkEntry       *cpus_entry;
  GtkSpinButton  *timeout_spin;
  GtkLabel       *error_label;
  GtkButton      *ok_button;
  gboolean        altering;
};

G_DEFINE_FINAL_TYPE (OrrPoolDialog, orr_pool_dialog, GTK_TYPE_DIALOG)

#define MB (1024 * 1024)

/* OK only with a name and a CPU list that parses; the label says why not. */
static void
on_changed (OrrPoolDialog *self,
            GtkEditable   *editable)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_entry_get_text (self->name_entry)));
  g_autofree char *cpus = g_strstrip (g_strdup (gtk_entry_get_text (self->cpus_entry)));
  g_autoptr(GError) error = NULL;
  const char *problem = NULL;

  if (*name == '\0')
    problem = _("Give the pool a name.");
  else if (*cpus != '\0' && !orr_cpu_list_parse (cpus, NULL, &error))
    problem = error->message;
  if (problem == NULL)
    problem = self->altering ? _("A limit of 0 leaves it as it is.") : _("A limit of 0 means no limit.");
  gtk_label_set_text (self->error_label, problem);
  problem = *name == '\0' || (*cpus != '\0' && error != NULL) ? problem : NULL;
  gtk_widget_set_sensitive (GTK_WIDGET (self->ok_button), problem == NULL);
}

OrrLimits *
orr_pool_dialog_dup_limits (OrrPoolDialog *self)
{
  g_autofree char *name = NULL;
  g_autofree char *cpus = NULL;
  OrrLimits *limits;

  g_return_val_if_fail (ORR_IS_POOL_DIALOG (self), NULL);

  name = g_strstrip (g_strdup (gtk_entry_get_text (self->name_entry)));
  cpus = g_strstrip (g_strdup (gtk_entry_get_text (self->cpus_entry)));
  limits = orr_limits_new (name);
  limits->max_cpu_percent = (guint) gtk_spin_button_get_value_as_int (self->cpu_spin);
  limits->max_memory_bytes = (guint64) gtk_spin_button_get_value (self->memory_spin) * MB;
  limits->max_processes = (guint) gtk_spin_button_get_value_as_int (self->processes_spin);
  limits->cpus = *cpus != '\0' ? g_steal_pointer (&cpus) : NULL;
  limits->timeout_ms = (guint) gtk_spin_button_get_value_as_int (self->timeout_spin) * 1000;
  return limits;
}

static void
orr_pool_dialog_class_init (OrrPoolDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-pool-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, cpu_spin);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, memory_spin);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, processes_spin);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, cpus_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, timeout_spin);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolDialog, ok_button);
  gtk_widget_class_bind_template_callback (widget_class, on_changed);
}

static void
orr_pool_dialog_init (OrrPoolDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

OrrPoolDialog *
orr_pool_dialog_new (GtkWindow       *parent,
                     const OrrLimits *limits)
{
  OrrPoolDialog *self = g_object_new (ORR_TYPE_POOL_DIALOG,
                                      "transient-for", parent,
                                      "use-header-bar", TRUE,
                                      NULL);

  self->altering = limits != NULL;
  if (limits != NULL)
    {
      gtk_window_set_title (GTK_WINDOW (self), _("Change the Pool"));
      gtk_button_set_label (self->ok_button, _("_Change"));
      gtk_entry_set_text (self->name_entry, limits->pool);
      gtk_widget_set_sensitive (GTK_WIDGET (self->name_entry), FALSE);
      gtk_spin_button_set_value (self->cpu_spin, limits->max_cpu_percent);
      gtk_spin_button_set_value (self->memory_spin, (double) (limits->max_memory_bytes / MB));
      gtk_spin_button_set_value (self->processes_spin, limits->max_processes);
      gtk_entry_set_text (self->cpus_entry, limits->cpus != NULL ? limits->cpus : "");
      gtk_spin_button_set_value (self->timeout_spin, limits->timeout_ms / 1000);
    }
  else
    gtk_window_set_title (GTK_WINDOW (self), _("New Resource Pool"));
  on_changed (self, NULL);
  return self;
}
