/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-connection.h"
#include "orr-job.h"
#include "orr-wire.h"

G_BEGIN_DECLS

#define ORR_TYPE_ENGINE (orr_engine_get_type ())
G_DECLARE_FINAL_TYPE (OrrEngine, orr_engine, ORR, ENGINE, GObject)

/**
 * OrrEngine:
 * The launchpad: admits jobs, starts their satellites from a warm zygote
 * (a satellite process that has already imported numpy and pandas and forks
 * one child per job), moves the input rows to them and their results back.
 *
 * Signals (emitted in the thread-default main context of the thread that
 * submitted the job): OrrJob::state-changed (OrrJobState),
 * OrrJob::message (OrrJobMessageKind, const char *text).
 */
OrrEngine  *orr_engine_new                 (void);
/* Path of orrery-satellite; default: $ORRERY_SATELLITE, else the installed one. */
void        orr_engine_set_satellite_path  (OrrEngine  *self,
                                            const char *path);
const char *orr_engine_get_satellite_path  (OrrEngine *self);
/* Whether the engine's jobs come from the user's resident launchpad (a warm
 * zygote shared by the engines of this uid that outlives them; see
 * orr-launchpad.h) instead of a zygote of its own. Off by default; the CLI
 * turns it on. ORRERY_LAUNCHPAD=0 (or =1) in the environment overrides it.
 * If the launchpad cannot be reached, the engine starts its own zygote. */
void        orr_engine_set_use_launchpad   (OrrEngine  *self,
                                            gboolean    use);
/* TRUE when the current zygote is the launchpad (after a job or warm-up). */
gboolean    orr_engine_get_uses_launchpad  (OrrEngine  *self);
/* Probes the host's isolation and starts the zygote (or connects to the
 * launchpad) in the background, and returns at once: a program that will
 * submit a job soon calls it first, so that this overlaps its own start
 * (connecting to the database…). Errors are left for the first job. */
void        orr_engine_prepare             (OrrEngine  *self);
/* Starts the zygote now rather than with the first job; blocking. */
gboolean    orr_engine_warm_up             (OrrEngine  *self,
                                            GError    **error);
/* What this host enforces around each satellite, layer by layer (network,
 * filesystem, processes, identity, no_new_privs, seccomp, Landlock), and
 * through which back end each pool limit goes, as text for `orrery status`.
 * Probes the host on first use (blocking, a few milliseconds). */
char       *orr_engine_dup_isolation_report (OrrEngine *self) G_GNUC_WARN_UNUSED_RESULT;
/* Python, numpy and pandas versions of the satellite, once warmed up. */
const char *orr_engine_get_python_version  (OrrEngine *self);
const char *orr_engine_get_numpy_version   (OrrEngine *self);
const char *orr_engine_get_pandas_version  (OrrEngine *self);

/* Starts @spec on @connection in a worker thread; the connection must stay
 * open and is used by this job alone until it finishes. */
OrrJob     *orr_engine_submit              (OrrEngine        *self,
                                            OrrConnection    *connection,
                                            const OrrJobSpec *spec) G_GNUC_WARN_UNUSED_RESULT;

/* Parses "name:type=value" (and "name:type:out[=value]") as the CLI takes
 * it; types: int, float, str, bool, bytes (hex), date, time, timestamp. */
OrrParam   *orr_param_parse                (const char  *text,
                                            GError     **error);

G_END_DECLS
