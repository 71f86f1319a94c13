/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-error.h"
#include "orr-monitor.h"
#include "orrery-cli.h"

/* `orrery jobs` and `orrery pools`: the host's live jobs and their pools,
 * from the host-wide registry (no database connection), sampled by
 * OrrMonitor (liborrery-monitor). */

#define SCRIPT_WIDTH 40

/* ------------------------------------------------------------ cells */

static char *
format_elapsed (gint64 us)
{
  gint64 s = us / G_USEC_PER_SEC;

  if (s >= 86400)
    /* Translators: an elapsed time of days, hours and minutes: “2d 03:15”. */
    return g_strdup_printf (_("%lldd %02d:%02d"), (long long) (s / 86400), (int) (s % 86400 / 3600),
                            (int) (s % 3600 / 60));
  if (s >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", (int) (s / 3600), (int) (s % 3600 / 60), (int) (s % 60));
  return g_strdup_printf ("%d:%02d", (int) (s / 60), (int) (s % 60));
}

static char *
format_bytes (gint64 bytes)
{
  if (bytes < 0)
    return g_strdup ("-");
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static char *
format_percent (double percent)
{
  if (!(percent >= 0))
    return g_strdup ("-");
  return g_strdup_printf ("%.1f", percent);
}

static double
job_cpu_percent (OrrMonitorJob *job)
{
  const OrrJobSample *s = orr_monitor_job_get_last_sample (job);

  if (s == NULL || orr_monitor_job_is_finished (job) || s->cpu_user_percent < 0 || s->cpu_system_percent < 0)
    return -1;
  return s->cpu_user_percent + s->cpu_system_percent;
}

static gint64
job_memory (OrrMonitorJob *job)
{
  const OrrJobSample *s = orr_monitor_job_get_last_sample (job);

  return s && !orr_monitor_job_is_finished (job) ? s->memory_bytes : -1;
}

/* The state as `orrery jobs`' table shows it, in the user's language (CSV
 * and JSON keep the codes of job_state()). */
static const char *
job_state_label (OrrMonitorJob *job)
{
  if (orr_monitor_job_is_lost (job))
    /* Translators: a job whose engine vanished without a word. */
    return C_("job state", "lost");
  switch (orr_monitor_job_get_state (job))
    {
    case ORR_JOB_QUEUED: return C_("job state", "queued");
    case ORR_JOB_FETCHING: return C_("job state", "fetching");
    case ORR_JOB_RUNNING: return C_("job state", "running");
    case ORR_JOB_RETURNING: return C_("job state", "returning");
    case ORR_JOB_SUCCEEDED: return C_("job state", "succeeded");
    case ORR_JOB_FAILED: return C_("job state", "failed");
    case ORR_JOB_CANCELLED: return C_("job state", "cancelled");
    default: return C_("job state", "unknown");
    }
}

static const char *
job_state (OrrMonitorJob *job)
{
  if (orr_monitor_job_is_lost (job))
    return "lost";
  return orr_job_state_to_string (orr_monitor_job_get_state (job));
}

/* The principal once admission knows it, else the engine's OS user in brackets. */
static char *
job_who (OrrMonitorJob *job)
{
  if (orr_monitor_job_get_principal (job))
    return g_strdup (orr_monitor_job_get_principal (job));
  return g_strdup_printf ("(%s)", orr_monitor_job_get_user (job) ? orr_monitor_job_get_user (job) : "?");
}

static char *
iso_time (gint64 us)
{
  g_autoptr(GDateTime) dt = NULL;

  if (us <= 0)
    return NULL;
  dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

/* ------------------------------------------------------------ text tables */

static glong
display_width (const char *text)
{
  glong width = 0;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_iszerowidth (c))
        width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

/* @text cut (with an ellipsis) to at most @width columns. */
static char *
cut (const char *text, glong width)
{
  GString *out;
  glong used = 0;

  if (display_width (text) <= width)
    return g_strdup (text);
  out = g_string_new (NULL);
  for (const char *p = text; *p && width > 0; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      glong w = g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;

      if (used + w > width - 1)
        break;
      g_string_append_unichar (out, c);
      used += w;
    }
  if (width > 0)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

typedef struct {
  guint n_columns;
  const char **headers;
  const gboolean *right;   /* numbers are aligned on the right */
  GPtrArray *rows;         /* GStrv */
} TextTable;

static void
text_table_init (TextTable *t, guint n_columns, const char **headers, const gboolean *right)
{
  t->n_columns = n_columns;
  t->headers = headers;
  t->right = right;
  t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
}

/* Takes the @n_columns strings that follow. */
static void
text_table_add (TextTable *t, ...)
{
  char **row = g_new0 (char *, t->n_columns + 1);
  va_list ap;

  va_start (ap, t);
  for (guint c = 0; c < t->n_columns; c++)
    {
      char *cell = va_arg (ap, char *);
      row[c] = cell ? cell : g_strdup ("-");
    }
  va_end (ap);
  g_ptr_array_add (t->rows, row);
}

/* Appends the table to @out, each line cut at @max_width columns (0: not). */
static void
text_table_render (TextTable *t, GString *out, glong max_width, const char *line_end)
{
  g_autofree glong *widths = g_new0 (glong, t->n_columns);

  for (guint c = 0; c < t->n_columns; c++)
    widths[c] = display_width (t->headers[c]);
  for (guint r = 0; r < t->rows->len; r++)
    for (guint c = 0; c < t->n_columns; c++)
      widths[c] = MAX (widths[c], display_width (((char **) g_ptr_array_index (t->rows, r))[c]));
  for (guint r = 0; r <= t->rows->len; r++)
    {
      g_autoptr(GString) line = g_string_new (NULL);
      g_autofree char *shown = NULL;

      for (guint c = 0; c < t->n_columns; c++)
        {
          const char *cell = r == 0 ? t->headers[c] : ((char **) g_ptr_array_index (t->rows, r - 1))[c];
          glong pad = widths[c] - display_width (cell);

          if (c)
            g_string_append_c (line, ' ');
          if (t->right[c])
            for (glong i = 0; i < pad; i++)
              g_string_append_c (line, ' ');
          g_string_append (line, cell);
          /* No trailing blanks after the last column. */
          if (!t->right[c] && c + 1 < t->n_columns)
            for (glong i = 0; i < pad; i++)
              g_string_append_c (line, ' ');
        }
      shown = max_width > 0 ? cut (line->str, max_width) : g_strdup (line->str);
      g_string_append (out, shown);
      g_string_append (out, line_end);
    }
}

static void
text_table_clear (TextTable *t)
{
  g_clear_pointer (&t->rows, g_ptr_array_unref);
}

/* ------------------------------------------------------------ CSV and JSON */

/* Rows gathered cell by cell, then made into a batch for print_csv() and
 * print_json(): a batch's text data is written column after column. */
typedef struct {
  gboolean is_null;
  gint64 i;
  double f;
  char *s;
} Cell;

typedef struct {
  const char * const *names;
  const OrrDataType *types;
  guint n_columns;
  GArray *cells;   /* Cell, row after row */
} RowBuilder;

static void
row_builder_init (RowBuilder *b, const char * const *names, const OrrDataType *types, guint n_columns)
{
  b->names = names;
  b->types = types;
  b->n_columns = n_columns;
  b->cells = g_array_new (FALSE, TRUE, sizeof (Cell));
}

static void
put_text (RowBuilder *b, const char *value)
{
  Cell cell = { value == NULL, 0, 0, g_strdup (value) };

  g_array_append_val (b->cells, cell);
}

static void
put_int (RowBuilder *b, gint64 value, gboolean is_null)
{
  Cell cell = { is_null, value, 0, NULL };

  g_array_append_val (b->cells, cell);
}

static void
put_float (RowBuilder *b, double value, double precision, gboolean is_null)
{
  Cell cell = { is_null, 0, 0, NULL };

  if (!is_null)
    cell.f = (double) (gint64) (value / precision + (value >= 0 ? 0.5 : -0.5)) * precision;
  g_array_append_val (b->cells, cell);
}

static void
row_builder_print (RowBuilder *b, Format format)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  guint n_rows = b->cells->len / b->n_columns;
  OrrBatch *batch;

  for (guint c = 0; c < b->n_columns; c++)
    orr_schema_add_field (schema, b->names[c], b->types[c], 0, 0);
  batch = orr_batch_new (schema, MAX (n_rows, 1), FALSE, NULL);
  if (batch != NULL)
    {
      for (guint c = 0; c < b->n_columns; c++)
        for (guint r = 0; r < n_rows; r++)
          {
            Cell *cell = &g_array_index (b->cells, Cell, r * b->n_columns + c);

            if (cell->is_null)
              orr_batch_set_null (batch, c, r, TRUE);
            switch (b->types[c])
              {
              case ORR_DATA_TYPE_TEXT:
                if (cell->s)
                  orr_batch_append_data (batch, c, cell->s, strlen (cell->s), NULL);
                ((gint32 *) orr_batch_get_values_mut (batch, c))[r + 1] = orr_batch_get_data_len (batch, c);
                break;
              case ORR_DATA_TYPE_INT64:
                ((gint64 *) orr_batch_get_values_mut (batch, c))[r] = cell->i;
                break;
              case ORR_DATA_TYPE_FLOAT64:
                ((double *) orr_batch_get_values_mut (batch, c))[r] = cell->f;
                break;
              default:
                g_assert_not_reached ();
              }
          }
      orr_batch_set_n_rows (batch, n_rows);
      g_ptr_array_add (batches, batch);
      if (format == FORMAT_CSV)
        print_csv (schema, batches);
      else
        print_json (schema, batches);
    }
  for (guint i = 0; i < b->cells->len; i++)
    g_free (g_array_index (b->cells, Cell, i).s);
  g_array_unref (b->cells);
}

/* ------------------------------------------------------------ jobs */

static void
print_jobs_data (GPtrArray *jobs, Format format)
{
  static const char * const names[] = {
    "id", "engine_pid", "job_id", "satellite_pid", "user", "principal", "pool", "state",
    "submitted", "elapsed_s", "cpu_percent", "cpu_user_percent", "cpu_system_percent", "cpu_seconds",
    "memory_bytes", "memory_peak_bytes", "read_bytes", "written_bytes", "processes", "threads",
    "rows_in", "rows_out", "source", "script",
  };
  static const OrrDataType types[] = {
    ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64,
    ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_TEXT,
    ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_FLOAT64, ORR_DATA_TYPE_FLOAT64, ORR_DATA_TYPE_FLOAT64,
    ORR_DATA_TYPE_FLOAT64, ORR_DATA_TYPE_FLOAT64,
    ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64,
    ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64,
    ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_TEXT,
  };
  RowBuilder b;

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (types));
  row_builder_init (&b, names, types, G_N_ELEMENTS (names));
  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);
      const OrrJobSample *s = orr_monitor_job_get_last_sample (job);
      gboolean live = s && !orr_monitor_job_is_finished (job);
      g_autofree char *submitted = iso_time (orr_monitor_job_get_submitted_at (job));
      double cpu = job_cpu_percent (job);
      gint64 cpu_ns = orr_monitor_job_get_cpu_time_ns (job);
      gint64 peak = orr_monitor_job_get_peak_memory (job);
      gint64 rd = orr_monitor_job_get_read_bytes (job);
      gint64 wr = orr_monitor_job_get_written_bytes (job);

      put_text (&b, orr_monitor_job_get_key (job));
      put_int (&b, orr_monitor_job_get_engine_pid (job), FALSE);
      put_int (&b, orr_monitor_job_get_id (job), FALSE);
      put_int (&b, orr_monitor_job_get_satellite_pid (job), orr_monitor_job_get_satellite_pid (job) == 0);
      put_text (&b, orr_monitor_job_get_user (job));
      put_text (&b, orr_monitor_job_get_principal (job));
      put_text (&b, orr_monitor_job_get_pool (job));
      put_text (&b, job_state (job));
      put_text (&b, submitted);
      put_float (&b, orr_monitor_job_get_elapsed (job) / 1e6, 0.001, FALSE);
      put_float (&b, cpu, 0.1, cpu < 0);
      put_float (&b, live ? s->cpu_user_percent : -1, 0.1, !live || s->cpu_user_percent < 0);
      put_float (&b, live ? s->cpu_system_percent : -1, 0.1, !live || s->cpu_system_percent < 0);
      put_float (&b, cpu_ns / 1e9, 0.001, cpu_ns < 0);
      put_int (&b, live ? s->memory_bytes : -1, !live || s->memory_bytes < 0);
      put_int (&b, peak, peak < 0);
      put_int (&b, rd, rd < 0);
      put_int (&b, wr, wr < 0);
      put_int (&b, live ? s->processes : 0, !live);
      put_int (&b, live ? s->threads : 0, !live);
      put_int (&b, orr_monitor_job_get_rows_in (job), FALSE);
      put_int (&b, orr_monitor_job_get_rows_out (job), FALSE);
      put_text (&b, orr_monitor_job_get_source (job));
      put_text (&b, orr_monitor_job_get_script (job));
    }
  row_builder_print (&b, format);
}

