/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-security-page"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "orr-job-log.h"
#include "orr-page.h"
#include "orr-security-page.h"
#include "orr-ui-util.h"

#define LOG_LIMIT 1000

enum {
  PERM_PRINCIPAL,
  PERM_KIND,
  PERM_MAY_RUN,
  PERM_DIRECT,
  PERM_CHANGEABLE,
  PERM_GRANTED_BY,
  PERM_GRANTED_AT,
};


struct _OrrSecurityPage
{
  GtkBox              parent_instance;

  OrrInfoBar         *info_bar;
  GtkSpinner         *spinner;
  GtkLabel           *explain_label;
  GtkListStore       *permissions_store;
  GtkTreeView        *permissions_view;
  GtkListStore       *log_store;
  GtkTreeModelFilter *log_filter;
  GtkTreeView        *log_view;
  GtkComboBoxText    *principal_combo;
  GtkComboBoxText    *outcome_combo;
  GtkSearchEntry     *search_entry;
  GtkLabel           *log_note;

  OrrSession         *session;
  GCancellable       *cancellable;
  char               *search;
  guint               n_busy;
  guint               is_admin : 1;
  /* Set while the page fills the combo boxes itself. */
  guint               filling : 1;
};

static void orr_security_page_page_init (OrrPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrSecurityPage, orr_security_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_security_page_page_init))


gboolean
orr_security_page_is_busy (OrrSecurityPage *self)
{
  g_return_val_if_fail (ORR_IS_SECURITY_PAGE (self), FALSE);

  return self->n_busy > 0;
}

static void
orr_security_page_busy (OrrSecurityPage *self,
                        int              delta)
{
  self->n_busy += delta;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), self->n_busy > 0);
  if (self->n_busy > 0)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
}

static void
orr_security_page_run (OrrSecurityPage     *self,
                       GTaskThreadFunc      worker,
                       GAsyncReadyCallback  callback,
                       const char          *principal,
                       const char          *outcome,
                       gboolean             grant)
{
  g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, callback, self);

  g_task_set_source_tag (task, worker);
  g_task_set_task_data (task, g_object_ref (self->session), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "principal", g_strdup (principal), g_free);
  g_object_set_data_full (G_OBJECT (task), "outcome", g_strdup (outcome), g_free);
  g_object_set_data (G_OBJECT (task), "grant", GINT_TO_POINTER (grant));
  g_task_run_in_thread (task, worker);
  orr_security_page_busy (self, 1);
}

/* -------------------------------------------------------- permissions */

typedef struct {
  char *principal;
  gboolean is_admin;
  OrrSchema *schema;
  GPtrArray *batches;
} Permissions;

static void
permissions_free (Permissions *p)
{
  g_free (p->principal);
  g_clear_pointer (&p->schema, orr_schema_unref);
  g_clear_pointer (&p->batches, g_ptr_array_unref);
  g_free (p);
}

static void
permissions_worker (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  Permissions *p = g_new0 (Permissions, 1);
  g_autoptr(OrrCursor) cursor = NULL;
  GError *error = NULL;
  const char *principal;

  principal = orr_catalog_get_principal (catalog, &error);
  if (principal == NULL)
    goto fail;
  p->principal = g_strdup (principal);
  p->is_admin = orr_catalog_is_admin (catalog, &error);
  if (error != NULL)
    goto fail;
  cursor = orr_catalog_list_permissions (catalog, &error);
  if (cursor == NULL)
    goto fail;
  p->schema = orr_schema_ref (orr_cursor_get_schema (cursor));
  p->batches = orr_cursor_fetch_all (cursor, cancellable, &error);
  if (p->batches == NULL)
    goto fail;
  g_task_return_pointer (task, p, (GDestroyNotify) permissions_free);
  return;

fail:
  permissions_free (p);
  g_task_return_error (task, error);
}

static void
orr_security_page_add_principal (OrrSecurityPage *self,
                                 const char      *principal)
{
  GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (self->principal_combo));
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *id = NULL;

      gtk_tree_model_get (model, &iter, gtk_combo_box_get_id_column (GTK_COMBO_BOX (self->principal_combo)), &id, -1);
      if (g_strcmp0 (id, principal) == 0)
        return;
    }
  self->filling = TRUE;
  gtk_combo_box_text_append (self->principal_combo, principal, principal);
  self->filling = FALSE;
}

