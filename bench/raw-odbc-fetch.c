/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The floor: how fast can anything read a query's rows through ODBC?
 *
 *   raw-odbc-fetch [--rows N] [--array-size N] DSN-OR-CONNECTION-STRING QUERY
 *
 * Runs QUERY, binds every column column-wise (one array per column, as
 * Orrery does: SQL_ATTR_ROW_ARRAY_SIZE rows per SQLFetch) into the C type an
 * engine would use, and fetches to the end without looking at the values.
 * Linked against unixODBC only, nothing of Orrery. Prints one line:
 *
 *   rows=1000000 seconds=S connect=S execute=S fetch=S columns=8 array_size=16384
 *
 * where seconds = execute + fetch (query sent to last row read). With
 * --rows N, a different row count is an error (exit status 1).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sql.h>
#include <sqlext.h>

#define DEFAULT_ARRAY_SIZE 16384
/* Text wider than this would be read with SQLGetData by an engine; the floor
 * refuses such columns instead of pretending to bind them. */
#define MAX_BOUND_CHARS 8000

typedef struct {
  SQLSMALLINT sql_type;
  SQLSMALLINT c_type;
  SQLLEN width;
  void *values;
  SQLLEN *indicators;
} Column;

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
print_diag (SQLSMALLINT handle_type, SQLHANDLE handle, const char *context)
{
  SQLSMALLINT i;

  fprintf (stderr, "raw-odbc-fetch: %s\n", context);
  for (i = 1; i < 10; i++)
    {
      SQLCHAR state[6] = { 0 };
      SQLCHAR message[1024] = { 0 };
      SQLINTEGER native = 0;
      SQLSMALLINT len = 0;

      if (!SQL_SUCCEEDED (SQLGetDiagRec (handle_type, handle, i, state, &native,
                                         message, sizeof message, &len)))
        break;
      fprintf (stderr, "  SQLSTATE %s: %s\n", (char *) state, (char *) message);
    }
}

static void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);

  if (p == NULL)
    {
      fprintf (stderr, "raw-odbc-fetch: out of memory\n");
      exit (1);
    }
  return p;
}

/* The C type an engine binds for @sql_type; FALSE for types the floor does not bind. */
static int
plan_column (Column *col, SQLSMALLINT sql_type, SQLULEN size)
{
  col->sql_type = sql_type;
  switch (sql_type)
    {
    case SQL_BIT:
      col->c_type = SQL_C_BIT;
      col->width = 1;
      return 1;
    case SQL_TINYINT:
    case SQL_SMALLINT:
      col->c_type = SQL_C_SSHORT;
      col->width = sizeof (SQLSMALLINT);
      return 1;
    case SQL_INTEGER:
      col->c_type = SQL_C_SLONG;
      col->width = sizeof (SQLINTEGER);
      return 1;
    case SQL_BIGINT:
      col->c_type = SQL_C_SBIGINT;
      col->width = sizeof (SQLBIGINT);
      return 1;
    case SQL_REAL:
      col->c_type = SQL_C_FLOAT;
      col->width = sizeof (SQLREAL);
      return 1;
    case SQL_FLOAT:
    case SQL_DOUBLE:
      col->c_type = SQL_C_DOUBLE;
      col->width = sizeof (SQLDOUBLE);
      return 1;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
      /* As text, the way engines keep exact decimals (Orrery binds 48 bytes). */
      col->c_type = SQL_C_CHAR;
      col->width = 48;
      return 1;
    case SQL_TYPE_DATE:
      col->c_type = SQL_C_TYPE_DATE;
      col->width = sizeof (SQL_DATE_STRUCT);
      return 1;
    case SQL_TYPE_TIMESTAMP:
      col->c_type = SQL_C_TYPE_TIMESTAMP;
      col->width = sizeof (SQL_TIMESTAMP_STRUCT);
      return 1;
    case SQL_CHAR:
    case SQL_VARCHAR:
    case SQL_WCHAR:
    case SQL_WVARCHAR:
      if (size == 0 || size > MAX_BOUND_CHARS)
        return 0;
      /* UTF-16 from the Unicode driver (psqlodbcw), as Orrery asks for it. */
      col->c_type = SQL_C_WCHAR;
      col->width = (SQLLEN) ((size + 1) * sizeof (SQLWCHAR));
      return 1;
    default:
      return 0;
    }
}

static void
usage (void)
{
  fprintf (stderr, "usage: raw-odbc-fetch [--rows N] [--array-size N] DSN-OR-CONNECTION-STRING QUERY\n");
  exit (2);
}

