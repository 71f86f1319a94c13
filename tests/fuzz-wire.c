/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-wire"

#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "orr-batch-private.h"
#include "orr-error.h"
#include "orr-wire.h"

/*
 * Fuzzes what the engine reads from a satellite: frames, every payload
 * decoder (the zygote's FORK request too), and the validator that maps a
 * batch's memory.
 *
 * An input is a run of frames; each frame's payload goes through every
 * decoder, whatever its type. Whatever decodes must re-encode to the same
 * bytes (or, where decoding normalises, reach a fixed point).
 *
 * Then a batch: if the frames held a schema and a batch descriptor that fit
 * it, the bytes after the last frame are its memory (this is how the seed
 * corpus holds real sealed batches). Otherwise the input itself is read as
 * a little schema, descriptors made of small numbers, and memory. The batch
 * is mapped from an unsealed memfd, and every cell of an accepted batch is
 * formatted: the validator's promise is that such a batch is safe to read.
 *
 * Built with libFuzzer by tools/fuzz.sh; with -DORR_FUZZ_STANDALONE it gets
 * a main() that runs files or directories of inputs, as a regression test.
 */

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Formatting is per cell; an accepted batch may have 64 Ki rows by a
 * thousand overlapping columns. The validator has seen every cell already. */
#define MAX_FORMATTED_CELLS 4096

/* Columns in a schema read straight from the input. */
#define MAX_RAW_COLUMNS 4

typedef struct {
  OrrSchema *schema;      /* the last payload that decoded as a schema */
  gboolean have_batch;
  OrrWireBatch batch;     /* the last payload that decoded as a batch */
} State;

static void
check_same (GBytes *expected, GBytes *actual, const char *what)
{
  if (!g_bytes_equal (expected, actual))
    g_error ("%s: encoding what was decoded does not give the same bytes", what);
}

static void
check_protocol_error (const GError *error, const char *what)
{
  /* Whatever a peer sends, a refusal is a protocol error with a message. */
  if (error == NULL || error->domain != ORR_ERROR || error->code != ORR_ERROR_PROTOCOL ||
      error->message == NULL || error->message[0] == '\0')
    g_error ("%s: refused without a protocol error", what);
}

static void
format_params (GPtrArray *params)
{
  for (guint i = 0; i < params->len; i++)
    {
      const OrrParam *p = g_ptr_array_index (params, i);

      g_free (orr_value_to_string (&p->value));
    }
}

static void
fuzz_job (GBytes *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) once = NULL;
  g_autoptr(GBytes) twice = NULL;
  OrrWireJob job, again;

  if (!orr_wire_decode_job (payload, &job, &error))
    {
      check_protocol_error (error, "job");
      return;
    }
  format_params (job.params);
  /* Partition and order columns are text the glue matches against names. */
  for (guint i = 0; job.partition_by && job.partition_by[i]; i++)
    g_assert_true (g_utf8_validate (job.partition_by[i], -1, NULL));
  for (guint i = 0; job.order_by && job.order_by[i]; i++)
    g_assert_true (g_utf8_validate (job.order_by[i], -1, NULL));
  /* Flags and booleans are normalised: the second round must be exact. */
  once = orr_wire_encode_job (&job);
  orr_wire_job_clear (&job);
  if (!orr_wire_decode_job (once, &again, &error))
    g_error ("job: an encoded job does not decode: %s", error->message);
  twice = orr_wire_encode_job (&again);
  orr_wire_job_clear (&again);
  check_same (once, twice, "job");
}

