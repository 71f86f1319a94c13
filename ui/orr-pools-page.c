/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-pools-page"

#include "config.h"

#include <glib/gi18n.h>

#include "orr-graph.h"
#include "orr-page.h"
#include "orr-pool-dialog.h"
#include "orr-pools-page.h"
#include "orr-ui-util.h"

#define MB (1024 * 1024)

enum {
  POOL_NAME,
  POOL_CPU,
  POOL_MEMORY,
  POOL_PROCESSES,
  POOL_CPUS,
  POOL_TIMEOUT,
  POOL_MEMBERS,
  POOL_RUNNING,
  POOL_QUEUED,
};

typedef enum {
  OP_CREATE,
  OP_ALTER,
  OP_DROP,
  OP_ASSIGN,
} Op;

struct _OrrPoolsPage
{
  GtkBox        parent_instance;

  OrrInfoBar   *info_bar;
  GtkSpinner   *spinner;
  GtkLabel     *explain_label;
  GtkButton    *new_button;
  GtkButton    *edit_button;
  GtkButton    *drop_button;
  GtkListStore *pools_store;
  GtkTreeView  *pools_view;
  GtkLabel     *usage_title;
  GtkLevelBar  *cpu_bar;
  GtkLabel     *cpu_label;
  GtkLevelBar  *memory_bar;
  GtkLabel     *memory_label;
  GtkLevelBar  *processes_bar;
  GtkLabel     *processes_label;
  GtkLabel     *queued_label;
  OrrGraph     *cpu_graph;
  OrrGraph     *memory_graph;
  GtkListStore *members_store;
  GtkEntry     *assign_entry;
  GtkButton    *assign_button;
  GtkButton    *remove_button;
  GtkTreeView  *members_view;

  OrrMonitor   *monitor;
  OrrSession   *session;
  GCancellable *cancellable;
  /* pool name → OrrLimits, from the catalog */
  GHashTable   *limits;
  /* principal → pool */
  GHashTable   *members;
  guint         n_busy;
  guint         is_admin : 1;
};

static void orr_pools_page_page_init (OrrPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrPoolsPage, orr_pools_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_pools_page_page_init))

static void orr_pools_page_load (OrrPoolsPage *self);

gboolean
orr_pools_page_is_busy (OrrPoolsPage *self)
{
  g_return_val_if_fail (ORR_IS_POOLS_PAGE (self), FALSE);

  return self->n_busy > 0;
}

static void
orr_pools_page_busy (OrrPoolsPage *self,
                     int           delta)
{
  self->n_busy += delta;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), self->n_busy > 0);
  if (self->n_busy > 0)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
}

static char *
dup_selected_name (OrrPoolsPage *self)
{
  GtkTreeIter iter;
  char *name = NULL;

  if (gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->pools_view), NULL, &iter))
    gtk_tree_model_get (GTK_TREE_MODEL (self->pools_store), &iter, POOL_NAME, &name, -1);
  return name;
}

static void
orr_pools_page_update_buttons (OrrPoolsPage *self)
{
  g_autofree char *name = dup_selected_name (self);
  gboolean admin = self->session != NULL && self->is_admin;

  gtk_widget_set_sensitive (GTK_WIDGET (self->new_button), admin);
  gtk_widget_set_sensitive (GTK_WIDGET (self->edit_button), admin && name != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->drop_button), admin && name != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->assign_entry), admin && name != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->assign_button), admin && name != NULL);
}

/* ------------------------------------------------------- live usage */

static void
set_bar (GtkLevelBar *bar,
         GtkLabel    *label,
         double       used,
         double       limit,
         OrrGraphUnit unit)
{
  g_autofree char *used_text = orr_graph_format_value (unit, MAX (used, 0));
  g_autofree char *limit_text = limit > 0 ? orr_graph_format_value (unit, limit) : NULL;
  g_autofree char *text = NULL;

  gtk_level_bar_set_value (bar, limit > 0 ? CLAMP (used / limit, 0, 1) : 0);
  if (limit > 0)
    /* Translators: a pool's use against its limit, "1.2 GB of 2.0 GB". */
    text = g_strdup_printf (_("%s of %s"), used_text, limit_text);
  else
    /* Translators: a pool's use when it has no limit, "1.2 GB, no limit". */
    text = g_strdup_printf (_("%s, no limit"), used_text);
  gtk_label_set_text (label, text);
}

