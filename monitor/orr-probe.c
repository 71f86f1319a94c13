/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-probe"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include "orr-probe.h"

/* How often the job's process list is read again (cgroup.procs, or the
 * descendants of the satellite in /proc), and the peak RSS in /proc mode. */
#define REFRESH_US (2 * G_USEC_PER_SEC)
/* How often to look for the job's cgroups until they are found: at each
 * pass at first (the engine moves the satellite there just after forking
 * it), then seldom: a job without cgroups is not likely to get them. In its
 * early period, a job's processes are looked for at each pass too. */
#define CGROUP_RETRY_EARLY_US (G_USEC_PER_SEC / 4)
#define CGROUP_RETRY_LATE_US (10 * G_USEC_PER_SEC)
#define CGROUP_EARLY_PERIOD_US (3 * G_USEC_PER_SEC)
#define MAX_FD_BUDGET 4096
#define READ_BUF 4096

/* ------------------------------------------------------------ cached files */

typedef struct {
  char *path;
  int fd;              /* -1: not open */
  gboolean gone;       /* the file is not there (or not ours to read) */
  gboolean transient;  /* read seldom: opened for each read, not kept */
} CachedFile;

struct _OrrProbeHost {
  guint open_fds;
  guint fd_budget;
  long page_size;
  long clock_ticks;
  GPtrArray *mounts;          /* Mount */
  gint64 now;
  gboolean refresh_pass;      /* process lists are read again in this pass */
  gint64 next_refresh;
  GHashTable *children;       /* ppid → GArray of pids, this pass's /proc table; NULL until needed */
};

static void
cached_file_init (CachedFile *f, char *path, gboolean transient)
{
  f->path = path;
  f->fd = -1;
  f->gone = FALSE;
  f->transient = transient;
}

static void
cached_file_close (OrrProbeHost *host, CachedFile *f)
{
  if (f->fd >= 0)
    {
      close (f->fd);
      host->open_fds--;
    }
  f->fd = -1;
}

static void
cached_file_clear (OrrProbeHost *host, CachedFile *f)
{
  cached_file_close (host, f);
  g_clear_pointer (&f->path, g_free);
}

/* Reads the whole (small) file into @buf, NUL-terminated; -1 when it cannot.
 * A /proc/PID file kept open stays bound to that process: once the process
 * is gone, reading fails, whoever has the pid now. */
static gssize
cached_file_read (OrrProbeHost *host, CachedFile *f, char *buf, gsize size)
{
  gssize n;

  if (f->path == NULL || f->gone)
    return -1;
  if (f->fd < 0)
    {
      int fd = open (f->path, O_RDONLY | O_CLOEXEC);

      if (fd < 0)
        {
          if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == ESRCH)
            f->gone = TRUE;
          return -1;
        }
      if (!f->transient && host->open_fds < host->fd_budget)
        {
          f->fd = fd;
          host->open_fds++;
        }
      else
        {
          do
            n = read (fd, buf, size - 1);
          while (n < 0 && errno == EINTR);
          close (fd);
          if (n < 0)
            return -1;
          buf[n] = '\0';
          return n;
        }
    }
  do
    n = pread (f->fd, buf, size - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      /* ESRCH: the process is gone; EACCES: not ours to read. */
      f->gone = errno == ESRCH || errno == EACCES || errno == EPERM || errno == ENODEV;
      return -1;
    }
  buf[n] = '\0';
  return n;
}

/* A decimal number at @text (after blanks), -1 if there is none. Faster
 * than strtoll, which matters at a few hundred reads a second. */
static gint64
parse_int (const char *text)
{
  gint64 v = 0;
  gboolean negative = FALSE;
  const char *p = text;

  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++)
    v = v * 10 + (*p - '0');
  return negative ? -v : v;
}

static gint64
read_int_file (OrrProbeHost *host, CachedFile *f)
{
  char buf[64];

  if (cached_file_read (host, f, buf, sizeof buf) <= 0)
    return -1;
  return parse_int (buf);
}

