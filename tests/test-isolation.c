/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-isolation"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orr-isolation.h"
#include "orr-job-private.h"

/*
 * The hostile suite: scripts that try to get out of their sandbox, to
 * outgrow their limits or to take the engine down. Each test asserts the
 * outcome, that nothing of the job survived it (no process of its PID
 * namespace or worker uid, no job directory, no cgroup) and that the engine
 * still runs the next job.
 *
 * Run as root, it also runs itself as `nobody` (the engine of an ordinary
 * desktop user: user namespaces, seccomp, Landlock and rlimits, no cgroup).
 * It needs no database server: the demo SQLite database, in a private
 * directory, through the SQLite ODBC driver.
 */

#define SECRET "orrery-test-secret-0451"

/* A sanitizer build keeps the job's standard error for the reports. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif
#define AS_USER_ENV "ORRERY_TEST_ISOLATION_AS_USER"

/* Printed first by every script: the job's PID namespace, to look for its
 * processes on the host afterwards. */
#define PRELUDE \
  "import os\n" \
  "try:\n" \
  "    print('ns', os.readlink('/proc/self/ns/pid'), flush=True)\n" \
  "except OSError:\n" \
  "    print('ns none', flush=True)\n"

static OrrEngine *engine;
static OrrConnection *conn;
static OrrIsolation *host;
static char *base_dir;

typedef struct {
  OrrJob *job;
  GString *out;
  GString *info;
  char *ns;
  int keeper;
} Run;

static void
run_free (Run *run)
{
  g_clear_object (&run->job);
  g_string_free (run->out, TRUE);
  g_string_free (run->info, TRUE);
  g_free (run->ns);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static void
on_message (OrrJob *job, guint kind, const char *text, Run *run)
{
  g_string_append (kind == ORR_JOB_MESSAGE_INFO ? run->info : run->out, text);
  if (kind == ORR_JOB_MESSAGE_INFO)
    g_string_append_c (run->info, '\n');
}

static void
on_message_text (OrrJob *job, guint kind, const char *text, GString *out)
{
  if (kind != ORR_JOB_MESSAGE_INFO)
    g_string_append (out, text);
}

static void
drain_messages (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static OrrLimits *
limits_new (void)
{
  return orr_limits_new ("hostile");
}

static Run *
start_script (const char *script, const OrrLimits *limits, guint timeout_ms, guint64 max_output_bytes)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  Run *run = g_new0 (Run, 1);

  spec->script = g_strconcat (PRELUDE, script, NULL);
  spec->limits = limits ? orr_limits_copy (limits) : NULL;
  spec->timeout_ms = timeout_ms;
  spec->max_output_bytes = max_output_bytes;
  run->out = g_string_new (NULL);
  run->info = g_string_new (NULL);
  run->job = orr_engine_submit (engine, conn, spec);
  g_signal_connect (run->job, "message", G_CALLBACK (on_message), run);
  return run;
}

static void
finish_run (Run *run)
{
  const char *line;

  orr_job_wait (run->job);
  drain_messages ();
  run->keeper = run->job->pid;
  line = strstr (run->out->str, "ns ");
  if (line)
    run->ns = g_strndup (line + 3, strcspn (line + 3, "\n"));
  if (orr_job_get_error (run->job))
    g_test_message ("job error: %s", orr_job_get_error (run->job)->message);
  if (run->info->len)
    g_test_message ("engine: %s", run->info->str);
}

static Run *
run_script (const char *script, const OrrLimits *limits, guint timeout_ms)
{
  Run *run = start_script (script, limits, timeout_ms, 0);

  finish_run (run);
  return run;
}

/* Waits for the script to print @marker (it reached its slow part). */
static void
wait_for_output (Run *run, const char *marker)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (strstr (run->out->str, marker) == NULL && !orr_job_is_finished (run->job))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  g_assert_nonnull (strstr (run->out->str, marker));
}

static void
assert_succeeded (Run *run)
{
  const GError *error = orr_job_get_error (run->job);

  if (error)
    g_test_message ("%s\n%s\noutput:\n%s", error->message,
                    orr_job_get_traceback (run->job) ? orr_job_get_traceback (run->job) : "", run->out->str);
  g_assert_no_error ((GError *) error);
  g_assert_cmpint (orr_job_get_state (run->job), ==, ORR_JOB_SUCCEEDED);
}

static void
assert_failed_with (Run *run, int code, const char *text)
{
  const GError *error = orr_job_get_error (run->job);

  g_assert_cmpint (orr_job_get_state (run->job), ==, ORR_JOB_FAILED);
  g_assert_error ((GError *) error, ORR_ERROR, code);
  if (strstr (error->message, text) == NULL)
    g_error ("“%s” lacks “%s”", error->message, text);
}

/* Running: a zombie (killed, not yet reaped by its new parent) is not. */
static gboolean
pid_alive (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *state;

  if (pid <= 0 || !g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  state = strrchr (stat, ')');
  return state == NULL || (state[2] != 'Z' && state[2] != 'X');
}

/* Processes of the host in PID namespace @ns, or running as @uid. */
static char *
find_survivors (const char *ns, int uid)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  GString *found = g_string_new (NULL);
  const char *name;
  g_autofree char *uid_line = uid >= 0 ? g_strdup_printf ("\nUid:\t%d\t", uid) : NULL;

  while (proc && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *ns_link = NULL;
      g_autofree char *status = NULL;
      g_autofree char *path = NULL;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_strdup_printf ("/proc/%s/ns/pid", name);
      ns_link = g_file_read_link (path, NULL);
      g_free (path);
      path = g_strdup_printf ("/proc/%s/status", name);
      g_file_get_contents (path, &status, NULL, NULL);
      if ((ns && ns_link && g_str_equal (ns, ns_link)) || (uid_line && status && strstr (status, uid_line)))
        g_string_append_printf (found, "%s%s", found->len ? ", " : "", name);
    }
  return g_string_free (found, found->len == 0);
}

