/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-bench"

/*
 * Trivial jobs through the engine API with a warm zygote.
 *
 *   warm-jobs [--connection TARGET] [--sequential N] [--concurrent N]
 *             [--parallel P] [--query SQL] [--script CODE]
 *             [--rows-in N] [--rows-out N] [--timeline] [--cold]
 *
 * Starts an OrrEngine, warms its zygote up (numpy and pandas imported), then
 *  1. submits N (100) jobs one after another (orr_engine_submit + orr_job_wait)
 *     and reports the latency from submit to the end of the wait: p50, p99;
 *  2. runs N (200) jobs P (8) at a time, from P threads with one connection
 *     each, and reports jobs per second.
 * Every job must succeed with --rows-in rows in and --rows-out rows out
 * (default 1 and 1), or the program fails (exit status 1). --concurrent 0
 * skips the second part. With --timeline, the sequential jobs are waited for
 * by running this thread's main context, and the time each state change
 * arrives is recorded (queued → fetching → running → returning → done): how
 * long moving the input, the script and returning the result took. Without
 * --connection it uses the SQLite demo database
 * (orr_demo_dup_connection_string). Prints one JSON object.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-error.h"

static char *opt_connection;
static char *opt_query;
static char *opt_script;
static int opt_sequential = 100;
static int opt_concurrent = 200;
static int opt_parallel = 8;
static gint64 opt_rows_in = 1;
static gint64 opt_rows_out = 1;
static gboolean opt_timeline;
static gboolean opt_cold;

static const GOptionEntry entries[] = {
  { "connection", 0, 0, G_OPTION_ARG_STRING, &opt_connection, "DSN or ODBC connection string (default: the demo database)", "TARGET" },
  { "sequential", 0, 0, G_OPTION_ARG_INT, &opt_sequential, "Jobs run one after another (default 100)", "N" },
  { "concurrent", 0, 0, G_OPTION_ARG_INT, &opt_concurrent, "Jobs run P at a time (default 200)", "N" },
  { "parallel", 0, 0, G_OPTION_ARG_INT, &opt_parallel, "Jobs at a time in the concurrent run (default 8)", "P" },
  { "query", 0, 0, G_OPTION_ARG_STRING, &opt_query, "Input query (default: SELECT 1)", "SQL" },
  { "script", 0, 0, G_OPTION_ARG_STRING, &opt_script, "Script (default: OutputDataSet = InputDataSet)", "CODE" },
  { "rows-in", 0, 0, G_OPTION_ARG_INT64, &opt_rows_in, "Rows each job must read (default 1)", "N" },
  { "rows-out", 0, 0, G_OPTION_ARG_INT64, &opt_rows_out, "Rows each job must return (default 1)", "N" },
  { "cold", 0, 0, G_OPTION_ARG_NONE, &opt_cold, "Do not warm up: the first job starts the zygote", NULL },
  { "timeline", 0, 0, G_OPTION_ARG_NONE, &opt_timeline, "Record when each state change of the sequential jobs arrives", NULL },
  { NULL }
};

/* µs after submit at which each state change arrived; 0: not seen. */
typedef struct {
  gint64 at[ORR_JOB_CANCELLED + 1];
  gint64 start;
} Timeline;

typedef struct {
  OrrEngine *engine;
  const OrrJobSpec *spec;
  const char *target;
  int total;
  gint next;              /* atomic: index of the next job to run */
  gint failed;            /* atomic */
  gint64 *latencies;      /* µs, one per job */
  GMutex lock;
  char *first_error;      /* under lock */
} Concurrent;

