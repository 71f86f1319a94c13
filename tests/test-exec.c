/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-exec"

#include "config.h"

#include <string.h>

#include "orr-catalog.h"
#include "orr-engine.h"
#include "orr-error.h"
#include "orr-tsql.h"

/*
 * The SQL Server compatibility scenarios: statements written from SQL
 * Server's documentation of sp_execute_external_script (its quickstarts
 * and reference examples), each with the rows and messages SQL Server
 * gives — or Orrery's documented deviation — run on SQLite and on
 * PostgreSQL. Input queries differ per database only where they must.
 *
 * A scenario's transcript: script output under SQL Server's headings,
 * PRINT lines, "notice: …" for Orrery's remarks, each result set as a
 * "name|name" line, "a|b" rows and "(N rows affected)", and each error as
 * "Msg N, Level L, State S, Line X" and its text. "{…}" in an expected
 * transcript matches anything up to the text after it.
 */

typedef struct {
  const char *dsn_env;
  const char *name;
} Target;

static const Target targets[] = {
  { "ORRERY_TEST_SQLITE_DSN", "sqlite" },
  { "ORRERY_TEST_PG_DSN", "pg" },
};

typedef enum {
  BEFORE_NOTHING,
  BEFORE_DISABLE,       /* external scripts disabled for this scenario */
} Before;

typedef struct {
  const char *path;
  const char *summary;
  const char *batch;
  const char *batch_pg;       /* NULL: the same batch */
  gboolean ok;
  const char *expected;
  const char *expected_pg;    /* NULL: the same transcript */
  Before before;
} Scenario;

/* One engine (one warm zygote) and one connection per database for the run. */
static OrrEngine *engine;
static OrrConnection *connections[G_N_ELEMENTS (targets)];

static void
exec_sql (OrrConnection *conn, const char *sql)
{
  g_autoptr(GError) error = NULL;

  orr_connection_execute_update (conn, sql, NULL, &error);
  g_assert_no_error (error);
}

static OrrConnection *
connect_or_skip (guint t)
{
  const char *dsn = g_getenv (targets[t].dsn_env);
  gboolean pg = t == 1;
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrCatalog) catalog = NULL;
  OrrConnection *conn;

  if (connections[t])
    return connections[t];
  if (dsn == NULL || *dsn == '\0')
    {
      g_autofree char *why = g_strdup_printf ("%s is not set: run the suite with tools/test.sh", targets[t].dsn_env);
      g_test_skip (why);
      return NULL;
    }
  conn = orr_connection_new (dsn);
  orr_connection_open (conn, NULL, &error);
  g_assert_no_error (error);
  catalog = orr_catalog_new (conn);
  orr_catalog_enable (catalog, &error);
  g_assert_no_error (error);

  /* The rows the scenarios read: sales with a NULL region, and one row of
   * each type the database has. */
  exec_sql (conn, "DROP TABLE IF EXISTS exec_sales");
  exec_sql (conn, pg ? "CREATE TABLE exec_sales (id integer, region varchar(10), amount double precision, day date)"
                     : "CREATE TABLE exec_sales (id INTEGER, region VARCHAR(10), amount DOUBLE, day DATE)");
  exec_sql (conn, "INSERT INTO exec_sales VALUES "
                  "(1, 'east', 10.5, '2024-01-01'), (2, 'west', 20, '2024-01-02'), (3, 'east', 30.25, '2024-01-03'), "
                  "(4, 'north', 5, '2024-01-04'), (5, 'west', 7.5, '2024-01-05'), (6, 'east', 12, '2024-01-06'), "
                  "(7, NULL, 1, '2024-01-07'), (8, 'north', 8, '2024-01-08'), (9, 'west', 9, '2024-01-09'), "
                  "(10, 'east', 100, '2024-01-10')");
  exec_sql (conn, "DROP TABLE IF EXISTS exec_types");
  exec_sql (conn, pg ? "CREATE TABLE exec_types (b boolean, si smallint, i integer, bi bigint, r real, f double precision, "
                       "d numeric(10,2), vc varchar(10), c char(3), dt date, tm time, ts timestamp, bin bytea)"
                     : "CREATE TABLE exec_types (b BIT, si SMALLINT, i INTEGER, bi BIGINT, r REAL, f DOUBLE, "
                       "d DECIMAL(10,2), vc VARCHAR(10), c CHAR(3), dt DATE, tm TIME, ts TIMESTAMP, bin BLOB)");
  exec_sql (conn, pg ? "INSERT INTO exec_types VALUES (true, -5, 42, 9007199254740993, 1.5, 2.25, 12.34, 'héllo', 'abc', "
                       "'2024-01-02', '12:34:56', '2024-01-02 03:04:05.5', '\\x0102'), "
                       "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
                     : "INSERT INTO exec_types VALUES (1, -5, 42, 9007199254740993, 1.5, 2.25, 12.34, 'héllo', 'abc', "
                       "'2024-01-02', '12:34:56', '2024-01-02 03:04:05.5', x'0102'), "
                       "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  connections[t] = conn;
  return conn;
}

/* ------------------------------------------------------------ transcripts */

typedef struct {
  GString *out;
  int script_kind;      /* the open script output block, or -1 */
} Transcript;

static void
close_block (Transcript *t)
{
  if (t->script_kind >= 0 && t->out->len && t->out->str[t->out->len - 1] != '\n')
    g_string_append_c (t->out, '\n');
  t->script_kind = -1;
}

static void
on_output (OrrTsqlOutputKind kind, const char *text, gpointer data)
{
  Transcript *t = data;

  if (kind == ORR_TSQL_OUTPUT_STDOUT || kind == ORR_TSQL_OUTPUT_STDERR)
    {
      if ((int) kind != t->script_kind)
        {
          close_block (t);
          g_string_append (t->out, kind == ORR_TSQL_OUTPUT_STDOUT ? "STDOUT message(s) from external script:\n"
                                                                 : "STDERR message(s) from external script:\n");
          t->script_kind = kind;
        }
      g_string_append (t->out, text);
      return;
    }
  close_block (t);
  g_string_append_printf (t->out, "%s%s\n", kind == ORR_TSQL_OUTPUT_NOTICE ? "notice: " : "", text);
}

