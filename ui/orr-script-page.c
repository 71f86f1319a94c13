/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-script-page"

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "orr-application.h"
#include "orr-batch-model.h"
#include "orr-error.h"
#include "orr-graph.h"
#include "orr-monitor.h"
#include "orr-page.h"
#include "orr-tsql.h"
#include "orr-script-page.h"
#include "orr-ui-util.h"

#define ELAPSED_INTERVAL_MS 100
/* Rows measured to size a result column: enough to be representative,
 * few enough to stay instant whatever the result's size. */
#define SAMPLE_ROWS 100
#define MIN_COLUMN_WIDTH 48
#define MAX_COLUMN_WIDTH 360

enum {
  PAGE_RESULTS,
  PAGE_MESSAGES,
  PAGE_HISTORY,
  PAGE_RESOURCES,
};

enum {
  PARAM_NAME,
  PARAM_TYPE,
  PARAM_VALUE,
  PARAM_OUTPUT,
};

enum {
  HISTORY_STARTED,
  HISTORY_OUTCOME,
  HISTORY_ELAPSED,
  HISTORY_ROWS_IN,
  HISTORY_ROWS_OUT,
  HISTORY_CPU,
  HISTORY_MEMORY,
  HISTORY_READ,
  HISTORY_WRITTEN,
  HISTORY_SUMMARY,
  HISTORY_SCRIPT,
  HISTORY_QUERY,
  HISTORY_SUBMITTED,
  HISTORY_FINISHED,
};

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_HAS_RESULTS,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

/* last_message_kind when the previous block was not a job message. */
#define NO_MESSAGE_KIND (-1)

struct _OrrScriptPage
{
  GtkBox               parent_instance;

  OrrInfoBar          *info_bar;
  GtkSpinner          *status_spinner;
  GtkLabel            *status_label;
  GtkLabel            *file_label;
  GtkSourceView       *script_view;
  GtkLabel            *script_label;
  GtkToggleButton     *tsql_mode;
  GtkWidget           *inputs_box;
  GtkSourceBuffer     *python_buffer;
  GtkSourceBuffer     *tsql_buffer;
  GFile               *tsql_file;
  GtkSourceView       *query_view;
  GtkEntry            *input_name_entry;
  GtkEntry            *output_name_entry;
  GtkListStore        *params_store;
  GtkTreeView         *params_view;
  GtkButton           *remove_param_button;
  GtkNotebook         *notebook;
  GtkStack            *results_stack;
  GtkLabel            *results_placeholder;
  GtkTreeView         *results_view;
  GtkTextView         *messages_view;
  GtkListStore        *history_store;
  GtkTreeView         *history_view;
  OrrGraph            *run_cpu_graph;
  OrrGraph            *run_memory_graph;
  /* The monitor whose ::sampled feeds the Resources tab, once a job ran. */
  OrrMonitor          *monitor;

  OrrSession          *session;
  /* File loads and saves, exports, job log look-ups: cancelled at dispose. */
  GCancellable        *cancellable;
  GFile               *file;
  GFile               *export_file;

  /* The running job, or the last one, and its row in the history. */
  OrrJob              *job;
  GtkTreeRowReference *history_row;
  gint64               submitted_at;
  guint                elapsed_source;

  /* What the grid shows, for export. */
  OrrBatchModel       *results;

  int                  last_message_kind;
  GtkTextMark         *messages_end;
  GRegex              *script_line_regex;
  GRegex              *line_regex;
  GdkRGBA              link_color;

  /* A T-SQL batch running in a worker thread, and its start. */
  OrrTsqlSession      *tsql;
  gint64               tsql_started;
  guint                tsql_results;
  guint64              tsql_rows;
  gboolean             tsql_failed;
  int                  tsql_first_error_line;

  guint                n_busy;
  guint                job_reported : 1;
  guint                hovering_link : 1;
};

static void orr_script_page_page_init (OrrPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrScriptPage, orr_script_page, GTK_TYPE_BOX,
                               G_IMPLEMENT_INTERFACE (ORR_TYPE_PAGE, orr_script_page_page_init))

gboolean
orr_script_page_is_running (OrrScriptPage *self)
{
  g_return_val_if_fail (ORR_IS_SCRIPT_PAGE (self), FALSE);

  /* Until the page has shown how the job ended, not when the job's thread
   * says so: the state-changed signal may still be on its way. */
  return (self->job != NULL && !self->job_reported) || self->tsql != NULL;
}

static gboolean
orr_script_page_is_tsql (OrrScriptPage *self)
{
  return gtk_toggle_button_get_active (self->tsql_mode);
}

/* The file of the editor's current text: a .py in Python mode, a .sql in T-SQL mode. */
static GFile **
current_file (OrrScriptPage *self)
{
  return orr_script_page_is_tsql (self) ? &self->tsql_file : &self->file;
}

gboolean
orr_script_page_has_results (OrrScriptPage *self)
{
  g_return_val_if_fail (ORR_IS_SCRIPT_PAGE (self), FALSE);

  return self->results != NULL;
}

gboolean
orr_script_page_is_busy (OrrScriptPage *self)
{
  g_return_val_if_fail (ORR_IS_SCRIPT_PAGE (self), FALSE);

  return self->n_busy > 0 || orr_script_page_is_running (self);
}

static void
orr_script_page_set_status (OrrScriptPage *self,
                            const char    *text)
{
  gtk_label_set_text (self->status_label, text);
}

static void
orr_script_page_update_spinner (OrrScriptPage *self)
{
  gboolean busy = orr_script_page_is_busy (self);

  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner), busy);
  if (busy)
    gtk_spinner_start (self->status_spinner);
  else
    gtk_spinner_stop (self->status_spinner);
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

/* ------------------------------------------------------------- messages */

static void
orr_script_page_clear_messages (OrrScriptPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkTextTagTable *table = gtk_text_buffer_get_tag_table (buffer);
  GtkTextIter start;
  GtkTextIter end;
  GSList *l;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_delete (buffer, &start, &end);
  /* Each link has a tag of its own, made for its line: drop them. */
  for (l = g_object_get_data (G_OBJECT (buffer), "orr-links"); l != NULL; l = l->next)
    gtk_text_tag_table_remove (table, l->data);
  g_object_set_data (G_OBJECT (buffer), "orr-links", NULL);
  self->last_message_kind = NO_MESSAGE_KIND;
}

static void
orr_script_page_append_message (OrrScriptPage *self,
                                const char    *text,
                                const char    *tag)
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

/* A link to @line of the script, over @len bytes of @text. */
static void
orr_script_page_append_link (OrrScriptPage *self,
                             const char    *text,
                             gssize         len,
                             int            line,
                             const char    *base_tag)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkTextTag *link;
  GtkTextIter end;
  GSList *links;

  link = gtk_text_buffer_create_tag (buffer, NULL,
                                     "foreground-rgba", &self->link_color,
                                     "underline", PANGO_UNDERLINE_SINGLE,
                                     NULL);
  g_object_set_data (G_OBJECT (link), "orr-line", GINT_TO_POINTER (line));
  links = g_object_steal_data (G_OBJECT (buffer), "orr-links");
  g_object_set_data_full (G_OBJECT (buffer), "orr-links", g_slist_prepend (links, link),
                          (GDestroyNotify) g_slist_free);

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (base_tag != NULL)
    gtk_text_buffer_insert_with_tags (buffer, &end, text, len, link,
                                      gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer), base_tag),
                                      NULL);
  else
    gtk_text_buffer_insert_with_tags (buffer, &end, text, len, link, NULL);
}

/* Appends @text, its "line N" that @regex finds (group 1 the words, group
 * 2 the number) turned into links to the script's line N. */
static void
orr_script_page_append_linked (OrrScriptPage *self,
                               const char    *text,
                               GRegex        *regex,
                               const char    *tag)
{
  g_autoptr(GMatchInfo) match = NULL;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  const char *done = text;
  GtkTextIter end;

  g_regex_match (regex, text, 0, &match);
  while (g_match_info_matches (match))
    {
      int start_pos;
      int end_pos;
      int number_start;
      int number_end;
      g_autofree char *number = NULL;

      g_match_info_fetch_pos (match, 1, &start_pos, &end_pos);
      g_match_info_fetch_pos (match, 2, &number_start, &number_end);
      number = g_match_info_fetch (match, 2);

      gtk_text_buffer_get_end_iter (buffer, &end);
      if (text + start_pos > done)
        {
          if (tag != NULL)
            gtk_text_buffer_insert_with_tags_by_name (buffer, &end, done, text + start_pos - done, tag, NULL);
          else
            gtk_text_buffer_insert (buffer, &end, done, text + start_pos - done);
        }
      orr_script_page_append_link (self, text + start_pos, end_pos - start_pos,
                                   (int) g_ascii_strtoll (number, NULL, 10), tag);
      done = text + end_pos;
      g_match_info_next (match, NULL);
    }
  orr_script_page_append_message (self, done, tag);
}

/* Starts a new block of messages: on a line of its own, a blank line after
 * the previous block. */
