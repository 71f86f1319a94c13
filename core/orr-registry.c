/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-registry"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-job-private.h"
#include "orr-registry.h"

#define GROUP "job"
#define MAX_ENTRY_BYTES (64 * 1024)
#define MAX_SCRIPT_CHARS 200
#define MAX_ERROR_CHARS 500
/* How often the registry's thread looks for a new satellite or more rows. */
#define POLL_MS 250

/* ------------------------------------------------------------ records */

OrrRegistryRecord *
orr_registry_record_new (void)
{
  OrrRegistryRecord *record = g_new0 (OrrRegistryRecord, 1);

  record->cpu_user_us = -1;
  record->cpu_system_us = -1;
  record->peak_memory_bytes = -1;
  record->bytes_read = -1;
  record->bytes_written = -1;
  return record;
}

OrrRegistryRecord *
orr_registry_record_copy (const OrrRegistryRecord *record)
{
  OrrRegistryRecord *copy = g_memdup2 (record, sizeof *record);

  copy->key = g_strdup (record->key);
  copy->user = g_strdup (record->user);
  copy->principal = g_strdup (record->principal);
  copy->limits = record->limits ? orr_limits_copy (record->limits) : NULL;
  copy->script = g_strdup (record->script);
  copy->error = g_strdup (record->error);
  return copy;
}

void
orr_registry_record_free (OrrRegistryRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->key);
  g_free (record->user);
  g_free (record->principal);
  g_clear_pointer (&record->limits, orr_limits_free);
  g_free (record->script);
  g_free (record->error);
  g_free (record);
}

gboolean
orr_registry_record_equal (const OrrRegistryRecord *a,
                           const OrrRegistryRecord *b)
{
  g_autofree char *da = orr_registry_record_to_data (a, NULL);
  g_autofree char *db = orr_registry_record_to_data (b, NULL);

  return g_str_equal (da, db);
}

static OrrJobState
state_from_string (const char *text)
{
  for (OrrJobState s = ORR_JOB_QUEUED; s <= ORR_JOB_CANCELLED; s++)
    if (g_strcmp0 (text, orr_job_state_to_string (s)) == 0)
      return s;
  return (OrrJobState) -1;
}

char *
orr_registry_record_to_data (const OrrRegistryRecord *record,
                             gsize                   *length)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  g_key_file_set_integer (kf, GROUP, "format", ORR_REGISTRY_FORMAT);
  g_key_file_set_string (kf, GROUP, "key", record->key);
  g_key_file_set_integer (kf, GROUP, "engine-pid", record->engine_pid);
  g_key_file_set_uint64 (kf, GROUP, "engine-start", record->engine_start);
  g_key_file_set_uint64 (kf, GROUP, "job-id", record->job_id);
  g_key_file_set_uint64 (kf, GROUP, "uid", record->uid);
  g_key_file_set_string (kf, GROUP, "user", record->user ? record->user : "");
  if (record->principal)
    g_key_file_set_string (kf, GROUP, "principal", record->principal);
  if (record->limits)
    {
      g_key_file_set_string (kf, GROUP, "pool", record->limits->pool);
      g_key_file_set_uint64 (kf, GROUP, "max-cpu-percent", record->limits->max_cpu_percent);
      g_key_file_set_uint64 (kf, GROUP, "max-memory-bytes", record->limits->max_memory_bytes);
      g_key_file_set_uint64 (kf, GROUP, "max-processes", record->limits->max_processes);
      g_key_file_set_string (kf, GROUP, "cpus", record->limits->cpus ? record->limits->cpus : "");
      g_key_file_set_uint64 (kf, GROUP, "timeout-ms", record->limits->timeout_ms);
    }
  g_key_file_set_string (kf, GROUP, "state", orr_job_state_to_string (record->state));
  g_key_file_set_int64 (kf, GROUP, "submitted", record->submitted_at);
  g_key_file_set_int64 (kf, GROUP, "started", record->started_at);
  g_key_file_set_int64 (kf, GROUP, "ended", record->ended_at);
  g_key_file_set_integer (kf, GROUP, "satellite-pid", record->satellite_pid);
  g_key_file_set_uint64 (kf, GROUP, "satellite-start", record->satellite_start);
  g_key_file_set_uint64 (kf, GROUP, "rows-in", record->rows_in);
  g_key_file_set_uint64 (kf, GROUP, "rows-out", record->rows_out);
  g_key_file_set_string (kf, GROUP, "script", record->script ? record->script : "");
  if (record->error)
    g_key_file_set_string (kf, GROUP, "error", record->error);
  g_key_file_set_int64 (kf, GROUP, "cpu-user-us", record->cpu_user_us);
  g_key_file_set_int64 (kf, GROUP, "cpu-system-us", record->cpu_system_us);
  g_key_file_set_int64 (kf, GROUP, "peak-memory-bytes", record->peak_memory_bytes);
  g_key_file_set_int64 (kf, GROUP, "bytes-read", record->bytes_read);
  g_key_file_set_int64 (kf, GROUP, "bytes-written", record->bytes_written);
  return g_key_file_to_data (kf, length, NULL);
}

