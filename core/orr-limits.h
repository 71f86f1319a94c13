/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * OrrLimits:
 * What a resource pool allows its jobs (SQL Server's external resource
 * pool settings). Zero, or NULL for @cpus, means "no limit".
 *
 * @pool: the pool's name
 * @max_cpu_percent: share of the host's CPU for the pool, 1–100
 * @max_memory_bytes: memory for the pool's jobs together
 * @max_processes: satellites running at once in the pool; further jobs queue
 * @cpus: CPU affinity, a list such as "0-3,6"
 * @timeout_ms: wall-clock limit of each job
 */
typedef struct {
  char *pool;
  guint max_cpu_percent;
  guint64 max_memory_bytes;
  guint max_processes;
  char *cpus;
  guint timeout_ms;
} OrrLimits;

OrrLimits *orr_limits_new  (const char *pool);
OrrLimits *orr_limits_copy (const OrrLimits *limits);
void       orr_limits_free (OrrLimits *limits);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrLimits, orr_limits_free)

/* Parses a CPU list ("0-3,6"): FALSE with an error naming what is wrong. */
gboolean   orr_cpu_list_parse (const char  *text,
                               GArray     **cpus_out,
                               GError     **error);

G_END_DECLS
