/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-monitor"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-monitor-private.h"

#define DEFAULT_MAX_FINISHED 200
/* How long the verdict on an engine (alive, its user) holds. */
#define ENGINE_CHECK_US (2 * G_USEC_PER_SEC)
/* A full scan of the registry at least this often, whatever its mtime says. */
#define FULL_SCAN_US (5 * G_USEC_PER_SEC)

struct _OrrMonitor {
  GObject parent_instance;

  char *dir;
  guint interval_ms;
  guint history_s;
  guint max_finished;
  GMainContext *context;
  GSource *timer;
  OrrProbeHost *host;

  GHashTable *jobs;       /* key → OrrMonitorJob */
  GPtrArray *order;       /* OrrMonitorJob, in the order they appeared */
  GHashTable *pools;      /* name → OrrMonitorPool */

  /* The registry as last read. */
  GHashTable *files;      /* name → FileState */
  GHashTable *engines;    /* "pid:start" → EngineState */
  gboolean scanned;
  struct timespec dir_mtime;
  gint64 last_scan_real;
  gint64 last_full_scan;
};

G_DEFINE_FINAL_TYPE (OrrMonitor, orr_monitor, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INTERVAL_MS,
  PROP_HISTORY_SECONDS,
  PROP_MAX_FINISHED,
  N_PROPS
};

enum {
  JOB_ADDED,
  JOB_CHANGED,
  JOB_SAMPLED,
  JOB_FINISHED,
  JOB_REMOVED,
  POOL_ADDED,
  SAMPLED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

typedef struct {
  ino_t ino;
  struct timespec mtime;
  off_t size;
  uid_t uid;
  OrrRegistryRecord *record;   /* NULL: unreadable or malformed */
  gboolean seen;
  gboolean fresh;              /* read since the last pass applied it */
  gboolean cleanup_tried;
  gboolean dismissed;          /* its finished job was dismissed: not to come back */
  OrrRegistryValidity validity;
  gint64 checked;              /* when validity was found (monotonic) */
} FileState;

typedef struct {
  gboolean alive;
  uid_t uid;
  gint64 checked;
} EngineState;

static void
file_state_free (gpointer data)
{
  FileState *fs = data;

  orr_registry_record_free (fs->record);
  g_free (fs);
}

/* ------------------------------------------------------------ lifecycle */

static void
orr_monitor_dispose (GObject *object)
{
  OrrMonitor *self = ORR_MONITOR (object);

  orr_monitor_stop (self);
  G_OBJECT_CLASS (orr_monitor_parent_class)->dispose (object);
}

static void
orr_monitor_finalize (GObject *object)
{
  OrrMonitor *self = ORR_MONITOR (object);

  g_free (self->dir);
  g_hash_table_unref (self->jobs);
  g_ptr_array_unref (self->order);
  g_hash_table_unref (self->pools);
  g_hash_table_unref (self->files);
  g_hash_table_unref (self->engines);
  orr_probe_host_free (self->host);

  G_OBJECT_CLASS (orr_monitor_parent_class)->finalize (object);
}

static void
orr_monitor_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  OrrMonitor *self = ORR_MONITOR (object);

