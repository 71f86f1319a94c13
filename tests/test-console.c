/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-console"

#include "config.h"

#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
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
#include "orr-registry.h"
#include "orr-keyring.h"
#include "orr-script-page.h"
#include "orr-security-page.h"
#include "orr-server-page.h"
#include "orr-application.h"
#include "orr-ui-util.h"
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

static gboolean
pool_graph_has_points (Fixture *f)
{
  return orr_graph_get_n_points (POOLS (f, "cpu_graph")) >= 12;
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
  /* A few seconds of the pool's graphs, not a single sample. */
  wait_for (f, pool_graph_has_points);
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

/* ------------------------------------------- jobs of other programs */

/* `orrery run` (the built CLI, a process of its own) running a script that
 * sleeps; NULL (and the test skipped) without the CLI. */
static GSubprocess *
spawn_cli_sleeper (const char *target,
                   const char *marker)
{
  const char *cli = g_getenv ("ORRERY_CLI");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  GSubprocess *proc;

  if (cli == NULL || *cli == '\0')
    {
      g_test_skip ("ORRERY_CLI is not set: no other process to run a job");
      return NULL;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  script = g_strdup_printf ("# %s\nimport time\ntime.sleep(120)\n", marker);
  /* It inherits this test's registry directory and XDG_DATA_HOME (the demo database). */
  proc = g_subprocess_launcher_spawn (launcher, &error, cli, strchr (target, '=') ? "--connection" : "--dsn", target,
                                      "run", "-e", script, NULL);
  g_assert_no_error (error);
  return proc;
}

/* The Jobs page's row of the job in "test-job-key" says "test-job-state". */
static gboolean
job_row_in_state (Fixture *f)
{
  GtkTreeModel *model = GTK_TREE_MODEL (JOBS (f, "jobs_store"));
  const char *key = g_object_get_data (G_OBJECT (f->window), "test-job-key");
  const char *wanted = g_object_get_data (G_OBJECT (f->window), "test-job-state");
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *row_key = NULL;
      g_autofree char *state = NULL;

      gtk_tree_model_get (model, &iter, 0, &row_key, 5, &state, -1);
      if (g_strcmp0 (row_key, key) == 0)
        return g_strcmp0 (state, wanted) == 0;
    }
  return FALSE;
}

static void
wait_for_job_state (Fixture    *f,
                    const char *key,
                    const char *state)
{
  g_object_set_data_full (G_OBJECT (f->window), "test-job-key", g_strdup (key), g_free);
  g_object_set_data_full (G_OBJECT (f->window), "test-job-state", g_strdup (state), g_free);
  wait_for (f, job_row_in_state);
}

/* The job log's rows for the script with @marker, "principal|outcome\n" each. */
static char *
dup_logged (const char *target,
            const char *marker)
{
  g_autoptr(OrrConnection) conn = orr_connection_new (target);
  g_autoptr(OrrCursor) cursor = NULL;
  g_autoptr(GString) rows = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;
  OrrBatch *batch;

  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  sql = g_strdup_printf ("SELECT principal, outcome FROM orrery_job_log WHERE script_text LIKE '%%%s%%'", marker);
  cursor = orr_connection_execute (conn, sql, NULL, &error);
  g_assert_no_error (error);
  while ((batch = orr_cursor_fetch (cursor, FALSE, NULL, &error)) != NULL)
    {
      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          g_autofree char *principal = orr_batch_format_value (batch, 0, r);
          g_autofree char *outcome = orr_batch_format_value (batch, 1, r);

          g_string_append_printf (rows, "%s|%s\n", principal, outcome);
        }
      orr_batch_unref (batch);
    }
  g_assert_no_error (error);
  return g_string_free (g_steal_pointer (&rows), FALSE);
}