static void
orr_script_page_begin_message_block (OrrScriptPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (gtk_text_iter_is_start (&end))
    return;
  if (gtk_text_iter_backward_char (&end) && gtk_text_iter_get_char (&end) != '\n')
    orr_script_page_append_message (self, "\n", NULL);
  orr_script_page_append_message (self, "\n", NULL);
}

static void
on_job_message (OrrScriptPage *self,
                guint          kind,
                const char    *text,
                OrrJob        *job)
{
  const char *tag = NULL;

  if (job != self->job)
    return;

  if ((int) kind != self->last_message_kind)
    {
      orr_script_page_begin_message_block (self);
      if (kind == ORR_JOB_MESSAGE_STDOUT)
        orr_script_page_append_message (self, _("STDOUT message(s) from external script:\n"), "heading");
      else if (kind == ORR_JOB_MESSAGE_STDERR)
        orr_script_page_append_message (self, _("STDERR message(s) from external script:\n"), "heading");
      self->last_message_kind = kind;
    }

  if (kind == ORR_JOB_MESSAGE_INFO)
    tag = "info";
  orr_script_page_append_message (self, text, tag);
}

static void
orr_script_page_goto_script_line (OrrScriptPage *self,
                                  int            line)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view));
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_line (buffer, &iter, MAX (line - 1, 0));
  gtk_text_buffer_place_cursor (buffer, &iter);
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->script_view),
                                gtk_text_buffer_get_insert (buffer),
                                0.25, FALSE, 0, 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->script_view));
}

/* The script line @iter links to, or 0. */
static int
link_line_at (GtkTextIter *iter)
{
  g_autoptr(GSList) tags = gtk_text_iter_get_tags (iter);
  GSList *l;

  for (l = tags; l != NULL; l = l->next)
    {
      int line = GPOINTER_TO_INT (g_object_get_data (l->data, "orr-line"));

      if (line > 0)
        return line;
    }
  return 0;
}

static gboolean
orr_script_page_follow_link (OrrScriptPage *self,
                             GtkTextIter   *iter)
{
  int line = link_line_at (iter);

  if (line <= 0)
    return FALSE;
  orr_script_page_goto_script_line (self, line);
  return TRUE;
}

static gboolean
link_at_window_point (OrrScriptPage *self,
                      double         wx,
                      double         wy,
                      GtkTextIter   *iter)
{
  int bx;
  int by;
  int trailing;

  gtk_text_view_window_to_buffer_coords (self->messages_view, GTK_TEXT_WINDOW_TEXT,
                                         (int) wx, (int) wy, &bx, &by);
  /* The character under the pointer, not the nearest caret position. */
  return gtk_text_view_get_iter_at_position (self->messages_view, iter, &trailing, bx, by) &&
         link_line_at (iter) > 0;
}

static void
on_messages_event_after (OrrScriptPage *self,
                         GdkEvent      *event,
                         GtkTextView   *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter iter;
  double x;
  double y;
  guint button;

  if (gdk_event_get_event_type (event) != GDK_BUTTON_RELEASE ||
      !gdk_event_get_button (event, &button) || button != GDK_BUTTON_PRIMARY ||
      gdk_event_get_window (event) != gtk_text_view_get_window (view, GTK_TEXT_WINDOW_TEXT) ||
      !gdk_event_get_coords (event, &x, &y))
    return;
  /* A drag that selected text is not a click on a link. */
  if (gtk_text_buffer_get_has_selection (buffer))
    return;
  if (link_at_window_point (self, x, y, &iter))
    orr_script_page_follow_link (self, &iter);
}

static gboolean
on_messages_key_press (OrrScriptPage *self,
                       GdkEventKey   *event,
                       GtkTextView   *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter iter;

  if (event->keyval != GDK_KEY_Return && event->keyval != GDK_KEY_KP_Enter &&
      event->keyval != GDK_KEY_ISO_Enter)
    return GDK_EVENT_PROPAGATE;
  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  return orr_script_page_follow_link (self, &iter);
}

static gboolean
on_messages_motion (OrrScriptPage  *self,
                    GdkEventMotion *event,
                    GtkTextView    *view)
{
  GdkWindow *window = gtk_text_view_get_window (view, GTK_TEXT_WINDOW_TEXT);
  GtkTextIter iter;
  gboolean over;

  if (event->window != window)
    return GDK_EVENT_PROPAGATE;
  over = link_at_window_point (self, event->x, event->y, &iter);
  if (over != self->hovering_link)
    {
      g_autoptr(GdkCursor) cursor = NULL;

      self->hovering_link = over;
      cursor = gdk_cursor_new_from_name (gdk_window_get_display (window), over ? "pointer" : "text");
      gdk_window_set_cursor (window, cursor);
    }
  return GDK_EVENT_PROPAGATE;
}

/* ----------------------------------------------------------- the result */

static void
orr_script_page_clear_results (OrrScriptPage *self,
                               const char    *placeholder)
{
  GList *columns = gtk_tree_view_get_columns (self->results_view);
  GList *l;

  for (l = columns; l != NULL; l = l->next)
    gtk_tree_view_remove_column (self->results_view, l->data);
  g_list_free (columns);
  gtk_tree_view_set_model (self->results_view, NULL);
  g_clear_object (&self->results);

  gtk_label_set_text (self->results_placeholder, placeholder);
  gtk_stack_set_visible_child_name (self->results_stack, "empty");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_RESULTS]);
}

static void
render_cell (GtkTreeViewColumn *column,
             GtkCellRenderer   *cell,
             GtkTreeModel      *model,
             GtkTreeIter       *iter,
             gpointer           data)
{
  GValue value = G_VALUE_INIT;
  const char *text;

  gtk_tree_model_get_value (model, iter, GPOINTER_TO_INT (data), &value);
  text = g_value_get_string (&value);
  /* SQL NULL, told apart from the text "NULL" by its look. An insensitive
   * cell takes the theme's dimmed colour. */
  if (text == NULL)
    g_object_set (cell, "text", "NULL", "style", PANGO_STYLE_ITALIC, "sensitive", FALSE, NULL);
  else
    g_object_set (cell, "text", text, "style", PANGO_STYLE_NORMAL, "sensitive", TRUE, NULL);
  g_value_unset (&value);
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

static int
text_width (GtkWidget  *widget,
            const char *text)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  int width;

  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}

/* The grid's columns have fixed widths (so that a million rows need not be
 * measured): the widest of the title and the first rows' values. */
static int
measure_column (OrrScriptPage *self,
                GtkTreeModel  *model,
                int            column,
                const char    *title)
{
  int n_rows = gtk_tree_model_iter_n_children (model, NULL);
  int width = text_width (GTK_WIDGET (self->results_view), title) + 24;
  int i;

  /* Rows from the start, the middle and the end: values often grow along
   * a result (ids, dates). */
  for (i = 0; i < SAMPLE_ROWS && i < n_rows && width < MAX_COLUMN_WIDTH; i++)
    {
      int third = SAMPLE_ROWS / 3;
      int row = i < third ? i : i < 2 * third ? n_rows / 2 + (i - third) : n_rows - 1 - (i - 2 * third);
      GValue value = G_VALUE_INIT;
      const char *text;
      GtkTreeIter iter;

      if (row < 0 || row >= n_rows || !gtk_tree_model_iter_nth_child (model, &iter, NULL, row))
        continue;
      gtk_tree_model_get_value (model, &iter, column, &value);
      text = g_value_get_string (&value);
      width = MAX (width, text_width (GTK_WIDGET (self->results_view), text != NULL ? text : "NULL") + 12);
      g_value_unset (&value);
    }
  return CLAMP (width, MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH);
}

void
orr_script_page_show_model (OrrScriptPage *self,
                            GtkTreeModel  *model)
{
  OrrSchema *schema = ORR_IS_BATCH_MODEL (model) ? orr_batch_model_get_schema (ORR_BATCH_MODEL (model)) : NULL;
  int n_columns = gtk_tree_model_get_n_columns (model);
  int i;

  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  orr_script_page_clear_results (self, "");
  if (ORR_IS_BATCH_MODEL (model))
    self->results = g_object_ref (ORR_BATCH_MODEL (model));

  for (i = 0; i < n_columns; i++)
    {
      const OrrField *field = schema != NULL ? orr_schema_get_field (schema, i) : NULL;
      GtkCellRenderer *cell = gtk_cell_renderer_text_new ();
      GtkTreeViewColumn *column = gtk_tree_view_column_new ();
      g_autofree char *fallback = g_strdup_printf ("%d", i + 1);
      const char *name = field != NULL ? field->name : fallback;
      /* Column headers read underscores as mnemonics: sepal_length would
       * show as "sepallength". Double them. */
      g_auto(GStrv) parts = g_strsplit (name, "_", -1);
      g_autofree char *title = g_strjoinv ("__", parts);

      g_object_set (cell, "single-paragraph-mode", TRUE, "ellipsize", PANGO_ELLIPSIZE_END, NULL);
      if (field != NULL && data_type_is_numeric (field->type))
        {
          g_object_set (cell, "xalign", 1.0, NULL);
          gtk_tree_view_column_set_alignment (column, 1.0);
        }
      gtk_tree_view_column_set_title (column, title);
      gtk_tree_view_column_set_resizable (column, TRUE);
      gtk_tree_view_column_set_sizing (column, GTK_TREE_VIEW_COLUMN_FIXED);
      gtk_tree_view_column_set_fixed_width (column, measure_column (self, model, i, name));
      gtk_tree_view_column_pack_start (column, cell, TRUE);
      gtk_tree_view_column_set_cell_data_func (column, cell, render_cell, GINT_TO_POINTER (i), NULL);
      gtk_tree_view_append_column (self->results_view, column);
    }
  gtk_tree_view_set_model (self->results_view, model);
  gtk_stack_set_visible_child_name (self->results_stack, "grid");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_RESULTS]);
}

