/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-catalog"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-error.h"
#include "orr-wire.h"

typedef enum {
  DIALECT_GENERIC,
  DIALECT_POSTGRESQL,
  DIALECT_SQLITE,
  DIALECT_MYSQL,
} Dialect;

struct _OrrCatalog {
  GObject parent_instance;

  OrrConnection *connection;
  Dialect dialect;
  char *principal;
  int is_admin;       /* -1 unknown */
};

G_DEFINE_FINAL_TYPE (OrrCatalog, orr_catalog, G_TYPE_OBJECT)

static const char * const outcome_names[] = {
  [ORR_OUTCOME_SUCCEEDED] = "succeeded",
  [ORR_OUTCOME_FAILED] = "failed",
  [ORR_OUTCOME_CANCELLED] = "cancelled",
  [ORR_OUTCOME_KILLED] = "killed",
  [ORR_OUTCOME_REJECTED] = "rejected",
};

const char *
orr_outcome_to_string (OrrOutcome outcome)
{
  if ((guint) outcome >= G_N_ELEMENTS (outcome_names))
    return "unknown";
  return outcome_names[outcome];
}

void
orr_job_record_clear (OrrJobRecord *record)
{
  g_clear_pointer (&record->pool, g_free);
  g_clear_pointer (&record->principal, g_free);
  g_clear_pointer (&record->error_text, g_free);
  g_clear_pointer (&record->script, g_free);
  g_clear_pointer (&record->input_query, g_free);
}

static void
orr_catalog_finalize (GObject *object)
{
  OrrCatalog *self = ORR_CATALOG (object);

  g_clear_object (&self->connection);
  g_free (self->principal);
  G_OBJECT_CLASS (orr_catalog_parent_class)->finalize (object);
}

static void
orr_catalog_class_init (OrrCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_catalog_finalize;
}

static void
orr_catalog_init (OrrCatalog *self)
{
  self->is_admin = -1;
}

OrrCatalog *
orr_catalog_new (OrrConnection *connection)
{
  OrrCatalog *self;
  const char *dbms;

  g_return_val_if_fail (ORR_IS_CONNECTION (connection), NULL);

  self = g_object_new (ORR_TYPE_CATALOG, NULL);
  self->connection = g_object_ref (connection);
  dbms = orr_connection_get_dbms_name (connection);
  dbms = dbms ? dbms : "";
  if (strstr (dbms, "PostgreSQL"))
    self->dialect = DIALECT_POSTGRESQL;
  else if (strstr (dbms, "SQLite"))
    self->dialect = DIALECT_SQLITE;
  else if (strstr (dbms, "MySQL") || strstr (dbms, "MariaDB"))
    self->dialect = DIALECT_MYSQL;
  else
    self->dialect = DIALECT_GENERIC;
  return self;
}

OrrConnection *
orr_catalog_get_connection (OrrCatalog *self)
{
  return self->connection;
}

/* ------------------------------------------------------------ helpers */

static GPtrArray *
params_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
}

static void
add_text (GPtrArray *params, const char *text)
{
  OrrValue v = { .type = ORR_DATA_TYPE_TEXT, .is_null = text == NULL };

  if (text)
    v.bytes = g_bytes_new (text, strlen (text));
  /* OrrParam wraps the value; only the value is bound. */
  g_ptr_array_add (params, orr_param_new ("p", 0, &v));
  orr_value_clear (&v);
}

static void
add_int (GPtrArray *params, gint64 value, gboolean is_null)
{
  OrrValue v = { .type = ORR_DATA_TYPE_INT64, .is_null = is_null, .v.i = value };

  g_ptr_array_add (params, orr_param_new ("p", 0, &v));
}

static void
add_float (GPtrArray *params, double value, gboolean is_null)
{
  OrrValue v = { .type = ORR_DATA_TYPE_FLOAT64, .is_null = is_null, .v.f = value };

  g_ptr_array_add (params, orr_param_new ("p", 0, &v));
}

static void
add_timestamp (GPtrArray *params, gint64 us)
{
  OrrValue v = { .type = ORR_DATA_TYPE_TIMESTAMP, .is_null = us == 0, .v.i = us };

  g_ptr_array_add (params, orr_param_new ("p", 0, &v));
}

/* The values of OrrParam, as orr_connection_execute_params() binds them. */
static GPtrArray *
values_of (GPtrArray *params)
{
  GPtrArray *values = g_ptr_array_new ();

  for (guint i = 0; params && i < params->len; i++)
    g_ptr_array_add (values, &((OrrParam *) g_ptr_array_index (params, i))->value);
  return values;
}

static OrrCursor *
query (OrrCatalog *self, const char *sql, GPtrArray *params, GError **error)
{
  g_autoptr(GPtrArray) values = values_of (params);

  return orr_connection_execute_params (self->connection, sql, values, NULL, error);
}

static gboolean
exec (OrrCatalog *self, const char *sql, GPtrArray *params, GError **error)
{
  g_autoptr(OrrCursor) cursor = query (self, sql, params, error);

  return cursor != NULL;
}