static void
drain (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

static void
on_state_changed (OrrJob      *job,
                  OrrJobState  state,
                  gpointer     data)
{
  Timeline *timeline = data;

  if (state <= ORR_JOB_CANCELLED && timeline->at[state] == 0)
    timeline->at[state] = g_get_monotonic_time () - timeline->start;
}

/* Runs one job and checks it; returns its latency in µs, or -1 with @error
 * set. With @timeline, waits by running @context and records state changes. */
static gint64
run_one (OrrEngine         *engine,
         OrrConnection     *connection,
         const OrrJobSpec  *spec,
         GMainContext      *context,
         Timeline          *timeline,
         GError           **error)
{
  g_autoptr(OrrJob) job = NULL;
  gint64 start, latency;

  start = g_get_monotonic_time ();
  job = orr_engine_submit (engine, connection, spec);
  if (timeline)
    {
      memset (timeline, 0, sizeof *timeline);
      timeline->start = start;
      g_signal_connect (job, "state-changed", G_CALLBACK (on_state_changed), timeline);
      /* The final state's signal is queued after the job is marked finished. */
      while (timeline->at[ORR_JOB_SUCCEEDED] == 0 && timeline->at[ORR_JOB_FAILED] == 0 &&
             timeline->at[ORR_JOB_CANCELLED] == 0)
        g_main_context_iteration (context, TRUE);
    }
  orr_job_wait (job);
  latency = g_get_monotonic_time () - start;
  /* The job's signals arrive in this thread's context: deliver them. */
  drain (context);
  if (timeline)
    g_signal_handlers_disconnect_by_data (job, timeline);

  if (orr_job_get_state (job) != ORR_JOB_SUCCEEDED)
    {
      const GError *job_error = orr_job_get_error (job);

      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, "job %" G_GUINT64_FORMAT " ended %s: %s",
                   orr_job_get_id (job), orr_job_state_to_string (orr_job_get_state (job)),
                   job_error ? job_error->message : "(no error)");
      return -1;
    }
  if (orr_job_get_rows_in (job) != (guint64) opt_rows_in || orr_job_get_rows_out (job) != (guint64) opt_rows_out)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED,
                   "job %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT " rows in, %" G_GUINT64_FORMAT
                   " rows out (expected %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT ")",
                   orr_job_get_id (job), orr_job_get_rows_in (job), orr_job_get_rows_out (job),
                   opt_rows_in, opt_rows_out);
      return -1;
    }
  return latency;
}

static OrrConnection *
open_connection (const char *target, GError **error)
{
  g_autoptr(OrrConnection) connection = orr_connection_new (target);

  if (!orr_connection_open (connection, NULL, error))
    return NULL;
  return g_steal_pointer (&connection);
}

