/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-window"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "orr-demo.h"
#include "orr-error.h"
#include "orr-window.h"

/* The grid copies every shown cell into a GtkListStore of strings; past
 * this many rows that costs more than it is worth. A virtual model over the
 * batches themselves will lift the cap. */
#define MAX_DISPLAY_ROWS 10000
#define ELAPSED_INTERVAL_MS 100

enum {
  PAGE_RESULTS,
  PAGE_MESSAGES,
};

/* last_message_kind when the previous block was not a job message. */
#define NO_MESSAGE_KIND (-1)

struct _OrrWindow
{
  GtkApplicationWindow  parent_instance;

  GtkHeaderBar         *header_bar;
  GtkEntry             *connection_entry;
  GtkSourceView        *script_view;
  GtkSourceView        *query_view;
  GtkNotebook          *notebook;
  GtkStack             *results_stack;
  GtkLabel             *results_placeholder;
  GtkTreeView          *results_view;
  GtkLabel             *results_note;
  GtkTextView          *messages_view;
  GtkInfoBar           *info_bar;
  GtkLabel             *info_bar_label;
  GtkSpinner           *status_spinner;
  GtkLabel             *status_label;

  /* NULL when the schema is not installed. */
  GSettings            *settings;

  /* The open connection, or NULL. */
  OrrConnection        *connection;
  /* While connecting: the connection being opened (NULL while the demo
   * database is prepared), what the user typed, and how to cancel. */
  OrrConnection        *pending_connection;
  char                 *pending_text;
  GCancellable         *connect_cancellable;

  /* The running job, or the last one. */
  OrrJob               *job;
  guint                 elapsed_source;

  int                   last_message_kind;
  GtkTextMark          *messages_end;

  int                   width;
  int                   height;
  guint                 maximized : 1;
  guint                 run_after_connect : 1;
  guint                 job_reported : 1;
};

G_DEFINE_FINAL_TYPE (OrrWindow, orr_window, GTK_TYPE_APPLICATION_WINDOW)

static void orr_window_submit (OrrWindow *self);

static gboolean
orr_window_is_running (OrrWindow *self)
{
  return self->job != NULL && !orr_job_is_finished (self->job);
}

static gboolean
orr_window_is_connecting (OrrWindow *self)
{
  return self->connect_cancellable != NULL;
}

static void
orr_window_set_action_enabled (OrrWindow  *self,
                               const char *name,
                               gboolean    enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

static void
orr_window_update_actions (OrrWindow *self)
{
  gboolean running = orr_window_is_running (self);
  gboolean connecting = orr_window_is_connecting (self);

  orr_window_set_action_enabled (self, "run", !running);
  orr_window_set_action_enabled (self, "cancel", running || connecting);
  orr_window_set_action_enabled (self, "connect", !running && !connecting);
  gtk_editable_set_editable (GTK_EDITABLE (self->connection_entry), !running && !connecting);

  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner), running || connecting);
  if (running || connecting)
    gtk_spinner_start (self->status_spinner);
  else
    gtk_spinner_stop (self->status_spinner);
}

static void
orr_window_set_status (OrrWindow  *self,
                       const char *text)
{
  gtk_label_set_text (self->status_label, text);
}

/* --------------------------------------------------------------- errors */

static void
orr_window_show_error (OrrWindow  *self,
                       const char *what,
                       const char *todo)
{
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>\n%s", what, todo);

  gtk_label_set_markup (self->info_bar_label, markup);
  gtk_info_bar_set_revealed (self->info_bar, TRUE);
}

static void
orr_window_hide_error (OrrWindow *self)
{
  gtk_info_bar_set_revealed (self->info_bar, FALSE);
}

static void
on_info_bar_response (OrrWindow  *self,
                      int         response,
                      GtkInfoBar *info_bar)
{
  orr_window_hide_error (self);
}

/* ------------------------------------------------------------- messages */

static void
orr_window_clear_messages (OrrWindow *self)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->messages_view), "", 0);
  self->last_message_kind = NO_MESSAGE_KIND;
}

static void
orr_window_append_message (OrrWindow  *self,
                           const char *text,
                           const char *tag)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (tag != NULL)
    gtk_text_buffer_insert_with_tags_by_name (buffer, &end, text, -1, tag, NULL);
  else
    gtk_text_buffer_insert (buffer, &end, text, -1);
  gtk_text_view_scroll_mark_onscreen (self->messages_view, self->messages_end);
}

