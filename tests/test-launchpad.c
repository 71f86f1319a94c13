/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-launchpad"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orr-job-private.h"
#include "orr-launchpad.h"

/*
 * The resident launchpad (orr-launchpad.h): jobs through it, one launchpad
 * for several engines and for CLIs started at once, another uid refused,
 * its exit when idle or when its binary changes, the fallback when it dies,
 * and a job's sandbox through it. Every test has its own XDG_RUNTIME_DIR
 * (so its own launchpads) and kills what it started; the demo SQLite
 * database needs no server.
 */

static char *base_dir;
static char *satellite;
static OrrConnection *conn;

/* ------------------------------------------------------------ helpers */

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        unlink (child);
    }
  rmdir (path);
}

/* Alive, and not a zombie waiting for init to reap it. */
static gboolean
alive (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *paren;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (paren = strrchr (text, ')')) == NULL)
    return FALSE;
  return paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Pids of the launchpads under the current XDG_RUNTIME_DIR (from their
 * locks), alive ones only. */
static GArray *
launchpad_pids (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("XDG_RUNTIME_DIR"), "orrery", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;
      int pid;

      if (!g_str_has_suffix (name, ".lock"))
        continue;
      path = g_build_filename (dir, name, NULL);
      if (!g_file_get_contents (path, &text, NULL, NULL) || (pid = atoi (text)) <= 0)
        continue;
      if (alive (pid))
        g_array_append_val (pids, pid);
    }
  return pids;
}

static gboolean
wait_gone (int pid, int ms)
{
  for (int i = 0; i < ms / 20; i++)
    {
      if (!alive (pid))
        return TRUE;
      g_usleep (20 * 1000);
    }
  return FALSE;
}

/* A fresh runtime directory (so no launchpad yet) for one test. */
static char *
fresh_runtime_dir (void)
{
  static int n;
  g_autofree char *name = g_strdup_printf ("run%d", ++n);
  char *dir = g_build_filename (base_dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);
  return dir;
}

/* Kills the launchpads of the current runtime directory. */
static void
kill_launchpads (void)
{
  g_autoptr(GArray) pids = launchpad_pids ();

  for (guint i = 0; i < pids->len; i++)
    {
      kill (g_array_index (pids, int, i), SIGKILL);
      wait_gone (g_array_index (pids, int, i), 5000);
    }
}

/* Is @pid's listening socket (descriptor 3) under @dir? */
static gboolean
launchpad_socket_in (int pid, const char *dir)
{
  g_autofree char *unix_table = NULL;
  g_autofree char *fd_path = g_strdup_printf ("/proc/%d/fd/3", pid);
  g_autofree char *target = g_file_read_link (fd_path, NULL);
  g_autofree char *inode = NULL;
  g_auto(GStrv) lines = NULL;

  if (target == NULL || !g_str_has_prefix (target, "socket:["))
    return FALSE;
  inode = g_strndup (target + 8, strlen (target) - 9);
  if (!g_file_get_contents ("/proc/net/unix", &unix_table, NULL, NULL))
    return FALSE;
  lines = g_strsplit (unix_table, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      guint n = g_strv_length (f);

      if (n >= 8 && g_str_equal (f[6], inode) && g_str_has_prefix (f[n - 1], dir))
        return TRUE;
    }
  return FALSE;
}

static OrrEngine *
launchpad_engine (void)
{
  OrrEngine *engine = orr_engine_new ();

  orr_engine_set_satellite_path (engine, satellite);
  orr_engine_set_use_launchpad (engine, TRUE);
  return engine;
}

static OrrJob *
run_job (OrrEngine *engine, const char *script, const char *input)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  OrrJob *job;

  spec->script = g_strdup (script);
  spec->input_query = g_strdup (input);
  spec->timeout_ms = 60000;
  job = orr_engine_submit (engine, conn, spec);
  orr_job_wait (job);
  return job;
}

static void
assert_job_ok (OrrJob *job, guint64 rows_out)
{
  g_assert_no_error ((GError *) orr_job_get_error (job));
  g_assert_cmpint (orr_job_get_state (job), ==, ORR_JOB_SUCCEEDED);
  g_assert_cmpuint (orr_job_get_rows_out (job), ==, rows_out);
}