static void
orr_pools_page_update_usage (OrrPoolsPage *self)
{
  g_autofree char *name = dup_selected_name (self);
  OrrMonitorPool *pool = NULL;
  const OrrLimits *limits;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) memory = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *title = NULL;
  g_autofree char *queued = NULL;
  guint running = 0;
  guint waiting = 0;
  guint n = 0;
  guint i;

  if (name == NULL)
    {
      gtk_label_set_text (self->usage_title, _("No pool selected"));
      set_bar (self->cpu_bar, self->cpu_label, 0, 0, ORR_GRAPH_PERCENT);
      set_bar (self->memory_bar, self->memory_label, 0, 0, ORR_GRAPH_BYTES);
      gtk_level_bar_set_value (self->processes_bar, 0);
      gtk_label_set_text (self->processes_label, "");
      gtk_label_set_text (self->queued_label, "");
      orr_graph_set_points (self->cpu_graph, NULL, NULL, 0);
      orr_graph_set_points (self->memory_graph, NULL, NULL, 0);
      return;
    }

  limits = g_hash_table_lookup (self->limits, name);
  if (self->monitor != NULL)
    pool = orr_monitor_lookup_pool (self->monitor, name);

  /* Translators: above a pool's use: "Pool small — on this host, now". */
  title = g_strdup_printf (_("Pool %s — on this host, now"), name);
  gtk_label_set_text (self->usage_title, title);

  if (pool != NULL)
    {
      running = orr_monitor_pool_get_running (pool);
      waiting = orr_monitor_pool_get_queued (pool);
      set_bar (self->cpu_bar, self->cpu_label, orr_monitor_pool_get_cpu_percent (pool),
               orr_monitor_pool_get_cpu_limit_percent (pool), ORR_GRAPH_PERCENT);
      set_bar (self->memory_bar, self->memory_label, (double) orr_monitor_pool_get_memory_bytes (pool),
               limits != NULL ? (double) limits->max_memory_bytes : 0, ORR_GRAPH_BYTES);
      n = orr_monitor_pool_get_n_samples (pool);
      for (i = 0; i < n; i++)
        {
          const OrrPoolSample *s = orr_monitor_pool_get_sample (pool, i);
          double c = s->cpu_percent;
          double m = (double) s->memory_bytes;

          g_array_append_val (times, s->time);
          g_array_append_val (cpu, c);
          g_array_append_val (memory, m);
        }
      orr_graph_set_limit (self->cpu_graph, orr_monitor_pool_get_cpu_limit_percent (pool));
    }
  else
    {
      set_bar (self->cpu_bar, self->cpu_label, 0, 0, ORR_GRAPH_PERCENT);
      set_bar (self->memory_bar, self->memory_label, 0,
               limits != NULL ? (double) limits->max_memory_bytes : 0, ORR_GRAPH_BYTES);
      orr_graph_set_limit (self->cpu_graph, 0);
    }
  orr_graph_set_points (self->cpu_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) cpu->data, n);
  orr_graph_set_points (self->memory_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) memory->data, n);
  orr_graph_set_limit (self->memory_graph, limits != NULL ? (double) limits->max_memory_bytes : 0);

  if (limits != NULL && limits->max_processes > 0)
    {
      g_autofree char *text = g_strdup_printf (_("%u of %u running"), running, limits->max_processes);

      gtk_level_bar_set_value (self->processes_bar, CLAMP ((double) running / limits->max_processes, 0, 1));
      gtk_label_set_text (self->processes_label, text);
    }
  else
    {
      g_autofree char *text = g_strdup_printf (_("%u running, no limit"), running);

      gtk_level_bar_set_value (self->processes_bar, 0);
      gtk_label_set_text (self->processes_label, text);
    }
  if (waiting == 0)
    queued = g_strdup (_("No job is waiting for room in this pool."));
  else
    queued = g_strdup_printf (ngettext ("%u job is waiting for room in this pool.",
                                        "%u jobs are waiting for room in this pool.", waiting), waiting);
  gtk_label_set_text (self->queued_label, queued);
}

