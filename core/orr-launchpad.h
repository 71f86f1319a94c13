/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The resident launchpad: a warm satellite zygote (`orrery-satellite
 * --launchpad`) that outlives the program that started it, so that the next
 * engine of the same user skips Python's and pandas' start. One per uid,
 * satellite binary (path and identity) and environment; reached over a unix
 * socket in a private directory (0700, owned by the uid):
 *
 *   $XDG_RUNTIME_DIR/orrery       when XDG_RUNTIME_DIR is a directory
 *   /run/orrery/launchpad         for root otherwise
 *   ${TMPDIR:-/tmp}/orrery-UID    otherwise
 *
 * It speaks the zygote's protocol (READY on connect, then FORK → FORKED, and
 * EXITED for each child of that connection); it only accepts peers of its
 * own uid that are not its descendants and share its namespaces, and kills
 * the children of a connection that closes. It leaves after
 * ORRERY_LAUNCHPAD_IDLE seconds (default 600) without connections or
 * children, or when its binary or socket was replaced or removed.
 */

#define ORR_LAUNCHPAD_DEFAULT_IDLE_S 600

/* The private directory the launchpads of this user live in; made if
 * missing. Fails when it is not a directory of this uid with mode 0700. */
char *orr_launchpad_dup_dir (GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Connects to the launchpad for @satellite_path and @envp (the satellite's
 * whole environment, NULL-terminated), starting it first when none runs.
 * Returns the control socket after its READY, with the three version strings
 * (Python, numpy, pandas) in @versions; -1 on error. Blocks up to
 * @ready_timeout_ms for a launchpad that is still starting. */
int   orr_launchpad_connect (const char         *satellite_path,
                             const char * const *envp,
                             int                 ready_timeout_ms,
                             char             ***versions,
                             GError            **error);

G_END_DECLS