static void
on_permissions (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  Permissions *p = g_task_propagate_pointer (G_TASK (result), &error);
  OrrSecurityPage *self;
  int c_principal;
  int c_kind;
  int c_granted;
  int c_through;
  int c_granted_by;
  int c_granted_at;
  g_autofree char *explain = NULL;
  guint b;
  guint row;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SECURITY_PAGE (user_data);
  orr_security_page_busy (self, -1);
  gtk_list_store_clear (self->permissions_store);

  if (p == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The permissions could not be read: %s"), error->message);

      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      return;
    }

  self->is_admin = p->is_admin;
  if (p->is_admin)
    explain = g_strdup (_("Tick a principal to grant it EXECUTE ANY EXTERNAL SCRIPT; untick to revoke. "
                          "A role’s members inherit its grant."));
  else
    explain = g_strdup_printf (_("Read-only: only an administrator of the database can grant or revoke, "
                                 "and you are connected as %s. Connect as an administrator to change these."),
                               p->principal);
  gtk_label_set_text (self->explain_label, explain);

  c_principal = orr_schema_find (p->schema, "principal");
  c_kind = orr_schema_find (p->schema, "kind");
  c_granted = orr_schema_find (p->schema, "granted");
  c_through = orr_schema_find (p->schema, "through");
  c_granted_by = orr_schema_find (p->schema, "granted_by");
  c_granted_at = orr_schema_find (p->schema, "granted_at");

  for (b = 0; b < p->batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (p->batches, b);

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          g_autofree char *principal = orr_batch_dup_text (batch, c_principal, row);
          g_autofree char *kind = orr_batch_dup_text (batch, c_kind, row);
          g_autofree char *granted = orr_batch_dup_text (batch, c_granted, row);
          g_autofree char *through = orr_batch_dup_text (batch, c_through, row);
          g_autofree char *granted_by = orr_batch_dup_text (batch, c_granted_by, row);
          g_autofree char *granted_at = orr_batch_dup_text (batch, c_granted_at, row);
          g_autofree char *may_run = NULL;
          gboolean superuser = g_strcmp0 (kind, "superuser") == 0;
          gboolean direct = *granted_by != '\0';
          const char *shown_kind;

          if (superuser)
            may_run = g_strdup (_("Yes, as a superuser"));
          else if (direct)
            may_run = g_strdup (_("Yes"));
          else if (*through != '\0')
            /* Translators: "Yes, through analysts" — the roles that hold the grant. */
            may_run = g_strdup_printf (_("Yes, through %s"), through);
          else if (orr_text_is_true (granted))
            may_run = g_strdup (_("Yes"));
          else if (p->is_admin && g_strcmp0 (principal, p->principal) == 0)
            may_run = g_strdup (_("Yes, as an administrator"));
          else
            may_run = g_strdup (_("No"));

          if (g_strcmp0 (kind, "superuser") == 0)
            shown_kind = _("Superuser");
          else if (g_strcmp0 (kind, "login") == 0)
            shown_kind = _("Login");
          else if (g_strcmp0 (kind, "role") == 0)
            shown_kind = _("Role");
          else
            shown_kind = _("User");

          gtk_list_store_insert_with_values (self->permissions_store, NULL, -1,
                                             PERM_PRINCIPAL, principal,
                                             PERM_KIND, shown_kind,
                                             PERM_MAY_RUN, may_run,
                                             PERM_DIRECT, direct || superuser,
                                             PERM_CHANGEABLE, p->is_admin && !superuser,
                                             PERM_GRANTED_BY, granted_by,
                                             PERM_GRANTED_AT, granted_at,
                                             -1);
          orr_security_page_add_principal (self, principal);
        }
    }
  permissions_free (p);
}

static void
grant_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  const char *principal = g_object_get_data (G_OBJECT (task), "principal");
  gboolean grant = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "grant"));
  GError *error = NULL;
  gboolean done;

  done = grant ? orr_catalog_grant (catalog, principal, &error)
               : orr_catalog_revoke (catalog, principal, &error);
  if (done)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void orr_security_page_load_permissions (OrrSecurityPage *self);

static void
on_granted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  const char *principal = g_object_get_data (G_OBJECT (result), "principal");
  gboolean grant = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "grant"));
  OrrSecurityPage *self;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && orr_error_is_cancelled (error))
    return;
  self = ORR_SECURITY_PAGE (user_data);
  orr_security_page_busy (self, -1);

  if (error != NULL)
    {
      g_autofree char *what = NULL;

      what = g_strdup_printf (grant ? _("%s could not be granted the permission: %s")
                                    : _("The permission could not be revoked from %s: %s"),
                              principal, error->message);
      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
    }
  /* What the catalog now says, whichever way it went. */
  orr_security_page_load_permissions (self);
}

