/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-monitor"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-engine.h"
#include "orr-monitor.h"
#include "orr-registry.h"

#define MiB (1024.0 * 1024.0)
#define TMPFS_MAGIC_NUMBER 0x01021994
/* Python and pandas start slowly under AddressSanitizer on a loaded machine. */
#define START_TIMEOUT_MS 180000

static OrrEngine *engine;

/* ------------------------------------------------------------ helpers */

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Runs the main context (the monitor samples, job signals arrive) for @ms. */
static void
spin (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit_cb, loop);
  g_main_loop_run (loop);
}

static OrrRegistryRecord *
fake_record (guint64 job_id, int satellite_pid)
{
  OrrRegistryRecord *r = orr_registry_record_new ();

  r->engine_pid = getpid ();
  r->engine_start = orr_process_get_start_time (getpid ());
  r->job_id = job_id;
  r->key = g_strdup_printf ("%d-%" G_GUINT64_FORMAT, r->engine_pid, job_id);
  r->uid = getuid ();
  r->user = g_strdup (g_get_user_name ());
  r->limits = orr_limits_new ("fake");
  r->state = ORR_JOB_RUNNING;
  r->submitted_at = g_get_real_time ();
  r->started_at = r->submitted_at;
  r->satellite_pid = satellite_pid;
  r->satellite_start = orr_process_get_start_time (satellite_pid);
  r->script = g_strdup ("print('fake')");
  return r;
}

static void
count_cb (guint *counter)
{
  (*counter)++;
}

static void
new_process_group (gpointer data)
{
  setpgid (0, 0);
}

/* A shell in its own process group, so that its children go with it. */
static GSubprocess *
spawn_shell (const char *code)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  g_subprocess_launcher_set_child_setup (launcher, new_process_group, NULL, NULL);
  proc = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", code, NULL);
  g_assert_no_error (error);
  return proc;
}

static int
subprocess_pid (GSubprocess *proc)
{
  return atoi (g_subprocess_get_identifier (proc));
}

static void
stop_subprocess (GSubprocess *proc)
{
  kill (-subprocess_pid (proc), SIGKILL);
  g_subprocess_wait (proc, NULL, NULL);
}

/* CPU percent of one core over [@t0, @t1] (monotonic µs), from the
 * samples' rates, each holding over its interval; -1 if they cover less
 * than a second of it. */
static double
cpu_between (OrrMonitorJob *job, gint64 t0, gint64 t1)
{
  const OrrJobSample *prev = NULL;
  double busy = 0;
  gint64 covered = 0;

  for (guint i = 0; i < orr_monitor_job_get_n_samples (job); i++)
    {
      const OrrJobSample *s = orr_monitor_job_get_sample (job, i);

      if (prev && s->cpu_user_percent >= 0 && s->cpu_system_percent >= 0)
        {
          gint64 from = MAX (prev->time, t0), to = MIN (s->time, t1);

          if (to > from)
            {
              busy += (s->cpu_user_percent + s->cpu_system_percent) * (double) (to - from);
              covered += to - from;
            }
        }
      prev = s;
    }
  if (covered < G_USEC_PER_SEC)
    return -1;
  return busy / covered;
}

/* Time @pid spent on a CPU, from the scheduler (ns): a reference that
 * does not go through what the monitor reads. */
static gint64
schedstat_ns (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/schedstat", pid);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  return g_ascii_strtoll (text, NULL, 10);
}

static int
find_child (int parent)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/stat", name);
      g_autofree char *text = NULL;
      const char *p;

      if (!g_ascii_isdigit (*name) || !g_file_get_contents (path, &text, NULL, NULL))
        continue;
      p = strrchr (text, ')');
      if (p && atoi (p + 4) == parent)
        return atoi (name);
    }
  return 0;
}

/* The machine may be busy with other work: a job "burning one core" gets
 * what the scheduler gives it. Its reading must match what it got (from
 * the job's own account), and that is 100 % on an idle machine. */
static void
assert_cpu_matches (double cpu, double reference, double expected)
{
  g_test_message ("CPU: monitor %.1f %%, reference %.1f %% (%.0f %% on an idle machine)", cpu, reference, expected);
  if (reference < expected / 5)
    {
      g_test_skip ("The machine is too busy for the job to burn a core");
      return;
    }
  g_assert_cmpfloat (cpu, >=, reference - 10);
  g_assert_cmpfloat (cpu, <=, reference + 10);
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The median of a field of the samples taken between @t0 and @t1. */
static gint64
median_between (OrrMonitorJob *job, gint64 t0, gint64 t1, gsize offset)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < orr_monitor_job_get_n_samples (job); i++)
    {
      const OrrJobSample *s = orr_monitor_job_get_sample (job, i);
      gint64 v = G_STRUCT_MEMBER (gint64, s, offset);

      if (s->time >= t0 && s->time <= t1 && v >= 0)
        g_array_append_val (values, v);
    }
  if (values->len == 0)
    return -1;
  g_array_sort (values, compare_gint64);
  return g_array_index (values, gint64, values->len / 2);
}

