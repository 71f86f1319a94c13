/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-engine.h"
#include "orr-monitor.h"

G_BEGIN_DECLS

#define ORR_APPLICATION_ID "org.orrery.Console"

#define ORR_TYPE_APPLICATION (orr_application_get_type ())
G_DECLARE_FINAL_TYPE (OrrApplication, orr_application, ORR, APPLICATION, GtkApplication)

OrrApplication *orr_application_new        (void);
OrrEngine      *orr_application_get_engine  (OrrApplication *self);
/* The host's jobs and pools, sampled while the application runs. */
OrrMonitor     *orr_application_get_monitor (OrrApplication *self);
/* Jobs this process's windows submitted, by engine job id, while they live
 * (the Jobs page cancels through them). */
void            orr_application_track_job   (OrrApplication *self,
                                             OrrJob         *job);
OrrJob         *orr_application_lookup_job  (OrrApplication *self,
                                             guint64         id);

G_END_DECLS
