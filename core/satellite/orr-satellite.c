/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-satellite"

#include "config.h"

#include <Python.h>
#include <glib/gi18n-lib.h>

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
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
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
 *   --launchpad  the same, resident: fd 3 is a listening unix socket any
 *             engine of this uid may connect to (see core/orr-launchpad.h).
 */

#define CHANNEL_FD 3

static const char usage_text[] =
  "Usage: orrery-satellite --job | --zygote | --launchpad [--idle=SECONDS]\n"
  "\n"
  "Runs Python scripts for the Orrery engine, which starts it with a socket on\n"
  "descriptor 3; it is not meant to be run by hand.\n"
  "\n"
  "  --job       run the one job that arrives on descriptor 3, then exit\n"
  "  --zygote    serve FORK requests on descriptor 3 with a warm interpreter\n"
  "  --launchpad serve the engines of this uid that connect to the listening\n"
  "              socket on descriptor 3 (descriptor 4: its lock) until idle\n"
  "              for SECONDS (default 600)\n"
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
      _orr_satellite_send_py_error (CHANNEL_FD, _("Cannot start the Python runtime"));
      return ORR_SATELLITE_EXIT_ERROR;
    }
  status = _orr_satellite_run_job (CHANNEL_FD);
  fflush (stdout);
  fflush (stderr);
  /* No Py_Finalize(): tearing pandas down costs time and changes nothing. */
  _exit (status);
}

/* -------------------------------------------------------------- zygote */

/*
 * The zygote serves one engine on descriptor 3 (--zygote), or, as the
 * resident launchpad (--launchpad), any number of engines of its own uid
 * that connect to the listening socket on descriptor 3 (descriptor 4 is the
 * lock it holds while it lives). Each connection gets READY, then FORK →
 * FORKED, and EXITED for each of its children; a connection that closes
 * takes its children with it. Single-threaded: one poll() over the
 * listener, SIGCHLD and every connection.
 */

#define LOCK_FD 4
#define IDLE_CHECK_MS 1000

typedef struct {
  pid_t pid;
  int signal_fd;
  sigset_t saved_mask;
  GHashTable *children;   /* pid → owner connection's fd + 1 (0: orphaned) */
  GArray *clients;        /* int fds of the connections */
  GBytes *ready;
  /* launchpad only */
  gboolean launchpad;
  guint idle_s;
  char *exe_path;
  struct stat exe_st;
  GPtrArray *files;       /* LoadedFile: what it runs, as it was when loaded */
  gboolean retired;       /* socket and lock given up: leaves when idle */
  char *sock_path;
  struct stat sock_st;
  ino_t ns[3];
} Zygote;

static const char * const ns_names[3] = { "user", "mnt", "pid" };

typedef struct {
  char *path;
  struct stat st;
} LoadedFile;

static void
loaded_file_free (gpointer data)
{
  LoadedFile *f = data;

  g_free (f->path);
  g_free (f);
}

static void
zygote_cleanup_socket (Zygote *z)
{
  struct stat st;

  /* Still ours (we hold the lock, so nobody replaced it)? */
  if (z->sock_path && stat (z->sock_path, &st) == 0 && st.st_ino == z->sock_st.st_ino &&
      st.st_dev == z->sock_st.st_dev)
    unlink (z->sock_path);
}

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
  if (z->launchpad)
    zygote_cleanup_socket (z);
  fflush (stdout);
  fflush (stderr);
  _exit (status);
}

/* A connection is gone: its children go with it (they are reaped, and
 * reported to nobody). The private zygote leaves with its only engine. */
static void
zygote_drop_client (Zygote *z,
                    int     fd,
                    int     status)
{
  GHashTableIter iter;
  gpointer key, value;

  if (!z->launchpad)
    zygote_shutdown (z, status);
  g_hash_table_iter_init (&iter, z->children);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_INT (value) == fd + 1)
      {
        kill (GPOINTER_TO_INT (key), SIGKILL);
        g_hash_table_iter_replace (&iter, GINT_TO_POINTER (0));
      }
  for (guint i = 0; i < z->clients->len; i++)
    if (g_array_index (z->clients, int, i) == fd)
      {
        g_array_remove_index (z->clients, i);
        break;
      }
  close (fd);
}