static void
test_jobs_cancel_other_process (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *target = dup_test_target ();
  g_autofree char *marker = g_strdup_printf ("console-cancel-%u", g_random_int ());
  g_autofree char *key = NULL;
  g_autofree char *err = NULL;
  g_autofree char *logged = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *tooltip = NULL;
  g_autoptr(GSubprocess) cli = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A job that another program (orrery run) runs is cancelled with the Jobs page's Cancel: the "
                  "request goes through the host's job registry, the job ends cancelled, the job log says so");
  if (skip_without_display ())
    return;
  cli = spawn_cli_sleeper (target, marker);
  if (cli == NULL)
    return;
  key = g_strdup_printf ("%s-1", g_subprocess_get_identifier (cli));

  show_page (f, "jobs");
  wait_for_job_state (f, key, "Running");
  g_assert_true (orr_jobs_page_select_job (page (f, "jobs"), key));
  g_assert_true (gtk_widget_get_sensitive (JOBS (f, "cancel_button")));
  tooltip = gtk_widget_get_tooltip_text (JOBS (f, "cancel_button"));
  g_assert_nonnull (strstr (tooltip, "Ask the Orrery program that runs this job"));

  gtk_button_clicked (JOBS (f, "cancel_button"));
  wait_for_job_state (f, key, "Cancelled");
  g_assert_false (orr_info_bar_is_shown (JOBS (f, "info_bar")));
  g_assert_false (gtk_widget_get_sensitive (JOBS (f, "cancel_button")));
  g_subprocess_communicate_utf8 (cli, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_test_message ("orrery run said:\n%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (cli), ==, 1);
  g_assert_nonnull (strstr (err, "Cancel requested by the user"));
  /* Written by the job's own program, under its own principal. */
  logged = dup_logged (target, marker);
  expected = g_strdup_printf ("%s|cancelled\n", g_get_user_name ());
  g_assert_cmpstr (logged, ==, expected);
  wait_until_idle (f);
}

/* A user of this host who is neither root nor nobody (the console's user
 * in the test below): daemon, else bin. */
static uid_t
other_user_uid (void)
{
  struct passwd *pw = getpwnam ("daemon");

  if (pw == NULL)
    pw = getpwnam ("bin");
  g_assert_nonnull (pw);
  g_assert_cmpint (pw->pw_uid, !=, 0);
  return pw->pw_uid;
}

static void
test_jobs_cancel_not_permitted (Fixture       *f,
                                gconstpointer  data)
{
  static const char * const as_nobody[] = {
    "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
    "/bin/sh", "-c", "sleep 120 & wait", NULL
  };
  g_autoptr(OrrRegistryRecord) record = orr_registry_record_new ();
  g_autoptr(GSubprocess) sleeper = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = orr_registry_dup_dir ();
  g_autofree char *path = NULL;
  g_autofree char *tooltip = NULL;
  struct passwd *nobody;
  gint64 deadline;

  g_test_summary ("A job of another OS user: Cancel is insensitive, and its tooltip says who may cancel it");
  if (skip_without_display ())
    return;
  if (geteuid () != 0)
    {
      g_test_skip ("not root: no process of another user to stand for that user's Orrery program");
      return;
    }
  nobody = getpwnam ("nobody");
  if (nobody == NULL || !g_file_test (as_nobody[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("setpriv (util-linux) or the user nobody is missing");
      return;
    }

  /* nobody's program, and its job's entry in the registry as that program
   * would write it (the monitor believes it: nobody's file, nobody's
   * process). */
  sleeper = g_subprocess_newv (as_nobody, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  record->engine_pid = atoi (g_subprocess_get_identifier (sleeper));
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  /* setpriv execs sleep: the same process, nobody's once it changed. */
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *proc = g_strdup_printf ("/proc/%d", record->engine_pid);
      struct stat st;

      if (stat (proc, &st) == 0 && st.st_uid == nobody->pw_uid)
        break;
      g_usleep (10 * 1000);
    }
  record->engine_start = orr_process_get_start_time (record->engine_pid);
  record->job_id = 1;
  record->key = g_strdup_printf ("%d-1", record->engine_pid);
  record->uid = nobody->pw_uid;
  record->user = g_strdup ("nobody");
  record->state = ORR_JOB_RUNNING;
  record->submitted_at = g_get_real_time ();
  record->started_at = record->submitted_at;
  /* Its "satellite": the shell's child, as a satellite is the engine's. */
  while (record->satellite_pid == 0 && g_get_monotonic_time () < deadline)
    {
      g_autofree char *children_path = g_strdup_printf ("/proc/%d/task/%d/children", record->engine_pid,
                                                        record->engine_pid);
      g_autofree char *children = NULL;

      if (g_file_get_contents (children_path, &children, NULL, NULL))
        record->satellite_pid = atoi (children);
      if (record->satellite_pid == 0)
        g_usleep (10 * 1000);
    }
  g_assert_cmpint (record->satellite_pid, >, 0);
  record->satellite_start = orr_process_get_start_time (record->satellite_pid);
  record->limits = orr_limits_new ("default");
  record->script = g_strdup ("import time; time.sleep(120)");
  g_assert_true (orr_registry_ensure_dir (dir, &error));
  g_assert_no_error (error);
  g_assert_true (orr_registry_write (dir, record, &error));
  g_assert_no_error (error);
  path = g_build_filename (dir, record->key, NULL);
  g_assert_cmpint (chown (path, nobody->pw_uid, nobody->pw_gid), ==, 0);

  show_page (f, "jobs");
  wait_for_job_state (f, record->key, "Running");
  g_assert_true (orr_jobs_page_select_job (page (f, "jobs"), record->key));
  wait_for (f, graphs_have_points);
  /* Root may cancel anyone's job: the console of an ordinary user is this
   * one with another effective user — a user who is not nobody (the
   * registry stays readable to it: the test's directory is opened up). */
  g_assert_cmpint (chmod (tmp_dir, 0711), ==, 0);
  gtk_tree_selection_unselect_all (gtk_tree_view_get_selection (JOBS (f, "jobs_view")));
  g_assert_cmpint (seteuid (other_user_uid ()), ==, 0);
  g_assert_true (orr_jobs_page_select_job (page (f, "jobs"), record->key));
  g_assert_false (gtk_widget_get_sensitive (JOBS (f, "cancel_button")));
  tooltip = gtk_widget_get_tooltip_text (JOBS (f, "cancel_button"));
  g_test_message ("tooltip: %s", tooltip);
  g_assert_nonnull (strstr (tooltip, "Not permitted"));
  g_assert_nonnull (strstr (tooltip, "“nobody”"));
  g_assert_cmpint (seteuid (0), ==, 0);
  g_assert_cmpint (chmod (tmp_dir, 0700), ==, 0);
  /* The page keeps what it decided until the selection or the job changes
   * (neither does while the screenshot is taken, as the check after it shows). */
  save_screenshot (f, "jobs-not-permitted");
  g_assert_false (gtk_widget_get_sensitive (JOBS (f, "cancel_button")));

  kill (record->satellite_pid, SIGKILL);
  g_subprocess_force_exit (sleeper);
  g_subprocess_wait (sleeper, NULL, NULL);
  g_unlink (path);
}

/* ------------------------------------- PostgreSQL: analysts and the DBA */

#define UI_ANALYST "orr_ui_analyst"
#define UI_OUTSIDER "orr_ui_outsider"
#define UI_ROLE "orr_ui_scientists"
#define UI_POOL "orr_ui_dba_pool"

/* The superuser's connection to the test server, NULL (test skipped)
 * without one. */
static OrrConnection *
pg_admin_or_skip (void)
{
  const char *dsn = g_getenv ("ORRERY_TEST_PG_DSN");
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  if (dsn == NULL || *dsn == '\0')
    {
      g_test_skip ("ORRERY_TEST_PG_DSN is not set: run the suite with tools/test.sh");
      return NULL;
    }
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&conn);
}

static void
pg_exec (OrrConnection *conn,
         const char    *sql)
{
  g_autoptr(GError) error = NULL;

  orr_connection_execute_update (conn, sql, NULL, &error);
  g_assert_no_error (error);
}

/* Fresh logins for the console tests: an analyst, granted through a role,
 * and an outsider, granted nothing. */
static void
pg_setup_roles (OrrConnection *admin)
{
  g_autoptr(OrrCatalog) catalog = orr_catalog_new (admin);
  g_autoptr(GError) error = NULL;

  g_assert_true (orr_catalog_enable (catalog, &error));
  g_assert_no_error (error);
  orr_catalog_drop_pool (catalog, UI_POOL, NULL);
  orr_catalog_revoke (catalog, UI_ROLE, NULL);
  orr_catalog_revoke (catalog, UI_ANALYST, NULL);
  pg_exec (admin, "DO $$BEGIN"
                  " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" UI_ANALYST "') THEN"
                  "   DROP OWNED BY " UI_ANALYST "; DROP ROLE " UI_ANALYST "; END IF;"
                  " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" UI_OUTSIDER "') THEN"
                  "   DROP OWNED BY " UI_OUTSIDER "; DROP ROLE " UI_OUTSIDER "; END IF;"
                  " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" UI_ROLE "') THEN DROP ROLE " UI_ROLE "; END IF;"
                  " END$$");
  pg_exec (admin, "CREATE ROLE " UI_ROLE " NOLOGIN");
  pg_exec (admin, "CREATE ROLE " UI_ANALYST " LOGIN PASSWORD 'ui-analyst-pw' IN ROLE " UI_ROLE);
  pg_exec (admin, "CREATE ROLE " UI_OUTSIDER " LOGIN PASSWORD 'ui-outsider-pw'");
}

/* The first widget of @type under @widget that @match accepts. */
typedef gboolean (*WidgetMatch) (GtkWidget *widget, gconstpointer data);

static GtkWidget *
find_widget (GtkWidget     *widget,
             GType          type,
             WidgetMatch    match,
             gconstpointer  data)
{
  g_autoptr(GList) children = NULL;

  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) && (match == NULL || match (widget, data)))
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL; l = l->next)
    {
      GtkWidget *found = find_widget (l->data, type, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
has_action (GtkWidget *widget, gconstpointer data)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), data) == 0;
}