/* Optional keys read as 0 (or -1 for the resource figures). */
static gint64
get_int64 (GKeyFile *kf, const char *key, gint64 fallback)
{
  g_autoptr(GError) error = NULL;
  gint64 v = g_key_file_get_int64 (kf, GROUP, key, &error);

  return error ? fallback : v;
}

static guint64
get_uint64 (GKeyFile *kf, const char *key)
{
  g_autoptr(GError) error = NULL;
  guint64 v = g_key_file_get_uint64 (kf, GROUP, key, &error);

  return error ? 0 : v;
}

OrrRegistryRecord *
orr_registry_record_parse (const char  *data,
                           gsize        length,
                           GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(OrrRegistryRecord) record = orr_registry_record_new ();
  g_autofree char *state = NULL;
  g_autofree char *pool = NULL;

  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, error))
    return NULL;
  if (get_int64 (kf, "format", 0) != ORR_REGISTRY_FORMAT)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_UNSUPPORTED, _("Unknown registry entry format"));
      return NULL;
    }
  record->key = g_key_file_get_string (kf, GROUP, "key", NULL);
  record->engine_pid = (int) get_int64 (kf, "engine-pid", 0);
  record->engine_start = get_uint64 (kf, "engine-start");
  record->job_id = get_uint64 (kf, "job-id");
  record->uid = (guint) get_uint64 (kf, "uid");
  record->user = g_key_file_get_string (kf, GROUP, "user", NULL);
  record->principal = g_key_file_get_string (kf, GROUP, "principal", NULL);
  pool = g_key_file_get_string (kf, GROUP, "pool", NULL);
  if (pool && *pool)
    {
      g_autofree char *cpus = g_key_file_get_string (kf, GROUP, "cpus", NULL);

      record->limits = orr_limits_new (pool);
      record->limits->max_cpu_percent = (guint) get_uint64 (kf, "max-cpu-percent");
      record->limits->max_memory_bytes = get_uint64 (kf, "max-memory-bytes");
      record->limits->max_processes = (guint) get_uint64 (kf, "max-processes");
      record->limits->cpus = cpus && *cpus ? g_steal_pointer (&cpus) : NULL;
      record->limits->timeout_ms = (guint) get_uint64 (kf, "timeout-ms");
    }
  state = g_key_file_get_string (kf, GROUP, "state", NULL);
  record->state = state_from_string (state);
  record->submitted_at = get_int64 (kf, "submitted", 0);
  record->started_at = get_int64 (kf, "started", 0);
  record->ended_at = get_int64 (kf, "ended", 0);
  record->satellite_pid = (int) get_int64 (kf, "satellite-pid", 0);
  record->satellite_start = get_uint64 (kf, "satellite-start");
  record->rows_in = get_uint64 (kf, "rows-in");
  record->rows_out = get_uint64 (kf, "rows-out");
  record->script = g_key_file_get_string (kf, GROUP, "script", NULL);
  record->error = g_key_file_get_string (kf, GROUP, "error", NULL);
  record->cpu_user_us = get_int64 (kf, "cpu-user-us", -1);
  record->cpu_system_us = get_int64 (kf, "cpu-system-us", -1);
  record->peak_memory_bytes = get_int64 (kf, "peak-memory-bytes", -1);
  record->bytes_read = get_int64 (kf, "bytes-read", -1);
  record->bytes_written = get_int64 (kf, "bytes-written", -1);

  if (record->key == NULL || !orr_registry_is_key (record->key) || record->engine_pid <= 0 ||
      (int) record->state < 0 || record->satellite_pid < 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Malformed registry entry"));
      return NULL;
    }
  return g_steal_pointer (&record);
}

/* ------------------------------------------------------------ files */

char *
orr_registry_dup_dir (void)
{
  const char *env = g_getenv ("ORRERY_REGISTRY_DIR");

  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_tmp_dir (), "orrery-jobs", NULL);
}

gboolean
orr_registry_ensure_dir (const char  *dir,
                         GError     **error)
{
  struct stat st;

  /* Shared by every user of the host, like /tmp itself: sticky and open. */
  if (g_mkdir (dir, 01777) == 0)
    chmod (dir, 01777);
  else if (errno != EEXIST)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot create “%s”: %s"), dir, g_strerror (errsv));
      return FALSE;
    }
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("“%s” is not a directory"), dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
orr_registry_is_key (const char *name)
{
  const char *p = name;
  gboolean dash = FALSE;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; *p; p++)
    {
      if (*p == '-' && !dash && g_ascii_isdigit (p[1]))
        dash = TRUE;
      else if (!g_ascii_isdigit (*p))
        return FALSE;
    }
  return dash && p - name < 64;
}

