/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "orr-demo.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orrery-cli.h"

/* Global options, shared by every command. */
static char *opt_dsn;
static char *opt_connection;

const GOptionEntry global_entries[] = {
  { "dsn", 0, 0, G_OPTION_ARG_STRING, &opt_dsn, N_("ODBC data source name (default: $ORRERY_DSN, else the demo database)"), N_("NAME") },
  { "connection", 0, 0, G_OPTION_ARG_STRING, &opt_connection, N_("Full ODBC connection string"), N_("STRING") },
  { NULL }
};

void
print_error (const char *message)
{
  g_printerr ("orrery: %s\n", message);
}

int
usage_error (GOptionContext *context, const char *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
  g_auto(GStrv) lines = g_strsplit (help, "\n", 3);

  /* The message and the usage line; the whole help is one --help away. */
  g_printerr ("orrery: %s\n", message);
  if (lines[0] && lines[1])
    g_printerr ("%s\n%s\n", lines[0], lines[1]);
  g_printerr ("%s\n", _("Add --help to see every option."));
  return EXIT_USAGE;
}

gboolean
parse_format (const char *text, Format *format, GError **error)
{
  if (text == NULL || g_strcmp0 (text, "table") == 0)
    *format = FORMAT_TABLE;
  else if (g_strcmp0 (text, "csv") == 0)
    *format = FORMAT_CSV;
  else if (g_strcmp0 (text, "json") == 0)
    *format = FORMAT_JSON;
  else
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                   _("Unknown format “%s” (use table, csv or json)"), text);
      return FALSE;
    }
  return TRUE;
}

OrrConnection *
open_connection (GError **error)
{
  g_autofree char *target = NULL;
  g_autoptr(OrrConnection) connection = NULL;

  if (opt_dsn && opt_connection)
    {
      g_set_error_literal (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                           _("Give either --dsn or --connection, not both"));
      return NULL;
    }
  if (opt_connection)
    target = g_strdup (opt_connection);
  else if (opt_dsn)
    {
      if (strchr (opt_dsn, '=') != NULL)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                       _("“%s” looks like a connection string; pass it with --connection"), opt_dsn);
          return NULL;
        }
      target = g_strdup (opt_dsn);
    }
  else if (g_getenv ("ORRERY_DSN") && *g_getenv ("ORRERY_DSN"))
    target = g_strdup (g_getenv ("ORRERY_DSN"));
  else if ((target = orr_demo_dup_connection_string (error)) == NULL)
    return NULL;

  connection = orr_connection_new (target);
  if (!orr_connection_open (connection, NULL, error))
    return NULL;
  return g_steal_pointer (&connection);
}

gboolean
connection_requested (void)
{
  return opt_dsn || opt_connection || (g_getenv ("ORRERY_DSN") && *g_getenv ("ORRERY_DSN"));
}

/* ------------------------------------------------------------ output */

static void
csv_field (GString *out, const char *value)
{
  if (value == NULL)
    return;
  if (strpbrk (value, ",\"\r\n") == NULL)
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
json_string (GString *out, const char *value)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) value; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

static void
json_value (GString *out, OrrDataType type, const char *value)
{
  if (value == NULL)
    g_string_append (out, "null");
  else if (type == ORR_DATA_TYPE_BOOL)
    g_string_append (out, value);
  else if (type >= ORR_DATA_TYPE_INT16 && type <= ORR_DATA_TYPE_DECIMAL &&
           g_strcmp0 (value, "nan") != 0 && g_strcmp0 (value, "inf") != 0 && g_strcmp0 (value, "-inf") != 0)
    g_string_append (out, value);
  else
    json_string (out, value);
}

void
print_csv (OrrSchema *schema, GPtrArray *batches)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint n_columns = orr_schema_get_n_fields (schema);

  for (guint c = 0; c < n_columns; c++)
    {
      if (c)
        g_string_append_c (out, ',');
      csv_field (out, orr_schema_get_field (schema, c)->name);
    }
  g_string_append (out, "\r\n");
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          for (guint c = 0; c < n_columns; c++)
            {
              g_autofree char *v = orr_batch_format_value (batch, c, r);
              if (c)
                g_string_append_c (out, ',');
              csv_field (out, v);
            }
          g_string_append (out, "\r\n");
          if (out->len > 1 << 20)
            {
              fwrite (out->str, 1, out->len, stdout);
              g_string_truncate (out, 0);
            }
        }
    }
  fwrite (out->str, 1, out->len, stdout);
}

