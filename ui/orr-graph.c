/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-graph"

#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "orr-graph.h"

#define MAX_SERIES 4
#define PAD 8.0
#define TICK_LENGTH 4.0

struct _OrrGraph
{
  GtkDrawingArea  parent_instance;

  char           *title;
  OrrGraphUnit    unit;
  guint           span_s;
  gboolean        auto_span;
  guint           n_series;
  char           *names[MAX_SERIES];
  GdkRGBA         colors[MAX_SERIES];
  GArray         *times;   /* gint64 */
  GArray         *values;  /* double, n_series per point */
  double          limit;
};

G_DEFINE_FINAL_TYPE (OrrGraph, orr_graph, GTK_TYPE_DRAWING_AREA)

char *
orr_graph_format_value (OrrGraphUnit unit,
                        double       value)
{
  g_autofree char *size = NULL;

  switch (unit)
    {
    case ORR_GRAPH_PERCENT:
      /* Translators: a percentage on a graph's axis. */
      return g_strdup_printf (_("%.0f %%"), value);
    case ORR_GRAPH_BYTES:
      return g_format_size_full ((guint64) MAX (value, 0), G_FORMAT_SIZE_IEC_UNITS);
    case ORR_GRAPH_BYTES_PER_SECOND:
      size = g_format_size_full ((guint64) MAX (value, 0), G_FORMAT_SIZE_IEC_UNITS);
      /* Translators: a rate, "3.4 MB/s". */
      return g_strdup_printf (_("%s/s"), size);
    default:
      g_assert_not_reached ();
    }
}

/* A round step for about @n ticks up to @max: 1, 2 or 5 × 10^k. */
static double
nice_step (double max,
           int    n)
{
  double raw = max / n;
  double magnitude = pow (10, floor (log10 (raw)));
  double fraction = raw / magnitude;

  if (fraction <= 1)
    return magnitude;
  if (fraction <= 2)
    return 2 * magnitude;
  if (fraction <= 5)
    return 5 * magnitude;
  return 10 * magnitude;
}

/* A power of two for about @n ticks up to @max: every tick is then exact in
 * KiB, MiB or GiB (256 KiB, 768 KiB, 1.0 MiB…), where 1, 2 or 5 × 10^k
 * steps of KiB would read "1000.0 KiB" and a rounded "1.5 MiB". */
static double
nice_step_binary (double max,
                  int    n)
{
  double step = 1;

  while (step * n < max)
    step *= 2;
  return step;
}

static void
set_color (cairo_t       *cr,
           const GdkRGBA *color,
           double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

static double
text_width (PangoLayout *layout,
            const char  *text)
{
  int width;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}

static void
draw_text (cairo_t     *cr,
           PangoLayout *layout,
           const char  *text,
           double       x,
           double       y,
           double       xalign,
           double       yalign)
{
  int width;
  int height;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - width * xalign, y - height * yalign);
  pango_cairo_show_layout (cr, layout);
}

/* The series' line through its points, smoothed: curves through the
 * midpoints of successive points (a quadratic B-spline), so a 4 Hz series
 * reads as a trend, not as a saw. */
static void
trace_series (OrrGraph *self,
              cairo_t  *cr,
              guint     series,
              double    x0,
              double    y0,
              double    width,
              double    height,
              gint64    now,
              double    max,
              gboolean  close_to_axis)
{
  double px = 0;
  double py = 0;
  double first_x = 0;
  gboolean started = FALSE;
  guint i;

  for (i = 0; i < self->times->len; i++)
    {
      gint64 t = g_array_index (self->times, gint64, i);
      double v = g_array_index (self->values, double, i * self->n_series + series);
      double x = x0 + width * (1.0 - (double) (now - t) / (self->span_s * (double) G_USEC_PER_SEC));
      double y;

      if (v < 0 || x < x0)
        {
          if (started && !close_to_axis)
            {
              cairo_line_to (cr, px, py);
              started = FALSE;
            }
          continue;
        }
      y = y0 + height * (1.0 - MIN (v / max, 1.05));
      if (!started)
        {
          if (close_to_axis)
            {
              cairo_move_to (cr, x, y0 + height);
              cairo_line_to (cr, x, y);
            }
          else
            cairo_move_to (cr, x, y);
          first_x = x;
          started = TRUE;
        }
      else
        {
          double mx = (px + x) / 2;
          double my = (py + y) / 2;

          cairo_curve_to (cr, px, py, px, py, mx, my);
        }
      px = x;
      py = y;
    }
  if (started)
    {
      cairo_line_to (cr, px, py);
      if (close_to_axis)
        {
          cairo_line_to (cr, px, y0 + height);
          cairo_line_to (cr, first_x, y0 + height);
          cairo_close_path (cr);
        }
    }
}