  switch (prop_id)
    {
    case PROP_INTERVAL_MS: g_value_set_uint (value, self->interval_ms); break;
    case PROP_HISTORY_SECONDS: g_value_set_uint (value, self->history_s); break;
    case PROP_MAX_FINISHED: g_value_set_uint (value, self->max_finished); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_monitor_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  OrrMonitor *self = ORR_MONITOR (object);

  switch (prop_id)
    {
    case PROP_INTERVAL_MS: orr_monitor_set_interval (self, g_value_get_uint (value)); break;
    case PROP_HISTORY_SECONDS: orr_monitor_set_history (self, g_value_get_uint (value)); break;
    case PROP_MAX_FINISHED:
      if (self->max_finished != g_value_get_uint (value))
        {
          self->max_finished = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_monitor_class_init (OrrMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType type = G_TYPE_FROM_CLASS (klass);

  object_class->dispose = orr_monitor_dispose;
  object_class->finalize = orr_monitor_finalize;
  object_class->get_property = orr_monitor_get_property;
  object_class->set_property = orr_monitor_set_property;

  properties[PROP_INTERVAL_MS] =
    g_param_spec_uint ("interval-ms", NULL, NULL, 10, 60000, ORR_MONITOR_DEFAULT_INTERVAL_MS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HISTORY_SECONDS] =
    g_param_spec_uint ("history-seconds", NULL, NULL, 1, 7 * 24 * 3600, ORR_MONITOR_DEFAULT_HISTORY_S,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_FINISHED] =
    g_param_spec_uint ("max-finished", NULL, NULL, 0, G_MAXUINT, DEFAULT_MAX_FINISHED,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[JOB_ADDED] = g_signal_new ("job-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 1, ORR_TYPE_MONITOR_JOB);
  signals[JOB_CHANGED] = g_signal_new ("job-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, ORR_TYPE_MONITOR_JOB);
  signals[JOB_SAMPLED] = g_signal_new ("job-sampled", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, ORR_TYPE_MONITOR_JOB);
  signals[JOB_FINISHED] = g_signal_new ("job-finished", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, ORR_TYPE_MONITOR_JOB);
  signals[JOB_REMOVED] = g_signal_new ("job-removed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, ORR_TYPE_MONITOR_JOB);
  signals[POOL_ADDED] = g_signal_new ("pool-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 1, ORR_TYPE_MONITOR_POOL);
  signals[SAMPLED] = g_signal_new ("sampled", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
orr_monitor_init (OrrMonitor *self)
{
  self->interval_ms = ORR_MONITOR_DEFAULT_INTERVAL_MS;
  self->history_s = ORR_MONITOR_DEFAULT_HISTORY_S;
  self->max_finished = DEFAULT_MAX_FINISHED;
  self->host = orr_probe_host_new ();
  self->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->order = g_ptr_array_new_with_free_func (g_object_unref);
  self->pools = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, file_state_free);
  self->engines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

OrrMonitor *
orr_monitor_new (void)
{
  g_autofree char *dir = orr_registry_dup_dir ();

  return orr_monitor_new_for_directory (dir);
}

OrrMonitor *
orr_monitor_new_for_directory (const char *dir)
{
  OrrMonitor *self;

  g_return_val_if_fail (dir != NULL, NULL);
  self = g_object_new (ORR_TYPE_MONITOR, NULL);
  self->dir = g_strdup (dir);
  return self;
}

/* ------------------------------------------------------------ settings */

static gboolean
timer_cb (gpointer data)
{
  orr_monitor_refresh (ORR_MONITOR (data));
  return G_SOURCE_CONTINUE;
}

static void
attach_timer (OrrMonitor *self)
{
  self->timer = g_timeout_source_new (self->interval_ms);
  g_source_set_name (self->timer, "[orrery] monitor");
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_attach (self->timer, self->context);
}

void
orr_monitor_set_interval (OrrMonitor *self,
                          guint       interval_ms)
{
  g_return_if_fail (ORR_IS_MONITOR (self));
  g_return_if_fail (interval_ms >= 10);

  if (self->interval_ms == interval_ms)
    return;
  self->interval_ms = interval_ms;
  if (self->timer)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
      attach_timer (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERVAL_MS]);
}

guint
orr_monitor_get_interval (OrrMonitor *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR (self), 0);
  return self->interval_ms;
}

void
orr_monitor_set_history (OrrMonitor *self,
                         guint       seconds)
{
  g_return_if_fail (ORR_IS_MONITOR (self));
  g_return_if_fail (seconds >= 1);

  if (self->history_s == seconds)
    return;
  self->history_s = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY_SECONDS]);
}

guint
orr_monitor_get_history (OrrMonitor *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR (self), 0);
  return self->history_s;
}

guint
orr_monitor_get_capacity (OrrMonitor *self)
{
  guint64 n;

  g_return_val_if_fail (ORR_IS_MONITOR (self), 0);
  n = (guint64) self->history_s * 1000 / self->interval_ms;
  return (guint) CLAMP (n, 16, G_MAXINT);
}

void
orr_monitor_start (OrrMonitor *self)
{
  g_return_if_fail (ORR_IS_MONITOR (self));

  if (self->timer)
    return;
  self->context = g_main_context_ref_thread_default ();
  orr_monitor_refresh (self);
  attach_timer (self);
}

void
orr_monitor_stop (OrrMonitor *self)
{
  g_return_if_fail (ORR_IS_MONITOR (self));

  if (self->timer)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  g_clear_pointer (&self->context, g_main_context_unref);
}

gboolean
orr_monitor_is_running (OrrMonitor *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR (self), FALSE);
  return self->timer != NULL;
}

/* ------------------------------------------------------------ the registry */

static gboolean
same_file (const FileState *fs, const struct stat *st)
{
  return fs->ino == st->st_ino && fs->size == st->st_size &&
         fs->mtime.tv_sec == st->st_mtim.tv_sec && fs->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads what changed in the registry. Files are replaced by rename, which
 * changes the directory's mtime: while it has not changed since a scan made
 * well after it (mtimes are coarse), there is nothing new to read. */
static void
scan_registry (OrrMonitor *self, gint64 now)
{
  struct stat dir_st;
  gint64 mtime_us;
  GHashTableIter iter;
  FileState *fs;
  DIR *dir;
  struct dirent *de;
  int dir_fd;

  dir_fd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fstat (dir_fd, &dir_st) != 0)
    {
      if (dir_fd >= 0)
        close (dir_fd);
      g_hash_table_remove_all (self->files);
      self->scanned = FALSE;
      return;
    }
  mtime_us = dir_st.st_mtim.tv_sec * G_USEC_PER_SEC + dir_st.st_mtim.tv_nsec / 1000;
  if (self->scanned &&
      dir_st.st_mtim.tv_sec == self->dir_mtime.tv_sec && dir_st.st_mtim.tv_nsec == self->dir_mtime.tv_nsec &&
      self->last_scan_real > mtime_us + G_USEC_PER_SEC &&
      now - self->last_full_scan < FULL_SCAN_US)
    {
      close (dir_fd);
      return;
    }
  self->scanned = TRUE;
  self->dir_mtime = dir_st.st_mtim;
  self->last_scan_real = g_get_real_time ();
  self->last_full_scan = now;

  dir = fdopendir (dup (dir_fd));
  if (dir == NULL)
    {
      close (dir_fd);
      return;
    }
  g_hash_table_iter_init (&iter, self->files);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &fs))
    fs->seen = FALSE;
  while ((de = readdir (dir)) != NULL)
    {
      struct stat st;
      OrrRegistryRecord *record;

      if (!orr_registry_is_key (de->d_name))
        continue;
      if (fstatat (dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      fs = g_hash_table_lookup (self->files, de->d_name);
      if (fs && same_file (fs, &st))
        {
          fs->seen = TRUE;
          continue;
        }
      record = orr_registry_load (dir_fd, de->d_name, &st, NULL);
      fs = g_new0 (FileState, 1);
      fs->ino = st.st_ino;
      fs->mtime = st.st_mtim;
      fs->size = st.st_size;
      fs->uid = st.st_uid;
      fs->record = record;
      fs->seen = TRUE;
      fs->fresh = TRUE;
      g_hash_table_replace (self->files, g_strdup (de->d_name), fs);
    }
  closedir (dir);
  close (dir_fd);
  g_hash_table_iter_init (&iter, self->files);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &fs))
    if (!fs->seen)
      g_hash_table_iter_remove (&iter);
}

static OrrRegistryValidity
check_file (OrrMonitor *self, FileState *fs, gint64 now)
{
  const OrrRegistryRecord *r = fs->record;
  g_autofree char *id = NULL;
  EngineState *engine;

  /* Each file's verdict holds as long as its engine's. */
  if (!fs->fresh && fs->checked && now - fs->checked < ENGINE_CHECK_US)
    return fs->validity;
  fs->checked = now;
  id = g_strdup_printf ("%d:%" G_GUINT64_FORMAT, r->engine_pid, r->engine_start);
  engine = g_hash_table_lookup (self->engines, id);

  if (engine == NULL || now - engine->checked >= ENGINE_CHECK_US)
    {
      char path[64];
      struct stat proc = { 0 };

      if (engine == NULL)
        {
          engine = g_new0 (EngineState, 1);
          g_hash_table_insert (self->engines, g_strdup (id), engine);
        }
      engine->checked = now;
      g_snprintf (path, sizeof path, "/proc/%d", r->engine_pid);
      engine->alive = orr_process_is_alive (r->engine_pid, r->engine_start) && stat (path, &proc) == 0;
      engine->uid = engine->alive ? proc.st_uid : (uid_t) -1;
    }
  if (!engine->alive)
    fs->validity = ORR_REGISTRY_STALE;
  /* Nobody but root and the engine's user may speak for the engine. */
  else if (fs->uid != 0 && fs->uid != engine->uid)
    fs->validity = ORR_REGISTRY_UNTRUSTED;
  else
    fs->validity = ORR_REGISTRY_LIVE;
  return fs->validity;
}

/* A dead engine's file: removed if we may, and if it is still that file. */
static void
cleanup_stale (OrrMonitor *self, const char *name, FileState *fs)
{
  g_autofree char *path = g_build_filename (self->dir, name, NULL);
  struct stat st;

  if (fs->cleanup_tried)
    return;
  fs->cleanup_tried = TRUE;
  if (lstat (path, &st) == 0 && st.st_ino == fs->ino)
    g_unlink (path);
}

static void
forget_engines (OrrMonitor *self, gint64 now)
{
  GHashTableIter iter;
  EngineState *engine;

  g_hash_table_iter_init (&iter, self->engines);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &engine))
    if (now - engine->checked > 10 * ENGINE_CHECK_US)
      g_hash_table_iter_remove (&iter);
}

/* ------------------------------------------------------------ a pass */

typedef struct {
  GPtrArray *added;
  GPtrArray *changed;
  GPtrArray *sampled;
  GPtrArray *finished;
  GPtrArray *removed;
  GPtrArray *pools_added;
} Events;

static void
events_init (Events *ev)
{
  ev->added = g_ptr_array_new_with_free_func (g_object_unref);
  ev->changed = g_ptr_array_new_with_free_func (g_object_unref);
  ev->sampled = g_ptr_array_new_with_free_func (g_object_unref);
  ev->finished = g_ptr_array_new_with_free_func (g_object_unref);
  ev->removed = g_ptr_array_new_with_free_func (g_object_unref);
  ev->pools_added = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
events_emit (OrrMonitor *self, Events *ev)
{
  for (guint i = 0; i < ev->added->len; i++)
    g_signal_emit (self, signals[JOB_ADDED], 0, g_ptr_array_index (ev->added, i));
  for (guint i = 0; i < ev->changed->len; i++)
    if (!g_ptr_array_find (ev->added, g_ptr_array_index (ev->changed, i), NULL))
      g_signal_emit (self, signals[JOB_CHANGED], 0, g_ptr_array_index (ev->changed, i));
  for (guint i = 0; i < ev->sampled->len; i++)
    g_signal_emit (self, signals[JOB_SAMPLED], 0, g_ptr_array_index (ev->sampled, i));
  for (guint i = 0; i < ev->finished->len; i++)
    g_signal_emit (self, signals[JOB_FINISHED], 0, g_ptr_array_index (ev->finished, i));
  for (guint i = 0; i < ev->removed->len; i++)
    g_signal_emit (self, signals[JOB_REMOVED], 0, g_ptr_array_index (ev->removed, i));
  for (guint i = 0; i < ev->pools_added->len; i++)
    g_signal_emit (self, signals[POOL_ADDED], 0, g_ptr_array_index (ev->pools_added, i));
  g_signal_emit (self, signals[SAMPLED], 0);
  g_ptr_array_unref (ev->added);
  g_ptr_array_unref (ev->changed);
  g_ptr_array_unref (ev->sampled);
  g_ptr_array_unref (ev->finished);
  g_ptr_array_unref (ev->removed);
  g_ptr_array_unref (ev->pools_added);
}

static void
finish_job (OrrMonitorJob *job, gboolean lost, Events *ev)
{
  if (job->finished)
    return;
  _orr_monitor_job_set_finished (job, lost);
  g_ptr_array_add (ev->finished, g_object_ref (job));
}

static void
remove_job (OrrMonitor *self, OrrMonitorJob *job, Events *ev)
{
  g_ptr_array_add (ev->removed, g_object_ref (job));
  g_hash_table_remove (self->jobs, job->key);
  g_ptr_array_remove (self->order, job);
}

static OrrMonitorJob *
add_job (OrrMonitor *self, const OrrRegistryRecord *record, Events *ev)
{
  OrrMonitorJob *job = _orr_monitor_job_new (record, orr_monitor_get_capacity (self));

  g_hash_table_insert (self->jobs, job->key, job);
  g_ptr_array_add (self->order, g_object_ref (job));
  g_ptr_array_add (ev->added, g_object_ref (job));
  return job;
}

static void
apply_registry (OrrMonitor *self, gint64 now, Events *ev)
{
  GHashTableIter iter;
  const char *name;
  FileState *fs;

  g_hash_table_iter_init (&iter, self->files);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &fs))
    {
      OrrMonitorJob *job;
      OrrRegistryValidity validity;

      if (fs->record == NULL)
        continue;
      validity = check_file (self, fs, now);
      if (validity == ORR_REGISTRY_UNTRUSTED)
        continue;
      job = g_hash_table_lookup (self->jobs, name);
      /* The same name from a new engine that reused the pid: another job. */
      if (job && job->record->engine_start != fs->record->engine_start)
        {
          finish_job (job, job->record->state < ORR_JOB_SUCCEEDED, ev);
          remove_job (self, job, ev);
          job = NULL;
        }
      if (validity == ORR_REGISTRY_STALE)
        {
          /* Ignored, unless we were following the job: it ended with its engine. */
          if (job && !job->finished)
            {
              if (_orr_monitor_job_set_record (job, orr_registry_record_copy (fs->record)))
                g_ptr_array_add (ev->changed, g_object_ref (job));
              finish_job (job, fs->record->state < ORR_JOB_SUCCEEDED, ev);
            }
          cleanup_stale (self, name, fs);
          continue;
        }
      if (job == NULL && fs->dismissed)
        continue;
      if (job == NULL)
        job = add_job (self, fs->record, ev);
      else if (fs->fresh && !job->finished && _orr_monitor_job_set_record (job, orr_registry_record_copy (fs->record)))
        g_ptr_array_add (ev->changed, g_object_ref (job));
      fs->fresh = FALSE;
      if (fs->record->state >= ORR_JOB_SUCCEEDED)
        finish_job (job, FALSE, ev);
    }

