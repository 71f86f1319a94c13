/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-isolation"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-isolation.h"

/*
 * The engine's half of a job's sandbox (the satellite's is
 * core/satellite/orr-sandbox.c).
 *
 * Cgroups: under the engine's own cgroup of each hierarchy,
 *   orrery/<pool>/job-<engine pid>-<job id>
 * The pool directory holds what OrrLimits gives the pool as a whole (memory,
 * CPU percent, CPU list); the job directory what is per job (process count)
 * and is the unit of accounting and of the final kill.
 */

#define DEFAULT_WORKER_UIDS_FIRST 70000
#define DEFAULT_WORKER_UIDS_COUNT 10000
#define CFS_PERIOD_US 100000
/* Tasks a job has before its script starts any: the keeper and the init of
 * its PID namespace, the interpreter and its output thread. A pool's
 * max_processes counts what the script starts on top (threads count). */
#define SANDBOX_HELPERS 2
#define SATELLITE_TASKS 2
#define KILL_WAIT_MS 2000
#define MAX_TREE_DEPTH 1024

#if defined(__x86_64__) || defined(__aarch64__)
#define SECCOMP_ARCH_SUPPORTED 1
#else
#define SECCOMP_ARCH_SUPPORTED 0
#endif

typedef enum {
  CG_MEMORY,
  CG_CPU,
  CG_CPUACCT,
  CG_PIDS,
  CG_CPUSET,
  CG_FREEZER,
  CG_UNIFIED,   /* cgroup v2 membership and cgroup.kill, with or without controllers */
  N_CG
} Controller;

static const char * const controller_names[N_CG] = {
  "memory", "cpu", "cpuacct", "pids", "cpuset", "freezer", "unified",
};

typedef struct {
  char *base;          /* the engine's own cgroup directory in this hierarchy */
  guint controllers;   /* 1 << Controller */
  gboolean v2;
} Hierarchy;

/* What the probe child found, written to a pipe. */
enum {
  PROBE_USER = 1 << 0,
  PROBE_NET = 1 << 1,
  PROBE_IPC = 1 << 2,
  PROBE_MOUNT = 1 << 3,
  PROBE_PID = 1 << 4,
  PROBE_PROC = 1 << 5,
  PROBE_NNP = 1 << 6,
  PROBE_SECCOMP = 1 << 7,
};

enum { STEP_USER, STEP_NET, STEP_IPC, STEP_MOUNT, STEP_PID, STEP_PROC, STEP_NNP, STEP_SECCOMP, N_STEPS };

typedef struct {
  guint32 bits;
  gint32 landlock;     /* ABI, or -errno */
  gint32 err[N_STEPS];
} ProbeResult;

struct _OrrIsolation {
  GMutex lock;                    /* the cgroup tree, worker uids */
  gboolean enabled;
  gboolean privileged;
  guint32 fork_flags;             /* what the satellite is asked for */
  int landlock_abi;
  gboolean new_proc;
  char *layers[ORR_ISOLATION_N_LAYERS];
  char *backend_notes[ORR_N_LIMITS];
  OrrLimitBackend backends[ORR_N_LIMITS];
  char *cgroup_notes[N_CG];       /* why a controller is not used */
  GPtrArray *hierarchies;         /* Hierarchy */
  int controller_hierarchy[N_CG]; /* index in hierarchies, or -1 */
  char *job_root;
  char *job_root_error;
  char *uid_lock_dir;
  guint32 uid_first;
  guint32 uid_count;
  guint32 uid_next;
  GPtrArray *hidden;              /* char * */
  GArray *host_cpus;              /* guint: CPUs the engine may run on */
  guint n_online_cpus;
};

struct _OrrIsolationJob {
  OrrIsolation *isolation;
  guint64 id;
  OrrLimits *limits;
  char *name;
  char *dir;
  int uid;
  int uid_lock;
  GArray *cpus;                   /* guint32, or NULL */
  GPtrArray *cgroups;             /* job cgroup directories, NULL-terminated */
  GPtrArray *pool_dirs;           /* pool and orrery/ directories, to remove if empty */
  int cgroup_of[N_CG];            /* index in cgroups, or -1 */
  gboolean finished;
  gboolean memory_exceeded;
  gboolean processes_exceeded;
  gint64 cpu_usage_ns;
};

/* ------------------------------------------------------------ files */

static char *
read_text (const char *dir,
           const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (contents);
}

static gboolean
write_text (const char  *dir,
            const char  *file,
            const char  *value,
            GError     **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  gssize len = strlen (value);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  int errsv;

  if (fd >= 0 && write (fd, value, len) == len)
    {
      close (fd);
      return TRUE;
    }
  errsv = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot write “%s” to %s: %s"), value, path, g_strerror (errsv));
  return FALSE;
}

/* The value of "key N" in a flat keyed file (memory.oom_control, pids.events…). */
static gint64
read_keyed (const char *dir,
            const char *file,
            const char *key)
{
  g_autofree char *text = read_text (dir, file);
  g_auto(GStrv) lines = NULL;
  gsize key_len = strlen (key);

  if (text == NULL)
    return -1;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], key) && lines[i][key_len] == ' ')
      return g_ascii_strtoll (lines[i] + key_len + 1, NULL, 10);
  return -1;
}

static gboolean
remove_tree_at (int         parent_fd,
                const char *name,
                int         depth)
{
  DIR *dir;
  struct dirent *entry;
  int fd;

  if (depth > MAX_TREE_DEPTH)
    return FALSE;
  fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat (parent_fd, name, 0700, 0) == 0)
    fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      if (errno == ENOTDIR || errno == ELOOP)
        return unlinkat (parent_fd, name, 0) == 0 || errno == ENOENT;
      return FALSE;
    }
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return FALSE;
    }
  /* A script may have left a directory it cannot write in. */
  fchmod (fd, 0700);
  for (int pass = 0; pass < 3; pass++)
    {
      rewinddir (dir);
      while ((entry = readdir (dir)) != NULL)
        {
          if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
            continue;
          if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN)
            remove_tree_at (fd, entry->d_name, depth + 1);
          else
            unlinkat (fd, entry->d_name, 0);
        }
      if (unlinkat (parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        {
          closedir (dir);
          return TRUE;
        }
      if (errno != ENOTEMPTY)
        break;
    }
  closedir (dir);
  return FALSE;
}

static gboolean
remove_tree (const char *path)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  int parent_fd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok;

  if (parent_fd < 0)
    return errno == ENOENT;
  ok = remove_tree_at (parent_fd, name, 0);
  close (parent_fd);
  return ok;
}

static char *
describe_bytes (guint64 bytes)
{
  /* Translators: mebibytes, as a limit was set (“256 MB”); French: Mio. */
  if (bytes % (1024 * 1024) == 0)
    return g_strdup_printf (_("%llu MB"), (unsigned long long) (bytes / (1024 * 1024)));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%llu byte", "%llu bytes", bytes), (unsigned long long) bytes);
}

static char *
describe_cpus (GArray *cpus)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; cpus && i < cpus->len; i++)
    {
      guint first = g_array_index (cpus, guint, i), last = first;

      while (i + 1 < cpus->len && g_array_index (cpus, guint, i + 1) == last + 1)
        last = g_array_index (cpus, guint, ++i);
      g_string_append_printf (s, "%s%u", s->len ? "," : "", first);
      if (last != first)
        g_string_append_printf (s, "-%u", last);
    }
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------ the probe */

static gboolean
write_all_fd (const char *path,
              const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gssize len = strlen (text);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, len) == len;
  close (fd);
  return ok;
}

/* "N N 1\n" without the allocator (the probe child of a threaded engine). */
static void
format_map (char *buf, unsigned int id)
{
  char digits[16];
  int n = 0, pos = 0;

  do
    digits[n++] = '0' + id % 10;
  while ((id /= 10) > 0);
  for (int copy = 0; copy < 2; copy++)
    {
      for (int i = n - 1; i >= 0; i--)
        buf[pos++] = digits[i];
      buf[pos++] = ' ';
    }
  buf[pos++] = '1';
  buf[pos++] = '\n';
  buf[pos] = '\0';
}

