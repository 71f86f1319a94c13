/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-engine"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orr-isolation.h"
#include "orr-job-private.h"
#include "orr-launchpad.h"
#include "orr-pool-slot.h"
#include "orr-wire.h"

#define ZYGOTE_READY_TIMEOUT_MS 60000
#define FORK_TIMEOUT_MS 10000
#define KILL_GRACE_MS 100
#define DEFAULT_MAX_OUTPUT_BYTES (G_GUINT64_CONSTANT (4) << 30)
#define MAX_MESSAGE_BYTES (16u << 20)
#define DEFAULT_QUEUE_TIMEOUT_MS 30000

struct _OrrEngine {
  GObject parent_instance;

  char *satellite_path;

  GMutex lock;
  GCond cond;
  GSubprocess *zygote;
  int control;                /* engine end of the zygote's control socket */
  GThread *reader;
  gboolean zygote_dead;
  gboolean use_launchpad;     /* connect to the resident launchpad (orr-launchpad.h) */
  gboolean via_launchpad;     /* control is a launchpad connection, not our zygote's */
  gboolean preparing;         /* orr_engine_prepare()'s thread runs */
  gboolean zygote_starting;   /* a thread is in start_zygote_once_locked() */
  char *python_version;
  char *numpy_version;
  char *pandas_version;
  GHashTable *jobs_by_pid;    /* pid → OrrJob (weak: the job thread holds a ref) */
  GQueue pending_forks;       /* OrrJob waiting for FORKED, in request order */
  OrrIsolation *isolation;    /* what the host enforces; probed on first need */

  GMainContext *timer_context;
  GMainLoop *timer_loop;
  GThread *timer_thread;
};

G_DEFINE_FINAL_TYPE (OrrEngine, orr_engine, G_TYPE_OBJECT)

/* Job ids are unique in the process, not only in one engine: the job's
 * directory and registry entry are named "engine pid-job id". */
static guint64 next_job_id;
G_LOCK_DEFINE_STATIC (next_job_id);

typedef struct {
  OrrEngine *engine;
  OrrConnection *connection;
  OrrJob *job;
  int sock;
  OrrCatalog *catalog;
  gboolean rejected;      /* refused at admission or by the queue */
  gboolean admitted;      /* admission read the catalog: it exists */
  gint64 started_at;      /* wall clock, µs */
} JobRun;

/* ------------------------------------------------------------ lifecycle */

static gpointer
timer_thread_main (gpointer data)
{
  OrrEngine *self = data;

  g_main_context_push_thread_default (self->timer_context);
  g_main_loop_run (self->timer_loop);
  g_main_context_pop_thread_default (self->timer_context);
  return NULL;
}

static void
stop_zygote_locked (OrrEngine *self)
{
  if (self->control >= 0)
    {
      /* EOF on its control socket makes the zygote kill its children and leave. */
      shutdown (self->control, SHUT_RDWR);
    }
  if (self->reader)
    {
      GThread *reader = g_steal_pointer (&self->reader);

      g_mutex_unlock (&self->lock);
      g_thread_join (reader);
      g_mutex_lock (&self->lock);
    }
  if (self->control >= 0)
    {
      close (self->control);
      self->control = -1;
    }
  if (self->zygote)
    {
      /* Give it a moment to reap its satellites itself (their resource use
       * is then accounted), then make sure. */
      for (int i = 0; i < 100 && g_subprocess_get_identifier (self->zygote) != NULL; i++)
        g_usleep (10 * 1000);
      g_subprocess_force_exit (self->zygote);
      g_subprocess_wait (self->zygote, NULL, NULL);
      g_clear_object (&self->zygote);
    }
}

static gboolean
quit_timer_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
orr_engine_finalize (GObject *object)
{
  OrrEngine *self = ORR_ENGINE (object);
  GSource *quit;

  g_mutex_lock (&self->lock);
  stop_zygote_locked (self);
  g_mutex_unlock (&self->lock);

  /* Quit from inside the loop: an engine freed right after it was made
   * would otherwise quit the loop before the thread runs it. */
  quit = g_idle_source_new ();
  g_source_set_callback (quit, quit_timer_loop, self->timer_loop, NULL);
  g_source_attach (quit, self->timer_context);
  g_source_unref (quit);
  g_thread_join (self->timer_thread);
  g_main_loop_unref (self->timer_loop);
  g_main_context_unref (self->timer_context);

  g_hash_table_unref (self->jobs_by_pid);
  g_queue_clear (&self->pending_forks);
  g_clear_pointer (&self->isolation, orr_isolation_free);
  g_free (self->satellite_path);
  g_free (self->python_version);
  g_free (self->numpy_version);
  g_free (self->pandas_version);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (orr_engine_parent_class)->finalize (object);
}

static void
orr_engine_class_init (OrrEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_engine_finalize;
}