static void
orr_script_page_show_results (OrrScriptPage *self)
{
  OrrSchema *schema = orr_job_get_result_schema (self->job);
  GPtrArray *batches = orr_job_get_result_batches (self->job);
  g_autoptr(OrrBatchModel) model = NULL;

  if (schema == NULL || orr_schema_get_n_fields (schema) == 0)
    {
      orr_script_page_clear_results (self, self->job != NULL && orr_job_get_spec (self->job)->output_table != NULL
                                            ? _("The result went into a table.")
                                            : _("The script returned no result set."));
      return;
    }
  model = orr_batch_model_new (schema, batches);
  orr_script_page_show_model (self, GTK_TREE_MODEL (model));
}

static void
orr_script_page_show_output_params (OrrScriptPage *self)
{
  GPtrArray *params = orr_job_get_output_params (self->job);
  GtkTreeModel *model = GTK_TREE_MODEL (self->params_store);
  guint i;

  if (params == NULL || params->len == 0)
    return;

  orr_script_page_begin_message_block (self);
  orr_script_page_append_message (self, _("Output parameters:\n"), "heading");
  for (i = 0; i < params->len; i++)
    {
      OrrParam *param = g_ptr_array_index (params, i);
      g_autofree char *value = orr_value_to_string (&param->value);
      g_autofree char *line = g_strdup_printf ("  %s = %s\n", param->name, value != NULL ? value : "NULL");
      GtkTreeIter iter;
      gboolean valid;

      orr_script_page_append_message (self, line, NULL);
      for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
           valid = gtk_tree_model_iter_next (model, &iter))
        {
          g_autofree char *name = NULL;
          gboolean output;

          gtk_tree_model_get (model, &iter, PARAM_NAME, &name, PARAM_OUTPUT, &output, -1);
          if (output && g_strcmp0 (name, param->name) == 0)
            gtk_list_store_set (self->params_store, &iter, PARAM_VALUE, value != NULL ? value : "", -1);
        }
    }
  self->last_message_kind = NO_MESSAGE_KIND;
}

/* ---------------------------------------------------------------- status */

static void
orr_script_page_update_job_status (OrrScriptPage *self)
{
  g_autofree char *elapsed = orr_format_elapsed (orr_job_get_elapsed (self->job));
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
      rows_in = orr_format_rows (orr_job_get_rows_in (self->job));
      rows_out = orr_format_rows (orr_job_get_rows_out (self->job));
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
  orr_script_page_set_status (self, text);
}

static gboolean
on_elapsed_tick (gpointer user_data)
{
  orr_script_page_update_job_status (ORR_SCRIPT_PAGE (user_data));
  return G_SOURCE_CONTINUE;
}

/* ----------------------------------------------------------- job errors */

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
        *todo = g_strdup (_("Connect again on the Connect page, then run the script."));
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
        *todo = g_strdup (_("Make it use less, or ask your administrator for a pool with a larger limit."));
        return;
      case ORR_ERROR_UNSUPPORTED:
        *what = g_strdup_printf (_("Orrery cannot handle this: %s"), message);
        *todo = g_strdup (_("Convert the column to a simpler type in the query or the script."));
        return;
      case ORR_ERROR_DISABLED:
        *what = g_strdup_printf (_("External scripts are not enabled on this database: %s"), message);
        *todo = g_strdup (_("An administrator turns them on in the Server page."));
        return;
      case ORR_ERROR_PERMISSION_DENIED:
        *what = g_strdup_printf (_("You may not run external scripts here: %s"), message);
        *todo = g_strdup (_("Ask an administrator to grant you EXECUTE ANY EXTERNAL SCRIPT (Security page)."));
        return;
      case ORR_ERROR_QUEUE_TIMEOUT:
        *what = g_strdup_printf (_("Your resource pool stayed full: %s"), message);
        *todo = g_strdup (_("Run again later, or ask your administrator for a larger pool."));
        return;
      case ORR_ERROR_INVALID_ARGUMENT:
        *what = g_strdup_printf (_("The job was refused: %s"), message);
        *todo = g_strdup (_("Correct what the message names, then run again."));
        return;
      default:
        break;
      }

  *what = g_strdup_printf (_("The job failed: %s"), message);
  *todo = g_strdup (_("The details are under Messages."));
}

static void
orr_script_page_report_job_error (OrrScriptPage *self)
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

  orr_script_page_begin_message_block (self);
  orr_script_page_append_linked (self, what, self->line_regex, "error");
  orr_script_page_append_message (self, "\n", NULL);
  if (traceback != NULL && *traceback != '\0')
    {
      orr_script_page_append_linked (self, traceback, self->script_line_regex, NULL);
      if (!g_str_has_suffix (traceback, "\n"))
        orr_script_page_append_message (self, "\n", NULL);
    }
  self->last_message_kind = NO_MESSAGE_KIND;

  orr_info_bar_show_error (self->info_bar, what, todo);
  gtk_notebook_set_current_page (self->notebook, PAGE_MESSAGES);
  if (error->domain == ORR_ERROR && error->code == ORR_ERROR_SCRIPT && line > 0)
    orr_script_page_goto_script_line (self, line);
}

/* ------------------------------------------------------------- history */

typedef struct {
  GtkTreeRowReference *row;
  gint64 finished_at;
  char *cpu;
  char *memory;
  char *read_bytes;
  char *written;
} Resources;

static void
resources_free (Resources *r)
{
  g_clear_pointer (&r->row, gtk_tree_row_reference_free);
  g_free (r->cpu);
  g_free (r->memory);
  g_free (r->read_bytes);
  g_free (r->written);
  g_free (r);
}

/* The job's row in the job log: the principal's log row that ended closest
 * to when the console saw the job end (the log does not know the console's
 * job ids). */
static void
resources_worker (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  Resources *r = task_data;
  OrrSession *session = g_object_get_data (G_OBJECT (task), "session");
  g_autoptr(GMutexLocker) locker = orr_session_lock_catalog (session);
  OrrCatalog *catalog = orr_session_get_catalog (session);
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GPtrArray) batches = NULL;
  OrrSchema *schema;
  const char *principal;
  gint64 best_distance = 10 * G_USEC_PER_SEC;
  GError *error = NULL;
  int c_ended;
  int c_cpu;
  int c_memory;
  int c_read;
  int c_written;
  gboolean found = FALSE;
  guint b;
  guint row;

  principal = orr_catalog_get_principal (catalog, &error);
  if (principal == NULL)
    goto fail;
  cursor = orr_catalog_list_log (catalog, principal, NULL, 20, &error);
  if (cursor == NULL)
    goto fail;
  schema = orr_cursor_get_schema (cursor);
  c_ended = orr_schema_find (schema, "ended_at");
  c_cpu = orr_schema_find (schema, "cpu_seconds");
  c_memory = orr_schema_find (schema, "peak_memory_bytes");
  c_read = orr_schema_find (schema, "bytes_read");
  c_written = orr_schema_find (schema, "bytes_written");
  batches = orr_cursor_fetch_all (cursor, cancellable, &error);
  if (batches == NULL)
    goto fail;

  for (b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          gint64 distance = ABS (orr_batch_get_timestamp (batch, c_ended, row) - r->finished_at);
          g_autofree char *cpu = NULL;
          g_autofree char *memory = NULL;
          g_autofree char *read_text = NULL;
          g_autofree char *written = NULL;

          if (distance >= best_distance)
            continue;
          best_distance = distance;
          found = TRUE;
          cpu = orr_batch_dup_text (batch, c_cpu, row);
          memory = orr_batch_dup_text (batch, c_memory, row);
          read_text = orr_batch_dup_text (batch, c_read, row);
          written = orr_batch_dup_text (batch, c_written, row);
          g_free (r->cpu);
          g_free (r->memory);
          g_free (r->read_bytes);
          g_free (r->written);
          r->cpu = orr_format_seconds_text (cpu);
          r->memory = orr_format_bytes_text (memory);
          r->read_bytes = orr_format_bytes_text (read_text);
          r->written = orr_format_bytes_text (written);
        }
    }
  g_task_return_boolean (task, found);
  return;

fail:
  g_task_return_error (task, error);
}