static gboolean
has_label (GtkWidget *widget, gconstpointer data)
{
  return g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), data) == 0;
}

static gboolean
shows_model (GtkWidget *widget, gconstpointer data)
{
  return gtk_tree_view_get_model (GTK_TREE_VIEW (widget)) == data;
}

/* The Connect page's Connect button, clicked with these fields. */
static void
click_connect (Fixture    *f,
               const char *target,
               const char *user,
               const char *password)
{
  GtkWidget *button = find_widget (page (f, "connect"), GTK_TYPE_BUTTON, has_action, "win.connect");

  g_assert_nonnull (button);
  show_page (f, "connect");
  gtk_entry_set_text (CONNECT (f, "target_entry"), target);
  gtk_entry_set_text (CONNECT (f, "user_entry"), user);
  gtk_entry_set_text (CONNECT (f, "password_entry"), password);
  g_assert_true (gtk_widget_is_sensitive (button));
  gtk_button_clicked (GTK_BUTTON (button));
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (CONNECT (f, "info_bar")));
  g_assert_nonnull (orr_window_get_session (f->window));
}

/* The row of @principal on the Security page; FALSE if it is not listed. */
static gboolean
find_principal (Fixture     *f,
                const char  *principal,
                GtkTreeIter *iter)
{
  GtkTreeModel *model = GTK_TREE_MODEL (SECURITY (f, "permissions_store"));
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, iter); valid;
       valid = gtk_tree_model_iter_next (model, iter))
    {
      g_autofree char *name = NULL;

      gtk_tree_model_get (model, iter, 0, &name, -1);
      if (g_strcmp0 (name, principal) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_pg_analyst (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(OrrConnection) admin = pg_admin_or_skip ();
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *messages = NULL;
  GtkTreeModel *permissions;
  GtkTreeIter iter;
  gboolean valid;
  guint n_rows = 0;
  const char *text;

  g_test_summary ("Logged in as a PostgreSQL analyst (not an administrator): the Server switch, the Security "
                  "toggles and the Pools buttons are insensitive with the reason shown; a script runs when the "
                  "analyst's role is granted, and without a grant the Script page says why");
  if (skip_without_display () || admin == NULL)
    return;
  pg_setup_roles (admin);
  catalog = orr_catalog_new (admin);
  g_assert_true (orr_catalog_grant (catalog, UI_ROLE, &error));
  g_assert_no_error (error);

  click_connect (f, g_getenv ("ORRERY_TEST_PG_DSN"), UI_ANALYST, "ui-analyst-pw");

  show_page (f, "server");
  wait_until_idle (f);
  g_assert_cmpstr (gtk_label_get_text (SERVER (f, "principal_label")), ==, UI_ANALYST);
  g_assert_false (gtk_widget_get_sensitive (SERVER (f, "enabled_switch")));
  g_assert_true (gtk_switch_get_active (SERVER (f, "enabled_switch")));
  g_assert_true (gtk_widget_get_visible (SERVER (f, "switch_reason")));
  text = gtk_label_get_text (SERVER (f, "switch_reason"));
  g_assert_nonnull (strstr (text, "Only an administrator of the database can turn external scripts on or off"));
  g_assert_nonnull (strstr (text, UI_ANALYST));
  save_screenshot (f, "server-analyst");

  show_page (f, "security");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SECURITY (f, "info_bar")));
  text = gtk_label_get_text (SECURITY (f, "explain_label"));
  g_assert_nonnull (strstr (text, "Read-only"));
  g_assert_nonnull (strstr (text, UI_ANALYST));
  permissions = GTK_TREE_MODEL (SECURITY (f, "permissions_store"));
  /* The toggles' "activatable" and "sensitive" come from this column. */
  for (valid = gtk_tree_model_get_iter_first (permissions, &iter); valid;
       valid = gtk_tree_model_iter_next (permissions, &iter))
    {
      gboolean changeable = TRUE;

      gtk_tree_model_get (permissions, &iter, 4, &changeable, -1);
      g_assert_false (changeable);
      n_rows++;
    }
  g_assert_cmpuint (n_rows, >=, 1);
  g_assert_true (find_principal (f, UI_ANALYST, &iter));
  {
    g_autofree char *may_run = NULL;

    gtk_tree_model_get (permissions, &iter, 2, &may_run, -1);
    g_assert_cmpstr (may_run, ==, "Yes, through " UI_ROLE);
  }
  /* A click on the toggle does nothing. */
  g_assert_false (orr_security_page_toggle_grant (page (f, "security"), UI_ANALYST));
  save_screenshot (f, "security-analyst");

  show_page (f, "pools");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (POOLS (f, "info_bar")));
  g_assert_nonnull (strstr (gtk_label_get_text (POOLS (f, "explain_label")), "Read-only"));
  g_assert_false (gtk_widget_get_sensitive (POOLS (f, "new_button")));
  g_assert_true (orr_pools_page_select_pool (page (f, "pools"), "default"));
  g_assert_false (gtk_widget_get_sensitive (POOLS (f, "edit_button")));
  g_assert_false (gtk_widget_get_sensitive (POOLS (f, "drop_button")));
  save_screenshot (f, "pools-analyst");

  /* Granted through the role: the script runs. */
  show_page (f, "script");
  set_buffer_text (SCRIPT (f, "script_view"), "OutputDataSet = InputDataSet\n");
  set_buffer_text (SCRIPT (f, "query_view"), "SELECT current_user AS who");
  gtk_button_clicked (SCRIPT (f, "run_button"));
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  g_assert_true (orr_script_page_has_results (page (f, "script")));

  /* The outsider is granted nothing: the error is on the Script page, in view. */
  click_connect (f, g_getenv ("ORRERY_TEST_PG_DSN"), UI_OUTSIDER, "ui-outsider-pw");
  show_page (f, "script");
  gtk_button_clicked (SCRIPT (f, "run_button"));
  wait_until_idle (f);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window_child (f, "stack")), ==, "script");
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  text = orr_info_bar_get_text (SCRIPT (f, "info_bar"));
  g_test_message ("outsider: %s", text);
  g_assert_nonnull (strstr (text, "“" UI_OUTSIDER "” does not have the EXECUTE ANY EXTERNAL SCRIPT permission"));
  g_assert_nonnull (strstr (text, "orrery grant " UI_OUTSIDER));
  g_assert_false (orr_script_page_has_results (page (f, "script")));
  save_screenshot (f, "script-not-granted");
}