void
print_json (OrrSchema *schema, GPtrArray *batches)
{
  g_autoptr(GString) out = g_string_new ("[");
  guint n_columns = orr_schema_get_n_fields (schema);
  gboolean first = TRUE;

  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          g_string_append (out, first ? "\n  {" : ",\n  {");
          first = FALSE;
          for (guint c = 0; c < n_columns; c++)
            {
              const OrrField *f = orr_schema_get_field (schema, c);
              g_autofree char *v = orr_batch_format_value (batch, c, r);

              if (c)
                g_string_append (out, ", ");
              json_string (out, f->name);
              g_string_append (out, ": ");
              json_value (out, f->type, v);
            }
          g_string_append_c (out, '}');
          if (out->len > 1 << 20)
            {
              fwrite (out->str, 1, out->len, stdout);
              g_string_truncate (out, 0);
            }
        }
    }
  g_string_append (out, first ? "]\n" : "\n]\n");
  fwrite (out->str, 1, out->len, stdout);
}

/* Terminal columns a string takes: CJK and emoji take two, combining marks none. */
static glong
display_width (const char *text)
{
  glong width = 0;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

/* Appends @text padded or cut (with an ellipsis) to exactly @width columns;
 * numbers are aligned on the right, as database tools show them. */
static void
append_cell (GString *out, const char *text, glong width, gboolean right)
{
  glong used = 0;
  const char *p;

  if (display_width (text) <= width)
    {
      used = display_width (text);
      if (right)
        for (; used < width; used++)
          g_string_append_c (out, ' ');
      g_string_append (out, text);
      used = MAX (used, display_width (text));
    }
  else
    {
      for (p = text; *p; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          glong w = g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;

          if (used + w > width - 1)
            break;
          g_string_append_unichar (out, c);
          used += w;
        }
      g_string_append (out, "…");
      used++;
    }
  for (; used < width; used++)
    g_string_append_c (out, ' ');
}

static gboolean
is_numeric (OrrSchema *schema, guint column)
{
  OrrDataType type = orr_schema_get_field (schema, column)->type;

  return type >= ORR_DATA_TYPE_INT16 && type <= ORR_DATA_TYPE_DECIMAL;
}

void
print_table (OrrSchema *schema, GPtrArray *batches, guint64 rows)
{
  guint n_columns = orr_schema_get_n_fields (schema);
  g_autofree glong *widths = g_new0 (glong, MAX (n_columns, 1));
  g_autoptr(GString) out = g_string_new (NULL);

  if (n_columns == 0)
    return;
  for (guint c = 0; c < n_columns; c++)
    widths[c] = MAX (display_width (orr_schema_get_field (schema, c)->name), 4);
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        for (guint c = 0; c < n_columns; c++)
          {
            g_autofree char *v = orr_batch_format_value (batch, c, r);
            if (v)
              widths[c] = MAX (widths[c], MIN (display_width (v), 60));
          }
    }


  for (guint c = 0; c < n_columns; c++)
    {
      if (c)
        g_string_append (out, " ");
      append_cell (out, orr_schema_get_field (schema, c)->name, widths[c], is_numeric (schema, c));
    }
  g_string_append_c (out, '\n');
  for (guint c = 0; c < n_columns; c++)
    {
      if (c)
        g_string_append (out, " ");
      for (glong i = 0; i < widths[c]; i++)
        g_string_append_c (out, '-');
    }
  g_string_append_c (out, '\n');
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          for (guint c = 0; c < n_columns; c++)
            {
              g_autofree char *v = orr_batch_format_value (batch, c, r);
              if (c)
                g_string_append (out, " ");
              append_cell (out, v ? v : "NULL", widths[c], is_numeric (schema, c));
            }
          g_string_append_c (out, '\n');
          if (out->len > 1 << 20)
            {
              fwrite (out->str, 1, out->len, stdout);
              g_string_truncate (out, 0);
            }
        }
    }
  g_string_append_printf (out, "\n");
  g_string_append_printf (out, g_dngettext (GETTEXT_PACKAGE, "(%llu row affected)\n",
                                            "(%llu rows affected)\n", rows), (unsigned long long) rows);
  fwrite (out->str, 1, out->len, stdout);
}

/* ------------------------------------------------------------ run */

typedef struct {
  GMainLoop *loop;
  Format format;
  int last_kind;   /* -1: no block open */
  gboolean finished;
} RunState;

