/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-jobs-page"

#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>

#include "orr-application.h"
#include "orr-error.h"
#include "orr-graph.h"
#include "orr-job-log.h"
#include "orr-jobs-page.h"
#include "orr-page.h"
#include "orr-registry.h"
#include "orr-sparkline-renderer.h"
#include "orr-ui-util.h"

#define LOG_LIMIT 200

enum {
  JOB_KEY,
  JOB_OBJECT,
  JOB_NAME,
  JOB_PRINCIPAL,
  JOB_POOL,
  JOB_STATE,
  JOB_ELAPSED,
  JOB_CPU,
  JOB_MEMORY,
  JOB_ROWS,
  JOB_SCRIPT,
};

struct _OrrJobsPage
{
  GtkBox        parent_instance;

  OrrInfoBar   *info_bar;
  GtkListStore *jobs_store;
  GtkTreeView  *jobs_view;
  GtkButton    *cancel_button;
  GtkLabel     *detail_label;
  OrrGraph     *cpu_graph;
  OrrGraph     *memory_graph;
  OrrGraph     *io_graph;
  GtkListStore *log_store;

  OrrMonitor   *monitor;
  OrrSession   *session;
  GCancellable *cancellable;
  guint         n_busy;
  guint         n_requests;   /* cancel requests to other programs under way */
};

static void orr_jobs_page_page_init (OrrPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrJobsPage, orr_jobs_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_jobs_page_page_init))

gboolean
orr_jobs_page_is_busy (OrrJobsPage *self)
{
  g_return_val_if_fail (ORR_IS_JOBS_PAGE (self), FALSE);

  return self->n_busy > 0 || self->n_requests > 0;
}

static const char *
state_label (OrrMonitorJob *job)
{
  if (orr_monitor_job_is_lost (job))
    /* Translators: a job whose engine went away without saying how it ended. */
    return C_("job state", "Lost");
  switch (orr_monitor_job_get_state (job))
    {
    case ORR_JOB_QUEUED:
      return C_("job state", "Queued");
    case ORR_JOB_FETCHING:
      return C_("job state", "Fetching");
    case ORR_JOB_RUNNING:
      return C_("job state", "Running");
    case ORR_JOB_RETURNING:
      return C_("job state", "Returning");
    case ORR_JOB_SUCCEEDED:
      return C_("job state", "Succeeded");
    case ORR_JOB_FAILED:
      return C_("job state", "Failed");
    case ORR_JOB_CANCELLED:
      return C_("job state", "Cancelled");
    default:
      return "";
    }
}

static double
sample_cpu (const OrrJobSample *sample)
{
  if (sample->cpu_user_percent < 0)
    return -1;
  return sample->cpu_user_percent + MAX (sample->cpu_system_percent, 0);
}

static gboolean
find_job (OrrJobsPage *self,
          const char  *key,
          GtkTreeIter *iter)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->jobs_store);
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, iter); valid;
       valid = gtk_tree_model_iter_next (model, iter))
    {
      g_autofree char *row_key = NULL;

      gtk_tree_model_get (model, iter, JOB_KEY, &row_key, -1);
      if (g_strcmp0 (row_key, key) == 0)
        return TRUE;
    }
  return FALSE;
}

static OrrMonitorJob *
orr_jobs_page_dup_selected (OrrJobsPage *self)
{
  GtkTreeIter iter;
  OrrMonitorJob *job = NULL;

  if (gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->jobs_view), NULL, &iter))
    gtk_tree_model_get (GTK_TREE_MODEL (self->jobs_store), &iter, JOB_OBJECT, &job, -1);
  return job;
}

/* This process's OrrJob behind @job, which the page may cancel. */
static OrrJob *
own_job (OrrJobsPage   *self,
         OrrMonitorJob *job)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkApplication *app;

  if (orr_monitor_job_get_engine_pid (job) != getpid () || !GTK_IS_WINDOW (toplevel))
    return NULL;
  app = gtk_window_get_application (GTK_WINDOW (toplevel));
  if (!ORR_IS_APPLICATION (app))
    return NULL;
  return orr_application_lookup_job (ORR_APPLICATION (app), orr_monitor_job_get_id (job));
}