/* Starts a new block of messages: on a line of its own, a blank line after
 * the previous block. */
static void
orr_window_begin_message_block (OrrWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (gtk_text_iter_is_start (&end))
    return;
  if (gtk_text_iter_backward_char (&end) && gtk_text_iter_get_char (&end) != '\n')
    orr_window_append_message (self, "\n", NULL);
  orr_window_append_message (self, "\n", NULL);
}

static void
on_job_message (OrrWindow  *self,
                guint       kind,
                const char *text,
                OrrJob     *job)
{
  const char *tag = NULL;

  if (job != self->job)
    return;

  if ((int) kind != self->last_message_kind)
    {
      orr_window_begin_message_block (self);
      if (kind == ORR_JOB_MESSAGE_STDOUT)
        orr_window_append_message (self, _("STDOUT message(s) from external script:\n"), "heading");
      else if (kind == ORR_JOB_MESSAGE_STDERR)
        orr_window_append_message (self, _("STDERR message(s) from external script:\n"), "heading");
      self->last_message_kind = kind;
    }

  if (kind == ORR_JOB_MESSAGE_INFO)
    tag = "info";
  orr_window_append_message (self, text, tag);
}

/* ----------------------------------------------------------- the result */

static void
orr_window_clear_results (OrrWindow   *self,
                          const char  *placeholder)
{
  GList *columns = gtk_tree_view_get_columns (self->results_view);
  GList *l;

  for (l = columns; l != NULL; l = l->next)
    gtk_tree_view_remove_column (self->results_view, l->data);
  g_list_free (columns);
  gtk_tree_view_set_model (self->results_view, NULL);

  gtk_label_set_text (self->results_placeholder, placeholder);
  gtk_stack_set_visible_child_name (self->results_stack, "empty");
  gtk_widget_hide (GTK_WIDGET (self->results_note));
}

static void
render_cell (GtkTreeViewColumn *column,
             GtkCellRenderer   *cell,
             GtkTreeModel      *model,
             GtkTreeIter       *iter,
             gpointer           data)
{
  g_autofree char *value = NULL;

  gtk_tree_model_get (model, iter, GPOINTER_TO_INT (data), &value, -1);
  /* SQL NULL, told apart from the text "NULL" by its look. An insensitive
   * cell takes the theme's dimmed colour. */
  if (value == NULL)
    g_object_set (cell, "text", "NULL", "style", PANGO_STYLE_ITALIC, "sensitive", FALSE, NULL);
  else
    g_object_set (cell, "text", value, "style", PANGO_STYLE_NORMAL, "sensitive", TRUE, NULL);
}

static gboolean
data_type_is_numeric (OrrDataType type)
{
  switch (type)
    {
    case ORR_DATA_TYPE_INT16:
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
      return TRUE;
    default:
      return FALSE;
    }
}

static char *
format_count (guint64 n)
{
  return g_strdup_printf ("%'" G_GUINT64_FORMAT, n);
}