static void
render_jobs_table (GPtrArray *jobs, GString *out, glong max_width, const char *line_end)
{
  static const char *headers[] = {
    N_("ID"), N_("PRINCIPAL"), N_("POOL"), N_("STATE"), N_("ELAPSED"), N_("CPU %"),
    N_("MEMORY"), N_("ROWS IN"), N_("ROWS OUT"), N_("SCRIPT"),
  };
  static const gboolean right[] = { FALSE, FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE };
  const char *translated[G_N_ELEMENTS (headers)];
  TextTable t;

  for (guint c = 0; c < G_N_ELEMENTS (headers); c++)
    translated[c] = _(headers[c]);
  text_table_init (&t, G_N_ELEMENTS (headers), translated, right);
  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);

      text_table_add (&t,
                      g_strdup (orr_monitor_job_get_key (job)),
                      job_who (job),
                      g_strdup (orr_monitor_job_get_pool (job)),
                      g_strdup (job_state_label (job)),
                      format_elapsed (orr_monitor_job_get_elapsed (job)),
                      format_percent (job_cpu_percent (job)),
                      format_bytes (job_memory (job)),
                      g_strdup_printf ("%'llu", (unsigned long long) orr_monitor_job_get_rows_in (job)),
                      g_strdup_printf ("%'llu", (unsigned long long) orr_monitor_job_get_rows_out (job)),
                      cut (orr_monitor_job_get_script (job) ? orr_monitor_job_get_script (job) : "", SCRIPT_WIDTH));
    }
  text_table_render (&t, out, max_width, line_end);
  text_table_clear (&t);
}