static gboolean
pool_dialog_open (Fixture *f)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ORR_IS_POOL_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      {
        g_object_set_data (G_OBJECT (f->window), "test-dialog", l->data);
        return TRUE;
      }
  return FALSE;
}

static GObject *
dialog_child (OrrPoolDialog *dialog,
              const char    *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (dialog), ORR_TYPE_POOL_DIALOG, name);

  g_assert_nonnull (object);
  return object;
}

static gboolean
job_running_with_graph (Fixture *f)
{
  /* Five seconds of samples at 4 Hz: a graph, not a dot. */
  return orr_graph_get_n_points (JOBS (f, "cpu_graph")) >= 20 &&
         orr_graph_get_n_points (JOBS (f, "memory_graph")) >= 20;
}

static gboolean
switch_turned_on (Fixture *f)
{
  return gtk_switch_get_active (SERVER (f, "enabled_switch"));
}

static gboolean
job_listed (Fixture *f)
{
  return job_listed_running (f);
}

static void
test_pg_dba_flow (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(OrrConnection) admin = pg_admin_or_skip ();
  g_autoptr(OrrCatalog) catalog = NULL;
  g_autoptr(OrrLimits) pool = NULL;
  g_autoptr(GError) error = NULL;
  GtkCellRenderer *toggle = NULL;
  GtkWidget *permissions_view;
  GtkWidget *clear;
  GtkTreeIter iter;
  gboolean granted = TRUE;
  OrrPoolDialog *dialog;
  GtkTreeModel *jobs;
  GtkTreePath *path;
  g_autofree char *path_text = NULL;
  g_autofree char *state = NULL;

  g_test_summary ("The DBA's flow with the mouse alone, on PostgreSQL: Connect, turn external scripts on with "
                  "the Server switch, grant a role with its Security toggle, create a pool in the dialog, run a "
                  "script with Run and watch its graphs on the Jobs page while it runs");
  if (skip_without_display () || admin == NULL)
    return;
  pg_setup_roles (admin);
  catalog = orr_catalog_new (admin);
  g_assert_true (orr_catalog_disable (catalog, &error));
  g_assert_no_error (error);

  /* Connect (the DSN's own administrator login). */
  click_connect (f, g_getenv ("ORRERY_TEST_PG_DSN"), "", "");

  /* Server: the switch is off; a click turns it on. */
  show_page (f, "server");
  wait_until_idle (f);
  g_assert_true (gtk_widget_get_sensitive (SERVER (f, "enabled_switch")));
  g_assert_false (gtk_switch_get_active (SERVER (f, "enabled_switch")));
  gtk_widget_activate (SERVER (f, "enabled_switch"));
  /* The switch slides over first (an animation), then the page acts. */
  wait_for (f, switch_turned_on);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SERVER (f, "info_bar")));
  g_assert_true (gtk_switch_get_state (SERVER (f, "enabled_switch")));
  g_assert_true (orr_catalog_is_enabled (catalog, &error));
  g_assert_no_error (error);

  /* Security: tick the role's Granted box. */
  show_page (f, "security");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_true (find_principal (f, UI_ROLE, &iter));
  gtk_tree_model_get (GTK_TREE_MODEL (SECURITY (f, "permissions_store")), &iter, 3, &granted, -1);
  g_assert_false (granted);
  permissions_view = find_widget (page (f, "security"), GTK_TYPE_TREE_VIEW, shows_model, SECURITY (f, "permissions_store"));
  g_assert_nonnull (permissions_view);
  for (guint c = 0; toggle == NULL && c < gtk_tree_view_get_n_columns (GTK_TREE_VIEW (permissions_view)); c++)
    {
      g_autoptr(GList) cells = gtk_cell_layout_get_cells (GTK_CELL_LAYOUT (gtk_tree_view_get_column (GTK_TREE_VIEW (permissions_view), c)));

      for (GList *l = cells; l != NULL; l = l->next)
        if (GTK_IS_CELL_RENDERER_TOGGLE (l->data))
          toggle = l->data;
    }
  g_assert_nonnull (toggle);
  path = gtk_tree_model_get_path (GTK_TREE_MODEL (SECURITY (f, "permissions_store")), &iter);
  path_text = gtk_tree_path_to_string (path);
  gtk_tree_path_free (path);
  /* What a click on the check box emits. */
  g_signal_emit_by_name (toggle, "toggled", path_text);
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (SECURITY (f, "info_bar")));
  g_assert_true (principal_granted (catalog, UI_ROLE));
  g_assert_true (find_principal (f, UI_ANALYST, &iter));
  {
    g_autofree char *may_run = NULL;

    gtk_tree_model_get (GTK_TREE_MODEL (SECURITY (f, "permissions_store")), &iter, 2, &may_run, -1);
    g_assert_cmpstr (may_run, ==, "Yes, through " UI_ROLE);
  }
  save_screenshot (f, "security-pg");

  /* Pools: New…, a name and a process limit, Create. */
  show_page (f, "pools");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "refresh", NULL);
  wait_until_idle (f);
  g_assert_true (gtk_widget_get_sensitive (POOLS (f, "new_button")));
  gtk_button_clicked (POOLS (f, "new_button"));
  wait_for (f, pool_dialog_open);
  dialog = g_object_get_data (G_OBJECT (f->window), "test-dialog");
  gtk_entry_set_text (GTK_ENTRY (dialog_child (dialog, "name_entry")), UI_POOL);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (dialog_child (dialog, "processes_spin")), 3);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (dialog_child (dialog, "ok_button"))));
  gtk_button_clicked (GTK_BUTTON (dialog_child (dialog, "ok_button")));
  wait_until_idle (f);
  g_assert_false (orr_info_bar_is_shown (POOLS (f, "info_bar")));
  pool = orr_catalog_get_pool (catalog, UI_POOL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pool);
  g_assert_cmpuint (pool->max_processes, ==, 3);
  g_assert_true (store_has (GTK_TREE_MODEL (POOLS (f, "pools_store")), 0, UI_POOL));
  save_screenshot (f, "pools-pg");

  /* Script: Run. Then the Jobs page: select the job, its graphs fill while it runs. */
  show_page (f, "script");
  set_buffer_text (SCRIPT (f, "script_view"),
                   "import time\n"
                   "end = time.time() + 60\n"
                   "while time.time() < end:\n"
                   "    sum(range(10000))\n"
                   "OutputDataSet = InputDataSet\n");
  set_buffer_text (SCRIPT (f, "query_view"), "SELECT 1 AS x");
  gtk_button_clicked (SCRIPT (f, "run_button"));
  show_page (f, "jobs");
  /* Only this run in the list: earlier tests' jobs go with Clear Finished. */
  clear = find_widget (page (f, "jobs"), GTK_TYPE_BUTTON, has_label, "Clear _Finished");
  g_assert_nonnull (clear);
  gtk_button_clicked (GTK_BUTTON (clear));
  wait_for (f, job_listed);
  jobs = GTK_TREE_MODEL (JOBS (f, "jobs_store"));
  g_assert_true (gtk_tree_model_get_iter_first (jobs, &iter));
  do
    {
      g_autofree char *key = NULL;

      gtk_tree_model_get (jobs, &iter, 0, &key, -1);
      if (g_strcmp0 (key, g_object_get_data (G_OBJECT (f->window), "test-job-key")) == 0)
        break;
    }
  while (gtk_tree_model_iter_next (jobs, &iter));
  /* What a click on the row does. */
  gtk_tree_selection_select_iter (gtk_tree_view_get_selection (JOBS (f, "jobs_view")), &iter);
  wait_for (f, job_running_with_graph);
  /* Seconds later, the cleared jobs have not come back (their entries linger). */
  g_assert_cmpint (gtk_tree_model_iter_n_children (jobs, NULL), ==, 1);
  gtk_tree_model_get (jobs, &iter, 5, &state, -1);
  g_assert_cmpstr (state, ==, "Running");
  g_assert_true (orr_script_page_is_running (page (f, "script")));
  g_assert_nonnull (strstr (gtk_label_get_text (JOBS (f, "detail_label")), "Running"));
  save_screenshot (f, "jobs-pg");

  /* Done watching: the Script page's Cancel. */
  show_page (f, "script");
  gtk_button_clicked (SCRIPT (f, "cancel_button"));
  wait_for (f, script_not_running);
  wait_until_idle (f);
  g_assert_true (orr_catalog_drop_pool (catalog, UI_POOL, &error));
  g_assert_no_error (error);
}

