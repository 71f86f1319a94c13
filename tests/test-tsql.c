/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-tsql"

#include "config.h"

#include <string.h>

#include "orr-tsql.h"

/* The T-SQL batch parser and the batch statements that need no database:
 * every case checks the canonical form of what was parsed, or the exact
 * SQL Server message. Adversarial input must fail fast and cleanly. */

/* Every batch of @text, described, errors included, batches separated by "--\n". */
static char *
describe_script (const char *text, gssize len)
{
  g_autoptr(GPtrArray) batches = orr_tsql_parse_script (text, len);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < batches->len; i++)
    {
      g_autofree char *one = orr_tsql_batch_describe (g_ptr_array_index (batches, i));

      if (i)
        g_string_append (out, "--\n");
      g_string_append (out, one);
    }
  return g_string_free (out, FALSE);
}

static void
assert_parses_to (const char *text, const char *expected)
{
  g_autofree char *got = describe_script (text, -1);

  if (g_strcmp0 (got, expected) != 0)
    g_error ("for:\n%s\nexpected:\n%s\ngot:\n%s", text, expected, got);
}

/* The single batch of @text fails with message @number, whose text holds @fragment. */
static void
assert_parse_error (const char *text, int number, int line, const char *fragment)
{
  g_autoptr(GPtrArray) batches = orr_tsql_parse_script (text, -1);
  const OrrTsqlMessage *m;

  g_assert_cmpuint (batches->len, >=, 1);
  m = orr_tsql_batch_get_error (g_ptr_array_index (batches, batches->len - 1));
  if (m == NULL)
    g_error ("no error for:\n%s", text);
  if (m->number != number || m->line != line || strstr (m->text, fragment) == NULL)
    g_error ("for:\n%s\nexpected Msg %d at line %d with “%s”, got Msg %d at line %d: %s",
             text, number, line, fragment, m->number, m->line, m->text);
}

/* ------------------------------------------------------------ parsing */

static void
test_exec_forms (void)
{
  g_test_summary ("EXEC and EXECUTE with named, positional and OUTPUT arguments, schema-qualified "
                  "names, a return variable, and the implicit EXEC of a batch's first statement");

  assert_parses_to ("EXEC sp_execute_external_script @language = N'Python', @script = N'print(1)'",
                    "EXEC sp_execute_external_script @language = N'Python', @script = N'print(1)'\n");
  assert_parses_to ("execute sys.sp_execute_external_script N'Python', N'x = 1';",
                    "EXEC sys.sp_execute_external_script N'Python', N'x = 1'\n");
  assert_parses_to ("EXEC master..sp_configure 'external scripts enabled', 1",
                    "EXEC master..sp_configure 'external scripts enabled', 1\n");
  assert_parses_to ("sp_execute_external_script @language=N'Python',@script=N''",
                    "EXEC sp_execute_external_script @language = N'Python', @script = N''\n");
  assert_parses_to ("DECLARE @r int, @o nvarchar(20)\n"
                    "EXEC @r = [sp_execute_external_script] @language = N'Python', @script = N'b = 1', "
                    "@params = N'@b nvarchar(20) OUTPUT', @b = @o OUT, @x = -5, @y = DEFAULT, @z = NULL, @w = 0x0A0b",
                    "DECLARE @r int, @o nvarchar(20)\n"
                    "EXEC @r = sp_execute_external_script @language = N'Python', @script = N'b = 1', "
                    "@params = N'@b nvarchar(20) OUTPUT', @b = @o OUTPUT, @x = -5, @y = DEFAULT, @z = NULL, @w = 0x0A0B\n");
}

static void
test_literals_and_comments (void)
{
  g_test_summary ("'' inside literals, N'' and '' strings, -- and nested /* */ comments, and "
                  "comment markers inside strings");

  assert_parses_to ("PRINT 'It''s'  -- a comment\n/* one /* nested */ still a comment */ PRINT N'--not /* a comment'",
                    "PRINT 'It''s'\nPRINT N'--not /* a comment'\n");
  assert_parses_to ("PRINT ''", "PRINT ''\n");
  assert_parses_to ("PRINT N'line 1\nline 2'", "PRINT N'line 1\\nline 2'\n");
  assert_parses_to ("SELECT 1, -2, 3.50, 1e3, 0x, 2147483648, NULL",
                    "SELECT 1, -2, 3.50, 1000, 0x, 2147483648, NULL\n");
}

