/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-launchpad"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "orr-error.h"
#include "orr-launchpad.h"
#include "orr-wire.h"

/* How long a client waits for another one's launchpad to appear (it binds
 * its socket before exec, so this is only ever a few milliseconds). */
#define START_RACE_TIMEOUT_MS 5000
#define MAX_IDLE_S (7 * 24 * 3600)

static gboolean
check_private_dir (const char *path, GError **error)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot use the launchpad directory %s: %s"),
                   path, g_strerror (errsv));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                   _("Refusing the launchpad directory %s: it must be a directory owned by uid %u with mode 0700 "
                     "(it is %s, owned by uid %u, mode %04o)"),
                   path, (guint) geteuid (), S_ISDIR (st.st_mode) ? _("a directory") : _("not a directory"),
                   (guint) st.st_uid, (guint) (st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

char *
orr_launchpad_dup_dir (GError **error)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *dir = NULL;

  /* An XDG_RUNTIME_DIR that is no directory (/dev/null says "none") is as
   * good as unset. */
  if (runtime && g_path_is_absolute (runtime) && g_file_test (runtime, G_FILE_TEST_IS_DIR))
    dir = g_build_filename (runtime, "orrery", NULL);
  else if (geteuid () == 0)
    {
      /* /run/orrery also holds the isolation's directories: ours is below. */
      if (mkdir ("/run/orrery", 0755) != 0 && errno != EEXIST)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create %s: %s"), "/run/orrery",
                       g_strerror (errsv));
          return NULL;
        }
      dir = g_strdup ("/run/orrery/launchpad");
    }
  else
    {
      g_autofree char *name = g_strdup_printf ("orrery-%u", (guint) geteuid ());
      dir = g_build_filename (g_get_tmp_dir (), name, NULL);
    }
  if (mkdir (dir, 0700) != 0 && errno != EEXIST)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create the launchpad directory %s: %s"),
                   dir, g_strerror (errsv));
      return NULL;
    }
  if (!check_private_dir (dir, error))
    return NULL;
  return g_steal_pointer (&dir);
}

/* Names the launchpad after everything that must match for its children to
 * be what a private zygote would have forked. */
static char *
launchpad_key (const char *satellite, const struct stat *st, const char * const *envp)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *identity = g_strdup_printf ("%u\n%s\n%ju:%ju:%jd:%ld.%ld\n", (guint) geteuid (), satellite,
                                               (uintmax_t) st->st_dev, (uintmax_t) st->st_ino,
                                               (intmax_t) st->st_size, (long) st->st_mtim.tv_sec,
                                               (long) st->st_mtim.tv_nsec);

  g_checksum_update (sum, (const guchar *) identity, -1);
  for (guint i = 0; envp && envp[i]; i++)
    {
      g_checksum_update (sum, (const guchar *) envp[i], -1);
      g_checksum_update (sum, (const guchar *) "\n", 1);
    }
  return g_strndup (g_checksum_get_string (sum), 20);
}

static gboolean
fill_address (struct sockaddr_un *addr, const char *path, GError **error)
{
  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof addr->sun_path)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                   _("The launchpad socket path %s is too long for a unix socket (at most %zu bytes)"),
                   path, sizeof addr->sun_path - 1);
      return FALSE;
    }
  strcpy (addr->sun_path, path);
  return TRUE;
}

/* Returns a connected socket, or -1 with errno set. */
static int
try_connect (const struct sockaddr_un *addr)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  if (connect (fd, (const struct sockaddr *) addr, sizeof *addr) != 0)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return -1;
    }
  return fd;
}

static void
child_setup (gpointer data)
{
  /* Its own session: no terminal, no signal from the starter's job control. */
  setsid ();
}

static gboolean
parse_idle (guint *idle_s, GError **error)
{
  const char *env = g_getenv ("ORRERY_LAUNCHPAD_IDLE");
  guint64 value;

  *idle_s = ORR_LAUNCHPAD_DEFAULT_IDLE_S;
  if (env == NULL || *env == '\0')
    return TRUE;
  if (!g_ascii_string_to_unsigned (env, 10, 1, MAX_IDLE_S, &value, NULL))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("ORRERY_LAUNCHPAD_IDLE must be a number of seconds from 1 to %u (got “%s”)"),
                   MAX_IDLE_S, env);
      return FALSE;
    }
  *idle_s = value;
  return TRUE;
}

/* Holding the lock: nobody serves @addr. Binds it, then starts the
 * launchpad on the listening socket (descriptor 3) and the lock
 * (descriptor 4, which it keeps locked while it lives). */
static gboolean
start_launchpad (const char               *satellite,
                 const char * const       *envp,
                 const struct sockaddr_un *addr,
                 int                       lock_fd,
                 guint                     idle_s,
                 GError                  **error)
{
  g_autofree char *idle_arg = g_strdup_printf ("--idle=%u", idle_s);
  const char *argv[] = { satellite, "--launchpad", idle_arg, NULL };
  int listen_fd;
  int source_fds[2], target_fds[2] = { 3, 4 };
  gboolean ok;

  unlink (addr->sun_path);   /* a socket left by a launchpad that died */
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0 || bind (listen_fd, (const struct sockaddr *) addr, sizeof *addr) != 0 ||
      listen (listen_fd, 128) != 0)
    {
      int errsv = errno;
      if (listen_fd >= 0)
        close (listen_fd);
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot listen on the launchpad socket %s: %s"),
                   addr->sun_path, g_strerror (errsv));
      return FALSE;
    }
  source_fds[0] = listen_fd;
  source_fds[1] = lock_fd;
  /* Not DO_NOT_REAP_CHILD: GLib forks through an intermediate child, so the
   * launchpad is nobody's child here and no zombie is left behind. */
  ok = g_spawn_async_with_pipes_and_fds ("/", argv, envp,
                                         G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                         child_setup, NULL, -1, -1, -1, source_fds, target_fds, 2,
                                         NULL, NULL, NULL, NULL, error);
  close (listen_fd);
  if (!ok)
    {
      unlink (addr->sun_path);
      g_prefix_error (error, _("Cannot start the launchpad: "));
    }
  return ok;
}