static void
orr_pools_page_update_members (OrrPoolsPage *self)
{
  g_autofree char *name = dup_selected_name (self);
  g_autoptr(GList) principals = g_hash_table_get_keys (self->members);
  GList *l;

  gtk_list_store_clear (self->members_store);
  if (name == NULL)
    return;
  principals = g_list_sort (principals, (GCompareFunc) g_strcmp0);
  for (l = principals; l != NULL; l = l->next)
    if (g_strcmp0 (g_hash_table_lookup (self->members, l->data), name) == 0)
      gtk_list_store_insert_with_values (self->members_store, NULL, -1, 0, l->data, -1);
}

static void
on_sampled (OrrPoolsPage *self,
            OrrMonitor   *monitor)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->pools_store);
  GtkTreeIter iter;
  gboolean valid;

  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *name = NULL;
      g_autofree char *running = NULL;
      g_autofree char *queued = NULL;
      OrrMonitorPool *pool;

      gtk_tree_model_get (model, &iter, POOL_NAME, &name, -1);
      pool = self->monitor != NULL ? orr_monitor_lookup_pool (self->monitor, name) : NULL;
      running = g_strdup_printf ("%u", pool != NULL ? orr_monitor_pool_get_running (pool) : 0);
      queued = g_strdup_printf ("%u", pool != NULL ? orr_monitor_pool_get_queued (pool) : 0);
      gtk_list_store_set (self->pools_store, &iter, POOL_RUNNING, running, POOL_QUEUED, queued, -1);
    }
  orr_pools_page_update_usage (self);
}

void
orr_pools_page_set_monitor (OrrPoolsPage *self,
                            OrrMonitor   *monitor)
{
  g_return_if_fail (ORR_IS_POOLS_PAGE (self));

  if (self->monitor == monitor)
    return;
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_set_object (&self->monitor, monitor);
  if (monitor != NULL)
    g_signal_connect_object (monitor, "sampled", G_CALLBACK (on_sampled), self, G_CONNECT_SWAPPED);
}

/* --------------------------------------------------------- loading */

typedef struct {
  gboolean is_admin;
  char *principal;
  GPtrArray *limits;   /* OrrLimits */
  GPtrArray *members;  /* interleaved principal, pool */
  GPtrArray *counts;   /* member count of each pool, as text */
} Pools;

static void
pools_free (Pools *p)
{
  g_free (p->principal);
  g_clear_pointer (&p->limits, g_ptr_array_unref);
  g_clear_pointer (&p->members, g_ptr_array_unref);
  g_clear_pointer (&p->counts, g_ptr_array_unref);
  g_free (p);
}