static void
on_message (const OrrTsqlMessage *message, gpointer data)
{
  Transcript *t = data;
  g_autofree char *text = orr_tsql_message_format (message);

  close_block (t);
  g_string_append_printf (t->out, "%s\n", text);
}

static void
on_result (OrrSchema *schema, GPtrArray *batches, guint64 n_rows, gpointer data)
{
  Transcript *t = data;

  close_block (t);
  for (guint c = 0; c < orr_schema_get_n_fields (schema); c++)
    g_string_append_printf (t->out, "%s%s", c ? "|" : "", orr_schema_get_field (schema, c)->name);
  g_string_append_c (t->out, '\n');
  for (guint b = 0; b < batches->len; b++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, b);

      for (guint r = 0; r < orr_batch_get_n_rows (batch); r++)
        {
          for (guint c = 0; c < orr_schema_get_n_fields (schema); c++)
            {
              g_autofree char *v = orr_batch_format_value (batch, c, r);
              g_string_append_printf (t->out, "%s%s", c ? "|" : "", v ? v : "NULL");
            }
          g_string_append_c (t->out, '\n');
        }
    }
  g_string_append_printf (t->out, "(%" G_GUINT64_FORMAT " row%s affected)\n", n_rows, n_rows == 1 ? "" : "s");
}

/* Whether @got is @expected, where "{…}" in @expected matches anything. */
static gboolean
transcript_matches (const char *expected, const char *got)
{
  const char *wild = strstr (expected, "{…}");
  gsize head;

  if (wild == NULL)
    return g_str_equal (expected, got);
  head = wild - expected;
  if (strncmp (expected, got, head) != 0)
    return FALSE;
  expected = wild + strlen ("{…}");
  got += head;
  if (*expected == '\0')
    return TRUE;
  for (const char *try = got; *try; try++)
    if (transcript_matches (expected, try))
      return TRUE;
  return FALSE;
}

/* ------------------------------------------------------------ the scenarios */

#define SES "EXEC sp_execute_external_script @language = N'Python', "