gboolean
orr_registry_write (const char               *dir,
                    const OrrRegistryRecord  *record,
                    GError                  **error)
{
  g_autofree char *data = NULL;
  g_autofree char *path = g_build_filename (dir, record->key, NULL);
  g_autofree char *tmp = NULL;
  gsize length;
  gsize done = 0;
  int fd;

  data = orr_registry_record_to_data (record, &length);
  /* A dot name, which readers skip, and a random one: another user cannot
   * prepare it in the sticky directory. */
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, record->key);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write in “%s”: %s"), dir, g_strerror (errsv));
      return FALSE;
    }
  fchmod (fd, 0644);
  while (done < length)
    {
      ssize_t n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = errno;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write “%s”: %s"), tmp, g_strerror (errsv));
          return FALSE;
        }
      done += n;
    }
  close (fd);
  if (g_rename (tmp, path) != 0)
    {
      int errsv = errno;
      g_unlink (tmp);
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write “%s”: %s"), path, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

OrrRegistryRecord *
orr_registry_load (int           dir_fd,
                   const char   *name,
                   struct stat  *st,
                   GError      **error)
{
  g_autofree char *data = NULL;
  OrrRegistryRecord *record;
  gsize done = 0;
  int fd;

  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), _("%s: %s"), name, g_strerror (errsv));
      return NULL;
    }
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode) || st->st_size > MAX_ENTRY_BYTES)
    {
      close (fd);
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("%s is not a registry entry"), name);
      return NULL;
    }
  data = g_malloc (st->st_size + 1);
  while (done < (gsize) st->st_size)
    {
      ssize_t n = read (fd, data + done, st->st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += n;
    }
  close (fd);
  data[done] = '\0';
  record = orr_registry_record_parse (data, done, error);
  if (record && !g_str_equal (record->key, name))
    {
      g_clear_pointer (&record, orr_registry_record_free);
      g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("%s names another entry"), name);
    }
  return record;
}

/* The state (field 3) and start time (field 22) of /proc/PID/stat;
 * FALSE when it cannot be read. */
static gboolean
read_process_stat (int pid, char *state, guint64 *start)
{
  char path[64];
  char buf[1024];
  const char *p;
  ssize_t n;
  int fd;

  if (pid <= 0)
    return FALSE;
  g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields follow the last ')'. */
  p = strrchr (buf, ')');
  if (p == NULL)
    return FALSE;
  p++;
  for (int field = 3; field <= 22 && *p; field++)
    {
      while (*p == ' ')
        p++;
      if (field == 3)
        *state = *p;
      if (field == 22)
        {
          *start = g_ascii_strtoull (p, NULL, 10);
          return TRUE;
        }
      while (*p && *p != ' ')
        p++;
    }
  return FALSE;
}

guint64
orr_process_get_start_time (int pid)
{
  char state;
  guint64 start;

  return read_process_stat (pid, &state, &start) ? start : 0;
}

gboolean
orr_process_is_alive (int     pid,
                      guint64 start)
{
  char state;
  guint64 actual;

  if (pid <= 0)
    return FALSE;
  if (!read_process_stat (pid, &state, &actual))
    {
      /* A /proc that hides other users' processes: the pid is all there is. */
      return kill (pid, 0) == 0 || errno == EPERM;
    }
  /* A zombie has ended: nobody has collected it yet. */
  if (state == 'Z' || state == 'X' || state == 'x')
    return FALSE;
  return start == 0 || actual == start;
}

OrrRegistryValidity
orr_registry_check (const OrrRegistryRecord *record,
                    const struct stat       *st)
{
  char path[64];
  struct stat proc;

  if (!orr_process_is_alive (record->engine_pid, record->engine_start))
    return ORR_REGISTRY_STALE;
  g_snprintf (path, sizeof path, "/proc/%d", record->engine_pid);
  if (stat (path, &proc) != 0)
    return ORR_REGISTRY_STALE;
  /* /proc/PID belongs to the process's user: nobody else may speak for it. */
  if (st->st_uid != 0 && st->st_uid != proc.st_uid)
    return ORR_REGISTRY_UNTRUSTED;
  return ORR_REGISTRY_LIVE;
}

/* ------------------------------------------------------------ the engine's side */

struct _OrrRegistryEntry {
  OrrJob *job;                  /* a reference until the job ended */
  OrrRegistryRecord *record;    /* what the file should say */
  gboolean dirty;
  gint64 remove_at;             /* monotonic µs, once the job ended */
};

/* Entries are changed under `lock`; files are written under `write_lock`
 * (taken first), so that an older copy never overwrites a newer one. Lock
 * order: write_lock, lock, a job's lock. Only the thread frees entries. */
static GMutex lock;
static GMutex write_lock;
static GCond cond;
static GPtrArray *entries;
static GThread *thread;
static char *registry_dir;
static gboolean write_warned;
/* The thread that watches for cancel requests (see below), and the
 * requests it handled but could not remove (another user's). */