/* The job's standard output, collected from its messages. */
static void
on_message (OrrJob *job, guint kind, const char *text, GString *out)
{
  if (kind == ORR_JOB_MESSAGE_STDOUT)
    g_string_append (out, text);
}

/* ------------------------------------------------------------ tests */

static void
test_jobs (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autoptr(OrrEngine) a = launchpad_engine ();
  g_autoptr(OrrEngine) b = launchpad_engine ();
  g_autoptr(OrrJob) j1 = NULL;
  g_autoptr(OrrJob) j2 = NULL;
  g_autoptr(GArray) pids = NULL;
  OrrJob *jobs[8];
  int pid;

  g_test_summary ("Jobs run through the launchpad; two engines share one launchpad, with jobs at the same time");
  j1 = run_job (a, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (j1, 1);
  g_assert_true (orr_engine_get_uses_launchpad (a));
  g_assert_nonnull (orr_engine_get_pandas_version (a));
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  pid = g_array_index (pids, int, 0);
  /* Detached: its own session, nobody's child here. */
  g_assert_cmpint (getsid (pid), ==, pid);

  j2 = run_job (b, "OutputDataSet = InputDataSet", "SELECT 2 AS x");
  assert_job_ok (j2, 1);
  g_assert_true (orr_engine_get_uses_launchpad (b));
  g_clear_pointer (&pids, g_array_unref);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  g_assert_cmpint (g_array_index (pids, int, 0), ==, pid);

  /* Interleaved: each engine gets its own FORKED and EXITED. */
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();

      spec->script = g_strdup_printf ("import time\ntime.sleep(0.%u)\nOutputDataSet = InputDataSet", i % 3);
      spec->input_query = g_strdup ("SELECT 1 AS x UNION ALL SELECT 2");
      jobs[i] = orr_engine_submit (i % 2 ? a : b, conn, spec);
    }
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      orr_job_wait (jobs[i]);
      assert_job_ok (jobs[i], 2);
      /* The exit was reported to the right engine, with its resource use. */
      g_assert_true (jobs[i]->exited);
      g_assert_cmpint (jobs[i]->peak_memory_bytes, >, 0);
      g_object_unref (jobs[i]);
    }
  g_clear_object (&a);
  g_clear_object (&b);
  /* The engines are gone, the launchpad stays for the next one. */
  g_usleep (100 * 1000);
  g_assert_true (alive (pid));
  kill_launchpads ();
}

/* In a child: become @uid, keeping CAP_DAC_OVERRIDE/READ_SEARCH when
 * @keep_dac (so the directory's mode does not stop it and the launchpad's
 * own check is what is tested); connect to @path. Exit status: 0 refused
 * (EACCES, or closed without READY), 1 accepted, 2 setup failed. */
G_GNUC_NORETURN static void
foreign_client (const char *path, uid_t uid, gboolean keep_dac)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };
  char byte;
  int fd;

  if (keep_dac && prctl (PR_SET_KEEPCAPS, 1) != 0)
    _exit (2);
  if (setresgid (uid, uid, uid) != 0 || setresuid (uid, uid, uid) != 0)
    _exit (2);
  if (keep_dac)
    {
      data[0].effective = data[0].permitted = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
      if (syscall (SYS_capset, &hdr, data) != 0)
        _exit (2);
    }
  strncpy (addr.sun_path, path, sizeof addr.sun_path - 1);
  fd = socket (AF_UNIX, SOCK_STREAM, 0);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    _exit (errno == EACCES ? 0 : 2);
  alarm (10);
  /* READY would be the first bytes; a refused peer reads EOF. */
  _exit (read (fd, &byte, 1) == 0 ? 0 : 1);
}

