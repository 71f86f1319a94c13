/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-demo"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orr-catalog.h"
#include "orr-connection.h"
#include "orr-demo.h"
#include "orr-error.h"

#define IRIS_CSV "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv"

static const char * const driver_paths[] = {
  "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so",
  "/usr/lib/aarch64-linux-gnu/odbc/libsqlite3odbc.so",
  "/usr/lib/i386-linux-gnu/odbc/libsqlite3odbc.so",
  "/usr/lib64/libsqlite3odbc.so",
  "/usr/lib/libsqlite3odbc.so",
};

static const char *
find_driver (GError **error)
{
  const char *env = g_getenv ("ORRERY_SQLITE_ODBC_DRIVER");

  if (env && g_file_test (env, G_FILE_TEST_EXISTS))
    return env;
  for (guint i = 0; i < G_N_ELEMENTS (driver_paths); i++)
    if (g_file_test (driver_paths[i], G_FILE_TEST_EXISTS))
      return driver_paths[i];
  g_set_error (error, ORR_ERROR, ORR_ERROR_CONNECTION,
               _("The SQLite ODBC driver is not installed (Debian package libsqliteodbc); "
                 "it is needed for the demo database"));
  return NULL;
}

char *
orr_demo_dup_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "orrery", "demo.sqlite", NULL);
}

/* Without StepAPI the driver reads a result whole before the first fetch,
 * but it types expressions (SELECT 1, count(*)) from their values instead of
 * calling everything varchar: right types matter more on a small demo. */
static char *
connection_string (const char *driver, const char *path)
{
  return g_strdup_printf ("Driver=%s;Database=%s", driver, path);
}

static OrrBatch *
load_iris (OrrSchema *schema, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  static const char *species[] = { "setosa", "versicolor", "virginica" };
  OrrBatch *batch;
  guint row = 0;

  if (!g_file_get_contents (IRIS_CSV, &contents, NULL, error))
    {
      g_prefix_error (error, _("The iris sample data (Debian package python3-sklearn) is missing: "));
      return NULL;
    }
  lines = g_strsplit (contents, "\n", -1);
  batch = orr_batch_new (schema, g_strv_length (lines), FALSE, error);
  if (batch == NULL)
    return NULL;
  /* First line: "150,4,setosa,versicolor,virginica"; then 4 measures and a class. */
  for (guint i = 1; lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], ",", -1);
      int klass;

      if (g_strv_length (f) != 5)
        continue;
      for (guint c = 0; c < 4; c++)
        ((double *) orr_batch_get_values_mut (batch, c))[row] = g_ascii_strtod (f[c], NULL);
      klass = CLAMP (atoi (f[4]), 0, 2);
      orr_batch_append_data (batch, 4, species[klass], strlen (species[klass]), NULL);
      ((gint32 *) orr_batch_get_values_mut (batch, 4))[row + 1] = orr_batch_get_data_len (batch, 4);
      row++;
    }
  orr_batch_set_n_rows (batch, row);
  return batch;
}

static OrrBatch *
make_sales (OrrSchema *schema, GError **error)
{
  static const char *regions[] = { "Nord", "Sud", "Est", "Ouest" };
  static const char *products[] = { "Télescope", "Lunette", "Planétaire", "Astrolabe", "Sextant" };
  static const double prices[] = { 499.0, 189.5, 1250.0, 320.0, 275.25 };
  guint n = 1000;
  OrrBatch *batch = orr_batch_new (schema, n, FALSE, error);
  GRand *rand;

  if (batch == NULL)
    return NULL;
  rand = g_rand_new_with_seed (42);
  for (guint i = 0; i < n; i++)
    ((gint64 *) orr_batch_get_values_mut (batch, 0))[i] = i + 1;
  for (guint i = 0; i < n; i++)
    /* Days since 1970-01-01: every day of 2025 and 2026. */
    ((gint32 *) orr_batch_get_values_mut (batch, 1))[i] = 20089 + g_rand_int_range (rand, 0, 730);
  for (guint i = 0; i < n; i++)
    {
      const char *r = regions[g_rand_int_range (rand, 0, G_N_ELEMENTS (regions))];
      orr_batch_append_data (batch, 2, r, strlen (r), NULL);
      ((gint32 *) orr_batch_get_values_mut (batch, 2))[i + 1] = orr_batch_get_data_len (batch, 2);
    }
  for (guint i = 0; i < n; i++)
    {
      guint p = g_rand_int_range (rand, 0, G_N_ELEMENTS (products));
      guint qty = g_rand_int_range (rand, 1, 12);

      orr_batch_append_data (batch, 3, products[p], strlen (products[p]), NULL);
      ((gint32 *) orr_batch_get_values_mut (batch, 3))[i + 1] = orr_batch_get_data_len (batch, 3);
      ((gint32 *) orr_batch_get_values_mut (batch, 4))[i] = qty;
      ((double *) orr_batch_get_values_mut (batch, 5))[i] = prices[p];
      ((double *) orr_batch_get_values_mut (batch, 6))[i] = prices[p] * qty;
    }
  g_rand_free (rand);
  orr_batch_set_n_rows (batch, n);
  return batch;
}

