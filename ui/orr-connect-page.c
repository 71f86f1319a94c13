/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-connect-page"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "orr-connect-page.h"
#include "orr-keyring.h"
#include "orr-odbc-sources.h"
#include "orr-page.h"
#include "orr-ui-util.h"

enum {
  SOURCE_NAME,
  SOURCE_KIND,
  SOURCE_DRIVER,
  SOURCE_TARGET,
};

enum {
  DRIVER_NAME,
  DRIVER_ATTRIBUTES,
};

enum {
  RECENT_SHOWN,
  RECENT_USER,
  RECENT_REMEMBERED,
};

enum {
  CONNECT_REQUESTED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef enum {
  KEYRING_UNKNOWN,
  KEYRING_AVAILABLE,
  KEYRING_MISSING,
} KeyringState;

struct _OrrConnectPage
{
  GtkBox           parent_instance;

  OrrInfoBar      *info_bar;
  GtkLabel        *connection_label;
  GtkEntry        *target_entry;
  GtkEntry        *user_entry;
  GtkEntry        *password_entry;
  GtkCheckButton  *remember_check;
  GtkLabel        *keyring_label;
  GtkListStore    *sources_store;
  GtkListStore    *drivers_store;
  GtkListStore    *recent_store;
  GtkTreeView     *recent_view;
  GtkTreeView     *sources_view;
  GtkTreeView     *drivers_view;
  GtkButton       *forget_button;

  GSettings       *settings;
  GCancellable    *cancellable;
  KeyringState     keyring;

  /* A password to keep once the connection it was typed for opens. */
  char            *store_target;
  char            *store_user;
  char            *store_password;

  /* Filling the fields from a list must not select in the other lists. */
  guint            filling : 1;
};

static void orr_connect_page_page_init (OrrPageInterface *iface);
static void orr_connect_page_select_current (OrrConnectPage *self);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrConnectPage, orr_connect_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_connect_page_page_init))

/* ------------------------------------------------- connection strings */

/* An ODBC attribute value, braced when it holds what would end it. */
static void
append_value (GString    *out,
              const char *value)
{
  const char *p;

  if (strpbrk (value, ";{}") == NULL && !g_ascii_isspace (value[0]) &&
      (value[0] == '\0' || !g_ascii_isspace (value[strlen (value) - 1])))
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '{');
  for (p = value; *p != '\0'; p++)
    {
      if (*p == '}')
        g_string_append_c (out, '}');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '}');
}

static gboolean
has_key (const char *connection_string,
         const char *wanted)
{
  g_auto(GStrv) pairs = g_strsplit (connection_string, ";", -1);
  guint i;

  for (i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (pairs[i], eq - pairs[i]));
      if (g_ascii_strcasecmp (key, wanted) == 0)
        return TRUE;
    }
  return FALSE;
}

/* "DSN=name" for a bare data source name, else the string without a
 * trailing ';'. */
static GString *
base_string (const char *target)
{
  GString *out = g_string_new (NULL);

  if (strchr (target, '=') == NULL)
    {
      g_string_append (out, "DSN=");
      append_value (out, target);
    }
  else
    {
      g_string_append (out, target);
      while (out->len > 0 && (out->str[out->len - 1] == ';' || g_ascii_isspace (out->str[out->len - 1])))
        g_string_truncate (out, out->len - 1);
    }
  return out;
}

