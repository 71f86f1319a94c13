/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-server-page"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "orr-isolation.h"
#include "orr-page.h"
#include "orr-server-page.h"
#include "orr-ui-util.h"

struct _OrrServerPage
{
  GtkBox        parent_instance;

  OrrInfoBar   *info_bar;
  GtkLabel     *source_label;
  GtkLabel     *dbms_label;
  GtkLabel     *driver_label;
  GtkLabel     *principal_label;
  GtkLabel     *admin_label;
  GtkSwitch    *enabled_switch;
  GtkSpinner   *switch_spinner;
  GtkLabel     *switch_reason;
  GtkLabel     *python_label;
  GtkLabel     *numpy_label;
  GtkLabel     *pandas_label;
  GtkTextView  *isolation_view;

  OrrSession   *session;
  /* Cancelled with each new session: late answers about the old one are dropped. */
  GCancellable *cancellable;
  /* For what belongs to the host, not the session: cancelled at dispose. */
  GCancellable *host_cancellable;
  char         *principal;
  guint         n_busy;
  guint         n_host_busy;
  guint         is_admin : 1;
  /* Set while the page moves the switch itself. */
  guint         setting_switch : 1;
  guint         runtime_loaded : 1;
  guint         isolation_loaded : 1;
};

static void orr_server_page_page_init (OrrPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrServerPage, orr_server_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_server_page_page_init))

gboolean
orr_server_page_is_busy (OrrServerPage *self)
{
  g_return_val_if_fail (ORR_IS_SERVER_PAGE (self), FALSE);

  return self->n_busy > 0 || self->n_host_busy > 0;
}

static void
orr_server_page_set_switch (OrrServerPage *self,
                            gboolean       active)
{
  self->setting_switch = TRUE;
  gtk_switch_set_active (self->enabled_switch, active);
  gtk_switch_set_state (self->enabled_switch, active);
  self->setting_switch = FALSE;
}

static void
orr_server_page_update_switch (OrrServerPage *self,
                               gboolean       changing)
{
  gboolean known = self->session != NULL && self->principal != NULL;
  g_autofree char *reason = NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->enabled_switch), known && self->is_admin && !changing);
  gtk_widget_set_visible (GTK_WIDGET (self->switch_spinner), changing);
  if (changing)
    gtk_spinner_start (self->switch_spinner);
  else
    gtk_spinner_stop (self->switch_spinner);

  if (known && !self->is_admin)
    reason = g_strdup_printf (_("Only an administrator of the database can turn external scripts on or off; "
                                "you are connected as %s. Connect as an administrator, or ask one."),
                              self->principal);
  gtk_label_set_text (self->switch_reason, reason != NULL ? reason : "");
  gtk_widget_set_visible (GTK_WIDGET (self->switch_reason), reason != NULL);
}

/* --------------------------------------------------------- the catalog */

typedef struct {
  char *principal;
  gboolean is_admin;
  gboolean enabled;
} CatalogState;

static void
catalog_state_free (CatalogState *state)
{
  g_free (state->principal);
  g_free (state);
}

static void
catalog_state_worker (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  CatalogState *state = g_new0 (CatalogState, 1);
  GError *error = NULL;
  const char *principal;
  int version;

  principal = orr_catalog_get_principal (catalog, &error);
  if (principal == NULL)
    goto fail;
  state->principal = g_strdup (principal);
  state->is_admin = orr_catalog_is_admin (catalog, &error);
  if (error != NULL)
    goto fail;
  version = orr_catalog_get_version (catalog, &error);
  if (version < 0 || error != NULL)
    goto fail;
  state->enabled = version > 0 && orr_catalog_is_enabled (catalog, &error);
  if (error != NULL)
    goto fail;
  g_task_return_pointer (task, state, (GDestroyNotify) catalog_state_free);
  return;

fail:
  catalog_state_free (state);
  g_task_return_error (task, error);
}

static void
on_catalog_state (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  CatalogState *state = g_task_propagate_pointer (G_TASK (result), &error);
  OrrServerPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SERVER_PAGE (user_data);
  self->n_busy--;

  if (state == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The governance settings could not be read: %s"), error->message);

      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      gtk_label_set_text (self->principal_label, "—");
      gtk_label_set_text (self->admin_label, "—");
      orr_server_page_update_switch (self, FALSE);
      return;
    }

  g_free (self->principal);
  self->principal = g_strdup (state->principal);
  self->is_admin = state->is_admin;
  gtk_label_set_text (self->principal_label, state->principal);
  gtk_label_set_text (self->admin_label,
                      state->is_admin ? _("Yes: you may change settings, grants and pools")
                                      : _("No: settings, grants and pools are read-only for you"));
  orr_server_page_set_switch (self, state->enabled);
  orr_server_page_update_switch (self, FALSE);
  catalog_state_free (state);
}

