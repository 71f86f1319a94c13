/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-sandbox"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-sandbox.h"

/*
 * The job's sandbox, built by the zygote's child around itself:
 *
 *   zygote ─fork─▶ keeper (outside: namespaces created, no mounts)
 *                    └─fork─▶ init, PID 1 (mounts, identity, limits, no_new_privs,
 *                               Landlock, seccomp) ─fork─▶ job, PID 2 (Python)
 *
 * The job is not PID 1 so that signals behave as everywhere else (PID 1
 * ignores signals it has no handler for, even SIGSEGV it sends itself).
 * Without a PID namespace the child itself does all of it and runs the job.
 */

#define DRAIN_TIMEOUT_MS 10000
/* The interpreter and its output thread. */
#define SATELLITE_TASKS 2

#if defined(__SANITIZE_ADDRESS__)
#define KEEP_STDERR 1
#else
#define KEEP_STDERR 0
#endif
#define MAX_OPEN_FILES 4096
#define HIDDEN_TMPFS_OPTIONS "mode=0755,size=64k,nr_inodes=64"

/* Landlock: what the kernel headers of older distributions lack. */
#define LL_FS_EXECUTE      (1ull << 0)
#define LL_FS_WRITE_FILE   (1ull << 1)
#define LL_FS_READ_FILE    (1ull << 2)
#define LL_FS_READ_DIR     (1ull << 3)
#define LL_FS_ABI1         ((1ull << 13) - 1)
#define LL_FS_REFER        (1ull << 13)
#define LL_FS_TRUNCATE     (1ull << 14)
#define LL_FS_IOCTL_DEV    (1ull << 15)
#define LL_FS_FILE_RIGHTS  (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_NET_BIND_TCP    (1ull << 0)
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0)
#define LL_SCOPE_SIGNAL    (1ull << 1)
#define LL_RULE_PATH_BENEATH 1
#define LL_CREATE_RULESET_VERSION (1u << 0)

typedef struct {
  guint64 handled_access_fs;
  guint64 handled_access_net;
  guint64 scoped;
} LandlockRulesetAttr;

typedef struct __attribute__ ((packed)) {
  guint64 allowed_access;
  gint32 parent_fd;
} LandlockPathBeneathAttr;

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* clone3()'s arguments up to the cgroup (CLONE_ARGS_SIZE_VER2). */
typedef struct {
  guint64 flags;
  guint64 pidfd;
  guint64 child_tid;
  guint64 parent_tid;
  guint64 exit_signal;
  guint64 stack;
  guint64 stack_size;
  guint64 tls;
  guint64 set_tid;
  guint64 set_tid_size;
  guint64 cgroup;
} CloneArgs;

typedef struct {
  const OrrWireFork *spec;
  int job_fd;
  int link;                 /* init ↔ keeper: the job's wait status, and the keeper's life */
  int job_dir_fd;
  int cgroup2_fd;           /* the job's cgroup v2 the init is born in, or -1 */
  int cgroup2_procs;        /* its cgroup.procs, for the keeper to follow, or -1 */
  const char *cgroup2_dir;
  const sigset_t *job_mask;
  sigset_t relayed;         /* signals the keeper and the init wait for */
  guint64 mapped_bytes;     /* address space of the warm interpreter */
} Sandbox;

/* ----------------------------------------------------------- failures */

/* Reads what the engine sends up to END_INPUT, so that it is not cut off
 * mid-send and reads the ERROR that follows. */
static void
drain_input (int job_fd)
{
  for (;;)
    {
      struct pollfd pfd = { job_fd, POLLIN, 0 };
      g_autoptr(OrrWireMessage) msg = NULL;
      int rc = poll (&pfd, 1, DRAIN_TIMEOUT_MS);

      if (rc < 0 && errno == EINTR)
        continue;
      if (rc <= 0)
        return;
      msg = orr_wire_recv (job_fd, NULL);
      if (msg == NULL || msg->type == ORR_WIRE_END_INPUT)
        return;
    }
}

G_GNUC_NORETURN static void
sandbox_fail (Sandbox    *sb,
              const char *what,
              int         errsv)
{
  g_autofree char *message = g_strdup_printf (_("Cannot isolate the job: %s: %s"), what, g_strerror (errsv));
  OrrWireError err = { (char *) "OrrerySandboxError", message, (char *) "", 0 };
  g_autoptr(GBytes) payload = NULL;

  if (sb->job_fd >= 0)
    {
      drain_input (sb->job_fd);
      payload = orr_wire_encode_error (&err);
      orr_wire_send (sb->job_fd, ORR_WIRE_ERROR, payload, -1, NULL);
    }
  _exit (ORR_SANDBOX_EXIT_FAILED);
}