static void
orr_jobs_page_update_row (OrrJobsPage   *self,
                          GtkTreeIter   *iter,
                          OrrMonitorJob *job)
{
  const OrrJobSample *last = orr_monitor_job_get_last_sample (job);
  g_autofree char *name = g_strdup_printf ("%d-%" G_GUINT64_FORMAT,
                                           orr_monitor_job_get_engine_pid (job), orr_monitor_job_get_id (job));
  g_autofree char *elapsed = orr_format_elapsed (orr_monitor_job_get_elapsed (job));
  g_autofree char *cpu = NULL;
  g_autofree char *memory = NULL;
  g_autofree char *rows_in = orr_format_count (orr_monitor_job_get_rows_in (job));
  g_autofree char *rows_out = orr_format_count (orr_monitor_job_get_rows_out (job));
  g_autofree char *rows = g_strdup_printf ("%s / %s", rows_in, rows_out);
  const char *principal = orr_monitor_job_get_principal (job);
  const char *pool = orr_monitor_job_get_pool (job);
  gint64 peak = orr_monitor_job_get_peak_memory (job);

  if (!orr_monitor_job_is_finished (job) && last != NULL && sample_cpu (last) >= 0)
    cpu = orr_graph_format_value (ORR_GRAPH_PERCENT, sample_cpu (last));
  if (!orr_monitor_job_is_finished (job) && last != NULL && last->memory_bytes >= 0)
    memory = g_format_size_full (last->memory_bytes, G_FORMAT_SIZE_IEC_UNITS);
  else if (peak >= 0)
    {
      g_autofree char *size = g_format_size_full (peak, G_FORMAT_SIZE_IEC_UNITS);

      /* Translators: a finished job's peak memory. */
      memory = g_strdup_printf (_("peak %s"), size);
    }

  gtk_list_store_set (self->jobs_store, iter,
                      JOB_NAME, name,
                      JOB_PRINCIPAL, principal != NULL ? principal : orr_monitor_job_get_user (job),
                      JOB_POOL, pool != NULL ? pool : "",
                      JOB_STATE, state_label (job),
                      JOB_ELAPSED, elapsed,
                      JOB_CPU, cpu != NULL ? cpu : "",
                      JOB_MEMORY, memory != NULL ? memory : "",
                      JOB_ROWS, rows,
                      JOB_SCRIPT, orr_monitor_job_get_script (job),
                      -1);
}

/* Whether this program's user may cancel @job of another program: the
 * job's engine accepts requests from its own user and root only. */
static gboolean
may_cancel_foreign (OrrMonitorJob *job)
{
  uid_t me = geteuid ();

  return me == 0 || me == orr_monitor_job_get_uid (job);
}

static void
orr_jobs_page_update_cancel (OrrJobsPage *self)
{
  g_autoptr(OrrMonitorJob) job = orr_jobs_page_dup_selected (self);
  gboolean can = FALSE;
  g_autofree char *tooltip = NULL;

  if (job != NULL && !orr_monitor_job_is_finished (job))
    {
      if (own_job (self, job) != NULL)
        can = TRUE;
      else if (may_cancel_foreign (job))
        {
          can = TRUE;
          tooltip = g_strdup (_("Ask the Orrery program that runs this job (another console or the orrery command) to stop it"));
        }
      else
        /* Translators: the job's OS user. */
        tooltip = g_strdup_printf (_("Not permitted: this job belongs to the user “%s”; only that user or root may cancel it"),
                                   orr_monitor_job_get_user (job));
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), can);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->cancel_button),
                               tooltip != NULL ? tooltip : _("Stop the selected job"));
}