/* ------------------------------------------------------------ pools */

static void
print_pools_data (GPtrArray *pools, Format format)
{
  static const char * const names[] = {
    "pool", "running", "queued", "max_processes", "cpu_percent", "max_cpu_percent", "cpu_limit_percent",
    "memory_bytes", "max_memory_bytes", "cpus", "timeout_s", "cpu_seconds", "peak_memory_bytes",
    "read_bytes", "written_bytes", "jobs_seen",
  };
  static const OrrDataType types[] = {
    ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64,
    ORR_DATA_TYPE_FLOAT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_FLOAT64,
    ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_TEXT, ORR_DATA_TYPE_FLOAT64,
    ORR_DATA_TYPE_FLOAT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64, ORR_DATA_TYPE_INT64,
    ORR_DATA_TYPE_INT64,
  };
  RowBuilder b;

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (types));
  row_builder_init (&b, names, types, G_N_ELEMENTS (names));
  for (guint i = 0; i < pools->len; i++)
    {
      OrrMonitorPool *pool = g_ptr_array_index (pools, i);
      const OrrLimits *l = orr_monitor_pool_get_limits (pool);
      double limit = orr_monitor_pool_get_cpu_limit_percent (pool);

      put_text (&b, orr_monitor_pool_get_name (pool));
      put_int (&b, orr_monitor_pool_get_running (pool), FALSE);
      put_int (&b, orr_monitor_pool_get_queued (pool), FALSE);
      put_int (&b, l ? l->max_processes : 0, l == NULL || l->max_processes == 0);
      put_float (&b, orr_monitor_pool_get_cpu_percent (pool), 0.1, orr_monitor_pool_get_cpu_percent (pool) < 0);
      put_int (&b, l ? l->max_cpu_percent : 0, l == NULL || l->max_cpu_percent == 0);
      put_float (&b, limit, 0.1, limit <= 0);
      put_int (&b, orr_monitor_pool_get_memory_bytes (pool), FALSE);
      put_int (&b, l ? (gint64) l->max_memory_bytes : 0, l == NULL || l->max_memory_bytes == 0);
      put_text (&b, l ? l->cpus : NULL);
      put_float (&b, l ? l->timeout_ms / 1000.0 : 0, 0.001, l == NULL || l->timeout_ms == 0);
      put_float (&b, orr_monitor_pool_get_cpu_time_ns (pool) / 1e9, 0.001, FALSE);
      put_int (&b, orr_monitor_pool_get_peak_memory (pool), FALSE);
      put_int (&b, orr_monitor_pool_get_read_bytes (pool), FALSE);
      put_int (&b, orr_monitor_pool_get_written_bytes (pool), FALSE);
      put_int (&b, orr_monitor_pool_get_n_jobs_seen (pool), FALSE);
    }
  row_builder_print (&b, format);
}

