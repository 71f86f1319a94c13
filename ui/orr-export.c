/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-export"

#include "config.h"

#include <string.h>

#include "orr-export.h"

#define FLUSH_BYTES (1 << 20)

typedef struct {
  GFile *file;
  OrrExportFormat format;
  OrrSchema *schema;
  GPtrArray *batches;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_object (&data->file);
  g_clear_pointer (&data->schema, orr_schema_unref);
  g_clear_pointer (&data->batches, g_ptr_array_unref);
  g_free (data);
}

static void
csv_field (GString    *out,
           const char *value)
{
  const char *p;

  if (value == NULL)
    return;
  if (strpbrk (value, ",\"\r\n") == NULL)
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
json_string (GString    *out,
             const char *value)
{
  const guchar *p;

  g_string_append_c (out, '"');
  for (p = (const guchar *) value; *p != '\0'; p++)
    switch (*p)
      {
      case '"': g_string_append (out, "\\\""); break;
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\r': g_string_append (out, "\\r"); break;
      case '\t': g_string_append (out, "\\t"); break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, *p);
      }
  g_string_append_c (out, '"');
}

static void
json_value (GString     *out,
            OrrDataType  type,
            const char  *value)
{
  if (value == NULL)
    g_string_append (out, "null");
  else if (type == ORR_DATA_TYPE_BOOL)
    g_string_append (out, value);
  else if (type >= ORR_DATA_TYPE_INT16 && type <= ORR_DATA_TYPE_DECIMAL &&
           strcmp (value, "nan") != 0 && strcmp (value, "inf") != 0 && strcmp (value, "-inf") != 0)
    g_string_append (out, value);
  else
    json_string (out, value);
}

static gboolean
flush (GOutputStream  *stream,
       GString        *out,
       gboolean        force,
       GCancellable   *cancellable,
       GError        **error)
{
  if (!force && out->len < FLUSH_BYTES)
    return TRUE;
  if (!g_output_stream_write_all (stream, out->str, out->len, NULL, cancellable, error))
    return FALSE;
  g_string_truncate (out, 0);
  return TRUE;
}

static void
export_worker (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *data = task_data;
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GString) out = g_string_sized_new (FLUSH_BYTES + 4096);
  guint n_columns = orr_schema_get_n_fields (data->schema);
  gboolean first = TRUE;
  gint64 n_rows = 0;
  GError *error = NULL;
  guint b;
  guint r;
  guint c;

  /* Written beside the target and renamed over it when closed: a cancelled
   * or failed export leaves the previous file as it was. */
  stream = g_file_replace (data->file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                           cancellable, &error);
  if (stream == NULL)
    goto fail;

  if (data->format == ORR_EXPORT_CSV)
    {
      for (c = 0; c < n_columns; c++)
        {
          if (c > 0)
            g_string_append_c (out, ',');
          csv_field (out, orr_schema_get_field (data->schema, c)->name);
        }
      g_string_append (out, "\r\n");
    }
  else
    g_string_append_c (out, '[');

  for (b = 0; b < data->batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (data->batches, b);

      for (r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          if (data->format == ORR_EXPORT_JSON)
            {
              g_string_append (out, first ? "\n  {" : ",\n  {");
              first = FALSE;
            }
          for (c = 0; c < n_columns; c++)
            {
              const OrrField *field = orr_schema_get_field (data->schema, c);
              g_autofree char *value = orr_batch_format_value (batch, c, r);

              if (data->format == ORR_EXPORT_CSV)
                {
                  if (c > 0)
                    g_string_append_c (out, ',');
                  csv_field (out, value);
                }
              else
                {
                  if (c > 0)
                    g_string_append (out, ", ");
                  json_string (out, field->name);
                  g_string_append (out, ": ");
                  json_value (out, field->type, value);
                }
            }
          g_string_append (out, data->format == ORR_EXPORT_CSV ? "\r\n" : "}");
          n_rows++;
          if (!flush (G_OUTPUT_STREAM (stream), out, FALSE, cancellable, &error))
            goto fail;
        }
    }
  if (data->format == ORR_EXPORT_JSON)
    g_string_append (out, first ? "]\n" : "\n]\n");

  if (!flush (G_OUTPUT_STREAM (stream), out, TRUE, cancellable, &error) ||
      !g_output_stream_close (G_OUTPUT_STREAM (stream), cancellable, &error))
    goto fail;

  g_task_return_int (task, n_rows);
  return;

fail:
  if (stream != NULL)
    {
      /* Closing a cancelled replace stream discards the temporary file. */
      g_autoptr(GCancellable) cancelled = g_cancellable_new ();

      g_cancellable_cancel (cancelled);
      g_output_stream_close (G_OUTPUT_STREAM (stream), cancelled, NULL);
    }
  g_task_return_error (task, error);
}

void
orr_export_async (GFile               *file,
                  OrrExportFormat      format,
                  OrrSchema           *schema,
                  GPtrArray           *batches,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportData *data;

  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (schema != NULL);
  g_return_if_fail (batches != NULL);

  data = g_new0 (ExportData, 1);
  data->file = g_object_ref (file);
  data->format = format;
  data->schema = orr_schema_ref (schema);
  data->batches = g_ptr_array_ref (batches);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, orr_export_async);
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  g_task_run_in_thread (task, export_worker);
}

gint64
orr_export_finish (GAsyncResult  *result,
                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), -1);

  return g_task_propagate_int (G_TASK (result), error);
}

OrrExportFormat
orr_export_format_for_name (const char *name)
{
  if (name != NULL && g_str_has_suffix (name, ".json"))
    return ORR_EXPORT_JSON;
  return ORR_EXPORT_CSV;
}