/* ------------------------------------------------------ small helpers */

static gboolean
write_file (const char *path,
            const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gssize len = strlen (text);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, len) == len;
  if (!ok)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return FALSE;
    }
  return close (fd) == 0;
}

/* Writes "0" (this process) to @name in the cgroup @dir_fd. */
static gboolean
write_self (int         dir_fd,
            const char *name)
{
  int fd = openat (dir_fd, name, O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "0", 1) == 1;
  if (!ok)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return FALSE;
    }
  return close (fd) == 0;
}

G_GNUC_NORETURN static void
cgroup_fail (Sandbox    *sb,
             const char *dir,
             int         errsv)
{
  g_autofree char *what = g_strdup_printf (_("joining the cgroup %s"), dir);

  sandbox_fail (sb, what, errsv);
}

/* The first thing the child does, still with the engine's credentials:
 * it moves into the job's cgroups, which the engine made and limited
 * before the fork; whatever it starts later is born in them. A cgroup v1
 * takes this process's only thread through "tasks": moving oneself thread
 * by thread skips the wait for an RCU grace period that a whole process's
 * move (cgroup.procs) costs, about 10 ms. A cgroup v2 has no such door:
 * with a PID namespace, the init (and so the job) is born in it by
 * clone3(CLONE_INTO_CGROUP), which does not wait either, and the keeper
 * follows it there afterwards; without one, the child moves itself
 * through cgroup.procs. Any failure ends the job with the reason. */
static void
join_cgroups (Sandbox *sb)
{
  const OrrWireFork *spec = sb->spec;

  for (guint i = 0; spec->cgroups && i < spec->cgroups->len; i++)
    {
      const char *dir = g_ptr_array_index (spec->cgroups, i);
      int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct statfs fs;

      if (dir_fd < 0 || fstatfs (dir_fd, &fs) != 0)
        cgroup_fail (sb, dir, errno);
      if (fs.f_type == CGROUP_SUPER_MAGIC)
        {
          if (!write_self (dir_fd, "tasks"))
            cgroup_fail (sb, dir, errno);
          close (dir_fd);
        }
      else if (fs.f_type == CGROUP2_SUPER_MAGIC && (spec->flags & ORR_WIRE_FORK_PID_NS) && sb->cgroup2_fd < 0)
        {
          sb->cgroup2_procs = openat (dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
          if (sb->cgroup2_procs < 0)
            cgroup_fail (sb, dir, errno);
          sb->cgroup2_fd = dir_fd;
          sb->cgroup2_dir = dir;
        }
      else if (fs.f_type == CGROUP2_SUPER_MAGIC)
        {
          if (!write_self (dir_fd, "cgroup.procs"))
            cgroup_fail (sb, dir, errno);
          close (dir_fd);
        }
      else
        cgroup_fail (sb, dir, ENOTSUP);
    }
}

/* fork(), or with a cgroup v2 to be born in, clone3(CLONE_INTO_CGROUP):
 * the child's other cgroups are its parent's. Past the raw system call
 * glibc's cached thread id in the child is still the keeper's; the init
 * never uses it (no raise(), no pthread call, it execs nothing) and its
 * fork() of the job sets the job's right. */
static pid_t
fork_init (Sandbox *sb)
{
  CloneArgs args = { 0 };
  long pid;

  if (sb->cgroup2_fd < 0)
    return fork ();
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (guint64) sb->cgroup2_fd;
  pid = syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0)
    {
      g_autofree char *what = g_strdup_printf (_("starting the namespace's init in the cgroup %s"), sb->cgroup2_dir);

      sandbox_fail (sb, what, errno);
    }
  if (pid == 0)
    {
      close (sb->cgroup2_fd);
      close (sb->cgroup2_procs);
      sb->cgroup2_fd = sb->cgroup2_procs = -1;
    }
  return (pid_t) pid;
}

/* Sets PR_SET_PDEATHSIG (a credential change clears it) and checks the
 * parent still lives: for the init, whose parent is outside its namespace,
 * by its end of the link to the keeper. */
