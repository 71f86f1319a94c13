/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-console"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "orr-batch-model.h"
#include "orr-catalog.h"
#include "orr-connect-page.h"
#include "orr-demo.h"
#include "orr-graph.h"
#include "orr-info-bar.h"
#include "orr-jobs-page.h"
#include "orr-pool-dialog.h"
#include "orr-pools-page.h"
#include "orr-keyring.h"
#include "orr-script-page.h"
#include "orr-security-page.h"
#include "orr-server-page.h"
#include "orr-application.h"
#include "orr-window.h"

/* Generous: the first job of a process starts the satellite zygote, and the
 * sanitizer build is slow. */
#define WAIT_SECONDS 120
#define MODEL_ROWS 1000000
#define BATCH_ROWS 10000

static OrrApplication *app;
static gboolean have_display;
static char *tmp_dir;

typedef struct {
  OrrWindow *window;
} Fixture;

/* ------------------------------------------------------------ helpers */

static gpointer
window_child (Fixture    *f,
              const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (f->window), ORR_TYPE_WINDOW, name);

  g_assert_nonnull (object);
  return object;
}

static gpointer
page (Fixture    *f,
      const char *name)
{
  g_autofree char *child_name = g_strdup_printf ("%s_page", name);

  return window_child (f, child_name);
}

static gpointer
page_child (Fixture    *f,
            const char *page_name,
            GType       type,
            const char *name)
{
  GObject *object = gtk_widget_get_template_child (page (f, page_name), type, name);

  g_assert_nonnull (object);
  return object;
}

#define SCRIPT(f, name) page_child (f, "script", ORR_TYPE_SCRIPT_PAGE, name)
#define CONNECT(f, name) page_child (f, "connect", ORR_TYPE_CONNECT_PAGE, name)
#define SERVER(f, name) page_child (f, "server", ORR_TYPE_SERVER_PAGE, name)
#define SECURITY(f, name) page_child (f, "security", ORR_TYPE_SECURITY_PAGE, name)
#define JOBS(f, name) page_child (f, "jobs", ORR_TYPE_JOBS_PAGE, name)
#define POOLS(f, name) page_child (f, "pools", ORR_TYPE_POOLS_PAGE, name)

static char *
dup_buffer_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
set_buffer_text (GtkTextView *view,
                 const char  *text)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (view), text, -1);
}

static gboolean
action_enabled (Fixture    *f,
                const char *name)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), name);
}

static gboolean
on_timeout (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (Fixture *f);

static void
wait_for (Fixture   *f,
          Condition  done)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, on_timeout, &timed_out);

  while (!done (f) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
drain_events (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
is_idle (Fixture *f)
{
  return !orr_window_is_connecting (f->window) &&
         !orr_script_page_is_busy (page (f, "script")) &&
         !orr_server_page_is_busy (page (f, "server")) &&
         !orr_security_page_is_busy (page (f, "security")) &&
         !orr_jobs_page_is_busy (page (f, "jobs")) &&
         !orr_pools_page_is_busy (page (f, "pools"));
}

/* Runs the main loop until nothing connects, runs or loads. */
static void
wait_until_idle (Fixture *f)
{
  wait_for (f, is_idle);
}

static void
run_script (Fixture *f)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "run", NULL);
  g_assert_false (action_enabled (f, "run"));
  wait_until_idle (f);
  g_test_message ("Run: %s", gtk_label_get_text (SCRIPT (f, "status_label")));
  if (orr_info_bar_is_shown (SCRIPT (f, "info_bar")))
    g_test_message ("The run says: %s", orr_info_bar_get_text (SCRIPT (f, "info_bar")));
}

static void
show_page (Fixture    *f,
           const char *name)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "page", g_variant_new_string (name));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window_child (f, "stack")), ==, name);
  drain_events ();
}

static gboolean
on_draw (GtkWidget *widget,
         cairo_t   *cr,
         gpointer   data)
{
  gboolean *drawn = data;

  *drawn = TRUE;
  return FALSE;
}

static gboolean
is_drawn (Fixture *f)
{
  return *(gboolean *) g_object_get_data (G_OBJECT (f->window), "test-drawn");
}

/* Runs the main loop until @widget has been painted once more. */
static void
wait_for_draw (Fixture   *f,
               GtkWidget *widget)
{
  gboolean drawn = FALSE;
  gulong id = g_signal_connect_after (widget, "draw", G_CALLBACK (on_draw), &drawn);

  g_object_set_data (G_OBJECT (f->window), "test-drawn", &drawn);
  gtk_widget_queue_draw (widget);
  wait_for (f, is_drawn);
  g_signal_handler_disconnect (widget, id);
  g_object_set_data (G_OBJECT (f->window), "test-drawn", NULL);
}

static void
save_screenshot (Fixture    *f,
                 const char *name)
{
  GdkWindow *window = gtk_widget_get_window (GTK_WIDGET (f->window));
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
  g_autofree char *file_name = g_strdup_printf ("%s.png", name);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  gboolean settled = FALSE;

  /* The theme's transitions (a button turning sensitive fades in) end first. */
  g_timeout_add (400, on_timeout, &settled);
  while (!settled)
    g_main_context_iteration (NULL, TRUE);
  wait_for_draw (f, GTK_WIDGET (f->window));
  gdk_display_sync (gdk_display_get_default ());
  pixbuf = gdk_pixbuf_get_from_window (window, 0, 0,
                                       gdk_window_get_width (window), gdk_window_get_height (window));
  g_assert_nonnull (pixbuf);
  g_mkdir_with_parents (dir, 0755);
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", path);
}

/* The target the test databases are reached by: the SQLite test DSN of
 * tools/test.sh, else the demo database. */
static char *
dup_test_target (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(GError) error = NULL;
  char *demo;

  if (dsn != NULL && *dsn != '\0')
    return g_strdup (dsn);
  demo = orr_demo_dup_connection_string (&error);
  g_assert_no_error (error);
  return demo;
}