/* The value of "key value" (or "key: value") in a list of lines; -1 if absent. */
static gint64
find_key (const char *text, const char *key)
{
  gsize len = strlen (key);
  const char *p = text;

  while (p && *p)
    {
      if (strncmp (p, key, len) == 0 && (p[len] == ' ' || p[len] == ':' || p[len] == '\t'))
        {
          p += len + 1;
          while (*p == ' ' || *p == '\t' || *p == ':')
            p++;
          return parse_int (p);
        }
      p = strchr (p, '\n');
      if (p)
        p++;
    }
  return -1;
}

/* /proc/PID/io: read_bytes, write_bytes, cancelled_write_bytes, in one walk. */
static gboolean
parse_io (const char *text, gint64 *read_bytes, gint64 *written_bytes)
{
  gint64 rb = -1, wb = -1, cw = 0;

  for (const char *p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    {
      if (strncmp (p, "read_bytes:", 11) == 0)
        rb = parse_int (p + 11);
      else if (strncmp (p, "write_bytes:", 12) == 0)
        wb = parse_int (p + 12);
      else if (strncmp (p, "cancelled_write_bytes:", 22) == 0)
        cw = MAX (parse_int (p + 22), 0);
    }
  if (rb < 0 || wb < 0)
    return FALSE;
  *read_bytes = rb;
  *written_bytes = MAX (0, wb - cw);
  return TRUE;
}

/* ------------------------------------------------------------ the host */

typedef struct {
  gboolean v2;
  char **controllers;   /* v1: the super options that name controllers */
  char *root;
  char *mount_point;
} Mount;

static void
mount_free (gpointer data)
{
  Mount *m = data;

  g_strfreev (m->controllers);
  g_free (m->root);
  g_free (m->mount_point);
  g_free (m);
}

/* mountinfo escapes blanks and backslashes as \NNN (octal). */
static char *
unescape_octal (const char *s)
{
  GString *out = g_string_new (NULL);

  for (; *s; s++)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7')
        {
          g_string_append_c (out, (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0')));
          s += 3;
        }
      else
        g_string_append_c (out, *s);
    }
  return g_string_free (out, FALSE);
}

static void
read_mounts (OrrProbeHost *host)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *sep = strstr (lines[i], " - ");
      g_auto(GStrv) left = NULL;
      g_auto(GStrv) right = NULL;
      Mount *m;

      if (sep == NULL)
        continue;
      right = g_strsplit (sep + 3, " ", 3);
      if (g_strv_length (right) < 3 || (!g_str_equal (right[0], "cgroup") && !g_str_equal (right[0], "cgroup2")))
        continue;
      left = g_strsplit (lines[i], " ", 6);
      if (g_strv_length (left) < 5)
        continue;
      m = g_new0 (Mount, 1);
      m->v2 = g_str_equal (right[0], "cgroup2");
      m->controllers = m->v2 ? g_new0 (char *, 1) : g_strsplit (right[2], ",", -1);
      m->root = unescape_octal (left[3]);
      m->mount_point = unescape_octal (left[4]);
      g_ptr_array_add (host->mounts, m);
    }
}

OrrProbeHost *
orr_probe_host_new (void)
{
  OrrProbeHost *host = g_new0 (OrrProbeHost, 1);
  struct rlimit rl;

  host->page_size = sysconf (_SC_PAGESIZE);
  host->clock_ticks = sysconf (_SC_CLK_TCK);
  if (host->clock_ticks <= 0)
    host->clock_ticks = 100;
  /* Kept-open files save an open() and a close() per read (about 7 a job
   * are read at each pass); leave the process half of its descriptors. */
  host->fd_budget = MAX_FD_BUDGET;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    host->fd_budget = MIN (host->fd_budget, rl.rlim_cur / 2);
  host->mounts = g_ptr_array_new_with_free_func (mount_free);
  read_mounts (host);
  return host;
}

void
orr_probe_host_free (OrrProbeHost *host)
{
  if (host == NULL)
    return;
  g_ptr_array_unref (host->mounts);
  g_clear_pointer (&host->children, g_hash_table_unref);
  g_free (host);
}