/* ------------------------------------------------------------- French */

/* The French run (test-console-fr, ORRERY_TEST_LANGUAGE=fr): the English
 * msgids of the .mo the console reads, each with its translations (every
 * context and plural form), to find text left in English on screen. */
static GHashTable *french_msgids;
static const char *french_locpath;

static guint32
mo_word (const char *data,
         gsize       length,
         gsize       offset,
         gboolean    swap)
{
  guint32 word;

  g_assert_cmpuint (offset + 4, <=, length);
  memcpy (&word, data + offset, 4);
  return swap ? GUINT32_SWAP_LE_BE (word) : word;
}

/* Reads the GNU .mo file @path: msgid (its context dropped) → translations. */
static GHashTable *
load_mo (const char *path)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  guint32 magic, n, originals, translations, i;
  gboolean swap;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, >=, 28);
  memcpy (&magic, data, 4);
  swap = magic != 0x950412de;
  g_assert_cmphex (swap ? GUINT32_SWAP_LE_BE (magic) : magic, ==, 0x950412de);
  n = mo_word (data, length, 8, swap);
  originals = mo_word (data, length, 12, swap);
  translations = mo_word (data, length, 16, swap);
  for (i = 0; i < n; i++)
    {
      guint32 id_length = mo_word (data, length, originals + 8 * i, swap);
      guint32 id_offset = mo_word (data, length, originals + 8 * i + 4, swap);
      guint32 str_length = mo_word (data, length, translations + 8 * i, swap);
      guint32 str_offset = mo_word (data, length, translations + 8 * i + 4, swap);
      const char *id = data + id_offset;
      const char *context_end;
      const char *str;
      GPtrArray *strs;

      g_assert_cmpuint ((guint64) id_offset + id_length, <, length);
      g_assert_cmpuint ((guint64) str_offset + str_length, <, length);
      if (id_length == 0)
        continue;  /* the header */
      context_end = strchr (id, '\004');
      if (context_end != NULL)
        id = context_end + 1;
      strs = g_hash_table_lookup (table, id);
      if (strs == NULL)
        {
          strs = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (table, g_strdup (id), strs);
        }
      /* Plural forms, one after the other, each ended by a NUL. */
      for (str = data + str_offset; str < data + str_offset + str_length; str += strlen (str) + 1)
        g_ptr_array_add (strs, g_strdup (str));
    }
  g_test_message ("%s: %u messages", path, n);
  return table;
}

