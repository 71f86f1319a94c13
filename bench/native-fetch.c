/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The native fast paths (and, with OrreryNative=No, the ODBC path) through
 * OrrConnection alone, no engine, no satellite:
 *
 *   native-fetch read  CONNECTION QUERY ROWS   fetches every row into shared
 *                                               batches, as the engine does
 *   native-fetch write CONNECTION QUERY TABLE ROWS
 *                                               reads the query (untimed), then
 *                                               opens a new connection and
 *                                               writes the rows into TABLE
 *                                               (dropped first) with
 *                                               write_table: both timed
 *
 * Prints one JSON line: the timed seconds, the rows, the path. Exits 1 when
 * the row count is not ROWS. */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "orr-connection.h"

static OrrConnection *
open_or_die (const char *target)
{
  g_autoptr(GError) error = NULL;
  OrrConnection *conn = orr_connection_new (target);

  if (!orr_connection_open (conn, NULL, &error))
    {
      fprintf (stderr, "native-fetch: %s\n", error->message);
      exit (1);
    }
  return conn;
}

static GPtrArray *
read_all (OrrConnection *conn, const char *sql, OrrSchema **schema, const char **path, guint64 *rows)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCursor) cursor = orr_connection_execute (conn, sql, NULL, &error);
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  OrrBatch *batch;

  if (cursor == NULL)
    {
      fprintf (stderr, "native-fetch: %s\n", error->message);
      exit (1);
    }
  *path = orr_cursor_get_native_path (cursor);
  *schema = orr_schema_ref (orr_cursor_get_schema (cursor));
  *rows = 0;
  while ((batch = orr_cursor_fetch (cursor, TRUE, NULL, &error)) != NULL)
    {
      *rows += orr_batch_get_n_rows (batch);
      g_ptr_array_add (batches, batch);
    }
  if (error)
    {
      fprintf (stderr, "native-fetch: %s\n", error->message);
      exit (1);
    }
  return batches;
}

int
main (int argc, char **argv)
{
  g_autoptr(OrrConnection) conn = NULL;
  g_autoptr(OrrConnection) write_conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batches = NULL;
  g_autoptr(OrrSchema) schema = NULL;
  const char *path = NULL;
  guint64 rows = 0, want;
  gint64 t0, t1;

  if (argc == 5 && g_str_equal (argv[1], "read"))
    {
      want = g_ascii_strtoull (argv[4], NULL, 10);
      t0 = g_get_monotonic_time ();
      conn = open_or_die (argv[2]);
      {
        /* Batches are dropped as they come, as the engine sends them on. */
        g_autoptr(OrrCursor) cursor = orr_connection_execute (conn, argv[3], NULL, &error);
        OrrBatch *batch;

        if (cursor == NULL)
          {
            fprintf (stderr, "native-fetch: %s\n", error->message);
            return 1;
          }
        path = orr_cursor_get_native_path (cursor);
        while ((batch = orr_cursor_fetch (cursor, TRUE, NULL, &error)) != NULL)
          {
            rows += orr_batch_get_n_rows (batch);
            orr_batch_unref (batch);
          }
        if (error)
          {
            fprintf (stderr, "native-fetch: %s\n", error->message);
            return 1;
          }
      }
      t1 = g_get_monotonic_time ();
    }
  else if (argc == 6 && g_str_equal (argv[1], "write"))
    {
      g_autofree char *drop = g_strdup_printf ("DROP TABLE IF EXISTS %s", argv[4]);

      want = g_ascii_strtoull (argv[5], NULL, 10);
      conn = open_or_die (argv[2]);
      batches = read_all (conn, argv[3], &schema, &path, &rows);
      if (!orr_connection_execute_update (conn, drop, NULL, &error))
        {
          fprintf (stderr, "native-fetch: %s\n", error->message);
          return 1;
        }
      /* Timed as psql's \copy is: a connection of its own, then the
       * writing. The rows are already here, as a job's results are. */
      orr_connection_close (conn);
      t0 = g_get_monotonic_time ();
      write_conn = open_or_die (argv[2]);
      path = orr_connection_get_native_path (write_conn);
      if (!orr_connection_write_table (write_conn, argv[4], schema, batches, NULL, &error))
        {
          fprintf (stderr, "native-fetch: %s\n", error->message);
          return 1;
        }
      orr_connection_close (write_conn);
      t1 = g_get_monotonic_time ();
    }
  else
    {
      fprintf (stderr, "usage: native-fetch read CONNECTION QUERY ROWS\n"
                       "       native-fetch write CONNECTION QUERY TABLE ROWS\n");
      return 2;
    }
  printf ("{\"seconds\": %.6f, \"rows\": %" G_GUINT64_FORMAT ", \"path\": \"%s\"}\n",
          (t1 - t0) / 1e6, rows, path ? path : "odbc");
  if (rows != want)
    {
      fprintf (stderr, "native-fetch: %" G_GUINT64_FORMAT " rows, expected %" G_GUINT64_FORMAT "\n", rows, want);
      return 1;
    }
  return 0;
}