/* A catalog of our own on @target, to check what the console did. */
static OrrCatalog *
open_catalog (const char *target)
{
  g_autoptr(OrrConnection) connection = orr_connection_new (target);
  g_autoptr(GError) error = NULL;

  orr_connection_open (connection, NULL, &error);
  g_assert_no_error (error);
  return orr_catalog_new (connection);
}

static void
connect_to (Fixture    *f,
            const char *target)
{
  gtk_entry_set_text (CONNECT (f, "target_entry"), target);
  gtk_entry_set_text (CONNECT (f, "user_entry"), "");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "connect", NULL);
  wait_until_idle (f);
  g_assert_nonnull (orr_window_get_session (f->window));
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  g_autoptr(GSettings) settings = NULL;

  if (!have_display)
    return;
  /* Each window opens the last connection at once: make it the demo
   * database, in the test's private XDG_DATA_HOME, whatever the test
   * before connected to. */
  settings = g_settings_new (ORR_APPLICATION_ID);
  g_settings_reset (settings, "last-connection");
  g_settings_reset (settings, "page");
  f->window = orr_window_new (app);
  gtk_window_resize (GTK_WINDOW (f->window), 1100, 740);
  gtk_widget_show (GTK_WIDGET (f->window));
  wait_until_idle (f);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  if (f->window != NULL)
    gtk_widget_destroy (GTK_WIDGET (f->window));
  drain_events ();
}

static gboolean
skip_without_display (void)
{
  if (!have_display)
    g_test_skip ("No display to open windows on (run under xvfb-run)");
  return !have_display;
}

/* --------------------------------------------------------------- tests */

static void
check_accessible (GtkWidget *widget,
                  gpointer   data)
{
  guint *n_checked = data;

  /* Scrolled windows are focusable in GTK 3 only to hand the focus to
   * their child, which is what a screen reader announces. */
  if (gtk_widget_get_can_focus (widget) && !GTK_IS_SCROLLED_WINDOW (widget) && !GTK_IS_VIEWPORT (widget))
    {
      const char *name = atk_object_get_name (gtk_widget_get_accessible (widget));

      if (name == NULL || *name == '\0')
        g_test_message ("%s %p (%s) has no accessible name", G_OBJECT_TYPE_NAME (widget), widget,
                        gtk_widget_get_name (widget));
      g_assert_nonnull (name);
      g_assert_cmpstr (name, !=, "");
      (*n_checked)++;
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), check_accessible, data);
}

static void
test_accessible_names (Fixture       *f,
                       gconstpointer  data)
{
  const char * const pages[] = { "connect", "server", "security", "script", "jobs", "pools" };
  GtkWidget *dialog;
  guint n_checked = 0;
  guint i;

  g_test_summary ("Every focusable widget of every page has an accessible name");
  if (skip_without_display ())
    return;

  for (i = 0; i < G_N_ELEMENTS (pages); i++)
    show_page (f, pages[i]);
  wait_until_idle (f);
  check_accessible (GTK_WIDGET (f->window), &n_checked);
  g_test_message ("%u focusable widgets checked", n_checked);
  g_assert_cmpuint (n_checked, >=, 60);

  /* The pool dialog, too. */
  dialog = GTK_WIDGET (orr_pool_dialog_new (GTK_WINDOW (f->window), NULL));
  gtk_widget_show (dialog);
  drain_events ();
  n_checked = 0;
  check_accessible (dialog, &n_checked);
  g_assert_cmpuint (n_checked, >=, 6);
  gtk_widget_destroy (dialog);
}

/* Whether @action is on the key @keyval with @mods (GTK spells
 * accelerators its own way: compare parsed, not as text). */
static gboolean
has_accel (const char      *action,
           guint            keyval,
           GdkModifierType  mods)
{
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), action);
  guint i;

  for (i = 0; accels[i] != NULL; i++)
    {
      guint accel_key;
      GdkModifierType accel_mods;

      gtk_accelerator_parse (accels[i], &accel_key, &accel_mods);
      if (accel_key == keyval && accel_mods == mods)
        return TRUE;
    }
  return FALSE;
}

static void
test_accels (Fixture       *f,
             gconstpointer  data)
{
  g_test_summary ("Run is on F5 and Ctrl+Return, Cancel on Escape, pages on Alt+1…, files on Ctrl+O/S/E");
  if (skip_without_display ())
    return;

  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (f->window)));
  g_assert_true (has_accel ("win.run", GDK_KEY_F5, 0));
  g_assert_true (has_accel ("win.run", GDK_KEY_Return, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.cancel", GDK_KEY_Escape, 0));
  g_assert_true (has_accel ("win.open", GDK_KEY_o, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.save", GDK_KEY_s, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.export", GDK_KEY_e, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.refresh", GDK_KEY_r, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.page::connect", GDK_KEY_1, GDK_MOD1_MASK));
  g_assert_true (has_accel ("win.page::script", GDK_KEY_4, GDK_MOD1_MASK));
  g_assert_true (has_accel ("win.page::jobs", GDK_KEY_5, GDK_MOD1_MASK));
  g_assert_true (has_accel ("win.page::pools", GDK_KEY_6, GDK_MOD1_MASK));
}

static void
test_pages (Fixture       *f,
            gconstpointer  data)
{
  const char * const names[] = { "connect", "server", "security", "script", "jobs", "pools" };
  GtkStack *stack;
  guint i;

  g_test_summary ("The sidebar's pages are all there, in order, and the page action shows each");
  if (skip_without_display ())
    return;

  stack = window_child (f, "stack");
  for (i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *title = NULL;

      show_page (f, names[i]);
      g_assert_true (gtk_widget_get_mapped (gtk_stack_get_visible_child (stack)));
      gtk_container_child_get (GTK_CONTAINER (stack), gtk_stack_get_visible_child (stack), "title", &title, NULL);
      g_assert_nonnull (title);
    }
  /* An unknown page changes nothing. */
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "page", g_variant_new_string ("nowhere"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "pools");
}

static void
test_demo_run (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *script = NULL;
  g_autofree char *query = NULL;
  GtkTreeModel *model;
  GtkTreeModel *history;
  const char *subtitle;

  g_test_summary ("The window connects to the demo database and shows the iris rows the default "
                  "script returns, through the virtual model; the run is in the history");
  if (skip_without_display ())
    return;

  subtitle = gtk_header_bar_get_subtitle (window_child (f, "header_bar"));
  g_assert_nonnull (strstr (subtitle, "SQLite"));
  script = dup_buffer_text (SCRIPT (f, "script_view"));
  query = dup_buffer_text (SCRIPT (f, "query_view"));
  g_assert_cmpstr (script, ==, "OutputDataSet = InputDataSet");
  g_assert_cmpstr (query, ==, "SELECT * FROM iris");

  run_script (f);

  g_assert_false (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  model = gtk_tree_view_get_model (SCRIPT (f, "results_view"));
  g_assert_true (ORR_IS_BATCH_MODEL (model));
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, NULL), ==, 150);
  g_assert_cmpint (gtk_tree_model_get_n_columns (model), ==, 5);
  g_assert_cmpuint (gtk_tree_view_get_n_columns (SCRIPT (f, "results_view")), ==, 5);
  g_assert_nonnull (strstr (gtk_label_get_text (SCRIPT (f, "status_label")), "150"));
  g_assert_true (action_enabled (f, "export"));

  history = GTK_TREE_MODEL (SCRIPT (f, "history_store"));
  g_assert_cmpint (gtk_tree_model_iter_n_children (history, NULL), ==, 1);
}

