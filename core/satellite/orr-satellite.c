/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-satellite"

#include "config.h"

#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-sandbox.h"
#include "orr-satellite-private.h"

/*
 * orrery-satellite: the worker that runs an analyst's Python script.
 *
 *   --job     fd 3 is a job socket: run that one job, exit.
 *   --zygote  fd 3 is the engine's control socket: start Python, import
 *             numpy and pandas once, say READY, then fork one child per
 *             FORK message; each child runs the job on the socket that
 *             came with the message.
 */

#define CHANNEL_FD 3

static const char usage_text[] =
  "Usage: orrery-satellite --job | --zygote\n"
  "\n"
  "Runs Python scripts for the Orrery engine, which starts it with a socket on\n"
  "descriptor 3; it is not meant to be run by hand.\n"
  "\n"
  "  --job       run the one job that arrives on descriptor 3, then exit\n"
  "  --zygote    serve FORK requests on descriptor 3 with a warm interpreter\n"
  "  --version   print the version and exit\n"
  "  --help      print this help and exit\n";

static int
usage_error (const char *message)
{
  if (message != NULL)
    fprintf (stderr, "orrery-satellite: %s\n\n", message);
  fputs (usage_text, stderr);
  return ORR_SATELLITE_EXIT_PROTOCOL;
}

static gboolean
check_channel (void)
{
  struct stat st;

  if (fstat (CHANNEL_FD, &st) != 0 || !S_ISSOCK (st.st_mode))
    {
      fprintf (stderr, "orrery-satellite: descriptor %d is not a socket; "
               "the satellite is started by the Orrery engine\n", CHANNEL_FD);
      return FALSE;
    }
  /* Children must not inherit the channel through exec(). */
  fcntl (CHANNEL_FD, F_SETFD, FD_CLOEXEC);
  return TRUE;
}

/* Dies with the engine. Returns FALSE if the engine is already gone. */
static gboolean
die_with_parent (pid_t expected_parent)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0)
    return FALSE;
  return getppid () == expected_parent;
}

static gboolean
init_python (void)
{
  PyConfig config;
  PyStatus status;

  if (PyImport_AppendInittab ("_orrery", _orr_satellite_module_init) < 0)
    return FALSE;

  /* Isolated: PYTHON* variables and the user's site directory are ignored.
   * The program name makes the prefix resolve to the system Python's, so
   * its standard library and dist-packages are found. */
  PyConfig_InitIsolatedConfig (&config);
  config.write_bytecode = 0;
  status = PyConfig_SetBytesString (&config, &config.program_name, ORRERY_PYTHON);
  if (!PyStatus_Exception (status))
    status = Py_InitializeFromConfig (&config);
  PyConfig_Clear (&config);
  if (PyStatus_Exception (status))
    {
      fprintf (stderr, "orrery-satellite: cannot start Python: %s%s%s\n",
               status.func ? status.func : "", status.func ? ": " : "",
               status.err_msg ? status.err_msg : "unknown error");
      return FALSE;
    }
  return TRUE;
}

static char *
python_version (void)
{
  const char *full = Py_GetVersion ();

  return g_strndup (full, strcspn (full, " "));
}

/* ----------------------------------------------------------------- job */

static int
run_job_mode (void)
{
  int status;

  if (!die_with_parent (getppid ()))
    return ORR_SATELLITE_EXIT_PROTOCOL;
  if (!init_python ())
    return ORR_SATELLITE_EXIT_ERROR;
  if (!_orr_satellite_load_glue ())
    {
      /* e.g. pandas is not installed: tell the engine why. */
      _orr_satellite_send_py_error (CHANNEL_FD, "Cannot start the Python runtime");
      return ORR_SATELLITE_EXIT_ERROR;
    }
  status = _orr_satellite_run_job (CHANNEL_FD);
  fflush (stdout);
  fflush (stderr);
  /* No Py_Finalize(): tearing pandas down costs time and changes nothing. */
  _exit (status);
}

/* -------------------------------------------------------------- zygote */

typedef struct {
  pid_t pid;
  int signal_fd;
  sigset_t saved_mask;
  GHashTable *children;   /* pid → pid */
} Zygote;

static void
zygote_shutdown (Zygote *z,
                 int     status)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, z->children);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    kill (GPOINTER_TO_INT (key), SIGKILL);
  g_hash_table_iter_init (&iter, z->children);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    while (waitpid (GPOINTER_TO_INT (key), NULL, 0) < 0 && errno == EINTR)
      ;
  fflush (stdout);
  fflush (stderr);
  _exit (status);
}

