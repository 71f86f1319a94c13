/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-console"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "orr-application.h"
#include "orr-window.h"

/* Generous: the first job of a process starts the satellite zygote, and the
 * sanitizer build is slow. */
#define WAIT_SECONDS 120

static OrrApplication *app;
static gboolean have_display;

typedef struct {
  OrrWindow *window;
} Fixture;

static gpointer
child (Fixture    *f,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (f->window), ORR_TYPE_WINDOW, name);

  g_assert_nonnull (object);
  return object;
}

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
set_buffer_text (Fixture    *f,
                 const char *name,
                 const char *text)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (child (f, name)), text, -1);
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

/* Runs the main loop until the window neither connects nor runs: the
 * Connect action is enabled exactly then. */
static void
wait_until_idle (Fixture *f)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, on_timeout, &timed_out);

  while (!action_enabled (f, "connect") && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
run_script (Fixture *f)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "run", NULL);
  g_assert_false (action_enabled (f, "run"));
  wait_until_idle (f);
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  if (!have_display)
    return;
  /* Each window opens the last connection at once: the demo database, in
   * the test's private XDG_DATA_HOME. */
  f->window = orr_window_new (app);
  gtk_widget_show (GTK_WIDGET (f->window));
  wait_until_idle (f);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  if (f->window != NULL)
    gtk_widget_destroy (GTK_WIDGET (f->window));
}

static gboolean
skip_without_display (void)
{
  if (!have_display)
    g_test_skip ("No display to open windows on (run under xvfb-run)");
  return !have_display;
}

static void
check_accessible (GtkWidget *widget,
                  gpointer   data)
{
  guint *n_checked = data;

  if ((GTK_IS_BUTTON (widget) || GTK_IS_ENTRY (widget) || GTK_IS_TEXT_VIEW (widget) ||
       GTK_IS_TREE_VIEW (widget) || GTK_IS_NOTEBOOK (widget)) &&
      gtk_widget_get_can_focus (widget))
    {
      const char *name = atk_object_get_name (gtk_widget_get_accessible (widget));

      if (name == NULL || *name == '\0')
        g_test_message ("%s %p has no accessible name", G_OBJECT_TYPE_NAME (widget), widget);
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
  guint n_checked = 0;

  g_test_summary ("Every focusable interactive widget of the window has an accessible name");
  if (skip_without_display ())
    return;

  check_accessible (GTK_WIDGET (f->window), &n_checked);
  /* Run, Cancel, menu, entry, Connect, two editors, notebook, grid, messages, … */
  g_assert_cmpuint (n_checked, >=, 10);
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
  g_test_summary ("Run is on F5 and Ctrl+Return, Cancel on Escape");
  if (skip_without_display ())
    return;

  g_assert_true (has_accel ("win.run", GDK_KEY_F5, 0));
  g_assert_true (has_accel ("win.run", GDK_KEY_Return, GDK_CONTROL_MASK));
  g_assert_true (has_accel ("win.cancel", GDK_KEY_Escape, 0));
}

static void
test_demo_run (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *script = NULL;
  g_autofree char *query = NULL;
  GtkTreeModel *model;
  const char *subtitle;

  g_test_summary ("The window connects to the demo database and shows the iris rows the default script returns");
  if (skip_without_display ())
    return;

  subtitle = gtk_header_bar_get_subtitle (child (f, "header_bar"));
  g_assert_nonnull (subtitle);
  g_assert_nonnull (strstr (subtitle, "SQLite"));
  script = dup_buffer_text (child (f, "script_view"));
  query = dup_buffer_text (child (f, "query_view"));
  g_assert_cmpstr (script, ==, "OutputDataSet = InputDataSet");
  g_assert_cmpstr (query, ==, "SELECT * FROM iris");

  run_script (f);

  g_assert_false (gtk_info_bar_get_revealed (child (f, "info_bar")));
  model = gtk_tree_view_get_model (child (f, "results_view"));
  g_assert_nonnull (model);
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, NULL), ==, 150);
  g_assert_cmpint (gtk_tree_model_get_n_columns (model), ==, 5);
  g_assert_cmpuint (gtk_tree_view_get_n_columns (child (f, "results_view")), ==, 5);
  g_assert_nonnull (strstr (gtk_label_get_text (child (f, "status_label")), "150"));
}