/* First column of the first row as text; NULL for no row or SQL NULL
 * (then *@found tells which). */
static char *
query_value (OrrCatalog *self, const char *sql, GPtrArray *params, gboolean *found, GError **error)
{
  g_autoptr(OrrCursor) cursor = query (self, sql, params, error);
  g_autoptr(OrrBatch) batch = NULL;

  if (found)
    *found = FALSE;
  if (cursor == NULL)
    return NULL;
  batch = orr_cursor_fetch (cursor, FALSE, NULL, error);
  if (batch == NULL)
    return NULL;
  if (found)
    *found = TRUE;
  return orr_batch_format_value (batch, 0, 0);
}

static gboolean
is_true (const char *text)
{
  return text && (g_str_equal (text, "1") || g_ascii_strcasecmp (text, "true") == 0 ||
                  g_ascii_strcasecmp (text, "t") == 0);
}

/* ------------------------------------------------------------ identity */

static char *
sqlite_file (OrrCatalog *self, GError **error)
{
  g_autoptr(OrrCursor) cursor = query (self, "PRAGMA database_list", NULL, error);
  g_autoptr(OrrBatch) batch = NULL;

  if (cursor == NULL)
    return NULL;
  batch = orr_cursor_fetch (cursor, FALSE, NULL, error);
  if (batch == NULL || orr_batch_get_n_columns (batch) < 3)
    return NULL;
  return orr_batch_format_value (batch, 2, 0);
}

const char *
orr_catalog_get_principal (OrrCatalog  *self,
                           GError     **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (ORR_IS_CATALOG (self), NULL);

  if (self->principal)
    return self->principal;
  switch (self->dialect)
    {
    case DIALECT_POSTGRESQL:
      name = query_value (self, "SELECT CAST(current_user AS varchar(128))", NULL, NULL, error);
      break;
    case DIALECT_MYSQL:
      name = query_value (self, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)", NULL, NULL, error);
      break;
    case DIALECT_SQLITE:
      /* SQLite has no logins: the principal is the operating system's user. */
      name = g_strdup (g_get_user_name ());
      break;
    case DIALECT_GENERIC:
    default:
      name = query_value (self, "SELECT CURRENT_USER", NULL, NULL, NULL);
      if (name == NULL)
        name = g_strdup (g_get_user_name ());
      break;
    }
  if (name == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC, _("The database did not say who the current user is"));
      return NULL;
    }
  self->principal = g_steal_pointer (&name);
  return self->principal;
}

gboolean
orr_catalog_is_admin (OrrCatalog  *self,
                      GError     **error)
{
  g_autofree char *value = NULL;

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (self->is_admin >= 0)
    return self->is_admin;
  switch (self->dialect)
    {
    case DIALECT_POSTGRESQL:
      value = query_value (self,
                           "SELECT r.rolsuper"
                           " OR EXISTS (SELECT 1 FROM pg_roles a WHERE a.rolname = 'orrery_admin'"
                           "            AND pg_has_role(current_user, a.oid, 'MEMBER'))"
                           " OR r.rolname = (SELECT pg_get_userbyid(datdba) FROM pg_database"
                           "                 WHERE datname = current_database())"
                           " FROM pg_roles r WHERE r.rolname = current_user", NULL, NULL, error);
      if (value == NULL && error && *error)
        return FALSE;
      self->is_admin = is_true (value);
      break;
    case DIALECT_MYSQL:
      value = query_value (self,
                           "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES"
                           " WHERE GRANTEE = CONCAT('''', REPLACE(CURRENT_USER(), '@', '''@'''), '''')"
                           " AND PRIVILEGE_TYPE IN ('SUPER', 'CREATE USER')", NULL, NULL, error);
      if (value == NULL && error && *error)
        return FALSE;
      self->is_admin = value && !g_str_equal (value, "0");
      break;
    case DIALECT_SQLITE:
      {
        /* The database's own protection is its file's: its owner administers. */
        g_autofree char *file = sqlite_file (self, error);
        struct stat st;

        if (file == NULL && error && *error)
          return FALSE;
        self->is_admin = geteuid () == 0 ||
                         (file && *file && stat (file, &st) == 0 && st.st_uid == geteuid ());
      }
      break;
    case DIALECT_GENERIC:
    default:
      self->is_admin = TRUE;
      break;
    }
  return self->is_admin;
}

/* ------------------------------------------------------------ schema */

typedef struct {
  const char *name;
  const char *timestamp;
  const char *long_text;
  const char *double_type;
  const char *identity;
  const char *now;
} DialectTypes;