/* ------------------------------------------------------------ without a database */

static void
test_ring_bounded (void)
{
  g_autoptr(OrrRing) ring = orr_ring_new (sizeof (guint64), 2400);

  g_test_summary ("A ring keeps its capacity's newest elements, in order, however many are pushed");
  for (guint64 i = 0; i < 100000; i++)
    *(guint64 *) orr_ring_push (ring) = i;
  g_assert_cmpuint (orr_ring_get_length (ring), ==, 2400);
  g_assert_cmpuint (orr_ring_get_n_pushed (ring), ==, 100000);
  g_assert_cmpuint (*(const guint64 *) orr_ring_get (ring, 0), ==, 100000 - 2400);
  g_assert_cmpuint (*(const guint64 *) orr_ring_get (ring, 1234), ==, 100000 - 2400 + 1234);
  g_assert_cmpuint (*(const guint64 *) orr_ring_get_last (ring), ==, 99999);
  g_assert_null (orr_ring_get (ring, 2400));
  orr_ring_clear (ring);
  g_assert_cmpuint (orr_ring_get_length (ring), ==, 0);
  g_assert_null (orr_ring_get_last (ring));
}

static void
test_registry_format (void)
{
  g_autoptr(OrrRegistryRecord) r = fake_record (7, getpid ());
  g_autoptr(OrrRegistryRecord) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;

  g_test_summary ("A registry entry survives writing and parsing; malformed ones are refused");
  g_free (r->principal);
  r->principal = g_strdup ("analyst \"é\"\nsecond line");
  r->limits->max_memory_bytes = G_GUINT64_CONSTANT (1) << 33;
  r->limits->cpus = g_strdup ("0-1");
  r->rows_in = 123456789012;
  data = orr_registry_record_to_data (r, &len);
  back = orr_registry_record_parse (data, len, &error);
  g_assert_no_error (error);
  g_assert_true (orr_registry_record_equal (r, back));
  g_assert_cmpstr (back->principal, ==, r->principal);
  g_assert_cmpuint (back->limits->max_memory_bytes, ==, G_GUINT64_CONSTANT (1) << 33);

  g_clear_pointer (&back, orr_registry_record_free);
  back = orr_registry_record_parse ("[job]\nformat=1\nkey=../etc\n", strlen ("[job]\nformat=1\nkey=../etc\n"), &error);
  g_assert_null (back);
  g_assert_nonnull (error);
  g_clear_error (&error);
  back = orr_registry_record_parse ("[job]\nformat=99\n", strlen ("[job]\nformat=99\n"), &error);
  g_assert_null (back);
  g_assert_nonnull (error);
  g_assert_true (orr_registry_is_key ("123-4"));
  g_assert_false (orr_registry_is_key (".123-4.XXXXXX"));
  g_assert_false (orr_registry_is_key ("123-"));
  g_assert_false (orr_registry_is_key ("-4"));
}