/* Nothing of the job survives it: checked after every job. */
static void
assert_nothing_survived (Run *run)
{
  OrrIsolationJob *iso = run->job->isolation;
  const char * const *cgroups;
  const char *ns = run->ns && !g_str_equal (run->ns, "none") ? run->ns : NULL;
  g_autofree char *survivors = NULL;

  g_assert_nonnull (iso);
  g_assert_false (pid_alive (run->keeper));
  if (orr_isolation_job_get_dir (iso))
    g_assert_false (g_file_test (orr_isolation_job_get_dir (iso), G_FILE_TEST_EXISTS));
  for (cgroups = orr_isolation_job_get_cgroups (iso); *cgroups; cgroups++)
    if (g_file_test (*cgroups, G_FILE_TEST_EXISTS))
      g_error ("The job's cgroup %s survived it", *cgroups);
  if (orr_isolation_has_layer (host, ORR_ISOLATION_PROCESSES))
    g_assert_nonnull (ns);
  survivors = find_survivors (ns, orr_isolation_job_get_uid (iso));
  if (survivors)
    g_error ("Processes of the job survived it: %s", survivors);
}

/* The engine still runs a plain job with input. */
static void
assert_engine_alive (void)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrJob) job = NULL;

  spec->script = g_strdup ("OutputDataSet = InputDataSet");
  spec->input_query = g_strdup ("SELECT 1 AS still_here");
  job = orr_engine_submit (engine, conn, spec);
  orr_job_wait (job);
  drain_messages ();
  g_assert_no_error ((GError *) orr_job_get_error (job));
  g_assert_cmpuint (orr_job_get_rows_out (job), ==, 1);
}

/* ------------------------------------------------------------ the probe */

static void
test_report (void)
{
  g_autofree char *report = orr_engine_dup_isolation_report (engine);
  static const OrrLimitKind cgroup_limits[] = {
    ORR_LIMIT_MEMORY, ORR_LIMIT_CPU_PERCENT, ORR_LIMIT_PROCESSES, ORR_LIMIT_AFFINITY,
  };

  g_test_summary ("The probe reports each layer and each limit's back end; as root on a host like the CI "
                  "machines every layer is active and every limit goes through a cgroup; as an ordinary user "
                  "namespaces, seccomp and Landlock are active and limits fall back to rlimits");
  g_test_message ("%s", report);
  for (const char *const *w = (const char *const[]) { "network", "filesystem", "processes", "identity",
                                                      "no_new_privs", "seccomp", "landlock", "memory",
                                                      "CPU percent", "affinity", "timeout", "cleanup", NULL };
       *w; w++)
    g_assert_nonnull (strstr (report, *w));

  for (int layer = 0; layer < ORR_ISOLATION_N_LAYERS; layer++)
    if (layer != ORR_ISOLATION_IDENTITY || orr_isolation_is_privileged (host))
      {
        if (!orr_isolation_has_layer (host, layer))
          g_error ("Layer %d is not active here:\n%s", layer, report);
      }
  g_assert_cmpint (orr_isolation_has_layer (host, ORR_ISOLATION_IDENTITY), ==, orr_isolation_is_privileged (host));
  g_assert_cmpint (orr_isolation_get_backend (host, ORR_LIMIT_TIMEOUT), ==, ORR_LIMIT_BACKEND_ENGINE_TIMER);
  if (orr_isolation_is_privileged (host))
    {
      for (guint i = 0; i < G_N_ELEMENTS (cgroup_limits); i++)
        {
          OrrLimitBackend b = orr_isolation_get_backend (host, cgroup_limits[i]);
          g_assert_true (b == ORR_LIMIT_BACKEND_CGROUP_V1 || b == ORR_LIMIT_BACKEND_CGROUP_V2);
        }
      g_assert_null (strstr (report, "NOT "));
    }
  else
    {
      g_assert_cmpint (orr_isolation_get_backend (host, ORR_LIMIT_MEMORY), ==, ORR_LIMIT_BACKEND_RLIMIT);
      g_assert_cmpint (orr_isolation_get_backend (host, ORR_LIMIT_PROCESSES), ==, ORR_LIMIT_BACKEND_RLIMIT);
      g_assert_cmpint (orr_isolation_get_backend (host, ORR_LIMIT_AFFINITY), ==, ORR_LIMIT_BACKEND_SCHED_AFFINITY);
      g_assert_cmpint (orr_isolation_get_backend (host, ORR_LIMIT_CPU_PERCENT), ==, ORR_LIMIT_BACKEND_NONE);
      g_assert_nonnull (strstr (report, "CPU percent   NOT ENFORCED"));
    }
}

/* ------------------------------------------------------------ the view */