  /* Gone from the registry without saying how they ended. */
  for (guint i = 0; i < self->order->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (self->order, i);

      if (!job->finished && !g_hash_table_contains (self->files, job->key))
        finish_job (job, job->record->state < ORR_JOB_SUCCEEDED, ev);
    }
}

static void
sample_jobs (OrrMonitor *self, gint64 now, Events *ev)
{
  orr_probe_host_begin_pass (self->host, now);
  for (guint i = 0; i < self->order->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (self->order, i);
      int pid = job->record->satellite_pid;
      OrrProbeReading reading;

      if (job->finished)
        continue;
      if (pid == 0)
        {
          g_clear_pointer (&job->probe, orr_probe_free);
          continue;
        }
      if (job->probe == NULL || orr_probe_get_pid (job->probe) != pid)
        {
          g_clear_pointer (&job->probe, orr_probe_free);
          job->probe = orr_probe_new (self->host, job->key, pid, job->record->satellite_start,
                                      job->record->engine_pid);
        }
      if (!orr_probe_read (job->probe, &reading))
        continue;
      job->source = orr_probe_get_source (job->probe);
      _orr_monitor_job_add_reading (job, &reading);
      g_ptr_array_add (ev->sampled, g_object_ref (job));
    }
}

static OrrMonitorPool *
ensure_pool (OrrMonitor *self, const char *name, Events *ev)
{
  OrrMonitorPool *pool = g_hash_table_lookup (self->pools, name);

  if (pool == NULL)
    {
      pool = _orr_monitor_pool_new (name, orr_monitor_get_capacity (self));
      g_hash_table_insert (self->pools, pool->name, pool);
      if (ev)
        g_ptr_array_add (ev->pools_added, g_object_ref (pool));
    }
  return pool;
}