void
orr_probe_host_begin_pass (OrrProbeHost *host,
                           gint64        now)
{
  host->now = now;
  g_clear_pointer (&host->children, g_hash_table_unref);
  host->refresh_pass = now >= host->next_refresh;
  if (host->refresh_pass)
    host->next_refresh = now + REFRESH_US;
}

/* The stat line's fields after the command name: field 3 is [0]. */
static gboolean
split_stat (char *buf, char **fields, guint n_fields)
{
  char *p = strrchr (buf, ')');
  guint i = 0;

  if (p == NULL)
    return FALSE;
  p++;
  while (*p && i < n_fields)
    {
      while (*p == ' ')
        p++;
      if (*p == '\0')
        break;
      fields[i++] = p;
      while (*p && *p != ' ')
        p++;
    }
  return i == n_fields;
}

#define F(n) ((n) - 3)   /* index of stat field n (proc(5) numbering) */

/* ppid → children, from every /proc/PID/stat: made at most once a pass. */
static GHashTable *
host_children (OrrProbeHost *host)
{
  DIR *dir;
  struct dirent *de;

  if (host->children)
    return host->children;
  host->children = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  dir = opendir ("/proc");
  if (dir == NULL)
    return host->children;
  while ((de = readdir (dir)) != NULL)
    {
      char path[64];
      char buf[1024];
      char *fields[2];
      int fd, pid, ppid;
      ssize_t n;
      GArray *kids;

      if (!g_ascii_isdigit (de->d_name[0]))
        continue;
      pid = atoi (de->d_name);
      g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n <= 0)
        continue;
      buf[n] = '\0';
      if (!split_stat (buf, fields, 2))
        continue;
      ppid = atoi (fields[1]);
      kids = g_hash_table_lookup (host->children, GINT_TO_POINTER (ppid));
      if (kids == NULL)
        {
          kids = g_array_new (FALSE, FALSE, sizeof (int));
          g_hash_table_insert (host->children, GINT_TO_POINTER (ppid), kids);
        }
      g_array_append_val (kids, pid);
    }
  closedir (dir);
  return host->children;
}

/* ------------------------------------------------------------ a probe */

typedef struct {
  int pid;
  CachedFile stat;
  CachedFile statm;   /* the cheapest file to tell the process lives */
  CachedFile io;
  CachedFile status;
  gboolean seen;      /* in the latest process list */
  gboolean counted;   /* its CPU and I/O are in an earlier reading */
} Proc;

struct _OrrProbe {
  OrrProbeHost *host;
  char *leaf;                 /* "job-<key>" */
  int pid;
  guint64 start;
  int engine_pid;
  OrrProbeSource source;
  gint64 created;
  gint64 next_cgroup_try;
  gboolean checked_start;

  /* cgroup files; path NULL when the job has no such file */
  CachedFile cpu_usage;       /* v1 cpuacct.usage (ns) */
  CachedFile cpu_split;       /* v1 cpuacct.stat (ticks), or v2 cpu.stat (µs) */
  CachedFile mem_usage;       /* memory.usage_in_bytes, memory.current */
  CachedFile mem_peak;        /* memory.max_usage_in_bytes, memory.peak */
  CachedFile tasks;           /* pids.current */
  CachedFile procs;           /* cgroup.procs */
  gboolean cpu_v2;

  GPtrArray *processes;       /* Proc; [0] is the satellite */
  gint64 hwm_bytes;           /* largest VmHWM seen (/proc mode) */
  double user_share;          /* v1: user/(user+system) of cpuacct.stat */
  gint64 peak_bytes;          /* cgroup mode: the largest memory seen */
  gboolean have_read;         /* a reading was made */
};

const char *
orr_probe_source_to_string (OrrProbeSource source)
{
  switch (source)
    {
    case ORR_PROBE_SOURCE_PROC: return "proc";
    case ORR_PROBE_SOURCE_CGROUP_V1: return "cgroup v1";
    case ORR_PROBE_SOURCE_CGROUP_V2: return "cgroup v2";
    case ORR_PROBE_SOURCE_NONE:
    default: return "none";
    }
}

