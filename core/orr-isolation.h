/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "orr-limits.h"
#include "orr-wire.h"

G_BEGIN_DECLS

/**
 * OrrIsolation:
 * What this host lets the engine enforce around a satellite, found by trying
 * (namespaces, mounts, seccomp and Landlock in a throwaway child; cgroup
 * directories by creating one), and the per-job set-up and tear-down:
 * worker identity, job directory, job cgroups.
 *
 * Nothing pretends: a layer the host refuses is reported as missing and the
 * job runs with what there is. Set ORRERY_ISOLATION=off to run satellites
 * unconfined (measurements, diagnosis); the report says so.
 */
typedef struct _OrrIsolation OrrIsolation;

/**
 * OrrIsolationJob:
 * One job's sandbox as the engine sees it: created before the satellite is
 * forked, told the satellite's pid once it is, finished after it exited.
 */
typedef struct _OrrIsolationJob OrrIsolationJob;

typedef enum {
  ORR_ISOLATION_NETWORK,
  ORR_ISOLATION_FILESYSTEM,
  ORR_ISOLATION_PROCESSES,
  ORR_ISOLATION_IDENTITY,
  ORR_ISOLATION_NO_NEW_PRIVS,
  ORR_ISOLATION_SECCOMP,
  ORR_ISOLATION_LANDLOCK,
  ORR_ISOLATION_N_LAYERS
} OrrIsolationLayer;

typedef enum {
  ORR_LIMIT_MEMORY,
  ORR_LIMIT_CPU_PERCENT,
  ORR_LIMIT_PROCESSES,
  ORR_LIMIT_AFFINITY,
  ORR_LIMIT_TIMEOUT,
  ORR_N_LIMITS
} OrrLimitKind;

typedef enum {
  ORR_LIMIT_BACKEND_NONE,
  ORR_LIMIT_BACKEND_CGROUP_V2,
  ORR_LIMIT_BACKEND_CGROUP_V1,
  ORR_LIMIT_BACKEND_RLIMIT,          /* RLIMIT_AS for memory, RLIMIT_NPROC for processes */
  ORR_LIMIT_BACKEND_SCHED_AFFINITY,  /* sched_setaffinity */
  ORR_LIMIT_BACKEND_ENGINE_TIMER,
} OrrLimitBackend;

/* Probes the host (a few milliseconds: forks a child that tries each layer). */
OrrIsolation   *orr_isolation_new               (void);
void            orr_isolation_free              (OrrIsolation *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrIsolation, orr_isolation_free)

/* Layer by layer, what is enforced and how, or why not; for `orrery status`. */
char           *orr_isolation_dup_report        (OrrIsolation *self) G_GNUC_WARN_UNUSED_RESULT;
gboolean        orr_isolation_is_enabled        (OrrIsolation *self);
gboolean        orr_isolation_is_privileged     (OrrIsolation *self);
gboolean        orr_isolation_has_layer         (OrrIsolation      *self,
                                                 OrrIsolationLayer  layer);
OrrLimitBackend orr_isolation_get_backend       (OrrIsolation *self,
                                                 OrrLimitKind  kind);
const char     *orr_limit_backend_to_string     (OrrLimitBackend backend);

/* Allocates a worker identity and creates the job directory for @limits
 * (NULL: none). Fails with ORR_ERROR_INVALID_ARGUMENT for limits this host
 * cannot apply (a CPU it does not have), or ORR_ERROR_SATELLITE when a
 * layer the probe found stops working. */
OrrIsolationJob *orr_isolation_job_new          (OrrIsolation     *self,
                                                 guint64           job_id,
                                                 const OrrLimits  *limits,
                                                 GError          **error);
/* The FORK request that carries this sandbox to the satellite, with the
 * job's cgroups the child moves itself into before anything else: call
 * after orr_isolation_job_create_cgroups(). */
GBytes          *orr_isolation_job_encode_fork  (OrrIsolationJob *job);
/* Creates the job's cgroups (and its pool's) with the limits. */
gboolean         orr_isolation_job_create_cgroups (OrrIsolationJob  *job,
                                                   GError          **error);
/* Once the satellite exited: reads which limit was hit, kills whatever is
 * left in the job's cgroups, removes them, the job directory and the worker
 * identity. Idempotent. */
void             orr_isolation_job_finish       (OrrIsolationJob *job);
/* Names the limit that explains @error (the job's failure), as
 * "memory limit of 256 MB exceeded" or "process limit of 16 reached", or
 * NULL when no limit was hit. Call after orr_isolation_job_finish(). */
char            *orr_isolation_job_dup_limit_error (OrrIsolationJob *job,
                                                    const GError    *error) G_GNUC_WARN_UNUSED_RESULT;
void             orr_isolation_job_free         (OrrIsolationJob *job);

/* For tests: what the job had. */
const char      *orr_isolation_job_get_dir      (OrrIsolationJob *job);
int              orr_isolation_job_get_uid      (OrrIsolationJob *job);
/* Job cgroup directories (one per hierarchy), NULL-terminated. */
const char * const *orr_isolation_job_get_cgroups (OrrIsolationJob *job);
/* CPU time of all the job's processes from its cgroup (nanoseconds), or -1. */
gint64           orr_isolation_job_get_cpu_usage_ns (OrrIsolationJob *job);

G_END_DECLS
