/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "orr-limits.h"

G_BEGIN_DECLS

/**
 * OrrPoolSample:
 * One reading of a pool: the sum over its live jobs. CPU percent is of one
 * core, as for jobs; OrrLimits' max_cpu_percent is of the whole host
 * (orr_monitor_pool_get_cpu_limit_percent() gives it in the same unit).
 */
typedef struct {
  gint64 time;
  float cpu_percent;
  gint64 memory_bytes;
  guint running;
  guint queued;
} OrrPoolSample;

#define ORR_TYPE_MONITOR_POOL (orr_monitor_pool_get_type ())
G_DECLARE_FINAL_TYPE (OrrMonitorPool, orr_monitor_pool, ORR, MONITOR_POOL, GObject)

const char          *orr_monitor_pool_get_name          (OrrMonitorPool *self);
/* From the registry entries of its jobs (or the catalog, when given); NULL
 * when unknown. */
const OrrLimits     *orr_monitor_pool_get_limits        (OrrMonitorPool *self);
void                 orr_monitor_pool_set_limits        (OrrMonitorPool  *self,
                                                         const OrrLimits *limits);
/* Jobs fetching, running or returning; jobs waiting in the pool's queue. */
guint                orr_monitor_pool_get_running       (OrrMonitorPool *self);
guint                orr_monitor_pool_get_queued        (OrrMonitorPool *self);
/* Now: of one core (-1 before two readings), and resident memory. */
double               orr_monitor_pool_get_cpu_percent   (OrrMonitorPool *self);
gint64               orr_monitor_pool_get_memory_bytes  (OrrMonitorPool *self);
/* The pool's CPU limit in percent of one core (max_cpu_percent × CPUs), 0: none. */
double               orr_monitor_pool_get_cpu_limit_percent (OrrMonitorPool *self);
/* Totals of the pool's jobs that this monitor saw, each from its start. */
gint64               orr_monitor_pool_get_cpu_time_ns   (OrrMonitorPool *self);
gint64               orr_monitor_pool_get_peak_memory   (OrrMonitorPool *self);
gint64               orr_monitor_pool_get_read_bytes    (OrrMonitorPool *self);
gint64               orr_monitor_pool_get_written_bytes (OrrMonitorPool *self);
guint                orr_monitor_pool_get_n_jobs_seen   (OrrMonitorPool *self);

guint                orr_monitor_pool_get_n_samples     (OrrMonitorPool *self);
const OrrPoolSample *orr_monitor_pool_get_sample        (OrrMonitorPool *self,
                                                         guint           index);
const OrrPoolSample *orr_monitor_pool_get_last_sample   (OrrMonitorPool *self);

G_END_DECLS