static gboolean
orr_security_page_toggle_path (OrrSecurityPage *self,
                               GtkTreePath     *path)
{
  g_autofree char *principal = NULL;
  gboolean direct;
  gboolean changeable;
  GtkTreeIter iter;

  if (self->session == NULL ||
      !gtk_tree_model_get_iter (GTK_TREE_MODEL (self->permissions_store), &iter, path))
    return FALSE;
  gtk_tree_model_get (GTK_TREE_MODEL (self->permissions_store), &iter,
                      PERM_PRINCIPAL, &principal,
                      PERM_DIRECT, &direct,
                      PERM_CHANGEABLE, &changeable,
                      -1);
  if (!changeable)
    return FALSE;

  orr_info_bar_hide (self->info_bar);
  /* Shown at once; the reload after the catalog's answer has the last word. */
  gtk_list_store_set (self->permissions_store, &iter,
                      PERM_DIRECT, !direct,
                      PERM_CHANGEABLE, FALSE,
                      -1);
  orr_security_page_run (self, grant_worker, on_granted, principal, NULL, !direct);
  return TRUE;
}

static void
on_grant_toggled (OrrSecurityPage       *self,
                  const char            *path_text,
                  GtkCellRendererToggle *renderer)
{
  g_autoptr(GtkTreePath) path = gtk_tree_path_new_from_string (path_text);

  orr_security_page_toggle_path (self, path);
}

gboolean
orr_security_page_toggle_grant (OrrSecurityPage *self,
                                const char      *principal)
{
  GtkTreeModel *model;
  GtkTreeIter iter;
  gboolean valid;

  g_return_val_if_fail (ORR_IS_SECURITY_PAGE (self), FALSE);

  model = GTK_TREE_MODEL (self->permissions_store);
  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *name = NULL;

      gtk_tree_model_get (model, &iter, PERM_PRINCIPAL, &name, -1);
      if (g_strcmp0 (name, principal) == 0)
        {
          g_autoptr(GtkTreePath) path = gtk_tree_model_get_path (model, &iter);

          return orr_security_page_toggle_path (self, path);
        }
    }
  return FALSE;
}

static void
orr_security_page_load_permissions (OrrSecurityPage *self)
{
  if (self->session == NULL)
    return;
  orr_security_page_run (self, permissions_worker, on_permissions, NULL, NULL, FALSE);
}

/* ------------------------------------------------------------ the log */

static void
orr_security_page_update_log_note (OrrSecurityPage *self)
{
  int shown = gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->log_filter), NULL);
  int total = gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->log_store), NULL);
  g_autofree char *note = NULL;

  if (shown == total)
    note = g_strdup_printf (ngettext ("%d job", "%d jobs", total), total);
  else
    /* Translators: "12 of 40 jobs match the search". */
    note = g_strdup_printf (ngettext ("%d of %d job matches the search", "%d of %d jobs match the search", total),
                            shown, total);
  if (total >= LOG_LIMIT)
    {
      g_autofree char *more = g_strdup_printf (_("%s; only the latest %d are read: filter by principal or outcome to see older ones"),
                                               note, LOG_LIMIT);
      g_free (note);
      note = g_steal_pointer (&more);
    }
  gtk_label_set_text (self->log_note, note);
}

static void
principal_seen (const char *principal,
                gpointer    user_data)
{
  orr_security_page_add_principal (ORR_SECURITY_PAGE (user_data), principal);
}

static void
on_log (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrJobLog) log = orr_job_log_load_finish (result, &error);
  OrrSecurityPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SECURITY_PAGE (user_data);
  orr_security_page_busy (self, -1);

  if (log == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The job log could not be read: %s"), error->message);

      gtk_list_store_clear (self->log_store);
      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      orr_security_page_update_log_note (self);
      return;
    }
  orr_job_log_fill (log, self->log_store, principal_seen, self);
  orr_security_page_update_log_note (self);
}

static void
orr_security_page_load_log (OrrSecurityPage *self)
{
  const char *principal;
  const char *outcome;

  if (self->session == NULL)
    return;
  principal = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->principal_combo));
  outcome = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->outcome_combo));
  orr_job_log_load_async (self->session,
                          principal != NULL && *principal != '\0' ? principal : NULL,
                          outcome != NULL && *outcome != '\0' ? outcome : NULL,
                          LOG_LIMIT, self->cancellable, on_log, self);
  orr_security_page_busy (self, 1);
}