static void
die_with_parent (Sandbox *sb,
                 pid_t    parent)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0)
    sandbox_fail (sb, "PR_SET_PDEATHSIG", errno);
  if (parent > 0 && getppid () != parent)
    _exit (ORR_SANDBOX_EXIT_FAILED);
  if (parent == 0 && sb->link >= 0)
    {
      struct pollfd pfd = { sb->link, POLLIN, 0 };

      if (poll (&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
        _exit (ORR_SANDBOX_EXIT_FAILED);
    }
}

/* Ends this process as @status ended the job: the same exit code, or the
 * same signal. */
G_GNUC_NORETURN static void
end_like (int status)
{
  if (WIFSIGNALED (status))
    {
      int sig = WTERMSIG (status);
      struct sigaction dfl = { .sa_handler = SIG_DFL };
      sigset_t only;

      sigaction (sig, &dfl, NULL);
      sigemptyset (&only);
      sigaddset (&only, sig);
      sigprocmask (SIG_UNBLOCK, &only, NULL);
      kill (getpid (), sig);
      _exit (128 + sig);
    }
  _exit (WIFEXITED (status) ? WEXITSTATUS (status) : ORR_SANDBOX_EXIT_FAILED);
}

/* ----------------------------------------------------- user namespace */

static void
enter_user_namespace (Sandbox *sb)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  char map[64];

  if (unshare (CLONE_NEWUSER) != 0)
    sandbox_fail (sb, _("a user namespace"), errno);
  /* The engine's own ids, mapped to themselves: files it creates in the job
   * directory belong to the user, and nothing else is mapped. */
  g_snprintf (map, sizeof map, "%u %u 1\n", uid, uid);
  if (!write_file ("/proc/self/uid_map", map))
    sandbox_fail (sb, _("the user namespace's uid map"), errno);
  if (!write_file ("/proc/self/setgroups", "deny"))
    sandbox_fail (sb, _("the user namespace's setgroups"), errno);
  g_snprintf (map, sizeof map, "%u %u 1\n", gid, gid);
  if (!write_file ("/proc/self/gid_map", map))
    sandbox_fail (sb, _("the user namespace's gid map"), errno);
}

/* ---------------------------------------------------------- mounts */

static void
mount_tmpfs (Sandbox    *sb,
             const char *path,
             const char *options,
             const char *what)
{
  if (mount ("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
    sandbox_fail (sb, what, errno);
}

static void
hide_path (Sandbox    *sb,
           const char *path)
{
  g_autofree char *what = g_strdup_printf (_("hiding %s"), path);
  struct stat st;

  if (stat (path, &st) != 0)
    {
      /* Nothing there, or nothing the job could reach anyway. */
      if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
        return;
      sandbox_fail (sb, what, errno);
    }
  if (S_ISDIR (st.st_mode))
    mount_tmpfs (sb, path, HIDDEN_TMPFS_OPTIONS, what);
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) != 0)
    sandbox_fail (sb, what, errno);
}

/* Creates the missing directories of @path, which may only lie in a tmpfs
 * the sandbox mounted over one of its ancestors (never on the host). */
static void
make_mount_point (Sandbox    *sb,
                  const char *path)
{
  g_autofree char *existing = g_strdup (path);
  struct statfs fs;
  char *slash;

  while (access (existing, F_OK) != 0)
    {
      slash = strrchr (existing, '/');
      if (slash == NULL || slash == existing)
        sandbox_fail (sb, _("the job directory's mount point"), ENOENT);
      *slash = '\0';
    }
  if (statfs (existing, &fs) != 0 || fs.f_type != TMPFS_MAGIC)
    sandbox_fail (sb, _("the job directory's mount point"), EXDEV);
  for (gsize i = strlen (existing) + 1; i <= strlen (path); i++)
    if (path[i] == '/' || path[i] == '\0')
      {
        g_autofree char *dir = g_strndup (path, i);

        if (mkdir (dir, 0755) != 0 && errno != EEXIST)
          sandbox_fail (sb, _("the job directory's mount point"), errno);
      }
}

static void
set_writable (Sandbox    *sb,
              const char *path)
{
  struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };

  if (mount_setattr (AT_FDCWD, path, 0, &attr, sizeof attr) != 0)
    sandbox_fail (sb, _("a writable mount"), errno);
}