static char *
default_satellite_path (void)
{
  const char *env = g_getenv ("ORRERY_SATELLITE");
  g_autofree char *installed = g_build_filename (ORRERY_LIBEXECDIR, "orrery-satellite", NULL);
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);

  if (env && *env)
    return g_strdup (env);
  /* A program run from the build tree uses the satellite built beside it. */
  if (self_exe && g_str_has_prefix (self_exe, ORRERY_BUILD_ROOT "/") &&
      g_file_test (ORRERY_BUILD_SATELLITE, G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup (ORRERY_BUILD_SATELLITE);
  return g_steal_pointer (&installed);
}

static void
orr_engine_init (OrrEngine *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->control = -1;
  self->satellite_path = default_satellite_path ();
  self->jobs_by_pid = g_hash_table_new (NULL, NULL);
  g_queue_init (&self->pending_forks);
  self->timer_context = g_main_context_new ();
  self->timer_loop = g_main_loop_new (self->timer_context, FALSE);
  self->timer_thread = g_thread_new ("orrery-timers", timer_thread_main, self);
}

OrrEngine *
orr_engine_new (void)
{
  return g_object_new (ORR_TYPE_ENGINE, NULL);
}

void
orr_engine_set_satellite_path (OrrEngine  *self,
                               const char *path)
{
  g_return_if_fail (ORR_IS_ENGINE (self));
  g_mutex_lock (&self->lock);
  g_free (self->satellite_path);
  self->satellite_path = g_strdup (path);
  g_mutex_unlock (&self->lock);
}

const char *
orr_engine_get_satellite_path (OrrEngine *self)
{
  return self->satellite_path;
}

const char *
orr_engine_get_python_version (OrrEngine *self)
{
  return self->python_version;
}

const char *
orr_engine_get_numpy_version (OrrEngine *self)
{
  return self->numpy_version;
}

const char *
orr_engine_get_pandas_version (OrrEngine *self)
{
  return self->pandas_version;
}

/* ------------------------------------------------------------ the zygote */

static gboolean
wait_readable (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  int rc;

  do
    rc = poll (&pfd, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

static gpointer
reader_main (gpointer data)
{
  OrrEngine *self = data;
  int control = self->control;

  for (;;)
    {
      g_autoptr(OrrWireMessage) msg = NULL;
      g_autoptr(GError) error = NULL;
      gint32 values[1];
      gint64 exited[ORR_WIRE_EXITED_N_VALUES];

      msg = orr_wire_recv (control, &error);
      if (msg == NULL)
        break;
      if (msg->type == ORR_WIRE_FORKED && orr_wire_decode_i32s (msg->payload, values, 1, NULL))
        {
          OrrJob *job;

          g_mutex_lock (&self->lock);
          job = g_queue_pop_head (&self->pending_forks);
          if (job)
            {
              g_mutex_lock (&job->lock);
              job->pid = values[0];
              job->pidfd = pidfd_open (values[0], 0);
              g_mutex_unlock (&job->lock);
              g_hash_table_insert (self->jobs_by_pid, GINT_TO_POINTER (values[0]), job);
            }
          g_cond_broadcast (&self->cond);
          g_mutex_unlock (&self->lock);
        }
      else if (msg->type == ORR_WIRE_EXITED &&
               orr_wire_decode_i64s (msg->payload, exited, ORR_WIRE_EXITED_N_VALUES, NULL))
        {
          OrrJob *job;

          g_mutex_lock (&self->lock);
          job = g_hash_table_lookup (self->jobs_by_pid, GINT_TO_POINTER ((int) exited[0]));
          g_hash_table_remove (self->jobs_by_pid, GINT_TO_POINTER ((int) exited[0]));
          if (job)
            {
              job->cpu_user_us = exited[2];
              job->cpu_system_us = exited[3];
              job->peak_memory_bytes = exited[4] * 1024;
              job->bytes_read = exited[5] * 512;
              job->bytes_written = exited[6] * 512;
              _orr_job_child_exited (job, (int) exited[1]);
            }
          g_mutex_unlock (&self->lock);
        }
      else
        {
          g_warning ("Unexpected message %d from the satellite zygote", msg->type);
          break;
        }
    }

  g_mutex_lock (&self->lock);
  self->zygote_dead = TRUE;
  /* Nobody will report these children any more: treat them as gone. */
  {
    GHashTableIter iter;
    gpointer job;

    g_hash_table_iter_init (&iter, self->jobs_by_pid);
    while (g_hash_table_iter_next (&iter, NULL, &job))
      _orr_job_child_exited (job, W_EXITCODE (0, SIGKILL));
    g_hash_table_remove_all (self->jobs_by_pid);
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return NULL;
}

typedef struct {
  OrrEngine *engine;
  GSubprocessLauncher *launcher;
  GSubprocess *process;
  GError *error;
  gboolean done;
} SpawnRequest;

static gboolean
spawn_cb (gpointer data)
{
  SpawnRequest *req = data;
  GSubprocess *process;
  GError *error = NULL;

  process = g_subprocess_launcher_spawn (req->launcher, &error, req->engine->satellite_path, "--zygote", NULL);
  g_mutex_lock (&req->engine->lock);
  req->process = process;
  req->error = error;
  req->done = TRUE;
  g_cond_broadcast (&req->engine->cond);
  g_mutex_unlock (&req->engine->lock);
  return G_SOURCE_REMOVE;
}

/* The zygote asks the kernel to kill it when its parent goes (PR_SET_PDEATHSIG),
 * and for Linux the parent is the thread that forked it: a job's thread ends
 * with its job, so the fork happens on the engine's long-lived timer thread. */
static GSubprocess *
spawn_from_timer_thread (OrrEngine           *self,
                         GSubprocessLauncher *launcher,
                         GError             **error)
{
  SpawnRequest req = { self, launcher, NULL, NULL, FALSE };

  g_main_context_invoke (self->timer_context, spawn_cb, &req);
  while (!req.done)
    g_cond_wait (&self->cond, &self->lock);
  if (req.error)
    g_propagate_error (error, req.error);
  return req.process;
}

/* The satellite gets a bare environment: no DSN, no password, no token. */
static GPtrArray *
satellite_environment (void)
{
  GPtrArray *env = g_ptr_array_new_with_free_func (g_free);
  static const char * const passthrough[] = {
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES",
    "ORRERY_LOCALEDIR", "TZ", NULL,
  };

  g_ptr_array_add (env, g_strdup ("PATH=/usr/bin:/bin"));
  for (guint i = 0; passthrough[i]; i++)
    {
      const char *value = g_getenv (passthrough[i]);

      if (value == NULL)
        continue;
      /* Under AddressSanitizer (CI's second run) the satellite hosts user
       * code that may crash or exhaust its memory limit on purpose: let
       * that be the signal or the MemoryError the job reports, not a
       * sanitizer abort. */
      if (g_str_equal (passthrough[i], "ASAN_OPTIONS"))
        g_ptr_array_add (env, g_strdup_printf ("ASAN_OPTIONS=%s%shandle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0"
                                               ":allocator_may_return_null=1",
                                               value, *value ? ":" : ""));
      else
        g_ptr_array_add (env, g_strdup_printf ("%s=%s", passthrough[i], value));
    }
  g_ptr_array_add (env, NULL);
  return env;
}

/* ORRERY_LAUNCHPAD=0 turns the resident launchpad off, =1 on; otherwise
 * orr_engine_set_use_launchpad() decides (the CLI turns it on). */
static gboolean
launchpad_wanted (OrrEngine *self)
{
  const char *env = g_getenv ("ORRERY_LAUNCHPAD");

  if (env && g_str_equal (env, "0"))
    return FALSE;
  if (env && g_str_equal (env, "1"))
    return TRUE;
  return self->use_launchpad;
}

static void
set_versions (OrrEngine *self, char **versions)
{
  g_free (self->python_version);
  g_free (self->numpy_version);
  g_free (self->pandas_version);
  self->python_version = g_strdup (versions[0]);
  self->numpy_version = g_strdup (versions[1]);
  self->pandas_version = g_strdup (versions[2]);
}

static gboolean start_zygote_once_locked (OrrEngine *self, GError **error);

/* One thread starts the zygote; the others wait for it (starting drops the
 * lock while it waits for the spawn), then use it or try in turn. */
static gboolean
start_zygote_locked (OrrEngine  *self,
                     GError    **error)
{
  gboolean ok;

  while (self->zygote_starting)
    g_cond_wait (&self->cond, &self->lock);
  if (self->control >= 0 && !self->zygote_dead)
    return TRUE;
  self->zygote_starting = TRUE;
  ok = start_zygote_once_locked (self, error);
  self->zygote_starting = FALSE;
  g_cond_broadcast (&self->cond);
  return ok;
}

static gboolean
start_zygote_once_locked (OrrEngine  *self,
                          GError    **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(OrrWireMessage) msg = NULL;
  g_auto(GStrv) versions = NULL;
  g_autoptr(GPtrArray) env = NULL;
  int fds[2];

  if (self->control >= 0 && !self->zygote_dead)
    return TRUE;
  stop_zygote_locked (self);
  self->zygote_dead = FALSE;

  if (!g_file_test (self->satellite_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                   "The satellite program “%s” is missing; reinstall Orrery or set ORRERY_SATELLITE",
                   self->satellite_path);
      return FALSE;
    }
  env = satellite_environment ();

  if (launchpad_wanted (self))
    {
      g_autoptr(GError) lp_error = NULL;
      int control = orr_launchpad_connect (self->satellite_path, (const char * const *) env->pdata,
                                           ZYGOTE_READY_TIMEOUT_MS, &versions, &lp_error);

      if (control >= 0)
        {
          self->control = control;
          self->via_launchpad = TRUE;
          set_versions (self, versions);
          self->reader = g_thread_new ("orrery-zygote", reader_main, self);
          return TRUE;
        }
      /* Slower, never worse: the engine's own zygote. */
      g_message (_("The resident launchpad is not available (%s); starting a private satellite zygote"),
                 lp_error->message);
    }
  self->via_launchpad = FALSE;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, "Cannot create a socket pair: %s", g_strerror (errsv));
      return FALSE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_environ (launcher, (char **) env->pdata);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  self->zygote = spawn_from_timer_thread (self, launcher, error);
  if (self->zygote == NULL)
    {
      close (fds[0]);
      return FALSE;
    }
  self->control = fds[0];

  if (!wait_readable (self->control, ZYGOTE_READY_TIMEOUT_MS))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                   "The satellite did not start within %d s", ZYGOTE_READY_TIMEOUT_MS / 1000);
      stop_zygote_locked (self);
      return FALSE;
    }
  msg = orr_wire_recv (self->control, error);
  if (msg == NULL || msg->type != ORR_WIRE_READY ||
      (versions = orr_wire_decode_strings (msg->payload, 3, error)) == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, "The satellite did not say it was ready");
      else if (error && *error)
        g_prefix_error (error, "The satellite failed to start: ");
      stop_zygote_locked (self);
      return FALSE;
    }
  set_versions (self, versions);

  self->reader = g_thread_new ("orrery-zygote", reader_main, self);
  return TRUE;
}