/* Runs in a child of the (threaded) engine: system calls only. */
G_GNUC_NORETURN static void
probe_child (int      out,
             gboolean privileged)
{
  ProbeResult r = { 0 };
  gboolean can = privileged;
  char map[48];
  uid_t uid = geteuid ();
  gid_t gid = getegid ();

  if (!privileged)
    {
      gboolean ok = unshare (CLONE_NEWUSER) == 0;

      format_map (map, uid);
      ok = ok && write_all_fd ("/proc/self/uid_map", map);
      ok = ok && write_all_fd ("/proc/self/setgroups", "deny");
      format_map (map, gid);
      ok = ok && write_all_fd ("/proc/self/gid_map", map);
      if (ok)
        {
          r.bits |= PROBE_USER;
          can = TRUE;
        }
      else
        r.err[STEP_USER] = errno;
    }
  if (can)
    {
      struct mount_attr read_only = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };

      if (unshare (CLONE_NEWNET) == 0)
        r.bits |= PROBE_NET;
      else
        r.err[STEP_NET] = errno;
      if (unshare (CLONE_NEWIPC) == 0)
        r.bits |= PROBE_IPC;
      else
        r.err[STEP_IPC] = errno;
      if (unshare (CLONE_NEWNS) == 0 &&
          mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
          mount ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0 &&
          mount_setattr (AT_FDCWD, "/", AT_RECURSIVE, &read_only, sizeof read_only) == 0)
        r.bits |= PROBE_MOUNT;
      else
        r.err[STEP_MOUNT] = errno;
      if (unshare (CLONE_NEWPID) == 0)
        {
          pid_t pid;
          int status = 0;

          r.bits |= PROBE_PID;
          pid = fork ();
          if (pid == 0)
            {
              if (!(r.bits & PROBE_MOUNT))
                _exit (127);
              _exit (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 ? 0 : 1 + (errno & 0x7f));
            }
          if (pid > 0 && waitpid (pid, &status, 0) == pid && WIFEXITED (status) && WEXITSTATUS (status) == 0)
            r.bits |= PROBE_PROC;
          else
            r.err[STEP_PROC] = pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) != 127 ? WEXITSTATUS (status) - 1 : 0;
        }
      else
        r.err[STEP_PID] = errno;
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    {
      struct sock_filter allow = BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
      struct sock_fprog prog = { 1, &allow };

      r.bits |= PROBE_NNP;
      if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
        r.bits |= PROBE_SECCOMP;
      else
        r.err[STEP_SECCOMP] = errno;
    }
  else
    r.err[STEP_NNP] = errno;
  r.landlock = syscall (SYS_landlock_create_ruleset, NULL, 0, 1u /* LANDLOCK_CREATE_RULESET_VERSION */);
  if (r.landlock < 0)
    r.landlock = -errno;
  if (write (out, &r, sizeof r) != sizeof r)
    _exit (1);
  _exit (0);
}

static ProbeResult
run_probe (gboolean privileged)
{
  ProbeResult r = { 0 };
  int fds[2];
  pid_t pid;

  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      r.landlock = -errno;
      for (int i = 0; i < N_STEPS; i++)
        r.err[i] = -r.landlock;
      return r;
    }
  pid = fork ();
  if (pid == 0)
    {
      close (fds[0]);
      probe_child (fds[1], privileged);
    }
  close (fds[1]);
  if (pid < 0 || read (fds[0], &r, sizeof r) != sizeof r)
    {
      memset (&r, 0, sizeof r);
      r.landlock = -ECHILD;
      for (int i = 0; i < N_STEPS; i++)
        r.err[i] = ECHILD;
    }
  close (fds[0]);
  if (pid > 0)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
  return r;
}

/* ------------------------------------------------------------ cgroups */

static char *
unescape_mount_path (const char *s)
{
  GString *out = g_string_new (NULL);

  for (; *s; s++)
    {
      if (s[0] == '\\' && g_ascii_isdigit (s[1]) && g_ascii_isdigit (s[2]) && g_ascii_isdigit (s[3]))
        {
          g_string_append_c (out, (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0')));
          s += 3;
        }
      else
        g_string_append_c (out, *s);
    }
  return g_string_free (out, FALSE);
}

/* The engine's own cgroup in a hierarchy mounted at @mount with @root. */
static char *
own_cgroup_dir (const char *mount,
                const char *root,
                const char *path)
{
  g_autofree char *dir = NULL;
  gsize len;

  if (!g_str_equal (root, "/") && g_str_has_prefix (path, root))
    path += strlen (root);
  dir = g_build_filename (mount, path, NULL);
  len = strlen (dir);
  while (len > 1 && dir[len - 1] == '/')
    dir[--len] = '\0';
  return g_steal_pointer (&dir);
}

static gboolean
probe_writable (const char  *base,
                gboolean    *has_kill,
                char       **why_not)
{
  g_autofree char *probe = g_strdup_printf ("%s/orrery-probe-%d", base, getpid ());

  if (mkdir (probe, 0755) != 0)
    {
      *why_not = g_strdup_printf (_("%s is not writable (%s)"), base, g_strerror (errno));
      return FALSE;
    }
  if (has_kill)
    {
      g_autofree char *kill_file = g_build_filename (probe, "cgroup.kill", NULL);
      *has_kill = g_file_test (kill_file, G_FILE_TEST_EXISTS);
    }
  rmdir (probe);
  return TRUE;
}

static gboolean
word_in (const char *words,
         const char *word)
{
  g_auto(GStrv) list = g_strsplit_set (words ? words : "", " \n", -1);

  return g_strv_contains ((const char * const *) list, word);
}

static int
add_hierarchy (OrrIsolation *self,
               const char   *base,
               gboolean      v2)
{
  Hierarchy *h;

  for (guint i = 0; i < self->hierarchies->len; i++)
    {
      h = g_ptr_array_index (self->hierarchies, i);
      if (g_str_equal (h->base, base))
        return i;
    }
  h = g_new0 (Hierarchy, 1);
  h->base = g_strdup (base);
  h->v2 = v2;
  g_ptr_array_add (self->hierarchies, h);
  return self->hierarchies->len - 1;
}

static void
hierarchy_free (gpointer data)
{
  Hierarchy *h = data;

  g_free (h->base);
  g_free (h);
}

static void
probe_cgroups (OrrIsolation *self)
{
  g_autofree char *own = NULL;
  g_autofree char *mountinfo = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) own_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *v1_base[N_CG] = { NULL };
  g_autofree char *v2_base = NULL;
  g_autofree char *v2_why = NULL;
  g_autofree char *v2_controllers = NULL;
  g_autofree char *v2_enabled = NULL;
  gboolean v2_writable = FALSE, v2_kill = FALSE;

  for (int c = 0; c < N_CG; c++)
    self->controller_hierarchy[c] = -1;

  if (!g_file_get_contents ("/proc/self/cgroup", &own, NULL, NULL) ||
      !g_file_get_contents ("/proc/self/mountinfo", &mountinfo, NULL, NULL))
    {
      for (int c = 0; c < N_CG; c++)
        self->cgroup_notes[c] = g_strdup (_("/proc/self/cgroup or mountinfo is unreadable"));
      return;
    }
  lines = g_strsplit (own, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], ":", 3);
      g_auto(GStrv) names = NULL;

      if (g_strv_length (f) != 3)
        continue;
      if (f[1][0] == '\0')
        {
          g_hash_table_replace (own_paths, g_strdup (""), g_strdup (f[2]));
          continue;
        }
      names = g_strsplit (f[1], ",", -1);
      for (guint n = 0; names[n]; n++)
        g_hash_table_replace (own_paths, g_strdup (names[n]), g_strdup (f[2]));
    }
  g_clear_pointer (&lines, g_strfreev);

  lines = g_strsplit (mountinfo, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *sep = strstr (lines[i], " - ");
      g_auto(GStrv) left = NULL;
      g_auto(GStrv) right = NULL;
      g_autofree char *mount = NULL;
      g_autofree char *root = NULL;

      if (sep == NULL)
        continue;
      left = g_strsplit (lines[i], " ", 6);
      right = g_strsplit (sep + 3, " ", 3);
      if (g_strv_length (left) < 5 || g_strv_length (right) < 3)
        continue;
      root = unescape_mount_path (left[3]);
      mount = unescape_mount_path (left[4]);
      if (g_str_equal (right[0], "cgroup2") && v2_base == NULL && g_hash_table_contains (own_paths, ""))
        v2_base = own_cgroup_dir (mount, root, g_hash_table_lookup (own_paths, ""));
      else if (g_str_equal (right[0], "cgroup"))
        {
          g_auto(GStrv) opts = g_strsplit (right[2], ",", -1);

          for (int c = 0; c < CG_UNIFIED; c++)
            if (v1_base[c] == NULL && g_strv_contains ((const char * const *) opts, controller_names[c]) &&
                g_hash_table_contains (own_paths, controller_names[c]))
              v1_base[c] = own_cgroup_dir (mount, root, g_hash_table_lookup (own_paths, controller_names[c]));
        }
    }

  if (v2_base)
    {
      v2_writable = probe_writable (v2_base, &v2_kill, &v2_why);
      v2_controllers = read_text (v2_base, "cgroup.controllers");
      v2_enabled = read_text (v2_base, "cgroup.subtree_control");
    }
  else
    v2_why = g_strdup (_("no cgroup v2 hierarchy is mounted"));

  for (int c = 0; c < N_CG; c++)
    {
      gboolean v2_has = FALSE;
      g_autofree char *why_v1 = NULL;

      if (c == CG_UNIFIED)
        {
          if (v2_writable && v2_kill)
            self->controller_hierarchy[c] = add_hierarchy (self, v2_base, TRUE);
          else
            self->cgroup_notes[c] = g_strdup (v2_why ? v2_why : _("this kernel has no cgroup.kill"));
          continue;
        }
      /* cgroup v2 first, when the controller is delegated to our cgroup. */
      if (v2_writable && c != CG_CPUACCT && c != CG_FREEZER && word_in (v2_controllers, controller_names[c]))
        {
          g_autofree char *plus = g_strdup_printf ("+%s", controller_names[c]);

          v2_has = word_in (v2_enabled, controller_names[c]) ||
                   write_text (v2_base, "cgroup.subtree_control", plus, NULL);
        }
      if (v2_has)
        {
          self->controller_hierarchy[c] = add_hierarchy (self, v2_base, TRUE);
          continue;
        }
      if (v1_base[c] && probe_writable (v1_base[c], NULL, &why_v1))
        {
          self->controller_hierarchy[c] = add_hierarchy (self, v1_base[c], FALSE);
          continue;
        }
      if (c == CG_CPUACCT && v2_writable)
        {
          /* cpu.stat is in every cgroup v2 directory. */
          self->controller_hierarchy[c] = add_hierarchy (self, v2_base, TRUE);
          continue;
        }
      if (why_v1)
        self->cgroup_notes[c] = g_steal_pointer (&why_v1);
      else if (v2_controllers && word_in (v2_controllers, controller_names[c]))
        self->cgroup_notes[c] = g_strdup_printf (_("the cgroup v2 %s controller is not delegated to the engine's cgroup"),
                                                 controller_names[c]);
      else
        self->cgroup_notes[c] = g_strdup_printf (_("no %s cgroup controller is mounted"), controller_names[c]);
    }
  for (int c = 0; c < N_CG; c++)
    if (self->controller_hierarchy[c] >= 0)
      {
        Hierarchy *h = g_ptr_array_index (self->hierarchies, self->controller_hierarchy[c]);
        h->controllers |= 1u << c;
      }
}