static const guint tick_steps[] = { 5, 10, 15, 30, 60, 120, 300, 600 };

static gboolean
orr_graph_draw (GtkWidget *widget,
                cairo_t   *cr)
{
  OrrGraph *self = ORR_GRAPH (widget);
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  double width = gtk_widget_get_allocated_width (widget);
  double height = gtk_widget_get_allocated_height (widget);
  gint64 now = g_get_monotonic_time ();
  GdkRGBA fg;
  double max = 0;
  double step;
  double left;
  double top;
  double plot_w;
  double plot_h;
  double legend_x;
  double legend_y;
  double legend_w;
  double title_w;
  double label_w;
  guint tick_s;
  double v;
  int text_h;
  guint i;
  guint s;

  gtk_render_background (style, cr, 0, 0, width, height);
  gtk_style_context_get_color (style, gtk_style_context_get_state (style), &fg);

  /* The scale: the largest value in view, the limit, and the unit's floor. */
  for (i = 0; i < self->times->len; i++)
    for (s = 0; s < self->n_series; s++)
      max = MAX (max, g_array_index (self->values, double, i * self->n_series + s));
  max = MAX (max, self->limit);
  switch (self->unit)
    {
    case ORR_GRAPH_PERCENT:
      max = MAX (max, 100);
      break;
    case ORR_GRAPH_BYTES:
      max = MAX (max, 16.0 * 1024 * 1024);
      break;
    case ORR_GRAPH_BYTES_PER_SECOND:
      max = MAX (max, 1024.0 * 1024);
      break;
    default:
      g_assert_not_reached ();
    }
  /* Bytes step in powers of two, as their units are. */
  step = self->unit == ORR_GRAPH_PERCENT ? nice_step (max, 4) : nice_step_binary (max, 4);
  max = ceil (max / step) * step;

  pango_layout_set_text (layout, "0", -1);
  pango_layout_get_pixel_size (layout, NULL, &text_h);

  legend_w = 0;
  for (s = 0; s < self->n_series; s++)
    legend_w += text_width (layout, self->names[s]) + 6 + 10 + 14;
  title_w = self->title != NULL ? text_width (layout, self->title) + 12 : 0;

  /* Room for the widest value label on the left, the title and legend on
   * top, the time labels below. */
  left = 0;
  for (v = 0; v <= max + step / 2; v += step)
    {
      g_autofree char *label = orr_graph_format_value (self->unit, v);

      left = MAX (left, text_width (layout, label));
    }
  left += PAD + TICK_LENGTH + 2;
  plot_w = MAX (width - left - PAD * 2, 10);
  /* The legend beside the title when both fit, else on a line of its own. */
  legend_y = PAD;
  if (title_w + legend_w > plot_w)
    legend_y = PAD + text_h + 2;
  top = legend_y + text_h + 4;
  plot_h = MAX (height - top - text_h - PAD - TICK_LENGTH - 2, 10);

  /* Title, then the legend at the right. */
  set_color (cr, &fg, 1.0);
  if (self->title != NULL)
    {
      PangoAttrList *attrs = pango_attr_list_new ();

      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      pango_layout_set_attributes (layout, attrs);
      draw_text (cr, layout, self->title, left, PAD, 0, 0);
      pango_layout_set_attributes (layout, NULL);
      pango_attr_list_unref (attrs);
    }
  legend_x = left + plot_w;
  for (s = self->n_series; s-- > 0;)
    {
      double w = text_width (layout, self->names[s]);

      set_color (cr, &fg, 0.8);
      draw_text (cr, layout, self->names[s], legend_x, legend_y, 1, 0);
      legend_x -= w + 6;
      set_color (cr, &self->colors[s], 1.0);
      cairo_rectangle (cr, legend_x - 10, legend_y + text_h / 2.0 - 5, 10, 10);
      cairo_fill (cr);
      legend_x -= 10 + 14;
    }

  /* Grid and value axis. */
  cairo_set_line_width (cr, 1.0);
  for (v = 0; v <= max + step / 2; v += step)
    {
      double y = floor (top + plot_h * (1 - v / max)) + 0.5;
      g_autofree char *label = orr_graph_format_value (self->unit, v);

      set_color (cr, &fg, v == 0 ? 0.5 : 0.12);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, left + plot_w, y);
      cairo_stroke (cr);
      set_color (cr, &fg, 0.7);
      draw_text (cr, layout, label, left - TICK_LENGTH - 2, y, 1, 0.5);
    }

  /* Time axis: ticks as close as their labels allow, "now" at the right. */
  label_w = text_width (layout, "−10 min") + 16;
  tick_s = self->span_s;
  for (i = 0; i < G_N_ELEMENTS (tick_steps); i++)
    if (tick_steps[i] <= self->span_s && (self->span_s / tick_steps[i]) * label_w <= plot_w)
      {
        tick_s = tick_steps[i];
        break;
      }
  for (i = 0; i * tick_s <= self->span_s; i++)
    {
      guint ago = i * tick_s;
      double x = floor (left + plot_w * (1.0 - (double) ago / self->span_s)) + 0.5;
      g_autofree char *label = NULL;

      if (ago == 0)
        label = g_strdup (C_("graph", "now"));
      else if (ago % 60 == 0)
        /* Translators: on a graph's time axis, minutes ago: "−10 min". */
        label = g_strdup_printf (_("−%u min"), ago / 60);
      else
        /* Translators: on a graph's time axis, seconds ago: "−30 s". */
        label = g_strdup_printf (_("−%u s"), ago);
      set_color (cr, &fg, 0.12);
      cairo_move_to (cr, x, top);
      cairo_line_to (cr, x, top + plot_h + TICK_LENGTH);
      cairo_stroke (cr);
      set_color (cr, &fg, 0.7);
      draw_text (cr, layout, label, x, top + plot_h + TICK_LENGTH + 1,
                 ago == 0 ? 1 : ago + tick_s > self->span_s ? 0 : 0.5, 0);
    }

  /* The limit, dashed. */
  if (self->limit > 0)
    {
      double y = floor (top + plot_h * (1 - self->limit / max)) + 0.5;
      static const double dash[] = { 4, 3 };
      g_autofree char *value = orr_graph_format_value (self->unit, self->limit);
      /* Translators: the line of a pool's limit on a graph: "limit 2.0 GB". */
      g_autofree char *label = g_strdup_printf (_("limit %s"), value);

      set_color (cr, &fg, 0.6);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, left + plot_w, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      /* Above the line, or below it when the line is at the top. */
      if (y - text_h - 1 < top)
        draw_text (cr, layout, label, left + 4, y + 1, 0, 0);
      else
        draw_text (cr, layout, label, left + 4, y - 1, 0, 1);
    }

  /* The series, clipped to the plot: the first filled beneath. */
  cairo_save (cr);
  cairo_rectangle (cr, left, top - 2, plot_w, plot_h + 2);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (s = 0; s < self->n_series; s++)
    {
      if (s == 0)
        {
          trace_series (self, cr, s, left, top, plot_w, plot_h, now, max, TRUE);
          set_color (cr, &self->colors[s], 0.18);
          cairo_fill (cr);
        }
      trace_series (self, cr, s, left, top, plot_w, plot_h, now, max, FALSE);
      set_color (cr, &self->colors[s], 1.0);
      cairo_set_line_width (cr, 1.6);
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  if (self->times->len == 0)
    {
      set_color (cr, &fg, 0.5);
      draw_text (cr, layout, _("No samples yet"), left + plot_w / 2, top + plot_h / 2, 0.5, 0.5);
    }
  return GDK_EVENT_PROPAGATE;
}