static GThread *watch_thread;
static GHashTable *handled;

static char *
first_line (const char *text, guint max_chars)
{
  g_auto(GStrv) lines = NULL;

  if (text == NULL)
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (*line == '\0')
        continue;
      if (!g_utf8_validate (line, -1, NULL))
        return g_strdup ("?");
      if (g_utf8_strlen (line, -1) > max_chars)
        {
          g_autofree char *cut = g_utf8_substring (line, 0, max_chars - 1);
          return g_strconcat (cut, "…", NULL);
        }
      return g_strdup (line);
    }
  return g_strdup ("");
}

/* Under write_lock: writes what @copy says (if anything). */
static void
write_copy (OrrRegistryRecord *copy)
{
  g_autoptr(GError) error = NULL;

  if (copy && !orr_registry_write (registry_dir, copy, &error) && !write_warned)
    {
      /* Jobs run all the same; monitors will not see them. */
      write_warned = TRUE;
      g_warning ("Jobs are not visible to monitors: %s", error->message);
    }
}

/* Under `lock`: what is to be written, if anything. */
static OrrRegistryRecord *
take_dirty (OrrRegistryEntry *entry)
{
  if (!entry->dirty)
    return NULL;
  entry->dirty = FALSE;
  return orr_registry_record_copy (entry->record);
}

static void
write_entry (OrrRegistryEntry *entry)
{
  g_autoptr(OrrRegistryRecord) copy = NULL;

  g_mutex_lock (&write_lock);
  g_mutex_lock (&lock);
  copy = take_dirty (entry);
  g_mutex_unlock (&lock);
  write_copy (copy);
  g_mutex_unlock (&write_lock);
}

static gpointer watch_thread_main (gpointer data);

/* Files whose engine is gone, ours or anyone's where we may remove them. */
static void
sweep_stale (void)
{
  g_autoptr(GDir) dir = g_dir_open (registry_dir, 0, NULL);
  const char *name;
  int dir_fd;

  if (dir == NULL)
    return;
  dir_fd = open (registry_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      const char *key = name[0] == '.' ? name + 1 : name;
      int pid = atoi (key);
      struct stat st;
      g_autoptr(OrrRegistryRecord) record = NULL;

      if (!g_ascii_isdigit (*key))
        continue;
      if (name[0] == '.')
        {
          /* A temporary file left by a crash: its engine's pid leads the name. */
          if (!orr_process_is_alive (pid, 0))
            unlinkat (dir_fd, name, 0);
          continue;
        }
      record = orr_registry_load (dir_fd, name, &st, NULL);
      if (record == NULL || orr_registry_check (record, &st) == ORR_REGISTRY_STALE)
        if (record != NULL || !orr_process_is_alive (pid, 0))
          unlinkat (dir_fd, name, 0);
    }
  close (dir_fd);
  /* Cancel requests for jobs that are over. */
  orr_registry_sweep_requests (registry_dir);
}

/* Under `lock`: the satellite and row counts, which the engine changes
 * without telling. */
static void
poll_job (OrrRegistryEntry *entry)
{
  OrrJob *job = entry->job;
  OrrRegistryRecord *record = entry->record;
  int pid;

  g_mutex_lock (&job->lock);
  pid = job->exited ? 0 : job->pid;
  g_mutex_unlock (&job->lock);
  if (pid != record->satellite_pid && pid != 0)
    {
      record->satellite_pid = pid;
      record->satellite_start = orr_process_get_start_time (pid);
      entry->dirty = TRUE;
    }
  if (job->rows_in != record->rows_in || job->rows_out != record->rows_out)
    {
      record->rows_in = job->rows_in;
      record->rows_out = job->rows_out;
      entry->dirty = TRUE;
    }
}

static gpointer
registry_thread (gpointer data)
{
  g_autoptr(GPtrArray) expired = g_ptr_array_new ();
  g_autoptr(GPtrArray) dirty = g_ptr_array_new ();

  sweep_stale ();
  g_mutex_lock (&lock);
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 wake = G_MAXINT64;

      for (guint i = 0; i < entries->len; i++)
        {
          OrrRegistryEntry *entry = g_ptr_array_index (entries, i);

          if (entry->job)
            {
              poll_job (entry);
              wake = MIN (wake, now + POLL_MS * G_TIME_SPAN_MILLISECOND);
            }
          else if (entry->remove_at <= now)
            g_ptr_array_add (expired, entry);
          else
            wake = MIN (wake, entry->remove_at);
          if (entry->dirty)
            g_ptr_array_add (dirty, entry);
        }
      for (guint i = 0; i < expired->len; i++)
        g_ptr_array_remove_fast (entries, g_ptr_array_index (expired, i));
      g_mutex_unlock (&lock);

      for (guint i = 0; i < dirty->len; i++)
        if (!g_ptr_array_find (expired, g_ptr_array_index (dirty, i), NULL))
          write_entry (g_ptr_array_index (dirty, i));
      for (guint i = 0; i < expired->len; i++)
        {
          OrrRegistryEntry *entry = g_ptr_array_index (expired, i);
          g_autofree char *path = g_build_filename (registry_dir, entry->record->key, NULL);

          /* Under write_lock: no write of this entry is under way. */
          g_mutex_lock (&write_lock);
          g_unlink (path);
          g_mutex_unlock (&write_lock);
          orr_registry_record_free (entry->record);
          g_free (entry);
        }
      g_ptr_array_set_size (expired, 0);
      g_ptr_array_set_size (dirty, 0);

      g_mutex_lock (&lock);
      if (wake == G_MAXINT64)
        g_cond_wait (&cond, &lock);
      else
        g_cond_wait_until (&cond, &lock, wake);
    }
  return NULL;
}