static const Scenario scenarios[] = {
  /* --- hello world and naming (Quickstart: run simple Python scripts) --- */
  { "hello-world", "The quickstart's first script: print output under the STDOUT heading, no result set",
    "EXECUTE sp_execute_external_script @language = N'Python'\n"
    "    , @script = N'\na = 1\nb = 2\nc = a/b\nd = a*b\nprint(c, d)\n'",
    NULL, TRUE,
    "STDOUT message(s) from external script:\n0.5 2\n" },
  { "hello-result-sets", "OutputDataSet = InputDataSet with WITH RESULT SETS names the column",
    "EXECUTE sp_execute_external_script @language = N'Python'\n"
    "    , @script = N'OutputDataSet = InputDataSet'\n"
    "    , @input_data_1 = N'SELECT 1 AS hello'\n"
    "WITH RESULT SETS(([Hello World] INT));\nGO",
    NULL, TRUE,
    "Hello World\n1\n(1 row affected)\n" },
  { "unnamed-columns", "Without WITH RESULT SETS the columns have no name, whatever the DataFrame calls them",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS hello, ''x'' AS b'",
    NULL, TRUE,
    "(No column name)|(No column name)\n1|x\n(1 row affected)\n" },
  { "data-set-names", "@input_data_1_name and @output_data_1_name rename the data frames",
    "EXECUTE sp_execute_external_script @language = N'Python'\n"
    "    , @script = N'SQL_out = SQL_in'\n"
    "    , @input_data_1 = N'SELECT 12 as Col1'\n"
    "    , @input_data_1_name = N'SQL_in'\n"
    "    , @output_data_1_name = N'SQL_out'\n"
    "WITH RESULT SETS ((NewColName INT NOT NULL));",
    NULL, TRUE,
    "NewColName\n12\n(1 row affected)\n" },
  { "data-set-names-case", "Data set names are case-sensitive: SQL_in is not SQL_In (a Python NameError)",
    SES "@script = N'SQL_out = SQL_in', @input_data_1 = N'SELECT 12 as Col1',\n"
    "  @input_data_1_name = N'SQL_In', @output_data_1_name = N'SQL_out'",
    NULL, FALSE,
    "Msg 39004, Level 16, State 20, Line 1\n"
    "A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004.\n"
    "Msg 39019, Level 16, State 2, Line 1\n"
    "An external script error occurred:\n"
    "Traceback (most recent call last):\n"
    "  File \"<script>\", line 1, in <module>\n"
    "    SQL_out = SQL_in\n"
    "{…}NameError: name 'SQL_in' is not defined{…}\n" },
  { "pandas-series", "The data structures quickstart: a Series printed, then returned as a DataFrame",
    "EXECUTE sp_execute_external_script @language = N'Python'\n"
    "    , @script = N'\nimport pandas as pd\na = 1\nb = 2\nc = a/b\nd = a*b\n"
    "s = pd.Series([c,d])\nprint(s)\ndf = pd.DataFrame(s)\nOutputDataSet = df\n'\n"
    "WITH RESULT SETS((ResultValue FLOAT))",
    NULL, TRUE,
    "STDOUT message(s) from external script:\n0    0.5\n1    2.0\ndtype: float64\n"
    "ResultValue\n0.5\n2\n(2 rows affected)\n" },
  /* --- parameters (Quickstart: Python functions; sp_execute_external_script examples) --- */
  { "params-in", "Input parameters declared in @params arrive as Python variables of their types",
    "EXECUTE sp_execute_external_script @language = N'Python'\n"
    "    , @script = N'\nimport numpy\nimport pandas\n"
    "OutputDataSet = pandas.DataFrame({\"n\": numpy.arange(mynumbers), \"mean\": mymean, \"sd\": mysd, \"name\": name})\n"
    "print(type(mynumbers).__name__, type(mysd).__name__, type(name).__name__)\n'\n"
    "    , @params = N' @mynumbers int, @mymean int, @mysd float, @name nvarchar(10)'\n"
    "    , @mynumbers = 3\n    , @mymean = 50\n    , @mysd = 3\n    , @name = N'draws'\n"
    "WITH RESULT SETS(([N] int, [Mean] int, [SD] float, [Name] nvarchar(10)));",
    NULL, TRUE,
    "STDOUT message(s) from external script:\nint float str\n"
    "N|Mean|SD|Name\n0|50|3|draws\n1|50|3|draws\n2|50|3|draws\n(3 rows affected)\n" },
  { "params-out", "An OUTPUT parameter comes back into the variable passed with OUTPUT, converted to its type",
    "DECLARE @out int, @greeting nvarchar(20);\n"
    "EXEC sp_execute_external_script @language = N'Python', @script = N'total = a * 2\ngreeting = \"Hello \" + \"World \" * 5',\n"
    "  @params = N'@a int, @total int OUTPUT, @greeting nvarchar(20) OUTPUT',\n"
    "  @a = 21, @total = @out OUTPUT, @greeting = @greeting OUTPUT;\n"
    "SELECT @out AS total, @greeting AS greeting, LEN_IS = CAST(@out AS varchar(5)) + '!'",
    NULL, TRUE,
    "total|greeting|LEN_IS\n42|Hello World World Wo|42!\n(1 row affected)\n" },
  { "params-issue-form", "The form of the issue: @params with an OUTPUT nvarchar, @a = 5, @b = @out OUTPUT",
    "DECLARE @out nvarchar(20) = N'unchanged', @kept nvarchar(20) = N'kept';\n"
    SES "@script = N'b = \"five is \" + str(a)\nc = \"changed\"',\n"
    "  @params = N'@a int, @b nvarchar(20) OUTPUT, @c nvarchar(20) OUTPUT', @a = 5, @b = @out OUTPUT, @c = @kept;\n"
    "PRINT @out; PRINT @kept",
    NULL, TRUE,
    "five is 5\nkept\n" },
  { "params-binary-out", "A varbinary(max) OUTPUT parameter (the reference's trained-model pattern)",
    "DECLARE @model varbinary(max);\n"
    SES "@script = N'import pickle\ntrained_model = pickle.dumps([1, 2, 3], protocol=2)',\n"
    "  @params = N'@trained_model varbinary(max) OUTPUT', @trained_model = @model OUTPUT;\n"
    "SELECT @model AS model",
    NULL, TRUE,
    "model\n\\x80025d7100284b014b024b03652e\n(1 row affected)\n" },
  /* --- batches: variables, quotes, comments, GO, several statements --- */
  { "declare-script", "A DECLAREd nvarchar(max) script built with SET and CHAR(10), '' and comments",
    "-- the script in a variable, as the tutorials write it\n"
    "DECLARE @s nvarchar(max) = N'print(\"It''s \" + str(len(InputDataSet)))';  /* '' doubles a quote */\n"
    "SET @s = @s + CHAR(10) + N'OutputDataSet = InputDataSet.groupby(\"region\", dropna=False).size().reset_index()';\n"
    "EXEC sp_execute_external_script @language = N'Python', @script = @s,\n"
    "     @input_data_1 = N'SELECT region FROM exec_sales -- not a T-SQL comment: goes to the database\n"
    "ORDER BY region'\n"
    "WITH RESULT SETS ((region varchar(10), n int));",
    NULL, TRUE,
    "STDOUT message(s) from external script:\nIt's 10\n"
    "region|n\neast|4\nnorth|2\nwest|3\nNULL|1\n(4 rows affected)\n" },
  { "go-batches", "GO separates batches; each batch has its own variables; GO 2 repeats one",
    "DECLARE @n int = 1; PRINT 'first batch'\nGO\nPRINT 'second batch'\n" SES "@script = N'print(\"from Python\")'\n"
    "GO 2\nPRINT @n",
    NULL, FALSE,
    "first batch\nBeginning execution loop\nsecond batch\nSTDOUT message(s) from external script:\nfrom Python\n"
    "second batch\nSTDOUT message(s) from external script:\nfrom Python\nBatch execution completed 2 times.\n"
    "Msg 137, Level 15, State 1, Line 1\nMust declare the scalar variable \"@n\".\n" },
  { "statements", "Several statements in one batch, with and without semicolons, run in order",
    "SET NOCOUNT ON\nPRINT 'before'\n" SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 7 AS x'\n"
    "SELECT 'after' AS step; PRINT 'done'",
    NULL, TRUE,
    "before\n(No column name)\n7\n(1 row affected)\nstep\nafter\n(1 row affected)\ndone\n" },
  /* --- partitions, chunks, @parallel --- */
  { "partition-by", "@input_data_1_partition_by_columns runs the script once per region (NULLs together, "
    "first) and concatenates the results",
    "EXEC sp_execute_external_script @language = N'Python', @script = N'\n"
    "import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({\"region\": [InputDataSet.region[0]], \"n\": [len(InputDataSet)],\n"
    "                              \"total\": [InputDataSet.amount.sum()]})',\n"
    "  @input_data_1 = N'SELECT region, amount FROM exec_sales',\n"
    "  @input_data_1_partition_by_columns = N'region'\n"
    "WITH RESULT SETS ((region varchar(10), n int, total decimal(10,2)));",
    NULL, TRUE,
    "region|n|total\nNULL|1|1.00\neast|4|152.75\nnorth|2|13.00\nwest|3|36.50\n(4 rows affected)\n" },
  { "partition-order-by", "@input_data_1_order_by_columns orders the rows within each partition",
    SES "@script = N'OutputDataSet = InputDataSet.head(1)',\n"
    "  @input_data_1 = N'SELECT region, id, amount FROM exec_sales WHERE region IS NOT NULL',\n"
    "  @input_data_1_partition_by_columns = N'[region]', @input_data_1_order_by_columns = N'amount'\n"
    "WITH RESULT SETS ((region varchar(10), id int, smallest float));",
    NULL, TRUE,
    "region|id|smallest\neast|1|10.5\nnorth|4|5\nwest|5|7.5\n(3 rows affected)\n" },
  { "rows-per-read", "@r_rowsPerRead runs the script once per chunk of rows and concatenates the results",
    SES "@script = N'print(len(InputDataSet))\nOutputDataSet = InputDataSet.agg([\"min\", \"max\"]).T',\n"
    "  @input_data_1 = N'SELECT id FROM exec_sales ORDER BY id',\n"
    "  @params = N'@r_rowsPerRead int', @r_rowsPerRead = 4\n"
    "WITH RESULT SETS ((first_id int, last_id int));",
    NULL, TRUE,
    "STDOUT message(s) from external script:\n4\n4\n2\nfirst_id|last_id\n1|4\n5|8\n9|10\n(3 rows affected)\n" },
  { "partition-chunks", "Partitions and chunks together: each partition cut into chunks of @r_rowsPerRead rows",
    SES "@script = N'import pandas as pd\n"
    "OutputDataSet = pd.DataFrame({\"region\": [InputDataSet.region[0]], \"ids\": [\",\".join(map(str, InputDataSet.id))]})',\n"
    "  @input_data_1 = N'SELECT region, id FROM exec_sales WHERE region IS NOT NULL',\n"
    "  @input_data_1_partition_by_columns = N'region', @input_data_1_order_by_columns = N'id',\n"
    "  @params = N'@r_rowsPerRead int', @r_rowsPerRead = 2\n"
    "WITH RESULT SETS ((region varchar(10), ids varchar(20)));",
    NULL, TRUE,
    "region|ids\neast|1,3\neast|6,10\nnorth|4,8\nwest|2,5\nwest|9\n(5 rows affected)\n" },
  { "partition-empty", "A partitioned run over no rows runs no script and sends no result",
    SES "@script = N'print(\"never\")', @input_data_1 = N'SELECT region FROM exec_sales WHERE id < 0',\n"
    "  @input_data_1_partition_by_columns = N'region'\nPRINT 'done'",
    NULL, TRUE, "done\n" },
  { "partition-shapes", "Partitions whose results have different numbers of columns are an error",
    SES "@script = N'OutputDataSet = InputDataSet if InputDataSet.region[0] == \"east\" else InputDataSet[[\"region\"]]',\n"
    "  @input_data_1 = N'SELECT region, id FROM exec_sales WHERE region IS NOT NULL',\n"
    "  @input_data_1_partition_by_columns = N'region'",
    NULL, FALSE,
    "Msg 39004, Level 16, State 20, Line 1\n"
    "A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004.\n"
    "Msg 39019, Level 16, State 2, Line 1\n"
    "An external script error occurred:\nOutputDataSet has 2 columns in one run of the script and 1 in another; "
    "every partition and chunk must return the same columns\n" },
  { "order-by", "@input_data_1_order_by_columns alone sorts the whole input (NULLs first)",
    SES "@script = N'OutputDataSet = InputDataSet.head(3)',\n"
    "  @input_data_1 = N'SELECT region, id FROM exec_sales', @input_data_1_order_by_columns = N'region, id'\n"
    "WITH RESULT SETS ((region varchar(10), id int));",
    NULL, TRUE,
    "region|id\nNULL|7\neast|1\neast|3\n(3 rows affected)\n" },
  { "parallel", "@parallel = 1 is accepted, and Orrery says it ignores it",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS x', @parallel = 1",
    NULL, TRUE,
    "notice: @parallel = 1 is accepted and ignored: Orrery runs the script in one satellite process "
    "(partitions and chunks one after another).\n(No column name)\n1\n(1 row affected)\n" },
  /* --- errors --- */
  { "error-language", "Only Python runs: another language gets Msg 39021 naming it",
    "EXEC sp_execute_external_script @language = N'R', @script = N'OutputDataSet <- InputDataSet'",
    NULL, FALSE,
    "Msg 39021, Level 16, State 1, Line 1\n"
    "Unable to launch runtime for 'R' script. Please check the configuration of the 'R' runtime.\n"
    "Msg 39019, Level 16, State 2, Line 1\n"
    "An external script error occurred:\nOrrery runs Python scripts only (@language = N'Python'); 'R' is not available.\n" },
  { "error-language-case", "The language name is case-insensitive",
    "EXEC sp_execute_external_script @language = N'pYTHON', @script = N'print(\"ok\")'",
    NULL, TRUE, "STDOUT message(s) from external script:\nok\n" },
  { "error-script", "A script error: Msg 39004 and 39019 with the traceback in the user's line numbers; "
    "output printed before the error stays",
    "DECLARE @s nvarchar(max) = N'x = 1\nprint(\"so far so good\")\n\ndef f(v):\n    return v / 0\n\nf(x)'\n"
    "EXEC sp_execute_external_script @language = N'Python', @script = @s\n"
    "PRINT 'the batch goes on'",
    NULL, FALSE,
    "STDOUT message(s) from external script:\nso far so good\n"
    "Msg 39004, Level 16, State 20, Line 8\n"
    "A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004.\n"
    "Msg 39019, Level 16, State 2, Line 8\n"
    "An external script error occurred:\n"
    "Traceback (most recent call last):\n"
    "  File \"<script>\", line 7, in <module>\n"
    "    f(x)\n"
    "  File \"<script>\", line 5, in f\n"
    "    return v / 0\n"
    "{…}ZeroDivisionError: division by zero\n"
    "the batch goes on\n" },
  { "error-python-syntax", "A Python syntax error points at the script's own line",
    SES "@script = N'x = 1\nif x\n    print(x)'",
    NULL, FALSE,
    "Msg 39004, Level 16, State 20, Line 1\n"
    "A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004.\n"
    "Msg 39019, Level 16, State 2, Line 1\n"
    "An external script error occurred:\n"
    "  File \"<script>\", line 2\n    if x\n        ^\nSyntaxError: expected ':'\n" },
  { "error-disabled", "External scripts switched off: Msg 39023, and how to enable them",
    SES "@script = N'print(1)'",
    NULL, FALSE,
    "Msg 39023, Level 16, State 1, Procedure sp_execute_external_script, Line 1\n"
    "'sp_execute_external_script' is disabled on this database. Use sp_configure 'external scripts enabled' "
    "to enable it, or “orrery enable” (an administrator's task).\n",
    NULL, BEFORE_DISABLE },
  { "error-column-count", "WITH RESULT SETS with more columns than the script sent: Msg 11537",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS a'\n"
    "WITH RESULT SETS ((a int, b int))",
    NULL, FALSE,
    "Msg 11537, Level 16, State 1, Line 1\n"
    "EXECUTE statement failed because its WITH RESULT SETS clause specified 2 column(s) for result set number 1, "
    "but the statement sent 1 column(s) at run time.\n" },
  { "error-result-sets-none", "WITH RESULT SETS NONE and a result: Msg 11535; without one it passes",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS a' WITH RESULT SETS NONE\n"
    SES "@script = N'print(\"no result\")' WITH RESULT SETS NONE",
    NULL, FALSE,
    "Msg 11535, Level 16, State 1, Line 1\n"
    "EXECUTE statement failed because its WITH RESULT SETS clause specified 0 result set(s), and the statement "
    "tried to send more result sets than this.\n"
    "STDOUT message(s) from external script:\nno result\n" },
  { "error-no-result-set", "WITH RESULT SETS ((…)) and no OutputDataSet: Msg 11536",
    SES "@script = N'print(\"nothing\")' WITH RESULT SETS ((a int))",
    NULL, FALSE,
    "STDOUT message(s) from external script:\nnothing\n"
    "Msg 11536, Level 16, State 1, Line 1\n"
    "EXECUTE statement failed because its WITH RESULT SETS clause specified 1 result set(s), but the statement "
    "only sent 0 result set(s) at run time.\n" },
  { "error-not-null", "A NULL in a NOT NULL column of WITH RESULT SETS: Msg 11553",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT region FROM exec_sales WHERE id = 7'\n"
    "WITH RESULT SETS ((region varchar(10) NOT NULL))",
    NULL, FALSE,
    "Msg 11553, Level 16, State 1, Line 1\n"
    "EXECUTE statement failed because its WITH RESULT SETS clause specified a non-nullable type for column #1 "
    "in result set #1, and the corresponding value sent at run time was null.\n" },
  { "error-no-conversion", "A date column declared int: Msg 11538 names both types",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT day FROM exec_sales WHERE id = 1'\n"
    "WITH RESULT SETS ((d int))",
    NULL, FALSE,
    "Msg 11538, Level 16, State 1, Line 1\n"
    "EXECUTE statement failed because its WITH RESULT SETS clause specified type 'int' for column #1 in result "
    "set #1, and the corresponding type sent at run time was 'datetime2(6)'; there is no conversion between the "
    "two types.\n" },
  { "error-value-conversion", "Text that is not a number, declared int: Msg 245 names the value",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT region FROM exec_sales WHERE id = 1'\n"
    "WITH RESULT SETS ((r int))",
    NULL, FALSE,
    "Msg 245, Level 16, State 1, Line 1\n"
    "Conversion failed when converting the nvarchar value 'east' to data type int.\n" },
  { "error-syntax", "A missing comma: Msg 102 with the line and column and what was expected",
    "PRINT 'never runs: the batch does not compile'\n"
    "EXEC sp_execute_external_script @language = N'Python'\n    @script = N'print(1)'",
    NULL, FALSE,
    "Msg 102, Level 15, State 1, Line 3\n"
    "Incorrect syntax near '@script'. Expected ',' between the procedure's arguments (line 3, column 5).\n" },
  { "error-unclosed-quote", "An unclosed string: Msg 105",
    SES "@script = N'print(1)\n",
    NULL, FALSE,
    "Msg 105, Level 15, State 1, Line 1\n"
    "Unclosed quotation mark after the character string 'print(1)\n' that starts at line 1, column 66.\n" },
  { "error-missing-script", "No @script: Msg 201",
    "EXEC sp_execute_external_script @language = N'Python', @input_data_1 = N'SELECT 1'",
    NULL, FALSE,
    "Msg 201, Level 16, State 1, Line 1\n"
    "Procedure or function 'sp_execute_external_script' expects parameter '@script', which was not supplied.\n" },
  { "error-unknown-parameter", "An argument @params does not declare: Msg 8145",
    SES "@script = N'print(1)', @params = N'@a int', @a = 1, @b = 2",
    NULL, FALSE,
    "Msg 8145, Level 16, State 1, Line 1\n"
    "@b is not a parameter for procedure sp_execute_external_script. Declare the script's parameters in @params.\n" },
  { "error-not-output", "OUTPUT on a parameter @params does not declare OUTPUT: Msg 8162",
    "DECLARE @x int;\n" SES "@script = N'a = 2', @params = N'@a int', @a = @x OUTPUT",
    NULL, FALSE,
    "Msg 8162, Level 16, State 1, Line 2\n"
    "The formal parameter \"@a\" was not declared as an OUTPUT parameter, but the actual parameter passed in "
    "requested output.\n" },
  { "error-missing-parameter", "A parameter @params declares but nobody passes: Msg 8178",
    SES "@script = N'print(a)', @params = N'@a int, @b int', @a = 1",
    NULL, FALSE,
    "Msg 8178, Level 16, State 1, Line 1\n"
    "The parameterized query '(@a int, @b int)' expects the parameter '@b', which was not supplied.\n" },
  { "error-parameter-value", "A parameter value that does not convert to its declared type: Msg 245",
    SES "@script = N'print(a)', @params = N'@a int', @a = N'five'",
    NULL, FALSE,
    "Msg 245, Level 16, State 1, Line 1\n"
    "Conversion failed when converting the nvarchar value 'five' to data type int.\n" },
  { "error-undeclared", "An undeclared variable: Msg 137, and the batch does not run",
    "PRINT 'never runs'\n" SES "@script = @script_text",
    NULL, FALSE,
    "Msg 137, Level 15, State 1, Line 2\nMust declare the scalar variable \"@script_text\".\n" },
  { "error-unknown-procedure", "Another procedure: Msg 2812",
    "EXEC sp_execute_external_scripts @language = N'Python', @script = N''",
    NULL, FALSE,
    "Msg 2812, Level 16, State 1, Line 1\n"
    "Could not find stored procedure 'sp_execute_external_scripts'. Orrery runs sp_execute_external_script and "
    "sp_configure.\n" },
  { "error-input-query", "A failing @input_data_1 reports the database's own error",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT * FROM exec_no_such_table'",
    NULL, FALSE,
    "Orrery error, Level 16, Line 1\n@input_data_1 failed in the database: {…}exec_no_such_table{…}\n" },
  { "error-partition-column", "A partition column the input does not have",
    SES "@script = N'pass', @input_data_1 = N'SELECT id FROM exec_sales', @input_data_1_partition_by_columns = N'regio'",
    NULL, FALSE,
    "Msg 39004, Level 16, State 20, Line 1\n"
    "A 'Python' script error occurred during execution of 'sp_execute_external_script' with HRESULT 0x80004004.\n"
    "Msg 39019, Level 16, State 2, Line 1\n"
    "An external script error occurred:\nOrreryInputError: Partition column “regio” matches no column of "
    "InputDataSet (its columns: id)\n" },
  /* --- types --- */
  { "types-in", "SQL Server's Python types for InputDataSet: smallint as int32, real as float64, date as "
    "datetime64; bigint stays an exact int64 (a documented deviation)",
    SES "@script = N'for name, dtype in InputDataSet.dtypes.items(): print(name, dtype)\n"
    "print(InputDataSet.bi[0] == 9007199254740993)',\n"
    "  @input_data_1 = N'SELECT b, si, i, bi, r, f, d, vc, c, dt, tm, ts, bin FROM exec_types'",
    NULL, TRUE,
    "STDOUT message(s) from external script:\n"
    "b boolean\nsi Int32\ni Int32\nbi Int64\nr float64\nf float64\nd object\nvc object\nc object\n"
    "dt datetime64[ns]\ntm object\nts datetime64[ns]\nbin object\nTrue\n",
    "STDOUT message(s) from external script:\n"
    "b boolean\nsi Int32\ni Int32\nbi Int64\nr float64\nf float64\nd float64\nvc object\nc object\n"
    "dt datetime64[ns]\ntm object\nts datetime64[ns]\nbin object\nTrue\n" },
  { "types-round-trip", "Every type back out without WITH RESULT SETS: the types Python sent, unnamed",
    SES "@script = N'OutputDataSet = InputDataSet', @input_data_1 = N'SELECT * FROM exec_types'",
    NULL, TRUE,
    "(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|"
    "(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|"
    "(No column name)\n"
    "true|-5|42|9007199254740993|1.5|2.25|12.34|héllo|abc|2024-01-02 00:00:00|12:34:56|2024-01-02 03:04:05.500000|\\x0102\n"
    "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL\n(2 rows affected)\n" },
  { "types-result-sets", "WITH RESULT SETS converts to each SQL Server type: integers, decimal and money "
    "round, char pads, datetime rounds to 1/300 s, uniqueidentifier checks its form",
    SES "@script = N'\nimport datetime, pandas as pd\n"
    "OutputDataSet = pd.DataFrame({\"bit\": [2], \"tiny\": [200], \"small\": [-3.9], \"int\": [\"42\"],\n"
    "  \"big\": [2**62], \"real\": [0.1], \"float\": [1/3], \"dec\": [2.345], \"money\": [1234.56789],\n"
    "  \"char\": [\"ab\"], \"nvarchar\": [\"héllo world\"], \"date\": [pd.Timestamp(\"2024-02-29 23:59:59\")],\n"
    "  \"time\": [datetime.time(12, 34, 56, 789000)], \"datetime\": [pd.Timestamp(\"2024-01-02 03:04:05.9999\")],\n"
    "  \"smalldatetime\": [pd.Timestamp(\"2024-01-02 03:04:30\")], \"bin\": [b\"\\x01\\x02\\x03\"],\n"
    "  \"guid\": [\"6f9619ff-8b86-d011-b42d-00c04fc964ff\"], \"text\": [123]})'\n"
    "WITH RESULT SETS ((b bit, t tinyint, s smallint, i int, bi bigint, r real, f float, d decimal(10,2),\n"
    "  m money, c char(4), nv nvarchar(5), dt date, tm time(3), dtm datetime, sdt smalldatetime,\n"
    "  vb varbinary(2), g uniqueidentifier, txt varchar(10)));",
    NULL, TRUE,
    "b|t|s|i|bi|r|f|d|m|c|nv|dt|tm|dtm|sdt|vb|g|txt\n"
    "true|200|-3|42|4611686018427387904|0.1|0.3333333333333333|2.35|1234.5679|ab  |héllo|2024-02-29|12:34:56.789000|"
    "2024-01-02 03:04:06|2024-01-02 03:05:00|\\x0102|6F9619FF-8B86-D011-B42D-00C04FC964FF|123\n"
    "(1 row affected)\n" },
  { "types-overflow", "A value beyond its declared type: Msg 220 for integers",
    SES "@script = N'import pandas as pd\nOutputDataSet = pd.DataFrame({\"x\": [300]})' WITH RESULT SETS ((x tinyint))",
    NULL, FALSE,
    "Msg 220, Level 16, State 1, Line 1\nArithmetic overflow error for data type tinyint, value = 300.\n" },
  { "types-bigint-exact", "bigint stays exact through Python (SQL Server's float64 would round 2**53 + 1)",
    SES "@script = N'OutputDataSet = InputDataSet + 1', @input_data_1 = N'SELECT bi FROM exec_types WHERE bi IS NOT NULL'\n"
    "WITH RESULT SETS ((bi bigint))",
    NULL, TRUE,
    "bi\n9007199254740994\n(1 row affected)\n" },
  /* --- sp_configure --- */
  { "sp-configure", "sp_configure 'external scripts enabled' shows the switch; RECONFIGURE is accepted",
    "EXEC sp_configure 'external scripts enabled', 1;\nRECONFIGURE WITH OVERRIDE;\nEXEC sp_configure 'external scripts enabled'",
    NULL, TRUE,
    "Configuration option 'external scripts enabled' changed from 1 to 1. Run the RECONFIGURE statement to install.\n"
    "name|minimum|maximum|config_value|run_value\nexternal scripts enabled|0|1|1|1\n(1 row affected)\n" },
};