static int
run_foreign_client (const char *path, gboolean keep_dac)
{
  int status;
  pid_t pid = fork ();

  if (pid == 0)
    foreign_client (path, 65534, keep_dac);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_other_uid (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autoptr(OrrEngine) engine = launchpad_engine ();
  g_autoptr(OrrJob) job = NULL;
  g_autofree char *lp_dir = NULL;
  g_autofree char *sock = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;
  struct stat st;

  g_test_summary ("Another uid (nobody) can neither reach the launchpad's socket nor be served by it");
  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to run a client as nobody (CI runs the tests as root)");
      return;
    }
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  lp_dir = g_build_filename (dir, "orrery", NULL);
  g_assert_cmpint (stat (lp_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (st.st_uid, ==, geteuid ());
  d = g_dir_open (lp_dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".sock"))
      sock = g_build_filename (lp_dir, name, NULL);
  g_assert_nonnull (sock);
  /* The runtime directory of the test is private too: open it up so that
   * only the launchpad's own directory stands in the way. */
  chmod (base_dir, 0755);
  chmod (dir, 0755);
  /* Plain nobody: the 0700 directory stops it. */
  g_assert_cmpint (run_foreign_client (sock, FALSE), ==, 0);
  /* nobody with DAC override reaches the socket: SO_PEERCRED stops it. */
  g_assert_cmpint (run_foreign_client (sock, TRUE), ==, 0);
  chmod (dir, 0700);
  chmod (base_dir, 0700);
  /* …and the launchpad still serves its own uid. */
  g_clear_object (&job);
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  kill_launchpads ();
}

static void
test_bad_dir (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autofree char *lp_dir = g_build_filename (dir, "orrery", NULL);
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *got = NULL;

  g_test_summary ("A launchpad directory others may enter is refused; the engine falls back to its own zygote");
  g_assert_cmpint (mkdir (lp_dir, 0755), ==, 0);
  chmod (lp_dir, 0755);
  got = orr_launchpad_dup_dir (&error);
  g_assert_error (error, ORR_ERROR, ORR_ERROR_SATELLITE);
  g_assert_nonnull (strstr (error->message, "0700"));
  g_assert_null (got);

  engine = launchpad_engine ();
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  g_assert_false (orr_engine_get_uses_launchpad (engine));
}

static void
test_idle_exit (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autoptr(OrrEngine) engine = launchpad_engine ();
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GArray) pids = NULL;
  int pid;

  g_test_summary ("The launchpad leaves after ORRERY_LAUNCHPAD_IDLE seconds without connections");
  g_setenv ("ORRERY_LAUNCHPAD_IDLE", "1", TRUE);
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  g_setenv ("ORRERY_LAUNCHPAD_IDLE", "20", TRUE);
  assert_job_ok (job, 1);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  pid = g_array_index (pids, int, 0);
  /* Connected: not idle, however long. */
  g_usleep (2500 * 1000);
  g_assert_true (alive (pid));
  g_clear_object (&engine);
  g_assert_true (wait_gone (pid, 5000));
  /* And its socket went with it. */
  {
    g_autofree char *lp_dir = g_build_filename (dir, "orrery", NULL);
    g_autoptr(GDir) d = g_dir_open (lp_dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_false (g_str_has_suffix (name, ".sock"));
  }
  /* A bad value is named. */
  {
    g_autoptr(OrrEngine) e2 = launchpad_engine ();
    g_autoptr(GError) error = NULL;
    char **versions = NULL;
    int fd;

    g_setenv ("ORRERY_LAUNCHPAD_IDLE", "soon", TRUE);
    fd = orr_launchpad_connect (satellite, NULL, 1000, &versions, &error);
    g_setenv ("ORRERY_LAUNCHPAD_IDLE", "20", TRUE);
    g_assert_cmpint (fd, ==, -1);
    g_assert_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "ORRERY_LAUNCHPAD_IDLE"));
  }
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  g_autofree char *tmp = g_strconcat (to, ".new", NULL);
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (tmp, data, len, NULL));
  chmod (tmp, 0755);
  /* A new inode, as an upgrade or a relink makes. */
  g_assert_cmpint (rename (tmp, to), ==, 0);
}

static void
test_binary_changed (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autofree char *copy = g_build_filename (dir, "orrery-satellite", NULL);
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GArray) pids = NULL;
  int old_pid;

  g_test_summary ("A launchpad whose binary was replaced leaves once idle; the next engine starts a new one");
  copy_file (satellite, copy);
  engine = orr_engine_new ();
  orr_engine_set_satellite_path (engine, copy);
  orr_engine_set_use_launchpad (engine, TRUE);
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  g_assert_true (orr_engine_get_uses_launchpad (engine));
  g_clear_object (&engine);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  old_pid = g_array_index (pids, int, 0);

  copy_file (satellite, copy);
  g_assert_true (wait_gone (old_pid, 5000));

  engine = orr_engine_new ();
  orr_engine_set_satellite_path (engine, copy);
  orr_engine_set_use_launchpad (engine, TRUE);
  g_clear_object (&job);
  job = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  g_assert_true (orr_engine_get_uses_launchpad (engine));
  g_clear_pointer (&pids, g_array_unref);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  g_assert_cmpint (g_array_index (pids, int, 0), !=, old_pid);
  kill_launchpads ();
}