static gboolean
has_controller (OrrIsolation *self,
                Controller    c)
{
  return self->controller_hierarchy[c] >= 0;
}

static gboolean
controller_is_v2 (OrrIsolation *self,
                  Controller    c)
{
  Hierarchy *h;

  if (self->controller_hierarchy[c] < 0)
    return FALSE;
  h = g_ptr_array_index (self->hierarchies, self->controller_hierarchy[c]);
  return h->v2;
}

/* Removes what dead engines left: job directories and empty job cgroups
 * named after a process that no longer exists. */
static gboolean
owner_is_dead (const char *name)
{
  gint64 pid = g_ascii_strtoll (name, NULL, 10);

  return pid > 0 && kill ((pid_t) pid, 0) != 0 && errno == ESRCH;
}

static void
remove_stale (OrrIsolation *self)
{
  g_autoptr(GDir) jobs = self->job_root ? g_dir_open (self->job_root, 0, NULL) : NULL;
  const char *name;

  while (jobs && (name = g_dir_read_name (jobs)) != NULL)
    if (owner_is_dead (name))
      {
        g_autofree char *path = g_build_filename (self->job_root, name, NULL);
        remove_tree (path);
      }
  for (guint i = 0; i < self->hierarchies->len; i++)
    {
      Hierarchy *h = g_ptr_array_index (self->hierarchies, i);
      g_autofree char *top = g_build_filename (h->base, "orrery", NULL);
      g_autoptr(GDir) pools = g_dir_open (top, 0, NULL);
      const char *pool;

      while (pools && (pool = g_dir_read_name (pools)) != NULL)
        {
          g_autofree char *pool_dir = g_build_filename (top, pool, NULL);
          g_autoptr(GDir) cgroups = g_dir_open (pool_dir, 0, NULL);
          const char *job;

          while (cgroups && (job = g_dir_read_name (cgroups)) != NULL)
            if (g_str_has_prefix (job, "job-") && owner_is_dead (job + 4))
              {
                g_autofree char *job_dir = g_build_filename (pool_dir, job, NULL);
                rmdir (job_dir);
              }
          rmdir (pool_dir);
        }
      rmdir (top);
    }
}

/* ------------------------------------------------------------ hidden paths */

static void
hide (OrrIsolation *self,
      const char   *path)
{
  g_autofree char *real = NULL;
  g_autofree char *python = NULL;
  g_autofree char *python_dir = NULL;
  g_autofree char *below = NULL;

  if (path == NULL || path[0] != '/')
    return;
  /* The mounts follow symbolic links: hide what they point to, once. */
  real = realpath (path, NULL);
  if (real == NULL || g_str_equal (real, "/"))
    return;
  /* Never what the job's interpreter needs (a Python under a home
   * directory): its standard library is imported lazily. */
  python = realpath (ORRERY_PYTHON, NULL);
  python_dir = python ? g_path_get_dirname (python) : NULL;
  below = g_strconcat (real, "/", NULL);
  if (python_dir && (g_str_has_prefix (python_dir, below) || g_str_equal (python_dir, real)))
    return;
  for (guint i = 0; i < self->hidden->len; i++)
    if (g_str_equal (g_ptr_array_index (self->hidden, i), real))
      return;
  if (self->hidden->len < ORR_WIRE_MAX_HIDDEN)
    g_ptr_array_add (self->hidden, g_steal_pointer (&real));
}

/* What a script must not read even though the rest of the host is visible
 * read-only: database credentials (ODBC configuration, the catalog and the
 * demo database), the engine's user's files, the host's services. The job
 * directory, when it lies under one of these, is mounted back inside. */
static void
collect_hidden (OrrIsolation *self)
{
  static const char * const fixed[] = {
    "/etc/odbc.ini", "/etc/odbcinst.ini", "/etc/ODBCDataSources", "/etc/unixODBC",
    "/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/orrery",
    "/home", "/root", "/run", "/var/run", "/var/lib/orrery",
    NULL,
  };
  g_autoptr(GDir) etc = g_dir_open ("/etc", 0, NULL);
  const char *name;

  for (guint i = 0; fixed[i]; i++)
    hide (self, fixed[i]);
  while (etc && (name = g_dir_read_name (etc)) != NULL)
    if (g_str_has_prefix (name, "odbc") && g_str_has_suffix (name, ".ini"))
      {
        g_autofree char *path = g_build_filename ("/etc", name, NULL);
        hide (self, path);
      }
  hide (self, g_getenv ("ODBCSYSINI"));
  hide (self, g_getenv ("ODBCINI"));
  hide (self, g_getenv ("ODBCINSTINI"));
  hide (self, g_get_home_dir ());
  {
    g_autofree char *odbc_ini = g_build_filename (g_get_home_dir (), ".odbc.ini", NULL);
    g_autofree char *data = g_build_filename (g_get_user_data_dir (), "orrery", NULL);

    hide (self, odbc_ini);
    hide (self, data);
  }
  hide (self, g_get_user_config_dir ());
  hide (self, g_get_user_cache_dir ());
  hide (self, g_get_user_runtime_dir ());
}

/* ------------------------------------------------------------ probe */