static void
fuzz_fork (GBytes *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  OrrWireFork spec;

  if (!orr_wire_decode_fork (payload, &spec, &error))
    {
      check_protocol_error (error, "fork");
      return;
    }
  if (spec.flags & ~ORR_WIRE_FORK_ALL_FLAGS)
    g_error ("fork: unknown flags accepted");
  for (guint i = 0; i < spec.cpus->len; i++)
    if (g_array_index (spec.cpus, guint32, i) >= ORR_WIRE_MAX_CPUS)
      g_error ("fork: CPU %u accepted", g_array_index (spec.cpus, guint32, i));
  if (spec.job_dir[0] != '\0' && spec.job_dir[0] != '/')
    g_error ("fork: relative job directory accepted");
  for (guint i = 0; i < spec.hidden->len; i++)
    if (((const char *) g_ptr_array_index (spec.hidden, i))[0] != '/')
      g_error ("fork: relative hidden path accepted");
  for (guint i = 0; i < spec.cgroups->len; i++)
    if (((const char *) g_ptr_array_index (spec.cgroups, i))[0] != '/')
      g_error ("fork: relative cgroup accepted");
  again = orr_wire_encode_fork (&spec);
  orr_wire_fork_clear (&spec);
  check_same (payload, again, "fork");
}

static void
fuzz_schema (GBytes *payload, State *state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  OrrSchema *schema = orr_wire_decode_schema (payload, &error);

  if (schema == NULL)
    {
      check_protocol_error (error, "schema");
      return;
    }
  again = orr_wire_encode_schema (schema);
  check_same (payload, again, "schema");
  g_clear_pointer (&state->schema, orr_schema_unref);
  state->schema = schema;
}

static void
fuzz_batch_desc (GBytes *payload, State *state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  OrrWireBatch batch;

  if (!orr_wire_decode_batch (payload, &batch, &error))
    {
      check_protocol_error (error, "batch");
      return;
    }
  again = orr_wire_encode_batch (batch.n_rows, batch.size, batch.n_columns, batch.descs);
  check_same (payload, again, "batch");
  orr_wire_batch_clear (&state->batch);
  state->batch = batch;
  state->have_batch = TRUE;
}

static void
fuzz_strings (GBytes *payload)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *s = orr_wire_decode_string (payload, &error);
  g_auto(GStrv) strv = NULL;

  if (s != NULL)
    {
      g_autoptr(GBytes) again = orr_wire_encode_string (s, -1);

      check_same (payload, again, "string");
    }
  else
    check_protocol_error (error, "string");
  g_clear_error (&error);

  strv = orr_wire_decode_strings (payload, 3, &error);
  if (strv != NULL)
    {
      g_autoptr(GBytes) again = orr_wire_encode_strings ((const char * const *) strv, 3);

      check_same (payload, again, "strings");
    }
  else
    check_protocol_error (error, "strings");
}

static void
fuzz_params (GBytes *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) params = orr_wire_decode_params (payload, &error);
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GBytes) once = NULL;
  g_autoptr(GBytes) twice = NULL;

  if (params == NULL)
    {
      check_protocol_error (error, "params");
      return;
    }
  format_params (params);
  once = orr_wire_encode_params (params);
  again = orr_wire_decode_params (once, &error);
  if (again == NULL)
    g_error ("params: encoded parameters do not decode: %s", error->message);
  twice = orr_wire_encode_params (again);
  check_same (once, twice, "params");
}

static void
fuzz_error (GBytes *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  OrrWireError err;

  if (!orr_wire_decode_error (payload, &err, &error))
    {
      check_protocol_error (error, "error");
      return;
    }
  again = orr_wire_encode_error (&err);
  orr_wire_error_clear (&err);
  check_same (payload, again, "error");
}