static const DialectTypes dialect_types[] = {
  [DIALECT_GENERIC] = { "generic", "TIMESTAMP", "VARCHAR(4000)", "DOUBLE PRECISION",
                        "BIGINT NOT NULL PRIMARY KEY", "CURRENT_TIMESTAMP" },
  [DIALECT_POSTGRESQL] = { "PostgreSQL", "TIMESTAMP", "TEXT", "DOUBLE PRECISION",
                           "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "(now() AT TIME ZONE 'UTC')" },
  [DIALECT_SQLITE] = { "SQLite", "TIMESTAMP", "TEXT", "DOUBLE", "INTEGER PRIMARY KEY AUTOINCREMENT",
                       "strftime('%Y-%m-%d %H:%M:%f', 'now')" },
  [DIALECT_MYSQL] = { "MySQL", "DATETIME(6)", "LONGTEXT", "DOUBLE", "BIGINT AUTO_INCREMENT PRIMARY KEY",
                      "UTC_TIMESTAMP(6)" },
};

static const char * const catalog_tables[] = {
  "orrery_catalog_version", "orrery_settings", "orrery_grants", "orrery_pools",
  "orrery_pool_members", "orrery_job_log",
};

/* The statements of migration 1, for @dialect. */
static GPtrArray *
migration_1 (Dialect dialect)
{
  const DialectTypes *t = &dialect_types[dialect];
  GPtrArray *sql = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (sql, g_strdup ("CREATE TABLE orrery_catalog_version (version INTEGER NOT NULL)"));
  g_ptr_array_add (sql, g_strdup ("CREATE TABLE orrery_settings (name VARCHAR(64) NOT NULL PRIMARY KEY,"
                                  " value VARCHAR(256) NOT NULL)"));
  g_ptr_array_add (sql, g_strdup_printf ("CREATE TABLE orrery_grants (principal VARCHAR(128) NOT NULL PRIMARY KEY,"
                                         " granted_by VARCHAR(128) NOT NULL, granted_at %s NOT NULL)", t->timestamp));
  g_ptr_array_add (sql, g_strdup_printf ("CREATE TABLE orrery_pools (name VARCHAR(128) NOT NULL PRIMARY KEY,"
                                         " max_cpu_percent INTEGER, max_memory_mb BIGINT, max_processes INTEGER,"
                                         " cpus VARCHAR(256), timeout_s %s)", t->double_type));
  g_ptr_array_add (sql, g_strdup ("CREATE TABLE orrery_pool_members (principal VARCHAR(128) NOT NULL PRIMARY KEY,"
                                  " pool VARCHAR(128) NOT NULL REFERENCES orrery_pools (name))"));
  g_ptr_array_add (sql, g_strdup_printf ("CREATE TABLE orrery_job_log (id %s,"
                                         " principal VARCHAR(128) NOT NULL, pool VARCHAR(128) NOT NULL,"
                                         " started_at %s NOT NULL, ended_at %s NOT NULL,"
                                         " outcome VARCHAR(16) NOT NULL, error_text %s,"
                                         " script_sha256 CHAR(64) NOT NULL, script_text %s NOT NULL,"
                                         " input_query %s, rows_in BIGINT NOT NULL, rows_out BIGINT NOT NULL,"
                                         " cpu_seconds %s, peak_memory_bytes BIGINT,"
                                         " bytes_read BIGINT, bytes_written BIGINT)",
                                         t->identity, t->timestamp, t->timestamp, t->long_text, t->long_text,
                                         t->long_text, t->double_type));
  g_ptr_array_add (sql, g_strdup ("INSERT INTO orrery_pools (name) VALUES ('default')"));
  g_ptr_array_add (sql, g_strdup ("INSERT INTO orrery_settings (name, value) VALUES ('external_scripts_enabled', '0')"));

  if (dialect == DIALECT_POSTGRESQL)
    {
      /* The catalog belongs to orrery_admin; everyone may read what applies
       * to them (row-level security) and log their own jobs, nothing more. */
      const char *visible =
        "principal IN (SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER'))"
        " OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orrery_admin'"
        "            AND pg_has_role(current_user, oid, 'MEMBER'))";

      g_ptr_array_insert (sql, 0, g_strdup ("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orrery_admin')"
                                            " THEN CREATE ROLE orrery_admin NOLOGIN; END IF; END$$"));
      for (guint i = 0; i < G_N_ELEMENTS (catalog_tables); i++)
        {
          g_ptr_array_add (sql, g_strdup_printf ("ALTER TABLE %s OWNER TO orrery_admin", catalog_tables[i]));
          g_ptr_array_add (sql, g_strdup_printf ("REVOKE ALL ON %s FROM PUBLIC", catalog_tables[i]));
          g_ptr_array_add (sql, g_strdup_printf ("GRANT SELECT ON %s TO PUBLIC", catalog_tables[i]));
        }
      g_ptr_array_add (sql, g_strdup ("GRANT INSERT ON orrery_job_log TO PUBLIC"));
      for (guint i = 2; i < G_N_ELEMENTS (catalog_tables); i++)
        {
          const char *table = catalog_tables[i];

          if (g_str_equal (table, "orrery_pools"))
            continue;
          g_ptr_array_add (sql, g_strdup_printf ("ALTER TABLE %s ENABLE ROW LEVEL SECURITY", table));
          g_ptr_array_add (sql, g_strdup_printf ("CREATE POLICY %s_admin ON %s FOR ALL TO orrery_admin"
                                                 " USING (true) WITH CHECK (true)", table, table));
          if (g_str_equal (table, "orrery_job_log"))
            {
              g_ptr_array_add (sql, g_strdup ("CREATE POLICY orrery_job_log_read ON orrery_job_log FOR SELECT"
                                              " USING (principal = current_user)"));
              g_ptr_array_add (sql, g_strdup ("CREATE POLICY orrery_job_log_own ON orrery_job_log FOR INSERT"
                                              " WITH CHECK (principal = current_user)"));
            }
          else
            g_ptr_array_add (sql, g_strdup_printf ("CREATE POLICY %s_read ON %s FOR SELECT USING (%s)",
                                                   table, table, visible));
        }
    }
  g_ptr_array_add (sql, g_strdup ("INSERT INTO orrery_catalog_version (version) VALUES (1)"));
  return sql;
}

int
orr_catalog_get_version (OrrCatalog  *self,
                         GError     **error)
{
  g_autofree char *value = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (ORR_IS_CATALOG (self), -1);

  value = query_value (self, "SELECT MAX(version) FROM orrery_catalog_version", NULL, NULL, &local);
  if (local)
    {
      /* No table, no catalog: anything else is a real error. */
      if (strstr (local->message, "42P01") || strstr (local->message, "42S02") ||
          strstr (local->message, "no such table") || strstr (local->message, "doesn't exist"))
        return 0;
      g_propagate_error (error, g_steal_pointer (&local));
      return -1;
    }
  return value ? atoi (value) : 0;
}

static gboolean
require_admin (OrrCatalog *self, const char *what, GError **error)
{
  const char *principal = orr_catalog_get_principal (self, error);

  if (principal == NULL)
    return FALSE;
  if (!orr_catalog_is_admin (self, error))
    {
      if (error && *error)
        return FALSE;
      g_set_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED,
                   self->dialect == DIALECT_POSTGRESQL
                   ? _("Only an administrator can %s; “%s” is not one (a superuser, the database owner or a member of orrery_admin)")
                   : self->dialect == DIALECT_SQLITE
                   ? _("Only an administrator can %s; “%s” is not one (on SQLite: the owner of the database file)")
                   : _("Only an administrator can %s; “%s” is not one"),
                   what, principal);
      return FALSE;
    }
  return TRUE;
}