static void
isolate_filesystem (Sandbox *sb)
{
  const OrrWireFork *spec = sb->spec;
  const char *job_dir = spec->job_dir && spec->job_dir[0] ? spec->job_dir : NULL;
  g_autofree char *tmp_options = NULL;
  struct mount_attr read_only = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };
  gboolean have_shm;

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    sandbox_fail (sb, _("making the mounts private"), errno);
  /* Opened before anything hides its path (it may lie under /run or /tmp). */
  if (job_dir && (sb->job_dir_fd = open (job_dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
    sandbox_fail (sb, _("opening the job directory"), errno);

  for (guint i = 0; spec->hidden && i < spec->hidden->len; i++)
    hide_path (sb, g_ptr_array_index (spec->hidden, i));

  tmp_options = spec->tmp_size ? g_strdup_printf ("mode=1777,size=%" G_GUINT64_FORMAT, spec->tmp_size)
                               : g_strdup ("mode=1777");
  mount_tmpfs (sb, "/tmp", tmp_options, _("a private /tmp"));
  have_shm = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR);
  if (have_shm)
    mount_tmpfs (sb, "/dev/shm", tmp_options, _("a private /dev/shm"));

  if (job_dir)
    {
      char source[64];

      if (access (job_dir, F_OK) != 0)
        make_mount_point (sb, job_dir);
      g_snprintf (source, sizeof source, "/proc/self/fd/%d", sb->job_dir_fd);
      if (mount (source, job_dir, NULL, MS_BIND, NULL) != 0)
        sandbox_fail (sb, _("mounting the job directory"), errno);
    }

  if (mount_setattr (AT_FDCWD, "/", AT_RECURSIVE, &read_only, sizeof read_only) != 0)
    sandbox_fail (sb, _("a read-only view"), errno);
  set_writable (sb, "/tmp");
  if (have_shm)
    set_writable (sb, "/dev/shm");
  if (job_dir)
    set_writable (sb, job_dir);
  if (sb->job_dir_fd >= 0)
    {
      close (sb->job_dir_fd);
      sb->job_dir_fd = -1;
    }
}

/* Mounted by the init: a procfs shows the PID namespace of who mounts it. */
static void
mount_proc (Sandbox *sb)
{
  if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0)
    {
      /* A procfs of the new namespace cannot be mounted here (an outer one
       * is partly covered): show none rather than the host's processes. */
      if (mount ("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                 "mode=0555,size=4k,nr_inodes=8") != 0)
        sandbox_fail (sb, _("hiding /proc"), errno);
    }
}

/* ------------------------------------------------------ identity */

static void
drop_capabilities (Sandbox *sb)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

  for (int cap = 0; cap < 64; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      sandbox_fail (sb, _("dropping the capability bounding set"), errno);
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (syscall (SYS_capset, &header, data) != 0)
    sandbox_fail (sb, _("dropping capabilities"), errno);
}

static void
change_identity (Sandbox *sb)
{
  const OrrWireFork *spec = sb->spec;

  if (spec->flags & ORR_WIRE_FORK_IDENTITY)
    {
      if (setgroups (0, NULL) != 0)
        sandbox_fail (sb, "setgroups", errno);
      if (setresgid (spec->gid, spec->gid, spec->gid) != 0)
        sandbox_fail (sb, _("setgid to the worker identity"), errno);
      if (setresuid (spec->uid, spec->uid, spec->uid) != 0)
        sandbox_fail (sb, _("setuid to the worker identity"), errno);
      if (setuid (0) == 0 || geteuid () != spec->uid || getegid () != spec->gid)
        sandbox_fail (sb, _("checking the worker identity"), EPERM);
    }
  else if (spec->flags & ORR_WIRE_FORK_USER_NS)
    drop_capabilities (sb);
}

/* ------------------------------------------------------ limits */

static void
apply_limits (Sandbox *sb,
              guint    counted_helpers)
{
  const OrrWireFork *spec = sb->spec;
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > MAX_OPEN_FILES))
    {
      rl.rlim_cur = rl.rlim_max = MAX_OPEN_FILES;
      if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
        sandbox_fail (sb, _("the open files limit"), errno);
    }
  if (spec->max_processes)
    {
      /* Counted per user (per user namespace), threads included: the limit
       * is what the script starts on top of the interpreter and its output
       * thread, and of the keeper and the init when they count too. */
      rl.rlim_cur = rl.rlim_max = (rlim_t) spec->max_processes + SATELLITE_TASKS + counted_helpers;
      if (setrlimit (RLIMIT_NPROC, &rl) != 0)
        sandbox_fail (sb, _("the process limit"), errno);
    }
  if (spec->memory_rlimit)
    {
      /* On top of what the warm interpreter already maps (numpy, pandas and,
       * under ASan, the shadow memory): the limit bounds what the job adds. */
      rl.rlim_cur = rl.rlim_max = sb->mapped_bytes + spec->memory_rlimit;
      if (setrlimit (RLIMIT_AS, &rl) != 0)
        sandbox_fail (sb, _("the memory limit"), errno);
    }
  if (spec->cpus && spec->cpus->len > 0)
    {
      cpu_set_t *set = CPU_ALLOC (ORR_WIRE_MAX_CPUS);
      gsize size = CPU_ALLOC_SIZE (ORR_WIRE_MAX_CPUS);

      CPU_ZERO_S (size, set);
      for (guint i = 0; i < spec->cpus->len; i++)
        CPU_SET_S (g_array_index (spec->cpus, guint32, i), size, set);
      if (sched_setaffinity (0, size, set) != 0)
        sandbox_fail (sb, _("the CPU affinity"), errno);
      CPU_FREE (set);
    }
}

