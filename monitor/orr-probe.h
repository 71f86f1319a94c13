/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Reading one job's resource use, for OrrMonitor. A job is its satellite
 * (the process whose pid its registry entry gives) and everything that
 * satellite started. Where the job has its own cgroups (found through
 * /proc/PID/cgroup: a directory named "job-<engine pid>-<job id>"), CPU,
 * memory and task counts come from the cgroup files, which count every
 * process of the job, exited ones included; else from /proc/PID/stat of the
 * satellite and its descendants. Bytes read and written come from
 * /proc/PID/io of the job's processes (storage I/O: read_bytes, and
 * write_bytes less cancelled_write_bytes), as far as the viewer may read
 * them. Files are kept open between readings (pread at offset 0), within a
 * budget of descriptors.
 */

typedef enum {
  ORR_PROBE_SOURCE_NONE,
  ORR_PROBE_SOURCE_PROC,
  ORR_PROBE_SOURCE_CGROUP_V1,
  ORR_PROBE_SOURCE_CGROUP_V2,
} OrrProbeSource;

const char *orr_probe_source_to_string (OrrProbeSource source);

typedef struct {
  gint64 time;               /* g_get_monotonic_time() of the reading */
  gint64 cpu_user_ns;        /* since the job started; -1: unknown */
  gint64 cpu_system_ns;
  gint64 memory_bytes;       /* -1: unknown */
  gint64 memory_peak_bytes;
  gint64 read_bytes;         /* since the job started; -1: unknown */
  gint64 written_bytes;
  guint processes;
  guint threads;
  /* The part of the counters above that processes found in this reading
   * had used before it: part of the totals, not of this interval's rates
   * (a process is found up to 2 s after it started, in /proc mode). */
  gint64 new_cpu_user_ns;
  gint64 new_cpu_system_ns;
  gint64 new_read_bytes;
  gint64 new_written_bytes;
} OrrProbeReading;

/* What the probes of one monitor share: the cgroup mounts, a table of
 * /proc made at most once a pass, the descriptor budget. */
typedef struct _OrrProbeHost OrrProbeHost;

OrrProbeHost *orr_probe_host_new        (void);
void          orr_probe_host_free       (OrrProbeHost *host);
/* Starts a sampling pass at @now (monotonic µs). */
void          orr_probe_host_begin_pass (OrrProbeHost *host,
                                         gint64        now);

typedef struct _OrrProbe OrrProbe;

/* @start: the satellite's start time (clock ticks after boot) from the
 * registry, 0 if unknown; a process with that pid but another start time is
 * not the job's, nor one that does not descend from @engine_pid (within
 * three generations; 0: not checked). */
OrrProbe      *orr_probe_new        (OrrProbeHost *host,
                                     const char   *key,
                                     int           pid,
                                     guint64       start,
                                     int           engine_pid);
void           orr_probe_free       (OrrProbe *probe);
int            orr_probe_get_pid    (OrrProbe *probe);
OrrProbeSource orr_probe_get_source (OrrProbe *probe);
/* FALSE when the satellite is gone (nothing was read). */
gboolean       orr_probe_read       (OrrProbe        *probe,
                                     OrrProbeReading *reading);

G_END_DECLS
