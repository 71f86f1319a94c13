/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-application"

#include "config.h"

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "orr-application.h"
#include "orr-window.h"

struct _OrrApplication
{
  GtkApplication  parent_instance;

  OrrEngine      *engine;
  OrrMonitor     *monitor;
  /* guint64 job id → OrrJob, weak: a job leaves when it is finalized. */
  GHashTable     *jobs;
};

G_DEFINE_FINAL_TYPE (OrrApplication, orr_application, GTK_TYPE_APPLICATION)

static void
orr_application_about (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  OrrApplication *self = user_data;
  const char *authors[] = { _("The Orrery authors"), NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (GTK_APPLICATION (self)),
                         "program-name", _("Orrery"),
                         "logo-icon-name", ORR_APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("Run Python scripts over database query results in sandboxed workers"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         /* Translators: put your name (and e-mail) here, one per line. */
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
orr_application_quit (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  GList *windows;

  /* Destroying the windows (rather than g_application_quit()) lets each one
   * save its size and cancel its job; the application ends with the last. */
  windows = gtk_application_get_windows (GTK_APPLICATION (user_data));
  while (windows != NULL)
    {
      gtk_widget_destroy (GTK_WIDGET (windows->data));
      windows = gtk_application_get_windows (GTK_APPLICATION (user_data));
    }
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = orr_application_about },
  { .name = "quit", .activate = orr_application_quit },
};

static void
orr_application_startup (GApplication *app)
{
  OrrApplication *self = ORR_APPLICATION (app);
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "win.run", { "F5", "<Control>Return", NULL } },
    { "win.cancel", { "Escape", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "win.save", { "<Control>s", NULL } },
    { "win.save-as", { "<Control><Shift>s", NULL } },
    { "win.export", { "<Control>e", NULL } },
    { "win.refresh", { "<Control>r", NULL } },
    { "win.page::connect", { "<Alt>1", NULL } },
    { "win.page::server", { "<Alt>2", NULL } },
    { "win.page::security", { "<Alt>3", NULL } },
    { "win.page::script", { "<Alt>4", NULL } },
    { "win.page::jobs", { "<Alt>5", NULL } },
    { "win.page::pools", { "<Alt>6", NULL } },
    { "app.quit", { "<Control>q", NULL } },
  };
  g_autoptr(GtkCssProvider) css = NULL;
  guint i;

  G_APPLICATION_CLASS (orr_application_parent_class)->startup (app);

  gtk_source_init ();
  gtk_window_set_default_icon_name (ORR_APPLICATION_ID);

  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/orrery/Console/style.css");
  gtk_style_context_add_provider_for_screen (gdk_screen_get_default (),
                                             GTK_STYLE_PROVIDER (css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  self->engine = orr_engine_new ();
  self->monitor = orr_monitor_new ();
  orr_monitor_start (self->monitor);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action, accels[i].accels);
}

static void
orr_application_activate (GApplication *app)
{
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (orr_window_new (ORR_APPLICATION (app)));
  gtk_window_present (window);
}

static void
orr_application_shutdown (GApplication *app)
{
  OrrApplication *self = ORR_APPLICATION (app);

  G_APPLICATION_CLASS (orr_application_parent_class)->shutdown (app);

  /* The windows are gone: stop the engine's satellites now, not at exit. */
  g_clear_object (&self->engine);
  if (self->monitor != NULL)
    orr_monitor_stop (self->monitor);
  g_clear_object (&self->monitor);
}

static void
on_job_finalized (gpointer  data,
                  GObject  *where_the_object_was)
{
  OrrApplication *self = data;
  GHashTableIter iter;
  gpointer job;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    if (job == (gpointer) where_the_object_was)
      {
        g_hash_table_iter_remove (&iter);
        break;
      }
}

static void
orr_application_dispose (GObject *object)
{
  OrrApplication *self = ORR_APPLICATION (object);

  g_clear_object (&self->engine);
  g_clear_object (&self->monitor);
  if (self->jobs != NULL)
    {
      GHashTableIter iter;
      gpointer job;

      g_hash_table_iter_init (&iter, self->jobs);
      while (g_hash_table_iter_next (&iter, NULL, &job))
        g_object_weak_unref (job, on_job_finalized, self);
      g_clear_pointer (&self->jobs, g_hash_table_unref);
    }

  G_OBJECT_CLASS (orr_application_parent_class)->dispose (object);
}

static void
orr_application_class_init (OrrApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = orr_application_dispose;

  app_class->startup = orr_application_startup;
  app_class->activate = orr_application_activate;
  app_class->shutdown = orr_application_shutdown;
}

static void
orr_application_init (OrrApplication *self)
{
  self->jobs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

OrrApplication *
orr_application_new (void)
{
  return g_object_new (ORR_TYPE_APPLICATION,
                       "application-id", ORR_APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

/**
 * orr_application_get_engine:
 * Returns: (transfer none): the engine every window submits its jobs to.
 */
OrrEngine *
orr_application_get_engine (OrrApplication *self)
{
  g_return_val_if_fail (ORR_IS_APPLICATION (self), NULL);

  return self->engine;
}

/**
 * orr_application_get_monitor:
 * Returns: (transfer none) (nullable): the monitor, once the application has started.
 */
OrrMonitor *
orr_application_get_monitor (OrrApplication *self)
{
  g_return_val_if_fail (ORR_IS_APPLICATION (self), NULL);

  return self->monitor;
}

void
orr_application_track_job (OrrApplication *self,
                           OrrJob         *job)
{
  gint64 *id;

  g_return_if_fail (ORR_IS_APPLICATION (self));
  g_return_if_fail (ORR_IS_JOB (job));

  id = g_new (gint64, 1);
  *id = (gint64) orr_job_get_id (job);
  if (g_hash_table_lookup (self->jobs, id) == job)
    {
      g_free (id);
      return;
    }
  g_object_weak_ref (G_OBJECT (job), on_job_finalized, self);
  g_hash_table_replace (self->jobs, id, job);
}

/**
 * orr_application_lookup_job:
 * Returns: (transfer none) (nullable): the job of this process with @id.
 */
OrrJob *
orr_application_lookup_job (OrrApplication *self,
                            guint64         id)
{
  gint64 key = (gint64) id;

  g_return_val_if_fail (ORR_IS_APPLICATION (self), NULL);

  return g_hash_table_lookup (self->jobs, &key);
}