static void
on_log_filter_changed (OrrSecurityPage *self,
                       GtkComboBox     *combo)
{
  if (!self->filling)
    orr_security_page_load_log (self);
}

static gboolean
log_visible (GtkTreeModel *model,
             GtkTreeIter  *iter,
             gpointer      user_data)
{
  OrrSecurityPage *self = user_data;
  g_autofree char *text = NULL;

  if (self->search == NULL)
    return TRUE;
  gtk_tree_model_get (model, iter, ORR_JOB_LOG_SEARCH, &text, -1);
  return text != NULL && strstr (text, self->search) != NULL;
}

static void
on_search_changed (OrrSecurityPage *self,
                   GtkSearchEntry  *entry)
{
  const char *text = gtk_entry_get_text (GTK_ENTRY (entry));

  g_clear_pointer (&self->search, g_free);
  if (*text != '\0')
    self->search = g_utf8_casefold (text, -1);
  gtk_tree_model_filter_refilter (self->log_filter);
  orr_security_page_update_log_note (self);
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_security_page_reset_principals (OrrSecurityPage *self)
{
  self->filling = TRUE;
  gtk_combo_box_text_remove_all (self->principal_combo);
  gtk_combo_box_text_append (self->principal_combo, "", _("All principals"));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->principal_combo), "");
  self->filling = FALSE;
}

static void
orr_security_page_set_session (OrrPage    *page,
                               OrrSession *session)
{
  OrrSecurityPage *self = ORR_SECURITY_PAGE (page);
  gboolean same = session != NULL && session == self->session;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  orr_security_page_busy (self, -(int) self->n_busy);
  g_set_object (&self->session, session);
  orr_info_bar_hide (self->info_bar);

  if (!same)
    {
      gtk_list_store_clear (self->permissions_store);
      gtk_list_store_clear (self->log_store);
      orr_security_page_reset_principals (self);
    }
  if (session == NULL)
    {
      gtk_label_set_text (self->explain_label, _("Connect to a database to see who may run external scripts."));
      gtk_label_set_text (self->log_note, "");
      return;
    }
  orr_security_page_load_permissions (self);
  orr_security_page_load_log (self);
}

static OrrInfoBar *
orr_security_page_get_info_bar (OrrPage *page)
{
  return ORR_SECURITY_PAGE (page)->info_bar;
}

static void
orr_security_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_security_page_set_session;
  iface->get_info_bar = orr_security_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

static void
orr_security_page_dispose (GObject *object)
{
  OrrSecurityPage *self = ORR_SECURITY_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->search, g_free);

  G_OBJECT_CLASS (orr_security_page_parent_class)->dispose (object);
}

static void
orr_security_page_class_init (OrrSecurityPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_security_page_dispose;

  g_type_ensure (ORR_TYPE_INFO_BAR);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-security-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, explain_label);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, permissions_store);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, permissions_view);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, log_store);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, log_filter);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, log_view);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, principal_combo);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, outcome_combo);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrSecurityPage, log_note);
  gtk_widget_class_bind_template_callback (widget_class, on_grant_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_log_filter_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
}

static void
orr_security_page_init (OrrSecurityPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  gtk_tree_model_filter_set_visible_func (self->log_filter, log_visible, self, NULL);

  orr_name_internal_parts (GTK_WIDGET (self->principal_combo));
  orr_name_internal_parts (GTK_WIDGET (self->outcome_combo));

  self->filling = TRUE;
  gtk_combo_box_text_append (self->outcome_combo, "", _("All outcomes"));
  gtk_combo_box_text_append (self->outcome_combo, "succeeded", C_("outcome", "Succeeded"));
  gtk_combo_box_text_append (self->outcome_combo, "failed", C_("outcome", "Failed"));
  gtk_combo_box_text_append (self->outcome_combo, "cancelled", C_("outcome", "Cancelled"));
  gtk_combo_box_text_append (self->outcome_combo, "killed", C_("outcome", "Killed"));
  gtk_combo_box_text_append (self->outcome_combo, "rejected", C_("outcome", "Rejected"));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->outcome_combo), "");
  self->filling = FALSE;
  orr_security_page_reset_principals (self);
  gtk_label_set_text (self->explain_label, _("Connect to a database to see who may run external scripts."));
}