static void
orr_window_show_results (OrrWindow *self)
{
  OrrSchema *schema = orr_job_get_result_schema (self->job);
  GPtrArray *batches = orr_job_get_result_batches (self->job);
  g_autoptr(GtkListStore) store = NULL;
  g_autofree GType *types = NULL;
  g_autofree int *columns = NULL;
  g_autofree GValue *values = NULL;
  guint n_fields;
  guint shown = 0;
  guint64 total = 0;
  guint i;
  guint b;

  n_fields = schema != NULL ? orr_schema_get_n_fields (schema) : 0;
  if (n_fields == 0)
    {
      orr_window_clear_results (self, _("The script returned no result set."));
      return;
    }
  orr_window_clear_results (self, "");

  types = g_new (GType, n_fields);
  columns = g_new (int, n_fields);
  values = g_new0 (GValue, n_fields);
  for (i = 0; i < n_fields; i++)
    {
      types[i] = G_TYPE_STRING;
      columns[i] = i;
      g_value_init (&values[i], G_TYPE_STRING);
    }
  store = gtk_list_store_newv (n_fields, types);

  for (b = 0; batches != NULL && b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);
      guint n_rows = orr_batch_get_n_rows (batch);
      guint row;

      total += n_rows;
      for (row = 0; row < n_rows && shown < MAX_DISPLAY_ROWS; row++, shown++)
        {
          for (i = 0; i < n_fields; i++)
            g_value_take_string (&values[i], orr_batch_format_value (batch, i, row));
          gtk_list_store_insert_with_valuesv (store, NULL, -1, columns, values, n_fields);
        }
    }
  for (i = 0; i < n_fields; i++)
    g_value_unset (&values[i]);

  for (i = 0; i < n_fields; i++)
    {
      const OrrField *field = orr_schema_get_field (schema, i);
      GtkCellRenderer *cell = gtk_cell_renderer_text_new ();
      GtkTreeViewColumn *column = gtk_tree_view_column_new ();
      /* Column headers read underscores as mnemonics: sepal_length would
       * show as "sepallength". Double them. */
      g_auto(GStrv) parts = g_strsplit (field->name, "_", -1);
      g_autofree char *title = g_strjoinv ("__", parts);

      g_object_set (cell, "single-paragraph-mode", TRUE, NULL);
      if (data_type_is_numeric (field->type))
        {
          g_object_set (cell, "xalign", 1.0, NULL);
          gtk_tree_view_column_set_alignment (column, 1.0);
        }
      gtk_tree_view_column_set_title (column, title);
      gtk_tree_view_column_set_resizable (column, TRUE);
      gtk_tree_view_column_pack_start (column, cell, TRUE);
      gtk_tree_view_column_set_cell_data_func (column, cell, render_cell,
                                               GUINT_TO_POINTER (i), NULL);
      gtk_tree_view_append_column (self->results_view, column);
    }
  gtk_tree_view_set_model (self->results_view, GTK_TREE_MODEL (store));
  gtk_stack_set_visible_child_name (self->results_stack, "grid");

  if (total > shown)
    {
      g_autofree char *shown_text = format_count (shown);
      g_autofree char *total_text = format_count (total);
      g_autofree char *note = NULL;

      note = g_strdup_printf (_("Showing the first %s of %s rows: the grid does not show more for now."),
                              shown_text, total_text);
      gtk_label_set_text (self->results_note, note);
      gtk_widget_show (GTK_WIDGET (self->results_note));
    }
}

/* ---------------------------------------------------------------- status */

static char *
format_elapsed (gint64 usec)
{
  double seconds = usec / (double) G_USEC_PER_SEC;
  int whole = (int) seconds;

  if (seconds < 60)
    /* Translators: elapsed time in seconds. */
    return g_strdup_printf (_("%.2f s"), seconds);
  /* Translators: elapsed time in minutes and seconds. */
  return g_strdup_printf (_("%d min %02d s"), whole / 60, whole % 60);
}

static char *
format_rows (guint64 n)
{
  g_autofree char *count = format_count (n);

  return g_strdup_printf (ngettext ("%s row", "%s rows", (gulong) MIN (n, G_MAXULONG)), count);
}

static void
orr_window_update_job_status (OrrWindow *self)
{
  g_autofree char *elapsed = format_elapsed (orr_job_get_elapsed (self->job));
  g_autofree char *rows_in = NULL;
  g_autofree char *rows_out = NULL;
  g_autofree char *text = NULL;

  switch (orr_job_get_state (self->job))
    {
    case ORR_JOB_QUEUED:
      text = g_strdup_printf (_("Waiting to start — %s"), elapsed);
      break;
    case ORR_JOB_FETCHING:
      text = g_strdup_printf (_("Fetching the input rows — %s"), elapsed);
      break;
    case ORR_JOB_RUNNING:
      text = g_strdup_printf (_("Running the script — %s"), elapsed);
      break;
    case ORR_JOB_RETURNING:
      text = g_strdup_printf (_("Returning the results — %s"), elapsed);
      break;
    case ORR_JOB_SUCCEEDED:
      rows_in = format_rows (orr_job_get_rows_in (self->job));
      rows_out = format_rows (orr_job_get_rows_out (self->job));
      /* Translators: "Succeeded in 0.84 s — 150 rows in, 150 rows out". */
      text = g_strdup_printf (_("Succeeded in %s — %s in, %s out"), elapsed, rows_in, rows_out);
      break;
    case ORR_JOB_FAILED:
      text = g_strdup_printf (_("Failed after %s"), elapsed);
      break;
    case ORR_JOB_CANCELLED:
      text = g_strdup_printf (_("Cancelled after %s"), elapsed);
      break;
    default:
      g_assert_not_reached ();
    }
  orr_window_set_status (self, text);
}

