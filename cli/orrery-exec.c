/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery"

#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "orr-engine.h"
#include "orr-error.h"
#include "orr-tsql.h"
#include "orrery-cli.h"

/* `orrery exec`: T-SQL batches as SQL Server Management Studio runs them
 * (results to text): result sets, PRINT lines and script output in order on
 * standard output, "Msg …" errors on standard error. */

typedef struct {
  Format format;
  FILE *messages;            /* where PRINT and script output go */
  int script_kind;           /* the open "STDOUT message(s)…" block, or -1 */
  gboolean line_open;        /* the last text written to @messages did not end a line */
  gboolean printed;          /* something went to standard output already */
  guint n_results;
  GString *json;             /* --format json: the result sets so far */
} ExecOutput;

static void
end_line (ExecOutput *out)
{
  if (out->line_open)
    fputc ('\n', out->messages);
  out->line_open = FALSE;
}

static void
on_output (OrrTsqlOutputKind  kind,
           const char        *text,
           gpointer           user_data)
{
  ExecOutput *out = user_data;

  switch (kind)
    {
    case ORR_TSQL_OUTPUT_STDOUT:
    case ORR_TSQL_OUTPUT_STDERR:
      if ((int) kind != out->script_kind)
        {
          end_line (out);
          fputs (kind == ORR_TSQL_OUTPUT_STDOUT ? _("STDOUT message(s) from external script:\n")
                                                : _("STDERR message(s) from external script:\n"), out->messages);
          out->script_kind = kind;
        }
      if (*text)
        {
          fputs (text, out->messages);
          out->line_open = !g_str_has_suffix (text, "\n");
        }
      break;
    case ORR_TSQL_OUTPUT_PRINT:
      end_line (out);
      out->script_kind = -1;
      fprintf (out->messages, "%s\n", text);
      break;
    case ORR_TSQL_OUTPUT_NOTICE:
    default:
      fflush (out->messages);
      g_printerr ("orrery: %s\n", text);
      return;
    }
  if (out->messages == stdout)
    out->printed = TRUE;
  fflush (out->messages);
}

static void
on_message (const OrrTsqlMessage *message,
            gpointer              user_data)
{
  ExecOutput *out = user_data;
  g_autofree char *text = orr_tsql_message_format (message);

  end_line (out);
  out->script_kind = -1;
  fflush (stdout);
  g_printerr ("%s\n", text);
}

static void
json_string (GString *s, const char *value)
{
  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) value; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if (*p == '\n')
        g_string_append (s, "\\n");
      else if (*p < 0x20)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

/* One result set as {"columns": [...], "rows": [[...], ...]}; a column
 * without a name is null. */
static void
json_result (GString *s, OrrSchema *schema, GPtrArray *batches)
{
  guint n = orr_schema_get_n_fields (schema);
  gboolean first = TRUE;

  g_string_append (s, "{\"columns\": [");
  for (guint c = 0; c < n; c++)
    {
      const char *name = orr_schema_get_field (schema, c)->name;

      if (c)
        g_string_append (s, ", ");
      if (g_str_equal (name, ORR_TSQL_NO_COLUMN_NAME))
        g_string_append (s, "null");
      else
        json_string (s, name);
    }
  g_string_append (s, "], \"rows\": [");
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          g_string_append (s, first ? "\n    [" : ",\n    [");
          first = FALSE;
          for (guint c = 0; c < n; c++)
            {
              OrrDataType type = orr_schema_get_field (orr_batch_get_schema (batch), c)->type;
              g_autofree char *v = orr_batch_format_value (batch, c, r);

              if (c)
                g_string_append (s, ", ");
              if (v == NULL)
                g_string_append (s, "null");
              else if (type == ORR_DATA_TYPE_BOOL ||
                       (type >= ORR_DATA_TYPE_INT16 && type <= ORR_DATA_TYPE_DECIMAL &&
                        strcmp (v, "nan") != 0 && strcmp (v, "inf") != 0 && strcmp (v, "-inf") != 0))
                g_string_append (s, v);
              else
                json_string (s, v);
            }
          g_string_append_c (s, ']');
        }
    }
  g_string_append (s, first ? "]}" : "\n  ]}");
}