static Proc *
proc_new (int pid)
{
  Proc *p = g_new0 (Proc, 1);

  p->pid = pid;
  cached_file_init (&p->stat, g_strdup_printf ("/proc/%d/stat", pid), FALSE);
  cached_file_init (&p->statm, g_strdup_printf ("/proc/%d/statm", pid), FALSE);
  cached_file_init (&p->io, g_strdup_printf ("/proc/%d/io", pid), FALSE);
  cached_file_init (&p->status, g_strdup_printf ("/proc/%d/status", pid), TRUE);
  return p;
}

static void
proc_free (OrrProbeHost *host, Proc *p)
{
  cached_file_clear (host, &p->stat);
  cached_file_clear (host, &p->statm);
  cached_file_clear (host, &p->io);
  cached_file_clear (host, &p->status);
  g_free (p);
}

OrrProbe *
orr_probe_new (OrrProbeHost *host,
               const char   *key,
               int           pid,
               guint64       start,
               int           engine_pid)
{
  OrrProbe *probe = g_new0 (OrrProbe, 1);

  probe->host = host;
  probe->leaf = g_strdup_printf ("job-%s", key);
  probe->pid = pid;
  probe->start = start;
  probe->engine_pid = engine_pid;
  probe->source = ORR_PROBE_SOURCE_PROC;
  probe->created = g_get_monotonic_time ();
  probe->user_share = 1.0;
  probe->processes = g_ptr_array_new ();
  g_ptr_array_add (probe->processes, proc_new (pid));
  cached_file_init (&probe->cpu_usage, NULL, FALSE);
  cached_file_init (&probe->cpu_split, NULL, FALSE);
  cached_file_init (&probe->mem_usage, NULL, FALSE);
  cached_file_init (&probe->mem_peak, NULL, TRUE);
  cached_file_init (&probe->tasks, NULL, FALSE);
  cached_file_init (&probe->procs, NULL, TRUE);
  return probe;
}

static void
clear_cgroup_files (OrrProbe *probe)
{
  cached_file_clear (probe->host, &probe->cpu_usage);
  cached_file_clear (probe->host, &probe->cpu_split);
  cached_file_clear (probe->host, &probe->mem_usage);
  cached_file_clear (probe->host, &probe->mem_peak);
  cached_file_clear (probe->host, &probe->tasks);
  cached_file_clear (probe->host, &probe->procs);
}

void
orr_probe_free (OrrProbe *probe)
{
  if (probe == NULL)
    return;
  clear_cgroup_files (probe);
  for (guint i = 0; i < probe->processes->len; i++)
    proc_free (probe->host, g_ptr_array_index (probe->processes, i));
  g_ptr_array_unref (probe->processes);
  g_free (probe->leaf);
  g_free (probe);
}

int
orr_probe_get_pid (OrrProbe *probe)
{
  return probe->pid;
}

OrrProbeSource
orr_probe_get_source (OrrProbe *probe)
{
  return probe->source;
}

/* The directory of the cgroup @path (as /proc/PID/cgroup gives it) of the
 * hierarchy with @controllers, or NULL. */
static char *
cgroup_dir (OrrProbeHost *host, const char *controllers, const char *path)
{
  g_auto(GStrv) wanted = g_strsplit (controllers, ",", -1);

  for (guint i = 0; i < host->mounts->len; i++)
    {
      Mount *m = g_ptr_array_index (host->mounts, i);
      const char *rest = path;

      if (m->v2 != (*controllers == '\0'))
        continue;
      if (!m->v2 && (wanted[0] == NULL || !g_strv_contains ((const char * const *) m->controllers, wanted[0])))
        continue;
      if (!g_str_equal (m->root, "/"))
        {
          if (!g_str_has_prefix (path, m->root) || (path[strlen (m->root)] != '/' && path[strlen (m->root)] != '\0'))
            continue;
          rest = path + strlen (m->root);
        }
      return g_build_filename (m->mount_point, rest, NULL);
    }
  return NULL;
}

