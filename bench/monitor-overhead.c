/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-bench"

/*
 * What live monitoring costs: the CPU time OrrMonitor spends sampling N live
 * jobs at 4 Hz, as a percentage of one core.
 *
 *   monitor-overhead [--jobs N] [--processes P] [--seconds S] [--interval-ms MS]
 *                    [--cgroups] [--real] [--connection TARGET]
 *
 * Without --real: N fake jobs, each a chain of P real sleeping processes
 * (default 3, as a sandboxed job has: keeper, PID-namespace init, script),
 * registered in a private registry directory as an engine would register
 * them. With --cgroups (root, cgroup v1): each job's processes are put in
 * their own cpuacct, memory and pids cgroups named job-<key>, so the
 * monitor reads cgroup files as it does for isolated jobs; without, it
 * reads /proc (and walks /proc to find each satellite's descendants).
 * With --real: N real jobs (`time.sleep`) through OrrEngine on the demo
 * database (or --connection), in the host registry.
 *
 * The monitor runs on this program's main thread, which does nothing else:
 * once every job is sampled and 3.5 s more (a new job's cgroups and
 * processes are looked for at each pass in its first 3 s: that is the
 * transient), getrusage(RUSAGE_THREAD) over S seconds
 * (default 12) is the sampler's cost. The whole process's (RUSAGE_SELF) is
 * reported too: with --real it includes the engine's registry thread, which
 * follows each job's satellite and rows at 4 Hz. Prints one JSON object.
 */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-monitor.h"
#include "orr-registry.h"

static int opt_jobs = 50;
static int opt_processes = 3;
static double opt_seconds = 12;
static int opt_interval_ms = 250;
static gboolean opt_cgroups;
static gboolean opt_real;
static char *opt_connection;

static const GOptionEntry entries[] = {
  { "jobs", 0, 0, G_OPTION_ARG_INT, &opt_jobs, "Live jobs (default 50)", "N" },
  { "processes", 0, 0, G_OPTION_ARG_INT, &opt_processes, "Processes per fake job (default 3)", "P" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "Measured seconds (default 12)", "S" },
  { "interval-ms", 0, 0, G_OPTION_ARG_INT, &opt_interval_ms, "Sampling interval (default 250: 4 Hz)", "MS" },
  { "cgroups", 0, 0, G_OPTION_ARG_NONE, &opt_cgroups, "Give each fake job cgroup v1 cpuacct/memory/pids groups (root)", NULL },
  { "real", 0, 0, G_OPTION_ARG_NONE, &opt_real, "Real sleeping jobs through the engine", NULL },
  { "connection", 0, 0, G_OPTION_ARG_STRING, &opt_connection, "With --real: DSN or connection string (default: the demo database)", "TARGET" },
  { NULL }
};

static const char * const controllers[] = { "cpuacct", "memory", "pids" };

static gint64
cpu_us (int who)
{
  struct rusage ru;

  getrusage (who, &ru);
  return (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
         (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

static gboolean
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, NULL);
}

/* A chain of @n sleeping processes in a new process group; returns the first
 * (the "satellite"). It waits on @gate until its cgroups are ready. */
static pid_t
spawn_chain (int n, int gate)
{
  pid_t pid = fork ();

  if (pid != 0)
    return pid;
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  {
    char byte;
    while (read (gate, &byte, 1) < 0 && errno == EINTR)
      ;
  }
  for (int k = 1; k < n; k++)
    {
      pid_t child = fork ();

      if (child != 0)
        break;
      prctl (PR_SET_PDEATHSIG, SIGKILL);
    }
  for (;;)
    pause ();
}

typedef struct {
  pid_t pid;
  char *cgroups[G_N_ELEMENTS (controllers)];
} FakeJob;

static guint samples;

/* Only this program's jobs count: the host may run others. */
static void
on_sampled (OrrMonitor *monitor, OrrMonitorJob *job, gpointer data)
{
  if (orr_monitor_job_get_engine_pid (job) == getpid ())
    samples++;
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
run_loop (double seconds)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add ((guint) (seconds * 1000), quit_cb, loop);
  g_main_loop_run (loop);
}

/* Processes per job, as the monitor counts them (keeper, init, script…). */
static double
processes_per_job (OrrMonitor *monitor)
{
  g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);
  guint n = 0, total = 0;

  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);
      const OrrJobSample *s = orr_monitor_job_get_last_sample (job);

      if (orr_monitor_job_get_engine_pid (job) != getpid () || s == NULL)
        continue;
      total += s->processes;
      n++;
    }
  return n ? (double) total / n : 0;
}