static gboolean
require_catalog (OrrCatalog *self, GError **error)
{
  int version = orr_catalog_get_version (self, error);

  if (version < 0)
    return FALSE;
  if (version == 0)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_DISABLED,
                   _("Orrery is not set up in this database; an administrator can set it up with “orrery enable”"));
      return FALSE;
    }
  if (version > ORR_CATALOG_VERSION)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_UNSUPPORTED,
                   _("This database's Orrery catalog is version %d, newer than this Orrery understands (%d); upgrade Orrery"),
                   version, ORR_CATALOG_VERSION);
      return FALSE;
    }
  return TRUE;
}

static gboolean
install (OrrCatalog *self, int from_version, GError **error)
{
  g_autoptr(GPtrArray) statements = NULL;

  if (from_version >= ORR_CATALOG_VERSION)
    return TRUE;
  /* Forward migrations, each in its own transaction (DDL is transactional
   * on PostgreSQL and SQLite; MySQL commits DDL as it goes). */
  statements = migration_1 (self->dialect);
  if (!orr_connection_begin (self->connection, error))
    return FALSE;
  for (guint i = 0; i < statements->len; i++)
    if (!exec (self, g_ptr_array_index (statements, i), NULL, error))
      {
        g_prefix_error (error, _("Setting up the Orrery catalog failed: "));
        orr_connection_end (self->connection, FALSE, NULL);
        return FALSE;
      }
  return orr_connection_end (self->connection, TRUE, error);
}

static gboolean
set_enabled (OrrCatalog *self, gboolean enabled, GError **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  int version;

  if (!require_admin (self, enabled ? _("enable external scripts") : _("disable external scripts"), error))
    return FALSE;
  version = orr_catalog_get_version (self, error);
  if (version < 0)
    return FALSE;
  if (!enabled && version == 0)
    return TRUE;
  if (!install (self, version, error))
    return FALSE;
  add_text (params, enabled ? "1" : "0");
  return exec (self, "UPDATE orrery_settings SET value = ? WHERE name = 'external_scripts_enabled'", params, error);
}

gboolean
orr_catalog_enable (OrrCatalog  *self,
                    GError     **error)
{
  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);
  return set_enabled (self, TRUE, error);
}

gboolean
orr_catalog_disable (OrrCatalog  *self,
                     GError     **error)
{
  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);
  return set_enabled (self, FALSE, error);
}

gboolean
orr_catalog_is_enabled (OrrCatalog  *self,
                        GError     **error)
{
  g_autofree char *value = NULL;
  int version = orr_catalog_get_version (self, error);

  if (version <= 0)
    return FALSE;
  value = query_value (self, "SELECT value FROM orrery_settings WHERE name = 'external_scripts_enabled'",
                       NULL, NULL, error);
  return is_true (value);
}