typedef struct {
  char *dir;
  OrrMonitor *monitor;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("orrery-registry-XXXXXX", &error);
  g_assert_no_error (error);
  f->monitor = orr_monitor_new_for_directory (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  g_clear_object (&f->monitor);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
entry_path (Fixture *f, const OrrRegistryRecord *r)
{
  return g_build_filename (f->dir, r->key, NULL);
}

static void
test_stale (Fixture *f, gconstpointer data)
{
  g_autoptr(GSubprocess) sleeper = spawn_shell ("exec sleep 60");
  g_autoptr(OrrRegistryRecord) live = fake_record (1, subprocess_pid (sleeper));
  g_autoptr(OrrRegistryRecord) dead = fake_record (2, subprocess_pid (sleeper));
  g_autoptr(OrrRegistryRecord) reused = fake_record (3, subprocess_pid (sleeper));
  g_autoptr(OrrRegistryRecord) forged = fake_record (4, subprocess_pid (sleeper));
  g_autoptr(GError) error = NULL;
  g_autofree char *dead_path = NULL;
  g_autofree char *reused_path = NULL;
  g_autofree char *forged_path = NULL;
  g_autoptr(GPtrArray) jobs = NULL;
  pid_t child;

  g_test_summary ("Entries of dead engines (or of a pid now another process's) are ignored and removed; "
                  "entries another user wrote for an engine not theirs are ignored");

  /* A pid that was an engine's and is no process now. */
  child = fork ();
  if (child == 0)
    _exit (0);
  g_assert_cmpint (waitpid (child, NULL, 0), ==, child);
  dead->engine_pid = child;
  g_free (dead->key);
  dead->key = g_strdup_printf ("%d-2", child);
  /* Our pid, but another start time: a previous process that had our pid. */
  reused->engine_start += 12345;

  orr_registry_write (f->dir, live, &error);
  g_assert_no_error (error);
  orr_registry_write (f->dir, dead, &error);
  g_assert_no_error (error);
  orr_registry_write (f->dir, reused, &error);
  g_assert_no_error (error);
  orr_registry_write (f->dir, forged, &error);
  g_assert_no_error (error);
  forged_path = entry_path (f, forged);
  if (getuid () == 0)
    g_assert_cmpint (chown (forged_path, 65534, 65534), ==, 0);

  orr_monitor_refresh (f->monitor);
  jobs = orr_monitor_dup_jobs (f->monitor);
  g_assert_nonnull (orr_monitor_lookup_job (f->monitor, live->key));
  g_assert_null (orr_monitor_lookup_job (f->monitor, dead->key));
  g_assert_null (orr_monitor_lookup_job (f->monitor, reused->key));
  dead_path = entry_path (f, dead);
  reused_path = entry_path (f, reused);
  g_assert_false (g_file_test (dead_path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (reused_path, G_FILE_TEST_EXISTS));
  if (getuid () == 0)
    {
      /* Written by nobody for our engine: not believed, not removed. */
      g_assert_null (orr_monitor_lookup_job (f->monitor, forged->key));
      g_assert_true (g_file_test (forged_path, G_FILE_TEST_EXISTS));
      g_assert_cmpuint (jobs->len, ==, 1);
    }
  stop_subprocess (sleeper);
}

static void
test_dismissed_stays_gone (Fixture *f, gconstpointer data)
{
  g_autoptr(GSubprocess) sleeper = spawn_shell ("exec sleep 60");
  g_autoptr(OrrRegistryRecord) ended = fake_record (1, subprocess_pid (sleeper));
  g_autoptr(OrrRegistryRecord) again = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A finished job dismissed (Clear Finished) does not come back while its entry lingers; "
                  "a new entry under the same name (another engine that reused the pid) does");

  /* Ended, its engine (this process) alive: the entry lingers. */
  ended->state = ORR_JOB_SUCCEEDED;
  ended->ended_at = g_get_real_time ();
  orr_registry_write (f->dir, ended, &error);
  g_assert_no_error (error);
  orr_monitor_refresh (f->monitor);
  g_assert_nonnull (orr_monitor_lookup_job (f->monitor, ended->key));
  orr_monitor_dismiss_finished (f->monitor);
  g_assert_null (orr_monitor_lookup_job (f->monitor, ended->key));
  for (guint i = 0; i < 3; i++)
    {
      spin (50);
      orr_monitor_refresh (f->monitor);
      g_assert_null (orr_monitor_lookup_job (f->monitor, ended->key));
    }

  /* The same name, rewritten: a job to show. */
  again = orr_registry_record_copy (ended);
  again->state = ORR_JOB_RUNNING;
  again->ended_at = 0;
  orr_registry_write (f->dir, again, &error);
  g_assert_no_error (error);
  orr_monitor_refresh (f->monitor);
  g_assert_nonnull (orr_monitor_lookup_job (f->monitor, again->key));
  stop_subprocess (sleeper);
}

static void
test_fake_job_sampled (Fixture *f, gconstpointer data)
{
  g_autoptr(GSubprocess) sleeper = spawn_shell ("exec sleep 60");
  g_autoptr(OrrRegistryRecord) r = fake_record (1, subprocess_pid (sleeper));
  g_autoptr(GError) error = NULL;
  OrrMonitorJob *job;
  OrrMonitorPool *pool;
  const OrrJobSample *s;
  guint added = 0, finished = 0, removed = 0;

  g_test_summary ("A registered job is sampled from /proc when it has no cgroup; it finishes when its "
                  "entry says so, keeps its series until dismissed, and counts in its pool");
  orr_registry_write (f->dir, r, &error);
  g_assert_no_error (error);
  g_signal_connect_swapped (f->monitor, "job-added", G_CALLBACK (count_cb), &added);
  g_signal_connect_swapped (f->monitor, "job-finished", G_CALLBACK (count_cb), &finished);
  g_signal_connect_swapped (f->monitor, "job-removed", G_CALLBACK (count_cb), &removed);

  orr_monitor_refresh (f->monitor);
  g_usleep (300 * 1000);
  orr_monitor_refresh (f->monitor);
  job = orr_monitor_lookup_job (f->monitor, r->key);
  g_assert_nonnull (job);
  g_assert_cmpuint (added, ==, 1);
  g_assert_cmpstr (orr_monitor_job_get_source (job), ==, "proc");
  g_assert_cmpstr (orr_monitor_job_get_pool (job), ==, "fake");
  g_assert_cmpuint (orr_monitor_job_get_n_samples (job), ==, 2);
  s = orr_monitor_job_get_last_sample (job);
  g_assert_cmpuint (s->processes, ==, 1);
  g_assert_cmpuint (s->threads, ==, 1);
  g_assert_cmpint (s->memory_bytes, >, 0);
  g_assert_cmpfloat (s->cpu_user_percent + s->cpu_system_percent, <, 5);
  pool = orr_monitor_lookup_pool (f->monitor, "fake");
  g_assert_nonnull (pool);
  g_assert_cmpuint (orr_monitor_pool_get_running (pool), ==, 1);
  g_assert_cmpint (orr_monitor_pool_get_memory_bytes (pool), ==, s->memory_bytes);

  r->state = ORR_JOB_SUCCEEDED;
  r->ended_at = g_get_real_time ();
  orr_registry_write (f->dir, r, &error);
  g_assert_no_error (error);
  orr_monitor_refresh (f->monitor);
  g_assert_true (orr_monitor_job_is_finished (job));
  g_assert_false (orr_monitor_job_is_lost (job));
  g_assert_cmpint (orr_monitor_job_get_state (job), ==, ORR_JOB_SUCCEEDED);
  g_assert_cmpuint (finished, ==, 1);
  g_assert_cmpuint (orr_monitor_pool_get_running (pool), ==, 0);
  g_assert_cmpuint (orr_monitor_pool_get_n_jobs_seen (pool), ==, 1);

  /* Its file goes; the job and its series stay until dismissed. */
  {
    g_autofree char *path = entry_path (f, r);
    g_unlink (path);
  }
  orr_monitor_refresh (f->monitor);
  g_assert_true (orr_monitor_lookup_job (f->monitor, r->key) == job);
  g_assert_cmpuint (orr_monitor_job_get_n_samples (job), ==, 2);
  orr_monitor_dismiss_finished (f->monitor);
  g_assert_null (orr_monitor_lookup_job (f->monitor, r->key));
  g_assert_cmpuint (removed, ==, 1);
  stop_subprocess (sleeper);
}

static void
test_foreign_satellite (Fixture *f, gconstpointer data)
{
  g_autoptr(OrrRegistryRecord) r = fake_record (1, 1);
  g_autoptr(GError) error = NULL;
  OrrMonitorJob *job;

  g_test_summary ("An entry whose satellite is not its engine's descendant (here: init) is shown, "
                  "but that process is not sampled as the job");
  orr_registry_write (f->dir, r, &error);
  g_assert_no_error (error);
  orr_monitor_refresh (f->monitor);
  orr_monitor_refresh (f->monitor);
  job = orr_monitor_lookup_job (f->monitor, r->key);
  g_assert_nonnull (job);
  g_assert_cmpuint (orr_monitor_job_get_n_samples (job), ==, 0);
}

static void
test_fake_job_cpu (Fixture *f, gconstpointer data)
{
  /* A shell that waits for a child that burns one core (for 30 s at most:
   * nothing outlives a failed test for long). */
  g_autoptr(GSubprocess) burner =
    spawn_shell (ORRERY_PYTHON " -c 'import time\nend = time.time() + 30\nwhile time.time() < end: pass' & wait");
  g_autoptr(OrrRegistryRecord) r = fake_record (1, subprocess_pid (burner));
  g_autoptr(GError) error = NULL;
  OrrMonitorJob *job;
  const OrrJobSample *s;
  gint64 t0, t1, ref0, ref1;
  int child = 0;

  g_test_summary ("From /proc, a job whose child burns one core reads the CPU the child got (100 % on an "
                  "idle machine) within 10 points over 2.5 s, with both processes counted");
  orr_registry_write (f->dir, r, &error);
  g_assert_no_error (error);
  orr_monitor_start (f->monitor);
  for (int i = 0; i < 100 && child == 0; i++)
    {
      spin (20);
      child = find_child (subprocess_pid (burner));
    }
  g_assert_cmpint (child, >, 0);
  /* Once the monitor follows both processes (it looks for new ones every
   * 2 s; what a process used before it was found is in the totals only). */
  job = orr_monitor_lookup_job (f->monitor, r->key);
  g_assert_nonnull (job);
  for (int i = 0; i < 200; i++)
    {
      s = orr_monitor_job_get_last_sample (job);
      if (s && s->processes == 2)
        break;
      spin (50);
    }
  spin (500);
  t0 = g_get_monotonic_time ();
  ref0 = schedstat_ns (child);
  spin (2500);
  t1 = g_get_monotonic_time ();
  ref1 = schedstat_ns (child);
  orr_monitor_stop (f->monitor);
  s = orr_monitor_job_get_last_sample (job);
  g_assert_nonnull (s);
  g_assert_cmpuint (s->processes, ==, 2);
  assert_cpu_matches (cpu_between (job, t0, t1), (ref1 - ref0) / (double) (t1 - t0) / 10.0, 100);
  stop_subprocess (burner);
}

static void
test_series_bounded (Fixture *f, gconstpointer data)
{
  g_autoptr(GSubprocess) sleeper = spawn_shell ("exec sleep 60");
  g_autoptr(OrrRegistryRecord) r = fake_record (1, subprocess_pid (sleeper));
  g_autoptr(GError) error = NULL;
  OrrMonitorJob *job;
  OrrMonitorPool *pool;
  guint capacity = orr_monitor_get_capacity (f->monitor);
  gint64 previous = 0;

  g_test_summary ("At the default rate a job keeps at least 10 minutes of samples, and no more than its "
                  "ring holds however long it runs");
  g_assert_cmpuint (orr_monitor_get_interval (f->monitor), ==, 250);
  g_assert_cmpuint (capacity, >=, 10 * 60 * 4);
  orr_registry_write (f->dir, r, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < capacity + 1000; i++)
    orr_monitor_refresh (f->monitor);
  job = orr_monitor_lookup_job (f->monitor, r->key);
  g_assert_nonnull (job);
  g_assert_cmpuint (orr_monitor_job_get_n_samples (job), ==, capacity);
  pool = orr_monitor_lookup_pool (f->monitor, "fake");
  g_assert_cmpuint (orr_monitor_pool_get_n_samples (pool), ==, capacity);
  for (guint i = 0; i < capacity; i++)
    {
      const OrrJobSample *s = orr_monitor_job_get_sample (job, i);

      g_assert_cmpint (s->time, >=, previous);
      previous = s->time;
    }
  stop_subprocess (sleeper);
}

/* ------------------------------------------------------------ real jobs */

static OrrConnection *
connect_or_skip (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;

  if (dsn == NULL || *dsn == '\0')
    {
      g_test_skip ("ORRERY_TEST_SQLITE_DSN is not set: run the suite with tools/test.sh");
      return NULL;
    }
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  catalog = orr_catalog_new (conn);
  orr_catalog_enable (catalog, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&conn);
}

typedef struct {
  GString *out;
  gint64 seen[8];
  const char *marks[8];
} Messages;

static void
on_message (OrrJob *job, guint kind, const char *text, Messages *m)
{
  g_string_append (m->out, text);
  for (guint i = 0; i < G_N_ELEMENTS (m->marks) && m->marks[i]; i++)
    if (m->seen[i] == 0 && strstr (m->out->str, m->marks[i]))
      m->seen[i] = g_get_monotonic_time ();
}

/* Waits for the script to print @marks[i]; FALSE if the job ended first. */
static gboolean
wait_mark (OrrJob *job, Messages *m, guint i)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  while (m->seen[i] == 0)
    {
      if (orr_job_is_finished (job) || g_get_monotonic_time () > deadline)
        {
          const GError *error = orr_job_get_error (job);

          g_test_message ("the script did not print “%s”: %s\n%s", m->marks[i],
                          error ? error->message : "timeout", m->out->str);
          return FALSE;
        }
      spin (20);
    }
  return TRUE;
}

static OrrJob *
submit (OrrConnection *conn, const char *script, Messages *m)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  OrrJob *job;

  spec->script = g_strdup (script);
  job = orr_engine_submit (engine, conn, spec);
  if (m)
    {
      m->out = g_string_new (NULL);
      g_signal_connect (job, "message", G_CALLBACK (on_message), m);
    }
  return job;
}