static void
test_output_params (Fixture       *f,
                    gconstpointer  data)
{
  GtkListStore *params;
  GtkTreeIter iter;
  g_autofree char *messages = NULL;
  g_autofree char *value = NULL;

  g_test_summary ("Parameters from the table reach the script; output parameters come back into the table and Messages");
  if (skip_without_display ())
    return;

  params = SCRIPT (f, "params_store");
  gtk_list_store_insert_with_values (params, NULL, -1, 0, "@a", 1, "int", 2, "21", 3, FALSE, -1);
  gtk_list_store_insert_with_values (params, &iter, -1, 0, "total", 1, "int", 2, "", 3, TRUE, -1);
  set_buffer_text (SCRIPT (f, "script_view"), "total = a * 2\nOutputDataSet = InputDataSet");
  set_buffer_text (SCRIPT (f, "query_view"), "SELECT 1 AS one");
  run_script (f);

  g_assert_false (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  gtk_tree_model_get (GTK_TREE_MODEL (params), &iter, 2, &value, -1);
  g_assert_cmpstr (value, ==, "42");
  messages = dup_buffer_text (SCRIPT (f, "messages_view"));
  g_assert_nonnull (strstr (messages, "total = 42"));

  /* A value that does not fit its type is named before anything runs. */
  gtk_list_store_insert_with_values (params, NULL, -1, 0, "bad", 1, "int", 2, "twelve", 3, FALSE, -1);
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "run", NULL);
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  g_assert_nonnull (strstr (orr_info_bar_get_text (SCRIPT (f, "info_bar")), "bad"));
  g_assert_true (action_enabled (f, "run"));
}

/* A GdkEventButton release at the middle of @iter's character, as a
 * click on the messages view delivers it. */
static void
click_at_iter (GtkTextView *view,
               GtkTextIter *iter)
{
  GdkWindow *window = gtk_text_view_get_window (view, GTK_TEXT_WINDOW_TEXT);
  GdkSeat *seat = gdk_display_get_default_seat (gdk_window_get_display (window));
  GdkRectangle rect;
  GdkEvent *event;
  int x;
  int y;

  gtk_text_view_get_iter_location (view, iter, &rect);
  gtk_text_view_buffer_to_window_coords (view, GTK_TEXT_WINDOW_TEXT,
                                         rect.x + rect.width / 2, rect.y + rect.height / 2, &x, &y);
  event = gdk_event_new (GDK_BUTTON_RELEASE);
  event->button.window = g_object_ref (window);
  event->button.send_event = TRUE;
  event->button.time = GDK_CURRENT_TIME;
  event->button.x = x;
  event->button.y = y;
  event->button.button = GDK_BUTTON_PRIMARY;
  gdk_event_set_device (event, gdk_seat_get_pointer (seat));
  gtk_main_do_event (event);
  gdk_event_free (event);
}

static void
test_script_error (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *messages = NULL;
  GtkTextView *messages_view;
  GtkTextBuffer *buffer;
  GtkTextBuffer *messages_buffer;
  GtkTextIter cursor;
  GtkTextIter link;
  gboolean found = FALSE;

  g_test_summary ("Output of the script is shown in blocks under their headings; an error puts the cursor "
                  "on the failing line, and the traceback's line number is a link that goes there");
  if (skip_without_display ())
    return;

  set_buffer_text (SCRIPT (f, "script_view"),
                   "import sys\n"
                   "print('to stdout')\n"
                   "print('to stderr', file=sys.stderr)\n"
                   "x = 1 / 0\n");
  run_script (f);

  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  messages_view = SCRIPT (f, "messages_view");
  messages = dup_buffer_text (messages_view);
  g_test_message ("%s", messages);
  g_assert_nonnull (strstr (messages, "STDOUT message(s) from external script:\nto stdout"));
  g_assert_nonnull (strstr (messages, "STDERR message(s) from external script:\nto stderr"));
  g_assert_nonnull (strstr (messages, "ZeroDivisionError"));
  g_assert_cmpint (gtk_notebook_get_current_page (SCRIPT (f, "notebook")), ==, 1);

  buffer = gtk_text_view_get_buffer (SCRIPT (f, "script_view"));
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  g_assert_cmpint (gtk_text_iter_get_line (&cursor), ==, 3);

  /* Back to the top, then a click on the traceback's "line 4". */
  gtk_text_buffer_get_start_iter (buffer, &cursor);
  gtk_text_buffer_place_cursor (buffer, &cursor);
  messages_buffer = gtk_text_view_get_buffer (messages_view);
  gtk_text_buffer_get_start_iter (messages_buffer, &link);
  while (!found && gtk_text_iter_forward_search (&link, "\"<script>\", line 4", 0, NULL, &link, NULL))
    {
      g_autoptr(GSList) tags = NULL;

      gtk_text_iter_backward_char (&link);
      tags = gtk_text_iter_get_tags (&link);
      found = tags != NULL;
    }
  g_assert_true (found);
  gtk_text_view_scroll_to_iter (messages_view, &link, 0, FALSE, 0, 0);
  drain_events ();
  click_at_iter (messages_view, &link);

  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  g_assert_cmpint (gtk_text_iter_get_line (&cursor), ==, 3);
}

