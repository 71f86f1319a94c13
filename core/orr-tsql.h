/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-batch.h"
#include "orr-connection.h"
#include "orr-engine.h"

G_BEGIN_DECLS

/*
 * T-SQL batches as SQL Server Machine Learning Services users write them:
 * DECLARE/SET variables, PRINT, SELECT of variables and constants, and
 * EXEC sp_execute_external_script with its named arguments, script
 * parameters and WITH RESULT SETS; GO separates batches. The query in
 * @input_data_1 goes to the target database as written; nothing else of the
 * batch does.
 */

/**
 * OrrTsqlMessage:
 * An error (or a PRINT-level notice) as SQL Server reports it:
 * "Msg 102, Level 15, State 1, Line 3" then the text.
 */
typedef struct {
  int number;        /* SQL Server's message number; 0: Orrery's own, SQL Server has none */
  int level;         /* severity: 15 syntax errors, 16 other errors */
  int state;
  int line;          /* in the batch, from 1, as SQL Server counts (the batch's first line is 1) */
  char *procedure;   /* the procedure that raised it, or NULL */
  char *text;
} OrrTsqlMessage;

OrrTsqlMessage *orr_tsql_message_copy   (const OrrTsqlMessage *message);
void            orr_tsql_message_free   (OrrTsqlMessage *message);
/* "Msg N, Level L, State S[, Procedure P], Line X\ntext" (no final newline). */
char           *orr_tsql_message_format (const OrrTsqlMessage *message) G_GNUC_WARN_UNUSED_RESULT;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrTsqlMessage, orr_tsql_message_free)

/* ---- parsing ----------------------------------------------------------- */

typedef struct _OrrTsqlBatch OrrTsqlBatch;

/* Splits @text (@len bytes, or -1 for a NUL-terminated string) at its GO
 * lines and parses each batch. Never fails: a batch that does not parse
 * carries its error (orr_tsql_batch_get_error), as SQL Server compiles and
 * refuses one batch and goes on with the next. Returns OrrTsqlBatch. */
GPtrArray            *orr_tsql_parse_script     (const char *text,
                                                 gssize      len);
void                  orr_tsql_batch_free       (OrrTsqlBatch *batch);
const OrrTsqlMessage *orr_tsql_batch_get_error  (OrrTsqlBatch *batch);
/* Line of the input where the batch starts, from 1. */
int                   orr_tsql_batch_get_first_line (OrrTsqlBatch *batch);
/* "GO 3" runs the batch before it three times. */
guint                 orr_tsql_batch_get_repeat (OrrTsqlBatch *batch);
/* One canonical line per statement, for tests and debugging. */
char                 *orr_tsql_batch_describe   (OrrTsqlBatch *batch) G_GNUC_WARN_UNUSED_RESULT;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrTsqlBatch, orr_tsql_batch_free)

/* ---- running ----------------------------------------------------------- */

typedef enum {
  ORR_TSQL_OUTPUT_PRINT,    /* PRINT, and informational lines such as sp_configure's */
  ORR_TSQL_OUTPUT_STDOUT,   /* the script's stdout (after the "STDOUT message(s)…" heading) */
  ORR_TSQL_OUTPUT_STDERR,
  ORR_TSQL_OUTPUT_NOTICE,   /* Orrery's remarks: an ignored option, the engine's own messages */
} OrrTsqlOutputKind;

/**
 * OrrTsqlHandler:
 * Receives what a batch produces, in order. @output gets text as it comes
 * (script output in pieces, PRINT as one line without its newline);
 * @message gets each error; @result gets each result set (columns without
 * a name, as sp_execute_external_script returns them without WITH RESULT
 * SETS, are called "(No column name)", SSMS's way). Any may be NULL.
 */
typedef struct {
  void (*output)  (OrrTsqlOutputKind     kind,
                   const char           *text,
                   gpointer              user_data);
  void (*message) (const OrrTsqlMessage *message,
                   gpointer              user_data);
  void (*result)  (OrrSchema            *schema,
                   GPtrArray            *batches,
                   guint64               n_rows,
                   gpointer              user_data);
} OrrTsqlHandler;

#define ORR_TSQL_NO_COLUMN_NAME "(No column name)"

#define ORR_TYPE_TSQL_SESSION (orr_tsql_session_get_type ())
G_DECLARE_FINAL_TYPE (OrrTsqlSession, orr_tsql_session, ORR, TSQL_SESSION, GObject)

OrrTsqlSession *orr_tsql_session_new         (OrrEngine     *engine,
                                              OrrConnection *connection);
/* Wall-clock limit of each script run, 0 (default): the pool's only. */
void            orr_tsql_session_set_timeout (OrrTsqlSession *self,
                                              guint           timeout_ms);
/* Runs every batch of @text in order and reports to @handler. Blocking: it
 * iterates the thread-default main context while a script runs (the jobs'
 * signals arrive there). Returns FALSE if any error was reported. */
gboolean        orr_tsql_session_run         (OrrTsqlSession       *self,
                                              const char           *text,
                                              gssize                len,
                                              const OrrTsqlHandler *handler,
                                              gpointer              user_data);
/* Thread-safe: cancels the running script and stops the batches. */
void            orr_tsql_session_cancel      (OrrTsqlSession *self);

G_END_DECLS
