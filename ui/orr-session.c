/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-session"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-demo.h"
#include "orr-session.h"

struct _OrrSession
{
  GObject        parent_instance;

  OrrEngine     *engine;
  OrrConnection *connection;
  OrrConnection *catalog_connection;
  OrrCatalog    *catalog;
  GMutex         catalog_lock;
  char          *display_name;
  char          *dbms;
  guint          is_demo : 1;
};

G_DEFINE_FINAL_TYPE (OrrSession, orr_session, G_TYPE_OBJECT)

static void
orr_session_finalize (GObject *object)
{
  OrrSession *self = ORR_SESSION (object);

  g_clear_object (&self->catalog);
  g_clear_object (&self->catalog_connection);
  g_clear_object (&self->connection);
  g_clear_object (&self->engine);
  g_mutex_clear (&self->catalog_lock);
  g_free (self->display_name);
  g_free (self->dbms);

  G_OBJECT_CLASS (orr_session_parent_class)->finalize (object);
}

static void
orr_session_class_init (OrrSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_session_finalize;
}

static void
orr_session_init (OrrSession *self)
{
  g_mutex_init (&self->catalog_lock);
}

static void
open_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OrrSession *self = task_data;
  g_autofree char *demo = NULL;
  const char *target = g_object_get_data (G_OBJECT (task), "target");
  const char *name;
  const char *version;
  GError *error = NULL;

  if (self->is_demo)
    {
      /* Creating the demo database on first use writes a file. */
      demo = orr_demo_dup_connection_string (&error);
      if (demo == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      target = demo;
    }

  self->connection = orr_connection_new (target);
  self->catalog_connection = orr_connection_new (target);
  if (!orr_connection_open (self->connection, cancellable, &error) ||
      !orr_connection_open (self->catalog_connection, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  self->catalog = orr_catalog_new (self->catalog_connection);

  if (self->is_demo)
    self->display_name = g_strdup (_("Demo database"));
  else
    self->display_name = orr_connection_dup_display_name (self->connection);
  name = orr_connection_get_dbms_name (self->connection);
  version = orr_connection_get_dbms_version (self->connection);
  self->dbms = g_strstrip (g_strdup_printf ("%s %s", name ? name : "", version ? version : ""));

  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

void
orr_session_open_async (OrrEngine           *engine,
                        const char          *target,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  OrrSession *self;

  g_return_if_fail (ORR_IS_ENGINE (engine));
  g_return_if_fail (target != NULL);

  self = g_object_new (ORR_TYPE_SESSION, NULL);
  self->engine = g_object_ref (engine);
  self->is_demo = *target == '\0';

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, orr_session_open_async);
  g_task_set_task_data (task, self, g_object_unref);
  /* The target may hold a password: it lives no longer than the task. */
  g_object_set_data_full (G_OBJECT (task), "target", g_strdup (target), g_free);
  g_task_run_in_thread (task, open_worker);
}

OrrSession *
orr_session_open_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
orr_session_is_demo (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), FALSE);

  return self->is_demo;
}

const char *
orr_session_get_display_name (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return self->display_name;
}

const char *
orr_session_get_dbms (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return self->dbms;
}

OrrEngine *
orr_session_get_engine (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return self->engine;
}

OrrConnection *
orr_session_get_connection (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return self->connection;
}

OrrCatalog *
orr_session_get_catalog (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return self->catalog;
}

GMutexLocker *
orr_session_lock_catalog (OrrSession *self)
{
  g_return_val_if_fail (ORR_IS_SESSION (self), NULL);

  return g_mutex_locker_new (&self->catalog_lock);
}