char *
orr_connect_page_compose_target (const char *target,
                                 const char *user,
                                 const char *password)
{
  g_autoptr(GString) out = NULL;

  if (*target == '\0')
    return g_strdup ("");
  if (*user == '\0' && *password == '\0')
    return g_strdup (target);

  out = base_string (target);
  if (*user != '\0' && !has_key (out->str, "UID") && !has_key (out->str, "User"))
    {
      g_string_append (out, ";UID=");
      append_value (out, user);
    }
  if (*password != '\0' && !has_key (out->str, "PWD") && !has_key (out->str, "Password"))
    {
      g_string_append (out, ";PWD=");
      append_value (out, password);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
orr_connect_page_compose_remembered (const char *target,
                                     const char *user)
{
  g_autoptr(GString) out = NULL;

  if (orr_connection_string_has_password (target))
    return NULL;
  if (*target == '\0' || *user == '\0')
    return g_strdup (target);

  out = base_string (target);
  if (!has_key (out->str, "UID") && !has_key (out->str, "User"))
    {
      g_string_append (out, ";UID=");
      append_value (out, user);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
orr_connect_page_split_remembered (const char  *remembered,
                                   char       **target,
                                   char       **user)
{
  g_auto(GStrv) pairs = NULL;
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();
  g_autofree char *dsn = NULL;
  guint i;

  *user = NULL;
  if (strchr (remembered, '=') == NULL)
    {
      *target = g_strdup (remembered);
      *user = g_strdup ("");
      return;
    }

  pairs = g_strsplit (remembered, ";", -1);
  for (i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL)
        {
          if (*g_strstrip (pairs[i]) != '\0')
            g_ptr_array_add (rest, pairs[i]);
          continue;
        }
      key = g_strstrip (g_strndup (pairs[i], eq - pairs[i]));
      if ((g_ascii_strcasecmp (key, "UID") == 0 || g_ascii_strcasecmp (key, "User") == 0) && *user == NULL)
        {
          g_autofree char *value = g_strstrip (g_strdup (eq + 1));
          gsize len = strlen (value);

          if (len >= 2 && value[0] == '{' && value[len - 1] == '}')
            *user = g_strndup (value + 1, len - 2);
          else
            *user = g_steal_pointer (&value);
          continue;
        }
      if (g_ascii_strcasecmp (key, "DSN") == 0)
        dsn = g_strstrip (g_strdup (eq + 1));
      g_ptr_array_add (rest, pairs[i]);
    }
  if (*user == NULL)
    *user = g_strdup ("");
  /* A data source and a user: show the plain name again. */
  if (dsn != NULL && rest->len == 1 && strpbrk (dsn, "{}") == NULL)
    *target = g_steal_pointer (&dsn);
  else
    {
      g_ptr_array_add (rest, NULL);
      *target = g_strjoinv (";", (char **) rest->pdata);
    }
}

/* ------------------------------------------------------------ keyring */

static void
orr_connect_page_clear_pending_store (OrrConnectPage *self)
{
  g_clear_pointer (&self->store_target, g_free);
  g_clear_pointer (&self->store_user, g_free);
  /* A password does not linger in freed memory. */
  if (self->store_password != NULL)
    memset (self->store_password, 0, strlen (self->store_password));
  g_clear_pointer (&self->store_password, g_free);
}

static void
orr_connect_page_update_keyring (OrrConnectPage *self)
{
  gboolean remember = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->remember_check));

  switch (self->keyring)
    {
    case KEYRING_UNKNOWN:
      gtk_label_set_text (self->keyring_label, _("Looking for the desktop keyring…"));
      break;
    case KEYRING_AVAILABLE:
      gtk_label_set_text (self->keyring_label,
                          remember ? _("Passwords are kept in the desktop keyring, never in a file.")
                                   : _("Passwords are used for this connection only."));
      break;
    case KEYRING_MISSING:
      gtk_label_set_text (self->keyring_label,
                          _("No desktop keyring (Secret Service) is running: passwords are used "
                            "for this connection only and not kept. Start GNOME Keyring or "
                            "KeePassXC to keep them."));
      break;
    default:
      g_assert_not_reached ();
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->remember_check), self->keyring == KEYRING_AVAILABLE);
  /* Without a keyring nothing is remembered, and the box says so. */
  if (self->keyring == KEYRING_MISSING && remember)
    {
      self->filling = TRUE;
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->remember_check), FALSE);
      self->filling = FALSE;
    }
}

static void
on_keyring_checked (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  OrrConnectPage *self;
  gboolean available = orr_keyring_check_finish (result, &error);

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_CONNECT_PAGE (user_data);
  if (!available)
    g_debug ("No keyring: %s", error->message);
  self->keyring = available ? KEYRING_AVAILABLE : KEYRING_MISSING;
  orr_connect_page_update_keyring (self);
}

static void
on_password_stored (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  OrrConnectPage *self;
  g_autofree char *what = NULL;

  if (orr_keyring_store_finish (result, &error) || orr_error_is_cancelled (error))
    return;
  self = ORR_CONNECT_PAGE (user_data);
  what = g_strdup_printf (_("The password could not be kept in the keyring: %s"), error->message);
  orr_info_bar_show (self->info_bar, GTK_MESSAGE_WARNING, what,
                     _("It was used for this connection only: type it again next time, or unlock the keyring."));
}

static void
on_password_forgotten (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!orr_keyring_forget_finish (result, &error) && !orr_error_is_cancelled (error))
    g_debug ("Could not remove a password from the keyring: %s", error->message);
}

/* ------------------------------------------------------------ connect */