/* A million rows, of an integer, a double and a short text, in batches as
 * a result arrives. */
static GPtrArray *
make_batches (OrrSchema *schema)
{
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  guint b;
  guint row;

  for (b = 0; b < MODEL_ROWS / BATCH_ROWS; b++)
    {
      g_autoptr(GError) error = NULL;
      OrrBatch *batch = orr_batch_new (schema, BATCH_ROWS, FALSE, &error);
      gint64 *ids;
      double *values;

      g_assert_no_error (error);
      orr_batch_set_n_rows (batch, BATCH_ROWS);
      ids = (gint64 *) (gpointer) orr_batch_get_values_mut (batch, 0);
      values = (double *) (gpointer) orr_batch_get_values_mut (batch, 1);
      for (row = 0; row < BATCH_ROWS; row++)
        {
          ids[row] = (gint64) b * BATCH_ROWS + row;
          values[row] = row / 4.0;
        }
      for (row = 0; row < BATCH_ROWS; row++)
        {
          char text[32];
          gint32 end;
          int len = g_snprintf (text, sizeof text, "row %u", b * BATCH_ROWS + row);

          g_assert_true (orr_batch_append_data (batch, 2, text, len, &error));
          end = (gint32) orr_batch_get_data_len (batch, 2);
          memcpy (orr_batch_get_values_mut (batch, 2) + (row + 1) * sizeof end, &end, sizeof end);
        }
      g_ptr_array_add (batches, batch);
    }
  return batches;
}

static void
test_million_rows (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  g_autoptr(GPtrArray) batches = NULL;
  g_autoptr(OrrBatchModel) model = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree char *value = NULL;
  GtkTreeView *view;
  GtkAdjustment *adjustment;
  GtkTreeIter iter;
  double creation;
  double showing;
  double scrolling;

  g_test_summary ("The result grid's model is virtual: made in a pass over the batches, not the rows; "
                  "a million rows show and scroll to the end at once");
  if (skip_without_display ())
    return;

  orr_schema_add_field (schema, "id", ORR_DATA_TYPE_INT64, 0, 0);
  orr_schema_add_field (schema, "value", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (schema, "label", ORR_DATA_TYPE_TEXT, 0, 0);
  batches = make_batches (schema);

  g_timer_start (timer);
  model = orr_batch_model_new (schema, batches);
  creation = g_timer_elapsed (timer, NULL);
  g_assert_cmpint (gtk_tree_model_iter_n_children (GTK_TREE_MODEL (model), NULL), ==, MODEL_ROWS);
  g_assert_true (gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (model), &iter, NULL, MODEL_ROWS - 1));
  gtk_tree_model_get (GTK_TREE_MODEL (model), &iter, 2, &value, -1);
  g_assert_cmpstr (value, ==, "row 999999");
  g_clear_pointer (&value, g_free);
  g_assert_true (gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (model), &iter, NULL, 12345));
  gtk_tree_model_get (GTK_TREE_MODEL (model), &iter, 0, &value, -1);
  g_assert_cmpstr (value, ==, "12345");
  g_assert_false (gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (model), &iter, NULL, MODEL_ROWS));

  show_page (f, "script");
  view = SCRIPT (f, "results_view");
  g_timer_start (timer);
  orr_script_page_show_model (page (f, "script"), GTK_TREE_MODEL (model));
  wait_for_draw (f, GTK_WIDGET (view));
  showing = g_timer_elapsed (timer, NULL);

  /* To the end, then to the middle: each a repaint of rows never shown. */
  adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (view));
  g_timer_start (timer);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
  wait_for_draw (f, GTK_WIDGET (view));
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) / 2);
  wait_for_draw (f, GTK_WIDGET (view));
  scrolling = g_timer_elapsed (timer, NULL);

  g_test_message ("1M rows: model %.4f s, shown %.3f s, two scrolls %.4f s", creation, showing, scrolling);
  g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), >, 1000000.0);
  g_assert_cmpfloat (creation, <, 0.5);
  g_assert_cmpfloat (scrolling, <, 0.5);
  /* GtkTreeView keeps a node per row: showing is linear, but must stay quick. */
  g_assert_cmpfloat (showing, <, 5.0);
  save_screenshot (f, "script-million-rows");
}

static void
test_export_csv (Fixture       *f,
                 gconstpointer  data)
{
  static const char expected_csv[] =
    "n,text,maybe\r\n"
    "1,\"a,b\",\r\n"
    "2,\"say \"\"hi\"\"\",z\r\n";
  static const char expected_json[] =
    "[\n"
    "  {\"n\": 1, \"text\": \"a,b\", \"maybe\": null},\n"
    "  {\"n\": 2, \"text\": \"say \\\"hi\\\"\", \"maybe\": \"z\"}\n"
    "]\n";
  g_autofree char *csv_path = g_build_filename (tmp_dir, "export.csv", NULL);
  g_autofree char *json_path = g_build_filename (tmp_dir, "export.json", NULL);
  g_autoptr(GFile) csv = g_file_new_for_path (csv_path);
  g_autoptr(GFile) json = g_file_new_for_path (json_path);
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Results are exported to CSV and JSON in a worker thread, byte for byte as `orrery run --format` prints them");
  if (skip_without_display ())
    return;

  set_buffer_text (SCRIPT (f, "query_view"),
                   "SELECT 1 AS n, 'a,b' AS text, NULL AS maybe UNION ALL SELECT 2, 'say \"hi\"', 'z'");
  run_script (f);
  g_assert_true (orr_script_page_has_results (page (f, "script")));

  orr_script_page_export_to_file (page (f, "script"), csv, ORR_EXPORT_CSV);
  g_assert_true (orr_script_page_is_busy (page (f, "script")));
  wait_until_idle (f);
  g_file_get_contents (csv_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected_csv);
  g_assert_cmpuint (length, ==, strlen (expected_csv));
  g_assert_nonnull (strstr (orr_info_bar_get_text (SCRIPT (f, "info_bar")), "2 rows"));
  g_clear_pointer (&contents, g_free);

  orr_script_page_export_to_file (page (f, "script"), json, orr_export_format_for_name (json_path));
  wait_until_idle (f);
  g_file_get_contents (json_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected_json);
}