/* The selected job's series into the three graphs. */
static void
orr_jobs_page_update_graphs (OrrJobsPage *self)
{
  g_autoptr(OrrMonitorJob) job = orr_jobs_page_dup_selected (self);
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) memory = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) io = g_array_new (FALSE, FALSE, sizeof (double));
  const OrrLimits *limits;
  g_autofree char *name = NULL;
  g_autofree char *detail = NULL;
  guint n;
  guint i;

  if (job == NULL)
    {
      gtk_label_set_text (self->detail_label, _("No job selected"));
      orr_graph_set_points (self->cpu_graph, NULL, NULL, 0);
      orr_graph_set_points (self->memory_graph, NULL, NULL, 0);
      orr_graph_set_points (self->io_graph, NULL, NULL, 0);
      orr_graph_set_limit (self->memory_graph, 0);
      return;
    }

  n = orr_monitor_job_get_n_samples (job);
  for (i = 0; i < n; i++)
    {
      const OrrJobSample *s = orr_monitor_job_get_sample (job, i);
      double user = s->cpu_user_percent;
      double system = s->cpu_system_percent;
      double rss = s->memory_bytes;
      double read_rate = s->read_bytes_per_second;
      double write_rate = s->written_bytes_per_second;

      g_array_append_val (times, s->time);
      g_array_append_val (cpu, user);
      g_array_append_val (cpu, system);
      g_array_append_val (memory, rss);
      g_array_append_val (io, read_rate);
      g_array_append_val (io, write_rate);
    }
  orr_graph_set_points (self->cpu_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) cpu->data, n);
  orr_graph_set_points (self->memory_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) memory->data, n);
  orr_graph_set_points (self->io_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) io->data, n);
  limits = orr_monitor_job_get_limits (job);
  orr_graph_set_limit (self->memory_graph, limits != NULL ? (double) limits->max_memory_bytes : 0);

  name = g_strdup_printf ("%d-%" G_GUINT64_FORMAT, orr_monitor_job_get_engine_pid (job), orr_monitor_job_get_id (job));
  /* Translators: above the graphs: "Job 1234-7 — alice — Running — measured from cgroup v1". */
  detail = g_strdup_printf (_("Job %s — %s — %s — measured from %s"), name,
                            orr_monitor_job_get_principal (job) != NULL ? orr_monitor_job_get_principal (job)
                                                                        : orr_monitor_job_get_user (job),
                            state_label (job), orr_monitor_job_get_source (job));
  gtk_label_set_text (self->detail_label, detail);
}

/* -------------------------------------------------------- the monitor */

static void
on_job_added (OrrJobsPage   *self,
              OrrMonitorJob *job,
              OrrMonitor    *monitor)
{
  GtkTreeIter iter;

  if (find_job (self, orr_monitor_job_get_key (job), &iter))
    return;
  gtk_list_store_insert_with_values (self->jobs_store, &iter, 0,
                                     JOB_KEY, orr_monitor_job_get_key (job),
                                     JOB_OBJECT, job,
                                     -1);
  orr_jobs_page_update_row (self, &iter, job);
}

static void
on_job_changed (OrrJobsPage   *self,
                OrrMonitorJob *job,
                OrrMonitor    *monitor)
{
  GtkTreeIter iter;

  if (!find_job (self, orr_monitor_job_get_key (job), &iter))
    {
      on_job_added (self, job, monitor);
      return;
    }
  orr_jobs_page_update_row (self, &iter, job);
  orr_jobs_page_update_cancel (self);
}

static void
on_job_removed (OrrJobsPage   *self,
                OrrMonitorJob *job,
                OrrMonitor    *monitor)
{
  GtkTreeIter iter;

  if (find_job (self, orr_monitor_job_get_key (job), &iter))
    gtk_list_store_remove (self->jobs_store, &iter);
}

static void
on_job_finished (OrrJobsPage   *self,
                 OrrMonitorJob *job,
                 OrrMonitor    *monitor)
{
  on_job_changed (self, job, monitor);
  /* It is in the job log now. */
  if (self->session != NULL && gtk_widget_get_mapped (GTK_WIDGET (self)))
    orr_page_set_session (ORR_PAGE (self), self->session);
}

static void
on_sampled (OrrJobsPage *self,
            OrrMonitor  *monitor)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->jobs_store);
  GtkTreeIter iter;
  gboolean valid;

  /* Nothing to draw for a page nobody sees. */
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autoptr(OrrMonitorJob) job = NULL;

      gtk_tree_model_get (model, &iter, JOB_OBJECT, &job, -1);
      if (job != NULL && !orr_monitor_job_is_finished (job))
        orr_jobs_page_update_row (self, &iter, job);
    }
  orr_jobs_page_update_graphs (self);
}