static gboolean
on_elapsed_tick (gpointer user_data)
{
  orr_window_update_job_status (ORR_WINDOW (user_data));
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------- job */

static void
orr_window_goto_script_line (OrrWindow *self,
                             int        line)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view));
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_line (buffer, &iter, line - 1);
  gtk_text_buffer_place_cursor (buffer, &iter);
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->script_view),
                                gtk_text_buffer_get_insert (buffer),
                                0.25, FALSE, 0, 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->script_view));
}

/* What to tell the user about a failed job: what went wrong (@what) and
 * what to do about it (@todo). */
static void
describe_job_error (const GError  *error,
                    int            line,
                    char         **what,
                    char         **todo)
{
  const char *message = error->message;

  if (error->domain == ORR_ERROR)
    switch ((OrrError) error->code)
      {
      case ORR_ERROR_SCRIPT:
        /* The engine's message names the line already. */
        *what = g_strdup_printf (_("The script failed: %s"), message);
        if (line > 0)
          *todo = g_strdup_printf (_("The cursor is on line %d of the script; the traceback is under Messages."), line);
        else
          *todo = g_strdup (_("The traceback is under Messages."));
        return;
      case ORR_ERROR_ODBC:
        *what = g_strdup_printf (_("The database refused the query: %s"), message);
        *todo = g_strdup (_("Correct the input query, then run again."));
        return;
      case ORR_ERROR_CONNECTION:
        *what = g_strdup_printf (_("The connection to the database failed: %s"), message);
        *todo = g_strdup (_("Connect again, then run the script."));
        return;
      case ORR_ERROR_OUTPUT:
        *what = g_strdup_printf (_("The script’s result cannot be returned: %s"), message);
        *todo = g_strdup (_("Leave a pandas DataFrame in OutputDataSet, with columns of simple types."));
        return;
      case ORR_ERROR_SATELLITE:
        *what = g_strdup_printf (_("The Python worker could not run the script: %s"), message);
        *todo = g_strdup (_("Nothing ran. Fix what the message names, then run again."));
        return;
      case ORR_ERROR_TIMEOUT:
        *what = g_strdup_printf (_("The script ran out of time: %s"), message);
        *todo = g_strdup (_("Make it do less, or ask for a resource pool with a longer time limit."));
        return;
      case ORR_ERROR_LIMIT:
        *what = g_strdup_printf (_("The job went over a limit: %s"), message);
        *todo = g_strdup (_("Return fewer rows, or ask your administrator for a larger limit."));
        return;
      case ORR_ERROR_UNSUPPORTED:
        *what = g_strdup_printf (_("Orrery cannot handle this: %s"), message);
        *todo = g_strdup (_("Convert the column to a simpler type in the query or the script."));
        return;
      default:
        break;
      }

  *what = g_strdup_printf (_("The job failed: %s"), message);
  *todo = g_strdup (_("The details are under Messages."));
}

static void
orr_window_report_job_error (OrrWindow *self)
{
  const GError *error = orr_job_get_error (self->job);
  const char *traceback = orr_job_get_traceback (self->job);
  int line = orr_job_get_error_line (self->job);
  g_autofree char *what = NULL;
  g_autofree char *todo = NULL;

  if (error == NULL)
    {
      g_warning ("Job %" G_GUINT64_FORMAT " failed without an error", orr_job_get_id (self->job));
      return;
    }

  describe_job_error (error, line, &what, &todo);

  orr_window_begin_message_block (self);
  orr_window_append_message (self, what, "error");
  orr_window_append_message (self, "\n", NULL);
  if (traceback != NULL && *traceback != '\0')
    {
      orr_window_append_message (self, traceback, NULL);
      if (!g_str_has_suffix (traceback, "\n"))
        orr_window_append_message (self, "\n", NULL);
    }
  self->last_message_kind = NO_MESSAGE_KIND;

  orr_window_show_error (self, what, todo);
  gtk_notebook_set_current_page (self->notebook, PAGE_MESSAGES);
  if (error->domain == ORR_ERROR && error->code == ORR_ERROR_SCRIPT && line > 0)
    orr_window_goto_script_line (self, line);
}