/* ------------------------------------------------------ Landlock */

static gboolean
landlock_allow (int         ruleset,
                const char *path,
                guint64     access,
                guint64     handled)
{
  LandlockPathBeneathAttr rule;
  struct stat st;
  int fd = open (path, O_PATH | O_CLOEXEC);
  int rc;

  if (fd < 0)
    return errno == ENOENT;
  if (fstat (fd, &st) != 0)
    {
      close (fd);
      return FALSE;
    }
  rule.allowed_access = access & handled;
  if (!S_ISDIR (st.st_mode))
    rule.allowed_access &= LL_FS_FILE_RIGHTS;
  rule.parent_fd = fd;
  rc = syscall (SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
  close (fd);
  return rc == 0;
}

static void
apply_landlock (Sandbox *sb)
{
  static const char * const devices[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", NULL };
  const char *job_dir = sb->spec->job_dir && sb->spec->job_dir[0] ? sb->spec->job_dir : NULL;
  LandlockRulesetAttr attr = { 0 };
  long abi = syscall (SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  gsize attr_size = sizeof attr.handled_access_fs;
  guint64 read_only = LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE;
  gboolean ok;
  int ruleset;

  if (abi < 1)
    sandbox_fail (sb, "Landlock", abi < 0 ? errno : ENOSYS);
  attr.handled_access_fs = LL_FS_ABI1;
  if (abi >= 2)
    attr.handled_access_fs |= LL_FS_REFER;
  if (abi >= 3)
    attr.handled_access_fs |= LL_FS_TRUNCATE;
  if (abi >= 5)
    attr.handled_access_fs |= LL_FS_IOCTL_DEV;
  if (abi >= 4)
    {
      /* No TCP at all, a second wall behind the network namespace. */
      attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
      attr_size = offsetof (LandlockRulesetAttr, scoped);
    }
  if (abi >= 6)
    {
      /* No abstract unix sockets or signals outside the job's own processes. */
      attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
      attr_size = sizeof attr;
    }
  ruleset = syscall (SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset < 0)
    sandbox_fail (sb, _("a Landlock ruleset"), errno);

  ok = landlock_allow (ruleset, "/", read_only, attr.handled_access_fs);
  for (guint i = 0; ok && devices[i]; i++)
    ok = landlock_allow (ruleset, devices[i], LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV,
                         attr.handled_access_fs);
  ok = ok && landlock_allow (ruleset, "/tmp", attr.handled_access_fs, attr.handled_access_fs);
  ok = ok && landlock_allow (ruleset, "/dev/shm", attr.handled_access_fs, attr.handled_access_fs);
  if (ok && job_dir)
    ok = landlock_allow (ruleset, job_dir, attr.handled_access_fs, attr.handled_access_fs);
  if (!ok)
    sandbox_fail (sb, _("a Landlock rule"), errno);
  if (syscall (SYS_landlock_restrict_self, ruleset, 0) != 0)
    sandbox_fail (sb, "Landlock", errno);
  close (ruleset);
}

/* ------------------------------------------------------ seccomp */

#if defined(__x86_64__)
# define ORR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
# define ORR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
# define ARG_LOW(n) (offsetof (struct seccomp_data, args) + 8 * (n))
#else
# define ARG_LOW(n) (offsetof (struct seccomp_data, args) + 8 * (n) + 4)
#endif

#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

/* What a data script never needs: debugging other processes, the mount
 * family, new namespaces, the kernel's own facilities. Denied with EPERM, so
 * that Python raises an exception the script can report. */
static const int denied_syscalls[] = {
  __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp,
  __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
  __NR_unshare, __NR_setns,
  __NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_fanotify_init,
  __NR_keyctl, __NR_add_key, __NR_request_key,
  __NR_kexec_load, __NR_reboot, __NR_init_module, __NR_finit_module, __NR_delete_module,
  __NR_swapon, __NR_swapoff, __NR_acct, __NR_syslog, __NR_quotactl, __NR_vhangup,
  __NR_sethostname, __NR_setdomainname, __NR_settimeofday, __NR_clock_settime,
  __NR_clock_adjtime, __NR_adjtimex,
  __NR_open_by_handle_at, __NR_name_to_handle_at,
  __NR_sched_setaffinity,
#ifdef __NR_kexec_file_load
  __NR_kexec_file_load,
#endif
#ifdef __NR_io_uring_setup
  __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
#ifdef __NR_open_tree
  __NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
#endif
#ifdef __NR_mount_setattr
  __NR_mount_setattr,
#endif
#ifdef __NR_pidfd_getfd
  __NR_pidfd_getfd,
#endif
#ifdef __NR_quotactl_fd
  __NR_quotactl_fd,
#endif
#ifdef __NR_iopl
  __NR_iopl, __NR_ioperm,
#endif
#ifdef __NR_uselib
  __NR_uselib,
#endif
#ifdef __NR_lookup_dcookie
  __NR_lookup_dcookie,
#endif
#ifdef __NR_nfsservctl
  __NR_nfsservctl,
#endif
};

#define NAMESPACE_CLONE_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                               CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static void
emit (GArray *prog, struct sock_filter insn)
{
  g_array_append_val (prog, insn);
}

static void
apply_seccomp (Sandbox *sb)
{
#ifdef ORR_AUDIT_ARCH
  g_autoptr(GArray) prog = g_array_new (FALSE, FALSE, sizeof (struct sock_filter));
  struct sock_fprog fprog;

  /* Another calling convention (i386 through int 0x80, x32) is another
   * syscall table: nothing a script has a reason to use. */
  emit (prog, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, ORR_AUDIT_ARCH, 1, 0));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)));
