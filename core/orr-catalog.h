/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "orr-connection.h"
#include "orr-limits.h"

G_BEGIN_DECLS

/**
 * OrrCatalog:
 * Orrery's governance catalog, kept in the target database itself (as SQL
 * Server keeps its settings in the engine): the "external scripts enabled"
 * setting, grants of the EXECUTE ANY EXTERNAL SCRIPT permission, resource
 * pools and their members, and the job log. Protected by the database's own
 * permissions. All calls block: use them from a worker thread.
 */
#define ORR_TYPE_CATALOG (orr_catalog_get_type ())
G_DECLARE_FINAL_TYPE (OrrCatalog, orr_catalog, ORR, CATALOG, GObject)

#define ORR_CATALOG_VERSION 1
#define ORR_PERMISSION_NAME "EXECUTE ANY EXTERNAL SCRIPT"

typedef enum {
  ORR_OUTCOME_SUCCEEDED,
  ORR_OUTCOME_FAILED,
  ORR_OUTCOME_CANCELLED,
  ORR_OUTCOME_KILLED,
  ORR_OUTCOME_REJECTED,
} OrrOutcome;

const char *orr_outcome_to_string (OrrOutcome outcome);

typedef struct {
  char *pool;
  char *principal;
  gint64 started_at;      /* µs since the epoch, UTC */
  gint64 ended_at;
  OrrOutcome outcome;
  char *error_text;
  char *script;
  char *input_query;
  guint64 rows_in;
  guint64 rows_out;
  double cpu_seconds;
  gint64 peak_memory_bytes;
  gint64 bytes_read;
  gint64 bytes_written;
} OrrJobRecord;

void orr_job_record_clear (OrrJobRecord *record);

OrrCatalog  *orr_catalog_new              (OrrConnection *connection);
OrrConnection *orr_catalog_get_connection (OrrCatalog *self);

/* The connection's principal, as the database says (current_user; the OS
 * user on SQLite), and whether it administers the catalog. */
const char  *orr_catalog_get_principal    (OrrCatalog  *self,
                                           GError     **error);
gboolean     orr_catalog_is_admin         (OrrCatalog  *self,
                                           GError     **error);
/* 0 when the catalog is not installed. */
int          orr_catalog_get_version      (OrrCatalog  *self,
                                           GError     **error);
gboolean     orr_catalog_is_enabled       (OrrCatalog  *self,
                                           GError     **error);

/* Installs or migrates the catalog when needed, then sets the switch. */
gboolean     orr_catalog_enable           (OrrCatalog  *self,
                                           GError     **error);
gboolean     orr_catalog_disable          (OrrCatalog  *self,
                                           GError     **error);

gboolean     orr_catalog_grant            (OrrCatalog  *self,
                                           const char  *principal,
                                           GError     **error);
gboolean     orr_catalog_revoke           (OrrCatalog  *self,
                                           const char  *principal,
                                           GError     **error);
/* Principals with their grant state: columns principal, kind, granted,
 * through, granted_by, granted_at. */
OrrCursor   *orr_catalog_list_permissions (OrrCatalog  *self,
                                           GError     **error);

/* Pools. A NULL/0 field of @limits in alter leaves it as it is; in create
 * it means no limit. */
gboolean     orr_catalog_create_pool      (OrrCatalog       *self,
                                           const OrrLimits  *limits,
                                           GError          **error);
gboolean     orr_catalog_alter_pool       (OrrCatalog       *self,
                                           const OrrLimits  *limits,
                                           GError          **error);
gboolean     orr_catalog_drop_pool        (OrrCatalog  *self,
                                           const char  *name,
                                           GError     **error);
gboolean     orr_catalog_assign_pool      (OrrCatalog  *self,
                                           const char  *principal,
                                           const char  *pool,
                                           GError     **error);
OrrCursor   *orr_catalog_list_pools       (OrrCatalog  *self,
                                           GError     **error);
/* Limits of @name; NULL with an error when there is no such pool. */
OrrLimits   *orr_catalog_get_pool         (OrrCatalog  *self,
                                           const char  *name,
                                           GError     **error);

/* The database's identity on this host, for pool slots shared between processes. */
char        *orr_catalog_dup_scope        (OrrCatalog  *self) G_GNUC_WARN_UNUSED_RESULT;

/* Admission: the feature is enabled and the principal holds the permission
 * (or administers). Returns the limits of the principal's pool. */
OrrLimits   *orr_catalog_admit            (OrrCatalog  *self,
                                           GError     **error);

gboolean     orr_catalog_log_job          (OrrCatalog         *self,
                                           const OrrJobRecord *record,
                                           GError            **error);
OrrCursor   *orr_catalog_list_log         (OrrCatalog  *self,
                                           const char  *principal,
                                           const char  *outcome,
                                           guint        limit,
                                           GError     **error);

G_END_DECLS