static void
test_statements (void)
{
  g_test_summary ("DECLARE with several variables and initial values, SET and SET op=, SET options, "
                  "PRINT, SELECT with each kind of alias and assignment, USE, RECONFIGURE");

  assert_parses_to ("DECLARE @s nvarchar(max) = N'a' + N'b', @n AS int = 1 * (2 + 3), @d decimal(10,2)\n"
                    "SET @n += 1; SET @s = CONCAT(@s, CHAR(10), CAST(@n AS varchar(10)))\n"
                    "SET NOCOUNT ON\nSET ANSI_NULLS, QUOTED_IDENTIFIER OFF\n"
                    "PRINT @s\n"
                    "SELECT @n AS n, total = @n, @s [text], 'x' AS 'quoted', CONVERT(int, '5', 1)\n"
                    "SELECT @n = 2, @d = 1.5\n"
                    "USE [My Db]\nRECONFIGURE WITH OVERRIDE",
                    "DECLARE @s nvarchar(max) = (N'a' + N'b'), @n int = (1 * (2 + 3)), @d decimal(10,2)\n"
                    "SET @n += 1\n"
                    "SET @s = CONCAT(@s, CHAR(10), CAST(@n AS varchar(10)))\n"
                    "SET NOCOUNT ON\n"
                    "SET ANSI_NULLS, QUOTED_IDENTIFIER OFF\n"
                    "PRINT @s\n"
                    "SELECT @n AS [n], @n AS [total], @s AS [text], 'x' AS [quoted], CAST('5' AS int)\n"
                    "SELECT @n = 2, @d = 1.5\n"
                    "USE [My Db]\n"
                    "RECONFIGURE\n");
}

static void
test_types (void)
{
  g_test_summary ("SQL Server's type names: lengths and MAX, precision and scale, defaults (length 1 "
                  "in declarations, 30 in CAST), synonyms and bracketed names");

  assert_parses_to ("DECLARE @a varchar, @b nvarchar(max), @c decimal, @d numeric(38,10), @e float(24), "
                    "@f double precision, @g national character varying(10), @h [int], @i sys.bigint, "
                    "@j datetime2(3), @k time, @l char varying(5), @m binary varying(8), @n integer\n"
                    "SELECT CAST(1 AS varchar), CAST(1 AS varbinary)",
                    "DECLARE @a varchar(1), @b nvarchar(max), @c decimal(18,0), @d numeric(38,10), @e real, "
                    "@f float, @g nvarchar(10), @h int, @i bigint, @j datetime2(3), @k time(7), @l varchar(5), "
                    "@m varbinary(8), @n int\n"
                    "SELECT CAST(1 AS varchar(30)), CAST(1 AS varbinary(30))\n");
}

static void
test_result_sets (void)
{
  g_test_summary ("WITH RESULT SETS: column lists with NULL / NOT NULL and COLLATE, several result "
                  "sets, NONE and UNDEFINED");

  assert_parses_to ("EXEC sp_execute_external_script @language = N'Python', @script = N''\n"
                    "WITH RESULT SETS (([Hello World] int NOT NULL, b nvarchar(20) COLLATE Latin1_General_CI_AS NULL), "
                    "(c float))",
                    "EXEC sp_execute_external_script @language = N'Python', @script = N'' "
                    "WITH RESULT SETS (([Hello World] int NOT NULL, [b] nvarchar(20)), ([c] float))\n");
  assert_parses_to ("EXEC sp_execute_external_script @language = N'Python', @script = N'' WITH RESULT SETS NONE;\n"
                    "EXEC sp_execute_external_script @language = N'Python', @script = N'' WITH RESULT SETS UNDEFINED",
                    "EXEC sp_execute_external_script @language = N'Python', @script = N'' WITH RESULT SETS NONE\n"
                    "EXEC sp_execute_external_script @language = N'Python', @script = N''\n");
}