static unsigned long long
parse_count (const char *text)
{
  char *end = NULL;
  unsigned long long v;

  errno = 0;
  v = strtoull (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    usage ();
  return v;
}

int
main (int argc, char **argv)
{
  long long expected_rows = -1;
  SQLULEN array_size = DEFAULT_ARRAY_SIZE;
  const char *target = NULL;
  const char *query = NULL;
  char *conn_str;
  SQLHENV env = SQL_NULL_HENV;
  SQLHDBC dbc = SQL_NULL_HDBC;
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  SQLSMALLINT n_columns = 0;
  SQLULEN fetched = 0;
  Column *cols;
  uint64_t rows = 0;
  double t0, t_connected, t_executed, t_done;
  SQLRETURN rc;
  int i;

  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--rows") == 0 && i + 1 < argc)
        expected_rows = (long long) parse_count (argv[++i]);
      else if (strcmp (argv[i], "--array-size") == 0 && i + 1 < argc)
        array_size = (SQLULEN) parse_count (argv[++i]);
      else if (argv[i][0] == '-' && argv[i][1] == '-')
        usage ();
      else if (target == NULL)
        target = argv[i];
      else if (query == NULL)
        query = argv[i];
      else
        usage ();
    }
  if (target == NULL || query == NULL || array_size == 0)
    usage ();

  if (strchr (target, '=') != NULL)
    conn_str = strdup (target);
  else
    {
      size_t n = strlen (target) + 5;
      conn_str = xcalloc (n, 1);
      snprintf (conn_str, n, "DSN=%s", target);
    }

  t0 = now_seconds ();
  if (!SQL_SUCCEEDED (SQLAllocHandle (SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)))
    {
      fprintf (stderr, "raw-odbc-fetch: cannot start the ODBC driver manager\n");
      exit (1);
    }
  SQLSetEnvAttr (env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER) SQL_OV_ODBC3, 0);
  SQLAllocHandle (SQL_HANDLE_DBC, env, &dbc);
  rc = SQLDriverConnect (dbc, NULL, (SQLCHAR *) conn_str, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED (rc))
    {
      print_diag (SQL_HANDLE_DBC, dbc, "cannot connect");
      exit (1);
    }
  t_connected = now_seconds ();

  SQLAllocHandle (SQL_HANDLE_STMT, dbc, &stmt);
  rc = SQLExecDirect (stmt, (SQLCHAR *) query, SQL_NTS);
  if (!SQL_SUCCEEDED (rc))
    {
      print_diag (SQL_HANDLE_STMT, stmt, "the query failed");
      exit (1);
    }
  if (!SQL_SUCCEEDED (SQLNumResultCols (stmt, &n_columns)) || n_columns <= 0)
    {
      fprintf (stderr, "raw-odbc-fetch: the query returned no result set\n");
      exit (1);
    }

  cols = xcalloc ((size_t) n_columns, sizeof *cols);
  for (i = 0; i < n_columns; i++)
    {
      SQLCHAR name[256] = { 0 };
      SQLSMALLINT name_len = 0, sql_type = 0, digits = 0, nullable = 0;
      SQLULEN size = 0;

      if (!SQL_SUCCEEDED (SQLDescribeCol (stmt, (SQLUSMALLINT) (i + 1), name, sizeof name, &name_len,
                                          &sql_type, &size, &digits, &nullable)))
        {
          print_diag (SQL_HANDLE_STMT, stmt, "cannot describe the result");
          exit (1);
        }
      if (!plan_column (&cols[i], sql_type, size))
        {
          fprintf (stderr, "raw-odbc-fetch: column %d (%s) has SQL type %d, size %lu, which the floor "
                   "does not bind column-wise (long or unknown type)\n",
                   i + 1, (char *) name, (int) sql_type, (unsigned long) size);
          exit (1);
        }
      cols[i].values = xcalloc (array_size, (size_t) cols[i].width);
      cols[i].indicators = xcalloc (array_size, sizeof (SQLLEN));
    }

  SQLSetStmtAttr (stmt, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER) SQL_BIND_BY_COLUMN, 0);
  if (!SQL_SUCCEEDED (SQLSetStmtAttr (stmt, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER) array_size, 0)))
    {
      print_diag (SQL_HANDLE_STMT, stmt, "the driver refuses SQL_ATTR_ROW_ARRAY_SIZE");
      exit (1);
    }
  SQLSetStmtAttr (stmt, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0);
  for (i = 0; i < n_columns; i++)
    if (!SQL_SUCCEEDED (SQLBindCol (stmt, (SQLUSMALLINT) (i + 1), cols[i].c_type, cols[i].values,
                                    cols[i].width, cols[i].indicators)))
      {
        print_diag (SQL_HANDLE_STMT, stmt, "cannot bind a column");
        exit (1);
      }
  t_executed = now_seconds ();

  for (;;)
    {
      fetched = 0;
      rc = SQLFetch (stmt);
      if (rc == SQL_NO_DATA)
        break;
      if (rc == SQL_SUCCESS_WITH_INFO)
        {
          /* 01004 (truncated) or anything else: the floor must not cut corners. */
          print_diag (SQL_HANDLE_STMT, stmt, "SQLFetch returned SQL_SUCCESS_WITH_INFO");
          exit (1);
        }
      if (rc != SQL_SUCCESS)
        {
          print_diag (SQL_HANDLE_STMT, stmt, "SQLFetch failed");
          exit (1);
        }
      rows += fetched;
    }
  t_done = now_seconds ();

  SQLFreeHandle (SQL_HANDLE_STMT, stmt);
  SQLDisconnect (dbc);
  SQLFreeHandle (SQL_HANDLE_DBC, dbc);
  SQLFreeHandle (SQL_HANDLE_ENV, env);
  for (i = 0; i < n_columns; i++)
    {
      free (cols[i].values);
      free (cols[i].indicators);
    }
  free (cols);
  free (conn_str);

  printf ("rows=%" PRIu64 " seconds=%.6f connect=%.6f execute=%.6f fetch=%.6f columns=%d array_size=%lu\n",
          rows, t_done - t_connected, t_connected - t0, t_executed - t_connected, t_done - t_executed,
          (int) n_columns, (unsigned long) array_size);
  if (expected_rows >= 0 && rows != (uint64_t) expected_rows)
    {
      fprintf (stderr, "raw-odbc-fetch: got %" PRIu64 " rows, expected %lld\n", rows, expected_rows);
      exit (1);
    }
  return 0;
}
