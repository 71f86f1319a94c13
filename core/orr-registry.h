/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sys/stat.h>

#include "orr-job.h"
#include "orr-limits.h"

G_BEGIN_DECLS

/**
 * The host-wide registry of live jobs (Orrery's sys.dm_external_script_requests):
 * a directory shared by every Orrery process on the host, like the pool
 * slots — sticky and open to all, under $ORRERY_REGISTRY_DIR or else
 * g_get_tmp_dir()/orrery-jobs. Each job of each engine has one small
 * key file named "<engine pid>-<job id>", mode 0644, written atomically
 * (temporary file + rename) by its engine when the job changes and removed
 * a few seconds after it ended. Readers trust a file only when its owner is
 * root or the engine's user, and only while the engine process that wrote it
 * (its pid and start time) is alive: a dead engine's files are stale, and
 * are removed by whoever has the right to.
 */

#define ORR_REGISTRY_FORMAT 1
/* How long a finished job's file stays, so that monitors see how it ended. */
#define ORR_REGISTRY_LINGER_MS 3000

typedef struct {
  char *key;                 /* "<engine pid>-<job id>": the file's name */
  int engine_pid;
  guint64 engine_start;      /* the engine's start time (clock ticks after boot) */
  guint64 job_id;
  guint uid;                 /* the engine's user */
  char *user;                /* its login name */
  char *principal;           /* the database principal, once admission knows it */
  OrrLimits *limits;         /* the job's pool and its limits; NULL until admitted */
  OrrJobState state;
  gint64 submitted_at;       /* µs since the epoch */
  gint64 started_at;         /* left the queue; 0 before */
  gint64 ended_at;           /* 0 while the job lives */
  int satellite_pid;         /* 0 when there is none (yet) */
  guint64 satellite_start;   /* its start time (clock ticks after boot) */
  guint64 rows_in;
  guint64 rows_out;
  char *script;              /* the script's first non-blank line */
  char *error;               /* the first line of the failure, once failed */
  /* From the satellite's rusage once it exited; -1 when unknown. */
  gint64 cpu_user_us;
  gint64 cpu_system_us;
  gint64 peak_memory_bytes;
  gint64 bytes_read;
  gint64 bytes_written;
} OrrRegistryRecord;

OrrRegistryRecord *orr_registry_record_new   (void);
OrrRegistryRecord *orr_registry_record_copy  (const OrrRegistryRecord *record);
void               orr_registry_record_free  (OrrRegistryRecord *record);
gboolean           orr_registry_record_equal (const OrrRegistryRecord *a,
                                              const OrrRegistryRecord *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrRegistryRecord, orr_registry_record_free)

/* The file's contents (a GKeyFile, group [job]). */
char              *orr_registry_record_to_data (const OrrRegistryRecord  *record,
                                                gsize                    *length) G_GNUC_WARN_UNUSED_RESULT;
OrrRegistryRecord *orr_registry_record_parse   (const char               *data,
                                                gsize                     length,
                                                GError                  **error);

/* The registry's directory (not created). */
char              *orr_registry_dup_dir      (void) G_GNUC_WARN_UNUSED_RESULT;
/* Creates @dir, sticky and open to all, if it is missing. */
gboolean           orr_registry_ensure_dir   (const char  *dir,
                                              GError     **error);
/* Whether @name is an entry's name ("<digits>-<digits>"). */
gboolean           orr_registry_is_key       (const char *name);
/* Writes @record as @dir/<key>, atomically, mode 0644. */
gboolean           orr_registry_write        (const char               *dir,
                                              const OrrRegistryRecord  *record,
                                              GError                  **error);
/* Reads the entry @name of the directory open as @dir_fd: a regular file,
 * not a symbolic link, at most 64 KiB, that parses. @st receives its stat. */
OrrRegistryRecord *orr_registry_load         (int           dir_fd,
                                              const char   *name,
                                              struct stat  *st,
                                              GError      **error);