static void
test_scenario (gconstpointer data)
{
  guint index = GPOINTER_TO_UINT (data);
  guint t = index / G_N_ELEMENTS (scenarios);
  const Scenario *s = &scenarios[index % G_N_ELEMENTS (scenarios)];
  gboolean pg = t == 1;
  OrrConnection *conn;
  g_autoptr(OrrTsqlSession) session = NULL;
  const OrrTsqlHandler handler = { on_output, on_message, on_result };
  Transcript transcript = { g_string_new (NULL), -1 };
  const char *batch = pg && s->batch_pg ? s->batch_pg : s->batch;
  const char *expected = pg && s->expected_pg ? s->expected_pg : s->expected;
  gboolean ok;

  g_test_summary (s->summary);
  conn = connect_or_skip (t);
  if (conn == NULL)
    {
      g_string_free (transcript.out, TRUE);
      return;
    }
  if (s->before == BEFORE_DISABLE)
    {
      g_autoptr(OrrCatalog) catalog = orr_catalog_new (conn);
      g_autoptr(GError) error = NULL;

      orr_catalog_disable (catalog, &error);
      g_assert_no_error (error);
    }
  session = orr_tsql_session_new (engine, conn);
  ok = orr_tsql_session_run (session, batch, -1, &handler, &transcript);
  close_block (&transcript);
  if (s->before == BEFORE_DISABLE)
    {
      g_autoptr(OrrCatalog) catalog = orr_catalog_new (conn);
      g_autoptr(GError) error = NULL;

      orr_catalog_enable (catalog, &error);
      g_assert_no_error (error);
    }
  g_test_message ("batch:\n%s\ntranscript:\n%s", batch, transcript.out->str);
  if (!transcript_matches (expected, transcript.out->str))
    g_error ("%s on %s: expected\n%s\ngot\n%s", s->path, targets[t].name, expected, transcript.out->str);
  g_assert_cmpint (ok, ==, s->ok);
  g_string_free (transcript.out, TRUE);
}