static void
finish (OrrJob *job, Messages *m)
{
  orr_job_cancel (job);
  orr_job_wait (job);
  spin (50);
  if (m)
    g_string_free (m->out, TRUE);
}

static char *
job_key (OrrJob *job)
{
  return g_strdup_printf ("%d-%" G_GUINT64_FORMAT, getpid (), orr_job_get_id (job));
}

typedef struct {
  gint64 arrived;     /* test's monotonic clock */
  double script_now;  /* the script's monotonic clock, s */
  double script_cpu;  /* the script's process_time(), s */
} Mark;

static void
on_mark (OrrJob *job, guint kind, const char *text, GArray *marks)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      Mark m = { g_get_monotonic_time (), 0, 0 };

      if (sscanf (lines[i], "mark %lf %lf", &m.script_now, &m.script_cpu) == 2)
        g_array_append_val (marks, m);
    }
}

static void
test_job_cpu (void)
{
  g_autoptr(OrrConnection) conn = connect_or_skip ();
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GArray) marks = g_array_new (FALSE, FALSE, sizeof (Mark));
  g_autofree char *key = NULL;
  Messages m = { .marks = { "burning" } };
  OrrMonitorJob *mjob;
  const OrrLimits *limits;
  double expected = 100;
  const Mark *a, *b;

  g_test_summary ("A job burning one core reads the CPU it got by its own account (100 % on an idle "
                  "machine, or its pool's cap) within 10 points over 2.5 s");
  if (conn == NULL)
    return;
  monitor = orr_monitor_new ();
  orr_monitor_start (monitor);
  /* Marks every half second: the script's clock and CPU time. */
  job = submit (conn,
                "import time\n"
                "print('burning', flush=True)\n"
                "start = time.monotonic()\n"
                "end, mark = start + 9, start + 1\n"
                "while True:\n"
                "    now = time.monotonic()\n"
                "    if now >= end:\n"
                "        break\n"
                "    if now >= mark:\n"
                "        print('mark %.6f %.6f' % (now, time.process_time()), flush=True)\n"
                "        mark += 0.5\n", &m);
  g_signal_connect (job, "message", G_CALLBACK (on_mark), marks);
  if (!wait_mark (job, &m, 0))
    g_assert_not_reached ();
  while (marks->len < 7 && !orr_job_is_finished (job))
    spin (50);
  g_assert_cmpuint (marks->len, >=, 7);
  /* From the second mark (the job is well started) over 2.5 s. */
  a = &g_array_index (marks, Mark, 1);
  b = &g_array_index (marks, Mark, 6);
  key = job_key (job);
  mjob = orr_monitor_lookup_job (monitor, key);
  g_assert_nonnull (mjob);
  limits = orr_monitor_job_get_limits (mjob);
  if (limits && limits->max_cpu_percent > 0)
    expected = MIN (100.0, limits->max_cpu_percent * g_get_num_processors ());
  g_test_message ("from %s, pool %s", orr_monitor_job_get_source (mjob), orr_monitor_job_get_pool (mjob));
  /* time.monotonic() is this process's monotonic clock too. */
  assert_cpu_matches (cpu_between (mjob, (gint64) (a->script_now * G_USEC_PER_SEC),
                                   (gint64) (b->script_now * G_USEC_PER_SEC)),
                      (b->script_cpu - a->script_cpu) / (b->script_now - a->script_now) * 100, expected);
  g_assert_cmpuint (orr_monitor_job_get_last_sample (mjob)->processes, >=, 1);
  finish (job, &m);
}

