/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-batch.h"
#include "orr-batch-private.h"

G_BEGIN_DECLS

/*
 * The wire between the engine and a satellite.
 *
 * A stream socket (socketpair) carries frames. Each frame is a 16-byte
 * header — magic "ORRW" (u32 0x5752524f), protocol version (u16), message
 * type (u16), payload length (u32, at most ORR_WIRE_MAX_PAYLOAD), number of
 * descriptors passed with it (u32, 0 or 1) — then the payload. A descriptor
 * (a sealed memfd holding a batch, or a job socket for the zygote) travels
 * with SCM_RIGHTS on the frame's first byte.
 *
 * Payload fields are little-endian: u8, i32, u32, i64, u64, f64; a "string"
 * is a u32 length then that many bytes of UTF-8 (no NUL); "bytes" the same
 * without the UTF-8 rule. Every read is bounds-checked: a short, long or
 * malformed message is an ORR_ERROR_PROTOCOL error, never a crash.
 */

#define ORR_WIRE_MAGIC        0x5752524fu
#define ORR_WIRE_VERSION      1
#define ORR_WIRE_HEADER_SIZE  16
#define ORR_WIRE_MAX_PAYLOAD  (64u * 1024u * 1024u)
#define ORR_WIRE_MAX_COLUMNS  4096
#define ORR_WIRE_MAX_PARAMS   1024

typedef enum {
  /* engine → satellite */
  ORR_WIRE_JOB = 10,          /* OrrWireJob */
  ORR_WIRE_SCHEMA = 11,       /* OrrSchema: u32 n, n × {string name, u8 type, i32 precision, i32 scale} */
  ORR_WIRE_BATCH = 12,        /* OrrWireBatch + memfd */
  ORR_WIRE_END_INPUT = 13,    /* empty */
  /* satellite → engine */
  ORR_WIRE_READY = 20,        /* string python, string numpy, string pandas versions */
  ORR_WIRE_STDOUT = 21,       /* string text */
  ORR_WIRE_STDERR = 22,       /* string text */
  ORR_WIRE_RESULT_SCHEMA = 23,/* as SCHEMA */
  ORR_WIRE_RESULT_BATCH = 24, /* as BATCH */
  ORR_WIRE_OUTPUT_PARAMS = 25,/* u32 n, n × param (flags ignored) */
  ORR_WIRE_ERROR = 26,        /* OrrWireError */
  ORR_WIRE_DONE = 27,         /* u64 rows out */
  /* engine ↔ zygote */
  ORR_WIRE_FORK = 30,         /* OrrWireFork + job socket fd */
  ORR_WIRE_FORKED = 31,       /* i32 pid */
  ORR_WIRE_EXITED = 32,       /* i64 × 7: pid, wait status, user and system CPU µs,
                               * peak RSS KiB, blocks read and written (rusage) */
} OrrWireType;

typedef struct {
  OrrWireType type;
  GBytes *payload;
  int fd;                      /* -1 when none; owned by the message */
} OrrWireMessage;

void            orr_wire_message_free (OrrWireMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrWireMessage, orr_wire_message_free)

/* ---- values and parameters ------------------------------------------ */

typedef struct {
  OrrDataType type;
  gboolean is_null;
  union {
    gboolean b;
    gint64 i;      /* INT16/32/64, DATE (days), TIME and TIMESTAMP (µs) */
    double f;      /* FLOAT32/64, DECIMAL */
  } v;
  GBytes *bytes;   /* TEXT (UTF-8) and BINARY */
} OrrValue;

void  orr_value_clear (OrrValue *value);
char *orr_value_to_string (const OrrValue *value) G_GNUC_WARN_UNUSED_RESULT;

#define ORR_PARAM_OUTPUT 1u

typedef struct {
  char *name;
  guint flags;     /* ORR_PARAM_OUTPUT */
  OrrValue value;  /* value.type is the declared type, even when NULL */
} OrrParam;