static void
test_catalog_changed (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autofree char *built = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".",
                                             "..", "po", "fr", "LC_MESSAGES", "orrery.mo", NULL);
  g_autofree char *locale = g_build_filename (dir, "locale", NULL);
  g_autofree char *mo_dir = g_build_filename (locale, "fr", "LC_MESSAGES", NULL);
  g_autofree char *mo = g_build_filename (mo_dir, "orrery.mo", NULL);
  g_autofree char *maps_path = NULL;
  g_autofree char *maps = NULL;
  g_autoptr(OrrEngine) a = NULL;
  g_autoptr(OrrEngine) b = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GArray) pids = NULL;
  int old_pid;

  g_test_summary ("A launchpad whose message catalog (or any file it has mapped) was replaced serves its "
                  "connected engines, but a new engine gets a new launchpad; the old one leaves when idle");
  if (!g_file_test (built, G_FILE_TEST_EXISTS))
    {
      g_autofree char *why = g_strdup_printf ("%s was not built", built);
      g_test_skip (why);
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (mo_dir, 0700), ==, 0);
  copy_file (built, mo);
  g_setenv ("ORRERY_LOCALEDIR", locale, TRUE);
  g_setenv ("LANGUAGE", "fr", TRUE);
  a = launchpad_engine ();
  job = run_job (a, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (job, 1);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  old_pid = g_array_index (pids, int, 0);
  maps_path = g_strdup_printf ("/proc/%d/maps", old_pid);
  g_assert_true (g_file_get_contents (maps_path, &maps, NULL, NULL));
  if (strstr (maps, mo) == NULL)
    {
      g_unsetenv ("ORRERY_LOCALEDIR");
      g_unsetenv ("LANGUAGE");
      g_clear_object (&a);
      kill_launchpads ();
      g_test_skip ("the launchpad did not map its message catalog (gettext read it instead)");
      return;
    }

  copy_file (built, mo);
  b = launchpad_engine ();
  g_clear_object (&job);
  job = run_job (b, "OutputDataSet = InputDataSet", "SELECT 2 AS x");
  assert_job_ok (job, 1);
  g_assert_true (orr_engine_get_uses_launchpad (b));
  g_clear_pointer (&pids, g_array_unref);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  g_assert_cmpint (g_array_index (pids, int, 0), !=, old_pid);
  /* The old one still serves the engine connected to it… */
  g_assert_true (alive (old_pid));
  g_clear_object (&job);
  job = run_job (a, "OutputDataSet = InputDataSet", "SELECT 3 AS x");
  assert_job_ok (job, 1);
  /* …and leaves once it is gone. */
  g_clear_object (&a);
  g_assert_true (wait_gone (old_pid, 5000));
  g_unsetenv ("ORRERY_LOCALEDIR");
  g_unsetenv ("LANGUAGE");
  g_clear_object (&b);
  kill_launchpads ();
}

static void
test_concurrent_start (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  const char *cli = g_getenv ("ORRERY_CLI");
  GSubprocess *procs[6];
  g_autoptr(GArray) pids = NULL;
  int satellites = 0;

  g_test_summary ("CLIs started at once all succeed and start exactly one launchpad between them");
  if (cli == NULL)
    {
      g_test_skip ("ORRERY_CLI is not set: run through meson test");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (procs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

      g_subprocess_launcher_unsetenv (launcher, "ORRERY_DSN");
      g_subprocess_launcher_unsetenv (launcher, "ORRERY_LAUNCHPAD");
      procs[i] = g_subprocess_launcher_spawn (launcher, &error, cli, "run", "-e", "OutputDataSet = InputDataSet",
                                              "--input", "SELECT 1", NULL);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (procs); i++)
    {
      g_autoptr(GError) error = NULL;

      g_subprocess_wait_check (procs[i], NULL, &error);
      g_assert_no_error (error);
      g_object_unref (procs[i]);
    }
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  /* No second launchpad that lost the race lingers either. */
  {
    g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (proc)) != NULL)
      {
        g_autofree char *cmd_path = g_strdup_printf ("/proc/%s/cmdline", name);
        g_autofree char *cmdline = NULL;
        gsize len;

        if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (cmd_path, &cmdline, &len, NULL) ||
            strstr (cmdline, "orrery-satellite") == NULL || len < 20 ||
            memmem (cmdline, len, "--launchpad", 11) == NULL)
          continue;
        /* Under our runtime directory (its socket is there)? */
        if (launchpad_socket_in (atoi (name), dir))
          satellites++;
      }
  }
  g_assert_cmpint (satellites, ==, 1);
  kill_launchpads ();
}

