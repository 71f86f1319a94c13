/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-batch.h"
#include "orr-limits.h"

G_BEGIN_DECLS

typedef enum {
  ORR_JOB_QUEUED,
  ORR_JOB_FETCHING,
  ORR_JOB_RUNNING,
  ORR_JOB_RETURNING,
  ORR_JOB_SUCCEEDED,
  ORR_JOB_FAILED,
  ORR_JOB_CANCELLED,
} OrrJobState;

typedef enum {
  ORR_JOB_MESSAGE_STDOUT,
  ORR_JOB_MESSAGE_STDERR,
  ORR_JOB_MESSAGE_INFO,     /* the engine's own remarks: cancel escalation, … */
} OrrJobMessageKind;

const char *orr_job_state_to_string (OrrJobState state);

/**
 * OrrJobSpec:
 * What to run. Plain data, copied by orr_engine_submit().
 */
typedef struct {
  char *script;
  char *input_query;      /* NULL: no input (InputDataSet is empty) */
  char *input_name;       /* NULL: "InputDataSet" */
  char *output_name;      /* NULL: "OutputDataSet" */
  GPtrArray *params;      /* OrrParam, or NULL */
  char *output_table;     /* NULL: results stay with the job */
  guint timeout_ms;       /* 0: none */
  guint64 max_output_bytes; /* 0: the engine's default */
  guint queue_timeout_ms; /* how long to wait for room in the pool; 0: 30 s */
  OrrLimits *limits;      /* NULL: the pool's. Set: the sandbox enforces these instead
                           * (memory, CPU percent, processes, CPU list); the pool still
                           * admits and queues the job */
  /* SQL Server compatibility (EXEC sp_execute_external_script, core/orr-tsql.c): */
  gboolean sqlserver_types; /* InputDataSet typed as SQL Server's Python types it (int32 for
                             * tinyint/smallint, float64 for real, datetime64 for date) */
  GStrv partition_by;     /* run the script once per group of these input columns, and
                           * concatenate the results; NULL: once */
  GStrv order_by;         /* sort the input (within each group) by these columns */
  guint64 rows_per_read;  /* run the script once per this many input rows; 0: once */
} OrrJobSpec;

OrrJobSpec *orr_job_spec_new  (void);
OrrJobSpec *orr_job_spec_copy (const OrrJobSpec *spec);
void        orr_job_spec_free (OrrJobSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrJobSpec, orr_job_spec_free)

#define ORR_TYPE_JOB (orr_job_get_type ())
G_DECLARE_FINAL_TYPE (OrrJob, orr_job, ORR, JOB, GObject)

guint64       orr_job_get_id              (OrrJob *self);
OrrJobState   orr_job_get_state           (OrrJob *self);
gboolean      orr_job_is_finished         (OrrJob *self);
const OrrJobSpec *orr_job_get_spec        (OrrJob *self);
/* The failure, once the job failed or was cancelled; NULL otherwise. */
const GError *orr_job_get_error           (OrrJob *self);
/* Set when the job could not be recorded in the job log (the job's own
 * outcome stands). */
const GError *orr_job_get_log_error       (OrrJob *self);
/* For script errors: the line in the user's script (0 if unknown) and the traceback. */
int           orr_job_get_error_line      (OrrJob *self);
const char   *orr_job_get_traceback       (OrrJob *self);
/* Results, once succeeded (empty when written to a table). */
OrrSchema    *orr_job_get_result_schema   (OrrJob *self);
GPtrArray    *orr_job_get_result_batches  (OrrJob *self);
GPtrArray    *orr_job_get_output_params   (OrrJob *self);
guint64       orr_job_get_rows_in         (OrrJob *self);
guint64       orr_job_get_rows_out        (OrrJob *self);
/* Microseconds from submit to end (or to now while running). */
gint64        orr_job_get_elapsed         (OrrJob *self);
/* The satellite's process id while it runs, 0 otherwise. */
int           orr_job_get_pid             (OrrJob *self);

/* Thread-safe. Cancels in any state: SQLCancel while fetching, then
 * SIGINT, SIGTERM and SIGKILL of the satellite (each step announced as an
 * ORR_JOB_MESSAGE_INFO message). The job ends CANCELLED. */
void          orr_job_cancel              (OrrJob *self);

/* Blocks the calling thread until the job has finished (for tests, CLI). */
void          orr_job_wait                (OrrJob *self);

G_END_DECLS