static void
set_enabled_worker (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  gboolean enable = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "enable"));
  GError *error = NULL;
  gboolean done;

  done = enable ? orr_catalog_enable (catalog, &error) : orr_catalog_disable (catalog, &error);
  if (done)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_enabled_set (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean enable = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "enable"));
  gboolean done = g_task_propagate_boolean (G_TASK (result), &error);
  OrrServerPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SERVER_PAGE (user_data);
  self->n_busy--;

  if (!done)
    {
      g_autofree char *what = NULL;

      what = g_strdup_printf (enable ? _("External scripts could not be enabled: %s")
                                     : _("External scripts could not be disabled: %s"),
                              error->message);
      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      enable = !enable;
    }
  orr_server_page_set_switch (self, enable);
  orr_server_page_update_switch (self, FALSE);
}

static gboolean
on_switch_state_set (OrrServerPage *self,
                     gboolean       state,
                     GtkSwitch     *sw)
{
  g_autoptr(GTask) task = NULL;

  if (self->setting_switch || self->session == NULL)
    return FALSE;

  /* The switch shows the new position at once and its state (the colour)
   * once the catalog has taken it: catalog writes are not for the main loop. */
  orr_info_bar_hide (self->info_bar);
  task = g_task_new (NULL, self->cancellable, on_enabled_set, self);
  g_task_set_source_tag (task, on_switch_state_set);
  g_task_set_task_data (task, g_object_ref (self->session), g_object_unref);
  g_object_set_data (G_OBJECT (task), "enable", GINT_TO_POINTER (state));
  g_task_run_in_thread (task, set_enabled_worker);
  self->n_busy++;
  orr_server_page_update_switch (self, TRUE);
  return TRUE;
}

/* ------------------------------------------------------------ the runtime */

static void
runtime_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  OrrEngine *engine = task_data;
  GError *error = NULL;

  if (orr_engine_warm_up (engine, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_runtime (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  OrrEngine *engine = g_task_get_task_data (G_TASK (result));
  gboolean warm = g_task_propagate_boolean (G_TASK (result), &error);
  OrrServerPage *self;
  const char *version;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SERVER_PAGE (user_data);
  self->n_host_busy--;

  if (!warm)
    {
      g_autofree char *what = g_strdup_printf (_("The Python worker could not start: %s"), error->message);

      self->runtime_loaded = FALSE;
      gtk_label_set_text (self->python_label, what);
      gtk_label_set_text (self->numpy_label, "—");
      gtk_label_set_text (self->pandas_label, "—");
      orr_info_bar_show_error (self->info_bar, what,
                               _("Scripts cannot run until it does: check that python3-numpy and "
                                 "python3-pandas are installed, then refresh this page (Ctrl+R)."));
      return;
    }
  version = orr_engine_get_python_version (engine);
  gtk_label_set_text (self->python_label, version != NULL ? version : _("unknown"));
  version = orr_engine_get_numpy_version (engine);
  gtk_label_set_text (self->numpy_label, version != NULL ? version : _("not installed"));
  version = orr_engine_get_pandas_version (engine);
  gtk_label_set_text (self->pandas_label, version != NULL ? version : _("not installed"));
}

/* ---------------------------------------------------------- isolation */

/* Shows the report with hanging indents: a line "  name      what it
 * does…" that wraps continues under "what", not under "name". */
static void
orr_server_page_set_isolation_text (OrrServerPage *self,
                                    const char    *text)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->isolation_view);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self->isolation_view), "0000000000");
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  int char_width;
  guint i;

  pango_layout_get_pixel_size (layout, &char_width, NULL);
  char_width /= 10;
  gtk_text_buffer_set_text (buffer, "", 0);
  for (i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *p = line;
      const char *gap;
      g_autofree char *tag_name = NULL;
      GtkTextTag *tag;
      GtkTextIter end;
      int column = 0;

      /* The column where the description starts: after the leading
       * spaces, the name and the spaces that follow it. */
      while (*p == ' ')
        p++;
      gap = strstr (p, "  ");
      if (p > line && gap != NULL)
        {
          while (*gap == ' ')
            gap++;
          column = (int) g_utf8_pointer_to_offset (line, gap);
        }
      gtk_text_buffer_get_end_iter (buffer, &end);
      tag_name = g_strdup_printf ("hang-%d", column);
      tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer), tag_name);
      if (tag == NULL)
        /* Pango's negative indent: the first line as it is, the
         * following ones indented by that much. */
        tag = gtk_text_buffer_create_tag (buffer, tag_name, "indent", -column * char_width, NULL);
      gtk_text_buffer_insert_with_tags (buffer, &end, line, -1, tag, NULL);
      if (lines[i + 1] != NULL)
        {
          gtk_text_buffer_get_end_iter (buffer, &end);
          gtk_text_buffer_insert (buffer, &end, "\n", 1);
        }
    }
}