static void
orr_connect_page_emit (OrrConnectPage *self,
                       const char     *password)
{
  g_autofree char *target = g_strstrip (g_strdup (gtk_entry_get_text (self->target_entry)));
  g_autofree char *user = g_strstrip (g_strdup (gtk_entry_get_text (self->user_entry)));
  g_autofree char *open = orr_connect_page_compose_target (target, user, password);
  g_autofree char *remembered = orr_connect_page_compose_remembered (target, user);

  g_signal_emit (self, signals[CONNECT_REQUESTED], 0, open, remembered);
  if (open != NULL)
    memset (open, 0, strlen (open));
}

static void
on_password_found (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *password = orr_keyring_lookup_finish (result, &error);
  OrrConnectPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_CONNECT_PAGE (user_data);
  if (error != NULL)
    g_debug ("Keyring lookup failed: %s", error->message);
  orr_connect_page_emit (self, password != NULL ? password : "");
  if (password != NULL)
    memset (password, 0, strlen (password));
}

void
orr_connect_page_request_connect (OrrConnectPage *self)
{
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;
  const char *password;
  gboolean remember;

  g_return_if_fail (ORR_IS_CONNECT_PAGE (self));

  target = g_strstrip (g_strdup (gtk_entry_get_text (self->target_entry)));
  user = g_strstrip (g_strdup (gtk_entry_get_text (self->user_entry)));
  password = gtk_entry_get_text (self->password_entry);
  remember = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->remember_check));

  orr_info_bar_hide (self->info_bar);
  orr_connect_page_clear_pending_store (self);

  if (*target != '\0' && *user != '\0' && *password == '\0' && self->keyring != KEYRING_MISSING)
    {
      /* The password kept for this data source and user, if any. */
      orr_keyring_lookup_async (target, user, self->cancellable, on_password_found, self);
      return;
    }

  if (*target != '\0' && *user != '\0' && *password != '\0' && remember &&
      self->keyring == KEYRING_AVAILABLE)
    {
      self->store_target = g_strdup (target);
      self->store_user = g_strdup (user);
      self->store_password = g_strdup (password);
    }
  orr_connect_page_emit (self, password);
}

void
orr_connect_page_connect_failed (OrrConnectPage *self)
{
  g_return_if_fail (ORR_IS_CONNECT_PAGE (self));

  orr_connect_page_clear_pending_store (self);
}

/* --------------------------------------------------------- the fields */

static void
orr_connect_page_fill (OrrConnectPage *self,
                       const char     *target,
                       const char     *user)
{
  self->filling = TRUE;
  gtk_entry_set_text (self->target_entry, target);
  if (user != NULL)
    gtk_entry_set_text (self->user_entry, user);
  gtk_entry_set_text (self->password_entry, "");
  self->filling = FALSE;
}

static void
on_entry_activate (OrrConnectPage *self,
                   GtkEntry       *entry)
{
  GActionGroup *group = gtk_widget_get_action_group (GTK_WIDGET (self), "win");

  if (group != NULL)
    g_action_group_activate_action (group, "connect", NULL);
}

static void
on_demo_clicked (OrrConnectPage *self,
                 GtkButton      *button)
{
  orr_connect_page_fill (self, "", "");
  on_entry_activate (self, NULL);
}

static void
on_remember_toggled (OrrConnectPage *self,
                     GtkCheckButton *check)
{
  if (self->filling)
    return;
  if (self->settings != NULL)
    g_settings_set_boolean (self->settings, "remember-passwords",
                            gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (check)));
  orr_connect_page_update_keyring (self);
}

static gboolean
get_selected (GtkTreeView  *view,
              GtkTreeIter  *iter)
{
  return gtk_tree_selection_get_selected (gtk_tree_view_get_selection (view), NULL, iter);
}

static void
on_source_selection_changed (OrrConnectPage   *self,
                             GtkTreeSelection *selection)
{
  g_autofree char *target = NULL;
  GtkTreeIter iter;

  if (self->filling || !gtk_tree_selection_get_selected (selection, NULL, &iter))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->sources_store), &iter, SOURCE_TARGET, &target, -1);
  orr_connect_page_fill (self, target, NULL);
}

static void
on_source_activated (OrrConnectPage    *self,
                     GtkTreePath       *path,
                     GtkTreeViewColumn *column,
                     GtkTreeView       *view)
{
  on_entry_activate (self, NULL);
}

static void
on_driver_activated (OrrConnectPage    *self,
                     GtkTreePath       *path,
                     GtkTreeViewColumn *column,
                     GtkTreeView       *view)
{
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  GtkTreeIter iter;

  if (!gtk_tree_model_get_iter (GTK_TREE_MODEL (self->drivers_store), &iter, path))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->drivers_store), &iter, DRIVER_NAME, &name, -1);
  text = g_strdup_printf ("Driver={%s};Server=;Database=", name);
  orr_connect_page_fill (self, text, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->target_entry));
  /* The caret after "Server=", where the user types next. */
  gtk_editable_set_position (GTK_EDITABLE (self->target_entry), (int) (strlen (name) + strlen ("Driver={};Server=")));
}

