/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "orr-isolation.h"
#include "orr-job.h"
#include "orr-limits.h"

G_BEGIN_DECLS

struct _OrrJob {
  GObject parent_instance;

  guint64 id;
  OrrJobSpec *spec;
  OrrLimits *limits;             /* of the job's pool, set at admission */
  GMainContext *owner_context;   /* where signals are emitted */
  GCancellable *cancellable;

  GMutex lock;
  GCond cond;
  OrrJobState state;             /* written under lock */
  GError *error;
  int error_line;
  char *traceback;
  OrrSchema *result_schema;
  GPtrArray *result_batches;
  GPtrArray *output_params;
  guint64 rows_in;
  guint64 rows_out;
  gint64 submitted_at;
  gint64 finished_at;

  /* satellite */
  int pid;
  int pidfd;
  gboolean exited;
  int wait_status;
  /* the satellite's resource use, from its rusage once it exited */
  gint64 cpu_user_us;
  gint64 cpu_system_us;
  gint64 peak_memory_bytes;
  gint64 bytes_read;
  gint64 bytes_written;
  guint timeout_ms;              /* the job's and its pool's, whichever is shorter */
  GError *log_error;             /* the job log could not be written */
  OrrIsolationJob *isolation;    /* the satellite's sandbox: worker uid, job dir, cgroups */
  struct _OrrRegistryEntry *registry; /* its host-wide registry entry, until it ended */
  gboolean cancel_requested;
  gboolean timed_out;
};

OrrJob *_orr_job_new              (guint64           id,
                                   const OrrJobSpec *spec);
/* Called from the job's thread: records and announces a state. */
void    _orr_job_set_state        (OrrJob      *self,
                                   OrrJobState  state);
void    _orr_job_emit_message     (OrrJob            *self,
                                   OrrJobMessageKind  kind,
                                   const char        *text);
void    _orr_job_child_exited     (OrrJob *self,
                                   int     wait_status);
void    _orr_job_set_timed_out    (OrrJob *self);
/* Called from the job's thread once admission set job->limits: the job
 * shows its principal and pool to monitors while it waits in the queue. */
void    _orr_job_set_admitted     (OrrJob     *self,
                                   const char *principal);

G_END_DECLS