/* ------------------------------------------------------------ grants */

static gboolean
principal_exists (OrrCatalog *self, const char *principal, GError **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  gboolean found = FALSE;
  g_autofree char *value = NULL;

  switch (self->dialect)
    {
    case DIALECT_POSTGRESQL:
      add_text (params, principal);
      value = query_value (self, "SELECT rolname FROM pg_roles WHERE rolname = ?", params, &found, error);
      return found;
    case DIALECT_MYSQL:
      add_text (params, principal);
      value = query_value (self, "SELECT User FROM mysql.user WHERE User = ?", params, &found, error);
      return found;
    case DIALECT_SQLITE:
      return getpwnam (principal) != NULL;
    case DIALECT_GENERIC:
    default:
      return TRUE;
    }
}

static gboolean
check_principal (OrrCatalog *self, const char *principal, GError **error)
{
  if (principal == NULL || *principal == '\0' || strlen (principal) > 128 ||
      !g_utf8_validate (principal, -1, NULL))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT, _("“%s” is not a valid principal name"),
                   principal ? principal : "");
      return FALSE;
    }
  if (!principal_exists (self, principal, error))
    {
      if (error && *error)
        return FALSE;
      g_set_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND,
                   self->dialect == DIALECT_SQLITE
                   ? _("There is no operating system user “%s” (on SQLite, principals are the system's users)")
                   : _("There is no login or role “%s” in this database"),
                   principal);
      return FALSE;
    }
  return TRUE;
}

gboolean
orr_catalog_grant (OrrCatalog  *self,
                   const char  *principal,
                   GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autofree char *sql = NULL;
  gboolean found = FALSE;
  g_autofree char *existing = NULL;

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("grant permissions"), error) ||
      !check_principal (self, principal, error))
    return FALSE;
  add_text (params, principal);
  existing = query_value (self, "SELECT principal FROM orrery_grants WHERE principal = ?", params, &found, error);
  if (error && *error)
    return FALSE;
  if (found)
    return TRUE;
  g_ptr_array_set_size (params, 0);
  add_text (params, principal);
  add_text (params, orr_catalog_get_principal (self, NULL));
  sql = g_strdup_printf ("INSERT INTO orrery_grants (principal, granted_by, granted_at) VALUES (?, ?, %s)",
                         dialect_types[self->dialect].now);
  return exec (self, sql, params, error);
}

gboolean
orr_catalog_revoke (OrrCatalog  *self,
                    const char  *principal,
                    GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("revoke permissions"), error))
    return FALSE;
  add_text (params, principal);
  return exec (self, "DELETE FROM orrery_grants WHERE principal = ?", params, error);
}

OrrCursor *
orr_catalog_list_permissions (OrrCatalog  *self,
                              GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), NULL);

  if (!require_catalog (self, error))
    return NULL;
  if (self->dialect == DIALECT_POSTGRESQL)
    return query (self,
                  "SELECT CAST(r.rolname AS varchar(128)) AS principal,"
                  " CAST(CASE WHEN r.rolsuper THEN 'superuser' WHEN r.rolcanlogin THEN 'login' ELSE 'role' END"
                  "   AS varchar(10)) AS kind,"
                  /* Superusers hold every permission and are members of every role, so
                   * "through" only lists real memberships of ordinary principals. */
                  " (r.rolsuper OR g.principal IS NOT NULL OR EXISTS (SELECT 1 FROM orrery_grants g2 JOIN pg_roles r2"
                  "   ON r2.rolname = g2.principal WHERE pg_has_role(r.oid, r2.oid, 'MEMBER'))) AS granted,"
                  " CAST((SELECT string_agg(g2.principal, ', ' ORDER BY g2.principal) FROM orrery_grants g2"
                  "   JOIN pg_roles r2 ON r2.rolname = g2.principal WHERE NOT r.rolsuper"
                  "   AND r2.oid <> r.oid AND pg_has_role(r.oid, r2.oid, 'MEMBER')) AS varchar(1024)) AS through,"
                  " CAST(g.granted_by AS varchar(128)) AS granted_by, g.granted_at"
                  " FROM pg_roles r LEFT JOIN orrery_grants g ON g.principal = r.rolname"
                  " WHERE r.rolname NOT LIKE 'pg\\_%' ORDER BY r.rolname", NULL, error);
  add_text (params, orr_catalog_get_principal (self, NULL));
  add_text (params, orr_catalog_get_principal (self, NULL));
  return query (self,
                "SELECT principal, 'user' AS kind, 1 AS granted, NULL AS through, granted_by, granted_at"
                " FROM orrery_grants"
                " UNION ALL SELECT ?, 'user', 0, NULL, NULL, NULL"
                " WHERE NOT EXISTS (SELECT 1 FROM orrery_grants WHERE principal = ?)"
                " ORDER BY 1", params, error);
}

/* ------------------------------------------------------------ pools */