static void
test_job_memory (void)
{
  g_autoptr(OrrConnection) conn = connect_or_skip ();
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *key = NULL;
  Messages m = { .marks = { "baseline", "holding" } };
  OrrMonitorJob *mjob;
  const OrrLimits *limits;
  gint64 base, held, t0;
  double delta;

  g_test_summary ("A job holding 200 MiB more reads 200 MiB more memory, within ±10 %");
  if (conn == NULL)
    return;
  monitor = orr_monitor_new ();
  orr_monitor_start (monitor);
  job = submit (conn,
                "import time\n"
                "print('baseline', flush=True)\n"
                "time.sleep(3)\n"
                "x = b'\\x01' * (200 << 20)\n"
                "print('holding', flush=True)\n"
                "time.sleep(5)\n", &m);
  if (!wait_mark (job, &m, 0))
    g_assert_not_reached ();
  key = job_key (job);
  spin (700);
  t0 = g_get_monotonic_time ();
  spin (1500);
  mjob = orr_monitor_lookup_job (monitor, key);
  g_assert_nonnull (mjob);
  limits = orr_monitor_job_get_limits (mjob);
  if (limits && limits->max_memory_bytes > 0 && limits->max_memory_bytes < 400 << 20)
    {
      g_test_skip ("The default pool's memory limit is below 400 MiB");
      finish (job, &m);
      return;
    }
  base = median_between (mjob, t0, g_get_monotonic_time (), G_STRUCT_OFFSET (OrrJobSample, memory_bytes));
  if (!wait_mark (job, &m, 1))
    g_assert_not_reached ();
  spin (700);
  t0 = g_get_monotonic_time ();
  spin (2000);
  held = median_between (mjob, t0, g_get_monotonic_time (), G_STRUCT_OFFSET (OrrJobSample, memory_bytes));
  delta = (held - base) / MiB;
  g_test_message ("memory %.1f MiB → %.1f MiB: +%.1f MiB (from %s)", base / MiB, held / MiB, delta,
                  orr_monitor_job_get_source (mjob));
  g_assert_cmpint (base, >, 0);
  g_assert_cmpfloat (delta, >=, 180);
  g_assert_cmpfloat (delta, <=, 220);
  g_assert_cmpint (orr_monitor_job_get_last_sample (mjob)->memory_peak_bytes, >=, held);
  finish (job, &m);
}