static void
parse_worker_uids (OrrIsolation *self)
{
  const char *env = g_getenv ("ORRERY_WORKER_UIDS");
  guint64 first, last;
  char *end = NULL;

  self->uid_first = DEFAULT_WORKER_UIDS_FIRST;
  self->uid_count = DEFAULT_WORKER_UIDS_COUNT;
  if (env == NULL || *env == '\0')
    return;
  first = g_ascii_strtoull (env, &end, 10);
  if (end == env || *end != '-')
    goto bad;
  env = end + 1;
  last = g_ascii_strtoull (env, &end, 10);
  if (end == env || *end != '\0' || first < 1000 || last < first || last >= G_MAXUINT32 - 1)
    goto bad;
  self->uid_first = first;
  self->uid_count = last - first + 1;
  return;
bad:
  g_warning ("ORRERY_WORKER_UIDS must be FIRST-LAST (uids from 1000 on); using %u-%u",
             DEFAULT_WORKER_UIDS_FIRST, DEFAULT_WORKER_UIDS_FIRST + DEFAULT_WORKER_UIDS_COUNT - 1);
}

static void
prepare_job_root (OrrIsolation *self)
{
  g_autofree char *root = NULL;
  int mode = self->privileged ? 0711 : 0700;

  if (self->privileged)
    root = g_strdup ("/run/orrery/jobs");
  else
    root = g_build_filename (g_get_user_runtime_dir (), "orrery", "jobs", NULL);
  if (g_mkdir_with_parents (root, mode) != 0)
    {
      self->job_root_error = g_strdup_printf (_("cannot create %s: %s"), root, g_strerror (errno));
      return;
    }
  chmod (root, mode);
  self->job_root = g_steal_pointer (&root);
  if (self->privileged)
    {
      self->uid_lock_dir = g_strdup ("/run/orrery/workers");
      if (g_mkdir_with_parents (self->uid_lock_dir, 0700) != 0)
        g_clear_pointer (&self->uid_lock_dir, g_free);
    }
}

static char *
errno_text (int errsv)
{
  return g_strdup (errsv > 0 ? g_strerror (errsv) : _("refused"));
}

static void
probe_host_cpus (OrrIsolation *self)
{
  cpu_set_t set;

  self->host_cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  self->n_online_cpus = MAX (1, sysconf (_SC_NPROCESSORS_ONLN));
  if (sched_getaffinity (0, sizeof set, &set) == 0)
    for (guint c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET (c, &set))
        g_array_append_val (self->host_cpus, c);
}

static void
describe_layers (OrrIsolation      *self,
                 const ProbeResult *r)
{
  gboolean ns_possible = self->privileged || (r->bits & PROBE_USER);
  g_autofree char *no_userns = g_strdup_printf (_("user namespaces are refused (%s), and the engine is not root"),
                                                g_strerror (r->err[STEP_USER]));
  char **l = self->layers;

  if (r->bits & PROBE_NET)
    l[ORR_ISOLATION_NETWORK] = g_strdup (_("own network namespace: no interface up, not even loopback"));
  else if (!ns_possible)
    l[ORR_ISOLATION_NETWORK] = g_strdup_printf (_("NOT ISOLATED: %s"), no_userns);
  else
    l[ORR_ISOLATION_NETWORK] = g_strdup_printf (_("NOT ISOLATED: no network namespace (%s)"),
                                                g_strerror (r->err[STEP_NET]));

  if (r->bits & PROBE_MOUNT)
    l[ORR_ISOLATION_FILESYSTEM] = g_strdup_printf (_("own mount namespace: the host read-only, private /tmp and "
                                                     "/dev/shm, the job directory writable, %u paths hidden "
                                                     "(ODBC configuration, home directories, /run…)"),
                                                   self->hidden->len);
  else if (!ns_possible)
    l[ORR_ISOLATION_FILESYSTEM] = g_strdup_printf (_("NOT ISOLATED: %s"), no_userns);
  else
    l[ORR_ISOLATION_FILESYSTEM] = g_strdup_printf (_("NOT ISOLATED: no private read-only mount namespace (%s)"),
                                                   g_strerror (r->err[STEP_MOUNT]));

  if ((r->bits & PROBE_PID) && (r->bits & PROBE_MOUNT))
    l[ORR_ISOLATION_PROCESSES] = g_strdup_printf (_("own PID and IPC namespaces: the job is PID 2 under a small init, "
                                                    "%s"),
                                                  self->new_proc ? _("/proc shows only the job")
                                                                 : _("/proc hidden (no procfs can be mounted here)"));
  else if (!ns_possible)
    l[ORR_ISOLATION_PROCESSES] = g_strdup_printf (_("NOT ISOLATED: %s"), no_userns);
  else
    l[ORR_ISOLATION_PROCESSES] = g_strdup_printf (_("NOT ISOLATED: no PID namespace (%s)"),
                                                  g_strerror (r->err[(r->bits & PROBE_PID) ? STEP_MOUNT : STEP_PID]));

  if (self->privileged && self->uid_lock_dir)
    l[ORR_ISOLATION_IDENTITY] = g_strdup_printf (_("a worker uid and gid per concurrent job, from %u–%u; "
                                                   "no supplementary groups, no capabilities"),
                                                 self->uid_first, self->uid_first + self->uid_count - 1);
  else if (self->privileged)
    l[ORR_ISOLATION_IDENTITY] = g_strdup (_("NOT ISOLATED: /run/orrery/workers cannot be created"));
  else if (r->bits & PROBE_USER)
    l[ORR_ISOLATION_IDENTITY] = g_strdup (_("the engine's own user, without capabilities, in a user namespace "
                                            "(a distinct uid per job needs the engine to run as root)"));
  else
    l[ORR_ISOLATION_IDENTITY] = g_strdup (_("NOT ISOLATED: the engine's own user"));

  l[ORR_ISOLATION_NO_NEW_PRIVS] = (r->bits & PROBE_NNP) ? g_strdup (_("set: setuid programs and file capabilities "
                                                                      "give nothing"))
                                                        : g_strdup_printf (_("NOT SET: %s"),
                                                                           errno_text (r->err[STEP_NNP]));
  if ((r->bits & PROBE_SECCOMP) && SECCOMP_ARCH_SUPPORTED)
    l[ORR_ISOLATION_SECCOMP] = g_strdup (_("filter: ptrace, mount, namespaces, bpf, perf_event_open, keyctl, "
                                           "io_uring, kexec, modules, sockets other than AF_UNIX and more get EPERM"));
  else if (r->bits & PROBE_SECCOMP)
    l[ORR_ISOLATION_SECCOMP] = g_strdup (_("NOT ACTIVE: no filter for this processor architecture"));
  else
    l[ORR_ISOLATION_SECCOMP] = g_strdup_printf (_("NOT ACTIVE: %s"), errno_text (r->err[STEP_SECCOMP]));

  if (self->landlock_abi > 0)
    l[ORR_ISOLATION_LANDLOCK] = g_strdup_printf (_("ABI %d: writes only in the job directory, /tmp and /dev/shm%s%s"),
                                                 self->landlock_abi,
                                                 self->landlock_abi >= 4 ? _("; no TCP") : "",
                                                 self->landlock_abi >= 6 ? _("; signals and abstract sockets "
                                                                             "scoped to the job") : "");
  else if (r->landlock == -ENOSYS)
    l[ORR_ISOLATION_LANDLOCK] = g_strdup (_("NOT ACTIVE: this kernel has no Landlock"));
  else if (r->landlock == -EOPNOTSUPP)
    l[ORR_ISOLATION_LANDLOCK] = g_strdup (_("NOT ACTIVE: Landlock is disabled at boot (lsm=)"));
  else
    l[ORR_ISOLATION_LANDLOCK] = g_strdup_printf (_("NOT ACTIVE: %s"), g_strerror (-r->landlock));
}