static void
test_killed (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autoptr(OrrEngine) engine = launchpad_engine ();
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJob) slow = NULL;
  g_autoptr(OrrJob) next = NULL;
  g_autoptr(GArray) pids = NULL;
  int pid;

  g_test_summary ("A launchpad killed during a job: that job fails, the engine's next job gets a new launchpad");
  g_assert_true (orr_engine_warm_up (engine, NULL));
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  pid = g_array_index (pids, int, 0);

  spec->script = g_strdup ("import time\ntime.sleep(30)\n");
  spec->timeout_ms = 60000;
  slow = orr_engine_submit (engine, conn, spec);
  while (orr_job_get_state (slow) != ORR_JOB_RUNNING && !orr_job_is_finished (slow))
    g_usleep (10 * 1000);
  g_usleep (200 * 1000);
  kill (pid, SIGKILL);
  orr_job_wait (slow);
  g_assert_cmpint (orr_job_get_state (slow), ==, ORR_JOB_FAILED);
  g_assert_error ((GError *) orr_job_get_error (slow), ORR_ERROR, ORR_ERROR_SATELLITE);
  g_assert_true (wait_gone (pid, 5000));

  next = run_job (engine, "OutputDataSet = InputDataSet", "SELECT 1 AS x");
  assert_job_ok (next, 1);
  g_assert_true (orr_engine_get_uses_launchpad (engine));
  g_clear_pointer (&pids, g_array_unref);
  pids = launchpad_pids ();
  g_assert_cmpuint (pids->len, ==, 1);
  g_assert_cmpint (g_array_index (pids, int, 0), !=, pid);
  kill_launchpads ();
}

static void
test_isolation (void)
{
  g_autofree char *dir = fresh_runtime_dir ();
  g_autoptr(OrrEngine) engine = launchpad_engine ();
  g_autoptr(OrrEngine) private_engine = orr_engine_new ();
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(OrrJob) private_job = NULL;
  g_autofree char *lp_dir = g_build_filename (dir, "orrery", NULL);
  g_autofree char *script = NULL;
  GString *out = g_string_new (NULL);
  GString *private_out = g_string_new (NULL);
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJobSpec) private_spec = NULL;

  g_test_summary ("A job through the launchpad is sandboxed exactly as one from a private zygote, and cannot "
                  "reach the launchpad");
  /* Started now, so that the job can look for its socket. */
  g_assert_true (orr_engine_warm_up (engine, NULL));
  g_assert_true (orr_engine_get_uses_launchpad (engine));
  orr_engine_set_satellite_path (private_engine, satellite);
  orr_engine_set_use_launchpad (private_engine, FALSE);

  {
    g_autofree char *quoted_dir = g_strdup_printf ("'%s'", lp_dir);
    g_autofree char *self_ns = g_file_read_link ("/proc/self/ns/pid", NULL);
    g_autofree char *quoted_ns = g_strdup_printf ("'%s'", self_ns ? self_ns : "");

    script = g_strdup_printf (
      "import os, socket, glob\n"
      "print('uid', os.getuid() != 0 or %d != 0)\n"
      "print('ns', os.readlink('/proc/self/ns/pid') != %s)\n"
      "print('fds', len([f for f in os.listdir('/proc/self/fd') if int(f) > 2]))\n"
      "print('sees', os.path.exists(%s))\n"
      "reached = False\n"
      "for path in glob.glob(%s + '/*.sock') + glob.glob('/run/orrery/launchpad/*.sock'):\n"
      "    s = socket.socket(socket.AF_UNIX)\n"
      "    try:\n"
      "        s.connect(path); s.settimeout(2); reached = len(s.recv(1)) > 0\n"
      "    except OSError:\n"
      "        pass\n"
      "print('reached', reached)\n"
      "OutputDataSet = InputDataSet\n",
      (int) geteuid (), quoted_ns, quoted_dir, quoted_dir);
  }
  spec->script = g_strdup (script);
  spec->input_query = g_strdup ("SELECT 1 AS x");
  spec->timeout_ms = 60000;
  private_spec = orr_job_spec_copy (spec);

  job = orr_engine_submit (engine, conn, spec);
  g_signal_connect (job, "message", G_CALLBACK (on_message), out);
  orr_job_wait (job);
  /* Messages are emitted in this thread's main context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  assert_job_ok (job, 1);

  private_job = orr_engine_submit (private_engine, conn, private_spec);
  g_signal_connect (private_job, "message", G_CALLBACK (on_message), private_out);
  orr_job_wait (private_job);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  assert_job_ok (private_job, 1);
  g_assert_false (orr_engine_get_uses_launchpad (private_engine));

  g_test_message ("launchpad job:\n%s\nprivate job:\n%s", out->str, private_out->str);
  /* Not the engine's uid when root; never the host's PID namespace when the
   * host has them; the same view as a private zygote's job. */
  g_assert_nonnull (strstr (out->str, "uid True"));
  g_assert_nonnull (strstr (out->str, "reached False"));
  g_assert_cmpstr (out->str, ==, private_out->str);
  g_string_free (out, TRUE);
  g_string_free (private_out, TRUE);
  kill_launchpads ();
}