/* ------------------------------------------------------------ cancel and timeout */

typedef struct {
  OrrTsqlSession *session;
  Transcript transcript;
  gboolean ok;
} Background;

static gpointer
run_in_thread (gpointer data)
{
  Background *bg = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  const OrrTsqlHandler handler = { on_output, on_message, on_result };

  /* The jobs' signals come to this thread's context, which the run iterates. */
  g_main_context_push_thread_default (context);
  bg->ok = orr_tsql_session_run (bg->session,
                                 SES "@script = N'import time\nprint(\"sleeping\")\ntime.sleep(60)'\nPRINT 'not reached'",
                                 -1, &handler, &bg->transcript);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_cancel (void)
{
  OrrConnection *conn = connect_or_skip (0);
  Background bg = { NULL, { g_string_new (NULL), -1 }, TRUE };
  GThread *thread;
  const char *cancelled = "Orrery error, Level 16, Line 1\nQuery was cancelled by user.\n";

  g_test_summary ("Cancelling a session (Ctrl+C in orrery exec) stops the running script and the rest "
                  "of the batch, and says so once, as SSMS does");
  if (conn == NULL)
    {
      g_string_free (bg.transcript.out, TRUE);
      return;
    }
  bg.session = orr_tsql_session_new (engine, conn);
  thread = g_thread_new ("exec", run_in_thread, &bg);
  g_usleep (G_USEC_PER_SEC);
  orr_tsql_session_cancel (bg.session);
  g_thread_join (thread);
  g_test_message ("%s", bg.transcript.out->str);
  g_assert_false (bg.ok);
  g_assert_true (g_str_has_suffix (bg.transcript.out->str, cancelled));
  g_assert_true (strstr (bg.transcript.out->str, cancelled) == bg.transcript.out->str + bg.transcript.out->len - strlen (cancelled));
  g_assert_null (strstr (bg.transcript.out->str, "not reached"));
  g_clear_object (&bg.session);
  g_string_free (bg.transcript.out, TRUE);
}

static void
test_timeout (void)
{
  OrrConnection *conn = connect_or_skip (0);
  g_autoptr(OrrTsqlSession) session = NULL;
  const OrrTsqlHandler handler = { on_output, on_message, on_result };
  Transcript transcript = { g_string_new (NULL), -1 };
  gboolean ok;

  g_test_summary ("orrery exec --timeout ends a script that runs too long with Msg 39004 and 39019 "
                  "naming the limit, and the batch goes on");
  if (conn == NULL)
    {
      g_string_free (transcript.out, TRUE);
      return;
    }
  session = orr_tsql_session_new (engine, conn);
  orr_tsql_session_set_timeout (session, 500);
  ok = orr_tsql_session_run (session, SES "@script = N'import time\ntime.sleep(60)'\nPRINT 'next'", -1,
                             &handler, &transcript);
  g_assert_false (ok);
  if (!transcript_matches ("{…}Msg 39004, Level 16, State 20, Line 1\n"
                           "A 'Python' script error occurred during execution of 'sp_execute_external_script' "
                           "with HRESULT 0x80004004.\n"
                           "Msg 39019, Level 16, State 2, Line 1\n"
                           "An external script error occurred:\ntimeout after 0.5 s\nnext\n", transcript.out->str))
    g_error ("got:\n%s", transcript.out->str);
  g_string_free (transcript.out, TRUE);
}

/* ------------------------------------------------------------ the command line */

typedef struct {
  int status;
  char *out;
  char *err;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

/* Runs the built orrery with @args on the SQLite test database, @input on its standard input. */
static gboolean
run_cli (Result *r, const char *input, const char * const *args)
{
  const char *dsn = g_getenv ("ORRERY_TEST_SQLITE_DSN");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  if (dsn == NULL || connect_or_skip (0) == NULL)
    return FALSE;
  g_ptr_array_add (argv, (char *) g_getenv ("ORRERY_CLI"));
  g_ptr_array_add (argv, (char *) "--dsn");
  g_ptr_array_add (argv, (char *) dsn);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input ? input : "", NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("status %d\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
  return TRUE;
}

static void
test_cli_table (void)
{
  const char *args[] = {
    "exec", "EXEC sp_execute_external_script @language = N'Python', @script = N'print(\"hi\")\n"
    "OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS hello, ''x'' AS b'\n"
    "EXEC sp_execute_external_script @language = N'Python', @script = N'OutputDataSet = InputDataSet',\n"
    "  @input_data_1 = N'SELECT 1 AS hello' WITH RESULT SETS (([Hello World] int))", NULL
  };
  g_auto(Result) r = { 0 };

  g_test_summary ("orrery exec prints results as SSMS's text mode does: “(No column name)” headers, "
                  "the STDOUT heading, row counts");
  if (!run_cli (&r, NULL, args))
    return;
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==,
                   "STDOUT message(s) from external script:\nhi\n"
                   "\n"
                   "(No column name) (No column name)\n"
                   "---------------- ----------------\n"
                   "               1 x               \n"
                   "\n(1 row affected)\n"
                   "\n"
                   "Hello World\n"
                   "-----------\n"
                   "          1\n"
                   "\n(1 row affected)\n");
  g_assert_cmpstr (r.err, ==, "");
}

static void
test_cli_file_and_errors (void)
{
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "batches.sql", NULL);
  const char *file_args[] = { "exec", "--file", path, NULL };
  const char *stdin_args[] = { "exec", "--file", "-", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(Result) r = { 0 };

  g_test_summary ("orrery exec --file runs GO-separated batches; errors go to standard error as "
                  "SQL Server's messages and the exit status is 1; - reads standard input");
  g_file_set_contents (path, "PRINT 'one'\nGO\nPRINT 'two' +\nGO\nPRINT 'three'\n", -1, &error);
  g_assert_no_error (error);
  if (!run_cli (&r, NULL, file_args))
    return;
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "one\nthree\n");
  g_assert_cmpstr (r.err, ==, "Msg 102, Level 15, State 1, Line 1\n"
                              "Incorrect syntax near '+'. Expected an expression, but the batch ends "
                              "(line 3, column 13).\n");
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, "PRINT 'from stdin'", stdin_args);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "from stdin\n");
}