OrrParam *orr_param_new  (const char *name, guint flags, const OrrValue *value);
void      orr_param_free (OrrParam *param);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrParam, orr_param_free)

/* ---- typed messages --------------------------------------------------- */

typedef struct {
  char *script;
  char *input_name;
  char *output_name;
  guint64 max_output_bytes;   /* 0: no limit */
  guint64 max_message_bytes;  /* stdout+stderr bound, 0: no limit */
  GPtrArray *params;          /* OrrParam */
  /* SQL Server compatibility (EXEC sp_execute_external_script): */
  guint32 flags;              /* OrrWireJobFlags */
  GStrv partition_by;         /* input columns: the script runs once per group of rows
                               * with equal values, results concatenated; NULL: none */
  GStrv order_by;             /* input columns the rows are sorted by (within a group) */
  guint64 rows_per_read;      /* the script runs once per this many rows; 0: once */
} OrrWireJob;

/* JOB: u32 flags, u32 n + n strings (partition_by), u32 n + n strings
 * (order_by), u64 rows_per_read, after the parameters. */
typedef enum {
  ORR_WIRE_JOB_SQLSERVER_TYPES = 1u << 0,  /* InputDataSet typed as SQL Server's Python
                                            * types it: int32 for INT16, float64 for
                                            * FLOAT32, datetime64 for DATE */
} OrrWireJobFlags;

#define ORR_WIRE_JOB_ALL_FLAGS 0x1u

void orr_wire_job_clear (OrrWireJob *job);

typedef struct {
  guint n_rows;
  guint64 size;
  guint n_columns;
  OrrBufferDesc *descs;
} OrrWireBatch;

void orr_wire_batch_clear (OrrWireBatch *batch);

typedef struct {
  char *kind;        /* exception type, e.g. "ZeroDivisionError" */
  char *message;
  char *traceback;   /* formatted, user's line numbers */
  gint32 line;       /* line in the user's script, 0 when unknown */
} OrrWireError;

void orr_wire_error_clear (OrrWireError *err);

/* FORK: the sandbox the zygote's child builds around itself, right after
 * fork() and before it reads anything of its job (core/satellite/orr-sandbox.c). */
typedef enum {
  ORR_WIRE_FORK_USER_NS      = 1u << 0,  /* a user namespace first (engine not root) */
  ORR_WIRE_FORK_NET_NS       = 1u << 1,  /* no network at all, not even loopback */
  ORR_WIRE_FORK_MOUNT_NS     = 1u << 2,  /* read-only view, private /tmp, job dir, hidden paths */
  ORR_WIRE_FORK_PID_NS       = 1u << 3,  /* the job runs as PID 2 under a small init */
  ORR_WIRE_FORK_IPC_NS       = 1u << 4,
  ORR_WIRE_FORK_IDENTITY     = 1u << 5,  /* setgroups/setgid/setuid to uid/gid (engine is root) */
  ORR_WIRE_FORK_NO_NEW_PRIVS = 1u << 6,
  ORR_WIRE_FORK_SECCOMP      = 1u << 7,
  ORR_WIRE_FORK_LANDLOCK     = 1u << 8,
} OrrWireForkFlags;

#define ORR_WIRE_FORK_ALL_FLAGS  0x1ffu
#define ORR_WIRE_MAX_CPUS        4096   /* entries of a CPU list, and the highest CPU number + 1 */
#define ORR_WIRE_MAX_HIDDEN      64
#define ORR_WIRE_MAX_CGROUPS     32
#define ORR_WIRE_MAX_PATH        4096