static void
test_go (void)
{
  g_test_summary ("GO alone on its line separates batches (any case, with a count or a comment); "
                  "GO in a string, in a comment or after a statement does not");

  assert_parses_to ("PRINT 1\nGO\nPRINT 2\n  go  -- the end\nPRINT 3\nGO 3\n",
                    "PRINT 1\n--\nPRINT 2\n--\nPRINT 3\nGO 3\n");
  assert_parses_to ("PRINT 'a\nGO\nb'\n/*\nGO\n*/\nPRINT 2", "PRINT 'a\\nGO\\nb'\nPRINT 2\n");
  assert_parses_to ("GO\nGO\n", "");
  assert_parses_to ("", "");
  assert_parses_to ("-- nothing but a comment\n", "");
  assert_parse_error ("PRINT 1 GO", 102, 1, "near 'GO'");
  assert_parse_error ("PRINT 1\nGO 0", 0, 2, "GO's count must be between 1 and");
}

static void
test_batch_lines (void)
{
  g_test_summary ("Errors name the line relative to their batch in the header, as SQL Server does, "
                  "and the line and column of the input in their text; a failed batch does not "
                  "stop the next one from parsing");

  {
    g_autoptr(GPtrArray) batches = orr_tsql_parse_script ("PRINT 1\nGO\n\nPRINT 2,\nGO\nPRINT 3", -1);
    const OrrTsqlMessage *m;
    g_autofree char *text = NULL;

    g_assert_cmpuint (batches->len, ==, 3);
    g_assert_null (orr_tsql_batch_get_error (g_ptr_array_index (batches, 0)));
    m = orr_tsql_batch_get_error (g_ptr_array_index (batches, 1));
    g_assert_nonnull (m);
    g_assert_cmpint (orr_tsql_batch_get_first_line (g_ptr_array_index (batches, 1)), ==, 3);
    text = orr_tsql_message_format (m);
    g_assert_cmpstr (text, ==, "Msg 102, Level 15, State 1, Line 2\n"
                               "Incorrect syntax near ','. Expected a statement Orrery runs: DECLARE, SET, "
                               "PRINT, SELECT or EXEC (line 4, column 8).");
    g_assert_null (orr_tsql_batch_get_error (g_ptr_array_index (batches, 2)));
  }
}

static void
test_parse_errors (void)
{
  g_test_summary ("Each kind of syntax error gets SQL Server's message number and says what was "
                  "expected where");

  assert_parse_error ("EXEC sp_execute_external_script @language = N'Python' @script = N'1'", 102, 1,
                      "Incorrect syntax near '@script'. Expected ',' between the procedure's arguments (line 1, column 55)");
  assert_parse_error ("EXEC sp_execute_external_script @language = N'Python',\n@script = N'print(1)", 105, 2,
                      "Unclosed quotation mark after the character string 'print(1)' that starts at line 2, column 11");
  assert_parse_error ("PRINT 1 /* open", 113, 1, "Missing end comment mark '*/'");
  assert_parse_error ("PRINT 1\nPRINT @nope", 137, 2, "Must declare the scalar variable \"@nope\".");
  assert_parse_error ("DECLARE @a int\nDECLARE @A int", 134, 2, "The variable name '@A' has already been declared");
  assert_parse_error ("DECLARE @a strng", 2715, 1, "Cannot find data type strng.");
  assert_parse_error ("DECLARE @a varchar(9000)", 131, 1, "The size (9000) given to the type 'varchar' exceeds");
  assert_parse_error ("DECLARE @a int(4)", 2716, 1, "Cannot specify a column width on data type int");
  assert_parse_error ("DECLARE @a decimal(40, 2)", 2750, 1, "greater than the maximum precision of 38");
  assert_parse_error ("DECLARE @a TABLE (x int)", 0, 1, "Table variables are not supported");
  assert_parse_error ("SELECT * FROM t", 102, 1, "Incorrect syntax near '*'. Expected an expression");
  assert_parse_error ("SELECT 1 FROM t", 156, 1, "Incorrect syntax near the keyword 'FROM'");
  assert_parse_error ("PRINT UPPER('a')", 195, 1, "'UPPER' is not a recognized built-in function name.");
  assert_parse_error ("PRINT CONCAT('a')", 189, 1, "The concat function requires 2 to 254 arguments.");
  assert_parse_error ("DECLARE @a int\nSELECT @a = 1, 2", 141, 2, "must not be combined with data-retrieval");
  assert_parse_error ("EXEC p @a = 1, 2", 119, 1, "Must pass parameter number 2 and subsequent parameters");
  assert_parse_error ("EXEC p @a = 1 + 1", 102, 1, "Incorrect syntax near '+'.");
  assert_parse_error ("EXEC (N'SELECT 1')", 102, 1, "EXEC of a string of SQL is not supported");
  assert_parse_error ("EXEC p WITH RESULT SETS ((a int)", 102, 1, "')' closing WITH RESULT SETS, but the batch ends");
  assert_parse_error ("EXEC p WITH RESULT SETS (AS OBJECT t)", 156, 1, "AS OBJECT, AS TYPE and AS FOR XML are not supported");
  assert_parse_error ("EXEC p WITH RESULT SETS ((a int NOT))", 102, 1, "NULL after NOT");
  assert_parse_error ("INSERT INTO t EXEC p", 156, 1, "near the keyword 'INSERT'");
  assert_parse_error ("PRINT", 156, 1, "Expected an expression, but the batch ends");
  assert_parse_error ("PRINT 1\n\n  PRINT (1", 102, 3, "Expected ')', but the batch ends (line 3, column 10)");
}