static void
on_result (OrrSchema *schema,
           GPtrArray *batches,
           guint64    n_rows,
           gpointer   user_data)
{
  ExecOutput *out = user_data;

  end_line (out);
  out->script_kind = -1;
  switch (out->format)
    {
    case FORMAT_CSV:
      if (out->n_results > 0)
        fputs ("\r\n", stdout);
      print_csv (schema, batches);
      break;
    case FORMAT_JSON:
      g_string_append (out->json, out->n_results > 0 ? ",\n  " : "\n  ");
      json_result (out->json, schema, batches);
      break;
    case FORMAT_TABLE:
    default:
      if (out->printed)
        fputc ('\n', stdout);
      print_table (schema, batches, n_rows);
      break;
    }
  out->n_results++;
  out->printed = TRUE;
  fflush (stdout);
}

static gboolean
on_interrupt (gpointer data)
{
  orr_tsql_session_cancel (ORR_TSQL_SESSION (data));
  return G_SOURCE_CONTINUE;
}

int
cmd_exec (int argc, char **argv)
{
  g_autofree char *file = NULL;
  g_autofree char *format_text = NULL;
  double timeout = 0;
  const GOptionEntry entries[] = {
    { "file", 'i', 0, G_OPTION_ARG_FILENAME, &file, N_("Read the batches from FILE (- for standard input)"), N_("FILE") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("Result format: table, csv or json"), N_("FORMAT") },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, N_("Cancel each script after this many seconds"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("[BATCH] — run T-SQL: EXEC sp_execute_external_script …"));
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrConnection) connection = NULL;
  g_autoptr(OrrEngine) engine = NULL;
  g_autoptr(OrrTsqlSession) session = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  ExecOutput out = { 0 };
  const OrrTsqlHandler handler = { on_output, on_message, on_result };
  guint sigint, sigterm;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Runs T-SQL written for SQL Server Machine Learning Services, unchanged:\n"
      "EXEC sp_execute_external_script @language = N'Python', @script = N'…', @input_data_1 = N'…',\n"
      "@params = N'@a int, @b nvarchar(20) OUTPUT', @a = 5, @b = @b OUTPUT WITH RESULT SETS ((…)),\n"
      "with DECLARE, SET, PRINT, SELECT @variable, sp_configure 'external scripts enabled' and GO.\n"
      "The query in @input_data_1 runs on the target database as written.\n"
      "Errors appear as SQL Server's (Msg 39004, Msg 102, …) on standard error."));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc > 2)
    {
      g_autofree char *msg = g_strdup_printf (_("Unexpected argument “%s” (quote the whole batch as one argument)"), argv[2]);
      return usage_error (context, msg);
    }
  if ((file == NULL) == (argc < 2))
    return usage_error (context, _("Give the T-SQL as one argument or with --file FILE (one of them)"));
  if (!parse_format (format_text, &out.format, &error))
    return usage_error (context, error->message);
  if (timeout < 0 || timeout > 31 * 24 * 3600)
    return usage_error (context, _("--timeout must be a number of seconds between 0 and 2678400"));

  if (file == NULL)
    {
      text = g_strdup (argv[1]);
      len = strlen (text);
    }
  else if (g_str_equal (file, "-"))
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (0, FALSE);
      g_autoptr(GOutputStream) buffer = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (buffer, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error) < 0)
        {
          print_error (error->message);
          return EXIT_USAGE;
        }
      len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (buffer));
      text = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (buffer));
    }
  else if (!g_file_get_contents (file, &text, &len, &error))
    {
      print_error (error->message);
      return EXIT_USAGE;
    }

  connection = open_connection (&error);
  if (connection == NULL)
    {
      print_error (error->message);
      return error->code == ORR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_CONNECTION;
    }

  engine = orr_engine_new ();
  session = orr_tsql_session_new (engine, connection);
  orr_tsql_session_set_timeout (session, (guint) (timeout * 1000));
  out.messages = out.format == FORMAT_TABLE ? stdout : stderr;
  out.script_kind = -1;
  if (out.format == FORMAT_JSON)
    out.json = g_string_new ("[");

  sigint = g_unix_signal_add (SIGINT, on_interrupt, session);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, session);
  ok = orr_tsql_session_run (session, text ? text : "", (gssize) len, &handler, &out);
  g_source_remove (sigint);
  g_source_remove (sigterm);

  end_line (&out);
  if (out.json)
    {
      g_string_append (out.json, out.n_results ? "\n]\n" : "]\n");
      fwrite (out.json->str, 1, out.json->len, stdout);
      g_string_free (out.json, TRUE);
    }
  fflush (stdout);
  return ok ? EXIT_OK : EXIT_JOB_FAILED;
}