typedef struct {
  guint32 flags;              /* OrrWireForkFlags */
  guint32 uid;                /* worker identity, with ORR_WIRE_FORK_IDENTITY */
  guint32 gid;
  guint64 memory_rlimit;      /* address space allowed on top of the satellite's own
                               * (RLIMIT_AS), 0: none */
  guint32 max_processes;      /* processes and threads the script may start on top of the
                               * interpreter (RLIMIT_NPROC), 0: none */
  guint64 tmp_size;           /* bytes of the private /tmp and /dev/shm, 0: the tmpfs default */
  GArray *cpus;               /* guint32 CPU numbers for sched_setaffinity; NULL or empty: all */
  char *job_dir;              /* absolute, the job's working directory; "" or NULL: none */
  GPtrArray *hidden;          /* absolute paths shown empty inside (char *), or NULL */
  GPtrArray *cgroups;         /* absolute directories of the job's cgroups (char *), made
                               * and limited by the engine: the child moves itself into
                               * each before anything else, or fails; NULL or empty: none */
} OrrWireFork;

void orr_wire_fork_clear (OrrWireFork *spec);

/* ---- encoding --------------------------------------------------------- */

GBytes *orr_wire_encode_job     (const OrrWireJob *job);
GBytes *orr_wire_encode_fork    (const OrrWireFork *spec);
GBytes *orr_wire_encode_schema  (const OrrSchema *schema);
GBytes *orr_wire_encode_batch   (guint n_rows, guint64 size, guint n_columns, const OrrBufferDesc *descs);
GBytes *orr_wire_encode_string  (const char *text, gssize len);
GBytes *orr_wire_encode_strings (const char * const *strings, guint n);
GBytes *orr_wire_encode_params  (GPtrArray *params);
GBytes *orr_wire_encode_error   (const OrrWireError *err);
GBytes *orr_wire_encode_i32s    (const gint32 *values, guint n);
GBytes *orr_wire_encode_u64     (guint64 value);
GBytes *orr_wire_encode_i64s    (const gint64 *values, guint n);

/* ---- decoding (each checks the whole payload) -------------------------- */

gboolean orr_wire_decode_job     (GBytes *payload, OrrWireJob *out, GError **error);
gboolean orr_wire_decode_fork    (GBytes *payload, OrrWireFork *out, GError **error);
OrrSchema *orr_wire_decode_schema (GBytes *payload, GError **error);
gboolean orr_wire_decode_batch   (GBytes *payload, OrrWireBatch *out, GError **error);
char    *orr_wire_decode_string  (GBytes *payload, GError **error);
char   **orr_wire_decode_strings (GBytes *payload, guint n, GError **error);
GPtrArray *orr_wire_decode_params (GBytes *payload, GError **error);
gboolean orr_wire_decode_error   (GBytes *payload, OrrWireError *out, GError **error);
gboolean orr_wire_decode_i32s    (GBytes *payload, gint32 *values, guint n, GError **error);
gboolean orr_wire_decode_u64     (GBytes *payload, guint64 *value, GError **error);
gboolean orr_wire_decode_i64s    (GBytes *payload, gint64 *values, guint n, GError **error);

#define ORR_WIRE_EXITED_N_VALUES 7

/* Parses a frame header. Returns FALSE with a protocol error if it is not one. */
gboolean orr_wire_parse_header   (const guint8 header[ORR_WIRE_HEADER_SIZE],
                                  OrrWireType *type,
                                  guint32     *payload_len,
                                  guint32     *n_fds,
                                  GError     **error);

/* ---- socket I/O (blocking; use poll() first to avoid blocking) -------- */

/* Sends one frame; @fd is -1 or a descriptor to pass (not closed). */
gboolean orr_wire_send (int          sock,
                        OrrWireType  type,
                        GBytes      *payload,
                        int          fd,
                        GError     **error);
/* Receives one frame. Returns NULL with an error on EOF (ORR_ERROR_SATELLITE,
 * "connection closed"), on a malformed frame (ORR_ERROR_PROTOCOL) or I/O error. */
OrrWireMessage *orr_wire_recv (int      sock,
                               GError **error);

/* Decodes one frame from a byte buffer (for the fuzzer and tests). */
OrrWireMessage *orr_wire_parse_frame (const guint8 *data,
                                      gsize         len,
                                      gsize        *consumed,
                                      GError      **error);

G_END_DECLS