static void
test_export_error (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/nonexistent-dir/results.csv");

  g_test_summary ("An export that cannot be written says so in the page, with what to do");
  if (skip_without_display ())
    return;

  run_script (f);
  orr_script_page_export_to_file (page (f, "script"), file, ORR_EXPORT_CSV);
  wait_until_idle (f);
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  g_assert_nonnull (strstr (orr_info_bar_get_text (SCRIPT (f, "info_bar")), "could not be exported"));
}

static gboolean
server_switch_settled (Fixture *f)
{
  return !orr_server_page_is_busy (page (f, "server"));
}

static void
test_server_switch (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *target = dup_test_target ();
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  GtkSwitch *sw;
  gboolean initially;

  g_test_summary ("The Server page's switch turns external scripts off and on in the catalog, from a worker thread");
  if (skip_without_display ())
    return;

  connect_to (f, target);
  show_page (f, "server");
  wait_until_idle (f);
  sw = SERVER (f, "enabled_switch");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (sw)));
  g_assert_nonnull (strstr (gtk_label_get_text (SERVER (f, "admin_label")), "Yes"));
  g_assert_cmpstr (gtk_label_get_text (SERVER (f, "principal_label")), ==, g_get_user_name ());
  initially = gtk_switch_get_active (sw);
  save_screenshot (f, "server");

  catalog = open_catalog (target);
  gtk_switch_set_active (sw, !initially);
  /* The change goes through a worker: the switch shows it is under way. */
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (sw)));
  wait_for (f, server_switch_settled);
  g_assert_false (orr_info_bar_is_shown (SERVER (f, "info_bar")));
  g_assert_cmpint (orr_catalog_is_enabled (catalog, &error), ==, !initially);
  g_assert_no_error (error);
  g_assert_cmpint (gtk_switch_get_state (sw), ==, !initially);

  gtk_switch_set_active (sw, initially);
  wait_for (f, server_switch_settled);
  g_assert_cmpint (orr_catalog_is_enabled (catalog, &error), ==, initially);
  g_assert_no_error (error);
}

static gboolean
principal_granted (OrrCatalog *catalog,
                   const char *principal)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = orr_catalog_list_permissions (catalog, &error);
  gboolean granted = FALSE;
  OrrBatch *batch;

  g_assert_no_error (error);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      guint row;

      for (row = 0; row < orr_batch_get_n_rows (batch); row++)
        {
          g_autofree char *name = orr_batch_format_value (batch, 0, row);
          g_autofree char *by = orr_batch_format_value (batch, 4, row);

          if (g_strcmp0 (name, principal) == 0 && by != NULL)
            granted = TRUE;
        }
      orr_batch_unref (batch);
    }
  g_assert_no_error (error);
  return granted;
}

static void
test_security_grant (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *target = dup_test_target ();
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  const char *me = g_get_user_name ();
  gboolean initially;

  g_test_summary ("The Security page's toggle grants and revokes EXECUTE ANY EXTERNAL SCRIPT; the job log is listed and searched");
  if (skip_without_display ())
    return;

  connect_to (f, target);
  catalog = open_catalog (target);
  /* The catalog exists once the feature is on. */
  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_no_error (error);
  set_buffer_text (SCRIPT (f, "query_view"), "SELECT 1 AS x");
  run_script (f);
  g_assert_true (orr_script_page_has_results (page (f, "script")));

  show_page (f, "security");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SECURITY (f, "info_bar")));
  initially = principal_granted (catalog, me);

  g_assert_true (orr_security_page_toggle_grant (page (f, "security"), me));
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SECURITY (f, "info_bar")));
  g_assert_cmpint (principal_granted (catalog, me), ==, !initially);
  save_screenshot (f, "security");

  g_assert_true (orr_security_page_toggle_grant (page (f, "security"), me));
  wait_until_idle (f);
  g_assert_cmpint (principal_granted (catalog, me), ==, initially);

  /* The run above is in the log; a search that matches nothing hides it. */
  g_assert_cmpint (gtk_tree_model_iter_n_children (GTK_TREE_MODEL (SECURITY (f, "log_filter")), NULL), >, 0);
  gtk_entry_set_text (GTK_ENTRY (SECURITY (f, "search_entry")), "no such job anywhere");
  g_signal_emit_by_name (SECURITY (f, "search_entry"), "search-changed");
  g_assert_cmpint (gtk_tree_model_iter_n_children (GTK_TREE_MODEL (SECURITY (f, "log_filter")), NULL), ==, 0);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (SECURITY (f, "outcome_combo")), "failed");
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SECURITY (f, "info_bar")));
}

static void
test_connect_failure (Fixture       *f,
                      gconstpointer  data)
{
  g_test_summary ("A data source that cannot be reached is reported in the page in view, and nothing stays connected");
  if (skip_without_display ())
    return;

  show_page (f, "connect");
  gtk_entry_set_text (CONNECT (f, "target_entry"), "Driver=No Such Driver;Database=/nonexistent");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "connect", NULL);
  wait_until_idle (f);

  g_assert_true (orr_info_bar_is_shown (CONNECT (f, "info_bar")));
  g_assert_null (orr_window_get_session (f->window));
  g_assert_cmpstr (gtk_header_bar_get_subtitle (window_child (f, "header_bar")), ==, "Not connected");
  save_screenshot (f, "connect-failure");

  /* Run from the Script page connects first, and says there why it cannot. */
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "run", NULL);
  wait_until_idle (f);
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
}