static gint64
delta (gint64 value, gint64 *counted)
{
  gint64 d;

  if (value < 0)
    return 0;
  d = MAX (0, value - *counted);
  *counted = MAX (*counted, value);
  return d;
}

static gboolean
limits_equal (const OrrLimits *a, const OrrLimits *b)
{
  return g_strcmp0 (a->pool, b->pool) == 0 && a->max_cpu_percent == b->max_cpu_percent &&
         a->max_memory_bytes == b->max_memory_bytes && a->max_processes == b->max_processes &&
         g_strcmp0 (a->cpus, b->cpus) == 0 && a->timeout_ms == b->timeout_ms;
}

static void
update_pools (OrrMonitor *self, gint64 now, Events *ev)
{
  GHashTableIter iter;
  OrrMonitorPool *pool;

  g_hash_table_iter_init (&iter, self->pools);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pool))
    {
      pool->running = pool->queued = 0;
      pool->cpu_percent = 0;
      pool->memory_bytes = 0;
    }
  for (guint i = 0; i < self->order->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (self->order, i);
      const char *name = orr_monitor_job_get_pool (job);
      const OrrJobSample *last;

      if (name == NULL)
        continue;
      pool = ensure_pool (self, name, ev);
      if (g_strcmp0 (job->counted_pool, name) != 0)
        {
          g_free (job->counted_pool);
          job->counted_pool = g_strdup (name);
          pool->n_jobs_seen++;
        }
      pool->cpu_time_ns += delta (orr_monitor_job_get_cpu_time_ns (job), &job->counted_cpu_ns);
      pool->read_bytes += delta (orr_monitor_job_get_read_bytes (job), &job->counted_read);
      pool->written_bytes += delta (orr_monitor_job_get_written_bytes (job), &job->counted_written);
      if (job->finished)
        continue;
      if (job->record->limits && (pool->limits == NULL || !limits_equal (pool->limits, job->record->limits)))
        orr_monitor_pool_set_limits (pool, job->record->limits);
      if (job->record->state == ORR_JOB_QUEUED)
        pool->queued++;
      else
        pool->running++;
      last = orr_ring_get_last (job->samples);
      if (last && g_ptr_array_find (ev->sampled, job, NULL))
        {
          if (last->cpu_user_percent >= 0 && last->cpu_system_percent >= 0)
            pool->cpu_percent += last->cpu_user_percent + last->cpu_system_percent;
          if (last->memory_bytes > 0)
            pool->memory_bytes += last->memory_bytes;
        }
    }
  g_hash_table_iter_init (&iter, self->pools);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pool))
    {
      OrrPoolSample *s = orr_ring_push (pool->samples);

      pool->peak_memory = MAX (pool->peak_memory, pool->memory_bytes);
      s->time = now;
      s->cpu_percent = pool->cpu_percent;
      s->memory_bytes = pool->memory_bytes;
      s->running = pool->running;
      s->queued = pool->queued;
    }
}