void
orr_engine_set_use_launchpad (OrrEngine *self,
                              gboolean   use)
{
  g_return_if_fail (ORR_IS_ENGINE (self));
  g_mutex_lock (&self->lock);
  self->use_launchpad = use;
  g_mutex_unlock (&self->lock);
}

gboolean
orr_engine_get_uses_launchpad (OrrEngine *self)
{
  gboolean via;

  g_return_val_if_fail (ORR_IS_ENGINE (self), FALSE);
  g_mutex_lock (&self->lock);
  via = self->control >= 0 && !self->zygote_dead && self->via_launchpad;
  g_mutex_unlock (&self->lock);
  return via;
}

gboolean
orr_engine_warm_up (OrrEngine  *self,
                    GError    **error)
{
  gboolean ok;

  g_return_val_if_fail (ORR_IS_ENGINE (self), FALSE);
  g_mutex_lock (&self->lock);
  ok = start_zygote_locked (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Probed once, on first need: a few milliseconds of forks. */
static OrrIsolation *
ensure_isolation (OrrEngine *self)
{
  OrrIsolation *isolation;

  g_mutex_lock (&self->lock);
  if (self->isolation == NULL)
    self->isolation = orr_isolation_new ();
  isolation = self->isolation;
  g_mutex_unlock (&self->lock);
  return isolation;
}

static gpointer
prepare_thread (gpointer data)
{
  OrrEngine *self = data;

  ensure_isolation (self);
  g_mutex_lock (&self->lock);
  /* A failure is the first job's to report: it tries again. */
  start_zygote_locked (self, NULL);
  self->preparing = FALSE;
  g_mutex_unlock (&self->lock);
  g_object_unref (self);
  return NULL;
}

void
orr_engine_prepare (OrrEngine *self)
{
  gboolean start;

  g_return_if_fail (ORR_IS_ENGINE (self));
  g_mutex_lock (&self->lock);
  start = !self->preparing && !(self->control >= 0 && !self->zygote_dead);
  if (start)
    self->preparing = TRUE;
  g_mutex_unlock (&self->lock);
  if (start)
    g_thread_unref (g_thread_new ("orrery-prepare", prepare_thread, g_object_ref (self)));
}

char *
orr_engine_dup_isolation_report (OrrEngine *self)
{
  g_return_val_if_fail (ORR_IS_ENGINE (self), NULL);
  return orr_isolation_dup_report (ensure_isolation (self));
}

/* The limits the sandbox enforces: the spec's when given, else the pool's. */
static const OrrLimits *
job_limits (OrrJob *job)
{
  return job->spec->limits ? job->spec->limits : job->limits;
}

/* Asks the zygote for a child serving @child_sock, isolated by its sandbox;
 * fills job->pid/pidfd and job->isolation. */
static gboolean
fork_satellite (OrrEngine  *self,
                OrrJob     *job,
                int         child_sock,
                GError    **error)
{
  OrrIsolation *isolation = ensure_isolation (self);
  g_autoptr(GBytes) sandbox = NULL;
  gint64 deadline;
  gboolean ok;

  /* Worker uid, job directory and cgroups (limits written) exist before the
   * satellite does. The child moves itself into the cgroups first thing,
   * before its sandbox, and fails the job if it cannot: nothing of the job
   * runs outside them. (Moving a single-threaded process's only thread
   * from inside skips the RCU grace period that a cgroup.procs write from
   * outside waits for: ~10 ms off every job.) */
  job->isolation = orr_isolation_job_new (isolation, job->id, job_limits (job), error);
  if (job->isolation == NULL)
    return FALSE;
  if (!orr_isolation_job_create_cgroups (job->isolation, error))
    return FALSE;
  sandbox = orr_isolation_job_encode_fork (job->isolation);

  g_mutex_lock (&self->lock);
  if (!start_zygote_locked (self, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_queue_push_tail (&self->pending_forks, job);
  if (!orr_wire_send (self->control, ORR_WIRE_FORK, sandbox, child_sock, error))
    {
      g_queue_remove (&self->pending_forks, job);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  deadline = g_get_monotonic_time () + FORK_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (job->pid == 0 && !self->zygote_dead)
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  ok = job->pid != 0;
  if (!ok)
    {
      g_queue_remove (&self->pending_forks, job);
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("The satellite zygote did not start a worker"));
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

/* ------------------------------------------------------------ a job */

static gboolean
timeout_cb (gpointer data)
{
  _orr_job_set_timed_out (ORR_JOB (data));
  return G_SOURCE_REMOVE;
}

static gboolean
send_batch (int sock, OrrWireType type, OrrBatch *batch, GError **error)
{
  g_autofree OrrBufferDesc *descs = NULL;
  g_autoptr(GBytes) payload = NULL;
  guint64 size;
  int fd;

  if (!_orr_batch_seal (batch, &fd, &size, &descs, error))
    return FALSE;
  payload = orr_wire_encode_batch (orr_batch_get_n_rows (batch), size, orr_batch_get_n_columns (batch), descs);
  return orr_wire_send (sock, type, payload, fd, error);
}

static char *
describe_exit (int status)
{
  if (WIFSIGNALED (status))
    {
      int sig = WTERMSIG (status);
      return g_strdup_printf (_("killed by signal %d (SIG%s)"), sig, sigabbrev_np (sig) ? sigabbrev_np (sig) : "?");
    }
  if (WIFEXITED (status))
    return g_strdup_printf (_("exit code %d"), WEXITSTATUS (status));
  return g_strdup (_("ended"));
}

/* Waits up to @ms for the satellite to be reported gone. */
static gboolean
wait_exited (OrrJob *job, int ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * G_TIME_SPAN_MILLISECOND;
  gboolean exited;

  g_mutex_lock (&job->lock);
  while (!job->exited)
    if (!g_cond_wait_until (&job->cond, &job->lock, deadline))
      break;
  exited = job->exited;
  g_mutex_unlock (&job->lock);
  return exited;
}

static void
signal_satellite (OrrJob *job, int sig)
{
  g_mutex_lock (&job->lock);
  if (job->pidfd >= 0 && !job->exited)
    pidfd_send_signal (job->pidfd, sig, NULL, 0);
  g_mutex_unlock (&job->lock);
}

/* Interrupt (sent by orr_job_cancel() when @announce), terminate, kill. The
 * satellite's keeper passes SIGINT and SIGTERM to the script and answers
 * SIGUSR1 by killing the job's whole PID namespace, then exits; SIGKILL of
 * the keeper itself is the last resort (the job's cgroup is killed after). */
static void
kill_satellite (OrrJob *job, gboolean announce)
{
  if (job->pid == 0 || wait_exited (job, 0))
    return;
  if (announce)
    {
      _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO, _("Stopping the script: interrupt (SIGINT)"));
      if (wait_exited (job, KILL_GRACE_MS))
        return;
      _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO,
                             _("The script did not stop after SIGINT: terminate (SIGTERM)"));
    }
  signal_satellite (job, SIGTERM);
  if (wait_exited (job, KILL_GRACE_MS))
    return;
  if (announce)
    _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO,
                           _("The script did not stop after SIGTERM: kill it and every process it started (SIGKILL)"));
  signal_satellite (job, SIGUSR1);
  if (wait_exited (job, 1000))
    return;
  signal_satellite (job, SIGKILL);
  if (!wait_exited (job, 2000))
    g_warning ("Satellite %d of job %" G_GUINT64_FORMAT " did not exit after SIGKILL", job->pid, job->id);
}

static gboolean
job_stopped (OrrJob *job)
{
  gboolean stopped;

  g_mutex_lock (&job->lock);
  stopped = job->cancel_requested;
  g_mutex_unlock (&job->lock);
  return stopped;
}

static gboolean
feed_input (JobRun *run, GError **error)
{
  OrrJob *job = run->job;
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GBytes) schema_payload = NULL;
  OrrBatch *batch;

  if (job->spec->input_query == NULL || *g_strstrip (job->spec->input_query) == '\0')
    {
      g_autoptr(OrrSchema) empty = orr_schema_new ();
      schema_payload = orr_wire_encode_schema (empty);
      if (!orr_wire_send (run->sock, ORR_WIRE_SCHEMA, schema_payload, -1, error))
        return FALSE;
      return orr_wire_send (run->sock, ORR_WIRE_END_INPUT, NULL, -1, error);
    }

  cursor = orr_connection_execute (run->connection, job->spec->input_query, job->cancellable, error);
  if (cursor == NULL)
    return FALSE;
  schema_payload = orr_wire_encode_schema (orr_cursor_get_schema (cursor));
  if (!orr_wire_send (run->sock, ORR_WIRE_SCHEMA, schema_payload, -1, error))
    return FALSE;

  while ((batch = orr_cursor_fetch (cursor, TRUE, job->cancellable, error)) != NULL)
    {
      gboolean ok;

      job->rows_in += orr_batch_get_n_rows (batch);
      ok = send_batch (run->sock, ORR_WIRE_BATCH, batch, error);
      orr_batch_unref (batch);
      if (!ok)
        return FALSE;
    }
  if (error && *error)
    return FALSE;
  orr_cursor_close (cursor);
  return orr_wire_send (run->sock, ORR_WIRE_END_INPUT, NULL, -1, error);
}

static gboolean
collect_output (JobRun *run, GError **error)
{
  OrrJob *job = run->job;
  guint64 max_bytes = job->spec->max_output_bytes ? job->spec->max_output_bytes : DEFAULT_MAX_OUTPUT_BYTES;
  guint64 total_bytes = 0;
  int cancel_fd = g_cancellable_get_fd (job->cancellable);
  gboolean done = FALSE;
  int bad_type = 0;

  while (!done)
    {
      struct pollfd pfds[2] = { { run->sock, POLLIN, 0 }, { cancel_fd, POLLIN, 0 } };
      g_autoptr(OrrWireMessage) msg = NULL;
      int rc = poll (pfds, 2, -1);

      if (rc < 0 && errno == EINTR)
        continue;
      if (pfds[1].revents)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The job was cancelled"));
          g_cancellable_release_fd (job->cancellable);
          return FALSE;
        }
      msg = orr_wire_recv (run->sock, error);
      if (msg == NULL)
        break;

      switch (msg->type)
        {
        case ORR_WIRE_STDOUT:
        case ORR_WIRE_STDERR:
          {
            g_autofree char *text = orr_wire_decode_string (msg->payload, error);
            if (text == NULL)
              goto fail;
            _orr_job_emit_message (job, msg->type == ORR_WIRE_STDOUT ? ORR_JOB_MESSAGE_STDOUT
                                                                      : ORR_JOB_MESSAGE_STDERR, text);
          }
          break;
        case ORR_WIRE_RESULT_SCHEMA:
          if (job->result_schema)
            { bad_type = msg->type; goto unexpected; }
          job->result_schema = orr_wire_decode_schema (msg->payload, error);
          if (job->result_schema == NULL)
            goto fail;
          _orr_job_set_state (job, ORR_JOB_RETURNING);
          break;
        case ORR_WIRE_RESULT_BATCH:
          {
            OrrWireBatch wb;
            OrrBatch *batch;

            if (job->result_schema == NULL || msg->fd < 0)
              { bad_type = msg->type; goto unexpected; }
            if (!orr_wire_decode_batch (msg->payload, &wb, error))
              goto fail;
            if (wb.n_columns != orr_schema_get_n_fields (job->result_schema))
              {
                orr_wire_batch_clear (&wb);
                g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("A result batch does not match its schema"));
                goto fail;
              }
            total_bytes += wb.size;
            if (total_bytes > max_bytes)
              {
                orr_wire_batch_clear (&wb);
                g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                             _("The result exceeds the limit of %llu bytes"), (unsigned long long) max_bytes);
                goto fail;
              }
            batch = _orr_batch_new_from_fd (job->result_schema, msg->fd, wb.size, wb.n_rows, wb.descs, TRUE, error);
            msg->fd = -1;
            orr_wire_batch_clear (&wb);
            if (batch == NULL)
              goto fail;
            job->rows_out += orr_batch_get_n_rows (batch);
            g_ptr_array_add (job->result_batches, batch);
          }
          break;
        case ORR_WIRE_OUTPUT_PARAMS:
          {
            GPtrArray *params = orr_wire_decode_params (msg->payload, error);
            if (params == NULL)
              goto fail;
            g_ptr_array_unref (job->output_params);
            job->output_params = params;
          }
          break;
        case ORR_WIRE_ERROR:
          {
            OrrWireError err;

            if (!orr_wire_decode_error (msg->payload, &err, error))
              goto fail;
            job->error_line = err.line;
            job->traceback = g_strdup (err.traceback);
            if (g_strcmp0 (err.kind, "OrreryOutputError") == 0)
              g_set_error_literal (error, ORR_ERROR, ORR_ERROR_OUTPUT, err.message);
            else if (g_strcmp0 (err.kind, "OrrerySandboxError") == 0)
              g_set_error_literal (error, ORR_ERROR, ORR_ERROR_SATELLITE, err.message);
            else if (err.line > 0)
              g_set_error (error, ORR_ERROR, ORR_ERROR_SCRIPT, _("%s at line %d of the script: %s"),
                           err.kind, err.line, err.message);
            else
              g_set_error (error, ORR_ERROR, ORR_ERROR_SCRIPT, _("%s: %s"), err.kind, err.message);
            orr_wire_error_clear (&err);
            goto fail;
          }
        case ORR_WIRE_DONE:
          done = TRUE;
          break;
        default:
          { bad_type = msg->type; goto unexpected; }
        }
    }
  g_cancellable_release_fd (job->cancellable);

  if (!done)
    {
      g_autofree char *how = NULL;

      if (error && *error && (*error)->code == ORR_ERROR_PROTOCOL)
        return FALSE;
      g_clear_error (error);
      if (job_stopped (job))
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The job was cancelled"));
          return FALSE;
        }
      if (!wait_exited (job, 2000))
        kill_satellite (job, FALSE);
      how = describe_exit (job->wait_status);
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("The satellite ended without a result: %s"), how);
      return FALSE;
    }
  return TRUE;