static void
test_view (void)
{
  g_autofree char *script = NULL;
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "orrery", NULL);
  g_autoptr(Run) run = NULL;
  const char *odbc = g_getenv ("ODBCSYSINI");

  g_test_summary ("Inside: PID 2 under an init, a worker identity, the job directory as working directory, "
                  "a private /tmp, the host read-only, credentials and the catalog hidden, a bare "
                  "environment, only the job socket open, no_new_privs and seccomp");
  script = g_strdup_printf (
    "import stat\n"
    "assert (os.getpid(), os.getppid()) == (2, 1), (os.getpid(), os.getppid())\n"
    "assert sorted(p for p in os.listdir('/proc') if p.isdigit()) == ['1', '2']\n"
    "uid, gid = os.getuid(), os.getgid()\n"
    "if %s:\n"
    "    assert 70000 <= uid <= 79999 and gid == uid and os.getgroups() == [], (uid, gid, os.getgroups())\n"
    "else:\n"
    "    assert uid == %d, uid\n"
    "cwd = os.getcwd()\n"
    "assert os.path.basename(cwd).startswith('%d-'), cwd\n"
    "assert os.environ['HOME'] == cwd, dict(os.environ)\n"
    "assert set(os.environ) <= {'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'OPENBLAS_NUM_THREADS',\n"
    "                           'OMP_NUM_THREADS', 'MKL_NUM_THREADS'}, sorted(os.environ)\n"
    "# Empty, but for the path to the job directory when it lies under /tmp on the host.\n"
    "assert all(cwd.startswith('/tmp/' + e + '/') for e in os.listdir('/tmp')), os.listdir('/tmp')\n"
    "open('in-job-dir', 'w').write('x')\n"
    "open('/tmp/in-tmp', 'w').write('x')\n"
    "open('/dev/shm/in-shm', 'w').write('x')\n"
    "for path in ('/etc/orrery-escape', '/usr/orrery-escape', '/var/tmp/orrery-escape',\n"
    "             os.path.join(os.path.dirname(cwd), 'orrery-escape'), '/orrery-escape'):\n"
    "    try:\n"
    "        open(path, 'w').write('x')\n"
    "    except OSError:\n"
    "        pass\n"
    "    else:\n"
    "        # Only the private /tmp (which holds the way to a job directory that lies under /tmp).\n"
    "        assert path.startswith('/tmp/'), 'wrote ' + path\n"
    "for hidden in ('/etc/shadow', '/home', '/root', '/run/orrery/workers', '%s', '%s', '%s', '%s'):\n"
    "    if os.path.isdir(hidden):\n"
    "        assert os.listdir(hidden) in ([], ['orrery']), (hidden, os.listdir(hidden))\n"
    "    elif os.path.exists(hidden):\n"
    "        assert open(hidden, 'rb').read() == b'', hidden\n"
    "assert not os.path.exists('%s/demo.sqlite')\n"
    "links = {}\n"
    "for fd in os.listdir('/proc/self/fd'):\n"
    "    try:\n"
    "        links[int(fd)] = os.readlink('/proc/self/fd/' + fd)\n"
    "    except OSError:\n"
    "        pass\n"
    "assert [l for fd, l in links.items() if fd > 2 and l.startswith('socket:')] != [], links\n"
    "assert [l for fd, l in links.items() if fd > 2 and not l.startswith(('socket:', '/proc/'))] == [], links\n"
    "assert len([l for fd, l in links.items() if l.startswith('socket:')]) == 1, links\n"
    "for fd in (0, 1, 2) if %s else (0, 1):\n"
    "    assert os.readlink('/proc/self/fd/%%d' %% fd) == '/dev/null', fd\n"
    "status = open('/proc/self/status').read()\n"
    "assert 'NoNewPrivs:\\t1' in status and 'Seccomp:\\t2' in status, status\n"
    "# Programs and threads still start (clone3 is refused, clone is not).\n"
    "import subprocess, threading\n"
    "assert subprocess.run(['/bin/sh', '-c', 'exit 3']).returncode == 3\n"
    "t = threading.Thread(target=print, args=('thread ok',))\n"
    "t.start()\n"
    "t.join()\n"
    "print('view ok')\n",
    orr_isolation_is_privileged (host) ? "True" : "False", (int) getuid (), (int) getpid (),
    data_dir, g_get_home_dir (), g_get_user_runtime_dir (), odbc ? odbc : "/nonexistent", data_dir,
    SANITIZED ? "False" : "True");
  run = run_script (script, NULL, 30000);
  assert_succeeded (run);
  g_assert_nonnull (strstr (run->out->str, "view ok"));
  assert_nothing_survived (run);
}

static void
test_identity_per_job (void)
{
  const char *script = "import time\nprint('uid', os.getuid(), flush=True)\ntime.sleep(1)\n";
  g_autoptr(Run) a = NULL;
  g_autoptr(Run) b = NULL;
  const char *ua, *ub;

  g_test_summary ("Two jobs at once run as two different worker identities (as root)");
  if (!orr_isolation_is_privileged (host))
    {
      g_test_skip ("Worker identities need the engine to run as root");
      return;
    }
  a = start_script (script, NULL, 30000, 0);
  b = start_script (script, NULL, 30000, 0);
  finish_run (a);
  finish_run (b);
  assert_succeeded (a);
  assert_succeeded (b);
  ua = strstr (a->out->str, "uid ");
  ub = strstr (b->out->str, "uid ");
  g_assert_nonnull (ua);
  g_assert_nonnull (ub);
  g_assert_cmpint (atoi (ua + 4), !=, atoi (ub + 4));
  assert_nothing_survived (a);
  assert_nothing_survived (b);
}