static void
test_job_io (void)
{
  g_autoptr(OrrConnection) conn = connect_or_skip ();
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *key = NULL;
  g_autofree char *cwd = NULL;
  Messages m = { .marks = { "cwd=", "written" } };
  OrrMonitorJob *mjob;
  const OrrJobSample *s;
  struct statfs fs;
  gint64 before, after;
  double delta;
  const char *p;

  g_test_summary ("A job writing 50 MiB to a file in its directory (and fsync) reads 50 MiB written, "
                  "within ±10 %");
  if (conn == NULL)
    return;
  monitor = orr_monitor_new ();
  orr_monitor_start (monitor);
  job = submit (conn,
                "import os, time\n"
                "print('cwd=' + os.getcwd() + '|', flush=True)\n"
                "time.sleep(2)\n"
                "chunk = b'\\x02' * (1 << 20)\n"
                "try:\n"
                "    with open('orrery-monitor-io.bin', 'wb') as f:\n"
                "        for _ in range(50):\n"
                "            f.write(chunk)\n"
                "        f.flush()\n"
                "        os.fsync(f.fileno())\n"
                "    print('written', flush=True)\n"
                "    time.sleep(3)\n"
                "finally:\n"
                "    os.unlink('orrery-monitor-io.bin')\n", &m);
  if (!wait_mark (job, &m, 0))
    g_assert_not_reached ();
  p = strstr (m.out->str, "cwd=") + 4;
  cwd = g_strndup (p, strcspn (p, "|"));
  key = job_key (job);
  /* Bytes written to a tmpfs never reach storage: nothing honest to count. */
  if (statfs (cwd, &fs) != 0 || fs.f_type == TMPFS_MAGIC_NUMBER)
    {
      g_autofree char *why = g_strdup_printf ("The job's directory %s is on tmpfs (or not visible here): "
                                              "its writes are not storage I/O", cwd);
      g_test_skip (why);
      finish (job, &m);
      return;
    }
  spin (700);
  mjob = orr_monitor_lookup_job (monitor, key);
  g_assert_nonnull (mjob);
  s = orr_monitor_job_get_last_sample (mjob);
  g_assert_nonnull (s);
  before = s->written_bytes;
  if (!wait_mark (job, &m, 1))
    g_assert_not_reached ();
  spin (1000);
  s = orr_monitor_job_get_last_sample (mjob);
  after = s->written_bytes;
  delta = (after - before) / MiB;
  g_test_message ("written %.2f MiB → %.2f MiB: +%.2f MiB in %s (from %s)", before / MiB, after / MiB, delta,
                  cwd, orr_monitor_job_get_source (mjob));
  g_assert_cmpint (before, >=, 0);
  g_assert_cmpfloat (delta, >=, 45);
  g_assert_cmpfloat (delta, <=, 55);
  finish (job, &m);
  /* Without isolation the job wrote in our own directory: leave nothing. */
  {
    g_autofree char *file = g_build_filename (cwd, "orrery-monitor-io.bin", NULL);
    g_unlink (file);
  }
}

