/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-window"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-connect-page.h"
#include "orr-jobs-page.h"
#include "orr-page.h"
#include "orr-pools-page.h"
#include "orr-script-page.h"
#include "orr-security-page.h"
#include "orr-server-page.h"
#include "orr-ui-util.h"
#include "orr-window.h"

#define MAX_RECENT_CONNECTIONS 10

struct _OrrWindow
{
  GtkApplicationWindow  parent_instance;

  GtkHeaderBar         *header_bar;
  GtkSpinner           *connect_spinner;
  GtkStackSidebar      *sidebar;
  GtkStack             *stack;
  OrrConnectPage       *connect_page;
  OrrServerPage        *server_page;
  OrrSecurityPage      *security_page;
  OrrScriptPage        *script_page;
  OrrJobsPage          *jobs_page;
  OrrPoolsPage         *pools_page;

  /* NULL when the schema is not installed. */
  GSettings            *settings;

  OrrSession           *session;
  /* While connecting: how to cancel, and what the settings may keep. */
  GCancellable         *connect_cancellable;
  char                 *pending_remembered;

  int                   width;
  int                   height;
  guint                 maximized : 1;
  guint                 run_after_connect : 1;
};

G_DEFINE_FINAL_TYPE (OrrWindow, orr_window, GTK_TYPE_APPLICATION_WINDOW)

static void
orr_window_set_action_enabled (OrrWindow  *self,
                               const char *name,
                               gboolean    enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

static void
orr_window_update_actions (OrrWindow *self)
{
  gboolean running = orr_script_page_is_running (self->script_page);
  gboolean connecting = orr_window_is_connecting (self);

  orr_window_set_action_enabled (self, "run", !running);
  orr_window_set_action_enabled (self, "cancel", running || connecting);
  orr_window_set_action_enabled (self, "connect", !running && !connecting);
  orr_window_set_action_enabled (self, "export", orr_script_page_has_results (self->script_page));

  gtk_widget_set_visible (GTK_WIDGET (self->connect_spinner), connecting);
  if (connecting)
    gtk_spinner_start (self->connect_spinner);
  else
    gtk_spinner_stop (self->connect_spinner);
}

/* Every page, in stack order. */
static GList *
orr_window_list_pages (OrrWindow *self)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (self->stack));
  GList *pages = NULL;
  GList *l;

  for (l = children; l != NULL; l = l->next)
    if (ORR_IS_PAGE (l->data))
      pages = g_list_prepend (pages, l->data);
  g_list_free (children);
  return g_list_reverse (pages);
}

static void
orr_window_set_session (OrrWindow  *self,
                        OrrSession *session)
{
  g_autoptr(GList) pages = NULL;
  GList *l;

  if (!g_set_object (&self->session, session))
    return;
  pages = orr_window_list_pages (self);
  for (l = pages; l != NULL; l = l->next)
    orr_page_set_session (l->data, session);
}

/* Errors about the session go to the page the user is looking at. */
static OrrInfoBar *
orr_window_get_visible_info_bar (OrrWindow *self)
{
  GtkWidget *page = gtk_stack_get_visible_child (self->stack);

  if (!ORR_IS_PAGE (page))
    page = GTK_WIDGET (self->connect_page);
  return orr_page_get_info_bar (ORR_PAGE (page));
}

/* ------------------------------------------------------------ connecting */

gboolean
orr_window_is_connecting (OrrWindow *self)
{
  g_return_val_if_fail (ORR_IS_WINDOW (self), FALSE);

  return self->connect_cancellable != NULL;
}

OrrSession *
orr_window_get_session (OrrWindow *self)
{
  g_return_val_if_fail (ORR_IS_WINDOW (self), NULL);

  return self->session;
}

static void
orr_window_remember_connection (OrrWindow  *self,
                                const char *remembered)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) recent = NULL;
  guint n = 1;
  guint i;

  if (self->settings == NULL || remembered == NULL ||
      orr_connection_string_has_password (remembered))
    return;

  g_settings_set_string (self->settings, "last-connection", remembered);

  /* The demo database is always offered: not a recent connection. */
  if (*remembered == '\0')
    return;
  old = g_settings_get_strv (self->settings, "recent-connections");
  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, remembered);
  for (i = 0; old[i] != NULL && n < MAX_RECENT_CONNECTIONS; i++)
    if (g_strcmp0 (old[i], remembered) != 0)
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-connections", (const char * const *) recent);
}