static gboolean
keyring_checked (Fixture *f)
{
  return strstr (gtk_label_get_text (CONNECT (f, "keyring_label")), "Looking") == NULL;
}

static void
test_connect_page (Fixture       *f,
                   gconstpointer  data)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  GtkTreeModel *sources;
  GtkTreeModel *drivers;
  GtkTreeIter iter;
  gboolean valid;
  gboolean found_dsn = FALSE;

  g_test_summary ("The Connect page lists the demo database, the ODBC data sources and drivers; "
                  "without a keyring it says so and keeps no password");
  if (skip_without_display ())
    return;

  show_page (f, "connect");
  sources = GTK_TREE_MODEL (CONNECT (f, "sources_store"));
  drivers = GTK_TREE_MODEL (CONNECT (f, "drivers_store"));
  g_assert_cmpint (gtk_tree_model_iter_n_children (sources, NULL), >=, 1);
  for (valid = gtk_tree_model_get_iter_first (sources, &iter); valid;
       valid = gtk_tree_model_iter_next (sources, &iter))
    {
      g_autofree char *name = NULL;

      gtk_tree_model_get (sources, &iter, 0, &name, -1);
      found_dsn |= g_strcmp0 (name, dsn) == 0;
    }
  if (dsn != NULL)
    {
      g_assert_true (found_dsn);
      g_assert_cmpint (gtk_tree_model_iter_n_children (drivers, NULL), >=, 1);
    }

  /* The test has no session bus, hence no Secret Service. */
  wait_for (f, keyring_checked);
  g_assert_nonnull (strstr (gtk_label_get_text (CONNECT (f, "keyring_label")), "No desktop keyring"));
  g_assert_false (gtk_widget_get_sensitive (CONNECT (f, "remember_check")));
  g_assert_false (gtk_toggle_button_get_active (CONNECT (f, "remember_check")));

  /* A password typed for the demo database is not needed and not kept. */
  gtk_entry_set_text (CONNECT (f, "target_entry"), "");
  gtk_entry_set_text (CONNECT (f, "password_entry"), "secret");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "connect", NULL);
  wait_until_idle (f);
  g_assert_nonnull (orr_window_get_session (f->window));
  g_assert_cmpstr (gtk_entry_get_text (CONNECT (f, "password_entry")), ==, "");
  save_screenshot (f, "connect");
}

static void
test_connection_strings (void)
{
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;
  g_autofree char *composed = NULL;
  g_autofree char *remembered = NULL;
  g_autofree char *key = NULL;
  g_autofree char *key2 = NULL;

  g_test_summary ("The Connect page's fields become ODBC strings with the password quoted; "
                  "what is remembered has no password and splits back into the fields");

  composed = orr_connect_page_compose_target ("Sales", "alice", "p;w}d");
  g_assert_cmpstr (composed, ==, "DSN=Sales;UID=alice;PWD={p;w}}d}");
  g_clear_pointer (&composed, g_free);
  composed = orr_connect_page_compose_target ("Sales", "", "");
  g_assert_cmpstr (composed, ==, "Sales");
  g_clear_pointer (&composed, g_free);
  composed = orr_connect_page_compose_target ("Driver={PostgreSQL Unicode};Server=db;", "bob", "x");
  g_assert_cmpstr (composed, ==, "Driver={PostgreSQL Unicode};Server=db;UID=bob;PWD=x");

  remembered = orr_connect_page_compose_remembered ("Sales", "alice");
  g_assert_cmpstr (remembered, ==, "DSN=Sales;UID=alice");
  orr_connect_page_split_remembered (remembered, &target, &user);
  g_assert_cmpstr (target, ==, "Sales");
  g_assert_cmpstr (user, ==, "alice");
  g_clear_pointer (&target, g_free);
  g_clear_pointer (&user, g_free);
  orr_connect_page_split_remembered ("Driver={SQLite3};Database=/tmp/x.db", &target, &user);
  g_assert_cmpstr (target, ==, "Driver={SQLite3};Database=/tmp/x.db");
  g_assert_cmpstr (user, ==, "");
  g_assert_null (orr_connect_page_compose_remembered ("Driver=x;PWD=secret", ""));

  /* The keyring files a password under the database, never the password. */
  key = orr_keyring_dup_key ("Driver={PostgreSQL Unicode};Server=db;Port=5432;Database=sales;Uid=bob;Pwd=x");
  g_assert_cmpstr (key, ==, "database=sales;driver={PostgreSQL Unicode};port=5432;server=db");
  key2 = orr_keyring_dup_key ("Sales");
  g_assert_cmpstr (key2, ==, "DSN=Sales");
}

static gboolean
job_listed_running (Fixture *f)
{
  GtkTreeModel *model = GTK_TREE_MODEL (JOBS (f, "jobs_store"));
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *key = NULL;
      g_autofree char *state = NULL;

      gtk_tree_model_get (model, &iter, 0, &key, 5, &state, -1);
      if (g_strcmp0 (state, "Running") == 0)
        {
          g_object_set_data_full (G_OBJECT (f->window), "test-job-key", g_strdup (key), g_free);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
graphs_have_points (Fixture *f)
{
  return orr_graph_get_n_points (JOBS (f, "cpu_graph")) >= 12;
}

static gboolean
run_graph_has_points (Fixture *f)
{
  return orr_graph_get_n_points (SCRIPT (f, "run_cpu_graph")) >= 4;
}

static gboolean
script_not_running (Fixture *f)
{
  return !orr_script_page_is_running (page (f, "script"));
}

static void
test_jobs_page (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *status = NULL;

  g_test_summary ("A running script shows on the Jobs page with its live graphs; Cancel there stops it");
  if (skip_without_display ())
    return;

  set_buffer_text (SCRIPT (f, "script_view"),
                   "import time\n"
                   "end = time.time() + 60\n"
                   "while time.time() < end:\n"
                   "    sum(range(10000))\n"
                   "OutputDataSet = InputDataSet\n");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "run", NULL);
  show_page (f, "jobs");
  wait_for (f, job_listed_running);
  g_assert_true (orr_jobs_page_select_job (page (f, "jobs"),
                                           g_object_get_data (G_OBJECT (f->window), "test-job-key")));
  g_assert_true (gtk_widget_get_sensitive (JOBS (f, "cancel_button")));
  wait_for (f, graphs_have_points);
  save_screenshot (f, "jobs");
  /* The Script page's Resources tab follows the same run. */
  show_page (f, "script");
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 3);
  wait_for (f, run_graph_has_points);
  save_screenshot (f, "script-resources");
  show_page (f, "jobs");

  gtk_button_clicked (JOBS (f, "cancel_button"));
  wait_for (f, script_not_running);
  status = g_strdup (gtk_label_get_text (SCRIPT (f, "status_label")));
  g_assert_nonnull (strstr (status, "Cancelled"));
  wait_until_idle (f);
}