static gboolean
zygote_send (Zygote      *z,
             int          fd,
             OrrWireType  type,
             GBytes      *payload)
{
  g_autoptr(GError) error = NULL;

  if (!orr_wire_send (fd, type, payload, -1, &error))
    {
      fprintf (stderr, "orrery-satellite: %s\n", error->message);
      zygote_drop_client (z, fd, ORR_SATELLITE_EXIT_PROTOCOL);
      return FALSE;
    }
  return TRUE;
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

  /* Nothing of the zygote's: not its channel or listener, not the other
   * engines' connections, not its lock. */
  close (CHANNEL_FD);
  close (z->signal_fd);
  for (guint i = 0; i < z->clients->len; i++)
    close (g_array_index (z->clients, int, i));
  if (z->launchpad)
    close (LOCK_FD);
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
             int                client,
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
    g_hash_table_insert (z->children, GINT_TO_POINTER (pid), GINT_TO_POINTER (client + 1));
  /* A pid of -1 tells the engine the fork failed. */
  payload = orr_wire_encode_i32s (&pid, 1);
  zygote_send (z, client, ORR_WIRE_FORKED, payload);
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
      gpointer owner;

      /* Not ours (an orphan the launchpad adopted as subreaper): reaped. */
      if (!g_hash_table_lookup_extended (z->children, GINT_TO_POINTER (pid), NULL, &owner))
        continue;
      g_hash_table_remove (z->children, GINT_TO_POINTER (pid));
      if (GPOINTER_TO_INT (owner) == 0)
        continue;
      payload = orr_wire_encode_i64s (values, ORR_WIRE_EXITED_N_VALUES);
      zygote_send (z, GPOINTER_TO_INT (owner) - 1, ORR_WIRE_EXITED, payload);
    }
}

/* One message from a connection: FORK, or the end of it. */
static void
zygote_serve (Zygote *z,
              int     client)
{
  g_autoptr(OrrWireMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  OrrWireFork sandbox;

  msg = orr_wire_recv (client, &error);
  if (msg == NULL)
    {
      /* The engine closed the channel: its children go with it. */
      if (g_error_matches (error, ORR_ERROR, ORR_ERROR_SATELLITE))
        {
          zygote_drop_client (z, client, ORR_SATELLITE_EXIT_OK);
          return;
        }
      fprintf (stderr, "orrery-satellite: %s\n", error->message);
      zygote_drop_client (z, client, ORR_SATELLITE_EXIT_PROTOCOL);
      return;
    }
  if (msg->type != ORR_WIRE_FORK || msg->fd < 0)
    {
      fprintf (stderr, "orrery-satellite: malformed message %u on the control channel "
               "(expected FORK with a job socket)\n", msg->type);
      zygote_drop_client (z, client, ORR_SATELLITE_EXIT_PROTOCOL);
      return;
    }
  if (!orr_wire_decode_fork (msg->payload, &sandbox, &error))
    {
      fprintf (stderr, "orrery-satellite: %s\n", error->message);
      zygote_drop_client (z, client, ORR_SATELLITE_EXIT_PROTOCOL);
      return;
    }
  zygote_fork (z, client, msg->fd, &sandbox);
  orr_wire_fork_clear (&sandbox);
  msg->fd = -1;
}

/* ------------------------------------------------------------ launchpad */

static gboolean
read_ns (pid_t pid, ino_t ns[3])
{
  for (guint i = 0; i < G_N_ELEMENTS (ns_names); i++)
    {
      char path[64];
      struct stat st;

      if (pid > 0)
        g_snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) pid, ns_names[i]);
      else
        g_snprintf (path, sizeof path, "/proc/self/ns/%s", ns_names[i]);
      if (stat (path, &st) != 0)
        return FALSE;
      ns[i] = st.st_ino;
    }
  return TRUE;
}

/* Is @pid one of the launchpad's descendants (a job, or anything a job
 * started: the launchpad is their subreaper, so they stay below it)? */