static void
on_session_opened (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(OrrWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrSession) session = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *what = NULL;
  const char *dbms;

  session = orr_session_open_finish (result, &error);
  /* Cancelled: by the user, by a newer connect or by closing the window. */
  if (session == NULL && orr_error_is_cancelled (error))
    return;

  g_clear_object (&self->connect_cancellable);

  if (session == NULL)
    {
      self->run_after_connect = FALSE;
      g_clear_pointer (&self->pending_remembered, g_free);
      gtk_header_bar_set_subtitle (self->header_bar, _("Not connected"));
      what = g_strdup_printf (_("Could not connect: %s"), error->message);
      orr_info_bar_show_error (orr_window_get_visible_info_bar (self), what,
                               _("Check the data source, user name and password on the Connect page, "
                                 "or choose the demo database."));
      orr_connect_page_connect_failed (self->connect_page);
      orr_window_update_actions (self);
      return;
    }

  dbms = orr_session_get_dbms (session);
  /* Translators: the header bar's subtitle: "Demo database — SQLite 3.40.1". */
  subtitle = *dbms != '\0' ? g_strdup_printf (_("%s — %s"), orr_session_get_display_name (session), dbms)
                           : g_strdup (orr_session_get_display_name (session));
  gtk_header_bar_set_subtitle (self->header_bar, subtitle);
  orr_window_remember_connection (self, self->pending_remembered);
  g_clear_pointer (&self->pending_remembered, g_free);

  orr_window_set_session (self, session);
  orr_window_update_actions (self);

  if (self->run_after_connect)
    {
      self->run_after_connect = FALSE;
      orr_script_page_run (self->script_page);
    }
}

static void
orr_window_cancel_connect (OrrWindow *self)
{
  if (self->connect_cancellable == NULL)
    return;
  g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  g_clear_pointer (&self->pending_remembered, g_free);
  self->run_after_connect = FALSE;
}

void
orr_window_connect_to (OrrWindow  *self,
                       const char *target,
                       const char *remembered)
{
  OrrApplication *app = ORR_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  g_autofree char *subtitle = NULL;
  gboolean run_after_connect = self->run_after_connect;

  g_return_if_fail (ORR_IS_WINDOW (self));
  g_return_if_fail (target != NULL);

  if (orr_script_page_is_running (self->script_page))
    return;

  orr_window_cancel_connect (self);
  self->run_after_connect = run_after_connect;
  /* A new connect replaces the old session even when it fails: nothing may
   * quietly go to a database other than the one the Connect page names. */
  orr_window_set_session (self, NULL);
  orr_info_bar_hide (orr_window_get_visible_info_bar (self));

  self->connect_cancellable = g_cancellable_new ();
  self->pending_remembered = g_strdup (remembered);
  if (*target == '\0')
    subtitle = g_strdup (_("Connecting to the demo database…"));
  else
    {
      g_autoptr(OrrConnection) probe = orr_connection_new (target);
      g_autofree char *name = orr_connection_dup_display_name (probe);

      subtitle = g_strdup_printf (_("Connecting to %s…"), name);
    }
  gtk_header_bar_set_subtitle (self->header_bar, subtitle);

  orr_session_open_async (orr_application_get_engine (app), target, self->connect_cancellable,
                          on_session_opened, g_object_ref (self));
  orr_window_update_actions (self);
}

static void
on_connect_requested (OrrWindow      *self,
                      const char     *target,
                      const char     *remembered,
                      OrrConnectPage *page)
{
  orr_window_connect_to (self, target, remembered);
}

/* --------------------------------------------------------------- actions */

static void
orr_window_show_page (OrrWindow  *self,
                      const char *name)
{
  gtk_stack_set_visible_child_name (self->stack, name);
}