static void
choose_backends (OrrIsolation *self)
{
  static const struct { OrrLimitKind kind; Controller c; const char *what; } cgroup_limits[] = {
    { ORR_LIMIT_MEMORY, CG_MEMORY, N_("memory controller, for the pool as a whole") },
    { ORR_LIMIT_CPU_PERCENT, CG_CPU, N_("CFS quota of the cpu controller, for the pool as a whole") },
    { ORR_LIMIT_PROCESSES, CG_PIDS, N_("pids controller: what each job's script starts on top of the "
                                       "interpreter; threads count") },
    { ORR_LIMIT_AFFINITY, CG_CPUSET, N_("cpuset controller, per pool; and sched_setaffinity") },
  };
  gboolean per_job_nproc = (self->fork_flags & (ORR_WIRE_FORK_IDENTITY | ORR_WIRE_FORK_USER_NS)) != 0;

  for (guint i = 0; i < G_N_ELEMENTS (cgroup_limits); i++)
    {
      OrrLimitKind k = cgroup_limits[i].kind;
      Controller c = cgroup_limits[i].c;

      if (has_controller (self, c))
        {
          self->backends[k] = controller_is_v2 (self, c) ? ORR_LIMIT_BACKEND_CGROUP_V2 : ORR_LIMIT_BACKEND_CGROUP_V1;
          self->backend_notes[k] = g_strdup (_(cgroup_limits[i].what));
          continue;
        }
      switch (k)
        {
        case ORR_LIMIT_MEMORY:
          self->backends[k] = ORR_LIMIT_BACKEND_RLIMIT;
          self->backend_notes[k] = g_strdup_printf (_("RLIMIT_AS per process, on top of the interpreter's own "
                                                      "address space (%s)"), self->cgroup_notes[c]);
          break;
        case ORR_LIMIT_PROCESSES:
          if (per_job_nproc)
            {
              self->backends[k] = ORR_LIMIT_BACKEND_RLIMIT;
              self->backend_notes[k] = g_strdup_printf (_("RLIMIT_NPROC: what each job's script starts on top "
                                                          "of the interpreter; threads count (%s)"),
                                                        self->cgroup_notes[c]);
            }
          else
            self->backend_notes[k] = g_strdup_printf (_("NOT ENFORCED: %s, and RLIMIT_NPROC would count every "
                                                        "process of the user"), self->cgroup_notes[c]);
          break;
        case ORR_LIMIT_AFFINITY:
          self->backends[k] = ORR_LIMIT_BACKEND_SCHED_AFFINITY;
          self->backend_notes[k] = g_strdup_printf (_("sched_setaffinity, which seccomp keeps the job from "
                                                      "undoing (%s)"), self->cgroup_notes[c]);
          break;
        case ORR_LIMIT_CPU_PERCENT:
        case ORR_LIMIT_TIMEOUT:
        case ORR_N_LIMITS:
        default:
          self->backend_notes[k] = g_strdup_printf (_("NOT ENFORCED: %s"), self->cgroup_notes[c]);
          break;
        }
    }
  self->backends[ORR_LIMIT_TIMEOUT] = ORR_LIMIT_BACKEND_ENGINE_TIMER;
  self->backend_notes[ORR_LIMIT_TIMEOUT] = g_strdup (_("the engine's timer, then interrupt, terminate, kill"));
}

OrrIsolation *
orr_isolation_new (void)
{
  OrrIsolation *self = g_new0 (OrrIsolation, 1);
  const char *env = g_getenv ("ORRERY_ISOLATION");
  ProbeResult r;

  g_mutex_init (&self->lock);
  self->hierarchies = g_ptr_array_new_with_free_func (hierarchy_free);
  self->hidden = g_ptr_array_new_with_free_func (g_free);
  self->privileged = geteuid () == 0;
  self->enabled = !(env && (g_str_equal (env, "off") || g_str_equal (env, "0") || g_str_equal (env, "none")));
  probe_host_cpus (self);
  for (int c = 0; c < N_CG; c++)
    self->controller_hierarchy[c] = -1;
  if (!self->enabled)
    {
      for (int i = 0; i < ORR_ISOLATION_N_LAYERS; i++)
        self->layers[i] = g_strdup (_("OFF (ORRERY_ISOLATION=off)"));
      for (int i = 0; i < ORR_N_LIMITS; i++)
        self->backend_notes[i] = g_strdup (_("NOT ENFORCED (ORRERY_ISOLATION=off)"));
      self->backends[ORR_LIMIT_TIMEOUT] = ORR_LIMIT_BACKEND_ENGINE_TIMER;
      g_free (self->backend_notes[ORR_LIMIT_TIMEOUT]);
      self->backend_notes[ORR_LIMIT_TIMEOUT] = g_strdup (_("the engine's timer"));
      return self;
    }

  parse_worker_uids (self);
  collect_hidden (self);
  prepare_job_root (self);
  r = run_probe (self->privileged);
  self->landlock_abi = MAX (r.landlock, 0);
  self->new_proc = (r.bits & PROBE_PROC) != 0;

  if (!self->privileged && (r.bits & PROBE_USER))
    self->fork_flags |= ORR_WIRE_FORK_USER_NS;
  if (r.bits & PROBE_NET)
    self->fork_flags |= ORR_WIRE_FORK_NET_NS;
  if (r.bits & PROBE_MOUNT)
    self->fork_flags |= ORR_WIRE_FORK_MOUNT_NS;
  /* The init mounts the namespace's /proc: a PID namespace needs a mount one. */
  if ((r.bits & PROBE_PID) && (r.bits & PROBE_MOUNT))
    self->fork_flags |= ORR_WIRE_FORK_PID_NS;
  if (r.bits & PROBE_IPC)
    self->fork_flags |= ORR_WIRE_FORK_IPC_NS;
  if (self->privileged && self->uid_lock_dir)
    self->fork_flags |= ORR_WIRE_FORK_IDENTITY;
  if (r.bits & PROBE_NNP)
    self->fork_flags |= ORR_WIRE_FORK_NO_NEW_PRIVS;
  if ((r.bits & PROBE_SECCOMP) && SECCOMP_ARCH_SUPPORTED)
    self->fork_flags |= ORR_WIRE_FORK_SECCOMP;
  if (self->landlock_abi > 0 && (r.bits & PROBE_NNP))
    self->fork_flags |= ORR_WIRE_FORK_LANDLOCK;

  describe_layers (self, &r);
  probe_cgroups (self);
  choose_backends (self);
  remove_stale (self);
  return self;
}

void
orr_isolation_free (OrrIsolation *self)
{
  if (self == NULL)
    return;
  for (int i = 0; i < ORR_ISOLATION_N_LAYERS; i++)
    g_free (self->layers[i]);
  for (int i = 0; i < ORR_N_LIMITS; i++)
    g_free (self->backend_notes[i]);
  for (int c = 0; c < N_CG; c++)
    g_free (self->cgroup_notes[c]);
  g_ptr_array_unref (self->hierarchies);
  g_ptr_array_unref (self->hidden);
  g_array_unref (self->host_cpus);
  g_free (self->job_root);
  g_free (self->job_root_error);
  g_free (self->uid_lock_dir);
  g_mutex_clear (&self->lock);
  g_free (self);
}

gboolean
orr_isolation_is_enabled (OrrIsolation *self)
{
  return self->enabled;
}

gboolean
orr_isolation_is_privileged (OrrIsolation *self)
{
  return self->privileged;
}

gboolean
orr_isolation_has_layer (OrrIsolation      *self,
                         OrrIsolationLayer  layer)
{
  static const guint32 flags[ORR_ISOLATION_N_LAYERS] = {
    [ORR_ISOLATION_NETWORK] = ORR_WIRE_FORK_NET_NS,
    [ORR_ISOLATION_FILESYSTEM] = ORR_WIRE_FORK_MOUNT_NS,
    [ORR_ISOLATION_PROCESSES] = ORR_WIRE_FORK_PID_NS,
    [ORR_ISOLATION_IDENTITY] = ORR_WIRE_FORK_IDENTITY,
    [ORR_ISOLATION_NO_NEW_PRIVS] = ORR_WIRE_FORK_NO_NEW_PRIVS,
    [ORR_ISOLATION_SECCOMP] = ORR_WIRE_FORK_SECCOMP,
    [ORR_ISOLATION_LANDLOCK] = ORR_WIRE_FORK_LANDLOCK,
  };

  g_return_val_if_fail (layer < ORR_ISOLATION_N_LAYERS, FALSE);
  return (self->fork_flags & flags[layer]) != 0;
}

OrrLimitBackend
orr_isolation_get_backend (OrrIsolation *self,
                           OrrLimitKind  kind)
{
  g_return_val_if_fail (kind < ORR_N_LIMITS, ORR_LIMIT_BACKEND_NONE);
  return self->backends[kind];
}

const char *
orr_limit_backend_to_string (OrrLimitBackend backend)
{
  switch (backend)
    {
    case ORR_LIMIT_BACKEND_CGROUP_V2: return "cgroup v2";
    case ORR_LIMIT_BACKEND_CGROUP_V1: return "cgroup v1";
    case ORR_LIMIT_BACKEND_RLIMIT: return "rlimit";
    case ORR_LIMIT_BACKEND_SCHED_AFFINITY: return "sched_setaffinity";
    case ORR_LIMIT_BACKEND_ENGINE_TIMER: return "engine timer";
    case ORR_LIMIT_BACKEND_NONE:
    default: return "none";
    }
}