static void
orr_window_finish_job (OrrWindow *self)
{
  if (self->job_reported)
    return;
  self->job_reported = TRUE;
  g_clear_handle_id (&self->elapsed_source, g_source_remove);

  switch (orr_job_get_state (self->job))
    {
    case ORR_JOB_SUCCEEDED:
      orr_window_show_results (self);
      gtk_notebook_set_current_page (self->notebook, PAGE_RESULTS);
      break;
    case ORR_JOB_FAILED:
      orr_window_clear_results (self, _("The script failed: see Messages."));
      orr_window_report_job_error (self);
      break;
    case ORR_JOB_CANCELLED:
      orr_window_clear_results (self, _("The script was cancelled."));
      orr_window_begin_message_block (self);
      orr_window_append_message (self, _("The script was cancelled.\n"), "info");
      self->last_message_kind = NO_MESSAGE_KIND;
      break;
    default:
      g_assert_not_reached ();
    }

  orr_window_update_job_status (self);
  orr_window_update_actions (self);
}

static void
on_job_state_changed (OrrWindow *self,
                      guint      state,
                      OrrJob    *job)
{
  if (job != self->job)
    return;

  if (orr_job_is_finished (job))
    orr_window_finish_job (self);
  else
    orr_window_update_job_status (self);
}