static void
orr_window_run_activated (GSimpleAction *action,
                          GVariant      *parameter,
                          gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  if (orr_script_page_is_running (self->script_page))
    return;
  orr_window_show_page (self, "script");

  if (self->session == NULL)
    {
      /* Run connects first, to what the Connect page names. */
      self->run_after_connect = TRUE;
      if (!orr_window_is_connecting (self))
        orr_connect_page_request_connect (self->connect_page);
      return;
    }
  orr_script_page_run (self->script_page);
}

static void
orr_window_cancel_activated (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  if (orr_script_page_is_running (self->script_page))
    {
      orr_script_page_cancel (self->script_page);
      return;
    }
  if (orr_window_is_connecting (self))
    {
      orr_window_cancel_connect (self);
      orr_connect_page_connect_failed (self->connect_page);
      gtk_header_bar_set_subtitle (self->header_bar, _("Not connected"));
      orr_window_update_actions (self);
    }
}

static void
orr_window_connect_activated (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  self->run_after_connect = FALSE;
  orr_connect_page_request_connect (self->connect_page);
}

static void
orr_window_open_activated (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  orr_window_show_page (self, "script");
  orr_script_page_open (self->script_page);
}

static void
orr_window_save_activated (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  orr_window_show_page (self, "script");
  orr_script_page_save (self->script_page, FALSE);
}

static void
orr_window_save_as_activated (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  orr_window_show_page (self, "script");
  orr_script_page_save (self->script_page, TRUE);
}

static void
orr_window_export_activated (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  orr_window_show_page (self, "script");
  orr_script_page_export (self->script_page);
}

static void
orr_window_page_activated (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);
  const char *name = g_variant_get_string (parameter, NULL);

  if (gtk_stack_get_child_by_name (self->stack, name) != NULL)
    orr_window_show_page (self, name);
}

static void
orr_window_refresh_activated (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);
  GtkWidget *page = gtk_stack_get_visible_child (self->stack);

  /* Handing a page its session again reloads it. */
  if (ORR_IS_PAGE (page) && self->session != NULL)
    orr_page_set_session (ORR_PAGE (page), self->session);
}

static const GActionEntry win_actions[] = {
  { .name = "run", .activate = orr_window_run_activated },
  { .name = "cancel", .activate = orr_window_cancel_activated },
  { .name = "connect", .activate = orr_window_connect_activated },
  { .name = "open", .activate = orr_window_open_activated },
  { .name = "save", .activate = orr_window_save_activated },
  { .name = "save-as", .activate = orr_window_save_as_activated },
  { .name = "export", .activate = orr_window_export_activated },
  { .name = "page", .activate = orr_window_page_activated, .parameter_type = "s" },
  { .name = "refresh", .activate = orr_window_refresh_activated },
};

static void
on_script_running_changed (OrrWindow     *self,
                           GParamSpec    *pspec,
                           OrrScriptPage *page)
{
  orr_window_update_actions (self);
}

static void
on_visible_page_changed (OrrWindow  *self,
                         GParamSpec *pspec,
                         GtkStack   *stack)
{
  const char *name = gtk_stack_get_visible_child_name (stack);

  if (self->settings != NULL && name != NULL)
    g_settings_set_string (self->settings, "page", name);
}

/* -------------------------------------------------------- window state */

static void
orr_window_size_allocate (GtkWidget     *widget,
                          GtkAllocation *allocation)
{
  OrrWindow *self = ORR_WINDOW (widget);

  GTK_WIDGET_CLASS (orr_window_parent_class)->size_allocate (widget, allocation);

  /* The window's own size, without the client-side decorations' shadow. */
  if (!self->maximized)
    gtk_window_get_size (GTK_WINDOW (widget), &self->width, &self->height);
}

static gboolean
orr_window_window_state_event (GtkWidget           *widget,
                               GdkEventWindowState *event)
{
  OrrWindow *self = ORR_WINDOW (widget);

  self->maximized = (event->new_window_state & GDK_WINDOW_STATE_MAXIMIZED) != 0;

  return GTK_WIDGET_CLASS (orr_window_parent_class)->window_state_event (widget, event);
}