static void
load_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GPtrArray) batches = NULL;
  Pools *p = g_new0 (Pools, 1);
  GError *error = NULL;
  const char *principal;
  OrrSchema *schema;
  guint b;
  guint row;

  p->limits = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_limits_free);
  p->members = g_ptr_array_new_with_free_func (g_free);
  p->counts = g_ptr_array_new_with_free_func (g_free);

  principal = orr_catalog_get_principal (catalog, &error);
  if (principal == NULL)
    goto fail;
  p->principal = g_strdup (principal);
  p->is_admin = orr_catalog_is_admin (catalog, &error);
  if (error != NULL)
    goto fail;

  cursor = orr_catalog_list_pools (catalog, &error);
  if (cursor == NULL)
    goto fail;
  schema = orr_cursor_get_schema (cursor);
  batches = orr_cursor_fetch_all (cursor, cancellable, &error);
  if (batches == NULL)
    goto fail;
  for (b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          g_autofree char *name = orr_batch_dup_text (batch, orr_schema_find (schema, "name"), row);
          g_autofree char *cpu = orr_batch_dup_text (batch, orr_schema_find (schema, "max_cpu_percent"), row);
          g_autofree char *memory = orr_batch_dup_text (batch, orr_schema_find (schema, "max_memory_mb"), row);
          g_autofree char *processes = orr_batch_dup_text (batch, orr_schema_find (schema, "max_processes"), row);
          g_autofree char *cpus = orr_batch_dup_text (batch, orr_schema_find (schema, "cpus"), row);
          g_autofree char *timeout = orr_batch_dup_text (batch, orr_schema_find (schema, "timeout_s"), row);
          OrrLimits *limits = orr_limits_new (name);

          limits->max_cpu_percent = (guint) g_ascii_strtoull (cpu, NULL, 10);
          limits->max_memory_bytes = g_ascii_strtoull (memory, NULL, 10) * MB;
          limits->max_processes = (guint) g_ascii_strtoull (processes, NULL, 10);
          limits->cpus = *cpus != '\0' ? g_strdup (cpus) : NULL;
          limits->timeout_ms = (guint) (g_ascii_strtod (timeout, NULL) * 1000);
          g_ptr_array_add (p->limits, limits);
          g_ptr_array_add (p->counts, orr_batch_dup_text (batch, orr_schema_find (schema, "members"), row));
        }
    }
  g_clear_pointer (&batches, g_ptr_array_unref);
  g_clear_object (&cursor);

  /* Who is in which pool: the catalog has no call for it yet, and its
   * pool_members table is readable by everyone (as the admission reads it). */
  cursor = orr_connection_execute (orr_catalog_get_connection (catalog),
                                   "SELECT principal, pool FROM orrery_pool_members ORDER BY principal",
                                   cancellable, NULL);
  if (cursor != NULL)
    batches = orr_cursor_fetch_all (cursor, cancellable, NULL);
  for (b = 0; batches != NULL && b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          g_ptr_array_add (p->members, orr_batch_dup_text (batch, 0, row));
          g_ptr_array_add (p->members, orr_batch_dup_text (batch, 1, row));
        }
    }
  g_task_return_pointer (task, p, (GDestroyNotify) pools_free);
  return;

fail:
  pools_free (p);
  g_task_return_error (task, error);
}

static char *
format_limit (guint64 value,
              const char *(*format) (guint64, char *, gsize),
              char *buffer,
              gsize size)
{
  if (value == 0)
    return g_strdup (C_("limit", "none"));
  return g_strdup (format (value, buffer, size));
}

static const char *
format_percent (guint64 value, char *buffer, gsize size)
{
  g_autofree char *number = orr_format_count (value);

  /* Translators: a pool's CPU limit, "50 %". */
  g_snprintf (buffer, size, _("%s %%"), number);
  return buffer;
}

static const char *
format_plain (guint64 value, char *buffer, gsize size)
{
  g_autofree char *number = orr_format_count (value);

  g_strlcpy (buffer, number, size);
  return buffer;
}

static const char *
format_size (guint64 value, char *buffer, gsize size)
{
  g_autofree char *text = g_format_size_full (value, G_FORMAT_SIZE_IEC_UNITS);

  g_strlcpy (buffer, text, size);
  return buffer;
}