static void
orr_graph_finalize (GObject *object)
{
  OrrGraph *self = ORR_GRAPH (object);
  guint i;

  g_free (self->title);
  for (i = 0; i < MAX_SERIES; i++)
    g_free (self->names[i]);
  g_array_unref (self->times);
  g_array_unref (self->values);

  G_OBJECT_CLASS (orr_graph_parent_class)->finalize (object);
}

static void
orr_graph_class_init (OrrGraphClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_graph_finalize;
  GTK_WIDGET_CLASS (klass)->draw = orr_graph_draw;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "orrgraph");
}

static void
orr_graph_init (OrrGraph *self)
{
  self->span_s = 600;
  self->auto_span = TRUE;
  self->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->values = g_array_new (FALSE, FALSE, sizeof (double));
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 140);
}

GtkWidget *
orr_graph_new (void)
{
  return g_object_new (ORR_TYPE_GRAPH, NULL);
}

void
orr_graph_set_title (OrrGraph   *self,
                     const char *title)
{
  g_return_if_fail (ORR_IS_GRAPH (self));

  g_free (self->title);
  self->title = g_strdup (title);
  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self)), title);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
orr_graph_set_unit (OrrGraph     *self,
                    OrrGraphUnit  unit)
{
  g_return_if_fail (ORR_IS_GRAPH (self));

  self->unit = unit;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
orr_graph_set_span (OrrGraph *self,
                    guint     seconds)
{
  g_return_if_fail (ORR_IS_GRAPH (self));
  g_return_if_fail (seconds > 0);

  self->span_s = seconds;
  self->auto_span = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
orr_graph_set_series (OrrGraph           *self,
                      guint               n_series,
                      const char * const *names,
                      const char * const *colors)
{
  guint i;

  g_return_if_fail (ORR_IS_GRAPH (self));
  g_return_if_fail (n_series > 0 && n_series <= MAX_SERIES);

  for (i = 0; i < MAX_SERIES; i++)
    g_clear_pointer (&self->names[i], g_free);
  self->n_series = n_series;
  for (i = 0; i < n_series; i++)
    {
      self->names[i] = g_strdup (names[i]);
      if (!gdk_rgba_parse (&self->colors[i], colors[i]))
        gdk_rgba_parse (&self->colors[i], "#3584e4");
    }
  orr_graph_set_points (self, NULL, NULL, 0);
}

void
orr_graph_set_points (OrrGraph     *self,
                      const gint64 *times,
                      const double *values,
                      guint         n_points)
{
  g_return_if_fail (ORR_IS_GRAPH (self));

  g_array_set_size (self->times, 0);
  g_array_set_size (self->values, 0);
  if (n_points > 0)
    {
      g_array_append_vals (self->times, times, n_points);
      g_array_append_vals (self->values, values, n_points * self->n_series);
    }
  if (self->auto_span)
    {
      static const guint spans[] = { 30, 60, 120, 300, 600 };
      gint64 age = n_points > 0 ? g_get_monotonic_time () - times[0] : 0;
      guint i;

      /* The whole series in a round span, up to the longest. */
      self->span_s = spans[G_N_ELEMENTS (spans) - 1];
      for (i = 0; i < G_N_ELEMENTS (spans); i++)
        if (age <= (gint64) spans[i] * G_USEC_PER_SEC)
          {
            self->span_s = spans[i];
            break;
          }
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
orr_graph_set_limit (OrrGraph *self,
                     double    limit)
{
  g_return_if_fail (ORR_IS_GRAPH (self));

  self->limit = limit;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
orr_graph_get_n_points (OrrGraph *self)
{
  g_return_val_if_fail (ORR_IS_GRAPH (self), 0);

  return self->times->len;
}
