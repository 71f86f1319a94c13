/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "orr-catalog.h"
#include "orr-error.h"
#include "orrery-cli.h"

/* Parses the command line of a governance command: @n_args positional
 * arguments are required; --format when @with_format. */
static gboolean
parse_command (GOptionContext  *context,
               const GOptionEntry *entries,
               int             *argc,
               char          ***argv,
               int              n_args,
               int             *status)
{
  g_autoptr(GError) error = NULL;

  if (entries)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = usage_error (context, error->message);
      return FALSE;
    }
  if (*argc - 1 != n_args)
    {
      *status = usage_error (context, *argc - 1 < n_args ? _("Missing argument") : _("Too many arguments"));
      return FALSE;
    }
  return TRUE;
}

static OrrCatalog *
open_catalog (int *status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrConnection) connection = open_connection (&error);

  if (connection == NULL)
    {
      print_error (error->message);
      *status = error->code == ORR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_CONNECTION;
      return NULL;
    }
  return orr_catalog_new (connection);
}

static int
report (gboolean ok, GError *error, const char *done)
{
  if (!ok)
    {
      print_error (error->message);
      return error->code == ORR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_JOB_FAILED;
    }
  if (done)
    g_print ("%s\n", done);
  return EXIT_OK;
}

static int
print_cursor (OrrCursor *cursor, GError *error, Format format)
{
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  guint64 rows = 0;
  OrrBatch *batch;

  if (cursor == NULL)
    return report (FALSE, error, NULL);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      rows += orr_batch_get_n_rows (batch);
      g_ptr_array_add (batches, batch);
    }
  if (error)
    return report (FALSE, error, NULL);
  switch (format)
    {
    case FORMAT_CSV: print_csv (orr_cursor_get_schema (cursor), batches); break;
    case FORMAT_JSON: print_json (orr_cursor_get_schema (cursor), batches); break;
    case FORMAT_TABLE: default: print_table (orr_cursor_get_schema (cursor), batches, rows); break;
    }
  return EXIT_OK;
}