static gboolean
check_pool_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0' || strlen (name) > 128 || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT, _("“%s” is not a valid pool name"), name ? name : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_limits (const OrrLimits *limits, GError **error)
{
  if (!check_pool_name (limits->pool, error))
    return FALSE;
  if (limits->max_cpu_percent > 100)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("The maximum CPU percent must be between 1 and 100, not %u"), limits->max_cpu_percent);
      return FALSE;
    }
  if (limits->cpus && !orr_cpu_list_parse (limits->cpus, NULL, error))
    return FALSE;
  return TRUE;
}

static gboolean
pool_exists (OrrCatalog *self, const char *name, GError **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autofree char *value = NULL;
  gboolean found = FALSE;

  add_text (params, name);
  value = query_value (self, "SELECT name FROM orrery_pools WHERE name = ?", params, &found, error);
  return found;
}

static gboolean
require_pool (OrrCatalog *self, const char *name, GError **error)
{
  if (pool_exists (self, name, error))
    return TRUE;
  if (error && *error)
    return FALSE;
  g_set_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND, _("There is no resource pool “%s”"), name);
  return FALSE;
}

static void
add_limits (GPtrArray *params, const OrrLimits *limits)
{
  add_int (params, limits->max_cpu_percent, limits->max_cpu_percent == 0);
  add_int (params, (gint64) (limits->max_memory_bytes / (1024 * 1024)), limits->max_memory_bytes == 0);
  add_int (params, limits->max_processes, limits->max_processes == 0);
  add_text (params, limits->cpus);
  add_float (params, limits->timeout_ms / 1000.0, limits->timeout_ms == 0);
}

gboolean
orr_catalog_create_pool (OrrCatalog       *self,
                         const OrrLimits  *limits,
                         GError          **error)
{
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("create resource pools"), error) ||
      !check_limits (limits, error))
    return FALSE;
  if (pool_exists (self, limits->pool, error))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("The resource pool “%s” already exists; change it with “orrery pool alter”"), limits->pool);
      return FALSE;
    }
  if (error && *error)
    return FALSE;
  add_text (params, limits->pool);
  add_limits (params, limits);
  return exec (self, "INSERT INTO orrery_pools (name, max_cpu_percent, max_memory_mb, max_processes, cpus, timeout_s)"
               " VALUES (?, ?, ?, ?, ?, ?)", params, error);
}

gboolean
orr_catalog_alter_pool (OrrCatalog       *self,
                        const OrrLimits  *limits,
                        GError          **error)
{
  g_autoptr(OrrLimits) current = NULL;
  g_autoptr(OrrLimits) merged = NULL;
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("alter resource pools"), error) ||
      !check_limits (limits, error))
    return FALSE;
  current = orr_catalog_get_pool (self, limits->pool, error);
  if (current == NULL)
    return FALSE;
  merged = orr_limits_copy (current);
  if (limits->max_cpu_percent)
    merged->max_cpu_percent = limits->max_cpu_percent;
  if (limits->max_memory_bytes)
    merged->max_memory_bytes = limits->max_memory_bytes;
  if (limits->max_processes)
    merged->max_processes = limits->max_processes;
  if (limits->cpus)
    {
      g_free (merged->cpus);
      merged->cpus = g_strdup (limits->cpus);
    }
  if (limits->timeout_ms)
    merged->timeout_ms = limits->timeout_ms;
  add_limits (params, merged);
  add_text (params, limits->pool);
  return exec (self, "UPDATE orrery_pools SET max_cpu_percent = ?, max_memory_mb = ?, max_processes = ?,"
               " cpus = ?, timeout_s = ? WHERE name = ?", params, error);
}

gboolean
orr_catalog_drop_pool (OrrCatalog  *self,
                       const char  *name,
                       GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("drop resource pools"), error) ||
      !check_pool_name (name, error))
    return FALSE;
  if (g_str_equal (name, "default"))
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("The “default” pool cannot be dropped: jobs of principals without a pool run in it"));
      return FALSE;
    }
  if (!require_pool (self, name, error))
    return FALSE;
  /* Its members go back to the default pool, in the same transaction. */
  if (!orr_connection_begin (self->connection, error))
    return FALSE;
  add_text (params, name);
  if (!exec (self, "DELETE FROM orrery_pool_members WHERE pool = ?", params, error) ||
      !exec (self, "DELETE FROM orrery_pools WHERE name = ?", params, error))
    {
      orr_connection_end (self->connection, FALSE, NULL);
      return FALSE;
    }
  return orr_connection_end (self->connection, TRUE, error);
}

gboolean
orr_catalog_assign_pool (OrrCatalog  *self,
                         const char  *principal,
                         const char  *pool,
                         GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  if (!require_catalog (self, error) || !require_admin (self, _("assign resource pools"), error) ||
      !check_principal (self, principal, error) || !check_pool_name (pool, error) ||
      !require_pool (self, pool, error))
    return FALSE;
  if (!orr_connection_begin (self->connection, error))
    return FALSE;
  add_text (params, principal);
  if (!exec (self, "DELETE FROM orrery_pool_members WHERE principal = ?", params, error))
    goto fail;
  if (!g_str_equal (pool, "default"))
    {
      add_text (params, pool);
      if (!exec (self, "INSERT INTO orrery_pool_members (principal, pool) VALUES (?, ?)", params, error))
        goto fail;
    }
  return orr_connection_end (self->connection, TRUE, error);

fail:
  orr_connection_end (self->connection, FALSE, NULL);
  return FALSE;
}

