/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-ui-util"

#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>

#include "orr-connection.h"
#include "orr-error.h"
#include "orr-ui-util.h"

void
orr_ui_init_i18n (void)
{
  orr_i18n_init (LC_ALL);
  gtk_disable_setlocale ();
  textdomain (GETTEXT_PACKAGE);
}

gboolean
orr_error_is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, ORR_ERROR, ORR_ERROR_CANCELLED);
}

char *
orr_format_count (guint64 n)
{
  return g_strdup_printf ("%'" G_GUINT64_FORMAT, n);
}

char *
orr_format_rows (guint64 n)
{
  g_autofree char *count = orr_format_count (n);

  return g_strdup_printf (ngettext ("%s row", "%s rows", (gulong) MIN (n, G_MAXULONG)), count);
}

char *
orr_format_elapsed (gint64 usec)
{
  double seconds = usec / (double) G_USEC_PER_SEC;
  int whole = (int) seconds;

  if (seconds < 60)
    /* Translators: elapsed time in seconds. */
    return g_strdup_printf (_("%.2f s"), seconds);
  /* Translators: elapsed time in minutes and seconds. */
  return g_strdup_printf (_("%d min %02d s"), whole / 60, whole % 60);
}

char *
orr_format_timestamp (gint64 usec)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (usec == 0)
    return g_strdup ("");
  utc = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  if (utc == NULL)
    return g_strdup ("");
  local = g_date_time_to_local (utc);
  /* Translators: the date and time a job started or ended, in the strftime()
   * format of g_date_time_format(): "%d/%m/%Y %H:%M:%S" for French. */
  return g_date_time_format (local, _("%Y-%m-%d %H:%M:%S"));
}

const char *
orr_describe_catalog_todo (const GError *error)
{
  if (error != NULL && error->domain == ORR_ERROR)
    switch ((OrrError) error->code)
      {
      case ORR_ERROR_PERMISSION_DENIED:
        return _("Only an administrator of the database can do this: connect as one, or ask one.");
      case ORR_ERROR_DISABLED:
        return _("Turn on “External scripts enabled” on the Server page (administrators only).");
      case ORR_ERROR_NOT_FOUND:
        return _("Check the name, then try again.");
      case ORR_ERROR_INVALID_ARGUMENT:
        return _("Correct the value, then try again.");
      case ORR_ERROR_CONNECTION:
        return _("Connect again on the Connect page.");
      default:
        break;
      }
  return _("Check the connection on the Connect page, then try again.");
}

GPtrArray *
orr_cursor_fetch_all (OrrCursor     *cursor,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  GError *local_error = NULL;
  OrrBatch *batch;

  while ((batch = orr_cursor_fetch (cursor, FALSE, cancellable, &local_error)) != NULL)
    g_ptr_array_add (batches, batch);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  return g_steal_pointer (&batches);
}

int
orr_schema_find (OrrSchema  *schema,
                 const char *name)
{
  guint i;

  for (i = 0; schema != NULL && i < orr_schema_get_n_fields (schema); i++)
    if (g_ascii_strcasecmp (orr_schema_get_field (schema, i)->name, name) == 0)
      return i;
  return -1;
}

char *
orr_batch_dup_text (OrrBatch *batch,
                    int       column,
                    guint     row)
{
  char *value;

  if (column < 0)
    return g_strdup ("");
  value = orr_batch_format_value (batch, column, row);
  return value != NULL ? value : g_strdup ("");
}

gboolean
orr_text_is_true (const char *text)
{
  if (text == NULL)
    return FALSE;
  return g_ascii_strcasecmp (text, "true") == 0 || g_ascii_strcasecmp (text, "t") == 0 ||
         g_ascii_strcasecmp (text, "yes") == 0 || atoi (text) > 0;
}

gint64
orr_batch_get_timestamp (OrrBatch *batch,
                         int       column,
                         guint     row)
{
  g_autofree char *text = NULL;
  g_autoptr(GDateTime) time = NULL;
  g_autoptr(GTimeZone) utc = NULL;
  OrrColumn col;

  if (column < 0)
    return 0;
  orr_batch_get_column (batch, column, &col);
  if (orr_column_is_null (&col, row))
    return 0;
  if (col.type == ORR_DATA_TYPE_TIMESTAMP)
    return ((const gint64 *) (gconstpointer) col.values)[row];

  text = orr_batch_format_value (batch, column, row);
  if (text == NULL)
    return 0;
  g_strdelimit (text, " ", 'T');
  utc = g_time_zone_new_utc ();
  time = g_date_time_new_from_iso8601 (text, utc);
  if (time == NULL)
    return 0;
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

char *
orr_format_bytes_text (const char *text)
{
  gint64 bytes;

  if (text == NULL || *text == '\0')
    return g_strdup ("");
  bytes = g_ascii_strtoll (text, NULL, 10);
  if (bytes < 0)
    return g_strdup ("");
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

char *
orr_format_seconds_text (const char *text)
{
  if (text == NULL || *text == '\0')
    return g_strdup ("");
  /* Translators: CPU time in seconds. */
  return g_strdup_printf (_("%.2f s"), g_ascii_strtod (text, NULL));
}

void
orr_set_accessible_name (GtkWidget  *widget,
                         const char *name)
{
  atk_object_set_name (gtk_widget_get_accessible (widget), name);
}

static void
name_part (GtkWidget *part,
           gpointer   name)
{
  const char *current;

  if (gtk_widget_get_can_focus (part))
    {
      current = atk_object_get_name (gtk_widget_get_accessible (part));
      if (current == NULL || *current == '\0')
        orr_set_accessible_name (part, name);
    }
  if (GTK_IS_CONTAINER (part))
    gtk_container_forall (GTK_CONTAINER (part), name_part, name);
}

void
orr_name_internal_parts (GtkWidget *widget)
{
  const char *name = atk_object_get_name (gtk_widget_get_accessible (widget));

  if (name != NULL && *name != '\0' && GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), name_part, (gpointer) name);
}

gboolean
orr_connection_string_has_password (const char *text)
{
  g_auto(GStrv) pairs = g_strsplit (text, ";", -1);
  guint i;

  for (i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (pairs[i], eq - pairs[i]));
      if (g_ascii_strcasecmp (key, "PWD") == 0 || g_ascii_strcasecmp (key, "Password") == 0)
        return TRUE;
    }
  return FALSE;
}