static void
set_file (CachedFile *f, const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (f->path == NULL && access (path, R_OK) == 0)
    f->path = g_steal_pointer (&path);
}

static gboolean
has_controller (const char *list, const char *name)
{
  g_auto(GStrv) names = g_strsplit (list, ",", -1);

  return g_strv_contains ((const char * const *) names, name);
}

/* Looks for the job's own cgroups in /proc/PID/cgroup of the satellite. */
static void
find_cgroups (OrrProbe *probe)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", probe->pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *v2_dir = NULL;
  gboolean v1 = FALSE;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) parts = g_strsplit (lines[i], ":", 3);
      g_autofree char *dir = NULL;
      const char *base;

      if (g_strv_length (parts) != 3)
        continue;
      base = strrchr (parts[2], '/');
      if (base == NULL || !g_str_equal (base + 1, probe->leaf))
        continue;
      dir = cgroup_dir (probe->host, parts[1], parts[2]);
      if (dir == NULL)
        continue;
      if (*parts[1] == '\0')
        {
          v2_dir = g_steal_pointer (&dir);
          continue;
        }
      if (has_controller (parts[1], "cpuacct"))
        {
          set_file (&probe->cpu_usage, dir, "cpuacct.usage");
          set_file (&probe->cpu_split, dir, "cpuacct.stat");
          probe->cpu_split.transient = TRUE;
        }
      if (has_controller (parts[1], "memory"))
        {
          set_file (&probe->mem_usage, dir, "memory.usage_in_bytes");
          set_file (&probe->mem_peak, dir, "memory.max_usage_in_bytes");
        }
      if (has_controller (parts[1], "pids"))
        set_file (&probe->tasks, dir, "pids.current");
      set_file (&probe->procs, dir, "cgroup.procs");
      v1 = v1 || probe->cpu_usage.path || probe->mem_usage.path;
    }
  /* cgroup v2: cpu.stat is in every cgroup, memory and pids files where the
   * controllers are enabled. cgroup v1 files come first where both exist. */
  if (v2_dir)
    {
      if (probe->cpu_usage.path == NULL && probe->cpu_split.path == NULL)
        {
          set_file (&probe->cpu_split, v2_dir, "cpu.stat");
          probe->cpu_v2 = probe->cpu_split.path != NULL;
        }
      if (probe->mem_usage.path == NULL)
        {
          set_file (&probe->mem_usage, v2_dir, "memory.current");
          if (probe->mem_usage.path)
            set_file (&probe->mem_peak, v2_dir, "memory.peak");
        }
      set_file (&probe->tasks, v2_dir, "pids.current");
      set_file (&probe->procs, v2_dir, "cgroup.procs");
    }
  if (probe->procs.path && (probe->cpu_usage.path || probe->cpu_split.path || probe->mem_usage.path))
    probe->source = v1 ? ORR_PROBE_SOURCE_CGROUP_V1 : ORR_PROBE_SOURCE_CGROUP_V2;
  else
    clear_cgroup_files (probe);
}

static Proc *
find_proc (OrrProbe *probe, int pid)
{
  for (guint i = 0; i < probe->processes->len; i++)
    {
      Proc *p = g_ptr_array_index (probe->processes, i);
      if (p->pid == pid)
        return p;
    }
  return NULL;
}

static void
mark_seen (OrrProbe *probe, int pid)
{
  Proc *p = find_proc (probe, pid);

  if (p == NULL)
    {
      p = proc_new (pid);
      g_ptr_array_add (probe->processes, p);
    }
  p->seen = TRUE;
}

/* Reads the job's process list again: cgroup.procs, or the satellite's
 * descendants. The satellite itself always stays first. */
