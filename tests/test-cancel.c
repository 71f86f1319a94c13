/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-cancel"

/*
 * Cancelling a job of another process through the host-wide registry: a
 * job that `orrery run` runs (the built CLI, a process of its own) is
 * cancelled through the API (orr_registry_request_cancel) and through
 * `orrery cancel`; its engine notices, cancels it as if locally, and the
 * job log says cancelled. Requests from a user who has no right (nobody,
 * when the suite runs as root) are refused and the job's owner told so;
 * spoofed requests (a symbolic link, a hard link, a request renamed from
 * another job) are ignored; requests for jobs that ended are swept.
 *
 * Each test has a registry directory of its own ($ORRERY_REGISTRY_DIR,
 * inherited by the CLI), so that other Orrery processes of the host do not
 * interfere.
 */

#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "orr-connection.h"
#include "orr-error.h"
#include "orr-registry.h"

/* Python and pandas start slowly on a loaded machine. */
#define START_TIMEOUT_S 180
/* From the request to the job's final state in its entry. The engine
 * notices through inotify at once; the job's thread takes a few ms more.
 * Generous for a loaded machine: the measured figure goes to the log. */
#define CANCEL_DEADLINE_MS 2000

static char *registry_dir;
static char *sandbox_dir;

typedef struct {
  GSubprocess *cli;
  char *key;
  char *marker;
  char *err;     /* the CLI's stderr, once it ended */
  int status;
} RunningJob;

static void
running_job_clear (RunningJob *job)
{
  if (job->cli != NULL && g_subprocess_get_identifier (job->cli) != NULL)
    {
      g_subprocess_force_exit (job->cli);
      g_subprocess_wait (job->cli, NULL, NULL);
    }
  g_clear_object (&job->cli);
  g_free (job->key);
  g_free (job->marker);
  g_free (job->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RunningJob, running_job_clear)

static const char *
sqlite_dsn_or_skip (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");

  if (dsn == NULL || *dsn == '\0')
    {
      g_test_skip ("ORRERY_TEST_SQLITE_DSN is not set: run the suite with tools/test.sh");
      return NULL;
    }
  if (g_getenv ("ORRERY_CLI") == NULL)
    {
      g_test_skip ("ORRERY_CLI is not set");
      return NULL;
    }
  return dsn;
}

static GSubprocessLauncher *
cli_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "ORRERY_REGISTRY_DIR", registry_dir, TRUE);
  return launcher;
}

/* Runs the CLI (through @wrapper, e.g. setpriv, when not NULL) to its end. */
static int
run_cli (char **out, char **err, const char * const *wrapper, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  va_list ap;
  int status;

  for (guint i = 0; wrapper != NULL && wrapper[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) wrapper[i]);
  g_ptr_array_add (argv, (char *) g_getenv ("ORRERY_CLI"));
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("status %d\nstdout:\n%s\nstderr:\n%s", status, *out, *err);
  return status;
}

/* The entry of @key as it is now, NULL when there is none. */
static OrrRegistryRecord *
load_entry (const char *key)
{
  g_autoptr(OrrRegistryRecord) record = NULL;
  struct stat st;
  int dir_fd = open (registry_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  g_assert_cmpint (dir_fd, >=, 0);
  record = orr_registry_load (dir_fd, key, &st, NULL);
  close (dir_fd);
  return g_steal_pointer (&record);
}

/* Starts `orrery run` with a script that sleeps, and waits until its job
 * runs (its entry says so). */
static void
start_sleeper (RunningJob *job, const char *dsn)
{
  g_autoptr(GSubprocessLauncher) launcher = cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  gint64 deadline;

  job->marker = g_strdup_printf ("cancel-test-%u", g_random_int ());
  script = g_strdup_printf ("# %s\nimport time\ntime.sleep(120)\n", job->marker);
  job->cli = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("ORRERY_CLI"),
                                          strchr (dsn, '=') ? "--connection" : "--dsn", dsn,
                                          "run", "-e", script, NULL);
  g_assert_no_error (error);
  job->key = g_strdup_printf ("%s-1", g_subprocess_get_identifier (job->cli));

  deadline = g_get_monotonic_time () + START_TIMEOUT_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(OrrRegistryRecord) record = load_entry (job->key);

      if (record != NULL && record->state == ORR_JOB_RUNNING && record->satellite_pid > 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_assert_nonnull (g_subprocess_get_identifier (job->cli));
      g_usleep (20 * 1000);
    }
}

/* Waits for the job's final state in its entry; returns the time from
 * @since (monotonic µs) to when it was seen. */