OrrRegistryEntry *
_orr_registry_publish (OrrJob *job)
{
  static guint64 engine_start;
  OrrRegistryEntry *entry = g_new0 (OrrRegistryEntry, 1);
  OrrRegistryRecord *record = orr_registry_record_new ();
  struct passwd *pw;

  record->engine_pid = getpid ();
  record->job_id = job->id;
  record->key = g_strdup_printf ("%d-%" G_GUINT64_FORMAT, record->engine_pid, record->job_id);
  record->uid = getuid ();
  record->state = ORR_JOB_QUEUED;
  record->submitted_at = g_get_real_time ();
  record->script = first_line (job->spec->script, MAX_SCRIPT_CHARS);
  entry->record = record;
  entry->job = g_object_ref (job);
  entry->dirty = TRUE;

  g_mutex_lock (&lock);
  if (thread == NULL)
    {
      g_autoptr(GError) error = NULL;

      engine_start = orr_process_get_start_time (getpid ());
      registry_dir = orr_registry_dup_dir ();
      if (!orr_registry_ensure_dir (registry_dir, &error))
        {
          write_warned = TRUE;
          g_warning ("Jobs are not visible to monitors: %s", error->message);
        }
      entries = g_ptr_array_new ();
      handled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      thread = g_thread_new ("orrery-registry", registry_thread, NULL);
      watch_thread = g_thread_new ("orrery-cancel", watch_thread_main, NULL);
    }
  record->engine_start = engine_start;
  /* getpwuid() is not thread-safe: it runs under the lock. */
  pw = getpwuid (record->uid);
  record->user = pw ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", record->uid);
  g_ptr_array_add (entries, entry);
  g_cond_signal (&cond);
  g_mutex_unlock (&lock);
  return entry;
}

void
_orr_registry_admitted (OrrRegistryEntry *entry,
                        OrrJob           *job,
                        const char       *principal)
{
  g_autoptr(OrrRegistryRecord) copy = NULL;

  if (entry == NULL)
    return;
  g_mutex_lock (&write_lock);
  g_mutex_lock (&lock);
  g_clear_pointer (&entry->record->limits, orr_limits_free);
  entry->record->limits = orr_limits_copy (job->limits);
  if (principal)
    {
      g_free (entry->record->principal);
      entry->record->principal = g_strdup (principal);
    }
  entry->dirty = TRUE;
  copy = take_dirty (entry);
  g_mutex_unlock (&lock);
  write_copy (copy);
  g_mutex_unlock (&write_lock);
}

void
_orr_registry_update (OrrRegistryEntry *entry,
                      OrrJob           *job)
{
  OrrRegistryRecord *record;
  g_autoptr(OrrRegistryRecord) copy = NULL;
  g_autoptr(OrrJob) ended = NULL;
  g_autofree char *error = NULL;
  OrrJobState state;
  int pid;
  gboolean exited;

  if (entry == NULL)
    return;
  g_mutex_lock (&job->lock);
  state = job->state;
  pid = job->pid;
  exited = job->exited;
  if (job->error)
    error = first_line (job->error->message, MAX_ERROR_CHARS);
  g_mutex_unlock (&job->lock);

  /* One critical section from the change to the written file: once the job
   * ended, the registry's thread may free the entry after this. */
  g_mutex_lock (&write_lock);
  g_mutex_lock (&lock);
  record = entry->record;
  record->state = state;
  /* Past the queue, the job's pool is settled (this is the job's thread). */
  if (state >= ORR_JOB_FETCHING && record->limits == NULL)
    record->limits = orr_limits_copy (job->limits);
  if (state >= ORR_JOB_FETCHING && record->started_at == 0)
    record->started_at = g_get_real_time ();
  if (pid != 0 && pid != record->satellite_pid && !exited)
    {
      record->satellite_pid = pid;
      record->satellite_start = orr_process_get_start_time (pid);
    }
  record->rows_in = job->rows_in;
  record->rows_out = job->rows_out;
  if (state >= ORR_JOB_SUCCEEDED)
    {
      record->ended_at = g_get_real_time ();
      g_free (record->error);
      record->error = g_steal_pointer (&error);
      if (exited)
        {
          record->cpu_user_us = job->cpu_user_us;
          record->cpu_system_us = job->cpu_system_us;
          record->peak_memory_bytes = job->peak_memory_bytes;
          record->bytes_read = job->bytes_read;
          record->bytes_written = job->bytes_written;
        }
      entry->remove_at = g_get_monotonic_time () + ORR_REGISTRY_LINGER_MS * G_TIME_SPAN_MILLISECOND;
      ended = g_steal_pointer (&entry->job);
      g_cond_signal (&cond);
    }
  entry->dirty = TRUE;
  copy = take_dirty (entry);
  g_mutex_unlock (&lock);
  write_copy (copy);
  g_mutex_unlock (&write_lock);
}