static void
trim_finished (OrrMonitor *self, Events *ev)
{
  guint n_finished = 0;

  for (guint i = 0; i < self->order->len; i++)
    n_finished += ((OrrMonitorJob *) g_ptr_array_index (self->order, i))->finished;
  for (guint i = 0; i < self->order->len && n_finished > self->max_finished; )
    {
      OrrMonitorJob *job = g_ptr_array_index (self->order, i);

      if (job->finished)
        {
          remove_job (self, job, ev);
          n_finished--;
        }
      else
        i++;
    }
}

void
orr_monitor_refresh (OrrMonitor *self)
{
  g_autoptr(GObject) keep = NULL;
  gint64 now = g_get_monotonic_time ();
  Events ev;

  g_return_if_fail (ORR_IS_MONITOR (self));

  keep = g_object_ref (G_OBJECT (self));
  events_init (&ev);
  scan_registry (self, now);
  apply_registry (self, now, &ev);
  sample_jobs (self, now, &ev);
  update_pools (self, now, &ev);
  trim_finished (self, &ev);
  forget_engines (self, now);
  events_emit (self, &ev);
}

/* ------------------------------------------------------------ queries */

GPtrArray *
orr_monitor_dup_jobs (OrrMonitor *self)
{
  GPtrArray *jobs;

  g_return_val_if_fail (ORR_IS_MONITOR (self), NULL);
  jobs = g_ptr_array_new_full (self->order->len, g_object_unref);
  for (guint i = 0; i < self->order->len; i++)
    g_ptr_array_add (jobs, g_object_ref (g_ptr_array_index (self->order, i)));
  return jobs;
}