static const char *
sources_of (OrrMonitor *monitor)
{
  g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);
  const char *source = "none";
  gboolean first = TRUE;

  for (guint i = 0; i < jobs->len; i++)
    {
      OrrMonitorJob *job = g_ptr_array_index (jobs, i);
      const char *s = orr_monitor_job_get_source (job);

      if (orr_monitor_job_get_engine_pid (job) != getpid ())
        continue;
      if (!first && g_strcmp0 (s, source) != 0)
        return "mixed";
      source = s;
      first = FALSE;
    }
  return source;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— what sampling live jobs costs");
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrMonitor) monitor = NULL;
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) real_jobs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree FakeJob *fakes = NULL;
  g_autofree char *dir = NULL;
  char *cg_parent[G_N_ELEMENTS (controllers)] = { NULL };
  gint64 thread0, self0, wall0, thread1, self1, wall1;
  guint live = 0;
  double wall_s;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("monitor-overhead: %s\n", error->message);
      return 2;
    }
  if (opt_jobs < 1 || opt_processes < 1 || opt_seconds <= 0 || opt_interval_ms < 10)
    {
      g_printerr ("monitor-overhead: --jobs, --processes, --seconds and --interval-ms must be positive\n");
      return 2;
    }

  if (opt_real)
    {
      g_autofree char *target = opt_connection ? g_strdup (opt_connection) : orr_demo_dup_connection_string (&error);
      g_autofree char *script = g_strdup_printf ("import time\ntime.sleep(%g)\n", opt_seconds + 120);

      if (target == NULL)
        {
          g_printerr ("monitor-overhead: %s\n", error->message);
          return 1;
        }
      engine = orr_engine_new ();
      if (!orr_engine_warm_up (engine, &error))
        {
          g_printerr ("monitor-overhead: %s\n", error->message);
          return 1;
        }
      for (int i = 0; i < opt_jobs; i++)
        {
          g_autoptr(OrrConnection) conn = orr_connection_new (target);
          g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();

          if (!orr_connection_open (conn, NULL, &error))
            {
              g_printerr ("monitor-overhead: %s\n", error->message);
              return 1;
            }
          spec->script = g_strdup (script);
          spec->queue_timeout_ms = 600000;
          g_ptr_array_add (real_jobs, orr_engine_submit (engine, conn, spec));
          g_ptr_array_add (connections, g_steal_pointer (&conn));
        }
      monitor = orr_monitor_new ();
    }
  else
    {
      dir = g_dir_make_tmp ("orrery-bench-registry-XXXXXX", &error);
      if (dir == NULL)
        {
          g_printerr ("monitor-overhead: %s\n", error->message);
          return 1;
        }
      if (opt_cgroups)
        for (guint c = 0; c < G_N_ELEMENTS (controllers); c++)
          {
            cg_parent[c] = g_strdup_printf ("/sys/fs/cgroup/%s/orrery-bench-%d", controllers[c], getpid ());
            if (g_mkdir (cg_parent[c], 0755) != 0)
              {
                g_printerr ("monitor-overhead: cannot create %s: %s (cgroup v1 and root are needed)\n",
                            cg_parent[c], g_strerror (errno));
                return 1;
              }
          }
      fakes = g_new0 (FakeJob, opt_jobs);
      for (int i = 0; i < opt_jobs; i++)
        {
          g_autoptr(OrrRegistryRecord) r = orr_registry_record_new ();
          int gate[2];

          if (pipe (gate) != 0)
            return 1;
          fakes[i].pid = spawn_chain (opt_processes, gate[0]);
          close (gate[0]);
          r->engine_pid = getpid ();
          r->engine_start = orr_process_get_start_time (getpid ());
          r->job_id = i + 1;
          r->key = g_strdup_printf ("%d-%d", r->engine_pid, i + 1);
          r->uid = getuid ();
          r->user = g_strdup (g_get_user_name ());
          r->limits = orr_limits_new ("bench");
          r->state = ORR_JOB_RUNNING;
          r->submitted_at = r->started_at = g_get_real_time ();
          r->satellite_pid = fakes[i].pid;
          r->satellite_start = orr_process_get_start_time (fakes[i].pid);
          r->script = g_strdup ("import time; time.sleep(3600)");
          for (guint c = 0; opt_cgroups && c < G_N_ELEMENTS (controllers); c++)
            {
              g_autofree char *pid_text = g_strdup_printf ("%d", fakes[i].pid);

              fakes[i].cgroups[c] = g_strdup_printf ("%s/job-%s", cg_parent[c], r->key);
              if (g_mkdir (fakes[i].cgroups[c], 0755) != 0 ||
                  !write_file (fakes[i].cgroups[c], "cgroup.procs", pid_text))
                {
                  g_printerr ("monitor-overhead: cannot set up %s\n", fakes[i].cgroups[c]);
                  return 1;
                }
            }
          /* Now the chain may grow, inside its cgroups. */
          if (write (gate[1], "x", 1) != 1)
            return 1;
          close (gate[1]);
          if (!orr_registry_write (dir, r, &error))
            {
              g_printerr ("monitor-overhead: %s\n", error->message);
              return 1;
            }
        }
      monitor = orr_monitor_new_for_directory (dir);
    }

  orr_monitor_set_interval (monitor, opt_interval_ms);
  g_signal_connect (monitor, "job-sampled", G_CALLBACK (on_sampled), NULL);
  orr_monitor_start (monitor);

  /* Every job running and sampled. */
  for (int tries = 0; tries < 600; tries++)
    {
      g_autoptr(GPtrArray) jobs = orr_monitor_dup_jobs (monitor);

      live = 0;
      for (guint i = 0; i < jobs->len; i++)
        {
          OrrMonitorJob *job = g_ptr_array_index (jobs, i);

          if (opt_real && orr_monitor_job_get_engine_pid (job) != getpid ())
            continue;
          if (!orr_monitor_job_is_finished (job) && orr_monitor_job_get_state (job) == ORR_JOB_RUNNING &&
              orr_monitor_job_get_n_samples (job) > 0)
            live++;
        }
      if (live >= (guint) opt_jobs)
        break;
      run_loop (0.1);
    }
  if (live < (guint) opt_jobs)
    {
      g_printerr ("monitor-overhead: only %u of %d jobs are running\n", live, opt_jobs);
      return 1;
    }
  /* Past the first 3 s, in which a new job's cgroups and processes are
   * looked for at each pass: the steady state. */
  run_loop (3.5);

  samples = 0;
  thread0 = cpu_us (RUSAGE_THREAD);
  self0 = cpu_us (RUSAGE_SELF);
  wall0 = g_get_monotonic_time ();
  run_loop (opt_seconds);
  thread1 = cpu_us (RUSAGE_THREAD);
  self1 = cpu_us (RUSAGE_SELF);
  wall1 = g_get_monotonic_time ();
  wall_s = (wall1 - wall0) / 1e6;

  g_print ("{\"jobs\": %d, \"processes_per_job\": %.1f, \"mode\": \"%s\", \"source\": \"%s\", "
           "\"interval_ms\": %d, \"seconds\": %.2f, \"samples\": %u, \"samples_per_second\": %.1f, "
           "\"sampler_cpu_ms\": %.1f, \"sampler_percent_of_one_core\": %.3f, "
           "\"process_cpu_ms\": %.1f, \"process_percent_of_one_core\": %.3f, "
           "\"us_per_job_sample\": %.1f}\n",
           opt_jobs, processes_per_job (monitor), opt_real ? "real" : opt_cgroups ? "fake+cgroups" : "fake",
           sources_of (monitor), opt_interval_ms, wall_s, samples, samples / wall_s,
           (thread1 - thread0) / 1e3, (thread1 - thread0) / 1e4 / wall_s,
           (self1 - self0) / 1e3, (self1 - self0) / 1e4 / wall_s,
           samples ? (thread1 - thread0) / (double) samples : 0.0);

  orr_monitor_stop (monitor);
  for (guint i = 0; i < real_jobs->len; i++)
    orr_job_cancel (g_ptr_array_index (real_jobs, i));
  for (guint i = 0; i < real_jobs->len; i++)
    orr_job_wait (g_ptr_array_index (real_jobs, i));
  for (int i = 0; fakes && i < opt_jobs; i++)
    {
      kill (-fakes[i].pid, SIGKILL);
      waitpid (fakes[i].pid, NULL, 0);
    }
  /* The chains' other processes are reparented: give them a moment to go. */
  for (int i = 0; fakes && i < opt_jobs; i++)
    for (guint c = 0; c < G_N_ELEMENTS (controllers); c++)
      if (fakes[i].cgroups[c])
        {
          for (int tries = 0; tries < 100 && g_rmdir (fakes[i].cgroups[c]) != 0 && errno == EBUSY; tries++)
            g_usleep (20000);
          g_free (fakes[i].cgroups[c]);
        }
  for (guint c = 0; c < G_N_ELEMENTS (controllers); c++)
    if (cg_parent[c])
      {
        g_rmdir (cg_parent[c]);
        g_free (cg_parent[c]);
        cg_parent[c] = NULL;
      }
  if (dir)
    {
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;

      while (d && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_unlink (path);
        }
      g_rmdir (dir);
    }
  return 0;
}