/* "  label         ": labels padded in characters, not bytes, for translations. */
static void
append_label (GString    *out,
              const char *label)
{
  g_string_append (out, "  ");
  g_string_append (out, label);
  for (glong n = g_utf8_strlen (label, -1); n < 13; n++)
    g_string_append_c (out, ' ');
  g_string_append_c (out, ' ');
}

char *
orr_isolation_dup_report (OrrIsolation *self)
{
  /* Translators: the labels of `orrery status`'s isolation report, padded to
   * 14 columns; no_new_privs, seccomp and Landlock are kernel names. */
  static const char * const layer_names[ORR_ISOLATION_N_LAYERS] = {
    N_("network"), N_("filesystem"), N_("processes"), N_("identity"), "no_new_privs", "seccomp", "landlock",
  };
  static const char * const limit_names[ORR_N_LIMITS] = {
    N_("memory"), N_("CPU percent"), N_("processes"), N_("affinity"), N_("timeout"),
  };
  GString *out = g_string_new (NULL);
  int kill_h = self->controller_hierarchy[CG_UNIFIED];

  g_return_val_if_fail (self != NULL, NULL);
  g_string_append_printf (out, _("Isolation (engine running as %s):\n"),
                          self->privileged ? "root" : _("an ordinary user"));
  for (int i = 0; i < ORR_ISOLATION_N_LAYERS; i++)
    {
      append_label (out, _(layer_names[i]));
      g_string_append_printf (out, "%s\n", self->layers[i]);
    }
  g_string_append (out, _("Limits:\n"));
  for (int i = 0; i < ORR_N_LIMITS; i++)
    {
      append_label (out, _(limit_names[i]));
      if (self->backends[i] == ORR_LIMIT_BACKEND_NONE)
        g_string_append_printf (out, "%s\n", self->backend_notes[i]);
      else
        /* Translators: a limit's mechanism (cgroup v2, rlimit…), then how it applies. */
        g_string_append_printf (out, _("%s: %s\n"),
                                self->backends[i] == ORR_LIMIT_BACKEND_ENGINE_TIMER
                                ? _("engine timer") : orr_limit_backend_to_string (self->backends[i]),
                                self->backend_notes[i]);
    }
  if (self->enabled)
    {
      append_label (out, _("cleanup"));
      if (kill_h >= 0)
        g_string_append (out, _("cgroup v2 cgroup.kill of the job's cgroup"));
      else if (has_controller (self, CG_FREEZER))
        g_string_append (out, _("cgroup v1 freezer: freeze, kill every task, thaw"));
      if (self->fork_flags & ORR_WIRE_FORK_PID_NS)
        g_string_append (out, (kill_h >= 0 || has_controller (self, CG_FREEZER)) ? _("; and the end of the job's PID namespace")
                                                                                   : _("the end of the job's PID namespace"));
      else if (kill_h < 0 && !has_controller (self, CG_FREEZER))
        g_string_append (out, _("NOT GUARANTEED: no cgroup to kill and no PID namespace"));
      g_string_append_c (out, '\n');
      append_label (out, _("job dirs"));
      if (self->job_root)
        g_string_append_printf (out, _("%s/<engine pid>-<job id>, removed after each job\n"), self->job_root);
      else
        g_string_append_printf (out, _("none (%s): jobs work in their private /tmp\n"), self->job_root_error);
      for (guint i = 0; i < self->hierarchies->len; i++)
        {
          Hierarchy *h = g_ptr_array_index (self->hierarchies, i);
          GString *names = g_string_new (NULL);

          for (int c = 0; c < N_CG; c++)
            if (h->controllers & (1u << c))
              g_string_append_printf (names, "%s%s", names->len ? "," : "", controller_names[c]);
          append_label (out, "cgroup");
          g_string_append_printf (out, "%s/orrery (%s%s)\n", h->base, h->v2 ? "v2: " : "v1: ", names->str);
          g_string_free (names, TRUE);
        }
    }
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------ a job */

static gboolean
allocate_uid (OrrIsolationJob  *job,
              GError          **error)
{
  OrrIsolation *self = job->isolation;
  guint32 start;

  g_mutex_lock (&self->lock);
  start = self->uid_next++ + (guint32) getpid () * 37;
  g_mutex_unlock (&self->lock);
  for (guint32 i = 0; i < self->uid_count; i++)
    {
      guint32 uid = self->uid_first + (start + i) % self->uid_count;
      g_autofree char *path = g_strdup_printf ("%s/%u", self->uid_lock_dir, uid);
      int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      struct passwd pw, *found = NULL;
      char buf[4096];

      if (fd < 0)
        continue;
      /* One lock per uid, held while the job runs: no two jobs on this host
       * (of any engine) share an identity. */
      if (flock (fd, LOCK_EX | LOCK_NB) == 0 &&
          (getpwuid_r (uid, &pw, buf, sizeof buf, &found) != 0 || found == NULL))
        {
          job->uid = uid;
          job->uid_lock = fd;
          return TRUE;
        }
      close (fd);
    }
  g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("No free worker uid in %u–%u"),
               self->uid_first, self->uid_first + self->uid_count - 1);
  return FALSE;
}

static char *
pool_dir_name (const char *pool)
{
  gboolean plain = pool && *pool && pool[0] != '.' && strlen (pool) <= 64;

  for (const char *p = pool; plain && *p; p++)
    plain = g_ascii_isalnum (*p) || *p == '_' || *p == '-' || *p == '.';
  if (plain)
    return g_strdup (pool);
  {
    g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, pool ? pool : "", -1);
    return g_strdup_printf ("pool-%.16s", hash);
  }
}

static gboolean
make_dir (const char  *path,
          GError     **error)
{
  if (mkdir (path, 0755) == 0 || errno == EEXIST)
    return TRUE;
  g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create the cgroup %s: %s"), path, g_strerror (errno));
  return FALSE;
}

/* cgroup v1 cpusets start empty and take no task until they have CPUs and
 * memory nodes: the parent's memory nodes, and @cpus or the parent's CPUs
 * (written each time: a pool directory left by a job with another list). */
static gboolean
cpuset_inherit (const char  *dir,
                const char  *cpus,
                GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *mems = read_text (dir, "cpuset.mems");
  g_autofree char *parent_cpus = NULL;

  if (mems == NULL || *mems == '\0')
    {
      g_autofree char *parent_mems = read_text (parent, "cpuset.mems");
      if (!write_text (dir, "cpuset.mems", parent_mems ? parent_mems : "0", error))
        return FALSE;
    }
  if (cpus == NULL)
    cpus = parent_cpus = read_text (parent, "cpuset.cpus");
  return write_text (dir, "cpuset.cpus", cpus && *cpus ? cpus : "0", error);
}

static gboolean
enable_v2_controllers (const char  *dir,
                       guint        controllers,
                       GError     **error)
{
  static const Controller v2_controllers[] = { CG_MEMORY, CG_CPU, CG_PIDS, CG_CPUSET };

  for (guint i = 0; i < G_N_ELEMENTS (v2_controllers); i++)
    if (controllers & (1u << v2_controllers[i]))
      {
        g_autofree char *plus = g_strdup_printf ("+%s", controller_names[v2_controllers[i]]);
        if (!write_text (dir, "cgroup.subtree_control", plus, error))
          return FALSE;
      }
  return TRUE;
}