static void
test_script_error (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *messages = NULL;
  GtkTextBuffer *buffer;
  GtkTextIter cursor;

  g_test_summary ("Output of the script is shown in blocks under their headings; "
                  "an error is shown with its traceback and puts the cursor on the failing line");
  if (skip_without_display ())
    return;

  set_buffer_text (f, "script_view",
                   "import sys\n"
                   "print('to stdout')\n"
                   "print('to stderr', file=sys.stderr)\n"
                   "x = 1 / 0\n");
  run_script (f);

  g_assert_true (gtk_info_bar_get_revealed (child (f, "info_bar")));
  messages = dup_buffer_text (child (f, "messages_view"));
  g_test_message ("%s", messages);
  g_assert_nonnull (strstr (messages, "STDOUT message(s) from external script:\nto stdout"));
  g_assert_nonnull (strstr (messages, "STDERR message(s) from external script:\nto stderr"));
  g_assert_nonnull (strstr (messages, "ZeroDivisionError"));
  g_assert_cmpint (gtk_notebook_get_current_page (child (f, "notebook")), ==, 1);

  buffer = gtk_text_view_get_buffer (child (f, "script_view"));
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  g_assert_cmpint (gtk_text_iter_get_line (&cursor), ==, 3);
}

static void
test_row_cap (Fixture       *f,
              gconstpointer  data)
{
  GtkTreeModel *model;
  GtkTreeIter iter;
  g_autofree char *label = NULL;

  g_test_summary ("The grid shows at most 10 000 rows and says so; SQL NULL stays NULL");
  if (skip_without_display ())
    return;

  set_buffer_text (f, "query_view",
                   "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25000) "
                   "SELECT x, CASE WHEN x % 3 = 0 THEN NULL ELSE 'row ' || x END AS label FROM c");
  run_script (f);

  model = gtk_tree_view_get_model (child (f, "results_view"));
  g_assert_nonnull (model);
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, NULL), ==, 10000);
  g_assert_true (gtk_widget_get_visible (child (f, "results_note")));

  /* Row 3 (x = 3) has a NULL label. */
  g_assert_true (gtk_tree_model_iter_nth_child (model, &iter, NULL, 2));
  gtk_tree_model_get (model, &iter, 1, &label, -1);
  g_assert_null (label);
}

static void
test_connect_failure (Fixture       *f,
                      gconstpointer  data)
{
  g_test_summary ("A data source that cannot be reached is reported in the info bar, and Run does not use the previous connection");
  if (skip_without_display ())
    return;

  gtk_entry_set_text (child (f, "connection_entry"), "Driver=No Such Driver;Database=/nonexistent");
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "connect", NULL);
  wait_until_idle (f);

  g_assert_true (gtk_info_bar_get_revealed (child (f, "info_bar")));
  g_assert_null (gtk_header_bar_get_subtitle (child (f, "header_bar")));
  g_assert_cmpstr (gtk_label_get_text (child (f, "status_label")), ==, "Not connected");
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

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_autofree char *data_home = NULL;
  g_autofree char *config_home = NULL;
  g_autofree char *cache_home = NULL;
  int ret;

  /* Not G_TEST_OPTION_ISOLATE_DIRS: it hides the system data directories,
   * where GtkSourceView's language definitions and the icon theme live.
   * The user directories are private instead: the demo database is created
   * in this XDG_DATA_HOME. */
  tmp = g_dir_make_tmp ("test-console-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  data_home = g_build_filename (tmp, "data", NULL);
  config_home = g_build_filename (tmp, "config", NULL);
  cache_home = g_build_filename (tmp, "cache", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);

  g_test_init (&argc, &argv, NULL);

  /* No session bus (and no autolaunched one), no accessibility bus, settings
   * in memory: the test touches nothing outside itself. */
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

  g_test_add ("/Orr/Console/accessible-names", Fixture, NULL, setup, test_accessible_names, teardown);
  g_test_add ("/Orr/Console/accels", Fixture, NULL, setup, test_accels, teardown);
  g_test_add ("/Orr/Console/demo-run", Fixture, NULL, setup, test_demo_run, teardown);
  g_test_add ("/Orr/Console/script-error", Fixture, NULL, setup, test_script_error, teardown);
  g_test_add ("/Orr/Console/row-cap", Fixture, NULL, setup, test_row_cap, teardown);
  g_test_add ("/Orr/Console/connect-failure", Fixture, NULL, setup, test_connect_failure, teardown);

  ret = g_test_run ();
  g_clear_object (&app);
  remove_tree (tmp);
  return ret;
}