static char *
limit_or_none (char *value, gboolean none)
{
  if (!none)
    return value;
  g_free (value);
  return g_strdup ("-");
}

static void
render_pools_table (GPtrArray *pools, GString *out, glong max_width, const char *line_end)
{
  static const char *headers[] = {
    N_("POOL"), N_("RUNNING"), N_("QUEUED"), N_("MAX PROC"), N_("CPU %"), N_("CPU LIMIT %"),
    N_("MEMORY"), N_("MEMORY LIMIT"), N_("CPU TIME"), N_("PEAK MEMORY"), N_("READ"), N_("WRITTEN"),
  };
  static const gboolean right[] = { FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE };
  const char *translated[G_N_ELEMENTS (headers)];
  TextTable t;

  for (guint c = 0; c < G_N_ELEMENTS (headers); c++)
    translated[c] = _(headers[c]);
  text_table_init (&t, G_N_ELEMENTS (headers), translated, right);
  for (guint i = 0; i < pools->len; i++)
    {
      OrrMonitorPool *pool = g_ptr_array_index (pools, i);
      const OrrLimits *l = orr_monitor_pool_get_limits (pool);
      double limit = orr_monitor_pool_get_cpu_limit_percent (pool);

      text_table_add (&t,
                      g_strdup (orr_monitor_pool_get_name (pool)),
                      g_strdup_printf ("%u", orr_monitor_pool_get_running (pool)),
                      g_strdup_printf ("%u", orr_monitor_pool_get_queued (pool)),
                      limit_or_none (g_strdup_printf ("%u", l ? l->max_processes : 0), l == NULL || l->max_processes == 0),
                      format_percent (orr_monitor_pool_get_cpu_percent (pool)),
                      limit_or_none (format_percent (limit), limit <= 0),
                      format_bytes (orr_monitor_pool_get_memory_bytes (pool)),
                      limit_or_none (format_bytes (l ? (gint64) l->max_memory_bytes : 0), l == NULL || l->max_memory_bytes == 0),
                      /* Translators: seconds of CPU time; French: U+00A0 before “s”. */
                      g_strdup_printf (_("%.1f s"), orr_monitor_pool_get_cpu_time_ns (pool) / 1e9),
                      format_bytes (orr_monitor_pool_get_peak_memory (pool)),
                      format_bytes (orr_monitor_pool_get_read_bytes (pool)),
                      format_bytes (orr_monitor_pool_get_written_bytes (pool)));
    }
  text_table_render (&t, out, max_width, line_end);
  text_table_clear (&t);
}

