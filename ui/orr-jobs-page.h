/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-monitor.h"

G_BEGIN_DECLS

/**
 * OrrJobsPage:
 * Every Orrery job on this host, live, from the monitor: state, elapsed
 * time, a CPU sparkline, memory and rows; Cancel for this process's jobs;
 * the selected job's CPU, memory and I/O graphs over the last ten minutes;
 * and the finished jobs of the job log.
 */
#define ORR_TYPE_JOBS_PAGE (orr_jobs_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrJobsPage, orr_jobs_page, ORR, JOBS_PAGE, GtkBox)

void     orr_jobs_page_set_monitor (OrrJobsPage *self,
                                    OrrMonitor  *monitor);
gboolean orr_jobs_page_is_busy     (OrrJobsPage *self);
/* Selects the job @key ("<engine pid>-<job id>"); FALSE if it is not listed. */
gboolean orr_jobs_page_select_job  (OrrJobsPage *self,
                                    const char  *key);

G_END_DECLS