static gboolean
set_pool_limits (OrrIsolationJob  *job,
                 Hierarchy        *h,
                 const char       *dir,
                 GError          **error)
{
  const OrrLimits *l = job->limits;
  OrrIsolation *self = job->isolation;
  g_autofree char *cpus = job->cpus ? describe_cpus (job->cpus) : NULL;
  g_autofree char *value = NULL;

  if (h->controllers & (1u << CG_MEMORY))
    {
      if (l->max_memory_bytes)
        value = g_strdup_printf ("%" G_GUINT64_FORMAT, l->max_memory_bytes);
      else
        value = g_strdup (h->v2 ? "max" : "-1");
      if (!write_text (dir, h->v2 ? "memory.max" : "memory.limit_in_bytes", value, error))
        return FALSE;
      g_clear_pointer (&value, g_free);
    }
  if (h->controllers & (1u << CG_CPU))
    {
      /* A share of the whole host: N % of every online CPU. */
      guint64 quota = (guint64) l->max_cpu_percent * self->n_online_cpus * CFS_PERIOD_US / 100;

      if (h->v2)
        {
          value = l->max_cpu_percent ? g_strdup_printf ("%" G_GUINT64_FORMAT " %u", MAX (quota, 1000), CFS_PERIOD_US)
                                     : g_strdup_printf ("max %u", CFS_PERIOD_US);
          if (!write_text (dir, "cpu.max", value, error))
            return FALSE;
        }
      else
        {
          g_autofree char *period = g_strdup_printf ("%u", CFS_PERIOD_US);

          value = l->max_cpu_percent ? g_strdup_printf ("%" G_GUINT64_FORMAT, MAX (quota, 1000)) : g_strdup ("-1");
          if (!write_text (dir, "cpu.cfs_period_us", period, error) ||
              !write_text (dir, "cpu.cfs_quota_us", value, error))
            return FALSE;
        }
      g_clear_pointer (&value, g_free);
    }
  if (h->controllers & (1u << CG_CPUSET))
    {
      if (h->v2)
        return write_text (dir, "cpuset.cpus", cpus ? cpus : "", error);
      return cpuset_inherit (dir, cpus, error);
    }
  return TRUE;
}