unexpected:
  g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, _("Unexpected message %d from the satellite"), bad_type);
fail:
  g_cancellable_release_fd (job->cancellable);
  return FALSE;
}

/* Exactly one row per job in the catalog's job log, whatever the outcome;
 * a failure to write it is reported, never turned into a job failure. */
static void
log_job (JobRun *run, OrrOutcome outcome)
{
  OrrJob *job = run->job;
  g_autoptr(GError) error = NULL;
  OrrJobRecord record = { 0 };
  const char *principal;
  int version;

  /* Admitted, the job read the catalog: no need to ask again. */
  version = run->admitted ? 1 : orr_catalog_get_version (run->catalog, &error);
  if (version == 0)
    return;   /* no catalog yet: nothing to log into (the job was rejected as disabled) */
  principal = version > 0 ? orr_catalog_get_principal (run->catalog, &error) : NULL;
  if (principal)
    {
      record.principal = g_strdup (principal);
      record.pool = g_strdup (job->limits->pool);
      record.started_at = run->started_at;
      record.ended_at = g_get_real_time ();
      record.outcome = outcome;
      record.error_text = job->error ? g_strdup (job->error->message) : NULL;
      record.script = g_strdup (job->spec->script);
      record.input_query = g_strdup (job->spec->input_query);
      record.rows_in = job->rows_in;
      record.rows_out = job->rows_out;
      if (job->exited)
        {
          record.cpu_seconds = (job->cpu_user_us + job->cpu_system_us) / (double) G_USEC_PER_SEC;
          record.peak_memory_bytes = job->peak_memory_bytes;
          record.bytes_read = job->bytes_read;
          record.bytes_written = job->bytes_written;
        }
      else
        {
          /* No satellite ran (rejected, or failed before it started). */
          record.cpu_seconds = job->pid ? -1 : 0;
          record.peak_memory_bytes = job->pid ? -1 : 0;
          record.bytes_read = job->pid ? -1 : 0;
          record.bytes_written = job->pid ? -1 : 0;
        }
      orr_catalog_log_job (run->catalog, &record, &error);
      orr_job_record_clear (&record);
    }
  if (error)
    {
      g_mutex_lock (&job->lock);
      g_clear_error (&job->log_error);
      job->log_error = g_error_copy (error);
      g_mutex_unlock (&job->lock);
      _orr_job_emit_message (job, ORR_JOB_MESSAGE_INFO, error->message);
    }
}