static void
orr_window_forget_job (OrrWindow *self)
{
  g_clear_handle_id (&self->elapsed_source, g_source_remove);
  if (self->job == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
}

static char *
dup_view_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
orr_window_submit (OrrWindow *self)
{
  OrrApplication *app = ORR_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  g_autoptr(OrrJobSpec) spec = orr_job_spec_new ();
  g_autofree char *query = NULL;

  g_assert (self->connection != NULL);

  spec->script = dup_view_text (GTK_TEXT_VIEW (self->script_view));
  query = dup_view_text (GTK_TEXT_VIEW (self->query_view));
  if (*g_strstrip (query) != '\0')
    spec->input_query = g_steal_pointer (&query);

  orr_window_forget_job (self);
  orr_window_hide_error (self);
  orr_window_clear_messages (self);
  orr_window_clear_results (self, _("Running…"));

  self->job = orr_engine_submit (orr_application_get_engine (app), self->connection, spec);
  self->job_reported = FALSE;
  g_signal_connect_object (self->job, "state-changed",
                           G_CALLBACK (on_job_state_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "message",
                           G_CALLBACK (on_job_message), self, G_CONNECT_SWAPPED);
  self->elapsed_source = g_timeout_add (ELAPSED_INTERVAL_MS, on_elapsed_tick, self);

  orr_window_update_job_status (self);
  orr_window_update_actions (self);
}

/* ------------------------------------------------------------ connecting */

/* Whether an ODBC connection string carries a password (PWD=, Password=),
 * which must not be written to the settings in clear. */
static gboolean
connection_string_has_password (const char *text)
{
  g_auto(GStrv) pairs = g_strsplit (text, ";", -1);
  guint i;

  for (i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (pairs[i], eq - pairs[i]));
      if (g_ascii_strcasecmp (key, "PWD") == 0 || g_ascii_strcasecmp (key, "Password") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
orr_window_connect_failed (OrrWindow    *self,
                           const GError *error)
{
  g_autofree char *what = NULL;
  const char *todo;

  if (self->pending_connection == NULL)
    {
      what = g_strdup_printf (_("The demo database could not be prepared: %s"), error->message);
      todo = _("Check that the SQLite ODBC driver (Debian package libsqliteodbc) is installed, or enter a data source.");
    }
  else
    {
      /* The connection's errors name the data source already. */
      if (self->pending_text[0] == '\0')
        what = g_strdup_printf (_("Could not open the demo database: %s"), error->message);
      else
        what = g_strdup (error->message);
      todo = _("Check the data source name or connection string, or leave the field empty to use the demo database.");
    }

  g_clear_object (&self->pending_connection);
  g_clear_pointer (&self->pending_text, g_free);
  g_clear_object (&self->connect_cancellable);
  self->run_after_connect = FALSE;

  orr_window_begin_message_block (self);
  orr_window_append_message (self, what, "error");
  orr_window_append_message (self, "\n", NULL);
  self->last_message_kind = NO_MESSAGE_KIND;
  orr_window_show_error (self, what, todo);
  orr_window_set_status (self, _("Not connected"));
  orr_window_update_actions (self);
}

static gboolean
error_is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, ORR_ERROR, ORR_ERROR_CANCELLED);
}

static void
orr_window_connected (OrrWindow *self)
{
  const char *dbms_name = orr_connection_get_dbms_name (self->pending_connection);
  const char *dbms_version = orr_connection_get_dbms_version (self->pending_connection);
  g_autofree char *name = NULL;
  g_autofree char *dbms = NULL;
  g_autofree char *subtitle = NULL;

  self->connection = g_steal_pointer (&self->pending_connection);
  g_clear_object (&self->connect_cancellable);

  if (self->pending_text[0] == '\0')
    name = g_strdup (_("Demo database"));
  else
    name = orr_connection_dup_display_name (self->connection);
  dbms = g_strstrip (g_strdup_printf ("%s %s", dbms_name ? dbms_name : "",
                                      dbms_version ? dbms_version : ""));
  /* Translators: the header bar's subtitle: "Demo database — SQLite 3.40.1". */
  subtitle = *dbms != '\0' ? g_strdup_printf (_("%s — %s"), name, dbms) : g_strdup (name);
  gtk_header_bar_set_subtitle (self->header_bar, subtitle);
  orr_window_set_status (self, _("Connected: press F5 to run the script"));

  if (self->settings != NULL && !connection_string_has_password (self->pending_text))
    g_settings_set_string (self->settings, "last-connection", self->pending_text);
  g_clear_pointer (&self->pending_text, g_free);

  orr_window_update_actions (self);

  if (self->run_after_connect)
    {
      self->run_after_connect = FALSE;
      orr_window_submit (self);
    }
}

static void
on_connection_opened (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(OrrWindow) self = user_data;
  OrrConnection *connection = ORR_CONNECTION (source);
  g_autoptr(GError) error = NULL;
  gboolean opened;

  opened = orr_connection_open_finish (connection, result, &error);
  /* Cancelled: by the user, by a newer connect or by closing the window. */
  if (connection != self->pending_connection || (!opened && error_is_cancelled (error)))
    return;

  if (opened)
    orr_window_connected (self);
  else
    orr_window_connect_failed (self, error);
}

static void
orr_window_open_connection (OrrWindow  *self,
                            const char *target)
{
  g_autofree char *name = NULL;
  g_autofree char *status = NULL;

  g_clear_object (&self->pending_connection);
  self->pending_connection = orr_connection_new (target);

  if (self->pending_text[0] == '\0')
    status = g_strdup (_("Connecting to the demo database…"));
  else
    {
      name = orr_connection_dup_display_name (self->pending_connection);
      status = g_strdup_printf (_("Connecting to %s…"), name);
    }
  orr_window_set_status (self, status);

  orr_connection_open_async (self->pending_connection, self->connect_cancellable,
                             on_connection_opened, g_object_ref (self));
}

static void
demo_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  char *connection_string = orr_demo_dup_connection_string (&error);

  if (connection_string == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, connection_string, g_free);
}

static void
on_demo_ready (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  OrrWindow *self = ORR_WINDOW (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *connection_string = NULL;

  connection_string = g_task_propagate_pointer (G_TASK (result), &error);
  if (connection_string == NULL)
    {
      if (!error_is_cancelled (error))
        orr_window_connect_failed (self, error);
      return;
    }
  orr_window_open_connection (self, connection_string);
}

static void
orr_window_connect (OrrWindow *self)
{
  if (orr_window_is_connecting (self) || orr_window_is_running (self))
    return;

  self->pending_text = g_strstrip (g_strdup (gtk_entry_get_text (self->connection_entry)));
  self->connect_cancellable = g_cancellable_new ();
  /* A new connect replaces the old connection even when it fails: Run must
   * not quietly go to a database other than the one the entry names. */
  g_clear_object (&self->connection);
  orr_window_hide_error (self);
  gtk_header_bar_set_subtitle (self->header_bar, NULL);

  if (self->pending_text[0] == '\0')
    {
      g_autoptr(GTask) task = NULL;

      /* Creating the demo database on first use writes a file: not on the
       * main loop. */
      orr_window_set_status (self, _("Preparing the demo database…"));
      task = g_task_new (self, self->connect_cancellable, on_demo_ready, NULL);
      g_task_set_source_tag (task, orr_window_connect);
      g_task_run_in_thread (task, demo_worker);
    }
  else
    orr_window_open_connection (self, self->pending_text);

  orr_window_update_actions (self);
}

static void
orr_window_cancel_connect (OrrWindow *self)
{
  g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  g_clear_object (&self->pending_connection);
  g_clear_pointer (&self->pending_text, g_free);
  self->run_after_connect = FALSE;
}

/* --------------------------------------------------------------- actions */

static void
orr_window_run_activated (GSimpleAction *action,
                          GVariant      *parameter,
                          gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  if (orr_window_is_running (self))
    return;

  if (self->connection == NULL)
    {
      /* Run connects first, to whatever the entry says. */
      self->run_after_connect = TRUE;
      orr_window_connect (self);
      return;
    }
  orr_window_submit (self);
}

static void
orr_window_cancel_activated (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  if (orr_window_is_running (self))
    {
      orr_job_cancel (self->job);
      return;
    }
  if (orr_window_is_connecting (self))
    {
      orr_window_cancel_connect (self);
      gtk_header_bar_set_subtitle (self->header_bar, NULL);
      orr_window_set_status (self, _("Not connected"));
      orr_window_update_actions (self);
    }
}

static void
orr_window_connect_activated (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  OrrWindow *self = ORR_WINDOW (user_data);

  self->run_after_connect = FALSE;
  orr_window_connect (self);
}

static void
on_connection_entry_activate (OrrWindow *self,
                              GtkEntry  *entry)
{
  g_action_group_activate_action (G_ACTION_GROUP (self), "connect", NULL);
}

static const GActionEntry win_actions[] = {
  { .name = "run", .activate = orr_window_run_activated },
  { .name = "cancel", .activate = orr_window_cancel_activated },
  { .name = "connect", .activate = orr_window_connect_activated },
};

/* -------------------------------------------------------- window state */

static void
orr_window_size_allocate (GtkWidget     *widget,
                          GtkAllocation *allocation)
{
  OrrWindow *self = ORR_WINDOW (widget);

  GTK_WIDGET_CLASS (orr_window_parent_class)->size_allocate (widget, allocation);

  /* The window's own size, without the client-side decorations' shadow. */
  if (!self->maximized)
    gtk_window_get_size (GTK_WINDOW (widget), &self->width, &self->height);
}

static gboolean
orr_window_window_state_event (GtkWidget           *widget,
                               GdkEventWindowState *event)
{
  OrrWindow *self = ORR_WINDOW (widget);

  self->maximized = (event->new_window_state & GDK_WINDOW_STATE_MAXIMIZED) != 0;

  return GTK_WIDGET_CLASS (orr_window_parent_class)->window_state_event (widget, event);
}

static void
orr_window_load_state (OrrWindow *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *last_connection = NULL;

  /* g_settings_new() aborts on a missing schema; a console started from
   * the build tree without GSETTINGS_SCHEMA_DIR still runs, forgetfully. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, ORR_APPLICATION_ID, TRUE);
  if (schema == NULL)
    {
      g_message ("The GSettings schema %s is not installed: the window size "
                 "and the last connection will not be remembered",
                 ORR_APPLICATION_ID);
      return;
    }
  self->settings = g_settings_new_full (schema, NULL, NULL);

  self->width = g_settings_get_int (self->settings, "window-width");
  self->height = g_settings_get_int (self->settings, "window-height");
  gtk_window_set_default_size (GTK_WINDOW (self), self->width, self->height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  last_connection = g_settings_get_string (self->settings, "last-connection");
  gtk_entry_set_text (self->connection_entry, last_connection);
}

static void
orr_window_save_state (OrrWindow *self)
{
  if (self->settings == NULL)
    return;

  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", self->width);
  g_settings_set_int (self->settings, "window-height", self->height);
  g_settings_set_boolean (self->settings, "window-maximized", self->maximized);
  g_settings_apply (self->settings);
}

/* ------------------------------------------------------------- the class */

static void
setup_source_view (GtkSourceView      *view,
                   const char * const *language_ids,
                   const char         *text)
{
  GtkSourceLanguageManager *manager = gtk_source_language_manager_get_default ();
  GtkSourceBuffer *buffer = GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)));
  GtkSourceLanguage *language = NULL;
  GtkTextIter start;
  guint i;

  for (i = 0; language == NULL && language_ids[i] != NULL; i++)
    language = gtk_source_language_manager_get_language (manager, language_ids[i]);
  if (language == NULL)
    g_warning ("No GtkSourceView language definition for %s", language_ids[0]);
  gtk_source_buffer_set_language (buffer, language);

  /* The initial text is not something to undo. */
  gtk_source_buffer_begin_not_undoable_action (buffer);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), text, -1);
  gtk_source_buffer_end_not_undoable_action (buffer);
  gtk_text_buffer_get_start_iter (GTK_TEXT_BUFFER (buffer), &start);
  gtk_text_buffer_place_cursor (GTK_TEXT_BUFFER (buffer), &start);
}