static gint64
wait_ended (RunningJob *job, gint64 since, OrrJobState *state)
{
  gint64 deadline = since + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(OrrRegistryRecord) record = load_entry (job->key);

      g_assert_nonnull (record);
      if (record->state >= ORR_JOB_SUCCEEDED)
        {
          *state = record->state;
          return g_get_monotonic_time () - since;
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (2 * 1000);
    }
}

/* Waits for the CLI that ran the job to exit; keeps its stderr. */
static void
collect_cli (RunningJob *job)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8 (job->cli, NULL, NULL, NULL, &job->err, &error);
  g_assert_no_error (error);
  job->status = g_subprocess_get_if_exited (job->cli) ? g_subprocess_get_exit_status (job->cli) : -1;
  g_test_message ("orrery run: status %d, stderr:\n%s", job->status, job->err);
}

/* The job log's row for the job (found by its marker) says @outcome, and
 * names the principal that ran it. */
static void
assert_logged (const char *dsn, RunningJob *job, const char *outcome)
{
  g_autoptr(OrrConnection) conn = orr_connection_new (dsn);
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GString) rows = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *expected = NULL;
  OrrBatch *batch;

  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  sql = g_strdup_printf ("SELECT principal, outcome FROM orrery_job_log WHERE script_text LIKE '%%%s%%'", job->marker);
  cursor = orr_connection_execute (conn, sql, NULL, &error);
  g_assert_no_error (error);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          g_autofree char *principal = orr_batch_format_value (batch, 0, r);
          g_autofree char *row_outcome = orr_batch_format_value (batch, 1, r);

          g_string_append_printf (rows, "%s|%s\n", principal, row_outcome);
        }
      orr_batch_unref (batch);
    }
  g_assert_no_error (error);
  /* One row, the job's own principal's: the owner's engine wrote it. */
  expected = g_strdup_printf ("%s|%s\n", g_get_user_name (), outcome);
  g_assert_cmpstr (rows->str, ==, expected);
}

/* ------------------------------------------------------------ the tests */