/* ------------------------------------------------------------ limits */

static void
test_fork_bomb (void)
{
  g_autoptr(OrrLimits) limits = limits_new ();
  g_autoptr(Run) run = NULL;

  g_test_summary ("A fork bomb stops at the process limit (threads count), the job fails naming the limit, "
                  "and none of its processes survives");
  limits->max_processes = 16;
  run = run_script ("while True:\n    os.fork()\n", limits, 60000);
  assert_failed_with (run, ORR_ERROR_LIMIT, "process limit of 16 reached");
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_memory_balloon (void)
{
  g_autoptr(OrrLimits) limits = limits_new ();
  g_autoptr(Run) run = NULL;

  g_test_summary ("A script that fills memory is stopped at the pool's memory limit and the job fails "
                  "naming it");
  limits->max_memory_bytes = 256 * 1024 * 1024;
  run = run_script ("chunks = []\n"
                    "for i in range(128):\n"
                    "    chunks.append(b'\\x01' * (16 << 20))\n"
                    "print('held', len(chunks) * 16, 'MB')\n",
                    limits, 60000);
  assert_failed_with (run, ORR_ERROR_LIMIT, "memory limit of 256 MB exceeded");
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_cpu_spin (void)
{
  g_autoptr(OrrLimits) limits = limits_new ();
  g_autoptr(Run) run = NULL;
  gint64 used_ns, wall_us;
  long n_cpus = sysconf (_SC_NPROCESSORS_ONLN);
  double share;

  g_test_summary ("A script spinning on the CPU gets no more than its pool's CPU percent of the host, "
                  "read from its cgroup's CPU accounting");
  if (orr_isolation_get_backend (host, ORR_LIMIT_CPU_PERCENT) == ORR_LIMIT_BACKEND_NONE)
    {
      g_test_skip ("No cpu cgroup controller for this engine: CPU percent is not enforced (the report says so)");
      return;
    }
  limits->max_cpu_percent = 25;
  run = run_script ("import time\n"
                    "start = time.monotonic()\n"
                    "print('spinning', flush=True)\n"
                    "while time.monotonic() - start < 2:\n"
                    "    pass\n",
                    limits, 60000);
  assert_succeeded (run);
  used_ns = orr_isolation_job_get_cpu_usage_ns (run->job->isolation);
  wall_us = orr_job_get_elapsed (run->job);
  share = (double) used_ns / 1000.0 / (double) wall_us / (double) n_cpus;
  g_test_message ("CPU used: %.3f s over %.3f s of wall time on %ld CPUs: %.1f %% of the host (cap 25 %%)",
                  used_ns / 1e9, wall_us / 1e6, n_cpus, share * 100);
  g_assert_cmpint (used_ns, >, 0);
  g_assert_cmpfloat (share, <=, 0.25 * 1.1);
  /* It did spin: a single thread's worth, capped. */
  g_assert_cmpfloat (share, >=, MIN (0.25, 1.0 / n_cpus) * 0.5);
  assert_nothing_survived (run);
}

static void
test_affinity (void)
{
  g_autoptr(OrrLimits) limits = limits_new ();
  g_autoptr(Run) run = NULL;

  g_test_summary ("The pool's CPU list is the job's affinity, and the job cannot widen it");
  limits->cpus = g_strdup ("0");
  run = run_script ("assert os.sched_getaffinity(0) == {0}, os.sched_getaffinity(0)\n"
                    "try:\n"
                    "    os.sched_setaffinity(0, set(range(os.cpu_count())))\n"
                    "except OSError:\n"
                    "    pass\n"
                    "assert os.sched_getaffinity(0) == {0}, os.sched_getaffinity(0)\n",
                    limits, 30000);
  assert_succeeded (run);
  assert_nothing_survived (run);

  g_clear_pointer (&limits->cpus, g_free);
  limits->cpus = g_strdup ("4000");
  {
    g_autoptr(Run) bad = run_script ("pass\n", limits, 30000);
    assert_failed_with (bad, ORR_ERROR_INVALID_ARGUMENT, "names CPU 4000, which this host does not offer");
  }
}

static void
test_timeout (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("A job past its timeout is stopped, fails naming the timeout, and leaves nothing");
  run = run_script ("import time\ntime.sleep(60)\n", NULL, 1000);
  assert_failed_with (run, ORR_ERROR_TIMEOUT, "timeout after 1 s");
  assert_nothing_survived (run);
}

/* ------------------------------------------------------------ escapes */

static void
test_network (void)
{
  g_autoptr(Run) run = NULL;
  g_autofree char *script = NULL;
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const char *pg_port = g_getenv ("ORRERY_TEST_PG_PORT");

  g_test_summary ("No network: connecting to the host's loopback (a port this test listens on, the test "
                  "PostgreSQL server) and to 192.0.2.1 (TEST-NET-1) fails, with a 1 s timeout");
  g_assert_cmpint (listener, >=, 0);
  g_assert_cmpint (bind (listener, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (listener, 4), ==, 0);
  g_assert_cmpint (getsockname (listener, (struct sockaddr *) &addr, &len), ==, 0);
  script = g_strdup_printf (
    "import socket\n"
    "targets = [('127.0.0.1', %d), ('127.0.0.1', 22), ('127.0.0.1', 80), ('192.0.2.1', 80), ('192.0.2.1', 443)]\n"
    "if %s:\n"
    "    targets.append(('127.0.0.1', %s))\n"
    "for host, port in targets:\n"
    "    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):\n"
    "        try:\n"
    "            s = socket.socket(socket.AF_INET, kind)\n"
    "            s.settimeout(1)\n"
    "            if kind == socket.SOCK_STREAM:\n"
    "                s.connect((host, port))\n"
    "            else:\n"
    "                s.sendto(b'x', (host, port))\n"
    "        except OSError as e:\n"
    "            print('refused', host, port, e.errno)\n"
    "        else:\n"
    "            raise AssertionError('reached %%s:%%d' %% (host, port))\n",
    ntohs (addr.sin_port), pg_port ? "True" : "False", pg_port ? pg_port : "0");
  run = run_script (script, NULL, 30000);
  assert_succeeded (run);
  close (listener);
  assert_nothing_survived (run);
}

static void
test_shadow (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("/etc/shadow cannot be read");
  run = run_script ("try:\n"
                    "    text = open('/etc/shadow').read()\n"
                    "except OSError as e:\n"
                    "    print('refused', e.errno)\n"
                    "else:\n"
                    "    assert 'root:' not in text, 'read /etc/shadow'\n"
                    "    print('empty')\n",
                    NULL, 30000);
  assert_succeeded (run);
  assert_nothing_survived (run);
}

static void
test_write_outside (void)
{
  g_autoptr(Run) run = NULL;
  g_autofree char *marker = g_build_filename (base_dir, "escaped", NULL);
  g_autofree char *script = g_strdup_printf (
    "import glob\n"
    "targets = ['/etc/orrery-escaped', '/usr/lib/orrery-escaped', '/var/tmp/orrery-escaped',\n"
    "           '%s', os.path.join(os.path.dirname(os.getcwd()), 'sibling'), '/dev/orrery-escaped']\n"
    "for path in targets:\n"
    "    try:\n"
    "        with open(path, 'w') as f:\n"
    "            f.write('escaped')\n"
    "    except OSError as e:\n"
    "        print('refused', path, e.errno)\n"
    "    else:\n"
    "        # Only the private /tmp (which holds the way to a job directory that lies under /tmp).\n"
    "        assert path.startswith('/tmp/'), 'wrote ' + path\n"
    "for name in ('os.mkdir', 'os.symlink', 'os.chmod'):\n"
    "    try:\n"
    "        {'os.mkdir': lambda: os.mkdir('/opt/orrery-escaped'),\n"
    "         'os.symlink': lambda: os.symlink('/etc', '/srv/orrery-escaped'),\n"
    "         'os.chmod': lambda: os.chmod('/tmp', 0o700) or os.chmod('/usr', 0o777)}[name]()\n"
    "    except OSError as e:\n"
    "        print('refused', name, e.errno)\n"
    "    else:\n"
    "        raise AssertionError(name)\n",
    marker);

  g_test_summary ("Writing anywhere but the job directory, /tmp and /dev/shm fails");
  run = run_script (script, NULL, 30000);
  assert_succeeded (run);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test ("/etc/orrery-escaped", G_FILE_TEST_EXISTS));
  if (orr_isolation_job_get_dir (run->job->isolation))
    {
      g_autofree char *jobs = g_path_get_dirname (orr_isolation_job_get_dir (run->job->isolation));
      g_autofree char *sibling = g_build_filename (jobs, "sibling", NULL);

      g_assert_false (g_file_test (sibling, G_FILE_TEST_EXISTS));
    }
  assert_nothing_survived (run);
}

static void
test_kill_parent (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("Killing its parent, PID 1, and kill(-1) leave the job running and the engine unharmed");
  run = run_script ("import signal, time\n"
                    "for sig in (signal.SIGTERM, signal.SIGKILL):\n"
                    "    for pid in (os.getppid(), 1):\n"
                    "        try:\n"
                    "            os.kill(pid, sig)\n"
                    "        except OSError as e:\n"
                    "            print('refused', pid, sig, e.errno)\n"
                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                    "try:\n"
                    "    os.kill(-1, signal.SIGKILL)\n"
                    "except OSError as e:\n"
                    "    print('kill(-1) refused', e.errno)\n"
                    "time.sleep(0.3)\n"
                    "print('still here')\n"
                    "import pandas as pd\n"
                    "OutputDataSet = pd.DataFrame({'alive': [1]})\n",
                    NULL, 30000);
  assert_succeeded (run);
  g_assert_nonnull (strstr (run->out->str, "still here"));
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_setuid (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("setuid(0), setgid(0) and gaining capabilities fail");
  run = run_script ("import ctypes\n"
                    "for call in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0]),\n"
                    "             lambda: os.seteuid(0), lambda: os.setresuid(0, 0, 0)):\n"
                    "    try:\n"
                    "        call()\n"
                    "    except OSError as e:\n"
                    "        print('refused', e.errno)\n"
                    "    else:\n"
                    "        raise AssertionError('became root')\n"
                    "assert os.geteuid() != 0 and os.getuid() != 0\n"
                    "status = open('/proc/self/status').read()\n"
                    "assert 'CapEff:\\t0000000000000000' in status, status\n"
                    "libc = ctypes.CDLL(None, use_errno=True)\n"
                    "assert libc.unshare(0x10000000) != 0  # CLONE_NEWUSER\n"
                    "assert libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) != 0\n",
                    NULL, 30000);
  assert_succeeded (run);
  assert_nothing_survived (run);
}

static void
test_segfault (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("A segfault fails the job with the signal's name, through the sandbox's init and keeper");
  run = run_script ("import ctypes\nctypes.string_at(0)\n", NULL, 30000);
  assert_failed_with (run, ORR_ERROR_SATELLITE, "killed by signal 11 (SIGSEGV)");
  assert_nothing_survived (run);

  g_clear_pointer (&run, run_free);
  run = run_script ("os._exit(3)\n", NULL, 30000);
  assert_failed_with (run, ORR_ERROR_SATELLITE, "exit code 3");
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_daemon (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("A double-forked daemon does not outlive its job");
  run = run_script ("import time\n"
                    "pid = os.fork()\n"
                    "if pid == 0:\n"
                    "    os.setsid()\n"
                    "    if os.fork() == 0:\n"
                    "        for fd in range(3, 64):\n"
                    "            try:\n"
                    "                os.close(fd)\n"
                    "            except OSError:\n"
                    "                pass\n"
                    "        time.sleep(600)\n"
                    "    os._exit(0)\n"
                    "os.waitpid(pid, 0)\n"
                    "print('daemon started')\n",
                    NULL, 30000);
  assert_succeeded (run);
  assert_nothing_survived (run);
}

static void
check_cancel (const char *script, gboolean needs_kill)
{
  g_autoptr(Run) run = start_script (script, NULL, 0, 0);
  gint64 start;

  wait_for_output (run, "ready");
  g_usleep (200 * 1000);
  start = g_get_monotonic_time ();
  orr_job_cancel (run->job);
  finish_run (run);
  g_test_message ("cancelled in %" G_GINT64_FORMAT " ms", (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (orr_job_get_state (run->job), ==, ORR_JOB_CANCELLED);
  g_assert_error ((GError *) orr_job_get_error (run->job), ORR_ERROR, ORR_ERROR_CANCELLED);
  g_assert_nonnull (strstr (run->info->str, "interrupt (SIGINT)"));
  if (needs_kill)
    {
      g_assert_nonnull (strstr (run->info->str, "terminate (SIGTERM)"));
      g_assert_nonnull (strstr (run->info->str, "(SIGKILL)"));
    }
  else
    g_assert_null (strstr (run->info->str, "SIGKILL"));
  assert_nothing_survived (run);
}

static void
test_cancel (void)
{
  g_test_summary ("Cancelling a sleeper interrupts it; a script that ignores SIGINT and SIGTERM is killed, "
                  "with its children; each step shows in the job's messages");
  check_cancel ("import time\nprint('ready', flush=True)\ntime.sleep(60)\n", FALSE);
  check_cancel ("import signal, time\n"
                "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "if os.fork() == 0:\n"
                "    time.sleep(600)\n"
                "    os._exit(0)\n"
                "print('ready', flush=True)\n"
                "while True:\n"
                "    time.sleep(1)\n",
                TRUE);
  assert_engine_alive ();
}

static void
test_environment (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("A secret in the engine's environment is nowhere to be found by the script");
  g_assert_cmpstr (g_getenv ("ORRERY_TEST_SECRET"), ==, SECRET);
  run = run_script ("secret = '" SECRET "'\n"
                    "assert not any(secret in v for v in os.environ.values()), sorted(os.environ)\n"
                    "for pid in os.listdir('/proc'):\n"
                    "    if pid.isdigit():\n"
                    "        try:\n"
                    "            data = open('/proc/%s/environ' % pid, 'rb').read()\n"
                    "        except OSError:\n"
                    "            continue\n"
                    "        assert secret.encode() not in data, pid\n"
                    "print('no secret')\n",
                    NULL, 30000);
  assert_succeeded (run);
  g_assert_nonnull (strstr (run->out->str, "no secret"));
  assert_nothing_survived (run);
}

static void
test_stdout_flood (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("A stdout flood is cut at the engine's bound; the job and the engine carry on");
  run = run_script ("line = 'x' * 99\n"
                    "for i in range(400000):\n"
                    "    print(line)\n",
                    NULL, 120000);
  assert_succeeded (run);
  g_test_message ("%" G_GSIZE_FORMAT " bytes of output reached the engine", run->out->len);
  g_assert_cmpuint (run->out->len, <=, (16u << 20) + 4096);
  g_assert_nonnull (strstr (run->out->str, "[output truncated"));
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_descriptors (void)
{
  g_autoptr(Run) run = NULL;

  g_test_summary ("Exhausting descriptors stops at the job's own limit; the engine carries on");
  run = run_script ("import errno, resource\n"
                    "fds = []\n"
                    "try:\n"
                    "    while True:\n"
                    "        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
                    "except OSError as e:\n"
                    "    assert e.errno == errno.EMFILE, e\n"
                    "print('opened', len(fds))\n"
                    "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
                    "assert hard <= 4096, hard\n"
                    "try:\n"
                    "    resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))\n"
                    "except (ValueError, OSError):\n"
                    "    pass\n"
                    "else:\n"
                    "    raise AssertionError('raised the limit')\n",
                    NULL, 30000);
  assert_succeeded (run);
  assert_nothing_survived (run);
  assert_engine_alive ();
}

static void
test_huge_result (void)
{
  g_autoptr(Run) run = start_script ("import pandas as pd\n"
                                     "OutputDataSet = pd.DataFrame({'s': ['x' * 1000] * 10000})\n",
                                     NULL, 30000, 1 << 20);

  g_test_summary ("A result beyond the configured bound fails the job with an error naming the bound");
  finish_run (run);
  g_assert_cmpint (orr_job_get_state (run->job), ==, ORR_JOB_FAILED);
  g_assert_nonnull (strstr (orr_job_get_error (run->job)->message, "exceeds the limit of 1048576 bytes"));
  assert_nothing_survived (run);
  assert_engine_alive ();
}

/* ------------------------------------------------------------ cgroups */

static void
test_cgroup_kill (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrLimits) limits = limits_new ();
  OrrIsolationJob *job;
  const char * const *cgroups;
  int pipe_fds[2];
  pid_t child, daemon_pid = 0;

  g_test_summary ("Without a PID namespace to end, the job's cgroups alone kill what it left, "
                  "double-forked daemons included, and go away");
  if (orr_isolation_get_backend (host, ORR_LIMIT_PROCESSES) != ORR_LIMIT_BACKEND_CGROUP_V1 &&
      orr_isolation_get_backend (host, ORR_LIMIT_PROCESSES) != ORR_LIMIT_BACKEND_CGROUP_V2)
    {
      g_test_skip ("No cgroup for this engine");
      return;
    }
  limits->max_processes = 8;
  job = orr_isolation_job_new (host, 424242, limits, &error);
  g_assert_no_error (error);
  g_assert_true (orr_isolation_job_create_cgroups (job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  child = fork ();
  if (child == 0)
    {
      /* Wait to be placed, then leave a daemon behind and exit. */
      char go;

      close (pipe_fds[1]);
      if (read (pipe_fds[0], &go, 1) != 1)
        _exit (1);
      if (fork () == 0)
        {
          setsid ();
          if (fork () == 0)
            {
              for (;;)
                pause ();
            }
          _exit (0);
        }
      _exit (0);
    }
  close (pipe_fds[0]);
  /* Placed from outside, as a stray process of the job would be. */
  for (const char * const *dir = orr_isolation_job_get_cgroups (job); *dir; dir++)
    {
      g_autofree char *procs = g_build_filename (*dir, "cgroup.procs", NULL);
      g_autofree char *pid_text = g_strdup_printf ("%d", (int) child);

      g_assert_true (g_file_set_contents_full (procs, pid_text, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (write (pipe_fds[1], "x", 1), ==, 1);
  close (pipe_fds[1]);
  g_assert_cmpint (waitpid (child, NULL, 0), ==, child);
  /* The daemon runs on, in the job's cgroups. */
  for (int i = 0; i < 500 && daemon_pid == 0; i++)
    {
      g_autofree char *procs = NULL;
      g_autofree char *path = g_build_filename (orr_isolation_job_get_cgroups (job)[0], "cgroup.procs", NULL);

      g_file_get_contents (path, &procs, NULL, NULL);
      if (procs && *procs)
        daemon_pid = atoi (procs);
      else
        g_usleep (2000);
    }
  g_assert_cmpint (daemon_pid, >, 0);
  g_assert_true (pid_alive (daemon_pid));

  orr_isolation_job_finish (job);
  g_assert_false (pid_alive (daemon_pid));
  for (cgroups = orr_isolation_job_get_cgroups (job); *cgroups; cgroups++)
    g_assert_false (g_file_test (*cgroups, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (orr_isolation_job_get_dir (job), G_FILE_TEST_EXISTS));
  orr_isolation_job_free (job);
}

/* The satellite moves itself into the job's cgroups (orr-sandbox.c): the
 * script's first statement already runs in every one of them. */
static void
test_cgroups_first (void)
{
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrLimits) limits = limits_new ();
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  const char * const *cgroups;
  const char *start;
  guint n_cgroups = 0;

  g_test_summary ("The script's first statement runs in every cgroup of the job (the pool's limits "
                  "written), never outside one");
  if (orr_isolation_get_backend (host, ORR_LIMIT_MEMORY) != ORR_LIMIT_BACKEND_CGROUP_V1 &&
      orr_isolation_get_backend (host, ORR_LIMIT_MEMORY) != ORR_LIMIT_BACKEND_CGROUP_V2 &&
      orr_isolation_get_backend (host, ORR_LIMIT_PROCESSES) != ORR_LIMIT_BACKEND_CGROUP_V1 &&
      orr_isolation_get_backend (host, ORR_LIMIT_PROCESSES) != ORR_LIMIT_BACKEND_CGROUP_V2)
    {
      g_test_skip ("No cgroup for this engine");
      return;
    }
  limits->max_processes = 16;
  limits->max_memory_bytes = 512 * 1024 * 1024;
  spec->script = g_strdup ("_cgroups = open('/proc/self/cgroup').read()\n"
                           "print('cgroups<' + _cgroups + '>', flush=True)\n");
  spec->limits = orr_limits_copy (limits);
  job = orr_engine_submit (engine, conn, spec);
  g_signal_connect (job, "message", G_CALLBACK (on_message_text), out);
  orr_job_wait (job);
  drain_messages ();
  g_assert_no_error ((GError *) orr_job_get_error (job));
  start = strstr (out->str, "cgroups<");
  g_assert_nonnull (start);
  lines = g_strsplit (start + strlen ("cgroups<"), "\n", -1);
  g_assert_nonnull (job->isolation);
  for (cgroups = orr_isolation_job_get_cgroups (job->isolation); *cgroups; cgroups++)
    {
      gboolean found = FALSE;

      n_cgroups++;
      /* hierarchy-ID:controllers:path, the path below the hierarchy's mount. */
      for (guint i = 0; lines[i] && !found; i++)
        {
          const char *path = strchr (lines[i], ':') ? strchr (strchr (lines[i], ':') + 1, ':') : NULL;

          found = path && path[1] == '/' && path[2] != '\0' && g_str_has_suffix (*cgroups, path + 1);
        }
      if (!found)
        g_error ("The script's first statement ran outside the job's cgroup %s:\n%s", *cgroups, start);
    }
  g_assert_cmpuint (n_cgroups, >, 0);
}

/* ------------------------------------------------------------ as a user */

static void
test_unprivileged (void)
{
  const char *setpriv = "/usr/bin/setpriv";
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  g_test_summary ("The whole suite again as an ordinary user (nobody): user namespaces, seccomp, Landlock "
                  "and rlimits");
  if (!g_file_test (setpriv, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("setpriv (util-linux) is not installed: cannot run the suite as nobody");
      return;
    }
  /* Can nobody reach this program and the satellite at all? */
  if (!g_spawn_sync (NULL, (char **) (const char *[]) { setpriv, "--reuid=nobody", "--regid=nogroup",
                                                        "--clear-groups", "test", "-x", self, NULL },
                     NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      g_autofree char *why = g_strdup_printf ("nobody cannot execute %s (a parent directory is private?)", self);
      g_test_skip (why);
      return;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, AS_USER_ENV, "1", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HOME");
  g_subprocess_launcher_setenv (launcher, "TMPDIR", "/tmp", TRUE);
  child = g_subprocess_launcher_spawn (launcher, &error, setpriv, "--reuid=nobody", "--regid=nogroup",
                                       "--clear-groups", "--inh-caps=-all", self, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (child, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("as nobody:\n%s\n%s", out, err);
  if (!g_subprocess_get_successful (child))
    g_error ("The suite failed as nobody (see above)");
  g_assert_nonnull (strstr (out, "ok "));
  g_assert_null (strstr (out, "not ok"));
}

/* ------------------------------------------------------------ main */

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
  /* The test owns the demo database file: it administers the catalog. */
  catalog = orr_catalog_new (conn);
  orr_catalog_enable (catalog, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int rc;

  /* A private home for the demo database, the catalog and the job
   * directories of an unprivileged engine. */
  base_dir = g_dir_make_tmp ("orrery-isolation-XXXXXX", &error);
  g_assert_no_error (error);
  chmod (base_dir, 0700);
  for (const char *const *d = (const char *const[]) { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                                      "XDG_RUNTIME_DIR", "HOME", NULL }; *d; d++)
    {
      g_autofree char *dir = g_build_filename (base_dir, *d, NULL);
      g_mkdir_with_parents (dir, 0700);
      g_setenv (*d, dir, TRUE);
    }
  g_setenv ("ORRERY_TEST_SECRET", SECRET, TRUE);
  g_test_init (&argc, &argv, NULL);

  host = orr_isolation_new ();
  engine = orr_engine_new ();
  open_demo ();

  g_test_add_func ("/Orr/Isolation/report", test_report);
  g_test_add_func ("/Orr/Isolation/cgroup-kill", test_cgroup_kill);
  g_test_add_func ("/Orr/Isolation/cgroups-first", test_cgroups_first);
  g_test_add_func ("/Orr/Isolation/sandbox/view", test_view);
  g_test_add_func ("/Orr/Isolation/sandbox/identity-per-job", test_identity_per_job);
  g_test_add_func ("/Orr/Isolation/hostile/fork-bomb", test_fork_bomb);
  g_test_add_func ("/Orr/Isolation/hostile/memory-balloon", test_memory_balloon);
  g_test_add_func ("/Orr/Isolation/hostile/cpu-spin", test_cpu_spin);
  g_test_add_func ("/Orr/Isolation/hostile/affinity", test_affinity);
  g_test_add_func ("/Orr/Isolation/hostile/timeout", test_timeout);
  g_test_add_func ("/Orr/Isolation/hostile/network", test_network);
  g_test_add_func ("/Orr/Isolation/hostile/shadow", test_shadow);
  g_test_add_func ("/Orr/Isolation/hostile/write-outside", test_write_outside);
  g_test_add_func ("/Orr/Isolation/hostile/kill-parent", test_kill_parent);
  g_test_add_func ("/Orr/Isolation/hostile/setuid", test_setuid);
  g_test_add_func ("/Orr/Isolation/hostile/segfault", test_segfault);
  g_test_add_func ("/Orr/Isolation/hostile/daemon", test_daemon);
  g_test_add_func ("/Orr/Isolation/hostile/cancel", test_cancel);
  g_test_add_func ("/Orr/Isolation/hostile/environment", test_environment);
  g_test_add_func ("/Orr/Isolation/hostile/stdout-flood", test_stdout_flood);
  g_test_add_func ("/Orr/Isolation/hostile/descriptors", test_descriptors);
  g_test_add_func ("/Orr/Isolation/hostile/huge-result", test_huge_result);
  if (geteuid () == 0 && g_getenv (AS_USER_ENV) == NULL)
    g_test_add_func ("/Orr/Isolation/unprivileged", test_unprivileged);

  rc = g_test_run ();

  g_clear_object (&conn);
  g_clear_object (&engine);
  g_clear_pointer (&host, orr_isolation_free);
  remove_tree (base_dir);
  g_free (base_dir);
  return rc;
}