static gboolean
is_descendant (Zygote *z, pid_t pid)
{
  for (int depth = 0; pid > 1 && depth < 4096; depth++)
    {
      char path[64];
      g_autofree char *stat_text = NULL;
      const char *close_paren;
      int ppid;

      if (pid == z->pid)
        return TRUE;
      g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
      if (!g_file_get_contents (path, &stat_text, NULL, NULL))
        return TRUE;   /* cannot tell: refuse */
      close_paren = strrchr (stat_text, ')');
      if (close_paren == NULL || sscanf (close_paren + 1, " %*c %d", &ppid) != 1)
        return TRUE;
      pid = ppid;
    }
  return FALSE;
}

/* Only an engine of our uid, outside every job, in our namespaces. A job
 * of a non-root engine runs as the same uid in a user namespace: it is
 * refused as our descendant and by its namespaces (besides, /run, /tmp and
 * XDG_RUNTIME_DIR are hidden from it). */
static gboolean
peer_allowed (Zygote *z, int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;
  ino_t ns[3];

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return FALSE;
  if (cred.uid != geteuid () || cred.pid <= 0)
    return FALSE;
  if (!read_ns (cred.pid, ns) || memcmp (ns, z->ns, sizeof ns) != 0)
    return FALSE;
  return !is_descendant (z, cred.pid);
}

static gboolean launchpad_stale (Zygote *z);
static void launchpad_retire (Zygote *z);

static void
launchpad_accept (Zygote *z)
{
  int fd;

  /* Replaced since it started: closing the listener drops the waiting
   * clients, who start a launchpad of what is there now. */
  if (launchpad_stale (z))
    {
      launchpad_retire (z);
      return;
    }
  fd = accept4 (CHANNEL_FD, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (!peer_allowed (z, fd))
    {
      close (fd);
      return;
    }
  g_array_append_val (z->clients, fd);
  zygote_send (z, fd, ORR_WIRE_READY, z->ready);
}

static gboolean
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Every file mapped now (the satellite, libpython, numpy's and pandas'
 * extension modules, the message catalog…): once everything is loaded, what
 * a job would run. */
static void
record_loaded_files (Zygote *z)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  z->files = g_ptr_array_new_with_free_func (loaded_file_free);
  if (!g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL))
    return;
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *path = strchr (lines[i], '/');
      LoadedFile *f;

      if (path == NULL || g_str_has_suffix (path, " (deleted)") || g_hash_table_contains (seen, path))
        continue;
      f = g_new0 (LoadedFile, 1);
      if (stat (path, &f->st) != 0)
        {
          g_free (f);
          continue;
        }
      f->path = g_strdup (path);
      g_hash_table_add (seen, f->path);
      g_ptr_array_add (z->files, f);
    }
}

/* Was any of it replaced since (a rebuild, an upgrade, a new catalog)? A
 * launchpad that would not run what a new zygote would must not serve. */
static gboolean
launchpad_stale (Zygote *z)
{
  struct stat st;

  if (stat (z->exe_path, &st) != 0 || !same_file (&st, &z->exe_st))
    return TRUE;
  for (guint i = 0; z->files && i < z->files->len; i++)
    {
      LoadedFile *f = g_ptr_array_index (z->files, i);

      if (stat (f->path, &st) != 0 || !same_file (&st, &f->st))
        return TRUE;
    }
  return FALSE;
}

/* Gives up the socket and the lock, so that a new launchpad may start at
 * once; serves its connections and children until they are gone. */
static void
launchpad_retire (Zygote *z)
{
  int null_fd;

  if (z->retired)
    return;
  zygote_cleanup_socket (z);
  /* /dev/null over both rather than close(): descriptors 3 and 4 must stay
   * taken, or the next job socket would land there and a child, closing
   * "the channel and the lock", would close it. */
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup3 (null_fd, CHANNEL_FD, O_CLOEXEC) < 0 || dup3 (null_fd, LOCK_FD, O_CLOEXEC) < 0)
    {
      /* Cannot let go safely: leave now (connections see EOF; their
       * children go with us). */
      zygote_shutdown (z, ORR_SATELLITE_EXIT_OK);
    }
  close (null_fd);
  z->retired = TRUE;
}