static void
finish_job (JobRun *run, GError *error)
{
  OrrJob *job = run->job;
  OrrJobState final = ORR_JOB_SUCCEEDED;
  OrrOutcome outcome = ORR_OUTCOME_SUCCEEDED;
  g_autofree char *limit = NULL;

  kill_satellite (job, job_stopped (job));
  /* Nothing of the job survives it: leftover processes, its cgroups, its
   * directory, its worker uid. */
  if (job->isolation)
    {
      orr_isolation_job_finish (job->isolation);
      limit = orr_isolation_job_dup_limit_error (job->isolation, error);
    }

  if (error != NULL || job_stopped (job))
    {
      g_mutex_lock (&job->lock);
      if (job->timed_out)
        {
          g_clear_error (&error);
          g_set_error (&error, ORR_ERROR, ORR_ERROR_TIMEOUT, _("timeout after %g s"), job->timeout_ms / 1000.0);
          final = ORR_JOB_FAILED;
          outcome = ORR_OUTCOME_KILLED;
        }
      else if (job->cancel_requested)
        {
          g_clear_error (&error);
          g_set_error (&error, ORR_ERROR, ORR_ERROR_CANCELLED, _("The job was cancelled"));
          final = ORR_JOB_CANCELLED;
          outcome = ORR_OUTCOME_CANCELLED;
        }
      else
        {
          final = ORR_JOB_FAILED;
          /* A limit the job hit explains its failure better than the symptom
           * (SIGKILL of the OOM killer, a failed fork). */
          if (limit)
            {
              g_clear_error (&error);
              g_set_error_literal (&error, ORR_ERROR, ORR_ERROR_LIMIT, limit);
            }
          if (run->rejected)
            outcome = ORR_OUTCOME_REJECTED;
          /* Killed: it died of a signal without a result (the engine's own
           * SIGTERM after an error does not count). */
          else if ((g_error_matches (error, ORR_ERROR, ORR_ERROR_SATELLITE) ||
                    g_error_matches (error, ORR_ERROR, ORR_ERROR_LIMIT)) &&
                   job->exited && WIFSIGNALED (job->wait_status))
            outcome = ORR_OUTCOME_KILLED;
          else
            outcome = ORR_OUTCOME_FAILED;
        }
      job->error = error;
      g_mutex_unlock (&job->lock);
    }
  /* Logged before the final state is announced: a caller that exits on it
   * (the CLI) must not cut the log write short. */
  log_job (run, outcome);
  _orr_job_set_state (job, final);
}

