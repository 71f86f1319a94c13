/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "orr-monitor.h"
#include "orr-probe.h"
#include "orr-registry.h"
#include "orr-ring.h"

G_BEGIN_DECLS

struct _OrrMonitorJob {
  GObject parent_instance;

  char *key;
  OrrRegistryRecord *record;     /* the latest entry */
  gboolean finished;
  gboolean lost;
  gint64 finished_time;          /* monotonic, when the monitor saw it end */
  gint64 ended_real;             /* µs since the epoch, when it ended (or was seen gone) */
  OrrProbe *probe;               /* while it has a satellite */
  OrrProbeSource source;
  OrrRing *samples;              /* OrrJobSample */
  OrrProbeReading prev;          /* the previous reading (clamped cumulative counters) */
  gboolean have_prev;
  /* what is already counted in the pool's totals */
  gint64 counted_cpu_ns;
  gint64 counted_read;
  gint64 counted_written;
  char *counted_pool;
};

struct _OrrMonitorPool {
  GObject parent_instance;

  char *name;
  OrrLimits *limits;
  guint running;
  guint queued;
  double cpu_percent;
  gint64 memory_bytes;
  gint64 cpu_time_ns;
  gint64 peak_memory;
  gint64 read_bytes;
  gint64 written_bytes;
  guint n_jobs_seen;
  OrrRing *samples;              /* OrrPoolSample */
};

OrrMonitorJob  *_orr_monitor_job_new          (const OrrRegistryRecord *record,
                                               guint                    capacity);
/* Takes @record; TRUE when something shown changed. */
gboolean        _orr_monitor_job_set_record   (OrrMonitorJob     *self,
                                               OrrRegistryRecord *record);
void            _orr_monitor_job_set_finished (OrrMonitorJob *self,
                                               gboolean       lost);
/* Adds a sample from @reading (the probe's); returns it. */
const OrrJobSample *_orr_monitor_job_add_reading (OrrMonitorJob         *self,
                                                  const OrrProbeReading *reading);

OrrMonitorPool *_orr_monitor_pool_new         (const char *name,
                                               guint       capacity);

G_END_DECLS