static void
isolation_worker (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  g_autoptr(OrrIsolation) isolation = orr_isolation_new ();

  g_task_return_pointer (task, orr_isolation_dup_report (isolation), g_free);
}

static void
on_isolation (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *report = g_task_propagate_pointer (G_TASK (result), &error);
  OrrServerPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SERVER_PAGE (user_data);
  self->n_host_busy--;
  orr_server_page_set_isolation_text (self, report != NULL ? g_strchomp (report) : "—");
}

static void
orr_server_page_run (OrrServerPage       *self,
                     gboolean             host,
                     gpointer             data,
                     GDestroyNotify       data_free,
                     GTaskThreadFunc      worker,
                     GAsyncReadyCallback  callback)
{
  g_autoptr(GTask) task = g_task_new (NULL, host ? self->host_cancellable : self->cancellable,
                                      callback, self);

  g_task_set_source_tag (task, worker);
  g_task_set_task_data (task, data, data_free);
  g_task_run_in_thread (task, worker);
  if (host)
    self->n_host_busy++;
  else
    self->n_busy++;
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_server_page_set_session (OrrPage    *page,
                             OrrSession *session)
{
  OrrServerPage *self = ORR_SERVER_PAGE (page);
  OrrConnection *connection;
  const char *driver;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->n_busy = 0;
  g_set_object (&self->session, session);
  g_clear_pointer (&self->principal, g_free);
  self->is_admin = FALSE;
  orr_info_bar_hide (self->info_bar);
  orr_server_page_set_switch (self, FALSE);
  orr_server_page_update_switch (self, FALSE);

  if (session == NULL)
    {
      gtk_label_set_text (self->source_label, _("Not connected"));
      gtk_label_set_text (self->dbms_label, "—");
      gtk_label_set_text (self->driver_label, "—");
      gtk_label_set_text (self->principal_label, "—");
      gtk_label_set_text (self->admin_label, "—");
      return;
    }

  connection = orr_session_get_connection (session);
  driver = orr_connection_get_driver_name (connection);
  gtk_label_set_text (self->source_label, orr_session_get_display_name (session));
  gtk_label_set_text (self->dbms_label, orr_session_get_dbms (session));
  gtk_label_set_text (self->driver_label, driver != NULL ? driver : "—");
  gtk_label_set_text (self->principal_label, _("Asking the database…"));
  gtk_label_set_text (self->admin_label, "—");

  orr_server_page_run (self, FALSE, g_object_ref (session), g_object_unref,
                       catalog_state_worker, on_catalog_state);

  /* The satellites' runtime and the host's isolation belong to this
   * machine, not the database: found once. */
  if (!self->runtime_loaded)
    {
      self->runtime_loaded = TRUE;
      gtk_label_set_text (self->python_label, _("Starting the Python worker…"));
      orr_server_page_run (self, TRUE, g_object_ref (orr_session_get_engine (session)), g_object_unref,
                           runtime_worker, on_runtime);
    }
  if (!self->isolation_loaded)
    {
      self->isolation_loaded = TRUE;
      orr_server_page_set_isolation_text (self, _("Probing what this host lets the engine enforce…"));
      orr_server_page_run (self, TRUE, NULL, NULL, isolation_worker, on_isolation);
    }
}

static OrrInfoBar *
orr_server_page_get_info_bar (OrrPage *page)
{
  return ORR_SERVER_PAGE (page)->info_bar;
}

static void
orr_server_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_server_page_set_session;
  iface->get_info_bar = orr_server_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

static void
orr_server_page_dispose (GObject *object)
{
  OrrServerPage *self = ORR_SERVER_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_cancellable_cancel (self->host_cancellable);
  g_clear_object (&self->host_cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->principal, g_free);

  G_OBJECT_CLASS (orr_server_page_parent_class)->dispose (object);
}

static void
orr_server_page_class_init (OrrServerPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_server_page_dispose;

  g_type_ensure (ORR_TYPE_INFO_BAR);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-server-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, source_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, dbms_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, driver_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, principal_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, admin_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, enabled_switch);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, switch_spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, switch_reason);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, python_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, numpy_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, pandas_label);
  gtk_widget_class_bind_template_child (widget_class, OrrServerPage, isolation_view);
  gtk_widget_class_bind_template_callback (widget_class, on_switch_state_set);
}

static void
orr_server_page_init (OrrServerPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->host_cancellable = g_cancellable_new ();
  gtk_label_set_text (self->source_label, _("Not connected"));
  gtk_label_set_text (self->python_label, _("Known once connected"));
  orr_server_page_set_isolation_text (self, _("Known once connected"));
}