static int
switch_command (int argc, char **argv, gboolean enable)
{
  g_autoptr(GOptionContext) context =
    g_option_context_new (enable ? _("— allow external scripts on the database (sp_configure 'external scripts enabled', 1)")
                                 : _("— forbid external scripts on the database"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  int status = EXIT_OK;
  gboolean ok;

  if (!parse_command (context, NULL, &argc, &argv, 0, &status))
    return status;
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  ok = enable ? orr_catalog_enable (catalog, &error) : orr_catalog_disable (catalog, &error);
  return report (ok, error, enable ? _("External scripts are enabled.") : _("External scripts are disabled."));
}

int
cmd_enable (int argc, char **argv)
{
  return switch_command (argc, argv, TRUE);
}

int
cmd_disable (int argc, char **argv)
{
  return switch_command (argc, argv, FALSE);
}

static int
grant_command (int argc, char **argv, gboolean grant)
{
  g_autoptr(GOptionContext) context =
    g_option_context_new (grant ? _("PRINCIPAL — grant EXECUTE ANY EXTERNAL SCRIPT to a login or role")
                                : _("PRINCIPAL — revoke EXECUTE ANY EXTERNAL SCRIPT from a login or role"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;
  int status = EXIT_OK;
  gboolean ok;

  if (!parse_command (context, NULL, &argc, &argv, 1, &status))
    return status;
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  ok = grant ? orr_catalog_grant (catalog, argv[1], &error) : orr_catalog_revoke (catalog, argv[1], &error);
  done = grant ? g_strdup_printf (_("Granted EXECUTE ANY EXTERNAL SCRIPT to %s."), argv[1])
               : g_strdup_printf (_("Revoked EXECUTE ANY EXTERNAL SCRIPT from %s."), argv[1]);
  return report (ok, error, done);
}

int
cmd_grant (int argc, char **argv)
{
  return grant_command (argc, argv, TRUE);
}

int
cmd_revoke (int argc, char **argv)
{
  return grant_command (argc, argv, FALSE);
}

/* A command that lists what a catalog call returns, with --format. */
static int
list_command (int          argc,
              char       **argv,
              const char  *summary,
              OrrCursor *(*list) (OrrCatalog *catalog, GError **error))
{
  g_autofree char *format_text = NULL;
  const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Output format: table, csv or json"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (summary);
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;
  int status = EXIT_OK;
  Format format;

  if (!parse_command (context, entries, &argc, &argv, 0, &status))
    return status;
  if (!parse_format (format_text, &format, &error))
    return usage_error (context, error->message);
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  cursor = list (catalog, &error);
  return print_cursor (cursor, error, format);
}

int
cmd_permissions (int argc, char **argv)
{
  return list_command (argc, argv, _("— list principals and who may run external scripts"),
                       orr_catalog_list_permissions);
}

int
cmd_log (int argc, char **argv)
{
  g_autofree char *format_text = NULL;
  g_autofree char *principal = NULL;
  g_autofree char *outcome = NULL;
  int limit = 50;
  const GOptionEntry entries[] = {
    { "principal", 0, 0, G_OPTION_ARG_STRING, &principal, N_("Only the jobs of this principal"), N_("PRINCIPAL") },
    { "outcome", 0, 0, G_OPTION_ARG_STRING, &outcome, N_("Only jobs that ended so: succeeded, failed, cancelled, killed or rejected"), N_("OUTCOME") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("At most this many jobs, newest first (default 50)"), N_("N") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Output format: table, csv or json"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("— show the job log"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;
  int status = EXIT_OK;
  Format format;

  if (!parse_command (context, entries, &argc, &argv, 0, &status))
    return status;
  if (!parse_format (format_text, &format, &error))
    return usage_error (context, error->message);
  if (limit < 1 || limit > 1000000)
    return usage_error (context, _("--limit must be between 1 and 1000000"));
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  cursor = orr_catalog_list_log (catalog, principal, outcome, limit, &error);
  return print_cursor (cursor, error, format);
}

/* ------------------------------------------------------------ pools */

typedef struct {
  int max_cpu_percent;
  int max_memory_mb;
  int max_processes;
  char *cpus;
  double timeout;
} PoolOptions;

static gboolean
pool_options_to_limits (GOptionContext *context, const PoolOptions *o, OrrLimits *limits, int *status)
{
  g_autoptr(GError) error = NULL;

  if (o->max_cpu_percent != -1 && (o->max_cpu_percent < 1 || o->max_cpu_percent > 100))
    {
      g_autofree char *msg = g_strdup_printf (_("--max-cpu-percent must be between 1 and 100, not %d"), o->max_cpu_percent);
      *status = usage_error (context, msg);
      return FALSE;
    }
  if (o->max_memory_mb != -1 && o->max_memory_mb < 1)
    {
      *status = usage_error (context, _("--max-memory-mb must be at least 1"));
      return FALSE;
    }
  if (o->max_processes != -1 && o->max_processes < 1)
    {
      *status = usage_error (context, _("--max-processes must be at least 1"));
      return FALSE;
    }
  if (o->timeout != -1 && (o->timeout <= 0 || o->timeout > 31 * 24 * 3600))
    {
      *status = usage_error (context, _("--timeout must be a number of seconds above 0"));
      return FALSE;
    }
  if (o->cpus && !orr_cpu_list_parse (o->cpus, NULL, &error))
    {
      *status = usage_error (context, error->message);
      return FALSE;
    }
  limits->max_cpu_percent = o->max_cpu_percent == -1 ? 0 : o->max_cpu_percent;
  limits->max_memory_bytes = o->max_memory_mb == -1 ? 0 : (guint64) o->max_memory_mb * 1024 * 1024;
  limits->max_processes = o->max_processes == -1 ? 0 : o->max_processes;
  limits->cpus = g_strdup (o->cpus);
  limits->timeout_ms = o->timeout == -1 ? 0 : (guint) (o->timeout * 1000);
  return TRUE;
}

static int
pool_define (int argc, char **argv, gboolean create)
{
  PoolOptions o = { -1, -1, -1, NULL, -1 };
  const GOptionEntry entries[] = {
    { "max-cpu-percent", 0, 0, G_OPTION_ARG_INT, &o.max_cpu_percent, N_("Share of the CPU for the pool, 1–100"), N_("N") },
    { "max-memory-mb", 0, 0, G_OPTION_ARG_INT, &o.max_memory_mb, N_("Memory for the pool's jobs, in MiB"), N_("N") },
    { "max-processes", 0, 0, G_OPTION_ARG_INT, &o.max_processes, N_("Satellites running at once; more jobs wait in a queue"), N_("N") },
    { "cpus", 0, 0, G_OPTION_ARG_STRING, &o.cpus, N_("CPUs the pool's jobs may use, such as 0-3,6"), N_("LIST") },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.timeout, N_("Wall-clock limit of each job, in seconds"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new (create ? _("NAME — create a resource pool (CREATE EXTERNAL RESOURCE POOL)")
                                 : _("NAME — change a resource pool's limits"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrLimits) limits = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;
  int status = EXIT_OK;
  gboolean ok;

  if (!parse_command (context, entries, &argc, &argv, 1, &status))
    {
      g_free (o.cpus);
      return status;
    }
  limits = orr_limits_new (argv[1]);
  if (!pool_options_to_limits (context, &o, limits, &status))
    {
      g_free (o.cpus);
      return status;
    }
  g_free (o.cpus);
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  ok = create ? orr_catalog_create_pool (catalog, limits, &error) : orr_catalog_alter_pool (catalog, limits, &error);
  done = g_strdup_printf (create ? _("Created resource pool %s.") : _("Changed resource pool %s."), argv[1]);
  return report (ok, error, done);
}

static int
pool_drop (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("NAME — drop a resource pool; its members go back to default"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;
  int status = EXIT_OK;
  gboolean ok;

  if (!parse_command (context, NULL, &argc, &argv, 1, &status))
    return status;
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  ok = orr_catalog_drop_pool (catalog, argv[1], &error);
  done = g_strdup_printf (_("Dropped resource pool %s."), argv[1]);
  return report (ok, error, done);
}

static int
pool_assign (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("PRINCIPAL POOL — run a principal's jobs in a pool"));
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;
  int status = EXIT_OK;
  gboolean ok;

  if (!parse_command (context, NULL, &argc, &argv, 2, &status))
    return status;
  if ((catalog = open_catalog (&status)) == NULL)
    return status;
  ok = orr_catalog_assign_pool (catalog, argv[1], argv[2], &error);
  done = g_strdup_printf (_("Jobs of %s now run in resource pool %s."), argv[1], argv[2]);
  return report (ok, error, done);
}

static int
pool_list (int argc, char **argv)
{
  return list_command (argc, argv, _("— list resource pools"), orr_catalog_list_pools);
}

int
cmd_pool (int argc, char **argv)
{
  const char *sub = NULL;
  int sub_index = -1;
  g_autofree char *name = NULL;

  /* The subcommand is the first argument that is not a global option. */
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--dsn") || g_str_equal (argv[i], "--connection"))
        {
          i++;
          continue;
        }
      if (g_str_has_prefix (argv[i], "--dsn=") || g_str_has_prefix (argv[i], "--connection="))
        continue;
      sub = argv[i];
      sub_index = i;
      break;
    }

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      FILE *stream = sub ? stdout : stderr;

      fputs (_("Usage:\n"
               "  orrery pool list [--format table|csv|json]\n"
               "  orrery pool create NAME [--max-cpu-percent N] [--max-memory-mb N] [--max-processes N]\n"
               "                          [--cpus LIST] [--timeout S]\n"
               "  orrery pool alter NAME [the same options]\n"
               "  orrery pool drop NAME\n"
               "  orrery pool assign PRINCIPAL POOL\n"
               "\n"
               "Global options --dsn NAME and --connection STRING choose the database.\n"), stream);
      return sub ? EXIT_OK : EXIT_USAGE;
    }
  /* The subcommand's parser sees "orrery pool SUB" as its program name. */
  name = g_strdup_printf ("%s %s", argv[0], sub);
  for (int i = sub_index; i > 1; i--)
    argv[i] = argv[i - 1];
  argv[1] = name;
  argv++;
  argc--;
  if (g_str_equal (sub, "list"))
    return pool_list (argc, argv);
  if (g_str_equal (sub, "create"))
    return pool_define (argc, argv, TRUE);
  if (g_str_equal (sub, "alter"))
    return pool_define (argc, argv, FALSE);
  if (g_str_equal (sub, "drop"))
    return pool_drop (argc, argv);
  if (g_str_equal (sub, "assign"))
    return pool_assign (argc, argv);
  g_printerr (_("orrery: unknown pool command “%s” (use list, create, alter, drop or assign)\n"), sub);
  return EXIT_USAGE;
}

void
print_catalog_status (OrrConnection *connection)
{
  g_autoptr(OrrCatalog) catalog = orr_catalog_new (connection);
  g_autoptr(GError) error = NULL;
  const char *principal = orr_catalog_get_principal (catalog, &error);
  gboolean admin = principal ? orr_catalog_is_admin (catalog, &error) : FALSE;
  int version = error ? -1 : orr_catalog_get_version (catalog, &error);
  gboolean enabled = version > 0 ? orr_catalog_is_enabled (catalog, &error) : FALSE;

  if (error)
    {
      g_print (_("Catalog:     cannot be read: %s\n"), error->message);
      return;
    }
  g_print (_("Principal:   %s%s\n"), principal, admin ? _(" (administrator)") : "");
  if (version == 0)
    g_print (_("Catalog:     not set up (an administrator runs “orrery enable”)\n"));
  else
    g_print (_("Catalog:     version %d\n"), version);
  g_print (_("External scripts: %s\n"), enabled ? _("enabled") : _("disabled"));
}
