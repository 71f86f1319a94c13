/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-job-log"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-job-log.h"
#include "orr-ui-util.h"

struct _OrrJobLog
{
  OrrSchema *schema;
  GPtrArray *batches;
};

void
orr_job_log_free (OrrJobLog *log)
{
  if (log == NULL)
    return;
  g_clear_pointer (&log->schema, orr_schema_unref);
  g_clear_pointer (&log->batches, g_ptr_array_unref);
  g_free (log);
}

static void
load_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  const char *principal = g_object_get_data (G_OBJECT (task), "principal");
  const char *outcome = g_object_get_data (G_OBJECT (task), "outcome");
  guint limit = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (task), "limit"));
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(OrrJobLog) log = NULL;
  GError *error = NULL;

  cursor = orr_catalog_list_log (orr_session_get_catalog (session), principal, outcome, limit, &error);
  if (cursor == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  log = g_new0 (OrrJobLog, 1);
  log->schema = orr_schema_ref (orr_cursor_get_schema (cursor));
  log->batches = orr_cursor_fetch_all (cursor, cancellable, &error);
  if (log->batches == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&log), (GDestroyNotify) orr_job_log_free);
}

void
orr_job_log_load_async (OrrSession          *session,
                        const char          *principal,
                        const char          *outcome,
                        guint                limit,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ORR_IS_SESSION (session));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, orr_job_log_load_async);
  g_task_set_task_data (task, g_object_ref (session), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "principal", g_strdup (principal), g_free);
  g_object_set_data_full (G_OBJECT (task), "outcome", g_strdup (outcome), g_free);
  g_object_set_data (G_OBJECT (task), "limit", GUINT_TO_POINTER (limit));
  g_task_run_in_thread (task, load_worker);
}

OrrJobLog *
orr_job_log_load_finish (GAsyncResult  *result,
                         GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
orr_job_log_outcome_label (const char *outcome)
{
  if (g_strcmp0 (outcome, "succeeded") == 0)
    return C_("outcome", "Succeeded");
  if (g_strcmp0 (outcome, "failed") == 0)
    return C_("outcome", "Failed");
  if (g_strcmp0 (outcome, "cancelled") == 0)
    return C_("outcome", "Cancelled");
  if (g_strcmp0 (outcome, "killed") == 0)
    return C_("outcome", "Killed");
  if (g_strcmp0 (outcome, "rejected") == 0)
    return C_("outcome", "Rejected");
  return outcome;
}

void
orr_job_log_fill (OrrJobLog    *log,
                  GtkListStore *store,
                  void        (*principal_seen) (const char *principal,
                                                 gpointer    user_data),
                  gpointer      user_data)
{
  static const char * const names[] = {
    "id", "principal", "pool", "started_at", "ended_at", "outcome", "rows_in", "rows_out",
    "cpu_seconds", "peak_memory_bytes", "bytes_read", "bytes_written", "error_text",
  };
  int c[G_N_ELEMENTS (names)];
  guint b;
  guint row;
  guint i;

  gtk_list_store_clear (store);
  for (i = 0; i < G_N_ELEMENTS (names); i++)
    c[i] = orr_schema_find (log->schema, names[i]);

  for (b = 0; b < log->batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (log->batches, b);

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          g_autofree char *id = orr_batch_dup_text (batch, c[0], row);
          g_autofree char *principal = orr_batch_dup_text (batch, c[1], row);
          g_autofree char *pool = orr_batch_dup_text (batch, c[2], row);
          gint64 started = orr_batch_get_timestamp (batch, c[3], row);
          gint64 ended = orr_batch_get_timestamp (batch, c[4], row);
          g_autofree char *outcome = orr_batch_dup_text (batch, c[5], row);
          g_autofree char *rows_in = orr_batch_dup_text (batch, c[6], row);
          g_autofree char *rows_out = orr_batch_dup_text (batch, c[7], row);
          g_autofree char *cpu_text = orr_batch_dup_text (batch, c[8], row);
          g_autofree char *memory_text = orr_batch_dup_text (batch, c[9], row);
          g_autofree char *read_text = orr_batch_dup_text (batch, c[10], row);
          g_autofree char *written_text = orr_batch_dup_text (batch, c[11], row);
          g_autofree char *error_text = orr_batch_dup_text (batch, c[12], row);
          g_autofree char *started_text = orr_format_timestamp (started);
          g_autofree char *duration = started > 0 && ended >= started ? orr_format_elapsed (ended - started) : g_strdup ("");
          g_autofree char *cpu = orr_format_seconds_text (cpu_text);
          g_autofree char *memory = orr_format_bytes_text (memory_text);
          g_autofree char *read_bytes = orr_format_bytes_text (read_text);
          g_autofree char *written = orr_format_bytes_text (written_text);
          const char *shown_outcome = orr_job_log_outcome_label (outcome);
          g_autofree char *all = g_strjoin ("\n", principal, pool, shown_outcome, outcome, started_text, error_text, NULL);
          g_autofree char *search = g_utf8_casefold (all, -1);

          gtk_list_store_insert_with_values (store, NULL, -1,
                                             ORR_JOB_LOG_ID, id,
                                             ORR_JOB_LOG_STARTED, started_text,
                                             ORR_JOB_LOG_PRINCIPAL, principal,
                                             ORR_JOB_LOG_POOL, pool,
                                             ORR_JOB_LOG_OUTCOME, shown_outcome,
                                             ORR_JOB_LOG_DURATION, duration,
                                             ORR_JOB_LOG_ROWS_IN, rows_in,
                                             ORR_JOB_LOG_ROWS_OUT, rows_out,
                                             ORR_JOB_LOG_CPU, cpu,
                                             ORR_JOB_LOG_MEMORY, memory,
                                             ORR_JOB_LOG_READ, read_bytes,
                                             ORR_JOB_LOG_WRITTEN, written,
                                             ORR_JOB_LOG_ERROR, error_text,
                                             ORR_JOB_LOG_SEARCH, search,
                                             -1);
          if (principal_seen != NULL && *principal != '\0')
            principal_seen (principal, user_data);
        }
    }
}