static void
on_resources (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  Resources *r = g_task_get_task_data (G_TASK (result));
  gboolean found = g_task_propagate_boolean (G_TASK (result), &error);
  OrrScriptPage *self;
  g_autoptr(GtkTreePath) path = NULL;
  GtkTreeIter iter;

  if (orr_error_is_cancelled (error))
    return;
  self = ORR_SCRIPT_PAGE (user_data);
  self->n_busy--;
  orr_script_page_update_spinner (self);

  if (error != NULL)
    g_debug ("No resources from the job log: %s", error->message);
  path = gtk_tree_row_reference_get_path (r->row);
  if (path == NULL || !gtk_tree_model_get_iter (GTK_TREE_MODEL (self->history_store), &iter, path))
    return;
  if (!found)
    {
      /* Translators: the job log has no row for this run (e.g. the catalog is not installed). */
      gtk_list_store_set (self->history_store, &iter, HISTORY_CPU, C_("resources", "not logged"), -1);
      return;
    }
  gtk_list_store_set (self->history_store, &iter,
                      HISTORY_CPU, r->cpu,
                      HISTORY_MEMORY, r->memory,
                      HISTORY_READ, r->read_bytes,
                      HISTORY_WRITTEN, r->written,
                      -1);
}

static void
orr_script_page_add_history (OrrScriptPage *self,
                             const char    *script,
                             const char    *query)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *started = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *summary = NULL;
  g_autoptr(GtkTreePath) path = NULL;
  const char *newline;
  GtkTreeIter iter;

  /* The first line that says something. */
  summary = g_strstrip (g_strdup (script));
  newline = strchr (summary, '\n');
  if (newline != NULL)
    summary[newline - summary] = '\0';

  gtk_list_store_insert_with_values (self->history_store, &iter, 0,
                                     HISTORY_STARTED, started,
                                     HISTORY_OUTCOME, C_("outcome", "Running"),
                                     HISTORY_SUMMARY, summary,
                                     HISTORY_SCRIPT, script,
                                     HISTORY_QUERY, query,
                                     HISTORY_SUBMITTED, self->submitted_at,
                                     -1);
  path = gtk_tree_model_get_path (GTK_TREE_MODEL (self->history_store), &iter);
  g_clear_pointer (&self->history_row, gtk_tree_row_reference_free);
  self->history_row = gtk_tree_row_reference_new (GTK_TREE_MODEL (self->history_store), path);
}

static void
orr_script_page_finish_history (OrrScriptPage *self)
{
  g_autoptr(GtkTreePath) path = NULL;
  g_autofree char *elapsed = orr_format_elapsed (orr_job_get_elapsed (self->job));
  g_autofree char *rows_in = orr_format_count (orr_job_get_rows_in (self->job));
  g_autofree char *rows_out = orr_format_count (orr_job_get_rows_out (self->job));
  gint64 finished_at = g_get_real_time ();
  const char *outcome;
  GtkTreeIter iter;

  if (self->history_row == NULL)
    return;
  path = gtk_tree_row_reference_get_path (self->history_row);
  if (path == NULL || !gtk_tree_model_get_iter (GTK_TREE_MODEL (self->history_store), &iter, path))
    return;

  switch (orr_job_get_state (self->job))
    {
    case ORR_JOB_SUCCEEDED:
      outcome = C_("outcome", "Succeeded");
      break;
    case ORR_JOB_CANCELLED:
      outcome = C_("outcome", "Cancelled");
      break;
    default:
      outcome = C_("outcome", "Failed");
      break;
    }
  gtk_list_store_set (self->history_store, &iter,
                      HISTORY_OUTCOME, outcome,
                      HISTORY_ELAPSED, elapsed,
                      HISTORY_ROWS_IN, rows_in,
                      HISTORY_ROWS_OUT, rows_out,
                      HISTORY_FINISHED, finished_at,
                      -1);

  if (self->session != NULL)
    {
      g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, on_resources, self);
      Resources *r = g_new0 (Resources, 1);

      r->row = gtk_tree_row_reference_copy (self->history_row);
      r->finished_at = finished_at;
      g_task_set_source_tag (task, orr_script_page_finish_history);
      g_task_set_task_data (task, r, (GDestroyNotify) resources_free);
      g_object_set_data_full (G_OBJECT (task), "session", g_object_ref (self->session), g_object_unref);
      g_task_run_in_thread (task, resources_worker);
      self->n_busy++;
    }
}

static void
on_history_activated (OrrScriptPage     *self,
                      GtkTreePath       *path,
                      GtkTreeViewColumn *column,
                      GtkTreeView       *view)
{
  g_autofree char *script = NULL;
  g_autofree char *query = NULL;
  GtkTreeIter iter;

  if (!gtk_tree_model_get_iter (GTK_TREE_MODEL (self->history_store), &iter, path))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->history_store), &iter,
                      HISTORY_SCRIPT, &script, HISTORY_QUERY, &query, -1);
  /* Back into the editors, undoably. */
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view)), script, -1);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->query_view)), query, -1);
  gtk_widget_grab_focus (GTK_WIDGET (self->script_view));
}

/* ------------------------------------------------------------ resources */

/* The last job's CPU and memory, live, from the monitor. */
static void
on_monitor_sampled (OrrScriptPage *self,
                    OrrMonitor    *monitor)
{
  g_autofree char *key = NULL;
  g_autoptr(GArray) times = NULL;
  g_autoptr(GArray) cpu = NULL;
  g_autoptr(GArray) memory = NULL;
  OrrMonitorJob *job;
  guint n;
  guint i;

  if (self->job == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self->run_cpu_graph)))
    return;
  key = g_strdup_printf ("%d-%" G_GUINT64_FORMAT, (int) getpid (), orr_job_get_id (self->job));
  job = orr_monitor_lookup_job (monitor, key);
  if (job == NULL)
    return;
  n = orr_monitor_job_get_n_samples (job);
  times = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  cpu = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n);
  memory = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  for (i = 0; i < n; i++)
    {
      const OrrJobSample *sample = orr_monitor_job_get_sample (job, i);
      double user = sample->cpu_user_percent;
      double system = sample->cpu_system_percent;
      double rss = sample->memory_bytes;

      g_array_append_val (times, sample->time);
      g_array_append_val (cpu, user);
      g_array_append_val (cpu, system);
      g_array_append_val (memory, rss);
    }
  orr_graph_set_points (self->run_cpu_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) cpu->data, n);
  orr_graph_set_points (self->run_memory_graph, (gint64 *) (gpointer) times->data, (double *) (gpointer) memory->data, n);
}

static void
orr_script_page_watch (OrrScriptPage *self,
                       OrrMonitor    *monitor)
{
  if (monitor == NULL || self->monitor == monitor)
    return;
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_set_object (&self->monitor, monitor);
  g_signal_connect_object (monitor, "sampled", G_CALLBACK (on_monitor_sampled), self, G_CONNECT_SWAPPED);
}

/* ------------------------------------------------------------------- job */

static void
orr_script_page_finish_job (OrrScriptPage *self)
{
  if (self->job_reported)
    return;
  self->job_reported = TRUE;
  g_clear_handle_id (&self->elapsed_source, g_source_remove);

  switch (orr_job_get_state (self->job))
    {
    case ORR_JOB_SUCCEEDED:
      orr_script_page_show_results (self);
      orr_script_page_show_output_params (self);
      gtk_notebook_set_current_page (self->notebook, PAGE_RESULTS);
      break;
    case ORR_JOB_FAILED:
      orr_script_page_clear_results (self, _("The script failed: see Messages."));
      orr_script_page_report_job_error (self);
      break;
    case ORR_JOB_CANCELLED:
      orr_script_page_clear_results (self, _("The script was cancelled."));
      orr_script_page_begin_message_block (self);
      orr_script_page_append_message (self, _("The script was cancelled.\n"), "info");
      self->last_message_kind = NO_MESSAGE_KIND;
      break;
    default:
      g_assert_not_reached ();
    }

  orr_script_page_update_job_status (self);
  orr_script_page_finish_history (self);
  orr_script_page_update_spinner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
on_job_state_changed (OrrScriptPage *self,
                      guint          state,
                      OrrJob        *job)
{
  if (job != self->job)
    return;

  if (orr_job_is_finished (job))
    orr_script_page_finish_job (self);
  else
    orr_script_page_update_job_status (self);
}

static void
orr_script_page_forget_job (OrrScriptPage *self)
{
  g_clear_handle_id (&self->elapsed_source, g_source_remove);
  if (self->job == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
}

/* The parameters table as the engine takes them; NULL with @error naming
 * the row that is wrong. */
static GPtrArray *
orr_script_page_collect_params (OrrScriptPage  *self,
                                GError        **error)
{
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  GtkTreeModel *model = GTK_TREE_MODEL (self->params_store);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *name = NULL;
      g_autofree char *type = NULL;
      g_autofree char *value = NULL;
      g_autofree char *text = NULL;
      g_autoptr(GError) local_error = NULL;
      gboolean output;
      OrrParam *param;

      gtk_tree_model_get (model, &iter, PARAM_NAME, &name, PARAM_TYPE, &type,
                          PARAM_VALUE, &value, PARAM_OUTPUT, &output, -1);
      if (name == NULL || *g_strstrip (name) == '\0')
        continue;
      /* SQL Server's spelling, @name, is welcome. */
      if (name[0] == '@')
        memmove (name, name + 1, strlen (name));
      if (output)
        text = value != NULL && *value != '\0' ? g_strdup_printf ("%s:%s:out=%s", name, type, value)
                                               : g_strdup_printf ("%s:%s:out", name, type);
      else
        text = g_strdup_printf ("%s:%s=%s", name, type, value != NULL ? value : "");
      param = orr_param_parse (text, &local_error);
      if (param == NULL)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
                       _("Parameter %s: %s"), name, local_error->message);
          return NULL;
        }
      g_ptr_array_add (params, param);
    }
  return g_steal_pointer (&params);
}