static const char *
format_seconds (guint64 value, char *buffer, gsize size)
{
  g_autofree char *number = orr_format_count (value / 1000);

  /* Translators: a pool's time limit in seconds, "30 s". */
  g_snprintf (buffer, size, _("%s s"), number);
  return buffer;
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  Pools *p = g_task_propagate_pointer (G_TASK (result), &error);
  g_autofree char *selected = NULL;
  OrrPoolsPage *self;
  guint i;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_POOLS_PAGE (user_data);
  orr_pools_page_busy (self, -1);
  selected = dup_selected_name (self);
  gtk_list_store_clear (self->pools_store);
  g_hash_table_remove_all (self->limits);
  g_hash_table_remove_all (self->members);

  if (p == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The resource pools could not be read: %s"), error->message);

      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
      orr_pools_page_update_buttons (self);
      return;
    }

  self->is_admin = p->is_admin;
  if (p->is_admin)
    gtk_label_set_text (self->explain_label,
                        _("A pool bounds what its members’ jobs use together; principals in no pool "
                          "use the default one. Double-click a pool to change it."));
  else
    {
      g_autofree char *text = g_strdup_printf (_("Read-only: only an administrator of the database can "
                                                 "create, change or drop pools, and you are connected as %s."),
                                               p->principal);

      gtk_label_set_text (self->explain_label, text);
    }

  for (i = 0; i < p->limits->len; i++)
    {
      OrrLimits *limits = g_ptr_array_index (p->limits, i);
      char buffer[64];
      g_autofree char *cpu = format_limit (limits->max_cpu_percent, format_percent, buffer, sizeof buffer);
      g_autofree char *memory = format_limit (limits->max_memory_bytes, format_size, buffer, sizeof buffer);
      g_autofree char *processes = format_limit (limits->max_processes, format_plain, buffer, sizeof buffer);
      g_autofree char *timeout = format_limit (limits->timeout_ms, format_seconds, buffer, sizeof buffer);

      gtk_list_store_insert_with_values (self->pools_store, NULL, -1,
                                         POOL_NAME, limits->pool,
                                         POOL_CPU, cpu,
                                         POOL_MEMORY, memory,
                                         POOL_PROCESSES, processes,
                                         POOL_CPUS, limits->cpus != NULL ? limits->cpus : C_("cpus", "all"),
                                         POOL_TIMEOUT, timeout,
                                         POOL_MEMBERS, g_ptr_array_index (p->counts, i),
                                         POOL_RUNNING, "0",
                                         POOL_QUEUED, "0",
                                         -1);
      g_hash_table_insert (self->limits, g_strdup (limits->pool), orr_limits_copy (limits));
      if (self->monitor != NULL)
        orr_monitor_add_pool (self->monitor, limits);
    }
  for (i = 0; i + 1 < p->members->len; i += 2)
    g_hash_table_insert (self->members, g_strdup (g_ptr_array_index (p->members, i)),
                         g_strdup (g_ptr_array_index (p->members, i + 1)));
  pools_free (p);

  {
    const char *created = g_object_get_data (G_OBJECT (self), "orr-select");

    if (created != NULL)
      orr_pools_page_select_pool (self, created);
    else if (selected != NULL)
      orr_pools_page_select_pool (self, selected);
    g_object_set_data (G_OBJECT (self), "orr-select", NULL);
  }
  orr_pools_page_update_buttons (self);
  orr_pools_page_update_members (self);
  on_sampled (self, NULL);
}

static void
orr_pools_page_load (OrrPoolsPage *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->session == NULL)
    return;
  task = g_task_new (NULL, self->cancellable, on_loaded, self);
  g_task_set_source_tag (task, orr_pools_page_load);
  g_task_set_task_data (task, g_object_ref (self->session), g_object_unref);
  g_task_run_in_thread (task, load_worker);
  orr_pools_page_busy (self, 1);
}

/* ------------------------------------------------------ changes */