static gboolean
store_has (GtkTreeModel *model,
           int           column,
           const char   *text)
{
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *value = NULL;

      gtk_tree_model_get (model, &iter, column, &value, -1);
      if (g_strcmp0 (value, text) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
pool_shows_running_job (Fixture *f)
{
  return strstr (gtk_label_get_text (POOLS (f, "processes_label")), "1 of 2") != NULL;
}

static void
test_pools_page (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *target = dup_test_target ();
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrLimits) limits = orr_limits_new ("ui_test_pool");
  g_autoptr(OrrLimits) created = NULL;
  g_autoptr(GError) error = NULL;
  const char *me = g_get_user_name ();

  g_test_summary ("The Pools page creates a pool, puts a principal in it, shows a running job against "
                  "the pool's limits, and drops it");
  if (skip_without_display ())
    return;

  connect_to (f, target);
  catalog = open_catalog (target);
  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_no_error (error);
  orr_catalog_drop_pool (catalog, "ui_test_pool", NULL);
  show_page (f, "pools");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_true (gtk_widget_get_sensitive (POOLS (f, "new_button")));

  limits->max_cpu_percent = 50;
  limits->max_memory_bytes = 512 * 1024 * 1024;
  limits->max_processes = 2;
  orr_pools_page_create_pool (page (f, "pools"), limits);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (POOLS (f, "info_bar")));
  created = orr_catalog_get_pool (catalog, "ui_test_pool", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (created->max_processes, ==, 2);
  g_assert_true (store_has (GTK_TREE_MODEL (POOLS (f, "pools_store")), 0, "ui_test_pool"));

  orr_pools_page_assign (page (f, "pools"), me, "ui_test_pool");
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (POOLS (f, "info_bar")));
  g_assert_true (orr_pools_page_select_pool (page (f, "pools"), "ui_test_pool"));
  g_assert_true (store_has (GTK_TREE_MODEL (POOLS (f, "members_store")), 0, me));

  /* A job of the pool's member runs in it, and the page shows it there. */
  set_buffer_text (SCRIPT (f, "script_view"),
                   "import time\n"
                   "end = time.time() + 60\n"
                   "while time.time() < end:\n"
                   "    sum(range(10000))\n");
  set_buffer_text (SCRIPT (f, "query_view"), "SELECT 1 AS x");
  orr_script_page_run (page (f, "script"));
  wait_for (f, pool_shows_running_job);
  save_screenshot (f, "pools");
  orr_script_page_cancel (page (f, "script"));
  wait_for (f, script_not_running);
  wait_until_idle (f);

  orr_pools_page_drop_pool (page (f, "pools"), "ui_test_pool");
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (POOLS (f, "info_bar")));
  g_assert_false (store_has (GTK_TREE_MODEL (POOLS (f, "pools_store")), 0, "ui_test_pool"));
}

static void
test_pool_dialog (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(OrrLimits) limits = orr_limits_new ("small");
  g_autoptr(OrrLimits) entered = NULL;
  OrrPoolDialog *dialog;
  GtkWidget *ok;

  g_test_summary ("The pool dialog shows a pool's limits, refuses a CPU list that does not parse and says why");
  if (skip_without_display ())
    return;

  limits->max_cpu_percent = 25;
  limits->max_memory_bytes = (guint64) 2048 * 1024 * 1024;
  limits->max_processes = 4;
  limits->cpus = g_strdup ("0-1");
  limits->timeout_ms = 30000;
  dialog = orr_pool_dialog_new (GTK_WINDOW (f->window), limits);
  entered = orr_pool_dialog_dup_limits (dialog);
  g_assert_cmpstr (entered->pool, ==, "small");
  g_assert_cmpuint (entered->max_cpu_percent, ==, 25);
  g_assert_cmpuint (entered->max_memory_bytes, ==, limits->max_memory_bytes);
  g_assert_cmpuint (entered->max_processes, ==, 4);
  g_assert_cmpstr (entered->cpus, ==, "0-1");
  g_assert_cmpuint (entered->timeout_ms, ==, 30000);

  ok = gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  g_assert_true (gtk_widget_get_sensitive (ok));
  gtk_entry_set_text (GTK_ENTRY (gtk_widget_get_template_child (GTK_WIDGET (dialog), ORR_TYPE_POOL_DIALOG, "cpus_entry")), "3-x");
  g_assert_false (gtk_widget_get_sensitive (ok));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
test_tsql (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *messages = NULL;
  GtkTreeModel *model;
  GtkTextBuffer *buffer;
  GtkTextIter cursor;

  g_test_summary ("In T-SQL mode an EXEC sp_execute_external_script batch runs as in SQL Server: its result "
                  "fills the grid, its output is in Messages, and an error shows as Msg … Line N with the cursor there");
  if (skip_without_display ())
    return;

  gtk_toggle_button_set_active (SCRIPT (f, "tsql_mode"), TRUE);
  g_assert_false (gtk_widget_get_sensitive (SCRIPT (f, "inputs_box")));
  set_buffer_text (SCRIPT (f, "script_view"),
                   "EXEC sp_execute_external_script @language = N'Python',\n"
                   "  @script = N'print(len(InputDataSet)); OutputDataSet = InputDataSet',\n"
                   "  @input_data_1 = N'SELECT * FROM iris'\n"
                   "WITH RESULT SETS UNDEFINED;\n");
  run_script (f);
  g_assert_false (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  model = gtk_tree_view_get_model (SCRIPT (f, "results_view"));
  g_assert_true (ORR_IS_BATCH_MODEL (model));
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, NULL), ==, 150);
  messages = dup_buffer_text (SCRIPT (f, "messages_view"));
  g_test_message ("%s", messages);
  g_assert_nonnull (strstr (messages, "STDOUT message(s) from external script:\n150"));
  g_clear_pointer (&messages, g_free);
  save_screenshot (f, "script-tsql");

  set_buffer_text (SCRIPT (f, "script_view"),
                   "PRINT 'before'\n"
                   "\n"
                   "EXEC sp_execute_external_script @language = N'Python', @scrip = N'1'\n");
  run_script (f);
  messages = dup_buffer_text (SCRIPT (f, "messages_view"));
  g_test_message ("%s", messages);
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  g_assert_nonnull (strstr (messages, "Msg "));
  buffer = gtk_text_view_get_buffer (SCRIPT (f, "script_view"));
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  g_assert_cmpint (gtk_text_iter_get_line (&cursor), ==, 2);

  /* Back to Python: its own text is still there. */
  gtk_toggle_button_set_active (SCRIPT (f, "python_mode"), TRUE);
  g_clear_pointer (&messages, g_free);
  messages = dup_buffer_text (SCRIPT (f, "script_view"));
  g_assert_cmpstr (messages, ==, "OutputDataSet = InputDataSet");
}

