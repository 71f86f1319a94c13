/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "orr-job.h"
#include "orr-limits.h"

G_BEGIN_DECLS

/**
 * OrrJobSample:
 * One reading of a job. Percentages are of one core (a job keeping one
 * core busy reads 100), over the interval since the previous reading;
 * -1 where unknown (the first reading has no interval; I/O counters the
 * viewer may not read).
 */
typedef struct {
  gint64 time;                     /* g_get_monotonic_time() of the reading */
  float cpu_user_percent;
  float cpu_system_percent;
  gint64 cpu_time_ns;              /* user + system since the job started */
  gint64 memory_bytes;             /* resident memory, -1: unknown */
  gint64 memory_peak_bytes;
  gint64 read_bytes;               /* from storage since the job started, -1: unknown */
  gint64 written_bytes;
  float read_bytes_per_second;
  float written_bytes_per_second;
  guint processes;
  guint threads;
} OrrJobSample;

#define ORR_TYPE_MONITOR_JOB (orr_monitor_job_get_type ())
G_DECLARE_FINAL_TYPE (OrrMonitorJob, orr_monitor_job, ORR, MONITOR_JOB, GObject)

/**
 * OrrMonitorJob:
 * A job of some Orrery process on this host, as OrrMonitor sees it: what
 * its engine publishes (principal, pool, state, rows) and the time series
 * of its resource use. Properties (notify on change): "state", "finished",
 * "lost", "principal", "pool", "rows-in", "rows-out".
 */

/* "<engine pid>-<job id>": unique on the host while the job lives. */
const char       *orr_monitor_job_get_key            (OrrMonitorJob *self);
guint64           orr_monitor_job_get_id             (OrrMonitorJob *self);
int               orr_monitor_job_get_engine_pid     (OrrMonitorJob *self);
int               orr_monitor_job_get_satellite_pid  (OrrMonitorJob *self);
/* The engine's OS user; the database principal once admission knows it. */
const char       *orr_monitor_job_get_user           (OrrMonitorJob *self);
/* The engine's OS user id: who, with root, may cancel the job. */
guint             orr_monitor_job_get_uid            (OrrMonitorJob *self);
const char       *orr_monitor_job_get_principal      (OrrMonitorJob *self);
/* NULL until the job is admitted into a pool. */
const char       *orr_monitor_job_get_pool           (OrrMonitorJob *self);
const OrrLimits  *orr_monitor_job_get_limits         (OrrMonitorJob *self);
OrrJobState       orr_monitor_job_get_state          (OrrMonitorJob *self);
gboolean          orr_monitor_job_is_finished        (OrrMonitorJob *self);
/* Finished because its engine went away without saying how the job ended. */
gboolean          orr_monitor_job_is_lost            (OrrMonitorJob *self);
/* µs since the epoch; 0 when not (yet) known. */
gint64            orr_monitor_job_get_submitted_at   (OrrMonitorJob *self);
gint64            orr_monitor_job_get_started_at     (OrrMonitorJob *self);
gint64            orr_monitor_job_get_ended_at       (OrrMonitorJob *self);
/* µs from submit to the end, or to now. */
gint64            orr_monitor_job_get_elapsed        (OrrMonitorJob *self);
guint64           orr_monitor_job_get_rows_in        (OrrMonitorJob *self);
guint64           orr_monitor_job_get_rows_out       (OrrMonitorJob *self);
const char       *orr_monitor_job_get_script         (OrrMonitorJob *self);
const char       *orr_monitor_job_get_error          (OrrMonitorJob *self);
/* Where the figures come from: "cgroup v1", "cgroup v2", "proc" or "none". */
const char       *orr_monitor_job_get_source         (OrrMonitorJob *self);

/* The time series, oldest first; bounded (OrrMonitor:history). */
guint             orr_monitor_job_get_n_samples      (OrrMonitorJob *self);
const OrrJobSample *orr_monitor_job_get_sample       (OrrMonitorJob *self,
                                                      guint          index);
/* The newest reading, NULL before the first. */
const OrrJobSample *orr_monitor_job_get_last_sample  (OrrMonitorJob *self);

/* Totals since the job started: from the satellite's own accounting once it
 * ended (as the job log has them), else the latest reading; -1: unknown. */
gint64            orr_monitor_job_get_cpu_time_ns    (OrrMonitorJob *self);
gint64            orr_monitor_job_get_peak_memory    (OrrMonitorJob *self);
gint64            orr_monitor_job_get_read_bytes     (OrrMonitorJob *self);
gint64            orr_monitor_job_get_written_bytes  (OrrMonitorJob *self);

G_END_DECLS
