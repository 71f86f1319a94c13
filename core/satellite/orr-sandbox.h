/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <glib.h>

#include "orr-wire.h"

G_BEGIN_DECLS

/* Exit status of a satellite whose sandbox could not be built; its job got
 * an ERROR (kind "OrrerySandboxError") that says which step failed. Same as
 * ORR_SATELLITE_EXIT_ERROR. */
#define ORR_SANDBOX_EXIT_FAILED 1

/*
 * Isolates the calling process — a fresh child of the zygote — as @spec
 * asks, before anything of its job is read from @job_fd. Every descriptor
 * but 0–2 and @job_fd is closed first; then it waits until the engine's
 * first message is readable (by then the engine has put it in the job's
 * cgroups).
 *
 * Returns in the process that is to run the job, with the signal mask
 * @job_mask, the job's environment and, when anything was asked, standard
 * input and output on /dev/null. With ORR_WIRE_FORK_PID_NS the caller stays
 * outside as the keeper and a small init (PID 1 of the new namespace) runs
 * the job as PID 2; neither returns: they pass signals on (SIGUSR1 to the
 * keeper kills the whole namespace), reap, and end with the job's own wait
 * status, so the zygote's EXITED stays true.
 *
 * If a step fails the job gets an ERROR naming it and the process exits with
 * ORR_SANDBOX_EXIT_FAILED: a sandbox that was asked for is never skipped.
 * @parent is the zygote's pid, to check it did not die meanwhile.
 */
void orr_sandbox_enter (const OrrWireFork *spec,
                        int                job_fd,
                        const sigset_t    *job_mask,
                        pid_t              parent);

G_END_DECLS