/* ---------------------------------------------------------------- T-SQL */

static void orr_script_page_update_file_label (OrrScriptPage *self);

/* What the worker's handler saw, carried to the main thread. */
typedef enum {
  TSQL_OUTPUT,
  TSQL_MESSAGE,
  TSQL_RESULT,
} TsqlEventKind;

typedef struct {
  GWeakRef page;
  TsqlEventKind kind;
  OrrTsqlOutputKind output_kind;
  char *text;
  OrrTsqlMessage *message;
  OrrSchema *schema;
  GPtrArray *batches;
  guint64 n_rows;
} TsqlEvent;

static void
tsql_event_free (TsqlEvent *event)
{
  g_weak_ref_clear (&event->page);
  g_free (event->text);
  g_clear_pointer (&event->message, orr_tsql_message_free);
  g_clear_pointer (&event->schema, orr_schema_unref);
  g_clear_pointer (&event->batches, g_ptr_array_unref);
  g_free (event);
}

static void
orr_script_page_tsql_output (OrrScriptPage     *self,
                             OrrTsqlOutputKind  kind,
                             const char        *text)
{
  switch (kind)
    {
    case ORR_TSQL_OUTPUT_STDOUT:
      on_job_message (self, ORR_JOB_MESSAGE_STDOUT, text, self->job);
      break;
    case ORR_TSQL_OUTPUT_STDERR:
      on_job_message (self, ORR_JOB_MESSAGE_STDERR, text, self->job);
      break;
    case ORR_TSQL_OUTPUT_PRINT:
      if (self->last_message_kind != NO_MESSAGE_KIND)
        orr_script_page_begin_message_block (self);
      self->last_message_kind = NO_MESSAGE_KIND;
      orr_script_page_append_message (self, text, NULL);
      orr_script_page_append_message (self, "\n", NULL);
      break;
    case ORR_TSQL_OUTPUT_NOTICE:
    default:
      orr_script_page_begin_message_block (self);
      orr_script_page_append_message (self, text, "info");
      orr_script_page_append_message (self, "\n", NULL);
      self->last_message_kind = NO_MESSAGE_KIND;
      break;
    }
}

static void
orr_script_page_tsql_message (OrrScriptPage        *self,
                              const OrrTsqlMessage *message)
{
  g_autofree char *text = orr_tsql_message_format (message);

  orr_script_page_begin_message_block (self);
  /* "Line N" of a one-batch script is line N of the editor: a link. */
  if (self->tsql_first_error_line >= 0)
    orr_script_page_append_linked (self, text, self->line_regex, "error");
  else
    orr_script_page_append_message (self, text, "error");
  orr_script_page_append_message (self, "\n", NULL);
  self->last_message_kind = NO_MESSAGE_KIND;
  if (!self->tsql_failed)
    {
      g_autofree char *what = g_strdup_printf (_("The batch failed: %s"), message->text);
      g_autofree char *todo = NULL;

      if (message->line > 0 && self->tsql_first_error_line >= 0)
        {
          todo = g_strdup_printf (_("The cursor is on line %d; the messages are under Messages."), message->line);
          orr_script_page_goto_script_line (self, message->line);
        }
      else
        todo = g_strdup (_("The messages are under Messages."));
      orr_info_bar_show_error (self->info_bar, what, todo);
      gtk_notebook_set_current_page (self->notebook, PAGE_MESSAGES);
    }
  self->tsql_failed = TRUE;
}

static void
orr_script_page_tsql_result (OrrScriptPage *self,
                             OrrSchema     *schema,
                             GPtrArray     *batches,
                             guint64        n_rows)
{
  g_autoptr(OrrBatchModel) model = orr_batch_model_new (schema, batches);
  g_autofree char *rows = orr_format_count (n_rows);
  g_autofree char *line = NULL;

  /* The last result set is the one in the grid; Messages counts them all, as SSMS does. */
  orr_script_page_show_model (self, GTK_TREE_MODEL (model));
  self->tsql_results++;
  self->tsql_rows += n_rows;
  orr_script_page_begin_message_block (self);
  line = g_strdup_printf (ngettext ("(%s row affected)\n", "(%s rows affected)\n", (gulong) MIN (n_rows, G_MAXULONG)), rows);
  orr_script_page_append_message (self, line, "info");
  self->last_message_kind = NO_MESSAGE_KIND;
}

static gboolean
deliver_tsql_event (gpointer data)
{
  TsqlEvent *event = data;
  g_autoptr(OrrScriptPage) self = g_weak_ref_get (&event->page);

  if (self == NULL || self->tsql == NULL)
    return G_SOURCE_REMOVE;
  switch (event->kind)
    {
    case TSQL_OUTPUT:
      orr_script_page_tsql_output (self, event->output_kind, event->text);
      break;
    case TSQL_MESSAGE:
      orr_script_page_tsql_message (self, event->message);
      break;
    case TSQL_RESULT:
      orr_script_page_tsql_result (self, event->schema, event->batches, event->n_rows);
      break;
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

static TsqlEvent *
tsql_event_new (gpointer      user_data,
                TsqlEventKind kind)
{
  TsqlEvent *event = g_new0 (TsqlEvent, 1);
  GWeakRef *page = user_data;
  g_autoptr(GObject) object = g_weak_ref_get (page);

  g_weak_ref_init (&event->page, object);
  event->kind = kind;
  return event;
}

static void
post_tsql_event (TsqlEvent *event)
{
  /* In order: idle sources of one priority run first in, first out. */
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, deliver_tsql_event, event,
                              (GDestroyNotify) tsql_event_free);
}

static void
tsql_on_output (OrrTsqlOutputKind  kind,
                const char        *text,
                gpointer           user_data)
{
  TsqlEvent *event = tsql_event_new (user_data, TSQL_OUTPUT);

  event->output_kind = kind;
  event->text = g_strdup (text);
  post_tsql_event (event);
}

static void
tsql_on_message (const OrrTsqlMessage *message,
                 gpointer              user_data)
{
  TsqlEvent *event = tsql_event_new (user_data, TSQL_MESSAGE);

  event->message = orr_tsql_message_copy (message);
  post_tsql_event (event);
}

static void
tsql_on_result (OrrSchema *schema,
                GPtrArray *batches,
                guint64    n_rows,
                gpointer   user_data)
{
  TsqlEvent *event = tsql_event_new (user_data, TSQL_RESULT);

  event->schema = orr_schema_ref (schema);
  event->batches = g_ptr_array_ref (batches);
  event->n_rows = n_rows;
  post_tsql_event (event);
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

/* Runs the batches in a worker thread: orr_tsql_session_run() blocks and
 * iterates the thread's own main context while each script runs. */
static void
tsql_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  static const OrrTsqlHandler handler = {
    .output = tsql_on_output,
    .message = tsql_on_message,
    .result = tsql_on_result,
  };
  OrrTsqlSession *tsql = task_data;
  const char *text = g_object_get_data (G_OBJECT (task), "text");
  GWeakRef *page = g_object_get_data (G_OBJECT (task), "page");
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean ok;

  g_main_context_push_thread_default (context);
  ok = orr_tsql_session_run (tsql, text, -1, &handler, page);
  g_main_context_pop_thread_default (context);
  g_task_return_boolean (task, ok);
}

static gboolean
finish_tsql (gpointer data)
{
  GTask *task = data;
  g_autoptr(OrrScriptPage) self = g_weak_ref_get (g_object_get_data (G_OBJECT (task), "page"));
  gboolean ok = g_task_propagate_boolean (task, NULL);
  g_autofree char *elapsed = NULL;
  g_autofree char *rows = NULL;
  g_autofree char *status = NULL;
  g_autoptr(GtkTreePath) path = NULL;
  GtkTreeIter iter;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  g_clear_object (&self->tsql);
  elapsed = orr_format_elapsed (g_get_real_time () - self->tsql_started);
  rows = orr_format_rows (self->tsql_rows);
  if (ok && !self->tsql_failed)
    /* Translators: "Finished in 0.84 s — 2 result sets, 150 rows". */
    status = g_strdup_printf (ngettext ("Finished in %s — %u result set, %s", "Finished in %s — %u result sets, %s",
                                        self->tsql_results),
                              elapsed, self->tsql_results, rows);
  else
    status = g_strdup_printf (_("Failed after %s"), elapsed);
  orr_script_page_set_status (self, status);
  if (self->results == NULL)
    orr_script_page_clear_results (self, ok ? _("The batch returned no result set.") : _("The batch failed: see Messages."));
  else if (ok && !self->tsql_failed)
    gtk_notebook_set_current_page (self->notebook, PAGE_RESULTS);

  path = self->history_row != NULL ? gtk_tree_row_reference_get_path (self->history_row) : NULL;
  if (path != NULL && gtk_tree_model_get_iter (GTK_TREE_MODEL (self->history_store), &iter, path))
    {
      g_autofree char *rows_out = orr_format_count (self->tsql_rows);

      gtk_list_store_set (self->history_store, &iter,
                          HISTORY_OUTCOME, ok && !self->tsql_failed ? C_("outcome", "Succeeded") : C_("outcome", "Failed"),
                          HISTORY_ELAPSED, elapsed,
                          HISTORY_ROWS_OUT, rows_out,
                          HISTORY_FINISHED, g_get_real_time (),
                          -1);
    }
  g_clear_handle_id (&self->elapsed_source, g_source_remove);
  orr_script_page_update_spinner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return G_SOURCE_REMOVE;
}

static void
on_tsql_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  /* After every event the worker posted: they are queued ahead. */
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, finish_tsql, g_object_ref (result), g_object_unref);
}