static void
op_worker (GTask        *task,
           gpointer      source_object,
           gpointer      task_data,
           GCancellable *cancellable)
{
  OrrSession *session = task_data;
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  Op op = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "op"));
  const OrrLimits *limits = g_object_get_data (G_OBJECT (task), "limits");
  const char *name = g_object_get_data (G_OBJECT (task), "name");
  const char *principal = g_object_get_data (G_OBJECT (task), "principal");
  GError *error = NULL;
  gboolean done = FALSE;

  switch (op)
    {
    case OP_CREATE:
      done = orr_catalog_create_pool (catalog, limits, &error);
      break;
    case OP_ALTER:
      done = orr_catalog_alter_pool (catalog, limits, &error);
      break;
    case OP_DROP:
      done = orr_catalog_drop_pool (catalog, name, &error);
      break;
    case OP_ASSIGN:
      done = orr_catalog_assign_pool (catalog, principal, name, &error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (done)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_op_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  Op op = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "op"));
  const OrrLimits *limits = g_object_get_data (G_OBJECT (result), "limits");
  const char *name = g_object_get_data (G_OBJECT (result), "name");
  const char *principal = g_object_get_data (G_OBJECT (result), "principal");
  OrrPoolsPage *self;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && orr_error_is_cancelled (error))
    return;
  self = ORR_POOLS_PAGE (user_data);
  orr_pools_page_busy (self, -1);

  if (error != NULL)
    {
      g_autofree char *what = NULL;

      switch (op)
        {
        case OP_CREATE:
          what = g_strdup_printf (_("The pool %s could not be created: %s"), limits->pool, error->message);
          break;
        case OP_ALTER:
          what = g_strdup_printf (_("The pool %s could not be changed: %s"), limits->pool, error->message);
          break;
        case OP_DROP:
          what = g_strdup_printf (_("The pool %s could not be dropped: %s"), name, error->message);
          break;
        case OP_ASSIGN:
          what = g_strdup_printf (_("%s could not be put in the pool %s: %s"), principal, name, error->message);
          break;
        default:
          g_assert_not_reached ();
        }
      orr_info_bar_show_error (self->info_bar, what, orr_describe_catalog_todo (error));
    }
  else if (op == OP_CREATE)
    g_object_set_data_full (G_OBJECT (self), "orr-select", g_strdup (limits->pool), g_free);
  else if (op == OP_ASSIGN)
    gtk_entry_set_text (self->assign_entry, "");
  orr_pools_page_load (self);
}

static void
orr_pools_page_run_op (OrrPoolsPage    *self,
                       Op               op,
                       const OrrLimits *limits,
                       const char      *name,
                       const char      *principal)
{
  g_autoptr(GTask) task = NULL;

  if (self->session == NULL)
    return;
  orr_info_bar_hide (self->info_bar);
  task = g_task_new (NULL, self->cancellable, on_op_done, self);
  g_task_set_source_tag (task, orr_pools_page_run_op);
  g_task_set_task_data (task, g_object_ref (self->session), g_object_unref);
  g_object_set_data (G_OBJECT (task), "op", GINT_TO_POINTER (op));
  if (limits != NULL)
    g_object_set_data_full (G_OBJECT (task), "limits", orr_limits_copy (limits), (GDestroyNotify) orr_limits_free);
  g_object_set_data_full (G_OBJECT (task), "name", g_strdup (name), g_free);
  g_object_set_data_full (G_OBJECT (task), "principal", g_strdup (principal), g_free);
  g_task_run_in_thread (task, op_worker);
  orr_pools_page_busy (self, 1);
}

void
orr_pools_page_create_pool (OrrPoolsPage    *self,
                            const OrrLimits *limits)
{
  g_return_if_fail (ORR_IS_POOLS_PAGE (self));
  g_return_if_fail (limits != NULL);

  orr_pools_page_run_op (self, OP_CREATE, limits, limits->pool, NULL);
}

void
orr_pools_page_drop_pool (OrrPoolsPage *self,
                          const char   *name)
{
  g_return_if_fail (ORR_IS_POOLS_PAGE (self));

  orr_pools_page_run_op (self, OP_DROP, NULL, name, NULL);
}

void
orr_pools_page_assign (OrrPoolsPage *self,
                       const char   *principal,
                       const char   *pool)
{
  g_return_if_fail (ORR_IS_POOLS_PAGE (self));

  orr_pools_page_run_op (self, OP_ASSIGN, NULL, pool, principal);
}