static void
refresh_processes (OrrProbe *probe)
{
  for (guint i = 1; i < probe->processes->len; i++)
    ((Proc *) g_ptr_array_index (probe->processes, i))->seen = FALSE;
  if (probe->source != ORR_PROBE_SOURCE_PROC)
    {
      char *buf = g_malloc (READ_BUF * 4);

      if (cached_file_read (probe->host, &probe->procs, buf, READ_BUF * 4) >= 0)
        {
          for (char *p = buf; *p; )
            {
              int pid = atoi (p);

              if (pid > 0 && pid != probe->pid)
                mark_seen (probe, pid);
              p = strchr (p, '\n');
              if (p == NULL)
                break;
              p++;
            }
        }
      g_free (buf);
    }
  else
    {
      GHashTable *children = host_children (probe->host);
      g_autoptr(GArray) todo = g_array_new (FALSE, FALSE, sizeof (int));
      g_autoptr(GHashTable) visited = g_hash_table_new (NULL, NULL);

      /* Breadth first from the satellite. */
      g_array_append_val (todo, probe->pid);
      g_hash_table_add (visited, GINT_TO_POINTER (probe->pid));
      for (guint i = 0; i < todo->len; i++)
        {
          GArray *kids = g_hash_table_lookup (children, GINT_TO_POINTER (g_array_index (todo, int, i)));

          for (guint k = 0; kids && k < kids->len; k++)
            {
              int kid = g_array_index (kids, int, k);

              if (!g_hash_table_add (visited, GINT_TO_POINTER (kid)))
                continue;
              mark_seen (probe, kid);
              g_array_append_val (todo, kid);
            }
        }
    }
  for (guint i = probe->processes->len; i > 1; i--)
    {
      Proc *p = g_ptr_array_index (probe->processes, i - 1);

      if (!p->seen)
        {
          proc_free (probe->host, p);
          g_ptr_array_remove_index (probe->processes, i - 1);
        }
    }
}

/* The parts of /proc/PID/stat a reading needs. */
typedef struct {
  int ppid;
  gint64 user_ticks;    /* utime + cutime */
  gint64 system_ticks;  /* stime + cstime */
  gint64 threads;
  gint64 rss_pages;
  guint64 start;
} StatFields;

static gboolean
read_stat (OrrProbeHost *host, Proc *p, StatFields *out)
{
  char buf[1024];
  char *fields[F (24) + 1];

  if (cached_file_read (host, &p->stat, buf, sizeof buf) <= 0 || !split_stat (buf, fields, G_N_ELEMENTS (fields)))
    return FALSE;
  out->ppid = (int) parse_int (fields[F (4)]);
  out->user_ticks = MAX (parse_int (fields[F (14)]), 0) + MAX (parse_int (fields[F (16)]), 0);
  out->system_ticks = MAX (parse_int (fields[F (15)]), 0) + MAX (parse_int (fields[F (17)]), 0);
  out->threads = MAX (parse_int (fields[F (20)]), 0);
  out->start = MAX (parse_int (fields[F (22)]), 0);
  out->rss_pages = MAX (parse_int (fields[F (24)]), 0);
  return TRUE;
}

/* The parent of @pid, 0 if unknown. */
static int
parent_of (int pid)
{
  char path[64];
  g_autofree char *text = NULL;
  const char *p;

  g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL)
    return 0;
  /* ") S PPID": the state, then the parent. */
  return p[1] && p[2] && p[3] ? atoi (p + 4) : 0;
}

/* Is @pid a resident launchpad (orrery-satellite --launchpad, see
 * core/orr-launchpad.h) of the engine's own user? */