typedef struct {
  GPtrArray  *english;  /* descriptions of the texts still in English */
  GHashTable *seen;     /* "object text" already noted */
  guint       n_texts;
} FrenchCheck;

/* Counts @text, and notes it when it is the English msgid of a message
 * whose French differs: the widget was not translated at run time. */
static void
check_french_text (FrenchCheck *check,
                   gpointer     object,
                   const char  *what,
                   const char  *text)
{
  g_autofree char *key = NULL;
  GPtrArray *strs;
  guint i;

  if (text == NULL || *text == '\0')
    return;
  check->n_texts++;
  strs = g_hash_table_lookup (french_msgids, text);
  if (strs == NULL)
    return;
  for (i = 0; i < strs->len; i++)
    if (g_str_equal (g_ptr_array_index (strs, i), text))
      return;  /* the same word in French ("Script", "Pool") */
  /* A label's text is also its accessible name: one note per object. */
  key = g_strdup_printf ("%p %s", object, text);
  if (!g_hash_table_add (check->seen, g_steal_pointer (&key)))
    return;
  g_ptr_array_add (check->english, g_strdup_printf ("%s %p %s: “%s” (in French: “%s”)",
                                                    G_OBJECT_TYPE_NAME (object), object, what, text,
                                                    (const char *) g_ptr_array_index (strs, 0)));
}

static void
check_french_property (FrenchCheck *check,
                       gpointer     object,
                       const char  *property)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), property);
  g_autofree char *text = NULL;

  if (pspec == NULL || pspec->value_type != G_TYPE_STRING || !(pspec->flags & G_PARAM_READABLE))
    return;
  g_object_get (object, property, &text, NULL);
  check_french_text (check, object, property, text);
}

static void
check_french_menu (FrenchCheck *check,
                   gpointer     owner,
                   GMenuModel  *model)
{
  int i;

  for (i = 0; i < g_menu_model_get_n_items (model); i++)
    {
      g_autoptr(GMenuLinkIter) links = g_menu_model_iterate_item_links (model, i);
      g_autofree char *label = NULL;
      GMenuModel *link;

      if (g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_LABEL, "s", &label))
        check_french_text (check, owner, "menu item", label);
      while (g_menu_link_iter_get_next (links, NULL, &link))
        {
          check_french_menu (check, owner, link);
          g_object_unref (link);
        }
    }
}

static void
check_french_widget (GtkWidget *widget,
                     gpointer   data)
{
  static const char * const properties[] = {
    "label", "title", "subtitle", "placeholder-text", "tooltip-text", "tooltip-markup",
    "text", "secondary-text",
  };
  FrenchCheck *check = data;
  AtkObject *accessible = gtk_widget_get_accessible (widget);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (properties); i++)
    check_french_property (check, widget, properties[i]);
  if (GTK_IS_LABEL (widget))
    check_french_text (check, widget, "text", gtk_label_get_text (GTK_LABEL (widget)));
  check_french_text (check, widget, "accessible name", atk_object_get_name (accessible));
  check_french_text (check, widget, "accessible description", atk_object_get_description (accessible));
  if (GTK_IS_TREE_VIEW (widget))
    {
      g_autoptr(GList) columns = gtk_tree_view_get_columns (GTK_TREE_VIEW (widget));
      GList *l;

      for (l = columns; l != NULL; l = l->next)
        check_french_text (check, l->data, "column title", gtk_tree_view_column_get_title (l->data));
    }
  if (GTK_IS_COMBO_BOX_TEXT (widget))
    {
      GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (widget));
      GtkTreeIter iter;
      gboolean more;

      for (more = gtk_tree_model_get_iter_first (model, &iter); more; more = gtk_tree_model_iter_next (model, &iter))
        {
          g_autofree char *text = NULL;

          gtk_tree_model_get (model, &iter, 0, &text, -1);
          check_french_text (check, widget, "combo box item", text);
        }
    }
  if (GTK_IS_MENU_BUTTON (widget) && gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)) != NULL)
    check_french_menu (check, widget, gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)));
  if (GTK_IS_STACK (widget))
    {
      g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (widget));
      GList *l;

      for (l = children; l != NULL; l = l->next)
        {
          g_autofree char *title = NULL;

          gtk_container_child_get (GTK_CONTAINER (widget), l->data, "title", &title, NULL);
          check_french_text (check, l->data, "stack page title", title);
        }
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), check_french_widget, data);
}