static gpointer
job_thread (gpointer data)
{
  JobRun *run = data;
  OrrJob *job = run->job;
  g_autoptr(GBytes) job_payload = NULL;
  GError *error = NULL;
  GSource *timeout = NULL;
  OrrWireJob wire_job = { 0 };
  int fds[2] = { -1, -1 };
  g_autoptr(OrrPoolSlot) slot = NULL;
  OrrLimits *limits;

  run->started_at = g_get_real_time ();
  run->catalog = orr_catalog_new (run->connection);

  /* Admission before any Python runs: enabled, granted, and the pool's limits. */
  limits = orr_catalog_admit (run->catalog, &error);
  if (limits == NULL)
    {
      run->rejected = TRUE;
      goto out;
    }
  run->admitted = TRUE;
  orr_limits_free (job->limits);
  job->limits = limits;
  job->timeout_ms = job->spec->timeout_ms;
  if (limits->timeout_ms && (job->timeout_ms == 0 || limits->timeout_ms < job->timeout_ms))
    job->timeout_ms = limits->timeout_ms;
  /* Monitors show the principal and pool while the job waits in the queue. */
  _orr_job_set_admitted (job, orr_catalog_get_principal (run->catalog, NULL));

  /* The pool's running jobs are counted host-wide; past the maximum, wait. */
  if (limits->max_processes > 0)
    {
      g_autofree char *scope = orr_catalog_dup_scope (run->catalog);

      slot = orr_pool_slot_acquire (scope, limits->pool, limits->max_processes,
                                    job->spec->queue_timeout_ms ? job->spec->queue_timeout_ms
                                                                : DEFAULT_QUEUE_TIMEOUT_MS,
                                    job->cancellable, &error);
      if (slot == NULL)
        {
          run->rejected = !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          goto out;
        }
    }

  if (job->timeout_ms > 0)
    {
      timeout = g_timeout_source_new (job->timeout_ms);
      g_source_set_callback (timeout, timeout_cb, g_object_ref (job), g_object_unref);
      g_source_attach (timeout, run->engine->timer_context);
    }

  _orr_job_set_state (job, ORR_JOB_FETCHING);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      g_set_error (&error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create a socket pair: %s"), g_strerror (errno));
      goto out;
    }
  run->sock = fds[0];
  if (!fork_satellite (run->engine, job, fds[1], &error))
    goto out;
  close (fds[1]);
  fds[1] = -1;

  wire_job.script = job->spec->script ? job->spec->script : (char *) "";
  wire_job.input_name = job->spec->input_name;
  wire_job.output_name = job->spec->output_name;
  wire_job.max_output_bytes = job->spec->max_output_bytes ? job->spec->max_output_bytes : DEFAULT_MAX_OUTPUT_BYTES;
  wire_job.max_message_bytes = MAX_MESSAGE_BYTES;
  wire_job.params = job->spec->params;
  wire_job.flags = job->spec->sqlserver_types ? ORR_WIRE_JOB_SQLSERVER_TYPES : 0;
  wire_job.partition_by = job->spec->partition_by;
  wire_job.order_by = job->spec->order_by;
  wire_job.rows_per_read = job->spec->rows_per_read;
  job_payload = orr_wire_encode_job (&wire_job);

  if (!orr_wire_send (run->sock, ORR_WIRE_JOB, job_payload, -1, &error))
    goto out;
  if (!feed_input (run, &error))
    {
      /* The satellite may have said why it stopped reading (a malformed batch…). */
      goto out;
    }
  _orr_job_set_state (job, ORR_JOB_RUNNING);
  if (!collect_output (run, &error))
    goto out;

  if (job->spec->output_table && job->result_schema)
    {
      kill_satellite (job, FALSE);
      if (!orr_connection_write_table (run->connection, job->spec->output_table, job->result_schema,
                                       job->result_batches, job->cancellable, &error))
        goto out;
      g_ptr_array_set_size (job->result_batches, 0);
    }

out:
  if (timeout)
    {
      g_source_destroy (timeout);
      g_source_unref (timeout);
    }
  if (fds[1] >= 0)
    close (fds[1]);
  finish_job (run, error);
  if (run->sock >= 0)
    close (run->sock);

  g_mutex_lock (&run->engine->lock);
  if (job->pid)
    g_hash_table_remove (run->engine->jobs_by_pid, GINT_TO_POINTER (job->pid));
  g_mutex_unlock (&run->engine->lock);

  g_clear_object (&run->catalog);
  g_object_unref (run->connection);
  g_object_unref (run->engine);
  g_object_unref (run->job);
  g_free (run);
  return NULL;
}