static void
test_api (void)
{
  g_auto(RunningJob) job = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autofree char *path = NULL;
  const char *dsn = sqlite_dsn_or_skip ();
  OrrJobState state;
  gint64 t0;
  gint64 latency;

  g_test_summary ("A job of another process (orrery run) is cancelled through the registry's API: it ends "
                  "cancelled within the deadline, its program says who asked, the job log says cancelled");
  if (dsn == NULL)
    return;
  start_sleeper (&job, dsn);

  t0 = g_get_monotonic_time ();
  g_assert_true (orr_registry_request_cancel (NULL, job.key, &request, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (request, ORR_REGISTRY_CANCEL_PREFIX));
  latency = wait_ended (&job, t0, &state);
  g_test_message ("request to final state: %.1f ms", latency / 1000.0);
  g_assert_cmpint (state, ==, ORR_JOB_CANCELLED);
  g_assert_cmpint (latency, <, CANCEL_DEADLINE_MS * 1000);

  collect_cli (&job);
  g_assert_cmpint (job.status, ==, 1);
  g_assert_nonnull (strstr (job.err, "Cancel requested by the user"));
  g_assert_nonnull (strstr (job.err, "cancelled"));
  /* The engine removed the request it handled (its own user's). */
  path = g_build_filename (registry_dir, request, NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_logged (dsn, &job, "cancelled");

  /* The job has ended: a second request is an error that says so. */
  g_assert_false (orr_registry_request_cancel (NULL, job.key, NULL, &error));
  g_assert_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND);
}

static void
test_cli (void)
{
  g_auto(RunningJob) job = { 0 };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  const char *dsn = sqlite_dsn_or_skip ();
  int status;

  g_test_summary ("`orrery cancel JOB` cancels a job another `orrery run` runs, waits for its end and says so; "
                  "bad job names and unknown jobs are errors that say what to do");
  if (dsn == NULL)
    return;

  status = run_cli (&out, &err, NULL, "cancel", "not-a-job", NULL);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "“not-a-job” is not a job"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run_cli (&out, &err, NULL, "cancel", "999999999-1", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "No job 999999999-1 runs on this host"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  start_sleeper (&job, dsn);
  status = run_cli (&out, &err, NULL, "cancel", job.key, NULL);
  g_assert_cmpint (status, ==, 0);
  expected = g_strdup_printf ("Job %s cancelled", job.key);
  g_assert_nonnull (strstr (out, expected));
  collect_cli (&job);
  g_assert_cmpint (job.status, ==, 1);
  assert_logged (dsn, &job, "cancelled");
}

/* A request file written by @argv's user (through the shell): the content
 * of a genuine request, the name as given. */
static void
write_as (const char * const *wrapper, const char *content, const char *name)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *tmp = g_strdup_printf ("%s/.spoof-%u", registry_dir, g_random_int ());
  g_autofree char *final = g_build_filename (registry_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  int status = -1;

  for (guint i = 0; wrapper != NULL && wrapper[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) wrapper[i]);
  g_ptr_array_add (argv, (char *) "/bin/sh");
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, (char *) "umask 022 && printf '%s' \"$1\" > \"$2\" && mv \"$2\" \"$3\"");
  g_ptr_array_add (argv, (char *) "sh");
  g_ptr_array_add (argv, (char *) content);
  g_ptr_array_add (argv, tmp);
  g_ptr_array_add (argv, final);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* What a genuine request for @key says. */
static char *
request_content (const char *key)
{
  g_autoptr(OrrRegistryRecord) record = load_entry (key);

  g_assert_nonnull (record);
  return g_strdup_printf ("[cancel]\nkey=%s\nengine-start=%" G_GUINT64_FORMAT "\nrequester-pid=%d\nrequested=%" G_GINT64_FORMAT "\n",
                          key, record->engine_start, (int) getpid (), g_get_real_time ());
}

static void
assert_still_running (RunningJob *job, guint ms)
{
  g_autoptr(OrrRegistryRecord) record = NULL;

  /* Time enough for the engine to have acted on any request. */
  g_usleep (ms * 1000);
  record = load_entry (job->key);
  g_assert_nonnull (record);
  g_assert_cmpint (record->state, ==, ORR_JOB_RUNNING);
}

static void
test_not_permitted (void)
{
  static const char * const as_nobody[] = {
    "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", NULL
  };
  g_auto(RunningJob) job = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *content = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *leftover = NULL;
  const char *dsn = sqlite_dsn_or_skip ();
  OrrJobState state;
  int status;

  g_test_summary ("A request from another user (nobody) is refused: `orrery cancel` says not permitted, a "
                  "request file written by hand is ignored and the job's owner told; the job then still "
                  "cancels through its own user, and the refused request is swept once the job ended");
  if (dsn == NULL)
    return;
  if (geteuid () != 0)
    {
      g_test_skip ("not root: cannot act as another user (setpriv needs root) to show a refused request");
      return;
    }
  if (!g_file_test (as_nobody[0], G_FILE_TEST_IS_EXECUTABLE) || getpwnam ("nobody") == NULL)
    {
      g_test_skip ("setpriv (util-linux) or the user nobody is missing: cannot act as another user");
      return;
    }
  start_sleeper (&job, dsn);

  /* Through the CLI: refused before anything is written. */
  status = run_cli (&out, &err, as_nobody, "cancel", job.key, NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "Not permitted"));
  g_assert_nonnull (strstr (err, "only that user or root may cancel it"));

  /* By hand, a genuine-looking request: the engine refuses it and tells. */
  content = request_content (job.key);
  name = g_strdup_printf (ORR_REGISTRY_CANCEL_PREFIX "%s.nobody1", job.key);
  write_as (as_nobody, content, name);
  assert_still_running (&job, 500);

  /* Spoofs of our own user's request, planted by nobody: a symbolic link to
   * a request of ours outside the directory, and a request renamed from
   * another job's. */
  {
    g_autofree char *outside = g_build_filename (sandbox_dir, "genuine-request", NULL);
    g_autofree char *symlink_path = g_strdup_printf ("%s/" ORR_REGISTRY_CANCEL_PREFIX "%s.symlink", registry_dir, job.key);
    g_autofree char *other = g_strdup_printf ("[cancel]\nkey=%d-7\nengine-start=1\nrequester-pid=1\n", (int) getpid ());
    g_autofree char *renamed = g_strdup_printf (ORR_REGISTRY_CANCEL_PREFIX "%s.renamed", job.key);
    g_autofree char *hard = g_strdup_printf ("%s/" ORR_REGISTRY_CANCEL_PREFIX "%s.hardlink", registry_dir, job.key);

    g_assert_true (g_file_set_contents (outside, content, -1, &error));
    g_assert_no_error (error);
    g_assert_cmpint (chmod (outside, 0644), ==, 0);
    g_assert_true (g_spawn_sync (NULL, (char **) (const char *[]) { as_nobody[0], as_nobody[1], as_nobody[2], as_nobody[3],
                                                                     "ln", "-s", outside, symlink_path, NULL },
                                 NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    /* Ours, but naming another job (as if renamed by the directory's owner). */
    write_as (NULL, other, renamed);
    /* Ours, but a second link to one of our files (fs.protected_hardlinks
     * keeps nobody from making it; the engine does not rely on that). */
    g_assert_cmpint (link (outside, hard), ==, 0);
    assert_still_running (&job, 500);
  }

  /* The job's owner heard of the refusal. */
  g_assert_true (orr_registry_request_cancel (NULL, job.key, NULL, &error));
  g_assert_no_error (error);
  wait_ended (&job, g_get_monotonic_time (), &state);
  g_assert_cmpint (state, ==, ORR_JOB_CANCELLED);
  collect_cli (&job);
  g_assert_nonnull (strstr (job.err, "to cancel this job was refused: not permitted"));
  g_assert_nonnull (strstr (job.err, "“nobody”"));
  assert_logged (dsn, &job, "cancelled");

  /* A request of nobody's for the job that ended (its program has exited
   * now): nobody's next `orrery cancel` sweeps it. */
  write_as (as_nobody, content, name);
  path = g_build_filename (registry_dir, name, NULL);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run_cli (&out, &err, as_nobody, "cancel", job.key, NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  orr_registry_sweep_requests (registry_dir);
  leftover = g_strdup_printf (ORR_REGISTRY_CANCEL_PREFIX "%s.", job.key);
  {
    g_autoptr(GDir) dir = g_dir_open (registry_dir, 0, NULL);
    const char *entry;

    while ((entry = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (entry, leftover));
  }
}

static void
test_stale_requests (void)
{
  g_autoptr(OrrRegistryRecord) gone = orr_registry_record_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GSubprocess) dead = NULL;

  g_test_summary ("Requests for jobs whose program is gone are swept; a request for a live job is not");

  /* A job of a process that has exited. */
  dead = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "/bin/true", NULL);
  g_assert_no_error (error);
  gone->engine_pid = atoi (g_subprocess_get_identifier (dead));
  g_assert_true (g_subprocess_wait_check (dead, NULL, &error));
  gone->job_id = 3;
  gone->key = g_strdup_printf ("%d-3", gone->engine_pid);
  g_assert_true (orr_registry_write_cancel_request (registry_dir, gone, &request, &error));
  g_assert_no_error (error);
  path = g_build_filename (registry_dir, request, NULL);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (orr_registry_sweep_requests (registry_dir), ==, 1);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* A live job's entry (this process, as if it ran one). */
  {
    g_autoptr(OrrRegistryRecord) live = orr_registry_record_new ();
    g_autofree char *live_request = NULL;
    g_autofree char *live_path = NULL;

    live->engine_pid = getpid ();
    live->engine_start = orr_process_get_start_time (getpid ());
    live->job_id = 42;
    live->key = g_strdup_printf ("%d-42", (int) getpid ());
    live->uid = getuid ();
    live->user = g_strdup (g_get_user_name ());
    live->state = ORR_JOB_RUNNING;
    live->script = g_strdup ("pass");
    g_assert_true (orr_registry_write (registry_dir, live, &error));
    g_assert_no_error (error);
    g_assert_true (orr_registry_request_cancel (registry_dir, live->key, &live_request, &error));
    g_assert_no_error (error);
    live_path = g_build_filename (registry_dir, live_request, NULL);
    g_assert_cmpuint (orr_registry_sweep_requests (registry_dir), ==, 0);
    g_assert_true (g_file_test (live_path, G_FILE_TEST_EXISTS));
    orr_registry_withdraw_cancel (registry_dir, live_request);
    g_assert_false (g_file_test (live_path, G_FILE_TEST_EXISTS));
  }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  g_set_prgname ("test-cancel");

  /* Reachable by nobody (the directory of /tmp's kind inside). */
  sandbox_dir = g_build_filename (g_get_tmp_dir (), "orrery-test-cancel-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp_full (sandbox_dir, 0755));
  g_assert_cmpint (chmod (sandbox_dir, 0755), ==, 0);
  registry_dir = g_build_filename (sandbox_dir, "jobs", NULL);
  g_assert_true (orr_registry_ensure_dir (registry_dir, &error));
  g_assert_no_error (error);
  g_setenv ("ORRERY_REGISTRY_DIR", registry_dir, TRUE);

  g_test_add_func ("/Orr/Cancel/stale-requests", test_stale_requests);
  g_test_add_func ("/Orr/Cancel/api", test_api);
  g_test_add_func ("/Orr/Cancel/cli", test_cli);
  g_test_add_func ("/Orr/Cancel/not-permitted", test_not_permitted);
  rc = g_test_run ();

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", sandbox_dir);

    g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL);
  }
  return rc;
}
