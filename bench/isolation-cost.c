/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-bench"

/*
 * The per-job cost of isolating a satellite.
 *
 *   isolation-cost [--jobs N] [--connection TARGET] [--limits]
 *
 * Two warm engines in one process: one with ORRERY_ISOLATION=off (the
 * zygote's child runs the job as it is), one isolated as far as this host
 * allows (see `orrery status`). N (200) trivial jobs each — SELECT 1 AS one
 * into OutputDataSet = InputDataSet — alternating between the two engines so
 * that both see the same machine; latency from submit to the end of the
 * wait. Their difference is what the sandbox adds to a job: worker uid, job
 * directory and cgroups created and removed by the engine, and in the
 * satellite the keeper and init forks, namespaces, mounts, identity change,
 * rlimits, Landlock and seccomp. With --limits the isolated jobs carry pool
 * limits (memory, CPU percent, processes), so their cgroups are written too.
 *
 * Then the engine's share alone: N rounds of orr_isolation_job_new(),
 * orr_isolation_job_create_cgroups() and orr_isolation_job_finish() without
 * a satellite (the satellite moves itself into the cgroups, see
 * core/satellite/orr-sandbox.c: its share is in the difference above).
 *
 * Prints the isolation report on stderr and one JSON object on stdout.
 * Without --connection it uses the demo SQLite database in a private
 * directory, with the catalog enabled there.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orr-isolation.h"

static int opt_jobs = 200;
static char *opt_connection;
static gboolean opt_limits;

static const GOptionEntry entries[] = {
  { "jobs", 0, 0, G_OPTION_ARG_INT, &opt_jobs, "Jobs on each engine (default 200)", "N" },
  { "connection", 0, 0, G_OPTION_ARG_STRING, &opt_connection, "DSN or ODBC connection string (default: the demo database)", "TARGET" },
  { "limits", 0, 0, G_OPTION_ARG_NONE, &opt_limits, "Give the isolated jobs pool limits (cgroup files written)", NULL },
  { NULL }
};

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Latency of one job in µs, or exits on failure. */
static gint64
run_one (OrrEngine *engine, OrrConnection *connection, const OrrJobSpec *spec)
{
  g_autoptr(OrrJob) job = NULL;
  gint64 start = g_get_monotonic_time ();

  job = orr_engine_submit (engine, connection, spec);
  orr_job_wait (job);
  start = g_get_monotonic_time () - start;
  drain ();
  if (orr_job_get_state (job) != ORR_JOB_SUCCEEDED || orr_job_get_rows_out (job) != 1)
    {
      g_printerr ("isolation-cost: a job failed: %s\n",
                  orr_job_get_error (job) ? orr_job_get_error (job)->message : orr_job_state_to_string (orr_job_get_state (job)));
      exit (1);
    }
  return start;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

typedef struct {
  double median_ms;
  double mean_ms;
  double p90_ms;
} Stats;

static Stats
stats_of (gint64 *us, int n)
{
  Stats s = { 0 };
  double sum = 0;

  qsort (us, n, sizeof *us, compare_gint64);
  for (int i = 0; i < n; i++)
    sum += us[i];
  s.median_ms = us[n / 2] / 1000.0;
  s.p90_ms = us[(n * 9) / 10] / 1000.0;
  s.mean_ms = sum / n / 1000.0;
  return s;
}

static OrrEngine *
warm_engine (OrrConnection *connection, const OrrJobSpec *spec)
{
  g_autoptr(GError) error = NULL;
  OrrEngine *engine = orr_engine_new ();

  if (!orr_engine_warm_up (engine, &error))
    {
      g_printerr ("isolation-cost: %s\n", error->message);
      exit (1);
    }
  /* The first jobs probe the host and fault the zygote's pages in. */
  for (int i = 0; i < 10; i++)
    run_one (engine, connection, spec);
  return engine;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— the per-job cost of isolating a satellite");
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(OrrJobSpec) plain_spec = orr_job_spec_new ();
  g_autoptr(OrrJobSpec) isolated_spec = orr_job_spec_new ();
  g_autoptr(OrrEngine) plain = NULL;
  g_autoptr(OrrEngine) isolated = NULL;
  g_autoptr(OrrIsolation) isolation = NULL;
  g_autoptr(OrrLimits) limits = orr_limits_new ("bench");
  g_autofree char *report = NULL;
  g_autofree char *private_dir = NULL;
  g_autofree gint64 *plain_us = NULL;
  g_autofree gint64 *isolated_us = NULL;
  g_autofree gint64 *engine_us = NULL;
  Stats p, s, e;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("isolation-cost: %s\n", error->message);
      return 2;
    }
  if (opt_jobs < 10)
    opt_jobs = 10;

  if (opt_connection == NULL)
    {
      /* The demo database in a directory of our own: nothing of the user's. */
      private_dir = g_dir_make_tmp ("orrery-isolation-cost-XXXXXX", &error);
      if (private_dir == NULL)
        {
          g_printerr ("isolation-cost: %s\n", error->message);
          return 1;
        }
      g_setenv ("XDG_DATA_HOME", private_dir, TRUE);
      opt_connection = orr_demo_dup_connection_string (&error);
      if (opt_connection == NULL)
        {
          g_printerr ("isolation-cost: %s\n", error->message);
          return 1;
        }
    }
  connection = orr_connection_new (opt_connection);
  if (!orr_connection_open (connection, NULL, &error))
    {
      g_printerr ("isolation-cost: %s\n", error->message);
      return 1;
    }
  if (private_dir)
    {
      g_autoptr(OrrCatalog) catalog = orr_catalog_new (connection);

      if (!orr_catalog_enable (catalog, &error))
        {
          g_printerr ("isolation-cost: %s\n", error->message);
          return 1;
        }
    }

  plain_spec->script = g_strdup ("OutputDataSet = InputDataSet");
  plain_spec->input_query = g_strdup ("SELECT 1 AS one");
  isolated_spec->script = g_strdup (plain_spec->script);
  isolated_spec->input_query = g_strdup (plain_spec->input_query);
  if (opt_limits)
    {
      limits->max_memory_bytes = G_GUINT64_CONSTANT (1) << 30;
      limits->max_cpu_percent = 100;
      limits->max_processes = 64;
      isolated_spec->limits = orr_limits_copy (limits);
    }

  /* Each engine probes the host on its first job: the variable decides. */
  g_setenv ("ORRERY_ISOLATION", "off", TRUE);
  plain = warm_engine (connection, plain_spec);
  g_unsetenv ("ORRERY_ISOLATION");
  isolated = warm_engine (connection, isolated_spec);
  report = orr_engine_dup_isolation_report (isolated);
  g_printerr ("%s", report);

  plain_us = g_new0 (gint64, opt_jobs);
  isolated_us = g_new0 (gint64, opt_jobs);
  for (int i = 0; i < opt_jobs; i++)
    {
      plain_us[i] = run_one (plain, connection, plain_spec);
      isolated_us[i] = run_one (isolated, connection, isolated_spec);
    }

  /* The engine's share: identity, job directory, cgroups, made and removed. */
  isolation = orr_isolation_new ();
  engine_us = g_new0 (gint64, opt_jobs);
  for (int i = 0; i < opt_jobs; i++)
    {
      gint64 start = g_get_monotonic_time ();
      OrrIsolationJob *job = orr_isolation_job_new (isolation, 1000000 + i, opt_limits ? limits : NULL, &error);

      if (job == NULL || !orr_isolation_job_create_cgroups (job, &error))
        {
          g_printerr ("isolation-cost: %s\n", error->message);
          return 1;
        }
      orr_isolation_job_finish (job);
      engine_us[i] = g_get_monotonic_time () - start;
      orr_isolation_job_free (job);
    }

  p = stats_of (plain_us, opt_jobs);
  s = stats_of (isolated_us, opt_jobs);
  e = stats_of (engine_us, opt_jobs);
  printf ("{\"jobs\": %d, \"privileged\": %s, \"limits\": %s,\n"
          " \"plain_ms\": {\"median\": %.3f, \"mean\": %.3f, \"p90\": %.3f},\n"
          " \"isolated_ms\": {\"median\": %.3f, \"mean\": %.3f, \"p90\": %.3f},\n"
          " \"isolation_cost_ms\": {\"median\": %.3f, \"mean\": %.3f},\n"
          " \"engine_cgroups_dir_uid_ms\": {\"median\": %.3f, \"mean\": %.3f, \"p90\": %.3f}}\n",
          opt_jobs, geteuid () == 0 ? "true" : "false", opt_limits ? "true" : "false",
          p.median_ms, p.mean_ms, p.p90_ms, s.median_ms, s.mean_ms, s.p90_ms,
          s.median_ms - p.median_ms, s.mean_ms - p.mean_ms, e.median_ms, e.mean_ms, e.p90_ms);

  g_clear_object (&plain);
  g_clear_object (&isolated);
  g_clear_object (&connection);
  if (private_dir)
    {
      g_autofree char *orrery_dir = g_build_filename (private_dir, "orrery", NULL);
      g_autoptr(GDir) dir = g_dir_open (orrery_dir, 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (orrery_dir, name, NULL);
          unlink (path);
        }
      rmdir (orrery_dir);
      rmdir (private_dir);
    }
  return 0;
}