OrrMonitorJob *
orr_monitor_lookup_job (OrrMonitor *self,
                        const char *key)
{
  g_return_val_if_fail (ORR_IS_MONITOR (self), NULL);
  return g_hash_table_lookup (self->jobs, key);
}

void
orr_monitor_dismiss_job (OrrMonitor    *self,
                         OrrMonitorJob *job)
{
  g_autoptr(OrrMonitorJob) keep = NULL;
  FileState *fs;

  g_return_if_fail (ORR_IS_MONITOR (self));
  g_return_if_fail (ORR_IS_MONITOR_JOB (job));

  if (!job->finished || g_hash_table_lookup (self->jobs, job->key) != job)
    return;
  keep = g_object_ref (job);
  /* Its entry lingers a few seconds after the end: not read as a new job. */
  fs = g_hash_table_lookup (self->files, job->key);
  if (fs != NULL)
    fs->dismissed = TRUE;
  g_hash_table_remove (self->jobs, job->key);
  g_ptr_array_remove (self->order, job);
  g_signal_emit (self, signals[JOB_REMOVED], 0, job);
}

void
orr_monitor_dismiss_finished (OrrMonitor *self)
{
  g_autoptr(GPtrArray) jobs = NULL;

  g_return_if_fail (ORR_IS_MONITOR (self));
  jobs = orr_monitor_dup_jobs (self);
  for (guint i = 0; i < jobs->len; i++)
    orr_monitor_dismiss_job (self, g_ptr_array_index (jobs, i));
}