static void
fuzz_numbers (GBytes *payload)
{
  gint32 values[2];
  gint64 wide[ORR_WIRE_EXITED_N_VALUES];
  guint64 count;

  for (guint n = 1; n <= 2; n++)
    {
      g_autoptr(GError) error = NULL;

      if (orr_wire_decode_i32s (payload, values, n, &error))
        {
          g_autoptr(GBytes) again = orr_wire_encode_i32s (values, n);

          check_same (payload, again, "i32s");
        }
      else
        check_protocol_error (error, "i32s");
    }
  {
    g_autoptr(GError) error = NULL;

    if (orr_wire_decode_i64s (payload, wide, ORR_WIRE_EXITED_N_VALUES, &error))
      {
        g_autoptr(GBytes) again = orr_wire_encode_i64s (wide, ORR_WIRE_EXITED_N_VALUES);

        check_same (payload, again, "i64s");
      }
    else
      check_protocol_error (error, "i64s");
  }
  {
    g_autoptr(GError) error = NULL;

    if (orr_wire_decode_u64 (payload, &count, &error))
      {
        g_autoptr(GBytes) again = orr_wire_encode_u64 (count);

        check_same (payload, again, "u64");
      }
    else
      check_protocol_error (error, "u64");
  }
}

static int
memfd_with (const guint8 *data, gsize len)
{
  int fd = memfd_create ("fuzz-batch", MFD_CLOEXEC);

  if (fd < 0)
    g_error ("memfd_create: %s", g_strerror (errno));
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("writing a memfd: %s", g_strerror (errno));
      data += n;
      len -= n;
    }
  return fd;
}

static void
fuzz_batch_memory (OrrSchema           *schema,
                   const guint8        *memory,
                   gsize                memory_len,
                   guint64              size,
                   guint                n_rows,
                   const OrrBufferDesc *descs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OrrBatch) batch = NULL;
  guint n_columns = orr_schema_get_n_fields (schema);
  guint budget = MAX_FORMATTED_CELLS;

  batch = _orr_batch_new_from_fd (schema, memfd_with (memory, memory_len), size, n_rows,
                                  descs, FALSE, &error);
  if (batch == NULL)
    {
      check_protocol_error (error, "batch memory");
      return;
    }
  for (guint col = 0; col < n_columns; col++)
    {
      OrrColumn column;

      orr_batch_get_column (batch, col, &column);
      if (column.null_count < 0 || column.null_count > n_rows)
        g_error ("column %u: %" G_GINT64_FORMAT " NULLs in %u rows", col, column.null_count, n_rows);
      for (guint row = 0; row < n_rows && budget > 0; row++, budget--)
        {
          g_autofree char *text = orr_batch_format_value (batch, col, row);

          if ((text == NULL) != orr_column_is_null (&column, row))
            g_error ("column %u row %u: NULL-ness and text disagree", col, row);
        }
    }
}

static guint64
desc_number (const guint8 *p)
{
  guint16 v = p[0] | (p[1] << 8);

  /* Small numbers, so that buffers often land inside the memory; the top
   * of the range stands for numbers near 2^64, to probe overflow checks. */
  if (v >= 0xff00)
    return G_MAXUINT64 - (0xffff - v);
  return v;
}

/* Layout: n_columns, one type byte per column (low nibble type, high
 * nibble decimal scale), n_rows, six u16 per column, then the memory. */
static void
fuzz_raw_batch (const guint8 *data, gsize size)
{
  g_autoptr(OrrSchema) schema = orr_schema_new ();
  OrrBufferDesc descs[MAX_RAW_COLUMNS];
  guint n_columns, n_rows;
  gsize pos;

  if (size < 2)
    return;
  n_columns = 1 + data[0] % MAX_RAW_COLUMNS;
  if (size < 1 + n_columns + 1 + 12 * n_columns)
    return;
  for (guint i = 0; i < n_columns; i++)
    {
      guint8 b = data[1 + i];
      OrrDataType type = 1 + (b & 0x0f) % ORR_DATA_TYPE_LAST;
      gboolean decimal = type == ORR_DATA_TYPE_DECIMAL;
      char name[8];

      g_snprintf (name, sizeof name, "c%u", i);
      orr_schema_add_field (schema, name, type, decimal ? 18 : 0, decimal ? MIN (b >> 4, 18) : 0);
    }
  pos = 1 + n_columns;
  n_rows = data[pos++];
  for (guint i = 0; i < n_columns; i++)
    {
      descs[i].validity_off = desc_number (data + pos);
      descs[i].validity_len = desc_number (data + pos + 2);
      descs[i].values_off = desc_number (data + pos + 4);
      descs[i].values_len = desc_number (data + pos + 6);
      descs[i].data_off = desc_number (data + pos + 8);
      descs[i].data_len = desc_number (data + pos + 10);
      pos += 12;
    }
  fuzz_batch_memory (schema, data + pos, size - pos, MAX (size - pos, 1), n_rows, descs);
}