static void
on_recent_selection_changed (OrrConnectPage   *self,
                             GtkTreeSelection *selection)
{
  g_autofree char *remembered = NULL;
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;
  GtkTreeIter iter;
  gboolean selected = gtk_tree_selection_get_selected (selection, NULL, &iter);

  gtk_widget_set_sensitive (GTK_WIDGET (self->forget_button), selected);
  if (self->filling || !selected)
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->recent_store), &iter, RECENT_REMEMBERED, &remembered, -1);
  orr_connect_page_split_remembered (remembered, &target, &user);
  orr_connect_page_fill (self, target, user);
}

static void
on_recent_activated (OrrConnectPage    *self,
                     GtkTreePath       *path,
                     GtkTreeViewColumn *column,
                     GtkTreeView       *view)
{
  on_entry_activate (self, NULL);
}

static void
on_forget_clicked (OrrConnectPage *self,
                   GtkButton      *button)
{
  g_autofree char *remembered = NULL;
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) recent = NULL;
  GtkTreeIter iter;
  guint i;

  if (!get_selected (self->recent_view, &iter))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->recent_store), &iter, RECENT_REMEMBERED, &remembered, -1);
  orr_connect_page_split_remembered (remembered, &target, &user);
  if (*user != '\0' && self->keyring == KEYRING_AVAILABLE)
    orr_keyring_forget_async (target, user, self->cancellable, on_password_forgotten, NULL);

  if (self->settings == NULL)
    {
      gtk_list_store_remove (self->recent_store, &iter);
      return;
    }
  old = g_settings_get_strv (self->settings, "recent-connections");
  for (i = 0; old[i] != NULL; i++)
    if (g_strcmp0 (old[i], remembered) != 0)
      g_strv_builder_add (builder, old[i]);
  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-connections", (const char * const *) recent);
}

/* ---------------------------------------------------------- the lists */

static void
orr_connect_page_load_recent (OrrConnectPage *self)
{
  g_auto(GStrv) recent = NULL;
  guint i;

  gtk_list_store_clear (self->recent_store);
  if (self->settings == NULL)
    return;
  recent = g_settings_get_strv (self->settings, "recent-connections");
  for (i = 0; recent[i] != NULL; i++)
    {
      g_autofree char *target = NULL;
      g_autofree char *user = NULL;

      orr_connect_page_split_remembered (recent[i], &target, &user);
      gtk_list_store_insert_with_values (self->recent_store, NULL, -1,
                                         RECENT_SHOWN, target,
                                         RECENT_USER, user,
                                         RECENT_REMEMBERED, recent[i],
                                         -1);
    }
}

static void
on_recent_changed (OrrConnectPage *self,
                   const char     *key,
                   GSettings      *settings)
{
  orr_connect_page_load_recent (self);
}

/* Selects the data source the entry names, if it is listed. */
static void
orr_connect_page_select_current (OrrConnectPage *self)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->sources_store);
  const char *text = gtk_entry_get_text (self->target_entry);
  GtkTreeSelection *selection = gtk_tree_view_get_selection (self->sources_view);
  GtkTreeIter iter;
  gboolean valid;

  self->filling = TRUE;
  gtk_tree_selection_unselect_all (selection);
  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *target = NULL;

      gtk_tree_model_get (model, &iter, SOURCE_TARGET, &target, -1);
      if (g_strcmp0 (target, text) == 0)
        {
          gtk_tree_selection_select_iter (selection, &iter);
          break;
        }
    }
  self->filling = FALSE;
}

static void
on_sources_listed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sources = orr_odbc_sources_list_finish (result, &error);
  OrrConnectPage *self;
  guint i;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_CONNECT_PAGE (user_data);

  self->filling = TRUE;
  gtk_list_store_clear (self->sources_store);
  gtk_list_store_clear (self->drivers_store);
  gtk_list_store_insert_with_values (self->sources_store, NULL, -1,
                                     SOURCE_NAME, _("Demo database"),
                                     SOURCE_KIND, _("Built in"),
                                     SOURCE_DRIVER, _("SQLite, with the iris and sales tables"),
                                     SOURCE_TARGET, "",
                                     -1);
  self->filling = FALSE;

  orr_connect_page_select_current (self);
  if (sources == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The ODBC data sources could not be listed: %s"), error->message);

      orr_info_bar_show (self->info_bar, GTK_MESSAGE_WARNING, what,
                         _("Type a connection string instead, or check the unixODBC installation (odbcinst -j)."));
      return;
    }

  for (i = 0; i < sources->len; i++)
    {
      OrrOdbcSource *s = g_ptr_array_index (sources, i);

      if (s->kind == ORR_ODBC_SOURCE_DRIVER)
        gtk_list_store_insert_with_values (self->drivers_store, NULL, -1,
                                           DRIVER_NAME, s->name,
                                           DRIVER_ATTRIBUTES, s->description,
                                           -1);
      else
        {
          gtk_list_store_insert_with_values (self->sources_store, NULL, -1,
                                             SOURCE_NAME, s->name,
                                             SOURCE_KIND, s->kind == ORR_ODBC_SOURCE_USER ? _("User") : _("System"),
                                             SOURCE_DRIVER, s->description,
                                             SOURCE_TARGET, s->name,
                                             -1);
        }
    }
  orr_connect_page_select_current (self);
}