static gboolean
is_engines_launchpad (OrrProbe *probe, int pid)
{
  char path[64];
  g_autofree char *cmdline = NULL;
  gsize len = 0;
  struct stat lp, engine;
  gboolean flag = FALSE;

  g_snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
  if (!g_file_get_contents (path, &cmdline, &len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i += strlen (cmdline + i) + 1)
    flag |= strcmp (cmdline + i, "--launchpad") == 0;
  if (!flag)
    return FALSE;
  g_snprintf (path, sizeof path, "/proc/%d", pid);
  if (stat (path, &lp) != 0)
    return FALSE;
  g_snprintf (path, sizeof path, "/proc/%d", probe->engine_pid);
  return stat (path, &engine) == 0 && lp.st_uid == engine.st_uid;
}

/* A satellite is the engine's grandchild (engine → zygote → satellite), or
 * the child of its user's launchpad: an entry cannot make the monitor
 * follow a process of someone else's. */
static gboolean
descends_from_engine (OrrProbe *probe, int ppid)
{
  if (probe->engine_pid <= 0)
    return TRUE;
  if (ppid > 1 && is_engines_launchpad (probe, ppid))
    return TRUE;
  for (int generation = 0; generation < 3 && ppid > 1; generation++)
    {
      if (ppid == probe->engine_pid)
        return TRUE;
      ppid = parent_of (ppid);
    }
  return FALSE;
}

gboolean
orr_probe_read (OrrProbe        *probe,
                OrrProbeReading *r)
{
  OrrProbeHost *host = probe->host;
  Proc *satellite = g_ptr_array_index (probe->processes, 0);
  StatFields sat;
  gint64 user_ticks = 0, system_ticks = 0, threads = 0, rss_pages = 0;
  gint64 new_user_ticks = 0, new_system_ticks = 0;
  gint64 read_bytes = 0, written_bytes = 0;
  gboolean any_io = FALSE;
  gboolean refresh = host->refresh_pass;
  char buf[READ_BUF];

  memset (r, 0, sizeof *r);
  r->cpu_user_ns = r->cpu_system_ns = r->memory_bytes = r->memory_peak_bytes = -1;
  r->read_bytes = r->written_bytes = -1;

  /* The satellite: the process the registry means (a file kept open stays
   * bound to it), and alive. */
  if (!probe->checked_start)
    {
      if (!read_stat (host, satellite, &sat))
        return FALSE;
      if ((probe->start != 0 && sat.start != probe->start) || !descends_from_engine (probe, sat.ppid))
        {
          satellite->stat.gone = TRUE;
          return FALSE;
        }
      probe->checked_start = TRUE;
      refresh = TRUE;
    }
  else if (probe->source == ORR_PROBE_SOURCE_PROC || probe->tasks.path == NULL)
    {
      if (!read_stat (host, satellite, &sat))
        return FALSE;
    }
  else if (cached_file_read (host, &satellite->statm, buf, sizeof buf) <= 0)
    return FALSE;

  if (probe->source == ORR_PROBE_SOURCE_PROC && host->now >= probe->next_cgroup_try)
    {
      find_cgroups (probe);
      probe->next_cgroup_try = host->now + (host->now - probe->created < CGROUP_EARLY_PERIOD_US
                                            ? CGROUP_RETRY_EARLY_US : CGROUP_RETRY_LATE_US);
      refresh = refresh || probe->source != ORR_PROBE_SOURCE_PROC;
    }
  /* A young job is likely to start processes: look for them at each pass. */
  if (refresh || host->now - probe->created < CGROUP_EARLY_PERIOD_US)
    refresh_processes (probe);
  /* With pids.current, cgroup mode needs no stat of any process. */
  if (probe->source != ORR_PROBE_SOURCE_PROC && probe->tasks.path != NULL)
    cached_file_close (host, &satellite->stat);

  r->time = g_get_monotonic_time ();
  r->processes = 1;
  for (guint i = 0; i < probe->processes->len; i++)
    {
      Proc *p = g_ptr_array_index (probe->processes, i);
      StatFields st = sat;

      if (i > 0)
        {
          /* In cgroup mode, stat is only needed for threads without pids.current. */
          if (probe->source == ORR_PROBE_SOURCE_PROC || probe->tasks.path == NULL)
            {
              if (!read_stat (host, p, &st))
                continue;
            }
          r->processes++;
        }
      if (probe->source == ORR_PROBE_SOURCE_PROC || probe->tasks.path == NULL)
        threads += st.threads;
      /* A process found since the last reading brings what it used before:
       * that goes into the totals, not into this interval's rates. */
      if (probe->source == ORR_PROBE_SOURCE_PROC)
        {
          user_ticks += st.user_ticks;
          system_ticks += st.system_ticks;
          rss_pages += st.rss_pages;
          if (!p->counted)
            {
              new_user_ticks += st.user_ticks;
              new_system_ticks += st.system_ticks;
            }
          if (refresh && cached_file_read (host, &p->status, buf, sizeof buf) > 0)
            probe->hwm_bytes = MAX (probe->hwm_bytes, find_key (buf, "VmHWM") * 1024);
        }
      if (cached_file_read (host, &p->io, buf, sizeof buf) > 0)
        {
          gint64 rb, wb;

          if (parse_io (buf, &rb, &wb))
            {
              any_io = TRUE;
              read_bytes += rb;
              written_bytes += wb;
              if (!p->counted)
                {
                  r->new_read_bytes += rb;
                  r->new_written_bytes += wb;
                }
            }
        }
      p->counted = TRUE;
    }
  /* The first reading has no interval: nothing in it is "new". */
  if (!probe->have_read)
    {
      new_user_ticks = new_system_ticks = 0;
      r->new_read_bytes = r->new_written_bytes = 0;
    }
  probe->have_read = TRUE;
  if (any_io)
    {
      r->read_bytes = read_bytes;
      r->written_bytes = written_bytes;
    }

  if (probe->source == ORR_PROBE_SOURCE_PROC)
    {
      r->cpu_user_ns = user_ticks * (G_GINT64_CONSTANT (1000000000) / host->clock_ticks);
      r->cpu_system_ns = system_ticks * (G_GINT64_CONSTANT (1000000000) / host->clock_ticks);
      r->new_cpu_user_ns = new_user_ticks * (G_GINT64_CONSTANT (1000000000) / host->clock_ticks);
      r->new_cpu_system_ns = new_system_ticks * (G_GINT64_CONSTANT (1000000000) / host->clock_ticks);
      r->memory_bytes = rss_pages * host->page_size;
      r->memory_peak_bytes = MAX (r->memory_bytes, probe->hwm_bytes);
      r->threads = threads;
      return TRUE;
    }

  /* cgroup mode */
  if (probe->cpu_v2)
    {
      if (cached_file_read (host, &probe->cpu_split, buf, sizeof buf) > 0)
        {
          gint64 user = find_key (buf, "user_usec");
          gint64 system = find_key (buf, "system_usec");

          if (user >= 0 && system >= 0)
            {
              r->cpu_user_ns = user * 1000;
              r->cpu_system_ns = system * 1000;
            }
        }
    }
  else
    {
      /* cpuacct.usage is exact; cpuacct.stat, in ticks, only splits it. */
      gint64 total = read_int_file (host, &probe->cpu_usage);

      /* The split changes slowly: read it with the process list. */
      if (refresh && cached_file_read (host, &probe->cpu_split, buf, sizeof buf) > 0)
        {
          gint64 user = find_key (buf, "user");
          gint64 system = find_key (buf, "system");

          if (user >= 0 && system >= 0 && user + system > 0)
            probe->user_share = (double) user / (user + system);
        }
      if (total >= 0)
        {
          /* User and system time that add up to the exact total. */
          r->cpu_user_ns = (gint64) (total * probe->user_share);
          r->cpu_system_ns = total - r->cpu_user_ns;
        }
    }
  r->memory_bytes = read_int_file (host, &probe->mem_usage);
  /* The kernel's peak catches what fell between readings; between reads of
   * it, the largest reading stands in. */
  if (refresh)
    probe->peak_bytes = MAX (probe->peak_bytes, read_int_file (host, &probe->mem_peak));
  probe->peak_bytes = MAX (probe->peak_bytes, r->memory_bytes);
  r->memory_peak_bytes = probe->peak_bytes > 0 ? probe->peak_bytes : -1;
  if (probe->tasks.path)
    {
      gint64 tasks = read_int_file (host, &probe->tasks);
      r->threads = tasks > 0 ? tasks : threads;
    }
  else
    r->threads = threads;
  return TRUE;
}