static gboolean
on_tsql_tick (gpointer user_data)
{
  OrrScriptPage *self = user_data;
  g_autofree char *elapsed = orr_format_elapsed (g_get_real_time () - self->tsql_started);
  g_autofree char *text = g_strdup_printf (_("Running the batch — %s"), elapsed);

  orr_script_page_set_status (self, text);
  return G_SOURCE_CONTINUE;
}

static void
orr_script_page_run_tsql (OrrScriptPage *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *text = dup_view_text (GTK_TEXT_VIEW (self->script_view));
  g_autoptr(GPtrArray) batches = orr_tsql_parse_script (text, -1);
  GWeakRef *page = g_new0 (GWeakRef, 1);

  orr_script_page_forget_job (self);
  orr_info_bar_hide (self->info_bar);
  orr_script_page_clear_messages (self);
  orr_script_page_clear_results (self, _("Running…"));

  /* Its error lines are the editor's only when the script is one batch. */
  self->tsql_first_error_line = batches->len == 1 ? 0 : -1;
  self->tsql_results = 0;
  self->tsql_rows = 0;
  self->tsql_failed = FALSE;
  self->tsql_started = g_get_real_time ();
  self->submitted_at = self->tsql_started;
  self->tsql = orr_tsql_session_new (orr_session_get_engine (self->session),
                                     orr_session_get_connection (self->session));

  g_weak_ref_init (page, self);
  task = g_task_new (NULL, NULL, on_tsql_done, NULL);
  g_task_set_source_tag (task, orr_script_page_run_tsql);
  g_task_set_task_data (task, g_object_ref (self->tsql), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "text", g_strdup (text), g_free);
  g_object_set_data_full (G_OBJECT (task), "page", page, (GDestroyNotify) weak_ref_free);
  g_task_run_in_thread (task, tsql_worker);

  self->elapsed_source = g_timeout_add (ELAPSED_INTERVAL_MS, on_tsql_tick, self);
  orr_script_page_add_history (self, text, "");
  on_tsql_tick (self);
  orr_script_page_update_spinner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
on_mode_toggled (OrrScriptPage   *self,
                 GtkToggleButton *python_mode)
{
  gboolean tsql = orr_script_page_is_tsql (self);

  gtk_text_view_set_buffer (GTK_TEXT_VIEW (self->script_view),
                            GTK_TEXT_BUFFER (tsql ? self->tsql_buffer : self->python_buffer));
  gtk_label_set_text_with_mnemonic (self->script_label, tsql ? _("_Batch (T-SQL)") : _("_Script (Python)"));
  gtk_widget_set_sensitive (self->inputs_box, !tsql);
  gtk_widget_set_tooltip_text (self->inputs_box,
                               tsql ? _("In T-SQL, the input query, names and parameters are arguments of sp_execute_external_script.")
                                    : NULL);
  orr_set_accessible_name (GTK_WIDGET (self->script_view), tsql ? _("T-SQL batch") : _("Python script"));
  orr_script_page_update_file_label (self);
}

void
orr_script_page_run (OrrScriptPage *self)
{
  g_autoptr(OrrJobSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autofree char *query = NULL;
  g_autofree char *input_name = NULL;
  g_autofree char *output_name = NULL;
  GtkWidget *toplevel;

  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  if (orr_script_page_is_running (self))
    return;
  if (self->session == NULL)
    {
      orr_info_bar_show_error (self->info_bar, _("Not connected to a database"),
                               _("Connect on the Connect page, then run the script."));
      return;
    }

  if (orr_script_page_is_tsql (self))
    {
      orr_script_page_run_tsql (self);
      return;
    }

  params = orr_script_page_collect_params (self, &error);
  if (params == NULL)
    {
      orr_info_bar_show_error (self->info_bar, error->message,
                               _("Correct the parameter in the table, then run again."));
      return;
    }

  spec = orr_job_spec_new ();
  spec->script = dup_view_text (GTK_TEXT_VIEW (self->script_view));
  query = dup_view_text (GTK_TEXT_VIEW (self->query_view));
  if (*g_strstrip (query) != '\0')
    spec->input_query = g_strdup (query);
  input_name = g_strstrip (g_strdup (gtk_entry_get_text (self->input_name_entry)));
  output_name = g_strstrip (g_strdup (gtk_entry_get_text (self->output_name_entry)));
  if (*input_name != '\0')
    spec->input_name = g_steal_pointer (&input_name);
  if (*output_name != '\0')
    spec->output_name = g_steal_pointer (&output_name);
  if (params->len > 0)
    spec->params = g_steal_pointer (&params);

  orr_script_page_forget_job (self);
  orr_info_bar_hide (self->info_bar);
  orr_script_page_clear_messages (self);
  orr_script_page_clear_results (self, _("Running…"));

  self->submitted_at = g_get_real_time ();
  self->job = orr_engine_submit (orr_session_get_engine (self->session),
                                 orr_session_get_connection (self->session), spec);
  self->job_reported = FALSE;
  toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  if (GTK_IS_WINDOW (toplevel) && ORR_IS_APPLICATION (gtk_window_get_application (GTK_WINDOW (toplevel))))
    {
      OrrApplication *app = ORR_APPLICATION (gtk_window_get_application (GTK_WINDOW (toplevel)));

      orr_application_track_job (app, self->job);
      orr_script_page_watch (self, orr_application_get_monitor (app));
    }
  orr_graph_set_points (self->run_cpu_graph, NULL, NULL, 0);
  orr_graph_set_points (self->run_memory_graph, NULL, NULL, 0);
  g_signal_connect_object (self->job, "state-changed",
                           G_CALLBACK (on_job_state_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "message",
                           G_CALLBACK (on_job_message), self, G_CONNECT_SWAPPED);
  self->elapsed_source = g_timeout_add (ELAPSED_INTERVAL_MS, on_elapsed_tick, self);

  orr_script_page_add_history (self, spec->script, query);
  orr_script_page_update_job_status (self);
  orr_script_page_update_spinner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

void
orr_script_page_cancel (OrrScriptPage *self)
{
  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  if (self->tsql != NULL)
    orr_tsql_session_cancel (self->tsql);
  else if (orr_script_page_is_running (self))
    orr_job_cancel (self->job);
}

/* ------------------------------------------------------------ parameters */

static gboolean
param_iter (OrrScriptPage *self,
            const char    *path_text,
            GtkTreeIter   *iter)
{
  return gtk_tree_model_get_iter_from_string (GTK_TREE_MODEL (self->params_store), iter, path_text);
}

static void
on_add_param_clicked (OrrScriptPage *self,
                      GtkButton     *button)
{
  g_autoptr(GtkTreePath) path = NULL;
  GtkTreeIter iter;

  gtk_list_store_insert_with_values (self->params_store, &iter, -1,
                                     PARAM_NAME, "", PARAM_TYPE, "int", PARAM_VALUE, "", PARAM_OUTPUT, FALSE,
                                     -1);
  path = gtk_tree_model_get_path (GTK_TREE_MODEL (self->params_store), &iter);
  gtk_widget_grab_focus (GTK_WIDGET (self->params_view));
  gtk_tree_view_set_cursor (self->params_view, path, gtk_tree_view_get_column (self->params_view, PARAM_NAME), TRUE);
}

static void
on_remove_param_clicked (OrrScriptPage *self,
                         GtkButton     *button)
{
  GtkTreeIter iter;

  if (gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->params_view), NULL, &iter))
    gtk_list_store_remove (self->params_store, &iter);
}

static void
on_params_selection_changed (OrrScriptPage    *self,
                             GtkTreeSelection *selection)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->remove_param_button),
                            gtk_tree_selection_count_selected_rows (selection) > 0);
}