/* ------------------------------------------------------------ main */

static void
open_demo (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *connection_string = orr_demo_dup_connection_string (&error);
  g_autoptr(OrrCatalog) catalog = NULL;

  g_assert_no_error (error);
  conn = orr_connection_new (connection_string);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  catalog = orr_catalog_new (conn);
  orr_catalog_enable (catalog, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int rc;

  base_dir = g_dir_make_tmp ("orrery-launchpad-XXXXXX", &error);
  g_assert_no_error (error);
  chmod (base_dir, 0700);
  for (const char *const *d = (const char *const[]) { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                                      "HOME", NULL }; *d; d++)
    {
      g_autofree char *dir = g_build_filename (base_dir, *d, NULL);
      g_mkdir_with_parents (dir, 0700);
      g_setenv (*d, dir, TRUE);
    }
  g_unsetenv ("ORRERY_LAUNCHPAD");
  /* Should a test abort before its teardown, its launchpads leave soon. */
  g_setenv ("ORRERY_LAUNCHPAD_IDLE", "20", TRUE);
  g_unsetenv ("ORRERY_DSN");
  g_test_init (&argc, &argv, NULL);

  {
    g_autoptr(OrrEngine) probe = orr_engine_new ();
    satellite = g_strdup (orr_engine_get_satellite_path (probe));
  }
  open_demo ();

  g_test_add_func ("/Orr/Launchpad/jobs", test_jobs);
  g_test_add_func ("/Orr/Launchpad/other-uid", test_other_uid);
  g_test_add_func ("/Orr/Launchpad/bad-directory", test_bad_dir);
  g_test_add_func ("/Orr/Launchpad/idle-exit", test_idle_exit);
  g_test_add_func ("/Orr/Launchpad/binary-changed", test_binary_changed);
  g_test_add_func ("/Orr/Launchpad/catalog-changed", test_catalog_changed);
  g_test_add_func ("/Orr/Launchpad/concurrent-start", test_concurrent_start);
  g_test_add_func ("/Orr/Launchpad/killed", test_killed);
  g_test_add_func ("/Orr/Launchpad/isolation", test_isolation);

  rc = g_test_run ();

  g_clear_object (&conn);
  /* Whatever a failed test left: the launchpads of every runtime dir. */
  {
    g_autoptr(GDir) d = g_dir_open (base_dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name (d)) != NULL)
      if (g_str_has_prefix (name, "run"))
        {
          g_autofree char *dir = g_build_filename (base_dir, name, NULL);

          g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);
          kill_launchpads ();
        }
  }
  remove_tree (base_dir);
  g_free (base_dir);
  g_free (satellite);
  return rc;
}
