/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-session.h"

G_BEGIN_DECLS

/* The job log as the Security and Jobs pages show it: read in a worker
 * thread under the session's catalog lock, then put into a GtkListStore of
 * ORR_JOB_LOG_N_COLUMNS strings, formatted for reading. */

enum {
  ORR_JOB_LOG_ID,
  ORR_JOB_LOG_STARTED,
  ORR_JOB_LOG_PRINCIPAL,
  ORR_JOB_LOG_POOL,
  ORR_JOB_LOG_OUTCOME,
  ORR_JOB_LOG_DURATION,
  ORR_JOB_LOG_ROWS_IN,
  ORR_JOB_LOG_ROWS_OUT,
  ORR_JOB_LOG_CPU,
  ORR_JOB_LOG_MEMORY,
  ORR_JOB_LOG_READ,
  ORR_JOB_LOG_WRITTEN,
  ORR_JOB_LOG_ERROR,
  /* Everything a search looks at, case-folded. */
  ORR_JOB_LOG_SEARCH,
  ORR_JOB_LOG_N_COLUMNS
};

typedef struct _OrrJobLog OrrJobLog;

void        orr_job_log_free        (OrrJobLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrJobLog, orr_job_log_free)

/* @principal, @outcome: NULL for all. */
void        orr_job_log_load_async  (OrrSession          *session,
                                     const char          *principal,
                                     const char          *outcome,
                                     guint                limit,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
OrrJobLog  *orr_job_log_load_finish (GAsyncResult  *result,
                                     GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* Replaces @store's rows with @log's; calls @principal_seen for each row's principal. */
void        orr_job_log_fill        (OrrJobLog    *log,
                                     GtkListStore *store,
                                     void        (*principal_seen) (const char *principal,
                                                                    gpointer    user_data),
                                     gpointer      user_data);
/* "Succeeded", "Failed", … for the catalog's outcome names. */
const char *orr_job_log_outcome_label (const char *outcome);

G_END_DECLS