/* ------------------------------------------------------------ adversarial */

static void
assert_fast_error (const char *what, const char *text, gssize len, int number)
{
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autoptr(GPtrArray) batches = orr_tsql_parse_script (text, len);
  const OrrTsqlMessage *m;

  g_assert_cmpuint (batches->len, >=, 1);
  m = orr_tsql_batch_get_error (g_ptr_array_index (batches, batches->len - 1));
  if (m == NULL)
    g_error ("%s: no error", what);
  g_assert_cmpint (m->number, ==, number);
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 30.0);
}

static void
test_adversarial (void)
{
  GString *s;

  g_test_summary ("Malformed input never crashes or hangs: unterminated strings and identifiers, "
                  "deep nesting, long chains, a 1 MB literal, NUL bytes, invalid UTF-8");

  assert_fast_error ("unterminated string", "PRINT '", -1, 105);
  assert_fast_error ("unterminated N string", "PRINT N'abc''", -1, 105);
  assert_fast_error ("unterminated identifier", "SELECT 1 AS [a", -1, 105);
  assert_fast_error ("unterminated quoted identifier", "SELECT 1 AS \"a", -1, 105);
  assert_fast_error ("NUL byte", "PRINT 1\0PRINT 2", 15, 102);
  assert_fast_error ("NUL in a string", "PRINT 'a\0b'", 11, 102);
  assert_fast_error ("invalid UTF-8", "PRINT 'caf\xe9'", -1, 0);

  s = g_string_new ("PRINT ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, '(');
  assert_fast_error ("deep parentheses", s->str, (gssize) s->len, 191);
  g_string_assign (s, "PRINT ");
  for (int i = 0; i < 100000; i++)
    g_string_append (s, "- ");
  g_string_append_c (s, '1');
  assert_fast_error ("deep unary minus", s->str, (gssize) s->len, 191);
  g_string_assign (s, "PRINT 1");
  for (int i = 0; i < 200000; i++)
    g_string_append (s, " + 1");
  assert_fast_error ("long chain", s->str, (gssize) s->len, 191);
  g_string_assign (s, "SELECT ");
  for (int i = 0; i < 200000; i++)
    g_string_append (s, "1,");
  assert_fast_error ("long select list ending in a comma", s->str, (gssize) s->len, 102);
  g_string_free (s, TRUE);

  /* A 1 MB literal parses, in linear time. */
  {
    g_autoptr(GTimer) timer = g_timer_new ();
    GString *big = g_string_new ("DECLARE @s nvarchar(max) = N'");
    g_autofree char *described = NULL;
    g_autofree char *tail = NULL;
    int chars = 0;

    /* 1 MiB of text with lines and doubled quotes. */
    for (int i = 0; big->len < (1 << 20); i++, chars++)
      g_string_append (big, i % 64 == 63 ? "\n" : i % 100 == 0 ? "''" : "x");
    g_string_append (big, "'\nPRINT @s");
    described = describe_script (big->str, (gssize) big->len);
    tail = g_strdup_printf ("…[%d chars]\nPRINT @s\n", chars);
    g_assert_true (g_str_has_prefix (described, "DECLARE @s nvarchar(max) = N'''xxx"));
    g_assert_true (g_str_has_suffix (described, tail));
    g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 30.0);
    g_string_free (big, TRUE);
  }
  /* Many GO lines, many short batches. */
  {
    GString *many = g_string_new (NULL);
    g_autoptr(GPtrArray) batches = NULL;

    for (int i = 0; i < 50000; i++)
      g_string_append (many, "PRINT 1\nGO\n");
    batches = orr_tsql_parse_script (many->str, (gssize) many->len);
    g_assert_cmpuint (batches->len, ==, 50000);
    g_string_free (many, TRUE);
  }
}