static void
orr_jobs_page_load_jobs (OrrJobsPage *self)
{
  g_autoptr(GPtrArray) jobs = NULL;
  guint i;

  gtk_list_store_clear (self->jobs_store);
  if (self->monitor == NULL)
    return;
  jobs = orr_monitor_dup_jobs (self->monitor);
  for (i = 0; i < jobs->len; i++)
    on_job_added (self, g_ptr_array_index (jobs, i), self->monitor);
}

void
orr_jobs_page_set_monitor (OrrJobsPage *self,
                           OrrMonitor  *monitor)
{
  g_return_if_fail (ORR_IS_JOBS_PAGE (self));
  g_return_if_fail (monitor == NULL || ORR_IS_MONITOR (monitor));

  if (self->monitor == monitor)
    return;
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_set_object (&self->monitor, monitor);
  if (monitor != NULL)
    {
      g_signal_connect_object (monitor, "job-added", G_CALLBACK (on_job_added), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (monitor, "job-changed", G_CALLBACK (on_job_changed), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (monitor, "job-finished", G_CALLBACK (on_job_finished), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (monitor, "job-removed", G_CALLBACK (on_job_removed), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (monitor, "sampled", G_CALLBACK (on_sampled), self, G_CONNECT_SWAPPED);
    }
  orr_jobs_page_load_jobs (self);
}

gboolean
orr_jobs_page_select_job (OrrJobsPage *self,
                          const char  *key)
{
  GtkTreeIter iter;
  g_autoptr(GtkTreePath) path = NULL;

  g_return_val_if_fail (ORR_IS_JOBS_PAGE (self), FALSE);

  if (!find_job (self, key, &iter))
    return FALSE;
  gtk_tree_selection_select_iter (gtk_tree_view_get_selection (self->jobs_view), &iter);
  path = gtk_tree_model_get_path (GTK_TREE_MODEL (self->jobs_store), &iter);
  gtk_tree_view_scroll_to_cell (self->jobs_view, path, NULL, FALSE, 0, 0);
  return TRUE;
}

static void
on_selection_changed (OrrJobsPage      *self,
                      GtkTreeSelection *selection)
{
  orr_jobs_page_update_cancel (self);
  orr_jobs_page_update_graphs (self);
}

static void
request_cancel_thread (GTask        *task,
                       gpointer      source,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  GError *error = NULL;

  /* The engine that runs the job watches the registry and cancels it. */
  if (orr_registry_request_cancel (NULL, task_data, NULL, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_cancel_requested (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  OrrJobsPage *self = ORR_JOBS_PAGE (source);
  g_autoptr(GError) error = NULL;

  self->n_requests--;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Translators: the job's key, then why. */
      g_autofree char *what = g_strdup_printf (_("Job %s could not be cancelled: %s"),
                                               (const char *) g_task_get_task_data (G_TASK (result)),
                                               error->message);

      orr_info_bar_show_error (self->info_bar, what,
                               g_error_matches (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED)
                               ? _("Ask that user, or an administrator of this computer, to cancel it.")
                               : NULL);
    }
}

static void
on_cancel_clicked (OrrJobsPage *self,
                   GtkButton   *button)
{
  g_autoptr(OrrMonitorJob) job = orr_jobs_page_dup_selected (self);
  g_autoptr(GTask) task = NULL;
  OrrJob *own;

  if (job == NULL)
    return;
  own = own_job (self, job);
  if (own != NULL)
    {
      orr_job_cancel (own);
      return;
    }
  /* Another program's job: a request through the registry (a small file
   * in a shared directory, written off the main loop). */
  task = g_task_new (self, NULL, on_cancel_requested, NULL);
  g_task_set_source_tag (task, on_cancel_clicked);
  g_task_set_task_data (task, g_strdup (orr_monitor_job_get_key (job)), g_free);
  self->n_requests++;
  g_task_run_in_thread (task, request_cancel_thread);
}

static void
on_clear_clicked (OrrJobsPage *self,
                  GtkButton   *button)
{
  if (self->monitor != NULL)
    orr_monitor_dismiss_finished (self->monitor);
}

/* ------------------------------------------------------------ the log */

static void
on_log (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrJobLog) log = orr_job_log_load_finish (result, &error);
  OrrJobsPage *self;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_JOBS_PAGE (user_data);
  self->n_busy--;
  if (log == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The finished jobs could not be read from the job log: %s"),
                                               error->message);

      gtk_list_store_clear (self->log_store);
      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      return;
    }
  orr_job_log_fill (log, self->log_store, NULL, NULL);
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_jobs_page_set_session (OrrPage    *page,
                           OrrSession *session)
{
  OrrJobsPage *self = ORR_JOBS_PAGE (page);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->n_busy = 0;
  g_set_object (&self->session, session);
  orr_info_bar_hide (self->info_bar);
  if (session == NULL)
    {
      gtk_list_store_clear (self->log_store);
      return;
    }
  orr_job_log_load_async (session, NULL, NULL, LOG_LIMIT, self->cancellable, on_log, self);
  self->n_busy++;
}

static OrrInfoBar *
orr_jobs_page_get_info_bar (OrrPage *page)
{
  return ORR_JOBS_PAGE (page)->info_bar;
}

static void
orr_jobs_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_jobs_page_set_session;
  iface->get_info_bar = orr_jobs_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

static void
orr_jobs_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (orr_jobs_page_parent_class)->map (widget);

  /* Rows and graphs are not refreshed while hidden: catch up. */
  on_sampled (ORR_JOBS_PAGE (widget), NULL);
}

static void
orr_jobs_page_dispose (GObject *object)
{
  OrrJobsPage *self = ORR_JOBS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (orr_jobs_page_parent_class)->dispose (object);
}

static void
orr_jobs_page_class_init (OrrJobsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_jobs_page_dispose;
  widget_class->map = orr_jobs_page_map;

  g_type_ensure (ORR_TYPE_INFO_BAR);
  g_type_ensure (ORR_TYPE_GRAPH);
  g_type_ensure (ORR_TYPE_SPARKLINE_RENDERER);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-jobs-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, jobs_store);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, jobs_view);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, detail_label);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, cpu_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, memory_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, io_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrJobsPage, log_store);
  gtk_widget_class_bind_template_child_full (widget_class, "notebook", FALSE, 0);
  gtk_widget_class_bind_template_callback (widget_class, on_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_clicked);
}