#ifdef __x86_64__
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */, 0, 1));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
  for (guint i = 0; i < G_N_ELEMENTS (denied_syscalls); i++)
    {
      emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, denied_syscalls[i], 0, 1));
      emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, DENY));
    }
  /* clone3 passes its flags in memory the filter cannot read: ENOSYS makes
   * glibc fall back to clone, whose flags it can. */
#ifdef __NR_clone3
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
#endif
  /* clone: no namespace flags. */
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (0)));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, NAMESPACE_CLONE_FLAGS, 1, 0));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, DENY));
  /* socket and socketpair: AF_UNIX only. */
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 1, 0));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_socketpair, 0, 4));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (0)));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, DENY));
  /* ioctl: no typing into a terminal (TIOCSTI) nor its console tricks. */
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (1)));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0));
  emit (prog, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, DENY));
  emit (prog, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW));

  fprog.len = prog->len;
  fprog.filter = (struct sock_filter *) prog->data;
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
    sandbox_fail (sb, _("the seccomp filter"), errno);
#else
  sandbox_fail (sb, _("the seccomp filter"), ENOSYS);
#endif
}

/* ------------------------------------------------------ the job process */

static void
restrict_self (Sandbox *sb)
{
  guint32 flags = sb->spec->flags;

  if ((flags & (ORR_WIRE_FORK_NO_NEW_PRIVS | ORR_WIRE_FORK_SECCOMP | ORR_WIRE_FORK_LANDLOCK)) &&
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    sandbox_fail (sb, "no_new_privs", errno);
  if (flags & ORR_WIRE_FORK_LANDLOCK)
    apply_landlock (sb);
  if (flags & ORR_WIRE_FORK_SECCOMP)
    apply_seccomp (sb);
}

/* What the job starts with: nothing of the engine's environment but the
 * locale; no DSN, password or token can be inherited. */
static void
set_job_environment (const OrrWireFork *spec)
{
  /* LANGUAGE and LC_MESSAGES too: gettext reads them at each lookup, and
   * Orrery's own messages from the job follow the user's language. */
  static const char * const kept[] = { "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "TZ", NULL };
  const char *job_dir = spec->job_dir && spec->job_dir[0] ? spec->job_dir : "/tmp";
  char *values[G_N_ELEMENTS (kept)] = { NULL };

  for (guint i = 0; kept[i]; i++)
    values[i] = g_strdup (g_getenv (kept[i]));
  clearenv ();
  g_setenv ("PATH", "/usr/bin:/bin", TRUE);
  g_setenv ("HOME", job_dir, TRUE);
  g_setenv ("TMPDIR", "/tmp", TRUE);
  g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  g_setenv ("OMP_NUM_THREADS", "1", TRUE);
  g_setenv ("MKL_NUM_THREADS", "1", TRUE);
  for (guint i = 0; kept[i]; i++)
    {
      if (values[i])
        g_setenv (kept[i], values[i], TRUE);
      g_free (values[i]);
    }
}

static void
become_job (Sandbox *sb)
{
  int null_fd;

  if (sb->link >= 0)
    {
      close (sb->link);
      sb->link = -1;
    }
  if (sb->job_dir_fd >= 0)
    {
      close (sb->job_dir_fd);
      sb->job_dir_fd = -1;
    }
  /* Nothing of the engine's terminal: no input to read, no escape sequences
   * or TIOCSTI into it. Output goes through the job socket. Only a sanitizer
   * build keeps standard error, so that its reports reach the test logs. */
  null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0)
    sandbox_fail (sb, _("opening /dev/null"), errno);
  for (int fd = 0; fd <= (KEEP_STDERR ? 1 : 2); fd++)
    if (dup2 (null_fd, fd) < 0)
      sandbox_fail (sb, _("redirecting standard input and output"), errno);
  if (null_fd > 2)
    close (null_fd);
  set_job_environment (sb->spec);
  sigprocmask (SIG_SETMASK, sb->job_mask, NULL);
}

/* ------------------------------------------------------ init and keeper */

G_GNUC_NORETURN static void
run_init_loop (Sandbox *sb,
               pid_t    job)
{
  close (sb->job_fd);
  sb->job_fd = -1;
  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&sb->relayed, &info);

      if (sig < 0)
        continue;
      if (sig == SIGCHLD)
        {
          int status;
          pid_t pid;

          /* PID 1 reaps every orphan; the job's end ends the namespace. */
          while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
            if (pid == job)
              {
                if (send (sb->link, &status, sizeof status, MSG_NOSIGNAL) != sizeof status)
                  _exit (ORR_SANDBOX_EXIT_FAILED);
                _exit (0);
              }
          continue;
        }
      /* Pass on what comes from outside (the keeper), not what the job
       * sends its parent. */
      if (info.si_pid == 0 && sig != SIGUSR1)
        kill (job, sig);
    }
}