static int
compare_pools (gconstpointer a, gconstpointer b)
{
  const OrrMonitorPool *pa = *(OrrMonitorPool * const *) a;
  const OrrMonitorPool *pb = *(OrrMonitorPool * const *) b;

  return g_strcmp0 (pa->name, pb->name);
}

GPtrArray *
orr_monitor_dup_pools (OrrMonitor *self)
{
  GPtrArray *pools;
  GHashTableIter iter;
  gpointer pool;

  g_return_val_if_fail (ORR_IS_MONITOR (self), NULL);
  pools = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->pools);
  while (g_hash_table_iter_next (&iter, NULL, &pool))
    g_ptr_array_add (pools, g_object_ref (pool));
  g_ptr_array_sort (pools, compare_pools);
  return pools;
}

OrrMonitorPool *
orr_monitor_lookup_pool (OrrMonitor *self,
                         const char *name)
{
  g_return_val_if_fail (ORR_IS_MONITOR (self), NULL);
  return g_hash_table_lookup (self->pools, name);
}

OrrMonitorPool *
orr_monitor_add_pool (OrrMonitor      *self,
                      const OrrLimits *limits)
{
  OrrMonitorPool *pool;
  gboolean is_new;

  g_return_val_if_fail (ORR_IS_MONITOR (self), NULL);
  g_return_val_if_fail (limits != NULL && limits->pool != NULL, NULL);

  is_new = !g_hash_table_contains (self->pools, limits->pool);
  pool = ensure_pool (self, limits->pool, NULL);
  if (pool->limits == NULL || is_new)
    orr_monitor_pool_set_limits (pool, limits);
  if (is_new)
    g_signal_emit (self, signals[POOL_ADDED], 0, pool);
  return pool;
}