static void
setup_messages_view (OrrWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self->messages_view));
  GdkRGBA error_color;
  GtkTextIter end;

  if (!gtk_style_context_lookup_color (context, "error_color", &error_color))
    gdk_rgba_parse (&error_color, "#c01c28");

  gtk_text_buffer_create_tag (buffer, "heading", "weight", PANGO_WEIGHT_BOLD, NULL);
  gtk_text_buffer_create_tag (buffer, "error",
                              "foreground-rgba", &error_color,
                              "weight", PANGO_WEIGHT_BOLD,
                              NULL);
  gtk_text_buffer_create_tag (buffer, "info", "style", PANGO_STYLE_ITALIC, NULL);

  gtk_text_buffer_get_end_iter (buffer, &end);
  self->messages_end = gtk_text_buffer_create_mark (buffer, NULL, &end, FALSE);
  self->last_message_kind = NO_MESSAGE_KIND;
}

/* The names the .ui cannot give: GtkSourceView's buildable does not hand
 * out its "accessible" internal child, and the info bar's close button is
 * made by GtkInfoBar itself. */
static void
setup_accessible_names (OrrWindow *self)
{
  /* GtkInfoBar packs its close button beside its action area. */
  GtkWidget *action_area = gtk_info_bar_get_action_area (self->info_bar);
  GtkWidget *box = gtk_widget_get_parent (action_area);
  g_autoptr(GList) buttons = gtk_container_get_children (GTK_CONTAINER (box));
  GList *l;

  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self->script_view)),
                       _("Python script"));
  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self->query_view)),
                       _("Input query"));
  for (l = buttons; l != NULL; l = l->next)
    if (GTK_IS_BUTTON (l->data))
      atk_object_set_name (gtk_widget_get_accessible (l->data), _("Close the error message"));
}