static gpointer
concurrent_worker (gpointer data)
{
  Concurrent *c = data;
  GMainContext *context = g_main_context_new ();
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gint index;

  g_main_context_push_thread_default (context);
  connection = open_connection (c->target, &error);
  while (connection != NULL && (index = g_atomic_int_add (&c->next, 1)) < c->total)
    {
      gint64 latency = run_one (c->engine, connection, c->spec, context, NULL, &error);

      if (latency < 0)
        break;
      c->latencies[index] = latency;
    }
  if (error)
    {
      g_atomic_int_inc (&c->failed);
      g_mutex_lock (&c->lock);
      if (c->first_error == NULL)
        c->first_error = g_strdup (error->message);
      g_mutex_unlock (&c->lock);
    }
  drain (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static gint64
percentile (const gint64 *sorted, int n, double p)
{
  int rank = (int) ((p / 100.0) * n + 0.999999);

  rank = CLAMP (rank, 1, n);
  return sorted[rank - 1];
}

static void
append_latencies (GString *json, const char *name, gint64 *values, int n)
{
  g_autofree gint64 *sorted = g_memdup2 (values, sizeof (gint64) * n);
  double sum = 0;

  qsort (sorted, n, sizeof (gint64), compare_gint64);
  for (int i = 0; i < n; i++)
    sum += sorted[i];
  g_string_append_printf (json, "\"%s\": {\"jobs\": %d, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                          "\"p99_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, "
                          "\"latencies_ms\": [",
                          name, n, percentile (sorted, n, 50) / 1000.0, percentile (sorted, n, 90) / 1000.0,
                          percentile (sorted, n, 99) / 1000.0, sorted[0] / 1000.0, sorted[n - 1] / 1000.0,
                          sum / n / 1000.0);
  for (int i = 0; i < n; i++)
    g_string_append_printf (json, "%s%.3f", i ? ", " : "", values[i] / 1000.0);
  g_string_append (json, "]}");
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(GString) json = g_string_new ("{");
  g_autofree char *target = NULL;
  g_autofree gint64 *sequential = NULL;
  g_autofree Timeline *timelines = NULL;
  g_autofree GThread **threads = NULL;
  GMainContext *context = g_main_context_default ();
  Concurrent c = { 0 };
  gint64 start, warm_up_us, concurrent_us;

  options = g_option_context_new ("— trivial jobs through a warm engine");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("warm-jobs: %s\n", error->message);
      return 2;
    }
  if (opt_sequential < 1 || opt_concurrent < 0 || opt_parallel < 1 || opt_rows_in < 0 || opt_rows_out < 0)
    {
      g_printerr ("warm-jobs: --sequential and --parallel must be at least 1, --concurrent at least 0\n");
      return 2;
    }

  if (opt_connection)
    target = g_strdup (opt_connection);
  else if ((target = orr_demo_dup_connection_string (&error)) == NULL)
    {
      g_printerr ("warm-jobs: cannot open the demo database: %s\n", error->message);
      return 1;
    }

  spec->script = g_strdup (opt_script ? opt_script : "OutputDataSet = InputDataSet");
  spec->input_query = g_strdup (opt_query ? opt_query : "SELECT 1");

  engine = orr_engine_new ();
  start = g_get_monotonic_time ();
  if (!opt_cold && !orr_engine_warm_up (engine, &error))
    {
      g_printerr ("warm-jobs: cannot warm the engine up: %s\n", error->message);
      return 1;
    }
  warm_up_us = g_get_monotonic_time () - start;

  connection = open_connection (target, &error);
  if (connection == NULL)
    {
      g_printerr ("warm-jobs: %s\n", error->message);
      return 1;
    }

  /* 1. One after another. */
  sequential = g_new0 (gint64, opt_sequential);
  timelines = g_new0 (Timeline, opt_sequential);
  for (int i = 0; i < opt_sequential; i++)
    {
      sequential[i] = run_one (engine, connection, spec, context, opt_timeline ? &timelines[i] : NULL, &error);
      if (sequential[i] < 0)
        {
          g_printerr ("warm-jobs: sequential job %d of %d failed: %s\n", i + 1, opt_sequential, error->message);
          return 1;
        }
    }

  g_string_append_printf (json, "\"target\": \"%s\", \"warm_up_ms\": %.3f, ",
                          opt_connection ? "connection" : "demo", warm_up_us / 1000.0);
  g_string_append_printf (json, "\"python\": \"%s\", \"numpy\": \"%s\", \"pandas\": \"%s\", ",
                          orr_engine_get_python_version (engine), orr_engine_get_numpy_version (engine),
                          orr_engine_get_pandas_version (engine));
  append_latencies (json, "sequential", sequential, opt_sequential);
  if (opt_timeline)
    {
      static const OrrJobState states[] = { ORR_JOB_FETCHING, ORR_JOB_RUNNING, ORR_JOB_RETURNING, ORR_JOB_SUCCEEDED };

      g_string_append (json, ", \"timeline_ms\": [");
      for (int i = 0; i < opt_sequential; i++)
        {
          g_string_append (json, i ? ", {" : "{");
          for (guint k = 0; k < G_N_ELEMENTS (states); k++)
            g_string_append_printf (json, "%s\"%s\": %.3f", k ? ", " : "", orr_job_state_to_string (states[k]),
                                    timelines[i].at[states[k]] / 1000.0);
          g_string_append (json, "}");
        }
      g_string_append (json, "]");
    }

  if (opt_concurrent == 0)
    {
      g_string_append (json, ", \"failed\": 0}");
      g_print ("%s\n", json->str);
      return 0;
    }

  /* 2. P at a time, one connection per thread (a connection serves one job at a time). */
  c.engine = engine;
  c.spec = spec;
  c.target = target;
  c.total = opt_concurrent;
  c.latencies = g_new0 (gint64, opt_concurrent);
  g_mutex_init (&c.lock);
  threads = g_new0 (GThread *, opt_parallel);
  start = g_get_monotonic_time ();
  for (int i = 0; i < opt_parallel; i++)
    threads[i] = g_thread_new ("warm-jobs", concurrent_worker, &c);
  for (int i = 0; i < opt_parallel; i++)
    g_thread_join (threads[i]);
  concurrent_us = g_get_monotonic_time () - start;

  if (c.failed > 0 || c.first_error)
    {
      g_printerr ("warm-jobs: %d of %d worker threads failed in the concurrent run; first error: %s\n",
                  c.failed, opt_parallel, c.first_error ? c.first_error : "(none)");
      return 1;
    }

  g_string_append (json, ", ");
  append_latencies (json, "concurrent", c.latencies, opt_concurrent);
  g_string_append_printf (json, ", \"parallel\": %d, \"concurrent_seconds\": %.6f, \"jobs_per_second\": %.3f, "
                          "\"failed\": 0}",
                          opt_parallel, concurrent_us / 1e6, opt_concurrent / (concurrent_us / 1e6));
  g_print ("%s\n", json->str);

  g_free (c.latencies);
  g_free (c.first_error);
  g_mutex_clear (&c.lock);
  return 0;
}