/* The texts of @widget and everything in it still in English; fails the
 * test, listing them, when there is any. Returns how many texts it read. */
static guint
assert_french (GtkWidget  *widget,
               const char *where)
{
  FrenchCheck check = { g_ptr_array_new_with_free_func (g_free),
                        g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0 };
  guint i;

  check_french_widget (widget, &check);
  for (i = 0; i < check.english->len; i++)
    g_test_message ("%s: still in English: %s", where, (const char *) g_ptr_array_index (check.english, i));
  g_test_message ("%s: %u texts, %u in English", where, check.n_texts, check.english->len);
  g_assert_cmpuint (check.english->len, ==, 0);
  g_ptr_array_unref (check.english);
  g_hash_table_unref (check.seen);
  return check.n_texts;
}

/* A screenshot of a toplevel other than the main window (a dialog). */
static void
save_toplevel_screenshot (GtkWidget  *toplevel,
                          const char *name)
{
  GdkWindow *window = gtk_widget_get_window (toplevel);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
  g_autofree char *file_name = g_strdup_printf ("%s.png", name);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  gboolean settled = FALSE;
  gboolean drawn = FALSE;
  gboolean timed_out = FALSE;
  guint timeout_id;
  gulong draw_id;
  cairo_surface_t *surface;
  cairo_t *cr;

  /* The theme's transitions end, then one more full paint. */
  g_timeout_add (600, on_timeout, &settled);
  while (!settled)
    g_main_context_iteration (NULL, TRUE);
  draw_id = g_signal_connect_after (toplevel, "draw", G_CALLBACK (on_draw), &drawn);
  timeout_id = g_timeout_add_seconds (WAIT_SECONDS, on_timeout, &timed_out);
  gtk_widget_queue_draw (toplevel);
  while (!drawn && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (timeout_id);
  g_signal_handler_disconnect (toplevel, draw_id);
  gdk_display_sync (gdk_display_get_default ());
  g_assert_nonnull (window);
  /* Painted offscreen: on a display without a compositor, what the X
   * server holds of a new dialog may not be all painted yet. */
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, gdk_window_get_width (window),
                                        gdk_window_get_height (window));
  cr = cairo_create (surface);
  gtk_widget_draw (toplevel, cr);
  cairo_destroy (cr);
  pixbuf = gdk_pixbuf_get_from_surface (surface, 0, 0, cairo_image_surface_get_width (surface),
                                        cairo_image_surface_get_height (surface));
  cairo_surface_destroy (surface);
  g_assert_nonnull (pixbuf);
  g_mkdir_with_parents (dir, 0755);
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", path);
}

static void
test_french_checker (void)
{
  FrenchCheck check = { g_ptr_array_new_with_free_func (g_free),
                        g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0 };
  GtkWidget *box;

  g_test_summary ("The French check finds an English label, tooltip or column title, and passes French ones");
  if (skip_without_display ())
    {
      g_ptr_array_unref (check.english);
      g_hash_table_unref (check.seen);
      return;
    }
  /* Whatever the catalog, these are msgids fr.po translates differently. */
  g_assert_nonnull (g_hash_table_lookup (french_msgids, "Jobs on this host"));
  g_assert_nonnull (g_hash_table_lookup (french_msgids, "Stop the selected job"));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  g_object_ref_sink (box);
  gtk_container_add (GTK_CONTAINER (box), gtk_label_new ("Jobs on this host"));
  gtk_container_add (GTK_CONTAINER (box), gtk_label_new (_("Jobs on this host")));
  gtk_widget_set_tooltip_text (box, "Stop the selected job");
  check_french_widget (box, &check);
  g_assert_cmpuint (check.english->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (check.english, 0), "Stop the selected job"));
  g_assert_nonnull (strstr (g_ptr_array_index (check.english, 1), "Jobs on this host"));
  g_ptr_array_unref (check.english);
  g_hash_table_unref (check.seen);
  g_object_unref (box);
}