gboolean
orr_pools_page_select_pool (OrrPoolsPage *self,
                            const char   *name)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->pools_store);
  GtkTreeIter iter;
  gboolean valid;

  g_return_val_if_fail (ORR_IS_POOLS_PAGE (self), FALSE);

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *row_name = NULL;

      gtk_tree_model_get (model, &iter, POOL_NAME, &row_name, -1);
      if (g_strcmp0 (row_name, name) == 0)
        {
          gtk_tree_selection_select_iter (gtk_tree_view_get_selection (self->pools_view), &iter);
          return TRUE;
        }
    }
  return FALSE;
}

static void
on_dialog_response (OrrPoolsPage  *self,
                    int            response,
                    OrrPoolDialog *dialog)
{
  if (response == GTK_RESPONSE_OK)
    {
      g_autoptr(OrrLimits) limits = orr_pool_dialog_dup_limits (dialog);
      gboolean altering = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "orr-altering"));

      orr_pools_page_run_op (self, altering ? OP_ALTER : OP_CREATE, limits, limits->pool, NULL);
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
orr_pools_page_show_dialog (OrrPoolsPage    *self,
                            const OrrLimits *limits)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  OrrPoolDialog *dialog = orr_pool_dialog_new (GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL, limits);

  g_object_set_data (G_OBJECT (dialog), "orr-altering", GINT_TO_POINTER (limits != NULL));
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_dialog_response), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_new_clicked (OrrPoolsPage *self,
                GtkButton    *button)
{
  orr_pools_page_show_dialog (self, NULL);
}

static void
on_edit_clicked (OrrPoolsPage *self,
                 GtkButton    *button)
{
  g_autofree char *name = dup_selected_name (self);
  const OrrLimits *limits = name != NULL ? g_hash_table_lookup (self->limits, name) : NULL;

  if (limits != NULL && self->is_admin)
    orr_pools_page_show_dialog (self, limits);
}

static void
on_pool_activated (OrrPoolsPage      *self,
                   GtkTreePath       *path,
                   GtkTreeViewColumn *column,
                   GtkTreeView       *view)
{
  on_edit_clicked (self, NULL);
}

static void
on_drop_clicked (OrrPoolsPage *self,
                 GtkButton    *button)
{
  g_autofree char *name = dup_selected_name (self);

  if (name != NULL)
    orr_pools_page_drop_pool (self, name);
}

static void
on_assign_clicked (OrrPoolsPage *self,
                   GtkWidget    *widget)
{
  g_autofree char *name = dup_selected_name (self);
  g_autofree char *principal = g_strstrip (g_strdup (gtk_entry_get_text (self->assign_entry)));

  if (name == NULL || !self->is_admin)
    return;
  if (*principal == '\0')
    {
      orr_info_bar_show (self->info_bar, GTK_MESSAGE_INFO, _("Whom to put in the pool?"),
                         _("Type a login or role name beside Assign."));
      return;
    }
  orr_pools_page_assign (self, principal, name);
}

static char *
dup_selected_member (OrrPoolsPage *self)
{
  GtkTreeIter iter;
  char *principal = NULL;

  if (gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->members_view), NULL, &iter))
    gtk_tree_model_get (GTK_TREE_MODEL (self->members_store), &iter, 0, &principal, -1);
  return principal;
}

static void
on_member_selection_changed (OrrPoolsPage     *self,
                             GtkTreeSelection *selection)
{
  g_autofree char *principal = dup_selected_member (self);

  gtk_widget_set_sensitive (GTK_WIDGET (self->remove_button), self->is_admin && principal != NULL);
}

static void
on_remove_clicked (OrrPoolsPage *self,
                   GtkButton    *button)
{
  g_autofree char *principal = dup_selected_member (self);

  /* Out of a pool is back in the default one. */
  if (principal != NULL && self->is_admin)
    orr_pools_page_assign (self, principal, "default");
}