static void
log_handler (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) == 0)
    return;
  fprintf (stderr, "fuzz-wire: fatal log message: %s: %s\n", domain ? domain : "(no domain)", message);
  /* GLib's own fatal path raises SIGTRAP, which libFuzzer does not catch
   * under ASan: abort() is reported, with the input saved. */
  abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* A warning or critical from peer input (a g_return_if_fail() hit) is a
   * bug, as is a g_error() from a broken invariant. */
  g_log_set_default_handler (log_handler, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  State state = { 0 };
  gsize pos = 0;

  while (pos < size)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OrrWireMessage) msg = NULL;
      gsize consumed = 0;

      msg = orr_wire_parse_frame (data + pos, size - pos, &consumed, &error);
      if (msg == NULL)
        {
          check_protocol_error (error, "frame");
          break;
        }
      if (consumed < ORR_WIRE_HEADER_SIZE || consumed > size - pos)
        g_error ("frame: consumed %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", consumed, size - pos);
      fuzz_job (msg->payload);
      fuzz_fork (msg->payload);
      fuzz_schema (msg->payload, &state);
      fuzz_batch_desc (msg->payload, &state);
      fuzz_strings (msg->payload);
      fuzz_params (msg->payload);
      fuzz_error (msg->payload);
      fuzz_numbers (msg->payload);
      pos += consumed;
    }

  if (state.schema != NULL && state.have_batch &&
      state.batch.n_columns == orr_schema_get_n_fields (state.schema))
    fuzz_batch_memory (state.schema, data + pos, size - pos, state.batch.size,
                       state.batch.n_rows, state.batch.descs);
  else
    fuzz_raw_batch (data, size);

  g_clear_pointer (&state.schema, orr_schema_unref);
  orr_wire_batch_clear (&state.batch);
  return 0;
}

#ifdef ORR_FUZZ_STANDALONE

/* Runs inputs without libFuzzer: each file named, or each file in each
 * directory named (sorted), reported as TAP. A crash or a g_error() ends
 * the run, as it would under the fuzzer. */

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
add_inputs (GPtrArray *paths, const char *arg)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) found = NULL;
  const char *name;

  if (!g_file_test (arg, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (paths, g_strdup (arg));
      return;
    }
  dir = g_dir_open (arg, 0, NULL);
  if (dir == NULL)
    {
      g_ptr_array_add (paths, g_strdup (arg));
      return;
    }
  found = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (arg, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (found, path);
      else
        g_free (path);
    }
  g_ptr_array_sort (found, compare_paths);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (paths, g_steal_pointer (&found->pdata[i]));
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  gboolean failed = FALSE;

  LLVMFuzzerInitialize (&argc, &argv);
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE|DIRECTORY…\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    add_inputs (paths, argv[i]);

  printf ("1..%u\n", paths->len);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autoptr(GError) error = NULL;
      g_autofree char *contents = NULL;
      gsize len;

      if (!g_file_get_contents (path, &contents, &len, &error))
        {
          printf ("not ok %u %s # %s\n", i + 1, path, error->message);
          failed = TRUE;
          continue;
        }
      fflush (stdout);
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
      printf ("ok %u %s (%" G_GSIZE_FORMAT " bytes)\n", i + 1, path, len);
    }
  return failed ? 1 : 0;
}

#endif