static void
test_french_pages (Fixture       *f,
                   gconstpointer  data)
{
  const struct { const char *name; const char *title; } pages[] = {
    { "connect", "Connexion" },
    { "server", "Serveur" },
    { "security", "Sécurité" },
    { "script", "Script" },
    { "jobs", "Tâches" },
    { "pools", "Pools" },
  };
  GtkStack *stack;
  GtkWidget *dialog;
  GtkWidget *overlay;
  guint n_texts;
  guint i;

  g_test_summary ("Under LANGUAGE=fr the pages are in French: their titles, and no label, tooltip, "
                  "column title, menu item or accessible name left in English; each page's screenshot "
                  "is kept as a test artifact (screenshots/fr-*.png)");
  if (skip_without_display ())
    return;

  set_buffer_text (SCRIPT (f, "script_view"),
                   "print(InputDataSet.describe())\n"
                   "OutputDataSet = InputDataSet.groupby('species', as_index=False).mean()\n");
  run_script (f);
  g_assert_cmpstr (gtk_button_get_label (SCRIPT (f, "run_button")), ==, "_Exécuter");
  /* Durations and counts in the locale's way: "0,04 s" under fr_FR. */
  if (french_locpath != NULL && *french_locpath != '\0')
    {
      const char *status = gtk_label_get_text (SCRIPT (f, "status_label"));

      g_test_message ("status: %s", status);
      g_assert_cmpstr (localeconv ()->decimal_point, ==, ",");
      g_assert_nonnull (strstr (status, ","));
      g_assert_null (strstr (status, "."));
    }
  else
    g_test_message ("ORRERY_TEST_FR_LOCPATH is not set (tools/test.sh sets it when localedef can build "
                    "fr_FR.UTF-8): the decimal comma is not checked, numbers stay in C.UTF-8's format");

  stack = window_child (f, "stack");
  for (i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *title = NULL;
      g_autofree char *shot = g_strdup_printf ("fr-%s", pages[i].name);

      show_page (f, pages[i].name);
      wait_until_idle (f);
      gtk_container_child_get (GTK_CONTAINER (stack), gtk_stack_get_visible_child (stack), "title", &title, NULL);
      g_assert_cmpstr (title, ==, pages[i].title);
      save_screenshot (f, shot);
      n_texts = assert_french (gtk_stack_get_visible_child (stack), pages[i].name);
      g_assert_cmpuint (n_texts, >=, 10);
    }

  /* The tabs behind the first ones. */
  show_page (f, "script");
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 1);
  save_screenshot (f, "fr-script-messages");
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 2);
  save_screenshot (f, "fr-script-history");
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 3);
  save_screenshot (f, "fr-script-resources");
  show_page (f, "jobs");
  gtk_notebook_set_current_page (JOBS (f, "notebook"), 1);
  save_screenshot (f, "fr-jobs-log");

  /* A failing script: the engine's message, in French, around Python's
   * own traceback, which stays as Python wrote it. */
  show_page (f, "script");
  set_buffer_text (SCRIPT (f, "script_view"), "OutputDataSet = InputDataSet\nraise ValueError('bad input')\n");
  run_script (f);
  g_assert_true (orr_info_bar_is_shown (SCRIPT (f, "info_bar")));
  g_assert_true (g_str_has_prefix (orr_info_bar_get_text (SCRIPT (f, "info_bar")), "Le script a échoué"));
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 1);
  save_screenshot (f, "fr-script-error");
  assert_french (GTK_WIDGET (page (f, "script")), "script error");

  /* T-SQL: SQL Server's messages, the French way. */
  gtk_toggle_button_set_active (SCRIPT (f, "tsql_mode"), TRUE);
  set_buffer_text (SCRIPT (f, "script_view"),
                   "EXEC sp_execute_external_script @language = N'Python',\n"
                   "  @script = N'print(len(InputDataSet)); OutputDataSet = InputDataSet',\n"
                   "  @input_data_1 = N'SELECT * FROM iris'\n"
                   "WITH RESULT SETS UNDEFINED;\n");
  run_script (f);
  {
    g_autofree char *messages = dup_buffer_text (SCRIPT (f, "messages_view"));

    g_test_message ("%s", messages);
    g_assert_nonnull (strstr (messages, "(150 lignes affectées)"));
  }
  gtk_notebook_set_current_page (SCRIPT (f, "notebook"), 1);
  save_screenshot (f, "fr-script-tsql");
  assert_french (GTK_WIDGET (page (f, "script")), "T-SQL");
  gtk_toggle_button_set_active (SCRIPT (f, "python_mode"), TRUE);

  /* The whole window: header bar, sidebar, menu. */
  n_texts = assert_french (GTK_WIDGET (f->window), "window");
  g_assert_cmpuint (n_texts, >=, 200);

  /* The pool dialog and the shortcuts window. */
  dialog = GTK_WIDGET (orr_pool_dialog_new (GTK_WINDOW (f->window), NULL));
  gtk_widget_show (dialog);
  drain_events ();
  save_toplevel_screenshot (dialog, "fr-pool-dialog");
  assert_french (dialog, "pool dialog");
  gtk_widget_destroy (dialog);

  overlay = GTK_WIDGET (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (f->window)));
  g_assert_nonnull (overlay);
  gtk_widget_show (overlay);
  drain_events ();
  save_toplevel_screenshot (overlay, "fr-shortcuts");
  assert_french (overlay, "shortcuts window");
  gtk_widget_hide (overlay);
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
  gboolean french;
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

  /* The French run (test-console-fr) reads the build tree's .mo, as the
   * console does with LANGUAGE=fr and ORRERY_LOCALEDIR; both runs set the
   * locale the console's way, before gtk_init(). */
  french = g_strcmp0 (g_getenv ("ORRERY_TEST_LANGUAGE"), "fr") == 0;
  if (french)
    {
      const char *localedir = g_getenv ("ORRERY_LOCALEDIR");
      g_autofree char *mo = NULL;

      if (localedir == NULL || *localedir == '\0')
        g_error ("ORRERY_TEST_LANGUAGE=fr needs ORRERY_LOCALEDIR, the directory of fr/LC_MESSAGES/orrery.mo");
      mo = g_build_filename (localedir, "fr", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
      if (!g_file_test (mo, G_FILE_TEST_IS_REGULAR))
        g_error ("%s does not exist: build the translations (ninja orrery-gmo) first", mo);
      g_setenv ("LANGUAGE", "fr", TRUE);
      french_msgids = load_mo (mo);
      /* tools/test.sh compiles fr_FR.UTF-8 into a private LOCPATH (no
       * system change): numbers then follow French rules too. */
      french_locpath = g_getenv ("ORRERY_TEST_FR_LOCPATH");
      if (french_locpath != NULL && *french_locpath != '\0')
        {
          g_setenv ("LOCPATH", french_locpath, TRUE);
          g_setenv ("LANG", "fr_FR.UTF-8", TRUE);
          g_unsetenv ("LC_ALL");
        }
    }
  orr_ui_init_i18n ();

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

  if (french)
    {
      g_test_add_func ("/Orr/Console/fr/checker", test_french_checker);
      ADD ("/Orr/Console/fr/pages", test_french_pages);
      ret = g_test_run ();
      g_clear_object (&app);
      g_clear_pointer (&french_msgids, g_hash_table_unref);
      remove_tree (tmp_dir);
      g_free (tmp_dir);
      return ret;
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
  ADD ("/Orr/Console/jobs-cancel-other-process", test_jobs_cancel_other_process);
  ADD ("/Orr/Console/jobs-cancel-not-permitted", test_jobs_cancel_not_permitted);
  ADD ("/Orr/Console/pg-analyst", test_pg_analyst);
  ADD ("/Orr/Console/pg-dba-flow", test_pg_dba_flow);

  ret = g_test_run ();
  g_clear_object (&app);
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