/* @closed: whether the launchpad hung up before it said it was ready (one
 * that found itself out of date does that to its waiting clients). */
static gboolean
receive_ready (int fd, int timeout_ms, char ***versions, gboolean *closed, GError **error)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  g_autoptr(OrrWireMessage) msg = NULL;
  int rc;

  do
    rc = poll (&pfd, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc <= 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("The launchpad did not answer within %d s"),
                   timeout_ms / 1000);
      return FALSE;
    }
  *closed = FALSE;
  msg = orr_wire_recv (fd, error);
  if (msg == NULL)
    {
      *closed = TRUE;
      g_prefix_error (error, _("The launchpad closed the connection: "));
      return FALSE;
    }
  if (msg->type != ORR_WIRE_READY || (*versions = orr_wire_decode_strings (msg->payload, 3, error)) == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("The launchpad did not say it was ready"));
      return FALSE;
    }
  return TRUE;
}

/* The server end must belong to this uid (the directory already ensures
 * it; this guards against a socket put there some other way). */
static gboolean
check_server (int fd, const char *path, GError **error)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid ())
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                   _("Refusing the launchpad at %s: it does not run as uid %u"), path, (guint) geteuid ());
      return FALSE;
    }
  return TRUE;
}

int
orr_launchpad_connect (const char         *satellite_path,
                       const char * const *envp,
                       int                 ready_timeout_ms,
                       char             ***versions,
                       GError            **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *satellite = NULL;
  g_autofree char *key = NULL;
  g_autofree char *sock_path = NULL;
  g_autofree char *lock_path = NULL;
  struct sockaddr_un addr;
  struct stat st;
  gint64 deadline;
  guint idle_s;
  gboolean started = FALSE;
  gboolean retried = FALSE;
  gboolean closed = FALSE;
  g_autoptr(GError) ready_error = NULL;
  int lock_fd = -1;
  int fd = -1;

  g_return_val_if_fail (satellite_path != NULL && versions != NULL, -1);
  *versions = NULL;

  if (!parse_idle (&idle_s, error))
    return -1;
  satellite = realpath (satellite_path, NULL);
  if (satellite == NULL || stat (satellite, &st) != 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot find the satellite program %s: %s"),
                   satellite_path, g_strerror (errsv));
      return -1;
    }
  dir = orr_launchpad_dup_dir (error);
  if (dir == NULL)
    return -1;
  key = launchpad_key (satellite, &st, envp);
  sock_path = g_strdup_printf ("%s/lp-%s.sock", dir, key);
  lock_path = g_strdup_printf ("%s/lp-%s.lock", dir, key);
  if (!fill_address (&addr, sock_path, error))
    return -1;

  deadline = g_get_monotonic_time () + START_RACE_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
again:
  for (;;)
    {
      fd = try_connect (&addr);
      if (fd >= 0)
        break;
      if (errno != ENOENT && errno != ECONNREFUSED)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot connect to the launchpad at %s: %s"),
                       sock_path, g_strerror (errsv));
          goto fail;
        }
      /* Nobody listens: whoever holds the lock starts one. A live launchpad
       * holds it too, so a locked file with no listener is one on its way
       * out (or in): wait for it. */
      if (lock_fd < 0)
        {
          lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
          if (lock_fd < 0)
            {
              int errsv = errno;
              g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot open the launchpad lock %s: %s"),
                           lock_path, g_strerror (errsv));
              goto fail;
            }
        }
      if (flock (lock_fd, LOCK_EX | LOCK_NB) == 0)
        {
          gboolean ok;

          if (started)
            {
              /* Ours started and is gone already (it could not start Python…). */
              g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                           _("The launchpad %s exited right after it started"), satellite);
              goto fail;
            }
          ok = start_launchpad (satellite, envp, &addr, lock_fd, idle_s, error);
          started = TRUE;
          /* Our copy goes; the launchpad's keeps the lock. */
          close (lock_fd);
          lock_fd = -1;
          if (!ok)
            goto fail;
          continue;
        }
      if (errno != EWOULDBLOCK)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot lock %s: %s"), lock_path,
                       g_strerror (errsv));
          goto fail;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE,
                       _("The launchpad at %s holds its lock but does not listen"), sock_path);
          goto fail;
        }
      g_usleep (5000);
    }
  if (lock_fd >= 0)
    close (lock_fd);
  lock_fd = -1;

  if (!check_server (fd, sock_path, error))
    goto fail;
  if (!receive_ready (fd, ready_timeout_ms, versions, &closed, &ready_error))
    {
      /* A launchpad that found itself out of date (its binary or a library
       * was replaced) drops its waiting clients and gives up its socket and
       * lock: try once more, which starts a current one. */
      if (!retried && closed)
        {
          retried = TRUE;
          g_clear_error (&ready_error);
          close (fd);
          fd = -1;
          deadline = g_get_monotonic_time () + START_RACE_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
          started = FALSE;
          goto again;
        }
      g_propagate_error (error, g_steal_pointer (&ready_error));
      goto fail;
    }
  return fd;

fail:
  if (lock_fd >= 0)
    close (lock_fd);
  if (fd >= 0)
    close (fd);
  return -1;
}