typedef enum {
  ORR_REGISTRY_LIVE,        /* its engine runs */
  ORR_REGISTRY_STALE,       /* its engine is gone (or the pid is another process now) */
  ORR_REGISTRY_UNTRUSTED,   /* written by neither root nor the engine's user */
} OrrRegistryValidity;

/* Whether the entry @record, read from a file with @st, can be believed. */
OrrRegistryValidity orr_registry_check       (const OrrRegistryRecord *record,
                                              const struct stat       *st);

/* A process's start time in clock ticks after boot (field 22 of
 * /proc/PID/stat), 0 when there is no such process. */
guint64            orr_process_get_start_time (int pid);
/* Whether @pid lives (a zombie does not) and, when @start is not 0, started
 * at @start. */
gboolean           orr_process_is_alive       (int     pid,
                                               guint64 start);

/* Cancel requests, the registry's channel from a monitor to the engine that
 * runs a job. A request is a small file "cancel-<key>.<random>" in the
 * registry's directory, written atomically by the requester; the engine
 * watches the directory (inotify) and cancels the job as if locally, but
 * only when the request's file — opened without following links, a single
 * link, regular — belongs to root or to the engine's own user, and names
 * this very engine (its start time). Anyone may create files in the sticky
 * directory: a request from another user is refused, and the job's owner
 * told so through an INFO message of the job. Requests are removed by the
 * engine once handled (when it may) and by the requester; leftovers for
 * ended jobs are swept by every engine and requester. */
#define ORR_REGISTRY_CANCEL_PREFIX "cancel-"

/* Whether the calling process may cancel @record's job: its user is root or
 * the job's engine's user. Otherwise FALSE with ORR_ERROR_PERMISSION_DENIED
 * and a message that says who may. */
gboolean           orr_registry_may_cancel      (const OrrRegistryRecord  *record,
                                                 GError                  **error);
/* Asks the engine of the live job @key (in @dir; NULL: the default
 * directory) to cancel it, after checking that the job lives and has not
 * ended (ORR_ERROR_NOT_FOUND) and orr_registry_may_cancel(). @request
 * (optional) receives the request's file name for
 * orr_registry_withdraw_cancel(). Does not wait: the job's entry says when
 * it ended. */
gboolean           orr_registry_request_cancel  (const char  *dir,
                                                 const char  *key,
                                                 char       **request,
                                                 GError     **error);
/* The request's file itself, for @record's job, with no check at all (the
 * engine checks): tests use it to play a user who has no right. */
gboolean           orr_registry_write_cancel_request (const char               *dir,
                                                      const OrrRegistryRecord  *record,
                                                      char                    **request,
                                                      GError                  **error);
/* Removes the request @request from @dir (NULL: the default directory), if
 * it is still there; quiet when it is gone. */
void               orr_registry_withdraw_cancel (const char *dir,
                                                 const char *request);
/* Removes the requests in @dir whose job is no longer live (its entry is
 * gone, stale or says the job ended), where this process may; returns how
 * many were removed. */
guint              orr_registry_sweep_requests  (const char *dir);

/* The engine's side, called by OrrJob (core/orr-job.c). An entry lives from
 * submit until ORR_REGISTRY_LINGER_MS after the job ended; a thread of the
 * registry writes it and follows the job's satellite and row counts. */
typedef struct _OrrRegistryEntry OrrRegistryEntry;

OrrRegistryEntry  *_orr_registry_publish       (OrrJob *job);
/* From the job's thread, after each state change: writes the entry at once
 * (so that it says how the job ended before anyone is told). After the final
 * state, @entry belongs to the registry: forget it. */
void               _orr_registry_update        (OrrRegistryEntry *entry,
                                                OrrJob           *job);
/* From the job's thread once admission gave the job its pool (job->limits)
 * and found the principal: a queued job then counts in its pool. */
void               _orr_registry_admitted      (OrrRegistryEntry *entry,
                                                OrrJob           *job,
                                                const char       *principal);

G_END_DECLS