/* Time to go? Only when nobody is connected and no job runs. */
static gboolean
launchpad_should_leave (Zygote *z, gint64 idle_since)
{
  struct stat st;

  if (z->clients->len > 0 || g_hash_table_size (z->children) > 0)
    return FALSE;
  if (z->retired)
    return TRUE;
  if (g_get_monotonic_time () - idle_since >= (gint64) z->idle_s * G_USEC_PER_SEC)
    return TRUE;
  /* A new build or upgrade: its clients look for a new launchpad. */
  if (launchpad_stale (z))
    return TRUE;
  /* Our socket was removed or replaced: nobody can reach us any more. */
  if (stat (z->sock_path, &st) != 0 || st.st_ino != z->sock_st.st_ino || st.st_dev != z->sock_st.st_dev)
    return TRUE;
  return FALSE;
}

static gboolean
launchpad_setup (Zygote *z)
{
  struct sockaddr_un addr;
  socklen_t len = sizeof addr;
  int listening = 0;
  socklen_t olen = sizeof listening;
  char pid_text[32];
  int n;

  if (getsockopt (CHANNEL_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) != 0 || !listening ||
      getsockname (CHANNEL_FD, (struct sockaddr *) &addr, &len) != 0 || addr.sun_family != AF_UNIX ||
      len <= offsetof (struct sockaddr_un, sun_path) + 1 || addr.sun_path[0] == '\0')
    {
      fprintf (stderr, "orrery-satellite: descriptor %d is not a listening unix socket\n", CHANNEL_FD);
      return FALSE;
    }
  addr.sun_path[MIN (len - offsetof (struct sockaddr_un, sun_path), sizeof addr.sun_path - 1)] = '\0';
  z->sock_path = g_strdup (addr.sun_path);
  z->exe_path = g_file_read_link ("/proc/self/exe", NULL);
  if (z->exe_path == NULL || stat (z->exe_path, &z->exe_st) != 0 || stat (z->sock_path, &z->sock_st) != 0 ||
      !read_ns (0, z->ns))
    {
      fprintf (stderr, "orrery-satellite: cannot stat the launchpad's binary, socket or namespaces\n");
      return FALSE;
    }
  fcntl (LOCK_FD, F_SETFD, FD_CLOEXEC);
  /* The lock file says who holds it (for people, and the tests). */
  n = g_snprintf (pid_text, sizeof pid_text, "%d\n", (int) z->pid);
  if (ftruncate (LOCK_FD, 0) != 0 || pwrite (LOCK_FD, pid_text, n, 0) != n)
    fprintf (stderr, "orrery-satellite: cannot write the launchpad's pid into its lock\n");
  /* Whatever a job leaves behind comes back to us, not to init: so every
   * process a job starts stays our descendant, which peer_allowed() checks. */
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  return TRUE;
}