OrrJob *
orr_engine_submit (OrrEngine        *self,
                   OrrConnection    *connection,
                   const OrrJobSpec *spec)
{
  JobRun *run;
  OrrJob *job;
  guint64 id;

  g_return_val_if_fail (ORR_IS_ENGINE (self), NULL);
  g_return_val_if_fail (ORR_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (spec != NULL, NULL);

  G_LOCK (next_job_id);
  id = ++next_job_id;
  G_UNLOCK (next_job_id);

  job = _orr_job_new (id, spec);
  run = g_new0 (JobRun, 1);
  run->engine = g_object_ref (self);
  run->connection = g_object_ref (connection);
  run->job = g_object_ref (job);
  run->sock = -1;
  g_thread_unref (g_thread_new ("orrery-job", job_thread, run));
  return job;
}

/* ------------------------------------------------------------ parameters */

static gboolean
parse_date (const char *s, gint64 *days)
{
  int y, m, d;
  char tail;
  g_autoptr(GDate) date = NULL;
  g_autoptr(GDate) epoch = NULL;

  if (sscanf (s, "%d-%d-%d%c", &y, &m, &d, &tail) != 3 || !g_date_valid_dmy (d, m, y))
    return FALSE;
  date = g_date_new_dmy (d, m, y);
  epoch = g_date_new_dmy (1, 1, 1970);
  *days = g_date_days_between (epoch, date);
  return TRUE;
}

static gboolean
parse_clock (const char *s, gint64 *us)
{
  int h, m, sec, n = 0;
  gint64 frac = 0;
  int digits = 0;

  if (sscanf (s, "%d:%d:%d%n", &h, &m, &sec, &n) != 3 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
    return FALSE;
  s += n;
  if (*s == '.')
    for (s++; g_ascii_isdigit (*s); s++)
      if (digits < 6)
        {
          frac = frac * 10 + (*s - '0');
          digits++;
        }
  if (*s != '\0')
    return FALSE;
  for (; digits < 6; digits++)
    frac *= 10;
  *us = (((gint64) h * 60 + m) * 60 + sec) * G_USEC_PER_SEC + frac;
  return TRUE;
}

OrrParam *
orr_param_parse (const char  *text,
                 GError     **error)
{
  g_autofree char *head = NULL;
  g_auto(GStrv) spec = NULL;
  const char *eq;
  const char *value_text = NULL;
  OrrValue value = { 0 };
  guint flags = 0;
  OrrParam *param;
  const char *type;

  g_return_val_if_fail (text != NULL, NULL);

  eq = strchr (text, '=');
  head = eq ? g_strndup (text, eq - text) : g_strdup (text);
  value_text = eq ? eq + 1 : NULL;
  spec = g_strsplit (head, ":", -1);

  if (g_strv_length (spec) < 2 || g_strv_length (spec) > 3)
    goto malformed;
  if (!g_ascii_isalpha (spec[0][0]) && spec[0][0] != '_')
    goto bad_name;
  for (const char *p = spec[0]; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      goto bad_name;
  if (spec[2])
    {
      if (g_ascii_strcasecmp (spec[2], "out") != 0 && g_ascii_strcasecmp (spec[2], "output") != 0)
        goto malformed;
      flags |= ORR_PARAM_OUTPUT;
    }
  if (value_text == NULL && !(flags & ORR_PARAM_OUTPUT))
    goto malformed;

  type = spec[1];
  if (g_ascii_strcasecmp (type, "int") == 0)
    value.type = ORR_DATA_TYPE_INT64;
  else if (g_ascii_strcasecmp (type, "float") == 0)
    value.type = ORR_DATA_TYPE_FLOAT64;
  else if (g_ascii_strcasecmp (type, "str") == 0)
    value.type = ORR_DATA_TYPE_TEXT;
  else if (g_ascii_strcasecmp (type, "bool") == 0)
    value.type = ORR_DATA_TYPE_BOOL;
  else if (g_ascii_strcasecmp (type, "bytes") == 0)
    value.type = ORR_DATA_TYPE_BINARY;
  else if (g_ascii_strcasecmp (type, "date") == 0)
    value.type = ORR_DATA_TYPE_DATE;
  else if (g_ascii_strcasecmp (type, "time") == 0)
    value.type = ORR_DATA_TYPE_TIME;
  else if (g_ascii_strcasecmp (type, "timestamp") == 0)
    value.type = ORR_DATA_TYPE_TIMESTAMP;
  else
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("Parameter “%s”: unknown type “%s” (use int, float, str, bool, bytes, date, time or timestamp)"),
                   spec[0], type);
      return NULL;
    }

  value.is_null = value_text == NULL;
  if (value_text != NULL)
    {
      char *end = NULL;

      switch (value.type)
        {
        case ORR_DATA_TYPE_INT64:
          errno = 0;
          value.v.i = g_ascii_strtoll (value_text, &end, 10);
          if (errno || end == value_text || *end)
            goto bad_value;
          break;
        case ORR_DATA_TYPE_FLOAT64:
          value.v.f = g_ascii_strtod (value_text, &end);
          if (end == value_text || *end)
            goto bad_value;
          break;
        case ORR_DATA_TYPE_TEXT:
          if (!g_utf8_validate (value_text, -1, NULL))
            goto bad_value;
          value.bytes = g_bytes_new (value_text, strlen (value_text));
          break;
        case ORR_DATA_TYPE_BOOL:
          if (g_ascii_strcasecmp (value_text, "true") == 0 || g_strcmp0 (value_text, "1") == 0 ||
              g_ascii_strcasecmp (value_text, "yes") == 0)
            value.v.b = TRUE;
          else if (g_ascii_strcasecmp (value_text, "false") == 0 || g_strcmp0 (value_text, "0") == 0 ||
                   g_ascii_strcasecmp (value_text, "no") == 0)
            value.v.b = FALSE;
          else
            goto bad_value;
          break;
        case ORR_DATA_TYPE_BINARY:
          {
            const char *hex = value_text;
            gsize len;
            guint8 *buf;

            if (g_str_has_prefix (hex, "0x") || g_str_has_prefix (hex, "0X"))
              hex += 2;
            len = strlen (hex);
            if (len % 2)
              goto bad_value;
            buf = g_malloc (MAX (len / 2, 1));
            for (gsize i = 0; i < len / 2; i++)
              {
                int hi = g_ascii_xdigit_value (hex[2 * i]), lo = g_ascii_xdigit_value (hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                  {
                    g_free (buf);
                    goto bad_value;
                  }
                buf[i] = hi << 4 | lo;
              }
            value.bytes = g_bytes_new_take (buf, len / 2);
          }
          break;
        case ORR_DATA_TYPE_DATE:
          if (!parse_date (value_text, &value.v.i))
            goto bad_value;
          break;
        case ORR_DATA_TYPE_TIME:
          if (!parse_clock (value_text, &value.v.i))
            goto bad_value;
          break;
        case ORR_DATA_TYPE_TIMESTAMP:
          {
            g_autofree char *date = g_strndup (value_text, 10);
            gint64 days, us = 0;

            if (strlen (value_text) < 10 || !parse_date (date, &days))
              goto bad_value;
            if (value_text[10] != '\0')
              {
                if ((value_text[10] != ' ' && value_text[10] != 'T') || !parse_clock (value_text + 11, &us))
                  goto bad_value;
              }
            value.v.i = days * 86400 * G_USEC_PER_SEC + us;
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }

  param = orr_param_new (spec[0], flags, &value);
  orr_value_clear (&value);
  return param;

malformed:
  g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
               _("Malformed parameter “%s”: expected NAME:TYPE=VALUE, or NAME:TYPE:out[=VALUE] for an output parameter"),
               text);
  return NULL;
bad_name:
  g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
               _("Parameter name “%s” is not a valid Python identifier"), spec[0]);
  return NULL;
bad_value:
  g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
               _("Parameter “%s”: “%s” is not a valid %s value"), spec[0], value_text, spec[1]);
  return NULL;
}