static void
test_screenshots (Fixture       *f,
                  gconstpointer  data)
{
  g_test_summary ("Each page draws without warnings after a run; its screenshot is kept as a test artifact");
  if (skip_without_display ())
    return;

  set_buffer_text (SCRIPT (f, "script_view"),
                   "print(InputDataSet.describe())\n"
                   "OutputDataSet = InputDataSet.groupby('species', as_index=False).mean()\n");
  run_script (f);
  g_assert_true (action_enabled (f, "run"));
  g_assert_false (action_enabled (f, "cancel"));
  g_assert_true (action_enabled (f, "export"));
  g_assert_true (gtk_widget_get_sensitive (SCRIPT (f, "export_button")));
  g_assert_false (gtk_widget_get_sensitive (SCRIPT (f, "cancel_button")));
  show_page (f, "script");
  save_screenshot (f, "script");

  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 1);
  save_screenshot (f, "script-messages");
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 2);
  save_screenshot (f, "script-history");
  show_page (f, "server");
  wait_until_idle (f);
  save_screenshot (f, "server-demo");
  show_page (f, "security");
  wait_until_idle (f);
  save_screenshot (f, "security-demo");
  show_page (f, "connect");
  save_screenshot (f, "connect-demo");
  show_page (f, "jobs");
  wait_until_idle (f);
  gtk_notebook_set_current_page (JOBS (f, "notebook"), 1);
  save_screenshot (f, "jobs-log");
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child_path = g_build_filename (path, name, NULL);

          remove_tree (child_path);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  g_autofree char *config_home = NULL;
  g_autofree char *cache_home = NULL;
  g_autofree char *registry = NULL;
  int ret;

  /* Not G_TEST_OPTION_ISOLATE_DIRS: it hides the system data directories,
   * where GtkSourceView's language definitions and the icon theme live.
   * The user directories are private instead: the demo database is created
   * in this XDG_DATA_HOME. */
  tmp_dir = g_dir_make_tmp ("test-console-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  data_home = g_build_filename (tmp_dir, "data", NULL);
  config_home = g_build_filename (tmp_dir, "config", NULL);
  cache_home = g_build_filename (tmp_dir, "cache", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  /* The host's job registry, private: the Jobs page sees this test's jobs only. */
  registry = g_build_filename (tmp_dir, "registry", NULL);
  g_setenv ("ORRERY_REGISTRY_DIR", registry, TRUE);

  g_test_init (&argc, &argv, NULL);

  /* No session bus (and no autolaunched one), hence no keyring; no
   * accessibility bus; settings in memory: the test touches nothing
   * outside itself. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  have_display = gtk_init_check (&argc, &argv);
  if (have_display)
    {
      g_autoptr(GError) error = NULL;

      app = orr_application_new ();
      g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
      g_application_register (G_APPLICATION (app), NULL, &error);
      g_assert_no_error (error);
    }

  g_test_add_func ("/Orr/Console/connection-strings", test_connection_strings);
  ADD ("/Orr/Console/accessible-names", test_accessible_names);
  ADD ("/Orr/Console/accels", test_accels);
  ADD ("/Orr/Console/pages", test_pages);
  ADD ("/Orr/Console/demo-run", test_demo_run);
  ADD ("/Orr/Console/output-params", test_output_params);
  ADD ("/Orr/Console/script-error", test_script_error);
  ADD ("/Orr/Console/million-rows", test_million_rows);
  ADD ("/Orr/Console/export-csv", test_export_csv);
  ADD ("/Orr/Console/export-error", test_export_error);
  ADD ("/Orr/Console/server-switch", test_server_switch);
  ADD ("/Orr/Console/security-grant", test_security_grant);
  ADD ("/Orr/Console/connect-page", test_connect_page);
  ADD ("/Orr/Console/connect-failure", test_connect_failure);
  ADD ("/Orr/Console/jobs-page", test_jobs_page);
  ADD ("/Orr/Console/pools-page", test_pools_page);
  ADD ("/Orr/Console/pool-dialog", test_pool_dialog);
  ADD ("/Orr/Console/tsql", test_tsql);
  ADD ("/Orr/Console/screenshots", test_screenshots);

  ret = g_test_run ();
  g_clear_object (&app);
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