static void
on_message (OrrJob     *job,
            guint       kind,
            const char *text,
            RunState   *state)
{
  FILE *stream = state->format == FORMAT_TABLE ? stdout : stderr;

  if (kind == ORR_JOB_MESSAGE_INFO)
    {
      g_printerr ("orrery: %s\n", text);
      return;
    }
  if ((int) kind != state->last_kind)
    {
      fputs (kind == ORR_JOB_MESSAGE_STDOUT ? _("STDOUT message(s) from external script:\n")
                                            : _("STDERR message(s) from external script:\n"), stream);
      state->last_kind = kind;
    }
  fputs (text, stream);
  fflush (stream);
}

static void
on_state_changed (OrrJob   *job,
                  guint     state_value,
                  RunState *state)
{
  if (state_value >= ORR_JOB_SUCCEEDED)
    {
      state->finished = TRUE;
      g_main_loop_quit (state->loop);
    }
}

static gboolean
on_interrupt (gpointer data)
{
  orr_job_cancel (ORR_JOB (data));
  return G_SOURCE_CONTINUE;
}

static int
cmd_run (int argc, char **argv)
{
  g_autofree char *script_file = NULL;
  g_autofree char *code = NULL;
  g_autofree char *input = NULL;
  g_autofree char *input_name = NULL;
  g_autofree char *output_name = NULL;
  g_autofree char *output_table = NULL;
  g_autofree char *format_text = NULL;
  g_auto(GStrv) params = NULL;
  double timeout = 0;
  const GOptionEntry entries[] = {
    { "script", 0, 0, G_OPTION_ARG_FILENAME, &script_file, N_("Python script to run"), N_("FILE") },
    { "execute", 'e', 0, G_OPTION_ARG_STRING, &code, N_("Python code to run"), N_("CODE") },
    { "input", 0, 0, G_OPTION_ARG_STRING, &input, N_("Query whose rows become the input data set"), N_("SQL") },
    { "input-name", 0, 0, G_OPTION_ARG_STRING, &input_name, N_("Name of the input DataFrame (default InputDataSet)"), N_("NAME") },
    { "output-name", 0, 0, G_OPTION_ARG_STRING, &output_name, N_("Name of the output DataFrame (default OutputDataSet)"), N_("NAME") },
    { "param", 0, 0, G_OPTION_ARG_STRING_ARRAY, &params, N_("Parameter NAME:TYPE=VALUE, or NAME:TYPE:out[=VALUE] for an output parameter; types: int, float, str, bool, bytes, date, time, timestamp"), N_("SPEC") },
    { "output-table", 0, 0, G_OPTION_ARG_STRING, &output_table, N_("Insert the result into this table (created if missing), all rows or none"), N_("TABLE") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Result format: table, csv or json"), N_("FORMAT") },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, N_("Cancel the job after this many seconds"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("— run a Python script over a query's rows"));
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(OrrJob) job = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  RunState state = { 0 };
  Format format;
  guint sigint, sigterm;
  const GError *job_error;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("The rows of --input arrive in the script as the pandas DataFrame InputDataSet;\n"
      "the DataFrame the script leaves in OutputDataSet is printed or written to --output-table.\n"
      "Script output appears under “STDOUT message(s) from external script:” (on standard\n"
      "error with --format csv or json, so the data stays clean)."));
  g_option_context_set_description (context,
    _("Through psqlODBC or the SQLite ODBC driver, --input is read with libpq's binary COPY\n"
      "or the SQLite C API, and --output-table is written with COPY FROM STDIN, with the same\n"
      "types and values as through ODBC. OrreryNative=No in the connection string, or\n"
      "ORRERY_NATIVE=0 in the environment, keeps everything on ODBC; “orrery status” shows\n"
      "which path a connection takes."));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc > 1)
    {
      g_autofree char *msg = g_strdup_printf (_("Unexpected argument “%s”"), argv[1]);
      return usage_error (context, msg);
    }
  if ((script_file == NULL) == (code == NULL))
    return usage_error (context, _("Give the script with --script FILE or -e CODE (one of them)"));
  if (!parse_format (format_text, &format, &error))
    return usage_error (context, error->message);
  if (timeout < 0 || timeout > 31 * 24 * 3600)
    return usage_error (context, _("--timeout must be a number of seconds between 0 and 2678400"));

  if (script_file)
    {
      if (!g_file_get_contents (script_file, &spec->script, NULL, &error))
        {
          print_error (error->message);
          return EXIT_USAGE;
        }
      if (!g_utf8_validate (spec->script, -1, NULL))
        {
          g_autofree char *msg = g_strdup_printf (_("The script “%s” is not valid UTF-8"), script_file);
          print_error (msg);
          return EXIT_USAGE;
        }
    }
  else
    spec->script = g_strdup (code);
  spec->input_query = g_strdup (input);
  spec->input_name = g_strdup (input_name);
  spec->output_name = g_strdup (output_name);
  spec->output_table = g_strdup (output_table);
  spec->timeout_ms = (guint) (timeout * 1000);
  spec->params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  for (guint i = 0; params && params[i]; i++)
    {
      OrrParam *p = orr_param_parse (params[i], &error);
      if (p == NULL)
        return usage_error (context, error->message);
      g_ptr_array_add (spec->params, p);
    }

  /* The user's resident warm zygote: no Python start per command. Reached
   * (and the host's isolation probed) while the database connects. */
  engine = orr_engine_new ();
  orr_engine_set_use_launchpad (engine, TRUE);
  orr_engine_prepare (engine);

  connection = open_connection (&error);
  if (connection == NULL)
    {
      print_error (error->message);
      return error->code == ORR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_CONNECTION;
    }

  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  state.format = format;
  state.last_kind = -1;

  job = orr_engine_submit (engine, connection, spec);
  g_signal_connect (job, "message", G_CALLBACK (on_message), &state);
  g_signal_connect (job, "state-changed", G_CALLBACK (on_state_changed), &state);
  sigint = g_unix_signal_add (SIGINT, on_interrupt, job);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, job);
  while (!state.finished)
    g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);

  if (orr_job_get_log_error (job))
    g_printerr (_("orrery: warning: %s\n"), orr_job_get_log_error (job)->message);
  job_error = orr_job_get_error (job);
  if (job_error)
    {
      if (job_error->code == ORR_ERROR_SCRIPT && orr_job_get_traceback (job) && *orr_job_get_traceback (job))
        {
          print_error (job_error->message);
          g_printerr ("%s", orr_job_get_traceback (job));
          if (!g_str_has_suffix (orr_job_get_traceback (job), "\n"))
            g_printerr ("\n");
        }
      else
        print_error (job_error->message);
      return EXIT_JOB_FAILED;
    }

  if (orr_job_get_result_schema (job) && output_table == NULL)
    {
      OrrSchema *schema = orr_job_get_result_schema (job);
      GPtrArray *batches = orr_job_get_result_batches (job);

      switch (format)
        {
        case FORMAT_CSV: print_csv (schema, batches); break;
        case FORMAT_JSON: print_json (schema, batches); break;
        case FORMAT_TABLE: default: print_table (schema, batches, orr_job_get_rows_out (job)); break;
        }
    }
  else if (output_table)
    g_printerr (g_dngettext (GETTEXT_PACKAGE, "%llu row written to %s\n",
                             "%llu rows written to %s\n", orr_job_get_rows_out (job)),
                (unsigned long long) orr_job_get_rows_out (job), output_table);

  if (orr_job_get_output_params (job)->len > 0)
    {
      GPtrArray *out = orr_job_get_output_params (job);
      FILE *stream = format == FORMAT_TABLE ? stdout : stderr;

      fputs (_("Output parameters:\n"), stream);
      for (guint i = 0; i < out->len; i++)
        {
          const OrrParam *p = g_ptr_array_index (out, i);
          g_autofree char *v = orr_value_to_string (&p->value);
          fprintf (stream, "  @%s = %s\n", p->name, v);
        }
    }
  fflush (stdout);
  return EXIT_OK;
}

