/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Include after config.h and <Python.h>: Python wants to come before any
 * system header. */
#include <glib.h>

#include "orr-wire.h"

G_BEGIN_DECLS

/* Exit statuses of a job, as the engine reads them. */
#define ORR_SATELLITE_EXIT_OK       0
#define ORR_SATELLITE_EXIT_ERROR    1  /* an ERROR message was sent */
#define ORR_SATELLITE_EXIT_PROTOCOL 2  /* the engine broke the protocol or went away */

/* Rows in one result batch, at most. */
#define ORR_SATELLITE_BATCH_ROWS 65536

/* orr-satellite-module.c: the builtin `_orrery` module. */
PyObject *_orr_satellite_module_init   (void);
/* Wraps a private mapping of @size bytes at @base (unmapped when the last
 * Python view of it goes). */
PyObject *_orr_satellite_mapping_new   (void  *base,
                                        gsize  size);
/* Starts streaming sys.stdout/sys.stderr as STDOUT/STDERR messages on @sock,
 * with at most @limit bytes in all (0: no limit). */
void      _orr_satellite_sink_start    (int     sock,
                                        guint64 limit);
/* Sends what is pending and stops streaming; later writes are dropped. */
void      _orr_satellite_sink_stop     (void);
/* str(@obj) as valid UTF-8 without NUL (lone surrogates and NULs escaped),
 * never NULL; clears any Python error. */
char     *_orr_satellite_dup_text      (PyObject *obj) G_GNUC_WARN_UNUSED_RESULT;

/* orr-satellite-job.c */
gboolean  _orr_satellite_load_glue     (void);
PyObject *_orr_satellite_get_glue      (void);
/* Runs one job on @sock; returns the process exit status. */
int       _orr_satellite_run_job       (int sock);
/* Sends an ERROR made of the pending Python exception (which it clears). */
void      _orr_satellite_send_py_error (int         sock,
                                        const char *context);

G_END_DECLS