static void
run_init (Sandbox *sb)
{
  const OrrWireFork *spec = sb->spec;
  pid_t job;

  die_with_parent (sb, 0);
  if (spec->flags & ORR_WIRE_FORK_MOUNT_NS)
    mount_proc (sb);
  if (spec->job_dir && spec->job_dir[0] && chdir (spec->job_dir) != 0)
    sandbox_fail (sb, _("entering the job directory"), errno);
  if (setsid () < 0)
    sandbox_fail (sb, _("a new session"), errno);
  change_identity (sb);
  die_with_parent (sb, 0);
  /* Counted by RLIMIT_NPROC beside the job: this init, and the keeper when
   * it too runs as the engine's user in the new user namespace. */
  apply_limits (sb, (spec->flags & ORR_WIRE_FORK_USER_NS) ? 2 : 1);
  restrict_self (sb);

  job = fork ();
  if (job < 0)
    sandbox_fail (sb, _("starting the job process"), errno);
  if (job == 0)
    {
      die_with_parent (sb, 1);
      become_job (sb);
      return;
    }
  run_init_loop (sb, job);
}

G_GNUC_NORETURN static void
run_keeper (Sandbox *sb,
            pid_t    init)
{
  /* It runs no script but stays outside the namespaces with the engine's
   * credentials: no core dump, no ptrace by anyone of the same user. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  close (sb->job_fd);
  sb->job_fd = -1;
  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&sb->relayed, &info);
      int status, job_status;

      if (sig < 0)
        continue;
      if (sig == SIGCHLD)
        {
          if (waitpid (init, &status, WNOHANG) != init)
            continue;
          /* The init reports the job's status before it ends; if it was
           * killed instead, its own status is the truth. By now the kernel
           * has ended every process of the namespace. */
          if (recv (sb->link, &job_status, sizeof job_status, MSG_DONTWAIT) == sizeof job_status)
            status = job_status;
          end_like (status);
        }
      /* SIGUSR1 from the engine: end everything now. Killing PID 1 kills
       * the whole namespace, double-forked daemons included. */
      kill (init, sig == SIGUSR1 ? SIGKILL : sig);
    }
}