static gboolean
set_job_limits (OrrIsolationJob  *job,
                Hierarchy        *h,
                const char       *dir,
                GError          **error)
{
  if ((h->controllers & (1u << CG_CPUSET)) && !h->v2)
    {
      g_autofree char *parent = g_path_get_dirname (dir);
      g_autofree char *cpus = read_text (parent, "cpuset.cpus");

      if (!cpuset_inherit (dir, cpus, error))
        return FALSE;
    }
  if (h->controllers & (1u << CG_PIDS))
    {
      g_autofree char *value = NULL;
      guint helpers = SATELLITE_TASKS + ((job->isolation->fork_flags & ORR_WIRE_FORK_PID_NS) ? SANDBOX_HELPERS : 0);

      value = job->limits->max_processes ? g_strdup_printf ("%u", job->limits->max_processes + helpers)
                                         : g_strdup ("max");
      if (!write_text (dir, "pids.max", value, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
create_cgroups (OrrIsolationJob  *job,
                GError          **error)
{
  OrrIsolation *self = job->isolation;
  g_autofree char *pool = pool_dir_name (job->limits->pool);
  g_autofree char *leaf = g_strdup_printf ("job-%s", job->name);

  for (guint i = 0; i < self->hierarchies->len; i++)
    {
      Hierarchy *h = g_ptr_array_index (self->hierarchies, i);
      g_autofree char *top = g_build_filename (h->base, "orrery", NULL);
      g_autofree char *pool_dir = g_build_filename (top, pool, NULL);
      g_autofree char *dir = g_build_filename (pool_dir, leaf, NULL);
      guint limited = h->controllers & ((1u << CG_MEMORY) | (1u << CG_CPU) | (1u << CG_PIDS) | (1u << CG_CPUSET));
      gboolean made = FALSE;

      /* Removed after the job if no other job uses them (deepest first). */
      g_ptr_array_add (job->pool_dirs, g_strdup (pool_dir));
      g_ptr_array_add (job->pool_dirs, g_strdup (top));
      /* Another engine may remove an empty pool directory meanwhile. */
      for (int attempt = 0; attempt < 3 && !made; attempt++)
        {
          if (!make_dir (top, error) ||
              ((h->controllers & (1u << CG_CPUSET)) && !h->v2 && !cpuset_inherit (top, NULL, error)) ||
              (h->v2 && limited && !enable_v2_controllers (top, limited, error)) ||
              !make_dir (pool_dir, error) ||
              !set_pool_limits (job, h, pool_dir, error) ||
              (h->v2 && limited && !enable_v2_controllers (pool_dir, limited, error)))
            return FALSE;
          if (mkdir (dir, 0755) == 0)
            made = TRUE;
          else if (errno != ENOENT)
            break;
        }
      if (!made)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create the cgroup %s: %s"), dir, g_strerror (errno));
          return FALSE;
        }
      g_ptr_array_insert (job->cgroups, job->cgroups->len - 1, g_strdup (dir));
      for (int c = 0; c < N_CG; c++)
        if (h->controllers & (1u << c))
          job->cgroup_of[c] = job->cgroups->len - 2;
      if (!set_job_limits (job, h, dir, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_cpus (OrrIsolationJob  *job,
            GError          **error)
{
  OrrIsolation *self = job->isolation;
  g_autoptr(GArray) cpus = NULL;

  if (job->limits->cpus == NULL || job->limits->cpus[0] == '\0')
    return TRUE;
  if (!orr_cpu_list_parse (job->limits->cpus, &cpus, error))
    return FALSE;
  for (guint i = 0; i < cpus->len; i++)
    {
      guint cpu = g_array_index (cpus, guint, i);
      gboolean known = FALSE;

      for (guint j = 0; j < self->host_cpus->len && !known; j++)
        known = g_array_index (self->host_cpus, guint, j) == cpu;
      if (!known)
        {
          g_autofree char *host = describe_cpus (self->host_cpus);
          g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                       _("The CPU list “%s” of pool “%s” names CPU %u, which this host does not offer (CPUs %s)"),
                       job->limits->cpus, job->limits->pool, cpu, host);
          return FALSE;
        }
    }
  job->cpus = g_steal_pointer (&cpus);
  return TRUE;
}

OrrIsolationJob *
orr_isolation_job_new (OrrIsolation     *self,
                       guint64           job_id,
                       const OrrLimits  *limits,
                       GError          **error)
{
  OrrIsolationJob *job;

  g_return_val_if_fail (self != NULL, NULL);

  job = g_new0 (OrrIsolationJob, 1);
  job->isolation = self;
  job->id = job_id;
  job->limits = limits ? orr_limits_copy (limits) : orr_limits_new (NULL);
  job->name = g_strdup_printf ("%d-%" G_GUINT64_FORMAT, getpid (), job_id);
  job->uid = -1;
  job->uid_lock = -1;
  job->cpu_usage_ns = -1;
  job->cgroups = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (job->cgroups, NULL);
  job->pool_dirs = g_ptr_array_new_with_free_func (g_free);
  for (int c = 0; c < N_CG; c++)
    job->cgroup_of[c] = -1;
  if (!self->enabled)
    return job;

  if (!check_cpus (job, error))
    goto fail;
  if ((self->fork_flags & ORR_WIRE_FORK_IDENTITY) && !allocate_uid (job, error))
    goto fail;
  if (self->job_root)
    {
      job->dir = g_build_filename (self->job_root, job->name, NULL);
      if (mkdir (job->dir, 0700) != 0 ||
          (job->uid >= 0 && chown (job->dir, job->uid, job->uid) != 0))
        {
          int errsv = errno;

          g_set_error (error, ORR_ERROR, ORR_ERROR_SATELLITE, _("Cannot create the job directory %s: %s"),
                       job->dir, g_strerror (errsv));
          if (errsv == EEXIST)
            g_clear_pointer (&job->dir, g_free);
          goto fail;
        }
    }
  return job;

fail:
  orr_isolation_job_free (job);
  return NULL;
}

gboolean
orr_isolation_job_create_cgroups (OrrIsolationJob  *job,
                                  GError          **error)
{
  OrrIsolation *self = job->isolation;
  gboolean ok;

  if (!self->enabled || job->cgroups->len > 1)
    return TRUE;
  g_mutex_lock (&self->lock);
  ok = create_cgroups (job, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

GBytes *
orr_isolation_job_encode_fork (OrrIsolationJob *job)
{
  OrrIsolation *self = job->isolation;
  OrrWireFork spec = { 0 };
  g_autoptr(GArray) cpus = NULL;
  g_autoptr(GPtrArray) cgroups = NULL;

  if (!self->enabled)
    return orr_wire_encode_fork (&spec);
  spec.flags = self->fork_flags;
  if (job->uid >= 0)
    spec.uid = spec.gid = job->uid;
  if (self->backends[ORR_LIMIT_MEMORY] == ORR_LIMIT_BACKEND_RLIMIT)
    spec.memory_rlimit = job->limits->max_memory_bytes;
  if (self->backends[ORR_LIMIT_PROCESSES] == ORR_LIMIT_BACKEND_RLIMIT)
    spec.max_processes = job->limits->max_processes;
  /* tmpfs pages count against the memory cgroup; with RLIMIT_AS they do
   * not, so the size bounds them. */
  spec.tmp_size = job->limits->max_memory_bytes;
  if (job->cpus)
    {
      cpus = g_array_sized_new (FALSE, FALSE, sizeof (guint32), job->cpus->len);
      for (guint i = 0; i < job->cpus->len; i++)
        {
          guint32 cpu = g_array_index (job->cpus, guint, i);
          g_array_append_val (cpus, cpu);
        }
      spec.cpus = cpus;
    }
  spec.job_dir = job->dir;
  if (self->fork_flags & ORR_WIRE_FORK_MOUNT_NS)
    spec.hidden = self->hidden;
  /* Made (with their limits) before the fork: the child moves itself into
   * them first thing, cheaply (see orr-sandbox.c). */
  if (job->cgroups->len > 1)
    {
      cgroups = g_ptr_array_new ();
      for (guint i = 0; i + 1 < job->cgroups->len; i++)
        g_ptr_array_add (cgroups, g_ptr_array_index (job->cgroups, i));
      spec.cgroups = cgroups;
    }
  return orr_wire_encode_fork (&spec);
}

static const char *
job_cgroup (OrrIsolationJob *job,
            Controller       c)
{
  return job->cgroup_of[c] >= 0 ? g_ptr_array_index (job->cgroups, job->cgroup_of[c]) : NULL;
}

static gboolean
cgroup_is_populated (const char *dir)
{
  g_autofree char *procs = read_text (dir, "cgroup.procs");

  return procs != NULL && procs[0] != '\0';
}

static gboolean
any_populated (OrrIsolationJob *job)
{
  for (guint i = 0; i + 1 < job->cgroups->len; i++)
    if (cgroup_is_populated (g_ptr_array_index (job->cgroups, i)))
      return TRUE;
  return FALSE;
}

static void
kill_listed (const char *dir)
{
  g_autofree char *procs = read_text (dir, "cgroup.procs");
  g_auto(GStrv) pids = procs ? g_strsplit (procs, "\n", -1) : NULL;

  for (guint i = 0; pids && pids[i]; i++)
    {
      gint64 pid = g_ascii_strtoll (pids[i], NULL, 10);
      if (pid > 0)
        kill ((pid_t) pid, SIGKILL);
    }
}

/* Whatever the job left running dies, double-forked daemons included: the
 * kernel's cgroup.kill, or a frozen cgroup whose tasks cannot fork away
 * while they are killed one by one. */
static void
kill_leftovers (OrrIsolationJob *job)
{
  const char *unified = job_cgroup (job, CG_UNIFIED);
  const char *freezer = job_cgroup (job, CG_FREEZER);
  gint64 deadline;

  if (!any_populated (job))
    return;
  if (unified && write_text (unified, "cgroup.kill", "1", NULL))
    g_debug ("Job %" G_GUINT64_FORMAT ": killed what was left through cgroup.kill", job->id);
  else if (freezer && write_text (freezer, "freezer.state", "FROZEN", NULL))
    {
      deadline = g_get_monotonic_time () + 500 * G_TIME_SPAN_MILLISECOND;
      for (;;)
        {
          g_autofree char *state = read_text (freezer, "freezer.state");

          if (g_strcmp0 (state, "FROZEN") == 0 || g_get_monotonic_time () > deadline)
            break;
          g_usleep (1000);
        }
      for (guint i = 0; i + 1 < job->cgroups->len; i++)
        kill_listed (g_ptr_array_index (job->cgroups, i));
      write_text (freezer, "freezer.state", "THAWED", NULL);
    }
  else
    for (guint i = 0; i + 1 < job->cgroups->len; i++)
      kill_listed (g_ptr_array_index (job->cgroups, i));

  deadline = g_get_monotonic_time () + KILL_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  while (any_populated (job) && g_get_monotonic_time () < deadline)
    {
      for (guint i = 0; i + 1 < job->cgroups->len; i++)
        kill_listed (g_ptr_array_index (job->cgroups, i));
      g_usleep (2000);
    }
  if (any_populated (job))
    g_warning ("Job %" G_GUINT64_FORMAT ": processes survive in its cgroups after SIGKILL", job->id);
}

static void
read_outcome (OrrIsolationJob *job)
{
  const char *memory = job_cgroup (job, CG_MEMORY);
  const char *pids = job_cgroup (job, CG_PIDS);
  const char *cpuacct = job_cgroup (job, CG_CPUACCT);
  OrrIsolation *self = job->isolation;

  if (memory)
    job->memory_exceeded = read_keyed (memory, controller_is_v2 (self, CG_MEMORY) ? "memory.events" : "memory.oom_control",
                                       "oom_kill") > 0;
  if (pids)
    job->processes_exceeded = read_keyed (pids, "pids.events", "max") > 0;
  if (cpuacct && controller_is_v2 (self, CG_CPUACCT))
    {
      gint64 us = read_keyed (cpuacct, "cpu.stat", "usage_usec");
      job->cpu_usage_ns = us >= 0 ? us * 1000 : -1;
    }
  else if (cpuacct)
    {
      g_autofree char *usage = read_text (cpuacct, "cpuacct.usage");
      job->cpu_usage_ns = usage ? g_ascii_strtoll (usage, NULL, 10) : -1;
    }
}

void
orr_isolation_job_finish (OrrIsolationJob *job)
{
  OrrIsolation *self;

  if (job == NULL || job->finished)
    return;
  job->finished = TRUE;
  self = job->isolation;

  kill_leftovers (job);
  read_outcome (job);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i + 1 < job->cgroups->len; i++)
    {
      const char *dir = g_ptr_array_index (job->cgroups, i);

      /* A task that just died may still be leaving the cgroup. */
      for (int attempt = 0; attempt < 500 && rmdir (dir) != 0 && errno == EBUSY; attempt++)
        g_usleep (1000);
    }
  /* Pool and orrery/ directories go when no other job uses them. */
  for (guint i = 0; i < job->pool_dirs->len; i++)
    rmdir (g_ptr_array_index (job->pool_dirs, i));
  g_mutex_unlock (&self->lock);

  if (job->dir && !remove_tree (job->dir))
    g_warning ("Cannot remove the job directory %s: %s", job->dir, g_strerror (errno));
  if (job->uid_lock >= 0)
    {
      close (job->uid_lock);
      job->uid_lock = -1;
    }
}

char *
orr_isolation_job_dup_limit_error (OrrIsolationJob *job,
                                   const GError    *error)
{
  OrrIsolation *self = job->isolation;
  const OrrLimits *l = job->limits;
  const char *message = error ? error->message : "";
  gboolean memory = job->memory_exceeded;
  gboolean processes = job->processes_exceeded;

  /* Without a cgroup no counter tells; the exception the limit raises does. */
  if (self->backends[ORR_LIMIT_MEMORY] == ORR_LIMIT_BACKEND_RLIMIT && l->max_memory_bytes &&
      g_str_has_prefix (message, "MemoryError"))
    memory = TRUE;
  if (self->backends[ORR_LIMIT_PROCESSES] == ORR_LIMIT_BACKEND_RLIMIT && l->max_processes &&
      g_str_has_prefix (message, "BlockingIOError"))
    processes = TRUE;

  if (memory && l->max_memory_bytes)
    {
      g_autofree char *size = describe_bytes (l->max_memory_bytes);
      return g_strdup_printf (_("memory limit of %s exceeded"), size);
    }
  if (processes && l->max_processes)
    return g_strdup_printf (_("process limit of %u reached"), l->max_processes);
  return NULL;
}

void
orr_isolation_job_free (OrrIsolationJob *job)
{
  if (job == NULL)
    return;
  orr_isolation_job_finish (job);
  orr_limits_free (job->limits);
  g_free (job->name);
  g_free (job->dir);
  g_clear_pointer (&job->cpus, g_array_unref);
  g_ptr_array_unref (job->cgroups);
  g_ptr_array_unref (job->pool_dirs);
  g_free (job);
}

const char *
orr_isolation_job_get_dir (OrrIsolationJob *job)
{
  return job->dir;
}

int
orr_isolation_job_get_uid (OrrIsolationJob *job)
{
  return job->uid;
}

const char * const *
orr_isolation_job_get_cgroups (OrrIsolationJob *job)
{
  return (const char * const *) job->cgroups->pdata;
}

gint64
orr_isolation_job_get_cpu_usage_ns (OrrIsolationJob *job)
{
  return job->cpu_usage_ns;
}