static void
on_param_name_edited (OrrScriptPage       *self,
                      const char          *path_text,
                      const char          *text,
                      GtkCellRendererText *renderer)
{
  GtkTreeIter iter;

  if (param_iter (self, path_text, &iter))
    gtk_list_store_set (self->params_store, &iter, PARAM_NAME, text, -1);
}

static void
on_param_type_edited (OrrScriptPage       *self,
                      const char          *path_text,
                      const char          *text,
                      GtkCellRendererText *renderer)
{
  GtkTreeIter iter;

  if (param_iter (self, path_text, &iter))
    gtk_list_store_set (self->params_store, &iter, PARAM_TYPE, text, -1);
}

static void
on_param_value_edited (OrrScriptPage       *self,
                       const char          *path_text,
                       const char          *text,
                       GtkCellRendererText *renderer)
{
  GtkTreeIter iter;

  if (param_iter (self, path_text, &iter))
    gtk_list_store_set (self->params_store, &iter, PARAM_VALUE, text, -1);
}

static void
on_param_output_toggled (OrrScriptPage         *self,
                         const char            *path_text,
                         GtkCellRendererToggle *renderer)
{
  GtkTreeIter iter;
  gboolean output;

  if (!param_iter (self, path_text, &iter))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->params_store), &iter, PARAM_OUTPUT, &output, -1);
  gtk_list_store_set (self->params_store, &iter, PARAM_OUTPUT, !output, -1);
}

/* ---------------------------------------------------------------- files */

static void
orr_script_page_update_file_label (OrrScriptPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view));
  gboolean modified = gtk_text_buffer_get_modified (buffer);
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;

  if (*current_file (self) != NULL)
    {
      name = g_file_get_basename (*current_file (self));
      /* Translators: the script's file name, and a mark when it has unsaved changes. */
      text = modified ? g_strdup_printf (_("%s (modified)"), name) : g_strdup (name);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->file_label), g_file_peek_path (*current_file (self)));
    }
  gtk_label_set_text (self->file_label, text != NULL ? text : "");
}

static void
on_script_modified_changed (OrrScriptPage *self,
                            GtkTextBuffer *buffer)
{
  orr_script_page_update_file_label (self);
}

static void
on_file_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GFile *file = G_FILE (source);
  OrrScriptPage *self;
  GtkSourceBuffer *buffer;
  GtkTextIter start;

  if (!g_file_load_contents_finish (file, result, &contents, &length, NULL, &error) &&
      orr_error_is_cancelled (error))
    return;
  self = ORR_SCRIPT_PAGE (user_data);
  self->n_busy--;
  orr_script_page_update_spinner (self);

  if (error == NULL && !g_utf8_validate (contents, length, NULL))
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The file is not UTF-8 text"));
  if (error != NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The script could not be opened: %s"), error->message);

      orr_info_bar_show_error (self->info_bar, what, _("Choose a Python file saved as UTF-8 text."));
      return;
    }

  buffer = GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view)));
  gtk_source_buffer_begin_not_undoable_action (buffer);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), contents, (int) length);
  gtk_source_buffer_end_not_undoable_action (buffer);
  gtk_text_buffer_get_start_iter (GTK_TEXT_BUFFER (buffer), &start);
  gtk_text_buffer_place_cursor (GTK_TEXT_BUFFER (buffer), &start);
  g_set_object (current_file (self), file);
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (buffer), FALSE);
  orr_script_page_update_file_label (self);
}

static GtkFileFilter *
script_filter (OrrScriptPage *self)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  if (orr_script_page_is_tsql (self))
    {
      gtk_file_filter_set_name (filter, _("T-SQL scripts"));
      gtk_file_filter_add_mime_type (filter, "application/sql");
      gtk_file_filter_add_pattern (filter, "*.sql");
      return filter;
    }
  gtk_file_filter_set_name (filter, _("Python scripts"));
  gtk_file_filter_add_mime_type (filter, "text/x-python");
  gtk_file_filter_add_mime_type (filter, "text/x-python3");
  gtk_file_filter_add_pattern (filter, "*.py");
  return filter;
}

static void
on_open_response (OrrScriptPage        *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_file_load_contents_async (file, self->cancellable, on_file_loaded, self);
      self->n_busy++;
      orr_script_page_update_spinner (self);
    }
  g_object_unref (chooser);
}

static GtkWindow *
toplevel_window (OrrScriptPage *self)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));

  return GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL;
}

void
orr_script_page_open (OrrScriptPage *self)
{
  GtkFileChooserNative *chooser;

  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  chooser = gtk_file_chooser_native_new (orr_script_page_is_tsql (self) ? _("Open a T-SQL Script")
                                                                        : _("Open a Python Script"),
                                         toplevel_window (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), script_filter (self));
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_open_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_file_saved (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GFile *file = G_FILE (source);
  OrrScriptPage *self;
  g_autofree char *saved_text = g_object_steal_data (G_OBJECT (file), "orr-saved-text");
  GtkTextBuffer *buffer;
  g_autofree char *now = NULL;

  if (!g_file_replace_contents_finish (file, result, NULL, &error) && orr_error_is_cancelled (error))
    return;
  self = ORR_SCRIPT_PAGE (user_data);
  self->n_busy--;
  orr_script_page_update_spinner (self);

  if (error != NULL)
    {
      g_autofree char *what = g_strdup_printf (_("The script could not be saved: %s"), error->message);

      orr_info_bar_show_error (self->info_bar, what, _("Save it elsewhere with Save As (Ctrl+Shift+S)."));
      return;
    }
  g_set_object (current_file (self), file);
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view));
  /* Unmodified only if nothing was typed while it was written. */
  now = dup_view_text (GTK_TEXT_VIEW (self->script_view));
  if (g_strcmp0 (now, saved_text) == 0)
    gtk_text_buffer_set_modified (buffer, FALSE);
  orr_script_page_update_file_label (self);
}

static void
orr_script_page_save_to (OrrScriptPage *self,
                         GFile         *file)
{
  char *text = dup_view_text (GTK_TEXT_VIEW (self->script_view));
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  g_object_set_data_full (G_OBJECT (file), "orr-saved-text", text, g_free);
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_NONE,
                                       self->cancellable, on_file_saved, self);
  self->n_busy++;
  orr_script_page_update_spinner (self);
}

static void
on_save_response (OrrScriptPage        *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      orr_script_page_save_to (self, file);
    }
  g_object_unref (chooser);
}

void
orr_script_page_save (OrrScriptPage *self,
                      gboolean       save_as)
{
  GtkFileChooserNative *chooser;

  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  if (*current_file (self) != NULL && !save_as)
    {
      orr_script_page_save_to (self, *current_file (self));
      return;
    }
  chooser = gtk_file_chooser_native_new (orr_script_page_is_tsql (self) ? _("Save the T-SQL Script")
                                                                        : _("Save the Python Script"),
                                         toplevel_window (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), script_filter (self));
  if (*current_file (self) != NULL)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), *current_file (self), NULL);
  else
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser),
                                       orr_script_page_is_tsql (self) ? _("batch.sql") : _("script.py"));
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_save_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* --------------------------------------------------------------- export */

static void
on_exported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 n_rows = orr_export_finish (result, &error);
  OrrScriptPage *self;
  g_autofree char *name = NULL;
  g_autofree char *rows = NULL;
  g_autofree char *what = NULL;

  if (n_rows < 0 && orr_error_is_cancelled (error))
    return;
  self = ORR_SCRIPT_PAGE (user_data);
  self->n_busy--;
  orr_script_page_update_spinner (self);

  if (n_rows < 0)
    {
      what = g_strdup_printf (_("The results could not be exported: %s"), error->message);
      orr_info_bar_show_error (self->info_bar, what, _("Choose another folder or file name, then export again."));
      return;
    }
  name = self->export_file != NULL ? g_file_get_parse_name (self->export_file) : g_strdup ("");
  g_clear_object (&self->export_file);
  rows = orr_format_rows (n_rows);
  /* Translators: "Exported 150 rows to /home/me/results.csv." */
  what = g_strdup_printf (_("Exported %s to %s."), rows, name);
  orr_info_bar_show (self->info_bar, GTK_MESSAGE_INFO, what, NULL);
}

void
orr_script_page_export_to_file (OrrScriptPage   *self,
                                GFile           *file,
                                OrrExportFormat  format)
{
  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->results == NULL)
    return;
  g_set_object (&self->export_file, file);
  orr_export_async (file, format, orr_batch_model_get_schema (self->results),
                    orr_batch_model_get_batches (self->results), self->cancellable, on_exported, self);
  self->n_busy++;
  orr_script_page_update_spinner (self);
}

static void
on_export_response (OrrScriptPage        *self,
                    int                   response,
                    GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *name = NULL;
  GtkFileFilter *filter;
  OrrExportFormat format;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      name = g_file_get_basename (file);
      filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (chooser));
      format = orr_export_format_for_name (name);
      /* A name without an extension takes the chosen filter's format. */
      if (strchr (name, '.') == NULL && filter != NULL)
        format = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (filter), "orr-format"));
      orr_script_page_export_to_file (self, file, format);
    }
  g_object_unref (chooser);
}