static void
orr_jobs_page_init (OrrJobsPage *self)
{
  static const char * const cpu_names[] = { N_("user"), N_("system") };
  static const char * const cpu_colors[] = { "#3584e4", "#e66100" };
  static const char * const memory_names[] = { N_("resident") };
  static const char * const memory_colors[] = { "#2ec27e" };
  static const char * const io_names[] = { N_("read"), N_("written") };
  static const char * const io_colors[] = { "#9141ac", "#c64600" };
  const char *names[2];

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();

  /* Translators: graph titles; CPU is in percent of one core. */
  orr_graph_set_title (self->cpu_graph, _("CPU"));
  /* xgettext:no-c-format */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->cpu_graph), _("CPU use in percent of one core: 200 % is two cores kept busy"));
  orr_graph_set_unit (self->cpu_graph, ORR_GRAPH_PERCENT);
  names[0] = _(cpu_names[0]);
  names[1] = _(cpu_names[1]);
  orr_graph_set_series (self->cpu_graph, 2, names, cpu_colors);

  orr_graph_set_title (self->memory_graph, _("Memory"));
  orr_graph_set_unit (self->memory_graph, ORR_GRAPH_BYTES);
  names[0] = _(memory_names[0]);
  orr_graph_set_series (self->memory_graph, 1, names, memory_colors);

  orr_graph_set_title (self->io_graph, _("Disk I/O"));
  orr_graph_set_unit (self->io_graph, ORR_GRAPH_BYTES_PER_SECOND);
  names[0] = _(io_names[0]);
  names[1] = _(io_names[1]);
  orr_graph_set_series (self->io_graph, 2, names, io_colors);
}