static gboolean
create_demo (const char *driver, const char *path, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.%d.tmp", path, (int) getpid ());
  g_autofree char *conn_str = connection_string (driver, tmp);
  g_autoptr(OrrConnection) conn = orr_connection_new (conn_str);
  g_autoptr(OrrSchema) iris_schema = orr_schema_new ();
  g_autoptr(OrrSchema) sales_schema = orr_schema_new ();
  g_autoptr(OrrBatch) iris = NULL;
  g_autoptr(OrrBatch) sales = NULL;
  g_autoptr(GPtrArray) batches = g_ptr_array_new ();

  orr_schema_add_field (iris_schema, "sepal_length", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (iris_schema, "sepal_width", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (iris_schema, "petal_length", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (iris_schema, "petal_width", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (iris_schema, "species", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (sales_schema, "id", ORR_DATA_TYPE_INT64, 0, 0);
  orr_schema_add_field (sales_schema, "sale_date", ORR_DATA_TYPE_DATE, 0, 0);
  orr_schema_add_field (sales_schema, "region", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (sales_schema, "product", ORR_DATA_TYPE_TEXT, 0, 0);
  orr_schema_add_field (sales_schema, "quantity", ORR_DATA_TYPE_INT32, 0, 0);
  orr_schema_add_field (sales_schema, "unit_price", ORR_DATA_TYPE_FLOAT64, 0, 0);
  orr_schema_add_field (sales_schema, "amount", ORR_DATA_TYPE_FLOAT64, 0, 0);

  if ((iris = load_iris (iris_schema, error)) == NULL || (sales = make_sales (sales_schema, error)) == NULL)
    return FALSE;

  g_unlink (tmp);
  if (!orr_connection_open (conn, NULL, error))
    return FALSE;
  g_ptr_array_add (batches, iris);
  if (!orr_connection_write_table (conn, "iris", iris_schema, batches, NULL, error))
    goto fail;
  g_ptr_array_index (batches, 0) = sales;
  if (!orr_connection_write_table (conn, "sales", sales_schema, batches, NULL, error))
    goto fail;
  /* The demo is the user's own file, so the user administers it: external
   * scripts start enabled, as a newcomer expects. */
  {
    g_autoptr(OrrCatalog) catalog = orr_catalog_new (conn);

    if (!orr_catalog_enable (catalog, error))
      goto fail;
  }
  orr_connection_close (conn);

  /* Appears whole or not at all. */
  if (g_rename (tmp, path) != 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot create the demo database “%s”: %s"),
                   path, g_strerror (errsv));
      goto fail;
    }
  return TRUE;

fail:
  orr_connection_close (conn);
  g_unlink (tmp);
  g_prefix_error (error, _("Cannot create the demo database: "));
  return FALSE;
}

char *
orr_demo_dup_connection_string (GError **error)
{
  g_autofree char *path = orr_demo_dup_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  const char *driver = find_driver (error);

  if (driver == NULL)
    return NULL;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot create “%s”: %s"), dir, g_strerror (errsv));
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !create_demo (driver, path, error))
    return NULL;
  return connection_string (driver, path);
}
