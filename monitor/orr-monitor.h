/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "orr-monitor-job.h"
#include "orr-monitor-pool.h"
#include "orr-ring.h"

G_BEGIN_DECLS

#define ORR_MONITOR_DEFAULT_INTERVAL_MS 250
#define ORR_MONITOR_DEFAULT_HISTORY_S 600

#define ORR_TYPE_MONITOR (orr_monitor_get_type ())
G_DECLARE_FINAL_TYPE (OrrMonitor, orr_monitor, ORR, MONITOR, GObject)

/**
 * OrrMonitor:
 * Live monitoring of the jobs of every Orrery process on this host (as far
 * as the viewer's rights allow) and of their pools, from the host-wide job
 * registry (core/orr-registry.h): no database connection needed. Samples
 * each live job at OrrMonitor:interval-ms (default 250 ms, 4 Hz) from its
 * cgroups or /proc, and keeps OrrMonitor:history-seconds (default 600) of
 * samples per job and per pool in bounded rings. A finished job keeps its
 * series until dismissed (at most OrrMonitor:max-finished finished jobs are
 * kept; the oldest go first).
 *
 * Sampling runs in the thread-default main context of the thread that
 * called orr_monitor_start(), where the signals are emitted too:
 *   ::job-added (OrrMonitorJob)     a job appeared
 *   ::job-changed (OrrMonitorJob)   its state, rows, pool or principal changed
 *   ::job-sampled (OrrMonitorJob)   a new sample
 *   ::job-finished (OrrMonitorJob)  it ended (or its engine went away)
 *   ::job-removed (OrrMonitorJob)   dismissed: the monitor forgets it
 *   ::pool-added (OrrMonitorPool)
 *   ::sampled ()                    a whole pass is done: redraw
 */
OrrMonitor     *orr_monitor_new                (void);
/* Watches @dir instead of the host's registry (for tests and benchmarks). */
OrrMonitor     *orr_monitor_new_for_directory  (const char *dir);

void            orr_monitor_set_interval       (OrrMonitor *self,
                                                guint       interval_ms);
guint           orr_monitor_get_interval       (OrrMonitor *self);
void            orr_monitor_set_history        (OrrMonitor *self,
                                                guint       seconds);
guint           orr_monitor_get_history        (OrrMonitor *self);
/* Samples per job kept: history × 1000 / interval. */
guint           orr_monitor_get_capacity       (OrrMonitor *self);

void            orr_monitor_start              (OrrMonitor *self);
void            orr_monitor_stop               (OrrMonitor *self);
gboolean        orr_monitor_is_running         (OrrMonitor *self);
/* One sampling pass now, in the calling thread (the monitor's). */
void            orr_monitor_refresh            (OrrMonitor *self);

/* Jobs, live and finished, in the order they appeared. */
GPtrArray      *orr_monitor_dup_jobs           (OrrMonitor *self) G_GNUC_WARN_UNUSED_RESULT;
OrrMonitorJob  *orr_monitor_lookup_job         (OrrMonitor *self,
                                                const char *key);
/* Forgets a finished job and its series (::job-removed). */
void            orr_monitor_dismiss_job        (OrrMonitor    *self,
                                                OrrMonitorJob *job);
void            orr_monitor_dismiss_finished   (OrrMonitor *self);

/* Pools seen in the jobs' entries (or added), sorted by name. */
GPtrArray      *orr_monitor_dup_pools          (OrrMonitor *self) G_GNUC_WARN_UNUSED_RESULT;
OrrMonitorPool *orr_monitor_lookup_pool        (OrrMonitor *self,
                                                const char *name);
/* A pool known from elsewhere (the catalog), shown even without jobs. */
OrrMonitorPool *orr_monitor_add_pool           (OrrMonitor      *self,
                                                const OrrLimits *limits);

G_END_DECLS