OrrCursor *
orr_catalog_list_pools (OrrCatalog  *self,
                        GError     **error)
{
  g_return_val_if_fail (ORR_IS_CATALOG (self), NULL);

  if (!require_catalog (self, error))
    return NULL;
  return query (self,
                "SELECT p.name, p.max_cpu_percent, p.max_memory_mb, p.max_processes, p.cpus, p.timeout_s,"
                " (SELECT COUNT(*) FROM orrery_pool_members m WHERE m.pool = p.name) AS members"
                " FROM orrery_pools p ORDER BY p.name", NULL, error);
}

OrrLimits *
orr_catalog_get_pool (OrrCatalog  *self,
                      const char  *name,
                      GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(OrrBatch) batch = NULL;
  g_autoptr(OrrLimits) limits = NULL;
  char *v;

  add_text (params, name);
  cursor = query (self, "SELECT max_cpu_percent, max_memory_mb, max_processes, cpus, timeout_s"
                  " FROM orrery_pools WHERE name = ?", params, error);
  if (cursor == NULL)
    return NULL;
  batch = orr_cursor_fetch (cursor, FALSE, NULL, error);
  if (batch == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, ORR_ERROR, ORR_ERROR_NOT_FOUND, _("There is no resource pool “%s”"), name);
      return NULL;
    }
  limits = orr_limits_new (name);
  if ((v = orr_batch_format_value (batch, 0, 0)))
    limits->max_cpu_percent = atoi (v);
  g_free (v);
  if ((v = orr_batch_format_value (batch, 1, 0)))
    limits->max_memory_bytes = g_ascii_strtoull (v, NULL, 10) * 1024 * 1024;
  g_free (v);
  if ((v = orr_batch_format_value (batch, 2, 0)))
    limits->max_processes = atoi (v);
  g_free (v);
  limits->cpus = orr_batch_format_value (batch, 3, 0);
  if ((v = orr_batch_format_value (batch, 4, 0)))
    limits->timeout_ms = (guint) (g_ascii_strtod (v, NULL) * 1000);
  g_free (v);
  return g_steal_pointer (&limits);
}

char *
orr_catalog_dup_scope (OrrCatalog *self)
{
  char *scope = NULL;

  switch (self->dialect)
    {
    case DIALECT_POSTGRESQL:
      scope = query_value (self, "SELECT CAST(current_database() || '@' || COALESCE(host(inet_server_addr()), 'local')"
                           " || ':' || COALESCE(inet_server_port(), 0) AS varchar(512))", NULL, NULL, NULL);
      break;
    case DIALECT_SQLITE:
      scope = sqlite_file (self, NULL);
      break;
    case DIALECT_MYSQL:
      scope = query_value (self, "SELECT CONCAT(DATABASE(), '@', @@hostname, ':', @@port)", NULL, NULL, NULL);
      break;
    case DIALECT_GENERIC:
    default:
      break;
    }
  if (scope == NULL || *scope == '\0')
    {
      g_free (scope);
      scope = orr_connection_dup_display_name (self->connection);
    }
  return scope;
}

/* ------------------------------------------------------------ admission */