void
orr_sandbox_enter (const OrrWireFork *spec,
                   int                job_fd,
                   const sigset_t    *job_mask,
                   pid_t              parent)
{
  Sandbox sb = { spec, job_fd, -1, -1, -1, -1, NULL, job_mask };
  static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD };
  int namespaces = 0;
  int link[2];
  pid_t init;

  if (spec->flags == 0 && spec->max_processes == 0 && spec->memory_rlimit == 0 &&
      (spec->cpus == NULL || spec->cpus->len == 0) && (spec->cgroups == NULL || spec->cgroups->len == 0))
    return;

  /* Only the job socket is inherited (and 0–2, which end on /dev/null). */
  if (job_fd > 3)
    close_range (3, job_fd - 1, 0);
  close_range (job_fd + 1, ~0u, 0);
  {
    /* A crash is reported, never dumped: the keeper re-raises the job's
     * fatal signal and would otherwise dump a copy of the interpreter. */
    struct rlimit no_core = { 0, 0 };

    setrlimit (RLIMIT_CORE, &no_core);
  }
  join_cgroups (&sb);

  if (spec->memory_rlimit)
    {
      unsigned long pages = 0;
      FILE *statm = fopen ("/proc/self/statm", "re");

      if (statm == NULL || fscanf (statm, "%lu", &pages) != 1)
        sandbox_fail (&sb, _("reading the address space size"), statm ? EIO : errno);
      fclose (statm);
      sb.mapped_bytes = (guint64) pages * sysconf (_SC_PAGESIZE);
    }

  if (spec->flags & ORR_WIRE_FORK_USER_NS)
    {
      enter_user_namespace (&sb);
      die_with_parent (&sb, parent);
    }
  if (spec->flags & ORR_WIRE_FORK_NET_NS)
    namespaces |= CLONE_NEWNET;
  if (spec->flags & ORR_WIRE_FORK_MOUNT_NS)
    namespaces |= CLONE_NEWNS;
  if (spec->flags & ORR_WIRE_FORK_IPC_NS)
    namespaces |= CLONE_NEWIPC;
  if (spec->flags & ORR_WIRE_FORK_PID_NS)
    namespaces |= CLONE_NEWPID;
  if (namespaces && unshare (namespaces) != 0)
    sandbox_fail (&sb, _("new namespaces"), errno);
  if (spec->flags & ORR_WIRE_FORK_MOUNT_NS)
    isolate_filesystem (&sb);

  /* Wait for the job. */
  for (;;)
    {
      struct pollfd pfd = { job_fd, POLLIN, 0 };

      if (poll (&pfd, 1, -1) >= 0 || errno != EINTR)
        break;
    }

  if (!(spec->flags & ORR_WIRE_FORK_PID_NS))
    {
      if (spec->job_dir && spec->job_dir[0] && chdir (spec->job_dir) != 0)
        sandbox_fail (&sb, _("entering the job directory"), errno);
      if (setsid () < 0)
        sandbox_fail (&sb, _("a new session"), errno);
      change_identity (&sb);
      die_with_parent (&sb, parent);
      apply_limits (&sb, 0);
      restrict_self (&sb);
      become_job (&sb);
      return;
    }

  sigemptyset (&sb.relayed);
  for (guint i = 0; i < G_N_ELEMENTS (relayed); i++)
    sigaddset (&sb.relayed, relayed[i]);
  sigprocmask (SIG_BLOCK, &sb.relayed, NULL);
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link) != 0)
    sandbox_fail (&sb, _("a socket pair"), errno);
  init = fork_init (&sb);
  if (init < 0)
    sandbox_fail (&sb, _("starting the namespace's init"), errno);
  if (init == 0)
    {
      close (link[0]);
      sb.link = link[1];
      run_init (&sb);
      return;
    }
  close (link[1]);
  sb.link = link[0];
  /* The keeper follows the init into the cgroup v2 now, off the job's path
   * (this move waits for a grace period); monitors find the job's cgroups
   * through it. It runs nothing of the job's: a failure only leaves it
   * outside. */
  if (sb.cgroup2_fd >= 0)
    {
      if (write (sb.cgroup2_procs, "0", 1) != 1)
        g_debug ("The keeper stays outside the job's cgroup v2: %s", g_strerror (errno));
      close (sb.cgroup2_procs);
      close (sb.cgroup2_fd);
      sb.cgroup2_fd = sb.cgroup2_procs = -1;
    }
  run_keeper (&sb, init);
}