static void
orr_window_dispose (GObject *object)
{
  OrrWindow *self = ORR_WINDOW (object);

  orr_window_save_state (self);
  g_clear_object (&self->settings);

  if (self->connect_cancellable != NULL)
    orr_window_cancel_connect (self);
  if (orr_window_is_running (self))
    orr_job_cancel (self->job);
  orr_window_forget_job (self);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (orr_window_parent_class)->dispose (object);
}

static void
orr_window_class_init (OrrWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_window_dispose;

  widget_class->size_allocate = orr_window_size_allocate;
  widget_class->window_state_event = orr_window_window_state_event;

  g_type_ensure (GTK_SOURCE_TYPE_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, connection_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, script_view);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, query_view);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, notebook);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, results_stack);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, results_placeholder);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, results_view);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, results_note);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, messages_view);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, info_bar_label);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrWindow, status_label);
  gtk_widget_class_bind_template_callback (widget_class, on_info_bar_response);
  gtk_widget_class_bind_template_callback (widget_class, on_connection_entry_activate);
}

static void
orr_window_init (OrrWindow *self)
{
  static const char * const python_ids[] = { "python3", "python", NULL };
  static const char * const sql_ids[] = { "sql", NULL };

  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions,
                                   G_N_ELEMENTS (win_actions), self);

  setup_source_view (self->script_view, python_ids, "OutputDataSet = InputDataSet");
  setup_source_view (self->query_view, sql_ids, "SELECT * FROM iris");
  setup_messages_view (self);
  setup_accessible_names (self);

  orr_window_load_state (self);
  orr_window_update_actions (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->script_view));

  /* Open the last data source (or the demo database) right away: the
   * window is usable meanwhile, and Run waits for the connection. */
  orr_window_connect (self);
}

OrrWindow *
orr_window_new (OrrApplication *application)
{
  g_return_val_if_fail (ORR_IS_APPLICATION (application), NULL);

  return g_object_new (ORR_TYPE_WINDOW, "application", application, NULL);
}