static int
run_zygote_mode (gboolean launchpad,
                 guint    idle_s)
{
  Zygote z = { 0 };
  sigset_t mask;
  PyObject *versions;
  const char *strings[3];
  g_autofree char *python = NULL;
  gint64 idle_since;

  z.pid = getpid ();
  z.launchpad = launchpad;
  z.idle_s = idle_s;
  z.clients = g_array_new (FALSE, FALSE, sizeof (int));
  if (launchpad)
    {
      /* Detached by the engine (setsid, no parent to die with). */
      if (!launchpad_setup (&z))
        return ORR_SATELLITE_EXIT_PROTOCOL;
    }
  else if (!die_with_parent (getppid ()))
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
  z.ready = orr_wire_encode_strings (strings, 3);
  Py_DECREF (versions);
  if (launchpad)
    record_loaded_files (&z);

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

  if (!launchpad)
    {
      int channel = CHANNEL_FD;

      g_array_append_val (z.clients, channel);
      zygote_send (&z, CHANNEL_FD, ORR_WIRE_READY, z.ready);
    }

  idle_since = g_get_monotonic_time ();
  for (;;)
    {
      guint n_clients = z.clients->len;
      g_autofree struct pollfd *fds = g_new0 (struct pollfd, n_clients + 2);
      g_autofree int *clients = g_memdup2 (z.clients->data, n_clients * sizeof (int));
      int rc;

      fds[0].fd = z.signal_fd;
      fds[0].events = POLLIN;
      /* The private zygote's listener slot stays empty (fd -1). */
      fds[1].fd = launchpad && !z.retired ? CHANNEL_FD : -1;
      fds[1].events = POLLIN;
      for (guint i = 0; i < n_clients; i++)
        {
          fds[i + 2].fd = clients[i];
          fds[i + 2].events = POLLIN;
        }
      rc = poll (fds, n_clients + 2, launchpad ? IDLE_CHECK_MS : -1);
      if (rc < 0)
        {
          if (errno == EINTR)
            continue;
          fprintf (stderr, "orrery-satellite: poll: %s\n", g_strerror (errno));
          zygote_shutdown (&z, ORR_SATELLITE_EXIT_PROTOCOL);
        }
      if (fds[0].revents != 0)
        zygote_reap (&z);
      /* Connections first (a FORK, or its close), then new ones. Each fd is
       * looked up again: an EXITED that could not be sent dropped it. */
      for (guint i = 0; i < n_clients; i++)
        {
          gboolean still = FALSE;

          if (fds[i + 2].revents == 0)
            continue;
          for (guint j = 0; j < z.clients->len; j++)
            still |= g_array_index (z.clients, int, j) == clients[i];
          if (still)
            zygote_serve (&z, clients[i]);
        }
      if (launchpad && fds[1].revents != 0)
        launchpad_accept (&z);

      if (!launchpad)
        continue;
      if (z.clients->len > 0 || g_hash_table_size (z.children) > 0)
        idle_since = g_get_monotonic_time ();
      else if (launchpad_should_leave (&z, idle_since))
        zygote_shutdown (&z, ORR_SATELLITE_EXIT_OK);
    }
}

int
main (int    argc,
      char **argv)
{
  gboolean job = FALSE, zygote = FALSE, launchpad = FALSE;
  guint idle_s = 600;

  /* The user's language (the engine passes LANG, LANGUAGE, LC_* and
   * ORRERY_LOCALEDIR through). Only LC_MESSAGES: number formats stay C for
   * Python and numpy. The catalog is read now, before any job's sandbox
   * hides the file system; forked jobs inherit it loaded. */
  orr_i18n_init (LC_MESSAGES);
  {
    const char *header = "";   /* msgid "": the catalog's header */

    (void) dgettext (GETTEXT_PACKAGE, header);
  }

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--job") == 0)
        job = TRUE;
      else if (strcmp (argv[i], "--zygote") == 0)
        zygote = TRUE;
      else if (strcmp (argv[i], "--launchpad") == 0)
        launchpad = TRUE;
      else if (g_str_has_prefix (argv[i], "--idle="))
        {
          guint64 value;

          if (!g_ascii_string_to_unsigned (argv[i] + 7, 10, 1, G_MAXUINT, &value, NULL))
            return usage_error ("--idle= takes a number of seconds");
          idle_s = value;
        }
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
          g_autofree char *message = g_strdup_printf (_("unknown argument “%s”"), argv[i]);
          return usage_error (message);
        }
    }
  if (job + zygote + launchpad != 1)
    return usage_error (job || zygote || launchpad ? "--job, --zygote and --launchpad exclude each other"
                                                   : "a mode is needed");
  if (!check_channel ())
    return ORR_SATELLITE_EXIT_PROTOCOL;

  /* BLAS thread pools would make the zygote multi-threaded, and fork()
   * only copies the calling thread. Jobs started with --job get the same,
   * so that a script behaves alike in both modes. */
  g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  g_setenv ("OMP_NUM_THREADS", "1", TRUE);
  g_setenv ("MKL_NUM_THREADS", "1", TRUE);

  return job ? run_job_mode () : run_zygote_mode (launchpad, idle_s);
}