static void
orr_window_load_state (OrrWindow *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *page = NULL;

  /* g_settings_new() aborts on a missing schema; a console started from
   * the build tree without GSETTINGS_SCHEMA_DIR still runs, forgetfully. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, ORR_APPLICATION_ID, TRUE);
  if (schema == NULL)
    {
      g_message ("The GSettings schema %s is not installed: the window size "
                 "and the connections will not be remembered",
                 ORR_APPLICATION_ID);
      return;
    }
  self->settings = g_settings_new_full (schema, NULL, NULL);

  self->width = g_settings_get_int (self->settings, "window-width");
  self->height = g_settings_get_int (self->settings, "window-height");
  gtk_window_set_default_size (GTK_WINDOW (self), self->width, self->height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  page = g_settings_get_string (self->settings, "page");
  if (gtk_stack_get_child_by_name (self->stack, page) != NULL)
    gtk_stack_set_visible_child_name (self->stack, page);
}

static void
orr_window_save_state (OrrWindow *self)
{
  if (self->settings == NULL)
    return;

  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", self->width);
  g_settings_set_int (self->settings, "window-height", self->height);
  g_settings_set_boolean (self->settings, "window-maximized", self->maximized);
  g_settings_apply (self->settings);
}

/* ------------------------------------------------------------- the class */

static GtkLabel *
find_label (GtkWidget *widget)
{
  g_autoptr(GList) children = NULL;
  GList *l;

  if (GTK_IS_LABEL (widget))
    return GTK_LABEL (widget);
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (l = children; l != NULL; l = l->next)
    {
      GtkLabel *label = find_label (l->data);

      if (label != NULL)
        return label;
    }
  return NULL;
}

/* GtkStackSidebar's rows are unnamed list rows: a screen reader should
 * hear the page's title, as a sighted user reads it. */
static void
name_sidebar_rows (GtkWidget *widget,
                   gpointer   data)
{
  if (GTK_IS_LIST_BOX_ROW (widget))
    {
      GtkLabel *label = find_label (widget);

      if (label != NULL)
        orr_set_accessible_name (widget, gtk_label_get_text (label));
      return;
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), name_sidebar_rows, data);
}

static void
orr_window_dispose (GObject *object)
{
  OrrWindow *self = ORR_WINDOW (object);

  orr_window_save_state (self);
  orr_window_cancel_connect (self);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (orr_window_parent_class)->dispose (object);
}

static void
orr_window_class_init (OrrWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_window_dispose;

  widget_class->size_allocate = orr_window_size_allocate;
  widget_class->window_state_event = orr_window_window_state_event;

  g_type_ensure (ORR_TYPE_CONNECT_PAGE);
  g_type_ensure (ORR_TYPE_SERVER_PAGE);
  g_type_ensure (ORR_TYPE_SECURITY_PAGE);
  g_type_ensure (ORR_TYPE_SCRIPT_PAGE);
  g_type_ensure (ORR_TYPE_JOBS_PAGE);
  g_type_ensure (ORR_TYPE_POOLS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, connect_spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, connect_page);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, server_page);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, security_page);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, script_page);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, jobs_page);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, pools_page);
  gtk_widget_class_bind_template_callback (widget_class, on_connect_requested);
  gtk_widget_class_bind_template_callback (widget_class, on_script_running_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_visible_page_changed);
}

static void
orr_window_init (OrrWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions,
                                   G_N_ELEMENTS (win_actions), self);
  name_sidebar_rows (GTK_WIDGET (self->sidebar), NULL);

  orr_window_load_state (self);
  orr_connect_page_set_settings (self->connect_page, self->settings);
  orr_window_update_actions (self);
}

OrrWindow *
orr_window_new (OrrApplication *application)
{
  OrrWindow *self;

  g_return_val_if_fail (ORR_IS_APPLICATION (application), NULL);

  self = g_object_new (ORR_TYPE_WINDOW, "application", application, NULL);
  orr_jobs_page_set_monitor (self->jobs_page, orr_application_get_monitor (application));
  orr_pools_page_set_monitor (self->pools_page, orr_application_get_monitor (application));
  /* Open the last connection (or the demo database) right away, once the
   * window knows its application's engine: the window is usable
   * meanwhile, and Run waits for the connection. */
  orr_connect_page_request_connect (self->connect_page);
  return self;
}