static void
zygote_send (Zygote      *z,
             OrrWireType  type,
             GBytes      *payload)
{
  g_autoptr(GError) error = NULL;

  if (!orr_wire_send (CHANNEL_FD, type, payload, -1, &error))
    {
      fprintf (stderr, "orrery-satellite: %s\n", error->message);
      zygote_shutdown (z, ORR_SATELLITE_EXIT_PROTOCOL);
    }
}

/* The C environment as a dict, for os.environ (which is a copy taken when
 * the interpreter started). */
static PyObject *
environ_dict (void)
{
  PyObject *dict = PyDict_New ();

  for (char **e = environ; dict && e && *e; e++)
    {
      const char *eq = strchr (*e, '=');
      PyObject *key, *value;

      if (eq == NULL)
        continue;
      key = PyUnicode_DecodeFSDefaultAndSize (*e, eq - *e);
      value = PyUnicode_DecodeFSDefault (eq + 1);
      if (key == NULL || value == NULL || PyDict_SetItem (dict, key, value) < 0)
        g_clear_pointer (&dict, Py_DecRef);
      Py_XDECREF (key);
      Py_XDECREF (value);
    }
  return dict;
}

G_GNUC_NORETURN static void
zygote_child (Zygote            *z,
              int                job_fd,
              const OrrWireFork *sandbox)
{
  PyObject *r;
  int status;

  close (CHANNEL_FD);
  close (z->signal_fd);
  if (!die_with_parent (z->pid))
    _exit (ORR_SATELLITE_EXIT_PROTOCOL);
  /* Fork first, then isolate: the zygote stays warm and unconfined. Only
   * the process that runs the job returns, with the job's signal mask. */
  orr_sandbox_enter (sandbox, job_fd, &z->saved_mask, z->pid);
  sigprocmask (SIG_SETMASK, &z->saved_mask, NULL);
  PyOS_AfterFork_Child ();

  if (sandbox->flags != 0)
    r = PyObject_CallMethod (_orr_satellite_get_glue (), "after_fork", "(N)", environ_dict ());
  else
    r = PyObject_CallMethod (_orr_satellite_get_glue (), "after_fork", NULL);
  if (r == NULL)
    {
      _orr_satellite_send_py_error (job_fd, "Cannot prepare the forked satellite");
      _exit (ORR_SATELLITE_EXIT_ERROR);
    }
  Py_DECREF (r);
  status = _orr_satellite_run_job (job_fd);
  fflush (stdout);
  fflush (stderr);
  _exit (status);
}

static void
zygote_fork (Zygote            *z,
             int                job_fd,
             const OrrWireFork *sandbox)
{
  g_autoptr(GBytes) payload = NULL;
  gint32 pid;
  int errsv;

  PyOS_BeforeFork ();
  pid = fork ();
  errsv = errno;
  if (pid == 0)
    zygote_child (z, job_fd, sandbox);
  PyOS_AfterFork_Parent ();

  close (job_fd);
  if (pid < 0)
    fprintf (stderr, "orrery-satellite: cannot fork: %s\n", g_strerror (errsv));
  else
    g_hash_table_add (z->children, GINT_TO_POINTER (pid));
  /* A pid of -1 tells the engine the fork failed. */
  payload = orr_wire_encode_i32s (&pid, 1);
  zygote_send (z, ORR_WIRE_FORKED, payload);
}