OrrLimits *
orr_catalog_admit (OrrCatalog  *self,
                   GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(OrrBatch) batch = NULL;
  g_autofree char *enabled = NULL;
  g_autofree char *granted = NULL;
  g_autofree char *pool = NULL;
  const char *principal;
  int version;

  g_return_val_if_fail (ORR_IS_CATALOG (self), NULL);

  principal = orr_catalog_get_principal (self, error);
  if (principal == NULL)
    return NULL;
  version = orr_catalog_get_version (self, error);
  if (version < 0)
    return NULL;
  if (version == 0)
    goto disabled;

  if (self->dialect == DIALECT_POSTGRESQL)
    /* Real memberships, followed through pg_auth_members: pg_has_role()
     * says a superuser belongs to every role, which would put superusers in
     * whatever pool some role has. */
    cursor = query (self,
                    "WITH RECURSIVE member_of(oid) AS ("
                    "  SELECT oid FROM pg_roles WHERE rolname = current_user"
                    "  UNION SELECT am.roleid FROM pg_auth_members am JOIN member_of m ON am.member = m.oid)"
                    " SELECT (SELECT value FROM orrery_settings WHERE name = 'external_scripts_enabled'),"
                    " EXISTS (SELECT 1 FROM orrery_grants g JOIN pg_roles r ON r.rolname = g.principal"
                    "         JOIN member_of m ON m.oid = r.oid),"
                    " CAST(COALESCE((SELECT pool FROM orrery_pool_members WHERE principal = current_user),"
                    "  (SELECT pm.pool FROM orrery_pool_members pm JOIN pg_roles r ON r.rolname = pm.principal"
                    "   JOIN member_of m ON m.oid = r.oid ORDER BY pm.principal LIMIT 1),"
                    "  'default') AS varchar(128))", NULL, error);
  else
    {
      add_text (params, principal);
      add_text (params, principal);
      cursor = query (self,
                      "SELECT (SELECT value FROM orrery_settings WHERE name = 'external_scripts_enabled'),"
                      " (SELECT COUNT(*) FROM orrery_grants WHERE principal = ?),"
                      " COALESCE((SELECT pool FROM orrery_pool_members WHERE principal = ?), 'default')",
                      params, error);
    }
  if (cursor == NULL)
    return NULL;
  batch = orr_cursor_fetch (cursor, FALSE, NULL, error);
  if (batch == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, ORR_ERROR, ORR_ERROR_ODBC, _("Reading the Orrery catalog returned nothing"));
      return NULL;
    }
  enabled = orr_batch_format_value (batch, 0, 0);
  granted = orr_batch_format_value (batch, 1, 0);
  pool = orr_batch_format_value (batch, 2, 0);
  g_clear_pointer (&batch, orr_batch_unref);
  g_clear_object (&cursor);

  if (!is_true (enabled))
    goto disabled;
  if (!is_true (granted) && !(granted && atoi (granted) > 0))
    {
      gboolean admin = orr_catalog_is_admin (self, error);

      if (error && *error)
        return NULL;
      if (!admin)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_PERMISSION_DENIED,
                       _("The principal “%s” does not have the EXECUTE ANY EXTERNAL SCRIPT permission on this database; "
                         "an administrator can grant it with “orrery grant %s”"), principal, principal);
          return NULL;
        }
    }
  return orr_catalog_get_pool (self, pool ? pool : "default", error);

disabled:
  g_set_error (error, ORR_ERROR, ORR_ERROR_DISABLED,
               _("External scripts are disabled on this database (SQL Server's Msg 39023); "
                 "an administrator can enable them with “orrery enable”"));
  return NULL;
}

/* ------------------------------------------------------------ job log */

gboolean
orr_catalog_log_job (OrrCatalog         *self,
                     const OrrJobRecord *record,
                     GError            **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autofree char *sha = NULL;

  g_return_val_if_fail (ORR_IS_CATALOG (self), FALSE);

  sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, record->script ? record->script : "", -1);
  add_text (params, record->principal);
  add_text (params, record->pool ? record->pool : "default");
  add_timestamp (params, record->started_at);
  add_timestamp (params, record->ended_at);
  add_text (params, orr_outcome_to_string (record->outcome));
  add_text (params, record->error_text);
  add_text (params, sha);
  add_text (params, record->script ? record->script : "");
  add_text (params, record->input_query);
  add_int (params, record->rows_in, FALSE);
  add_int (params, record->rows_out, FALSE);
  add_float (params, record->cpu_seconds, record->cpu_seconds < 0);
  add_int (params, record->peak_memory_bytes, record->peak_memory_bytes < 0);
  add_int (params, record->bytes_read, record->bytes_read < 0);
  add_int (params, record->bytes_written, record->bytes_written < 0);
  if (!exec (self, "INSERT INTO orrery_job_log (principal, pool, started_at, ended_at, outcome, error_text,"
             " script_sha256, script_text, input_query, rows_in, rows_out, cpu_seconds, peak_memory_bytes,"
             " bytes_read, bytes_written) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", params, error))
    {
      g_prefix_error (error, _("Could not record the job in the job log: "));
      return FALSE;
    }
  return TRUE;
}

OrrCursor *
orr_catalog_list_log (OrrCatalog  *self,
                      const char  *principal,
                      const char  *outcome,
                      guint        limit,
                      GError     **error)
{
  g_autoptr(GPtrArray) params = params_new ();
  g_autoptr(GString) sql = g_string_new (NULL);

  g_return_val_if_fail (ORR_IS_CATALOG (self), NULL);

  if (!require_catalog (self, error))
    return NULL;
  if (outcome)
    {
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (outcome_names); i++)
        known |= g_str_equal (outcome, outcome_names[i]);
      if (!known)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                       _("Unknown outcome “%s” (use succeeded, failed, cancelled, killed or rejected)"), outcome);
          return NULL;
        }
    }
  g_string_append (sql, "SELECT id, principal, pool, started_at, ended_at, outcome, rows_in, rows_out,"
                   " cpu_seconds, peak_memory_bytes, bytes_read, bytes_written, error_text"
                   " FROM orrery_job_log WHERE 1 = 1");
  if (principal)
    {
      g_string_append (sql, " AND principal = ?");
      add_text (params, principal);
    }
  if (outcome)
    {
      g_string_append (sql, " AND outcome = ?");
      add_text (params, outcome);
    }
  g_string_append_printf (sql, " ORDER BY id DESC LIMIT %u", limit ? limit : 50);
  return query (self, sql->str, params, error);
}
