/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "orr-connection.h"

G_BEGIN_DECLS

enum {
  EXIT_OK = 0,
  EXIT_JOB_FAILED = 1,   /* the job or the requested change failed */
  EXIT_USAGE = 2,
  EXIT_CONNECTION = 3,
};

typedef enum {
  FORMAT_TABLE,
  FORMAT_CSV,
  FORMAT_JSON,
} Format;

extern const GOptionEntry global_entries[];

void           print_error     (const char *message);
int            usage_error     (GOptionContext *context,
                                const char     *message);
gboolean       parse_format    (const char  *text,
                                Format      *format,
                                GError     **error);
OrrConnection *open_connection (GError **error);
/* Whether the user named a database (--dsn, --connection or $ORRERY_DSN). */
gboolean       connection_requested (void);
void           print_csv       (OrrSchema *schema,
                                GPtrArray *batches);
void           print_json      (OrrSchema *schema,
                                GPtrArray *batches);
void           print_table     (OrrSchema *schema,
                                GPtrArray *batches,
                                guint64    rows);

/* T-SQL batches: EXEC sp_execute_external_script … (orrery-exec.c). */
int cmd_exec        (int argc, char **argv);
/* Governance commands (orrery-governance.c). */
int cmd_enable      (int argc, char **argv);
int cmd_disable     (int argc, char **argv);
int cmd_grant       (int argc, char **argv);
int cmd_revoke      (int argc, char **argv);
int cmd_permissions (int argc, char **argv);
int cmd_pool        (int argc, char **argv);
int cmd_log         (int argc, char **argv);
/* Monitoring commands (orrery-jobs.c). */
int cmd_jobs        (int argc, char **argv);
int cmd_pools       (int argc, char **argv);
/* Cross-process cancel (orrery-cancel.c). */
int cmd_cancel      (int argc, char **argv);
/* Lines of `orrery status` about the catalog. */
void print_catalog_status (OrrConnection *connection);

G_END_DECLS