static void
zygote_reap (Zygote *z)
{
  struct signalfd_siginfo info;
  struct rusage usage;
  int wstatus;
  pid_t pid;

  while (read (z->signal_fd, &info, sizeof info) > 0)
    ;
  while ((pid = wait4 (-1, &wstatus, WNOHANG, &usage)) > 0)
    {
      gint64 values[ORR_WIRE_EXITED_N_VALUES] = {
        pid, wstatus,
        (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec,
        (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec,
        usage.ru_maxrss, usage.ru_inblock, usage.ru_oublock,
      };
      g_autoptr(GBytes) payload = NULL;

      if (!g_hash_table_remove (z->children, GINT_TO_POINTER (pid)))
        continue;
      payload = orr_wire_encode_i64s (values, ORR_WIRE_EXITED_N_VALUES);
      zygote_send (z, ORR_WIRE_EXITED, payload);
    }
}

static int
run_zygote_mode (void)
{
  Zygote z = { 0 };
  sigset_t mask;
  PyObject *versions;
  const char *strings[3];
  g_autofree char *python = NULL;
  g_autoptr(GBytes) ready = NULL;

  z.pid = getpid ();
  if (!die_with_parent (getppid ()))
    return ORR_SATELLITE_EXIT_PROTOCOL;

  if (!init_python ())
    return ORR_SATELLITE_EXIT_ERROR;
  if (!_orr_satellite_load_glue ())
    {
      PyErr_Print ();
      return ORR_SATELLITE_EXIT_ERROR;
    }
  versions = PyObject_CallMethod (_orr_satellite_get_glue (), "prepare_zygote", NULL);
  if (versions == NULL || !PyArg_ParseTuple (versions, "ss", &strings[1], &strings[2]))
    {
      PyErr_Print ();
      return ORR_SATELLITE_EXIT_ERROR;
    }
  python = python_version ();
  strings[0] = python;
  ready = orr_wire_encode_strings (strings, 3);
  Py_DECREF (versions);

  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, &z.saved_mask);
  z.signal_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (z.signal_fd < 0)
    {
      fprintf (stderr, "orrery-satellite: signalfd: %s\n", g_strerror (errno));
      return ORR_SATELLITE_EXIT_ERROR;
    }
  z.children = g_hash_table_new (NULL, NULL);

  zygote_send (&z, ORR_WIRE_READY, ready);

  for (;;)
    {
      struct pollfd fds[2] = {
        { .fd = CHANNEL_FD, .events = POLLIN },
        { .fd = z.signal_fd, .events = POLLIN },
      };
      g_autoptr(OrrWireMessage) msg = NULL;
      g_autoptr(GError) error = NULL;
      OrrWireFork sandbox;

      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          fprintf (stderr, "orrery-satellite: poll: %s\n", g_strerror (errno));
          zygote_shutdown (&z, ORR_SATELLITE_EXIT_PROTOCOL);
        }
      if (fds[1].revents != 0)
        zygote_reap (&z);
      if (fds[0].revents == 0)
        continue;

      msg = orr_wire_recv (CHANNEL_FD, &error);
      if (msg == NULL)
        {
          /* The engine closed the channel: its children go with it. */
          if (g_error_matches (error, ORR_ERROR, ORR_ERROR_SATELLITE))
            zygote_shutdown (&z, ORR_SATELLITE_EXIT_OK);
          fprintf (stderr, "orrery-satellite: %s\n", error->message);
          zygote_shutdown (&z, ORR_SATELLITE_EXIT_PROTOCOL);
        }
      if (msg->type != ORR_WIRE_FORK || msg->fd < 0)
        {
          fprintf (stderr, "orrery-satellite: malformed message %u on the control channel "
                   "(expected FORK with a job socket)\n", msg->type);
          zygote_shutdown (&z, ORR_SATELLITE_EXIT_PROTOCOL);
        }
      if (!orr_wire_decode_fork (msg->payload, &sandbox, &error))
        {
          fprintf (stderr, "orrery-satellite: %s\n", error->message);
          zygote_shutdown (&z, ORR_SATELLITE_EXIT_PROTOCOL);
        }
      zygote_fork (&z, msg->fd, &sandbox);
      orr_wire_fork_clear (&sandbox);
      msg->fd = -1;
    }
}

int
main (int    argc,
      char **argv)
{
  gboolean job = FALSE, zygote = FALSE;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--job") == 0)
        job = TRUE;
      else if (strcmp (argv[i], "--zygote") == 0)
        zygote = TRUE;
      else if (strcmp (argv[i], "--version") == 0)
        {
          printf ("orrery-satellite %s (Python %s)\n", PACKAGE_VERSION, PY_VERSION);
          return 0;
        }
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          fputs (usage_text, stdout);
          return 0;
        }
      else
        {
          g_autofree char *message = g_strdup_printf ("unknown argument “%s”", argv[i]);
          return usage_error (message);
        }
    }
  if (job == zygote)
    return usage_error (job ? "--job and --zygote exclude each other" : "a mode is needed");
  if (!check_channel ())
    return ORR_SATELLITE_EXIT_PROTOCOL;

  /* BLAS thread pools would make the zygote multi-threaded, and fork()
   * only copies the calling thread. Jobs started with --job get the same,
   * so that a script behaves alike in both modes. */
  g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  g_setenv ("OMP_NUM_THREADS", "1", TRUE);
  g_setenv ("MKL_NUM_THREADS", "1", TRUE);

  return zygote ? run_zygote_mode () : run_job_mode ();
}
