/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-sparkline-renderer"

#include "config.h"

#include "orr-monitor.h"
#include "orr-sparkline-renderer.h"

#define WIDTH 96
#define HEIGHT 18

struct _OrrSparklineRenderer
{
  GtkCellRenderer  parent_instance;

  OrrMonitorJob   *job;
  guint            seconds;
};

enum {
  PROP_0,
  PROP_JOB,
  PROP_SECONDS,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (OrrSparklineRenderer, orr_sparkline_renderer, GTK_TYPE_CELL_RENDERER)

static double
sample_cpu (const OrrJobSample *sample)
{
  if (sample->cpu_user_percent < 0)
    return -1;
  return sample->cpu_user_percent + MAX (sample->cpu_system_percent, 0);
}

static void
orr_sparkline_renderer_render (GtkCellRenderer      *cell,
                               cairo_t              *cr,
                               GtkWidget            *widget,
                               const GdkRectangle   *background_area,
                               const GdkRectangle   *cell_area,
                               GtkCellRendererState  flags)
{
  OrrSparklineRenderer *self = ORR_SPARKLINE_RENDERER (cell);
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  gint64 now = g_get_monotonic_time ();
  gint64 span = (gint64) self->seconds * G_USEC_PER_SEC;
  double max = 100;
  double x0;
  double y0;
  double w;
  double h;
  gboolean started = FALSE;
  GdkRGBA color;
  guint n;
  guint i;
  int xpad;
  int ypad;

  if (self->job == NULL)
    return;
  gtk_cell_renderer_get_padding (cell, &xpad, &ypad);
  x0 = cell_area->x + xpad;
  y0 = cell_area->y + ypad;
  w = cell_area->width - 2 * xpad;
  h = cell_area->height - 2 * ypad;

  n = orr_monitor_job_get_n_samples (self->job);
  for (i = 0; i < n; i++)
    {
      const OrrJobSample *sample = orr_monitor_job_get_sample (self->job, i);

      if (now - sample->time <= span)
        max = MAX (max, sample_cpu (sample));
    }

  /* The selection's text colour on a selected row, the accent otherwise. */
  if (flags & GTK_CELL_RENDERER_SELECTED)
    gtk_style_context_get_color (style, gtk_style_context_get_state (style), &color);
  else if (!gtk_style_context_lookup_color (style, "theme_selected_bg_color", &color))
    gdk_rgba_parse (&color, "#3584e4");

  cairo_save (cr);
  cairo_rectangle (cr, x0, y0, w, h);
  cairo_clip (cr);
  cairo_set_source_rgba (cr, color.red, color.green, color.blue, 0.25);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, x0, y0 + h - 0.5);
  cairo_line_to (cr, x0 + w, y0 + h - 0.5);
  cairo_stroke (cr);

  for (i = 0; i < n; i++)
    {
      const OrrJobSample *sample = orr_monitor_job_get_sample (self->job, i);
      double cpu = sample_cpu (sample);
      double x = x0 + w * (1.0 - (double) (now - sample->time) / span);
      double y = y0 + h - 1 - (h - 2) * CLAMP (cpu / max, 0, 1);

      if (cpu < 0 || x < x0)
        continue;
      if (!started)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
      started = TRUE;
    }
  cairo_set_source_rgba (cr, color.red, color.green, color.blue, 1.0);
  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
orr_sparkline_renderer_get_preferred_width (GtkCellRenderer *cell,
                                            GtkWidget       *widget,
                                            int             *minimum,
                                            int             *natural)
{
  *minimum = *natural = WIDTH;
}

static void
orr_sparkline_renderer_get_preferred_height (GtkCellRenderer *cell,
                                             GtkWidget       *widget,
                                             int             *minimum,
                                             int             *natural)
{
  *minimum = *natural = HEIGHT;
}

static void
orr_sparkline_renderer_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  OrrSparklineRenderer *self = ORR_SPARKLINE_RENDERER (object);

  switch (prop_id)
    {
    case PROP_JOB:
      g_value_set_object (value, self->job);
      break;
    case PROP_SECONDS:
      g_value_set_uint (value, self->seconds);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_sparkline_renderer_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  OrrSparklineRenderer *self = ORR_SPARKLINE_RENDERER (object);

  switch (prop_id)
    {
    case PROP_JOB:
      g_set_object (&self->job, g_value_get_object (value));
      break;
    case PROP_SECONDS:
      self->seconds = MAX (g_value_get_uint (value), 1);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_sparkline_renderer_dispose (GObject *object)
{
  g_clear_object (&ORR_SPARKLINE_RENDERER (object)->job);

  G_OBJECT_CLASS (orr_sparkline_renderer_parent_class)->dispose (object);
}

static void
orr_sparkline_renderer_class_init (OrrSparklineRendererClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkCellRendererClass *cell_class = GTK_CELL_RENDERER_CLASS (klass);

  object_class->dispose = orr_sparkline_renderer_dispose;
  object_class->get_property = orr_sparkline_renderer_get_property;
  object_class->set_property = orr_sparkline_renderer_set_property;
  cell_class->render = orr_sparkline_renderer_render;
  cell_class->get_preferred_width = orr_sparkline_renderer_get_preferred_width;
  cell_class->get_preferred_height = orr_sparkline_renderer_get_preferred_height;

  properties[PROP_JOB] =
    g_param_spec_object ("job", NULL, NULL, ORR_TYPE_MONITOR_JOB,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECONDS] =
    g_param_spec_uint ("seconds", NULL, NULL, 1, 3600, 60,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
orr_sparkline_renderer_init (OrrSparklineRenderer *self)
{
  self->seconds = 60;
  gtk_cell_renderer_set_padding (GTK_CELL_RENDERER (self), 2, 2);
}

GtkCellRenderer *
orr_sparkline_renderer_new (void)
{
  return g_object_new (ORR_TYPE_SPARKLINE_RENDERER, NULL);
}