/* ------------------------------------------------------------ cancel requests */

#define REQUEST_GROUP "cancel"
#define MAX_REQUEST_BYTES 4096
/* Without inotify, how often the engine looks for requests. */
#define REQUEST_POLL_MS 100
/* With inotify, a full look now and then all the same (a lost event). */
#define REQUEST_RESCAN_MS 1000
/* How long a job has been live before the engine starts watching. */
#define WATCH_DELAY_MS 100

/* The key in a request's name "cancel-<key>.<random>", or NULL. */
static char *
request_key (const char *name)
{
  const char *start;
  const char *dot;
  g_autofree char *key = NULL;

  if (!g_str_has_prefix (name, ORR_REGISTRY_CANCEL_PREFIX))
    return NULL;
  start = name + strlen (ORR_REGISTRY_CANCEL_PREFIX);
  dot = strchr (start, '.');
  if (dot == NULL || dot[1] == '\0')
    return NULL;
  key = g_strndup (start, dot - start);
  return orr_registry_is_key (key) ? g_steal_pointer (&key) : NULL;
}

gboolean
orr_registry_may_cancel (const OrrRegistryRecord  *record,
                         GError                  **error)
{
  uid_t me = geteuid ();

  if (me == 0 || me == record->uid)
    return TRUE;
  g_set_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED,
               /* Translators: a job's key, then its OS user. */
               _("Not permitted: job %s belongs to the user “%s”; only that user or root may cancel it"),
               record->key, record->user != NULL && *record->user ? record->user : "?");
  return FALSE;
}

gboolean
orr_registry_write_cancel_request (const char               *dir,
                                   const OrrRegistryRecord  *record,
                                   char                    **request,
                                   GError                  **error)
{
  g_autofree char *default_dir = dir == NULL ? orr_registry_dup_dir () : NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *data = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  const char *base;
  gsize length;
  gsize done = 0;
  int fd;

  if (dir == NULL)
    dir = default_dir;
  g_key_file_set_string (kf, REQUEST_GROUP, "key", record->key);
  g_key_file_set_uint64 (kf, REQUEST_GROUP, "engine-start", record->engine_start);
  g_key_file_set_integer (kf, REQUEST_GROUP, "requester-pid", getpid ());
  g_key_file_set_int64 (kf, REQUEST_GROUP, "requested", g_get_real_time ());
  data = g_key_file_to_data (kf, &length, NULL);

  /* Written under a dot name (which nobody reads), then renamed: the engine
   * only ever sees whole requests. The random part is the request's own. */
  tmp = g_strdup_printf ("%s/." ORR_REGISTRY_CANCEL_PREFIX "%s.XXXXXX", dir, record->key);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write a cancel request in “%s”: %s"),
                   dir, g_strerror (errsv));
      return FALSE;
    }
  fchmod (fd, 0644);
  while (done < length)
    {
      ssize_t n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = errno;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write a cancel request in “%s”: %s"),
                       dir, g_strerror (errsv));
          return FALSE;
        }
      done += n;
    }
  close (fd);
  base = strrchr (tmp, '/') + 2;
  path = g_build_filename (dir, base, NULL);
  if (g_rename (tmp, path) != 0)
    {
      int errsv = errno;
      g_unlink (tmp);
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot write a cancel request in “%s”: %s"),
                   dir, g_strerror (errsv));
      return FALSE;
    }
  if (request != NULL)
    *request = g_strdup (base);
  return TRUE;
}

gboolean
orr_registry_request_cancel (const char  *dir,
                             const char  *key,
                             char       **request,
                             GError     **error)
{
  g_autofree char *default_dir = dir == NULL ? orr_registry_dup_dir () : NULL;
  g_autoptr(OrrRegistryRecord) record = NULL;
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  int dir_fd;

  if (dir == NULL)
    dir = default_dir;
  if (key == NULL || !orr_registry_is_key (key))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a job: jobs are named ENGINE-PID-JOB-ID, as “orrery jobs” shows them"),
                   key != NULL ? key : "");
      return FALSE;
    }
  orr_registry_sweep_requests (dir);
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    {
      record = orr_registry_load (dir_fd, key, &st, &local_error);
      close (dir_fd);
    }
  if (record == NULL || orr_registry_check (record, &st) != ORR_REGISTRY_LIVE)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND,
                   _("No job %s runs on this host (“orrery jobs” lists those that do)"), key);
      return FALSE;
    }
  if (record->state >= ORR_JOB_SUCCEEDED)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND, _("Job %s has already ended (%s)"),
                   key, orr_job_state_to_string (record->state));
      return FALSE;
    }
  if (!orr_registry_may_cancel (record, error))
    return FALSE;
  return orr_registry_write_cancel_request (dir, record, request, error);
}