static void
on_selection_changed (OrrPoolsPage     *self,
                      GtkTreeSelection *selection)
{
  orr_pools_page_update_buttons (self);
  orr_pools_page_update_members (self);
  orr_pools_page_update_usage (self);
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_pools_page_set_session (OrrPage    *page,
                            OrrSession *session)
{
  OrrPoolsPage *self = ORR_POOLS_PAGE (page);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  orr_pools_page_busy (self, -(int) self->n_busy);
  if (session != self->session)
    {
      self->is_admin = FALSE;
      gtk_list_store_clear (self->pools_store);
    }
  g_set_object (&self->session, session);
  orr_info_bar_hide (self->info_bar);
  orr_pools_page_update_buttons (self);
  if (session == NULL)
    {
      gtk_label_set_text (self->explain_label, _("Connect to a database to see its resource pools."));
      return;
    }
  orr_pools_page_load (self);
}

static OrrInfoBar *
orr_pools_page_get_info_bar (OrrPage *page)
{
  return ORR_POOLS_PAGE (page)->info_bar;
}

static void
orr_pools_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_pools_page_set_session;
  iface->get_info_bar = orr_pools_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

static void
orr_pools_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (orr_pools_page_parent_class)->map (widget);
  on_sampled (ORR_POOLS_PAGE (widget), NULL);
}

static void
orr_pools_page_dispose (GObject *object)
{
  OrrPoolsPage *self = ORR_POOLS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->session);
  g_clear_pointer (&self->limits, g_hash_table_unref);
  g_clear_pointer (&self->members, g_hash_table_unref);

  G_OBJECT_CLASS (orr_pools_page_parent_class)->dispose (object);
}

static void
orr_pools_page_class_init (OrrPoolsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_pools_page_dispose;
  widget_class->map = orr_pools_page_map;

  g_type_ensure (ORR_TYPE_INFO_BAR);
  g_type_ensure (ORR_TYPE_GRAPH);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-pools-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, explain_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, new_button);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, edit_button);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, drop_button);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, pools_store);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, pools_view);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, usage_title);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, cpu_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, cpu_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, memory_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, memory_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, processes_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, processes_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, queued_label);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, cpu_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, memory_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, members_store);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, assign_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, assign_button);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, remove_button);
  gtk_widget_class_bind_template_child (widget_class, OrrPoolsPage, members_view);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_member_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_new_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_edit_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_drop_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_assign_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_pool_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_selection_changed);
}

/* Headroom: the bar turns from the accent colour to warning and error as
 * a pool nears its limit (style.css colours the offsets). */
static void
setup_bar (GtkLevelBar *bar)
{
  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_level_bar_add_offset_value (bar, "orr-ok", 0.75);
  gtk_level_bar_add_offset_value (bar, "orr-near", 0.9);
  gtk_level_bar_add_offset_value (bar, "orr-full", 1.0);
}

static void
orr_pools_page_init (OrrPoolsPage *self)
{
  static const char * const cpu_colors[] = { "#3584e4" };
  static const char * const memory_colors[] = { "#2ec27e" };
  const char *names[1];

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->limits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) orr_limits_free);
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  setup_bar (self->cpu_bar);
  setup_bar (self->memory_bar);
  setup_bar (self->processes_bar);

  orr_graph_set_title (self->cpu_graph, _("Pool CPU"));
  orr_graph_set_unit (self->cpu_graph, ORR_GRAPH_PERCENT);
  names[0] = C_("graph series", "used");
  orr_graph_set_series (self->cpu_graph, 1, names, cpu_colors);
  orr_graph_set_title (self->memory_graph, _("Pool memory"));
  orr_graph_set_unit (self->memory_graph, ORR_GRAPH_BYTES);
  orr_graph_set_series (self->memory_graph, 1, names, memory_colors);
  gtk_label_set_text (self->explain_label, _("Connect to a database to see its resource pools."));
}
