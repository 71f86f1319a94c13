/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-odbc-sources"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include <sql.h>
#include <sqlext.h>

#include "orr-error.h"
#include "orr-odbc-sources.h"

void
orr_odbc_source_free (OrrOdbcSource *source)
{
  if (source == NULL)
    return;
  g_free (source->name);
  g_free (source->description);
  g_free (source);
}

static OrrOdbcSource *
source_new (OrrOdbcSourceKind  kind,
            const char        *name,
            const char        *description)
{
  OrrOdbcSource *source = g_new0 (OrrOdbcSource, 1);

  source->kind = kind;
  source->name = g_strdup (name);
  source->description = g_strdup (description);
  return source;
}

static int
compare_sources (gconstpointer a,
                 gconstpointer b)
{
  const OrrOdbcSource *x = *(OrrOdbcSource * const *) a;
  const OrrOdbcSource *y = *(OrrOdbcSource * const *) b;

  if (x->kind != y->kind)
    return (int) x->kind - (int) y->kind;
  return g_utf8_collate (x->name, y->name);
}

/* SQLDrivers gives a driver's attributes as "key=value\0key=value\0\0". */
static char *
join_attributes (const SQLCHAR *attributes,
                 SQLSMALLINT    length)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const char *p = (const char *) attributes;
  const char *end = p + MAX (length, 0);

  while (p < end && *p != '\0')
    {
      gsize len = strnlen (p, end - p);

      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append_len (text, p, len);
      p += len + 1;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

GPtrArray *
orr_odbc_sources_list (GError **error)
{
  g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_odbc_source_free);
  SQLHENV env = SQL_NULL_HENV;
  SQLCHAR name[SQL_MAX_DSN_LENGTH * 4 + 1];
  SQLCHAR description[1024];
  SQLSMALLINT name_len;
  SQLSMALLINT description_len;
  SQLUSMALLINT direction;
  SQLRETURN rc;
  int pass;

  rc = SQLAllocHandle (SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env);
  if (!SQL_SUCCEEDED (rc))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC,
                   _("The ODBC driver manager could not start (SQLAllocHandle failed)"));
      return NULL;
    }
  SQLSetEnvAttr (env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER) SQL_OV_ODBC3, 0);

  /* User data sources first, then the system's. */
  for (pass = 0; pass < 2; pass++)
    {
      OrrOdbcSourceKind kind = pass == 0 ? ORR_ODBC_SOURCE_USER : ORR_ODBC_SOURCE_SYSTEM;

      direction = pass == 0 ? SQL_FETCH_FIRST_USER : SQL_FETCH_FIRST_SYSTEM;
      while (SQL_SUCCEEDED (rc = SQLDataSources (env, direction,
                                                  name, sizeof name, &name_len,
                                                  description, sizeof description, &description_len)))
        {
          direction = SQL_FETCH_NEXT;
          if (g_utf8_validate ((const char *) name, -1, NULL) &&
              g_utf8_validate ((const char *) description, -1, NULL))
            g_ptr_array_add (sources, source_new (kind, (const char *) name, (const char *) description));
        }
    }

  direction = SQL_FETCH_FIRST;
  while (SQL_SUCCEEDED (rc = SQLDrivers (env, direction,
                                          name, sizeof name, &name_len,
                                          description, sizeof description, &description_len)))
    {
      g_autofree char *attributes = join_attributes (description, MIN (description_len, (SQLSMALLINT) sizeof description));

      direction = SQL_FETCH_NEXT;
      if (g_utf8_validate ((const char *) name, -1, NULL) && g_utf8_validate (attributes, -1, NULL))
        g_ptr_array_add (sources, source_new (ORR_ODBC_SOURCE_DRIVER, (const char *) name, attributes));
    }

  SQLFreeHandle (SQL_HANDLE_ENV, env);
  g_ptr_array_sort (sources, compare_sources);
  return g_steal_pointer (&sources);
}

static void
list_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *sources = orr_odbc_sources_list (&error);

  if (sources == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, sources, (GDestroyNotify) g_ptr_array_unref);
}

void
orr_odbc_sources_list_async (GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, orr_odbc_sources_list_async);
  g_task_run_in_thread (task, list_worker);
}

GPtrArray *
orr_odbc_sources_list_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