void
orr_registry_withdraw_cancel (const char *dir,
                              const char *request)
{
  g_autofree char *default_dir = dir == NULL ? orr_registry_dup_dir () : NULL;
  g_autofree char *path = NULL;
  g_autofree char *key = NULL;

  if (request == NULL || (key = request_key (request)) == NULL)
    return;
  path = g_build_filename (dir != NULL ? dir : default_dir, request, NULL);
  g_unlink (path);
}

/* Whether the job @key of the registry open as @dir_fd still lives. */
static gboolean
job_is_live (int dir_fd, const char *key)
{
  g_autoptr(OrrRegistryRecord) record = NULL;
  struct stat st;

  record = orr_registry_load (dir_fd, key, &st, NULL);
  return record != NULL && record->state < ORR_JOB_SUCCEEDED &&
         orr_registry_check (record, &st) == ORR_REGISTRY_LIVE;
}

guint
orr_registry_sweep_requests (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  guint removed = 0;
  int dir_fd;

  if (listing == NULL)
    return 0;
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return 0;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *key = request_key (name);

      /* Whose request it was does not matter: its job is over. Only the
       * request's owner (or root) may remove it from the sticky directory. */
      if (key != NULL && !job_is_live (dir_fd, key) && unlinkat (dir_fd, name, 0) == 0)
        removed++;
    }
  close (dir_fd);
  return removed;
}

/* The engine's side: a thread that watches the directory for requests that
 * name this engine's jobs. */


typedef enum {
  REQUEST_IGNORED,   /* not for a live job of this engine, or malformed */
  REQUEST_ACCEPTED,
  REQUEST_REFUSED,
} RequestVerdict;

/* Reads and judges the request @name of the directory open as @dir_fd;
 * @st receives its stat. @requester receives the requester's pid. */
static RequestVerdict
judge_request (int          dir_fd,
               const char  *name,
               const char  *key,
               guint64      engine_start,
               struct stat *st,
               int         *requester)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *named = NULL;
  char data[MAX_REQUEST_BYTES + 1];
  gsize done = 0;
  int fd;

  /* Not through a link: a symbolic link to one of our user's files would
   * otherwise pass for our user's request. */
  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return REQUEST_IGNORED;
  /* A hard link to another user's file (or one renamed from elsewhere) has
   * their owner but not their intent: a single link, a regular file. */
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode) || st->st_nlink != 1 ||
      st->st_size > MAX_REQUEST_BYTES)
    {
      close (fd);
      return REQUEST_IGNORED;
    }
  while (done < (gsize) st->st_size)
    {
      ssize_t n = read (fd, data + done, st->st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += n;
    }
  close (fd);
  data[done] = '\0';
  if (!g_key_file_load_from_data (kf, data, done, G_KEY_FILE_NONE, NULL))
    return REQUEST_IGNORED;
  /* What the requester wrote names the job and this very engine: a request
   * renamed from another job's (by the directory's owner) does not. */
  named = g_key_file_get_string (kf, REQUEST_GROUP, "key", NULL);
  if (g_strcmp0 (named, key) != 0 ||
      g_key_file_get_uint64 (kf, REQUEST_GROUP, "engine-start", NULL) != engine_start)
    return REQUEST_IGNORED;
  *requester = g_key_file_get_integer (kf, REQUEST_GROUP, "requester-pid", NULL);
  if (st->st_uid == 0 || st->st_uid == getuid () || st->st_uid == geteuid ())
    return REQUEST_ACCEPTED;
  return REQUEST_REFUSED;
}

static char *
user_name (uid_t uid)
{
  char buf[4096];
  struct passwd pwd;
  struct passwd *pw = NULL;

  if (getpwuid_r (uid, &pwd, buf, sizeof buf, &pw) == 0 && pw != NULL)
    return g_strdup (pw->pw_name);
  return g_strdup_printf ("%u", (guint) uid);
}