/* ------------------------------------------------------------ status */

static int
cmd_status (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("— show the connection and the Python runtime"));
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(OrrEngine) engine = NULL;
  g_autofree char *display = NULL;

  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc > 1)
    return usage_error (context, _("“status” takes no arguments"));

  connection = open_connection (&error);
  if (connection == NULL)
    {
      print_error (error->message);
      return EXIT_CONNECTION;
    }
  display = orr_connection_dup_display_name (connection);
  g_print (_("Connection:  %s\n"), display);
  g_print (_("Database:    %s %s\n"), orr_connection_get_dbms_name (connection),
           orr_connection_get_dbms_version (connection));
  g_print (_("Driver:      %s\n"), orr_connection_get_driver_name (connection));
  g_print (_("Fast path:   %s\n"), orr_connection_get_native_path (connection) ?
           orr_connection_get_native_path (connection) : _("none (ODBC only)"));
  print_catalog_status (connection);

  engine = orr_engine_new ();
  orr_engine_set_use_launchpad (engine, TRUE);
  if (!orr_engine_warm_up (engine, &error))
    {
      print_error (error->message);
      return EXIT_JOB_FAILED;
    }
  g_print (_("Python:      %s (numpy %s, pandas %s)\n"), orr_engine_get_python_version (engine),
           orr_engine_get_numpy_version (engine), orr_engine_get_pandas_version (engine));
  g_print (_("Satellite:   %s (%s)\n"), orr_engine_get_satellite_path (engine),
           orr_engine_get_uses_launchpad (engine) ? _("resident launchpad") : _("private zygote"));
  {
    /* Layer by layer what this host enforces around each job, and how. */
    g_autofree char *isolation = orr_engine_dup_isolation_report (engine);

    g_print ("%s", isolation);
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------ main */

static void
print_usage (FILE *stream)
{
  fprintf (stream, "%s", _("Usage:\n"
                           "  orrery [--dsn NAME | --connection STRING] COMMAND [OPTIONS…]\n"
                           "\n"
                           "Commands:\n"
                           "  run          Run a Python script over a query's rows\n"
                           "  exec SQL     Run T-SQL: EXEC sp_execute_external_script … (SQL Server's way)\n"
                           "  status       Show the connection, the catalog and the Python runtime\n"
                           "  enable       Allow external scripts on the database\n"
                           "  disable      Forbid external scripts on the database\n"
                           "  grant P      Grant EXECUTE ANY EXTERNAL SCRIPT to a login or role\n"
                           "  revoke P     Revoke it\n"
                           "  permissions  List principals and who may run scripts\n"
                           "  pool …       List, create, alter, drop resource pools; assign principals\n"
                           "  log          Show the job log\n"
                           "  jobs         Show the jobs running on this host (--watch: live)\n"
                           "  pools        Show the resource pools in use, against their limits\n"
                           "  cancel JOB   Cancel a job of this host, whichever program runs it\n"
                           "\n"
                           "Without --dsn, --connection or $ORRERY_DSN, Orrery opens its demo database.\n"
                           "Run “orrery COMMAND --help” for a command's options.\n"));
}

int
main (int argc, char **argv)
{
  const char *command = NULL;
  int cmd_index = 0;

  /* The locale, and the catalog ($ORRERY_LOCALEDIR from a build tree). */
  orr_i18n_init (LC_ALL);
  textdomain (GETTEXT_PACKAGE);

  /* The command is the first argument that is not a global option. */
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--dsn") || g_str_equal (argv[i], "--connection"))
        {
          i++;
          continue;
        }
      if (g_str_has_prefix (argv[i], "--dsn=") || g_str_has_prefix (argv[i], "--connection="))
        continue;
      if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        {
          print_usage (stdout);
          return EXIT_OK;
        }
      if (g_str_equal (argv[i], "--version"))
        {
          g_print ("orrery %s\n", PACKAGE_VERSION);
          return EXIT_OK;
        }
      command = argv[i];
      cmd_index = i;
      break;
    }

  if (command == NULL)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }

  /* Hand the command's parser argv with the command name in place of argv[0]. */
  {
    g_autoptr(GPtrArray) args = g_ptr_array_new ();
    int rc;

    g_ptr_array_add (args, g_strdup_printf ("orrery %s", command));
    for (int i = 1; i < argc; i++)
      if (i != cmd_index)
        g_ptr_array_add (args, argv[i]);
    g_ptr_array_add (args, NULL);

    if (g_str_equal (command, "run"))
      rc = cmd_run (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "exec"))
      rc = cmd_exec (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "status"))
      rc = cmd_status (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "enable"))
      rc = cmd_enable (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "disable"))
      rc = cmd_disable (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "grant"))
      rc = cmd_grant (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "revoke"))
      rc = cmd_revoke (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "permissions"))
      rc = cmd_permissions (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "pool"))
      rc = cmd_pool (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "log"))
      rc = cmd_log (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "jobs"))
      rc = cmd_jobs (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "pools"))
      rc = cmd_pools (args->len - 1, (char **) args->pdata);
    else if (g_str_equal (command, "cancel"))
      rc = cmd_cancel (args->len - 1, (char **) args->pdata);
    else
      {
        g_printerr (_("orrery: unknown command “%s”\n\n"), command);
        print_usage (stderr);
        rc = EXIT_USAGE;
      }
    g_free (args->pdata[0]);
    return rc;
  }
}