/* ------------------------------------------------------------ snapshots */

static gboolean
any_live (OrrMonitor *monitor)
{
  g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);

  for (guint i = 0; i < jobs->len; i++)
    if (!orr_monitor_job_is_finished (g_ptr_array_index (jobs, i)))
      return TRUE;
  return FALSE;
}

/* Two passes @interval apart: CPU percent needs an interval. */
static void
take_snapshot (OrrMonitor *monitor, double interval)
{
  orr_monitor_refresh (monitor);
  if (!any_live (monitor))
    return;
  g_usleep ((gulong) (interval * G_USEC_PER_SEC));
  orr_monitor_refresh (monitor);
}

static void
print_jobs (OrrMonitor *monitor, Format format)
{
  g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);

  if (format != FORMAT_TABLE)
    print_jobs_data (jobs, format);
  else if (jobs->len == 0)
    g_print ("%s\n", _("No Orrery jobs are running on this host."));
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      render_jobs_table (jobs, out, 0, "\n");
      fwrite (out->str, 1, out->len, stdout);
    }
  fflush (stdout);
}

static gboolean
parse_interval (double seconds, double fallback, guint *ms)
{
  if (seconds == 0)
    seconds = fallback;
  if (seconds < 0.05 || seconds > 3600)
    return FALSE;
  *ms = (guint) (seconds * 1000 + 0.5);
  return TRUE;
}

/* ------------------------------------------------------------ --watch */

typedef struct {
  OrrMonitor *monitor;
  GMainLoop *loop;
  Format format;
  gboolean interactive;   /* redraws in place on a terminal */
  int count;              /* views left to show; < 0: until stopped */
  gboolean tty_saved;
  struct termios saved;
  guint stdin_watch;
  int status;
} Watch;

