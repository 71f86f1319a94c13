/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  ORR_GRAPH_PERCENT,            /* 0–100 % and up (of one core) */
  ORR_GRAPH_BYTES,
  ORR_GRAPH_BYTES_PER_SECOND,
} OrrGraphUnit;

/**
 * OrrGraph:
 * A time series graph drawn with Cairo: one or more series over the last
 * minutes (10 by default), with a time axis ("−10 min" … "now"), a value
 * axis in the graph's unit, a legend and an optional limit line. The owner
 * hands it the points; it draws them smoothed.
 */
#define ORR_TYPE_GRAPH (orr_graph_get_type ())
G_DECLARE_FINAL_TYPE (OrrGraph, orr_graph, ORR, GRAPH, GtkDrawingArea)

GtkWidget *orr_graph_new          (void);
void       orr_graph_set_title    (OrrGraph     *self,
                                   const char   *title);
void       orr_graph_set_unit     (OrrGraph     *self,
                                   OrrGraphUnit  unit);
/* How much time the graph shows, ending now; by default the span fits the
 * points given, in steps of 30 s to 10 min. */
void       orr_graph_set_span     (OrrGraph     *self,
                                   guint         seconds);
/* Series names and colours ("#3584e4"); resets the points. */
void       orr_graph_set_series   (OrrGraph           *self,
                                   guint               n_series,
                                   const char * const *names,
                                   const char * const *colors);
/* @times: g_get_monotonic_time() of each point; @values: n_points rows of
 * n_series values (negative: unknown, not drawn). Copied. */
void       orr_graph_set_points   (OrrGraph     *self,
                                   const gint64 *times,
                                   const double *values,
                                   guint         n_points);
/* A horizontal line at @limit (a pool's limit), 0 for none. */
void       orr_graph_set_limit    (OrrGraph     *self,
                                   double        limit);
guint      orr_graph_get_n_points (OrrGraph     *self);
/* Formats @value in @unit, as the axis does ("25 %", "1.2 GB", "3.4 MB/s"). */
char      *orr_graph_format_value (OrrGraphUnit  unit,
                                   double        value) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
