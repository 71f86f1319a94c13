/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * OrrSparklineRenderer:
 * A cell renderer that draws a job's recent CPU use as a small line: its
 * "job" property is an OrrMonitorJob, drawn over the last
 * OrrSparklineRenderer:seconds (60 by default), scaled to 100 % of one core
 * or the job's peak when higher.
 */
#define ORR_TYPE_SPARKLINE_RENDERER (orr_sparkline_renderer_get_type ())
G_DECLARE_FINAL_TYPE (OrrSparklineRenderer, orr_sparkline_renderer, ORR, SPARKLINE_RENDERER, GtkCellRenderer)

GtkCellRenderer *orr_sparkline_renderer_new (void);

G_END_DECLS