static void
terminal_size (int *rows, int *cols)
{
  struct winsize ws;

  *rows = 24;
  *cols = 80;
  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
    {
      *rows = ws.ws_row;
      *cols = ws.ws_col;
    }
}

static void
draw (Watch *w)
{
  g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (w->monitor);
  g_autoptr(GPtrArray) pools = orr_monitor_dup_pools (w->monitor);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *title = NULL;
  g_autofree char *title_cut = NULL;
  guint running = 0, queued = 0;
  int rows, cols;

  if (!w->interactive && w->format != FORMAT_TABLE)
    {
      print_jobs (w->monitor, w->format);
      if (w->format == FORMAT_CSV)
        g_print ("\n");
      return;
    }

  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);

      if (orr_monitor_job_is_finished (job))
        continue;
      if (orr_monitor_job_get_state (job) == ORR_JOB_QUEUED)
        queued++;
      else
        running++;
    }
  terminal_size (&rows, &cols);
  title = g_strdup_printf (_("orrery jobs — %s — %u running, %u queued — every %.2g s%s"),
                           clock, running, queued, orr_monitor_get_interval (w->monitor) / 1000.0,
                           w->interactive ? _(" — q to quit") : "");
  if (w->interactive)
    {
      const char *eol = "\033[K\n";

      /* Home, then each line over the old one (clearing its rest), then
       * clear below: no flicker. */
      g_string_append (out, "\033[H");
      title_cut = cut (title, cols);
      g_string_append_printf (out, "\033[1m%s\033[0m%s", title_cut, eol);
      for (guint i = 0; i < pools->len && i < 4; i++)
        {
          OrrMonitorPool *pool = g_ptr_array_index (pools, i);
          g_autofree char *cpu = format_percent (orr_monitor_pool_get_cpu_percent (pool));
          g_autofree char *mem = format_bytes (orr_monitor_pool_get_memory_bytes (pool));
          g_autofree char *line = g_strdup_printf (_("pool %s: %u running, %u queued, CPU %s %%, memory %s"),
                                                   orr_monitor_pool_get_name (pool),
                                                   orr_monitor_pool_get_running (pool),
                                                   orr_monitor_pool_get_queued (pool), cpu, mem);
          g_autofree char *shown = cut (line, cols);

          g_string_append_printf (out, "%s%s", shown, eol);
        }
      g_string_append (out, eol);
      if (jobs->len == 0)
        g_string_append_printf (out, "%s%s", _("No Orrery jobs are running on this host."), eol);
      else
        {
          g_autoptr(GString) table = g_string_new (NULL);
          g_auto(GStrv) lines = NULL;
          guint used = 2 + MIN (pools->len, 4);

          render_jobs_table (jobs, table, cols, eol);
          /* As many lines as the terminal has. */
          lines = g_strsplit (table->str, "\n", -1);
          for (guint i = 0; lines[i] && *lines[i] && used + i < (guint) rows - 1; i++)
            g_string_append_printf (out, "%s\n", lines[i]);
        }
      g_string_append (out, "\033[J");
    }
  else
    {
      g_string_append_printf (out, "%s\n", title);
      if (jobs->len == 0)
        g_string_append_printf (out, "%s\n", _("No Orrery jobs are running on this host."));
      else
        render_jobs_table (jobs, out, 0, "\n");
      g_string_append_c (out, '\n');
    }
  fwrite (out->str, 1, out->len, stdout);
  fflush (stdout);
}

static void
on_sampled (OrrMonitor *monitor, Watch *w)
{
  GPtrArray *jobs;

  draw (w);
  /* A finished job stays on view for a while, then goes. */
  jobs = orr_monitor_dup_jobs (monitor);
  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);

      if (orr_monitor_job_is_finished (job) &&
          g_get_real_time () - orr_monitor_job_get_ended_at (job) > 10 * G_USEC_PER_SEC)
        orr_monitor_dismiss_job (monitor, job);
    }
  g_ptr_array_unref (jobs);
  if (w->count > 0 && --w->count == 0)
    g_main_loop_quit (w->loop);
}