static void
test_cli_formats (void)
{
  const char *batch = "EXEC sp_execute_external_script @language = N'Python', @script = N'print(\"log\")\n"
                      "OutputDataSet = InputDataSet', @input_data_1 = N'SELECT 1 AS a, ''x,y'' AS b'\n"
                      "SELECT 2 AS two";
  const char *csv_args[] = { "exec", batch, "--format", "csv", NULL };
  const char *json_args[] = { "exec", batch, "--format", "json", NULL };
  g_auto(Result) r = { 0 };

  g_test_summary ("--format csv and json keep standard output for the data, script output on standard error");
  if (!run_cli (&r, NULL, csv_args))
    return;
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "(No column name),(No column name)\r\n1,\"x,y\"\r\n\r\ntwo\r\n2\r\n");
  g_assert_cmpstr (r.err, ==, "STDOUT message(s) from external script:\nlog\n");
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, NULL, json_args);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "[\n  {\"columns\": [null, null], \"rows\": [\n    [1, \"x,y\"]\n  ]},\n"
                              "  {\"columns\": [\"two\"], \"rows\": [\n    [2]\n  ]}\n]\n");
}

static void
test_cli_usage (void)
{
  const char *none[] = { "exec", NULL };
  const char *both[] = { "exec", "PRINT 1", "--file", "x.sql", NULL };
  const char *help[] = { "exec", "--help", NULL };
  g_auto(Result) r = { 0 };

  g_test_summary ("orrery exec without a batch, or with two, is a usage error (exit 2); --help explains it");
  if (!run_cli (&r, NULL, none))
    return;
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "Give the T-SQL as one argument or with --file FILE"));
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, NULL, both);
  g_assert_cmpint (r.status, ==, 2);
  result_clear (&r);
  memset (&r, 0, sizeof r);
  run_cli (&r, NULL, help);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "EXEC sp_execute_external_script @language = N'Python'"));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  engine = orr_engine_new ();

  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    for (guint i = 0; i < G_N_ELEMENTS (scenarios); i++)
      {
        g_autofree char *path = g_strdup_printf ("/Orr/Exec/%s/%s", targets[t].name, scenarios[i].path);

        g_test_add_data_func (path, GUINT_TO_POINTER (t * G_N_ELEMENTS (scenarios) + i), test_scenario);
      }
  g_test_add_func ("/Orr/Exec/sqlite/cancel", test_cancel);
  g_test_add_func ("/Orr/Exec/sqlite/timeout", test_timeout);
  g_test_add_func ("/Orr/Exec/cli/table", test_cli_table);
  g_test_add_func ("/Orr/Exec/cli/file-and-errors", test_cli_file_and_errors);
  g_test_add_func ("/Orr/Exec/cli/formats", test_cli_formats);
  g_test_add_func ("/Orr/Exec/cli/usage", test_cli_usage);

  rc = g_test_run ();
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    g_clear_object (&connections[t]);
  g_clear_object (&engine);
  return rc;
}