void
orr_script_page_export (OrrScriptPage *self)
{
  GtkFileChooserNative *chooser;
  GtkFileFilter *csv;
  GtkFileFilter *json;

  g_return_if_fail (ORR_IS_SCRIPT_PAGE (self));

  if (self->results == NULL)
    {
      orr_info_bar_show (self->info_bar, GTK_MESSAGE_INFO, _("There are no results to export"),
                         _("Run a script that leaves rows in OutputDataSet first."));
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Export the Results"), toplevel_window (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (chooser), TRUE);
  csv = gtk_file_filter_new ();
  gtk_file_filter_set_name (csv, _("CSV (comma-separated values)"));
  gtk_file_filter_add_pattern (csv, "*.csv");
  g_object_set_data (G_OBJECT (csv), "orr-format", GINT_TO_POINTER (ORR_EXPORT_CSV));
  json = gtk_file_filter_new ();
  gtk_file_filter_set_name (json, _("JSON"));
  gtk_file_filter_add_pattern (json, "*.json");
  g_object_set_data (G_OBJECT (json), "orr-format", GINT_TO_POINTER (ORR_EXPORT_JSON));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), csv);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), json);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), _("results.csv"));
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_export_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ------------------------------------------------------------ OrrPage */

static void
orr_script_page_set_session (OrrPage    *page,
                             OrrSession *session)
{
  OrrScriptPage *self = ORR_SCRIPT_PAGE (page);

  g_set_object (&self->session, session);
  if (orr_script_page_is_running (self))
    return;
  if (session != NULL)
    {
      orr_info_bar_hide (self->info_bar);
      orr_script_page_set_status (self, _("Connected: press F5 to run the script"));
    }
  else
    orr_script_page_set_status (self, _("Not connected"));
}

static OrrInfoBar *
orr_script_page_get_info_bar (OrrPage *page)
{
  return ORR_SCRIPT_PAGE (page)->info_bar;
}

static void
orr_script_page_page_init (OrrPageInterface *iface)
{
  iface->set_session = orr_script_page_set_session;
  iface->get_info_bar = orr_script_page_get_info_bar;
}

/* ------------------------------------------------------------ the class */

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
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (buffer), FALSE);
  gtk_text_buffer_get_start_iter (GTK_TEXT_BUFFER (buffer), &start);
  gtk_text_buffer_place_cursor (GTK_TEXT_BUFFER (buffer), &start);
}

static void
setup_messages_view (OrrScriptPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->messages_view);
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self->messages_view));
  GdkRGBA error_color;
  GtkTextIter end;

  if (!gtk_style_context_lookup_color (context, "error_color", &error_color))
    gdk_rgba_parse (&error_color, "#c01c28");
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->link_color))
    gdk_rgba_parse (&self->link_color, "#1c71d8");

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

static void
orr_script_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  OrrScriptPage *self = ORR_SCRIPT_PAGE (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, orr_script_page_is_running (self));
      break;
    case PROP_HAS_RESULTS:
      g_value_set_boolean (value, orr_script_page_has_results (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_script_page_dispose (GObject *object)
{
  OrrScriptPage *self = ORR_SCRIPT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (orr_script_page_is_running (self))
    orr_job_cancel (self->job);
  orr_script_page_forget_job (self);
  g_clear_pointer (&self->history_row, gtk_tree_row_reference_free);
  g_clear_object (&self->results);
  g_clear_object (&self->session);
  g_clear_object (&self->file);
  g_clear_object (&self->export_file);
  g_clear_object (&self->tsql_file);
  if (self->tsql != NULL)
    orr_tsql_session_cancel (self->tsql);
  g_clear_object (&self->tsql);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->python_buffer);
  g_clear_object (&self->tsql_buffer);
  g_clear_pointer (&self->script_line_regex, g_regex_unref);
  g_clear_pointer (&self->line_regex, g_regex_unref);

  G_OBJECT_CLASS (orr_script_page_parent_class)->dispose (object);
}

static void
orr_script_page_class_init (OrrScriptPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = orr_script_page_dispose;
  object_class->get_property = orr_script_page_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_RESULTS] =
    g_param_spec_boolean ("has-results", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (ORR_TYPE_INFO_BAR);
  g_type_ensure (ORR_TYPE_GRAPH);
  g_type_ensure (GTK_SOURCE_TYPE_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/orrery/Console/ui/orr-script-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, info_bar);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, file_label);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, script_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, query_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, script_label);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, tsql_mode);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, inputs_box);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, input_name_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, output_name_entry);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, params_store);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, params_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, remove_param_button);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, notebook);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, results_stack);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, results_placeholder);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, results_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, messages_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, history_store);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, history_view);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, run_cpu_graph);
  gtk_widget_class_bind_template_child (widget_class, OrrScriptPage, run_memory_graph);
  /* Not used here, but reachable for tests through gtk_widget_get_template_child(). */
  gtk_widget_class_bind_template_child_full (widget_class, "run_button", FALSE, 0);
  gtk_widget_class_bind_template_child_full (widget_class, "python_mode", FALSE, 0);
  gtk_widget_class_bind_template_child_full (widget_class, "cancel_button", FALSE, 0);
  gtk_widget_class_bind_template_child_full (widget_class, "export_button", FALSE, 0);
  gtk_widget_class_bind_template_callback (widget_class, on_messages_event_after);
  gtk_widget_class_bind_template_callback (widget_class, on_messages_key_press);
  gtk_widget_class_bind_template_callback (widget_class, on_messages_motion);
  gtk_widget_class_bind_template_callback (widget_class, on_add_param_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_param_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_params_selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_param_name_edited);
  gtk_widget_class_bind_template_callback (widget_class, on_param_type_edited);
  gtk_widget_class_bind_template_callback (widget_class, on_param_value_edited);
  gtk_widget_class_bind_template_callback (widget_class, on_param_output_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_history_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_mode_toggled);
}

static void
orr_script_page_init (OrrScriptPage *self)
{
  static const char * const python_ids[] = { "python3", "python", NULL };
  static const char * const sql_ids[] = { "sql", NULL };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  /* Python names the script's frames File "<script>", line N. */
  self->script_line_regex = g_regex_new ("\"<script>\", (line ([0-9]+))", G_REGEX_OPTIMIZE, 0, NULL);
  self->line_regex = g_regex_new ("\\b(line ([0-9]+))\\b", G_REGEX_OPTIMIZE, 0, NULL);

  setup_source_view (self->script_view, python_ids, "OutputDataSet = InputDataSet");
  setup_source_view (self->query_view, sql_ids, "SELECT * FROM iris");
  self->python_buffer = g_object_ref (GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view))));
  /* The T-SQL batch has a buffer of its own, swapped in by the mode buttons. */
  self->tsql_buffer = gtk_source_buffer_new (NULL);
  gtk_source_buffer_set_language (self->tsql_buffer,
                                  gtk_source_language_manager_get_language (gtk_source_language_manager_get_default (), "sql"));
  gtk_source_buffer_begin_not_undoable_action (self->tsql_buffer);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (self->tsql_buffer),
                            "EXEC sp_execute_external_script\n"
                            "    @language = N'Python',\n"
                            "    @script = N'OutputDataSet = InputDataSet',\n"
                            "    @input_data_1 = N'SELECT * FROM iris'\n"
                            "WITH RESULT SETS UNDEFINED;\n", -1);
  gtk_source_buffer_end_not_undoable_action (self->tsql_buffer);
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->tsql_buffer), FALSE);
  g_signal_connect_object (self->tsql_buffer, "modified-changed",
                           G_CALLBACK (on_script_modified_changed), self, G_CONNECT_SWAPPED);
  setup_messages_view (self);
  g_signal_connect_object (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->script_view)), "modified-changed",
                           G_CALLBACK (on_script_modified_changed), self, G_CONNECT_SWAPPED);
  orr_set_accessible_name (GTK_WIDGET (self->script_view), _("Python script"));
  orr_set_accessible_name (GTK_WIDGET (self->query_view), _("Input query"));
  gtk_widget_add_events (GTK_WIDGET (self->messages_view), GDK_POINTER_MOTION_MASK);

  {
    static const char * const cpu_colors[] = { "#3584e4", "#e66100" };
    static const char * const memory_colors[] = { "#2ec27e" };
    const char *names[2] = { _("user"), _("system") };

    orr_graph_set_title (self->run_cpu_graph, _("CPU of this run"));
    orr_graph_set_unit (self->run_cpu_graph, ORR_GRAPH_PERCENT);
    orr_graph_set_series (self->run_cpu_graph, 2, names, cpu_colors);
    names[0] = _("resident");
    orr_graph_set_title (self->run_memory_graph, _("Memory of this run"));
    orr_graph_set_unit (self->run_memory_graph, ORR_GRAPH_BYTES);
    orr_graph_set_series (self->run_memory_graph, 1, names, memory_colors);
  }
}