static gboolean
on_quit_signal (gpointer data)
{
  Watch *w = data;

  g_main_loop_quit (w->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_winch (gpointer data)
{
  draw (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer data)
{
  Watch *w = data;
  char buf[64];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n <= 0)
    {
      /* End of input (or an error): keys are over, the view goes on. */
      w->stdin_watch = 0;
      return G_SOURCE_REMOVE;
    }
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3 /* Ctrl+C without ISIG */)
      g_main_loop_quit (w->loop);
  return G_SOURCE_CONTINUE;
}

static void
terminal_enter (Watch *w)
{
  if (isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &w->saved) == 0)
    {
      struct termios raw = w->saved;

      /* Keys one at a time, not echoed; Ctrl+C still raises SIGINT. */
      raw.c_lflag &= ~(ICANON | ECHO);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      if (tcsetattr (STDIN_FILENO, TCSANOW, &raw) == 0)
        w->tty_saved = TRUE;
    }
  /* The alternate screen, without a cursor: the shell's screen comes back after. */
  fputs ("\033[?1049h\033[?25l\033[H\033[2J", stdout);
  fflush (stdout);
}

static void
terminal_leave (Watch *w)
{
  fputs ("\033[?25h\033[?1049l", stdout);
  fflush (stdout);
  if (w->tty_saved)
    tcsetattr (STDIN_FILENO, TCSANOW, &w->saved);
  w->tty_saved = FALSE;
}

static int
watch (OrrMonitor *monitor, Format format, int count)
{
  Watch w = { 0 };
  guint sigint, sigterm, sighup, sigwinch = 0;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  w.monitor = monitor;
  w.loop = loop;
  w.format = format;
  w.count = count;
  w.interactive = format == FORMAT_TABLE && isatty (STDOUT_FILENO);

  sigint = g_unix_signal_add (SIGINT, on_quit_signal, &w);
  sigterm = g_unix_signal_add (SIGTERM, on_quit_signal, &w);
  sighup = g_unix_signal_add (SIGHUP, on_quit_signal, &w);
  if (w.interactive)
    {
      terminal_enter (&w);
      sigwinch = g_unix_signal_add (SIGWINCH, on_winch, &w);
    }
  if (isatty (STDIN_FILENO))
    w.stdin_watch = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &w);

  /* The first pass has no interval to measure CPU use over: views start
   * with the second, except on a terminal, which shows the first at once. */
  orr_monitor_start (monitor);
  if (w.interactive)
    draw (&w);
  g_signal_connect (monitor, "sampled", G_CALLBACK (on_sampled), &w);
  g_main_loop_run (loop);
  orr_monitor_stop (monitor);
  g_signal_handlers_disconnect_by_data (monitor, &w);

  if (w.interactive)
    {
      terminal_leave (&w);
      g_source_remove (sigwinch);
    }
  if (w.stdin_watch)
    g_source_remove (w.stdin_watch);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sighup);
  return EXIT_OK;
}

/* ------------------------------------------------------------ commands */

int
cmd_jobs (int argc, char **argv)
{
  gboolean opt_watch = FALSE;
  double opt_interval = 0;
  int opt_count = -1;
  g_autofree char *format_text = NULL;
  const GOptionEntry entries[] = {
    { "watch", 'w', 0, G_OPTION_ARG_NONE, &opt_watch, N_("Live view, refreshed in place (q or Ctrl+C quits)"), NULL },
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &opt_interval, N_("Seconds between samples (default 0.25; with --watch on a pipe, 1)"), N_("SECONDS") },
    { "count", 'n', 0, G_OPTION_ARG_INT, &opt_count, N_("With --watch: stop after this many views"), N_("N") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Output format: table, csv or json"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("— the Orrery jobs running on this host"));
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrMonitor) monitor = NULL;
  Format format;
  guint interval_ms;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    /* xgettext: no-c-format */
    _("Jobs of every Orrery process on this host (as far as your rights allow), from the\n"
      "host-wide job registry: no database connection is needed. CPU % is of one core\n"
      "(a job keeping one core busy shows 100). Memory is the job's resident memory, from\n"
      "its cgroup when it has one, else of its processes. PRINCIPAL shows the engine's OS\n"
      "user in brackets until the database principal is known."));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc > 1)
    {
      g_autofree char *msg = g_strdup_printf (_("Unexpected argument “%s”"), argv[1]);
      return usage_error (context, msg);
    }
  if (!parse_format (format_text, &format, &error))
    return usage_error (context, error->message);
  if (!parse_interval (opt_interval, opt_watch && !isatty (STDOUT_FILENO) ? 1.0 : 0.25, &interval_ms))
    return usage_error (context, _("--interval must be between 0.05 and 3600 seconds"));
  if (opt_count != -1 && (!opt_watch || opt_count < 1))
    return usage_error (context, _("--count takes a number of views from 1 on, with --watch"));

  monitor = orr_monitor_new ();
  orr_monitor_set_interval (monitor, interval_ms);
  if (opt_watch)
    return watch (monitor, format, opt_count);
  take_snapshot (monitor, interval_ms / 1000.0);
  print_jobs (monitor, format);
  return EXIT_OK;
}