static void
orr_connect_page_load_sources (OrrConnectPage *self)
{
  orr_odbc_sources_list_async (self->cancellable, on_sources_listed, self);
}

static void
on_reload_clicked (OrrConnectPage *self,
                   GtkButton      *button)
{
  orr_connect_page_load_sources (self);
}

void
orr_connect_page_set_settings (OrrConnectPage *self,
                               GSettings      *settings)
{
  g_autofree char *last = NULL;
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;

  g_return_if_fail (ORR_IS_CONNECT_PAGE (self));

  if (!g_set_object (&self->settings, settings) || settings == NULL)
    return;

  last = g_settings_get_string (settings, "last-connection");
  orr_connect_page_split_remembered (last, &target, &user);
  orr_connect_page_fill (self, target, user);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->remember_check),
                                g_settings_get_boolean (settings, "remember-passwords"));
  g_signal_connect_object (settings, "changed::recent-connections",
                           G_CALLBACK (on_recent_changed), self, G_CONNECT_SWAPPED);
  orr_connect_page_load_recent (self);
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_connect_page_set_session (OrrPage    *page,
                              OrrSession *session)
{
  OrrConnectPage *self = ORR_CONNECT_PAGE (page);
  g_autofree char *text = NULL;

  if (session == NULL)
    {
      gtk_label_set_text (self->connection_label, _("Not connected"));
      return;
    }

  /* Translators: "Connected to Demo database (SQLite 3.40.1)". */
  text = g_strdup_printf (_("Connected to %s (%s)"), orr_session_get_display_name (session),
                          orr_session_get_dbms (session));
  gtk_label_set_text (self->connection_label, text);

  if (self->store_password != NULL)
    orr_keyring_store_async (self->store_target, self->store_user, self->store_password,
                             self->cancellable, on_password_stored, self);
  orr_connect_page_clear_pending_store (self);
  gtk_entry_set_text (self->password_entry, "");
}

static OrrInfoBar *
orr_connect_page_get_info_bar (OrrPage *page)
{
  return ORR_CONNECT_PAGE (page)->info_bar;
}

static void
orr_connect_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_connect_page_set_session;
  iface->get_info_bar = orr_connect_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

static void
orr_connect_page_dispose (GObject *object)
{
  OrrConnectPage *self = ORR_CONNECT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);
  orr_connect_page_clear_pending_store (self);

  G_OBJECT_CLASS (orr_connect_page_parent_class)->dispose (object);
}

static void
orr_connect_page_class_init (OrrConnectPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_connect_page_dispose;

  /**
   * OrrConnectPage::connect-requested:
   * @target: the ODBC target to open, password included ("" for the demo database)
   * @remembered: (nullable): what the settings may keep of it
   */
  signals[CONNECT_REQUESTED] =
    g_signal_new ("connect-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  g_type_ensure (ORR_TYPE_INFO_BAR);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-connect-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, connection_label);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, target_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, user_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, password_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, remember_check);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, keyring_label);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, sources_store);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, drivers_store);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, recent_store);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, recent_view);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, sources_view);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, drivers_view);
  gtk_widget_class_bind_template_child (widget_class, OrrConnectPage, forget_button);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_demo_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_remember_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_source_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_source_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_driver_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_recent_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_recent_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_forget_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_reload_clicked);
}

static void
orr_connect_page_init (OrrConnectPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  /* The list shows which data source the entry names. */
  g_signal_connect_object (self->target_entry, "changed",
                           G_CALLBACK (orr_connect_page_select_current), self, G_CONNECT_SWAPPED);
  orr_connect_page_update_keyring (self);
  orr_keyring_check_async (self->cancellable, on_keyring_checked, self);
  orr_connect_page_load_sources (self);
}
