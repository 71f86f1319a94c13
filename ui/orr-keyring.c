/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-keyring"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <libsecret/secret.h>

#include "orr-keyring.h"

static const SecretSchema *
password_schema (void)
{
  static const SecretSchema schema = {
    "org.orrery.Console.Password", SECRET_SCHEMA_NONE,
    {
      { "target", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };

  return &schema;
}

/* Keys of a connection string that say which database it reaches. */
static gboolean
is_location_key (const char *key)
{
  static const char * const keys[] = {
    "dsn", "driver", "server", "servername", "host", "hostname", "port", "database", "db", "dbname",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (keys); i++)
    if (strcmp (key, keys[i]) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char *
orr_keyring_dup_key (const char *target)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) pairs = NULL;
  g_autofree char *dsn = NULL;
  guint i;

  g_return_val_if_fail (target != NULL, NULL);

  if (strchr (target, '=') == NULL)
    {
      dsn = g_strstrip (g_strdup (target));
      return g_strdup_printf ("DSN=%s", dsn);
    }

  pairs = g_strsplit (target, ";", -1);
  for (i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;

      if (eq == NULL)
        continue;
      key = g_ascii_strdown (g_strstrip (g_strndup (pairs[i], eq - pairs[i])), -1);
      value = g_strstrip (g_strdup (eq + 1));
      if (strcmp (key, "dsn") == 0)
        return g_strdup_printf ("DSN=%s", value);
      if (is_location_key (key))
        g_ptr_array_add (parts, g_strdup_printf ("%s=%s", key, value));
    }
  g_ptr_array_sort (parts, compare_strings);
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (";", (char **) parts->pdata);
}

/* ---------------------------------------------------------------- check */

static void
on_service (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(SecretService) service = NULL;
  GError *error = NULL;

  service = secret_service_get_finish (result, &error);
  if (service == NULL)
    g_task_return_error (task, error);
  else if (secret_service_get_session_algorithms (service) == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                             _("No keyring answered"));
  else
    g_task_return_boolean (task, TRUE);
}

void
orr_keyring_check_async (GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, orr_keyring_check_async);
  /* Opening a session asks the service itself, not just the bus. */
  secret_service_get (SECRET_SERVICE_OPEN_SESSION, cancellable, on_service, task);
}

gboolean
orr_keyring_check_finish (GAsyncResult  *result,
                          GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --------------------------------------------------------------- lookup */

static void
on_lookup (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *password = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, password, (GDestroyNotify) secret_password_free);
}

void
orr_keyring_lookup_async (const char          *target,
                          const char          *user,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *key = orr_keyring_dup_key (target);

  g_task_set_source_tag (task, orr_keyring_lookup_async);
  secret_password_lookup (password_schema (), cancellable, on_lookup, task,
                          "target", key, "user", user, NULL);
}

char *
orr_keyring_lookup_finish (GAsyncResult  *result,
                           GError       **error)
{
  char *password = g_task_propagate_pointer (G_TASK (result), error);
  char *copy;

  /* Back in ordinary memory: the caller frees it with g_free(). */
  if (password == NULL)
    return NULL;
  copy = g_strdup (password);
  secret_password_free (password);
  return copy;
}

/* ---------------------------------------------------------------- store */

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
orr_keyring_store_async (const char          *target,
                         const char          *user,
                         const char          *password,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *key = orr_keyring_dup_key (target);
  /* Translators: the label of a password in the keyring: "Orrery: alice on DSN=Sales". */
  g_autofree char *label = g_strdup_printf (_("Orrery: %s on %s"), user, key);

  g_task_set_source_tag (task, orr_keyring_store_async);
  secret_password_store (password_schema (), SECRET_COLLECTION_DEFAULT, label, password,
                         cancellable, on_stored, task,
                         "target", key, "user", user, NULL);
}

gboolean
orr_keyring_store_finish (GAsyncResult  *result,
                          GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --------------------------------------------------------------- forget */

static void
on_cleared (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  secret_password_clear_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
orr_keyring_forget_async (const char          *target,
                          const char          *user,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *key = orr_keyring_dup_key (target);

  g_task_set_source_tag (task, orr_keyring_forget_async);
  secret_password_clear (password_schema (), cancellable, on_cleared, task,
                         "target", key, "user", user, NULL);
}

gboolean
orr_keyring_forget_finish (GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