static void
test_random_input (void)
{
  static const char * const pieces[] = {
    "EXEC", " ", "sp_execute_external_script", "@language", "=", "N'Python'", ",", "@script", "N'", "'", "''",
    "(", ")", "((", "))", "WITH", "RESULT", "SETS", "NONE", "int", "nvarchar(max)", "NOT", "NULL", "\n", "GO",
    "\nGO\n", "--", "/*", "*/", "DECLARE", "@a", "SET", "PRINT", "SELECT", "+", "-", "1.5", "0x1", "[", "]",
    "\"", ";", ".", "CAST", "AS", "\xc3\xa9", "\t", "OUTPUT", "decimal(", "38", "9999999999999999999999",
  };
  GRand *rand = g_rand_new_with_seed (20240601);

  g_test_summary ("Random sequences of T-SQL pieces and random bytes parse or fail without crashing");

  for (int round = 0; round < 3000; round++)
    {
      GString *s = g_string_new (NULL);
      int n = g_rand_int_range (rand, 0, 60);
      g_autoptr(GPtrArray) batches = NULL;

      for (int i = 0; i < n; i++)
        {
          if (g_rand_int_range (rand, 0, 20) == 0)
            g_string_append_c (s, (char) g_rand_int_range (rand, 1, 256));
          else
            g_string_append (s, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
        }
      batches = orr_tsql_parse_script (s->str, (gssize) s->len);
      for (guint i = 0; i < batches->len; i++)
        g_free (orr_tsql_batch_describe (g_ptr_array_index (batches, i)));
      g_string_free (s, TRUE);
    }
  g_rand_free (rand);
}

/* ------------------------------------------------------------ statements without a database */

typedef struct {
  GString *out;
} Transcript;

static void
on_output (OrrTsqlOutputKind kind, const char *text, gpointer data)
{
  Transcript *t = data;

  g_string_append_printf (t->out, "%s%s\n", kind == ORR_TSQL_OUTPUT_NOTICE ? "notice: " : "", text);
}

static void
on_message (const OrrTsqlMessage *message, gpointer data)
{
  Transcript *t = data;
  g_autofree char *text = orr_tsql_message_format (message);

  g_string_append_printf (t->out, "%s\n", text);
}

static void
on_result (OrrSchema *schema, GPtrArray *batches, guint64 n_rows, gpointer data)
{
  Transcript *t = data;

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
}

/* Runs @text in a session whose connection is never opened: only EXEC
 * would use it. */
static void
assert_runs_to (const char *text, gboolean ok, const char *expected)
{
  g_autoptr(OrrEngine) engine = orr_engine_new ();
  g_autoptr(OrrConnection) connection = orr_connection_new ("orrery_test_never_opened");
  g_autoptr(OrrTsqlSession) session = orr_tsql_session_new (engine, connection);
  const OrrTsqlHandler handler = { on_output, on_message, on_result };
  Transcript t = { g_string_new (NULL) };
  gboolean result = orr_tsql_session_run (session, text, -1, &handler, &t);

  if (g_strcmp0 (t.out->str, expected) != 0 || result != ok)
    g_error ("for:\n%s\nexpected (%s):\n%s\ngot (%s):\n%s", text, ok ? "ok" : "failed", expected,
             result ? "ok" : "failed", t.out->str);
  g_string_free (t.out, TRUE);
}

static void
test_variables (void)
{
  g_test_summary ("Variables take their declared type: varchar without a length holds one character, "
                  "as in SQL Server; += appends; SELECT @v = assigns; variables end with their batch");

  assert_runs_to ("DECLARE @s varchar = 'abc', @t nvarchar(5) = N'héllo world', @n int = '42'\n"
                  "PRINT @s; PRINT @t; PRINT @n + 1\n"
                  "SET @t += N'!'; PRINT @t\n"
                  "SELECT @n = @n * 2; PRINT @n\n"
                  "DECLARE @u varchar(max); PRINT @u; PRINT CONCAT('[', @u, ']'); PRINT 'x' + @u",
                  TRUE, "a\nhéllo\n43\nhéllo\n84\n\n[]\n\n");
  assert_runs_to ("DECLARE @a int = 1\nGO\nPRINT 'next batch'\nGO\nPRINT @a", FALSE,
                  "next batch\nMsg 137, Level 15, State 1, Line 1\nMust declare the scalar variable \"@a\".\n");
}

static void
test_select (void)
{
  g_test_summary ("SELECT of variables and constants is a one-row result set; a column without an "
                  "alias has no name, as in SSMS");

  assert_runs_to ("DECLARE @b bit = 1, @d decimal(6,2) = 3.14159, @dt datetime = '2024-02-29T13:45:30.1234', "
                  "@g uniqueidentifier = '6f9619ff-8b86-d011-b42d-00c04fc964ff', @bin varbinary(4) = 0x0102\n"
                  "SELECT @b AS b, @d, @dt AS [when], @g AS g, @bin AS bin, 1.5e0 AS f, NULL AS n",
                  TRUE,
                  "b|(No column name)|when|g|bin|f|n\n"
                  "true|3.14|2024-02-29 13:45:30.123000|6F9619FF-8B86-D011-B42D-00C04FC964FF|\\x0102|1.5|NULL\n");
}

static void
test_conversions (void)
{
  g_test_summary ("CAST and implicit conversions follow SQL Server: integers truncate, decimals round, "
                  "datetime rounds to 1/300 s and smalldatetime to the minute, char pads");

  assert_runs_to ("SELECT CAST(2.7 AS int), CAST(-2.7 AS int), CAST(2.5 AS decimal(5,0)), CAST(-2.5 AS decimal(5,0)), "
                  "CAST('12.345' AS decimal(5,2)), CAST(1 AS bit), CAST('true' AS bit), CAST('ab' AS char(4)) + '|', "
                  "CAST('2024-01-02 03:04:05.9999' AS datetime), CAST('2024-01-02 03:04:29.999' AS smalldatetime), "
                  "CAST('2024-01-02 03:04:05.123456' AS datetime2(2)), CAST('12:34' AS time(0)), "
                  "CAST(CAST('2024-05-06 07:08:09' AS datetime) AS date), CAST(45000 AS datetime), 7 / 2, 7 % 3, 7 / 2.0",
                  TRUE,
                  "(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|"
                  "(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|"
                  "(No column name)|(No column name)|(No column name)|(No column name)|(No column name)|"
                  "(No column name)|(No column name)\n"
                  "2|-2|3|-3|12.35|true|true|ab  ||2024-01-02 03:04:06|2024-01-02 03:05:00|"
                  "2024-01-02 03:04:05.120000|12:34:00|2024-05-06|2023-03-17 00:00:00|3|1|3.5\n");
}

static void
test_conversion_errors (void)
{
  g_test_summary ("Conversion errors carry SQL Server's numbers and end the batch (the next batch "
                  "runs); other errors end only their statement");

  assert_runs_to ("PRINT CAST('abc' AS int)\nPRINT 'not reached'\nGO\nPRINT 'next batch'", FALSE,
                  "Msg 245, Level 16, State 1, Line 1\n"
                  "Conversion failed when converting the varchar value 'abc' to data type int.\n"
                  "next batch\n");
  assert_runs_to ("PRINT CAST('x' AS float)", FALSE,
                  "Msg 8114, Level 16, State 1, Line 1\nError converting data type varchar to float.\n");
  assert_runs_to ("DECLARE @t tinyint = 300", FALSE,
                  "Msg 220, Level 16, State 1, Line 1\nArithmetic overflow error for data type tinyint, value = 300.\n");
  assert_runs_to ("PRINT CAST(123.45 AS decimal(4,2))", FALSE,
                  "Msg 8115, Level 16, State 1, Line 1\nArithmetic overflow error converting numeric to data type numeric.\n");
  assert_runs_to ("PRINT CAST('2024-13-01' AS date)", FALSE,
                  "Msg 241, Level 16, State 1, Line 1\n"
                  "Conversion failed when converting date and/or time from character string.\n");
  assert_runs_to ("PRINT CAST('1700-01-01' AS datetime)", FALSE,
                  "Msg 242, Level 16, State 1, Line 1\n"
                  "The conversion of a varchar data type to a datetime data type resulted in an out-of-range value.\n");
  assert_runs_to ("PRINT CAST(CAST('2024-01-01' AS date) AS int)", FALSE,
                  "Msg 529, Level 16, State 1, Line 1\nExplicit conversion from data type date to int is not allowed.\n");
  assert_runs_to ("PRINT 1 / 0", FALSE, "Msg 8134, Level 16, State 1, Line 1\nDivide by zero error encountered.\n");
  assert_runs_to ("PRINT 2147483647 + 1", FALSE,
                  "Msg 8115, Level 16, State 1, Line 1\nArithmetic overflow error converting expression to data type int.\n");
  assert_runs_to ("PRINT 'a' - 'b'", FALSE,
                  "Msg 8117, Level 16, State 1, Line 1\nOperand data type varchar is invalid for subtract operator.\n");
  assert_runs_to ("EXEC sp_nothing\nPRINT 'still running'", FALSE,
                  "Msg 2812, Level 16, State 1, Line 1\nCould not find stored procedure 'sp_nothing'. Orrery runs "
                  "sp_execute_external_script and sp_configure.\nstill running\n");
}

static void
test_go_count (void)
{
  g_test_summary ("GO n runs the batch n times, with SSMS's loop messages; USE is noted and ignored");

  assert_runs_to ("USE Sales\nPRINT 'x'\nGO 2", TRUE,
                  "Beginning execution loop\n"
                  "notice: USE Sales is ignored: Orrery runs the batch on the database of its connection.\n"
                  "x\n"
                  "notice: USE Sales is ignored: Orrery runs the batch on the database of its connection.\n"
                  "x\n"
                  "Batch execution completed 2 times.\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Orr/Tsql/parse/exec-forms", test_exec_forms);
  g_test_add_func ("/Orr/Tsql/parse/literals-comments", test_literals_and_comments);
  g_test_add_func ("/Orr/Tsql/parse/statements", test_statements);
  g_test_add_func ("/Orr/Tsql/parse/types", test_types);
  g_test_add_func ("/Orr/Tsql/parse/result-sets", test_result_sets);
  g_test_add_func ("/Orr/Tsql/parse/go", test_go);
  g_test_add_func ("/Orr/Tsql/parse/batch-lines", test_batch_lines);
  g_test_add_func ("/Orr/Tsql/parse/errors", test_parse_errors);
  g_test_add_func ("/Orr/Tsql/parse/adversarial", test_adversarial);
  g_test_add_func ("/Orr/Tsql/parse/random", test_random_input);
  g_test_add_func ("/Orr/Tsql/run/variables", test_variables);
  g_test_add_func ("/Orr/Tsql/run/select", test_select);
  g_test_add_func ("/Orr/Tsql/run/conversions", test_conversions);
  g_test_add_func ("/Orr/Tsql/run/conversion-errors", test_conversion_errors);
  g_test_add_func ("/Orr/Tsql/run/go-count", test_go_count);
  return g_test_run ();
}