/* Pools of the catalog, so that idle pools show too. */
static void
add_catalog_pools (OrrMonitor *monitor)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrConnection) connection = open_connection (&error);
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrCursor) cursor = NULL;
  OrrBatch *batch;

  if (connection == NULL)
    {
      g_printerr (_("orrery: warning: %s\n"), error->message);
      return;
    }
  catalog = orr_catalog_new (connection);
  cursor = orr_catalog_list_pools (catalog, &error);
  if (cursor == NULL)
    {
      g_printerr (_("orrery: warning: %s\n"), error->message);
      return;
    }
  /* Columns: name, max_cpu_percent, max_memory_mb, max_processes, cpus, timeout_s, members. */
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          g_autofree char *name = orr_batch_format_value (batch, 0, r);
          g_autofree char *cpu = orr_batch_format_value (batch, 1, r);
          g_autofree char *mem = orr_batch_format_value (batch, 2, r);
          g_autofree char *procs = orr_batch_format_value (batch, 3, r);
          g_autofree char *cpus = orr_batch_format_value (batch, 4, r);
          g_autofree char *timeout = orr_batch_format_value (batch, 5, r);
          g_autoptr(OrrLimits) limits = NULL;

          if (name == NULL)
            continue;
          limits = orr_limits_new (name);
          limits->max_cpu_percent = cpu ? (guint) g_ascii_strtoull (cpu, NULL, 10) : 0;
          limits->max_memory_bytes = mem ? g_ascii_strtoull (mem, NULL, 10) << 20 : 0;
          limits->max_processes = procs ? (guint) g_ascii_strtoull (procs, NULL, 10) : 0;
          limits->cpus = cpus && *cpus ? g_strdup (cpus) : NULL;
          limits->timeout_ms = timeout ? (guint) (g_ascii_strtod (timeout, NULL) * 1000) : 0;
          orr_monitor_add_pool (monitor, limits);
        }
      orr_batch_unref (batch);
    }
  if (error)
    g_printerr (_("orrery: warning: %s\n"), error->message);
}

int
cmd_pools (int argc, char **argv)
{
  double opt_interval = 0;
  g_autofree char *format_text = NULL;
  const GOptionEntry entries[] = {
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &opt_interval, N_("Seconds over which CPU use is measured (default 0.25)"), N_("SECONDS") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Output format: table, csv or json"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("— resource pools in use on this host, against their limits"));
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(GPtrArray) pools = NULL;
  Format format;
  guint interval_ms;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    /* xgettext: no-c-format */
    _("Pools of the jobs running on this host, with their limits as the jobs carry them.\n"
      "With --dsn or --connection (or $ORRERY_DSN), the database's pools are listed too,\n"
      "idle ones included. CPU % and CPU LIMIT % are of one core (the catalog's\n"
      "max_cpu_percent is of the whole host). Totals are those of the pools' live jobs."));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc > 1)
    {
      g_autofree char *msg = g_strdup_printf (_("Unexpected argument “%s”"), argv[1]);
      return usage_error (context, msg);
    }
  if (!parse_format (format_text, &format, &error))
    return usage_error (context, error->message);
  if (!parse_interval (opt_interval, 0.25, &interval_ms))
    return usage_error (context, _("--interval must be between 0.05 and 3600 seconds"));

  monitor = orr_monitor_new ();
  orr_monitor_set_interval (monitor, interval_ms);
  if (connection_requested ())
    add_catalog_pools (monitor);
  take_snapshot (monitor, interval_ms / 1000.0);
  pools = orr_monitor_dup_pools (monitor);
  if (format != FORMAT_TABLE)
    print_pools_data (pools, format);
  else if (pools->len == 0)
    g_print ("%s\n", _("No Orrery jobs are running on this host, so no pool is in use "
                       "(add --dsn or --connection to list the database's pools)."));
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      render_pools_table (pools, out, 0, "\n");
      fwrite (out->str, 1, out->len, stdout);
    }
  fflush (stdout);
  return EXIT_OK;
}