typedef struct {
  int status;
  char *out;
  char *err;
} CliResult;

static void
cli_result_clear (CliResult *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

static GSubprocessLauncher *
cli_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  return launcher;
}

static void
run_cli (CliResult *r, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  va_list ap;

  g_ptr_array_add (argv, (char *) g_getenv ("ORRERY_CLI"));
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("status %d\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
}

static void
test_cli_sees_our_job (void)
{
  g_autoptr(OrrConnection) conn = connect_or_skip ();
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(OrrJob) job2 = NULL;
  g_autofree char *key = NULL;
  g_autofree char *id = NULL;
  g_autofree char *pool = NULL;
  g_autofree char *pool_json = NULL;
  g_autofree char *pool_row = NULL;
  g_auto(CliResult) json = { 0 };
  g_auto(CliResult) table = { 0 };
  g_auto(CliResult) watch = { 0 };
  g_auto(CliResult) pools = { 0 };
  Messages m = { .marks = { "sleeping" } };
  Messages m2 = { .marks = { "sleeping" } };
  const char *script = "import time\nprint('sleeping', flush=True)\ntime.sleep(30)\n";

  g_test_summary ("`orrery jobs`, `orrery jobs --watch` (not on a terminal) and `orrery pools`, other "
                  "processes, show the jobs this process runs");
  if (conn == NULL)
    return;
  if (g_getenv ("ORRERY_CLI") == NULL)
    {
      g_test_skip ("ORRERY_CLI is not set");
      return;
    }
  job = submit (conn, script, &m);
  if (!wait_mark (job, &m, 0))
    g_assert_not_reached ();
  {
    g_autoptr(OrrConnection) conn2 = connect_or_skip ();

    job2 = submit (conn2, script, &m2);
    if (!wait_mark (job2, &m2, 0))
      g_assert_not_reached ();
  }
  key = job_key (job);
  id = g_strdup_printf ("\"id\": \"%s\"", key);

  /* Our jobs run in the pool our principal has (other tests may have put
   * it in one): ask our own monitor which. */
  {
    g_autoptr(OrrMonitor) monitor = orr_monitor_new ();
    OrrMonitorJob *mjob;

    orr_monitor_refresh (monitor);
    mjob = orr_monitor_lookup_job (monitor, key);
    g_assert_nonnull (mjob);
    g_assert_nonnull (orr_monitor_job_get_pool (mjob));
    pool = g_strdup (orr_monitor_job_get_pool (mjob));
  }
  pool_json = g_strdup_printf ("\"pool\": \"%s\"", pool);
  pool_row = g_strdup_printf ("\r\n%s,", pool);

  run_cli (&json, "jobs", "--format", "json", NULL);
  g_assert_cmpint (json.status, ==, 0);
  g_assert_nonnull (strstr (json.out, id));
  g_assert_nonnull (strstr (json.out, "\"state\": \"running\""));
  g_assert_nonnull (strstr (json.out, pool_json));

  run_cli (&table, "jobs", NULL);
  g_assert_cmpint (table.status, ==, 0);
  g_assert_true (g_str_has_prefix (table.out, "ID "));
  g_assert_nonnull (strstr (table.out, key));

  run_cli (&watch, "jobs", "--watch", "--count", "2", "--interval", "0.2", NULL);
  g_assert_cmpint (watch.status, ==, 0);
  g_assert_nonnull (strstr (watch.out, key));
  g_assert_nonnull (strstr (strstr (watch.out, "orrery jobs — ") + 1, "orrery jobs — "));

  run_cli (&pools, "pools", "--format", "csv", NULL);
  g_assert_cmpint (pools.status, ==, 0);
  g_assert_true (g_str_has_prefix (pools.out, "pool,running,queued,"));
  /* Both our jobs run in that pool (other jobs of this host may too). */
  g_assert_nonnull (strstr (pools.out, pool_row));
  g_assert_cmpint (atoi (strstr (pools.out, pool_row) + strlen (pool_row)), >=, 2);
  finish (job, &m);
  finish (job2, &m2);
}

static void
test_job_of_another_process (void)
{
  g_autoptr(OrrConnection) conn = connect_or_skip ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) cli = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(OrrMonitorJob) seen = NULL;
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  const char *cli_path = g_getenv ("ORRERY_CLI");
  int cli_pid;
  gint64 deadline;
  guint finished = 0;

  g_test_summary ("A job that `orrery run` starts in another process is seen running, sampled, and "
                  "seen cancelled when that process is interrupted");
  if (conn == NULL)
    return;
  if (cli_path == NULL)
    {
      g_test_skip ("ORRERY_CLI is not set");
      return;
    }
  launcher = cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  cli = g_subprocess_launcher_spawn (launcher, &error, cli_path, strchr (dsn, '=') ? "--connection" : "--dsn", dsn,
                                     "run", "-e", "import time\ntime.sleep(60)\n", NULL);
  g_assert_no_error (error);
  cli_pid = subprocess_pid (cli);

  monitor = orr_monitor_new ();
  g_signal_connect_swapped (monitor, "job-finished", G_CALLBACK (count_cb), &finished);
  orr_monitor_start (monitor);
  deadline = g_get_monotonic_time () + START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (seen == NULL && g_get_monotonic_time () < deadline)
    {
      g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);

      for (guint i = 0; i < jobs->len; i++)
        {
          OrrMonitorJob *j = g_ptr_array_index (jobs, i);

          if (orr_monitor_job_get_engine_pid (j) == cli_pid &&
              orr_monitor_job_get_state (j) == ORR_JOB_RUNNING && orr_monitor_job_get_n_samples (j) >= 2)
            seen = g_object_ref (j);
        }
      spin (100);
    }
  g_assert_nonnull (seen);
  g_assert_cmpint (orr_monitor_job_get_satellite_pid (seen), >, 0);
  g_assert_nonnull (orr_monitor_job_get_pool (seen));
  g_assert_false (orr_monitor_job_is_finished (seen));

  /* Ctrl+C: the CLI cancels its job, says so in the registry, and exits. */
  g_subprocess_send_signal (cli, SIGINT);
  g_subprocess_wait (cli, NULL, &error);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!orr_monitor_job_is_finished (seen) && g_get_monotonic_time () < deadline)
    spin (100);
  g_assert_true (orr_monitor_job_is_finished (seen));
  g_assert_false (orr_monitor_job_is_lost (seen));
  g_assert_cmpint (orr_monitor_job_get_state (seen), ==, ORR_JOB_CANCELLED);
  g_assert_cmpuint (finished, >=, 1);
  g_assert_cmpint (orr_monitor_job_get_cpu_time_ns (seen), >=, 0);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  engine = orr_engine_new ();

  g_test_add_func ("/Orr/Monitor/ring-bounded", test_ring_bounded);
  g_test_add_func ("/Orr/Monitor/registry-format", test_registry_format);
  g_test_add ("/Orr/Monitor/stale-entries", Fixture, NULL, fixture_setup, test_stale, fixture_teardown);
  g_test_add ("/Orr/Monitor/dismissed-stays-gone", Fixture, NULL, fixture_setup, test_dismissed_stays_gone, fixture_teardown);
  g_test_add ("/Orr/Monitor/fake-job", Fixture, NULL, fixture_setup, test_fake_job_sampled, fixture_teardown);
  g_test_add ("/Orr/Monitor/foreign-satellite", Fixture, NULL, fixture_setup, test_foreign_satellite, fixture_teardown);
  g_test_add ("/Orr/Monitor/fake-job-cpu", Fixture, NULL, fixture_setup, test_fake_job_cpu, fixture_teardown);
  g_test_add ("/Orr/Monitor/series-bounded", Fixture, NULL, fixture_setup, test_series_bounded, fixture_teardown);
  g_test_add_func ("/Orr/Monitor/job-cpu", test_job_cpu);
  g_test_add_func ("/Orr/Monitor/job-memory", test_job_memory);
  g_test_add_func ("/Orr/Monitor/job-io", test_job_io);
  g_test_add_func ("/Orr/Monitor/cli-sees-our-jobs", test_cli_sees_our_job);
  g_test_add_func ("/Orr/Monitor/job-of-another-process", test_job_of_another_process);

  rc = g_test_run ();
  g_clear_object (&engine);
  return rc;
}