/* Handles the requests in the directory that name this engine's jobs. */
static void
scan_requests (void)
{
  g_autoptr(GDir) listing = g_dir_open (registry_dir, 0, NULL);
  g_autofree char *prefix = g_strdup_printf (ORR_REGISTRY_CANCEL_PREFIX "%d-", (int) getpid ());
  const char *name;
  int dir_fd;

  if (listing == NULL)
    return;
  dir_fd = open (registry_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *key = NULL;
      g_autofree char *seen = NULL;
      g_autoptr(OrrJob) job = NULL;
      guint64 engine_start = 0;
      RequestVerdict verdict;
      struct stat st = { 0 };
      int requester = 0;

      if (!g_str_has_prefix (name, prefix) || (key = request_key (name)) == NULL)
        continue;

      g_mutex_lock (&lock);
      for (guint i = 0; i < entries->len; i++)
        {
          OrrRegistryEntry *entry = g_ptr_array_index (entries, i);

          if (g_str_equal (entry->record->key, key))
            {
              engine_start = entry->record->engine_start;
              if (entry->job != NULL)
                job = g_object_ref (entry->job);
              break;
            }
        }
      g_mutex_unlock (&lock);

      verdict = judge_request (dir_fd, name, key, engine_start, &st, &requester);
      seen = g_strdup_printf ("%s:%" G_GUINT64_FORMAT, name, (guint64) st.st_ino);
      if (verdict != REQUEST_IGNORED && g_hash_table_contains (handled, seen))
        continue;
      if (job == NULL || verdict == REQUEST_IGNORED)
        {
          /* For a job that ended (or never was): nothing to do but tidy up,
           * where we may. A request that does not hold for a live job stays
           * until its job ends. */
          if (job == NULL)
            unlinkat (dir_fd, name, 0);
          continue;
        }
      if (verdict == REQUEST_ACCEPTED)
        {
          g_autofree char *who = user_name (st.st_uid);
          g_autofree char *text = NULL;

          text = g_strdup_printf (_("Cancel requested by the user “%s” (process %d) from another Orrery program"),
                                  who, requester);
          g_debug ("Job %s: %s", key, text);
          _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO, text);
          orr_job_cancel (job);
        }
      else
        {
          g_autofree char *who = user_name (st.st_uid);
          g_autofree char *owner = user_name (getuid ());
          g_autofree char *text = NULL;

          if (getuid () == 0)
            text = g_strdup_printf (_("A request by the user “%s” (process %d) to cancel this job was refused: "
                                      "not permitted, only root may cancel it"),
                                    who, requester);
          else
            text = g_strdup_printf (_("A request by the user “%s” (process %d) to cancel this job was refused: "
                                      "not permitted, only “%s” or root may cancel it"),
                                    who, requester, owner);
          g_debug ("Job %s: %s", key, text);
          _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO, text);
        }
      /* Handled: removed if we may (our user's), else remembered. */
      if (unlinkat (dir_fd, name, 0) != 0)
        g_hash_table_add (handled, g_steal_pointer (&seen));
    }
  close (dir_fd);
}

static gboolean
have_live_jobs (void)
{
  gboolean live = FALSE;

  g_mutex_lock (&lock);
  for (guint i = 0; i < entries->len && !live; i++)
    live = ((OrrRegistryEntry *) g_ptr_array_index (entries, i))->job != NULL;
  g_mutex_unlock (&lock);
  return live;
}

static gpointer
watch_thread_main (gpointer data)
{
  g_autofree char *prefix = g_strdup_printf (ORR_REGISTRY_CANCEL_PREFIX "%d-", (int) getpid ());
  int fd;

  /* Most jobs of a short-lived program (the CLI's trivial job) end within
   * tens of milliseconds, before anyone could ask to cancel them, and
   * setting up the watch walks every name the kernel caches for the shared
   * directory (milliseconds of CPU on a busy host). So the watch starts
   * once a job has been live for WATCH_DELAY_MS; the look that follows
   * finds any request written meanwhile. */
  do
    g_usleep (WATCH_DELAY_MS * 1000);
  while (!have_live_jobs ());
  fd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (fd >= 0 && inotify_add_watch (fd, registry_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    {
      close (fd);
      fd = -1;
    }
  if (fd < 0)
    g_debug ("No inotify on %s: looking for cancel requests every %d ms", registry_dir, REQUEST_POLL_MS);
  scan_requests ();

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      gboolean scan = FALSE;
      int n;

      n = poll (fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, fd >= 0 ? REQUEST_RESCAN_MS : REQUEST_POLL_MS);
      if (n < 0 && errno != EINTR)
        break;
      if (n > 0)
        {
          /* Every Orrery process on the host writes here: most events are
           * other engines' entries. */
          char buf[8192] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
          ssize_t len;

          while ((len = read (fd, buf, sizeof buf)) > 0)
            for (char *p = buf; p < buf + len; )
              {
                const struct inotify_event *ev = (const struct inotify_event *) (gpointer) p;

                if ((ev->mask & IN_Q_OVERFLOW) || (ev->len > 0 && g_str_has_prefix (ev->name, prefix)))
                  scan = TRUE;
                p += sizeof (struct inotify_event) + ev->len;
              }
        }
      else if (n == 0)
        scan = have_live_jobs ();
      if (scan)
        scan_requests ();
    }
  if (fd >= 0)
    close (fd);
  return NULL;
}
