/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-batch"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-batch-private.h"
#include "orr-error.h"

#define ALIGN 64

/* ------------------------------------------------------------------ schema */

struct _OrrSchema {
  gatomicrefcount ref_count;
  GArray *fields; /* OrrField */
};

G_DEFINE_BOXED_TYPE (OrrSchema, orr_schema, orr_schema_ref, orr_schema_unref)

static void
field_clear (gpointer data)
{
  OrrField *field = data;

  g_clear_pointer (&field->name, g_free);
}

OrrSchema *
orr_schema_new (void)
{
  OrrSchema *self = g_new0 (OrrSchema, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->fields = g_array_new (FALSE, TRUE, sizeof (OrrField));
  g_array_set_clear_func (self->fields, field_clear);
  return self;
}

OrrSchema *
orr_schema_ref (OrrSchema *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
orr_schema_unref (OrrSchema *self)
{
  g_return_if_fail (self != NULL);
  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_array_unref (self->fields);
      g_free (self);
    }
}

void
orr_schema_add_field (OrrSchema   *self,
                      const char  *name,
                      OrrDataType  type,
                      int          precision,
                      int          scale)
{
  OrrField field = { g_strdup (name ? name : ""), type, precision, scale };

  g_return_if_fail (self != NULL);
  g_return_if_fail (type > ORR_DATA_TYPE_INVALID && type <= ORR_DATA_TYPE_LAST);
  g_array_append_val (self->fields, field);
}

guint
orr_schema_get_n_fields (const OrrSchema *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->fields->len;
}

const OrrField *
orr_schema_get_field (const OrrSchema *self,
                      guint            index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->fields->len, NULL);
  return &g_array_index (self->fields, OrrField, index);
}

gboolean
orr_schema_equal (const OrrSchema *a,
                  const OrrSchema *b)
{
  if (a->fields->len != b->fields->len)
    return FALSE;
  for (guint i = 0; i < a->fields->len; i++)
    {
      const OrrField *fa = &g_array_index (a->fields, OrrField, i);
      const OrrField *fb = &g_array_index (b->fields, OrrField, i);

      if (fa->type != fb->type || fa->precision != fb->precision ||
          fa->scale != fb->scale || g_strcmp0 (fa->name, fb->name) != 0)
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------- batch */

typedef struct {
  gsize validity_off;
  gsize values_off;
  gsize data_off;
  gsize data_len;
  gint64 null_count;
} ColumnSlots;

struct _OrrBatch {
  gatomicrefcount ref_count;
  OrrSchema *schema;
  guint n_rows;
  guint capacity;
  int fd;               /* memfd, or -1 for heap memory */
  guint8 *base;
  gsize mapped;         /* bytes mapped or allocated */
  gsize used;
  guint writable : 1;
  guint sealed : 1;
  int last_data_column; /* the only column whose data may grow, -1 none */
  ColumnSlots *slots;
};

G_DEFINE_BOXED_TYPE (OrrBatch, orr_batch, orr_batch_ref, orr_batch_unref)

static inline gsize
align_up (gsize n)
{
  return (n + ALIGN - 1) & ~(gsize) (ALIGN - 1);
}

static gboolean
arena_reserve (OrrBatch  *self,
               gsize      needed,
               GError   **error)
{
  gsize new_size;
  guint8 *base;

  if (needed <= self->mapped)
    return TRUE;

  new_size = MAX (needed, self->mapped + self->mapped / 2);
  new_size = (new_size + 4095) & ~(gsize) 4095;

  if (self->fd < 0)
    {
      base = g_try_realloc (self->base, new_size);
      if (base == NULL)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                       _("Out of memory allocating a batch of %zu bytes"), new_size);
          return FALSE;
        }
    }
  else
    {
      if (ftruncate (self->fd, new_size) != 0)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                       _("Cannot grow shared batch memory to %zu bytes: %s"),
                       new_size, g_strerror (errsv));
          return FALSE;
        }
      if (self->base == NULL)
        base = mmap (NULL, new_size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
      else
        base = mremap (self->base, self->mapped, new_size, MREMAP_MAYMOVE);
      if (base == MAP_FAILED)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                       _("Cannot map shared batch memory: %s"), g_strerror (errsv));
          return FALSE;
        }
    }

  self->base = base;
  self->mapped = new_size;
  return TRUE;
}

OrrBatch *
orr_batch_new (OrrSchema *schema,
               guint      capacity,
               gboolean   shared,
               GError   **error)
{
  g_autoptr(OrrBatch) self = NULL;
  guint n_columns;
  gsize offset = 0;

  g_return_val_if_fail (schema != NULL, NULL);

  n_columns = orr_schema_get_n_fields (schema);
  self = g_new0 (OrrBatch, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->schema = orr_schema_ref (schema);
  self->capacity = capacity;
  self->fd = -1;
  self->writable = TRUE;
  self->last_data_column = -1;
  self->slots = g_new0 (ColumnSlots, MAX (n_columns, 1));

  for (guint i = 0; i < n_columns; i++)
    {
      OrrDataType type = orr_schema_get_field (schema, i)->type;
      gsize width = orr_data_type_get_width (type);
      gsize n_values = orr_data_type_is_variable (type) ? (gsize) capacity + 1 : capacity;

      self->slots[i].validity_off = offset;
      offset = align_up (offset + ((gsize) capacity + 7) / 8);
      self->slots[i].values_off = offset;
      offset = align_up (offset + n_values * width);
    }

  if (shared)
    {
      self->fd = memfd_create ("orrery-batch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (self->fd < 0)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED,
                       _("Cannot create shared memory for a batch: %s"), g_strerror (errsv));
          return NULL;
        }
    }

  /* Room for the fixed part, and as much again for text. */
  if (!arena_reserve (self, MAX (offset * 2, 4096), error))
    return NULL;
  self->used = offset;
  for (guint i = 0; i < n_columns; i++)
    {
      memset (self->base + self->slots[i].validity_off, 0xff, ((gsize) capacity + 7) / 8);
      if (orr_data_type_is_variable (orr_schema_get_field (schema, i)->type))
        memset (self->base + self->slots[i].values_off, 0, sizeof (gint32));
      self->slots[i].data_off = offset;
    }

  return g_steal_pointer (&self);
}

OrrBatch *
orr_batch_ref (OrrBatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
orr_batch_unref (OrrBatch *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  if (self->fd >= 0 || self->sealed)
    {
      if (self->base != NULL)
        munmap (self->base, self->mapped);
    }
  else
    g_free (self->base);
  if (self->fd >= 0)
    close (self->fd);
  g_clear_pointer (&self->schema, orr_schema_unref);
  g_free (self->slots);
  g_free (self);
}

OrrSchema *
orr_batch_get_schema (OrrBatch *self)
{
  return self->schema;
}

guint
orr_batch_get_n_rows (OrrBatch *self)
{
  return self->n_rows;
}

guint
orr_batch_get_capacity (OrrBatch *self)
{
  return self->capacity;
}

guint
orr_batch_get_n_columns (OrrBatch *self)
{
  return orr_schema_get_n_fields (self->schema);
}

gsize
orr_batch_get_size (OrrBatch *self)
{
  return self->used;
}

void
orr_batch_get_column (OrrBatch  *self,
                      guint      index,
                      OrrColumn *out)
{
  const ColumnSlots *slot;

  g_return_if_fail (self != NULL);
  g_return_if_fail (index < orr_batch_get_n_columns (self));

  slot = &self->slots[index];
  out->type = orr_schema_get_field (self->schema, index)->type;
  out->n_rows = self->n_rows;
  out->null_count = slot->null_count;
  out->validity = slot->null_count > 0 ? self->base + slot->validity_off : NULL;
  out->values = self->base + slot->values_off;
  out->data = orr_data_type_is_variable (out->type) ? self->base + slot->data_off : NULL;
  out->data_len = slot->data_len;
}

void
orr_batch_set_n_rows (OrrBatch *self,
                      guint     n_rows)
{
  g_return_if_fail (self->writable);
  g_return_if_fail (n_rows <= self->capacity);
  self->n_rows = n_rows;
}

guint8 *
orr_batch_get_values_mut (OrrBatch *self,
                          guint     index)
{
  g_return_val_if_fail (self->writable, NULL);
  g_return_val_if_fail (index < orr_batch_get_n_columns (self), NULL);
  return self->base + self->slots[index].values_off;
}

void
orr_batch_set_null (OrrBatch *self,
                    guint     index,
                    guint     row,
                    gboolean  is_null)
{
  guint8 *bitmap;
  guint8 bit = 1u << (row & 7);
  gboolean was_null;

  g_return_if_fail (self->writable);
  g_return_if_fail (index < orr_batch_get_n_columns (self));
  g_return_if_fail (row < self->capacity);

  bitmap = self->base + self->slots[index].validity_off;
  was_null = (bitmap[row >> 3] & bit) == 0;
  if (is_null == was_null)
    return;
  if (is_null)
    {
      bitmap[row >> 3] &= ~bit;
      self->slots[index].null_count++;
    }
  else
    {
      bitmap[row >> 3] |= bit;
      self->slots[index].null_count--;
    }
}

guint8 *
orr_batch_reserve_data (OrrBatch *self,
                        guint     index,
                        gsize     len,
                        GError  **error)
{
  ColumnSlots *slot;
  gsize end;

  g_return_val_if_fail (self->writable, NULL);
  g_return_val_if_fail (index < orr_batch_get_n_columns (self), NULL);

  slot = &self->slots[index];
  if (self->last_data_column != (int) index)
    {
      /* Data buffers are contiguous: a column's data is written in one run. */
      g_return_val_if_fail (slot->data_len == 0, NULL);
      self->used = align_up (self->used);
      slot->data_off = self->used;
      self->last_data_column = index;
    }

  if (!g_size_checked_add (&end, self->used, len) || end > G_MAXINT32 + slot->data_off)
    {
      g_set_error (error, ORR_ERROR, ORR_ERROR_LIMIT,
                   _("Column “%s” holds more than 2 GiB of data in one batch"),
                   orr_schema_get_field (self->schema, index)->name);
      return NULL;
    }
  if (!arena_reserve (self, end, error))
    return NULL;
  return self->base + self->used;
}

void
orr_batch_commit_data (OrrBatch *self,
                       guint     index,
                       gsize     len)
{
  g_return_if_fail ((int) index == self->last_data_column);
  g_return_if_fail (self->used + len <= self->mapped);
  self->used += len;
  self->slots[index].data_len += len;
}

gboolean
orr_batch_append_data (OrrBatch   *self,
                       guint       index,
                       const void *bytes,
                       gsize       len,
                       GError    **error)
{
  guint8 *dest = orr_batch_reserve_data (self, index, len, error);

  if (dest == NULL)
    return FALSE;
  if (len > 0)
    memcpy (dest, bytes, len);
  orr_batch_commit_data (self, index, len);
  return TRUE;
}

gsize
orr_batch_get_data_len (OrrBatch *self,
                        guint     index)
{
  g_return_val_if_fail (index < orr_batch_get_n_columns (self), 0);
  return self->slots[index].data_len;
}

gboolean
_orr_batch_seal (OrrBatch       *self,
                 int            *fd_out,
                 guint64        *size_out,
                 OrrBufferDesc **descs_out,
                 GError        **error)
{
  guint n_columns = orr_batch_get_n_columns (self);
  OrrBufferDesc *descs;
  gsize size;
  void *ro;

  g_return_val_if_fail (self->fd >= 0, FALSE);

  if (!self->sealed)
    {
      size = MAX (self->used, 1);
      if (ftruncate (self->fd, size) != 0)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED,
                       _("Cannot trim shared batch memory: %s"), g_strerror (errsv));
          return FALSE;
        }
      /* F_SEAL_WRITE needs every writable shared mapping gone. From here on
       * the batch is never writable again, whether sealing succeeds or not. */
      self->writable = FALSE;
      munmap (self->base, self->mapped);
      self->base = NULL;
      self->mapped = 0;
      if (fcntl (self->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED,
                       _("Cannot seal shared batch memory: %s"), g_strerror (errsv));
          return FALSE;
        }
      ro = mmap (NULL, size, PROT_READ, MAP_SHARED, self->fd, 0);
      if (ro == MAP_FAILED)
        {
          int errsv = errno;
          g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED,
                       _("Cannot map sealed batch memory: %s"), g_strerror (errsv));
          return FALSE;
        }
      self->base = ro;
      self->mapped = size;
      self->writable = FALSE;
      self->sealed = TRUE;
    }

  descs = g_new0 (OrrBufferDesc, MAX (n_columns, 1));
  for (guint i = 0; i < n_columns; i++)
    {
      OrrDataType type = orr_schema_get_field (self->schema, i)->type;
      gsize width = orr_data_type_get_width (type);
      gsize n_values = orr_data_type_is_variable (type) ? (gsize) self->n_rows + 1 : self->n_rows;

      descs[i].validity_off = self->slots[i].validity_off;
      descs[i].validity_len = self->slots[i].null_count > 0 ? ((gsize) self->n_rows + 7) / 8 : 0;
      descs[i].values_off = self->slots[i].values_off;
      descs[i].values_len = n_values * width;
      descs[i].data_off = self->slots[i].data_off;
      descs[i].data_len = self->slots[i].data_len;
    }

  *fd_out = self->fd;
  *size_out = self->mapped;
  *descs_out = descs;
  return TRUE;
}

static gboolean
range_ok (guint64 off,
          guint64 len,
          guint64 size)
{
  guint64 end;

  return g_uint64_checked_add (&end, off, len) && end <= size;
}

static gint64
count_nulls (const guint8 *bitmap,
             guint         n_rows)
{
  gint64 valid = 0;
  guint full = n_rows / 8;

  for (guint i = 0; i < full; i++)
    valid += __builtin_popcount (bitmap[i]);
  for (guint row = full * 8; row < n_rows; row++)
    valid += (bitmap[row >> 3] >> (row & 7)) & 1;
  return (gint64) n_rows - valid;
}

OrrBatch *
_orr_batch_new_from_fd (OrrSchema           *schema,
                        int                  fd,
                        guint64              size,
                        guint                n_rows,
                        const OrrBufferDesc *descs,
                        gboolean             require_seals,
                        GError             **error)
{
  g_autoptr(OrrBatch) self = NULL;
  guint n_columns = orr_schema_get_n_fields (schema);
  struct stat st;
  void *base;

#define BAD(...) G_STMT_START { \
    g_set_error (error, ORR_ERROR, ORR_ERROR_PROTOCOL, __VA_ARGS__); \
    return NULL; \
  } G_STMT_END

  self = g_new0 (OrrBatch, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->schema = orr_schema_ref (schema);
  self->fd = fd;
  self->sealed = TRUE;
  self->n_rows = n_rows;
  self->capacity = n_rows;
  self->last_data_column = -1;
  self->slots = g_new0 (ColumnSlots, MAX (n_columns, 1));

  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    BAD (_("Batch memory is not a memory file"));
  if (size == 0 || size > (guint64) st.st_size || size > G_MAXSIZE)
    BAD (_("Batch memory size %llu does not match its file (%lld)"),
         (unsigned long long) size, (long long) st.st_size);
  if (require_seals)
    {
      int seals = fcntl (fd, F_GET_SEALS);
      int needed = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

      if (seals < 0 || (seals & needed) != needed)
        BAD (_("Batch memory is not sealed against writes"));
    }

  base = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    BAD (_("Cannot map batch memory: %s"), g_strerror (errno));
  self->base = base;
  self->mapped = size;
  self->used = size;

  for (guint i = 0; i < n_columns; i++)
    {
      const OrrField *field = orr_schema_get_field (schema, i);
      const OrrBufferDesc *d = &descs[i];
      gboolean variable = orr_data_type_is_variable (field->type);
      gsize width = orr_data_type_get_width (field->type);
      guint64 n_values = variable ? (guint64) n_rows + 1 : n_rows;

      if (!range_ok (d->validity_off, d->validity_len, size) ||
          !range_ok (d->values_off, d->values_len, size) ||
          !range_ok (d->data_off, d->data_len, size))
        BAD (_("Column %u (“%s”): a buffer lies outside the batch memory"), i + 1, field->name);
      if (d->values_off % width != 0)
        BAD (_("Column %u (“%s”): misaligned values"), i + 1, field->name);
      if (d->values_len < n_values * width)
        BAD (_("Column %u (“%s”): values buffer too short for %u rows"), i + 1, field->name, n_rows);
      if (d->validity_len != 0 && d->validity_len < ((guint64) n_rows + 7) / 8)
        BAD (_("Column %u (“%s”): validity bitmap too short for %u rows"), i + 1, field->name, n_rows);
      if (d->data_len > G_MAXINT32)
        BAD (_("Column %u (“%s”): data buffer larger than 2 GiB"), i + 1, field->name);

      self->slots[i].validity_off = d->validity_off;
      self->slots[i].values_off = d->values_off;
      self->slots[i].data_off = d->data_off;
      self->slots[i].data_len = variable ? d->data_len : 0;
      self->slots[i].null_count = d->validity_len ? count_nulls (self->base + d->validity_off, n_rows) : 0;

      if (variable)
        {
          const gint32 *offsets = (const gint32 *) (self->base + d->values_off);
          const char *data = (const char *) (self->base + d->data_off);

          if (offsets[0] != 0)
            BAD (_("Column %u (“%s”): first offset is not 0"), i + 1, field->name);
          for (guint row = 0; row < n_rows; row++)
            {
              gint32 start = offsets[row], end = offsets[row + 1];

              if (end < start || (guint64) end > d->data_len)
                BAD (_("Column %u (“%s”): offsets of row %u are out of order or out of range"),
                     i + 1, field->name, row + 1);
              if (field->type == ORR_DATA_TYPE_TEXT &&
                  !g_utf8_validate_len (data + start, end - start, NULL))
                BAD (_("Column %u (“%s”): row %u is not valid UTF-8"), i + 1, field->name, row + 1);
            }
        }
      else if (field->type == ORR_DATA_TYPE_BOOL)
        {
          const guint8 *values = self->base + d->values_off;

          for (guint row = 0; row < n_rows; row++)
            if (values[row] > 1)
              BAD (_("Column %u (“%s”): row %u is not a boolean"), i + 1, field->name, row + 1);
        }
    }
#undef BAD

  return g_steal_pointer (&self);
}

static char *
format_decimal (gint64 v,
                int    scale)
{
  char digits[32];
  gboolean negative = v < 0;
  guint64 u = negative ? (guint64) 0 - (guint64) v : (guint64) v;
  GString *s;
  int len;

  len = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, u);
  s = g_string_new (negative ? "-" : "");
  if (scale <= 0)
    {
      g_string_append (s, digits);
      return g_string_free (s, FALSE);
    }
  if (len <= scale)
    {
      g_string_append (s, "0.");
      for (int i = len; i < scale; i++)
        g_string_append_c (s, '0');
      g_string_append (s, digits);
    }
  else
    {
      g_string_append_len (s, digits, len - scale);
      g_string_append_c (s, '.');
      g_string_append (s, digits + len - scale);
    }
  return g_string_free (s, FALSE);
}

/* The shortest text that reads back as the same number (5.1, not
 * 5.0999999999999996), always with the C locale's decimal point. */
static char *
format_shortest (double   value,
                 gboolean single)
{
  static const char * const double_formats[] = { "%.15g", "%.16g", "%.17g" };
  static const char * const float_formats[] = { "%.6g", "%.7g", "%.8g", "%.9g" };
  const char * const *formats = single ? float_formats : double_formats;
  guint n = single ? G_N_ELEMENTS (float_formats) : G_N_ELEMENTS (double_formats);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < n; i++)
    {
      double back;

      g_ascii_formatd (buf, sizeof buf, formats[i], value);
      back = g_ascii_strtod (buf, NULL);
      if (single ? (float) back == (float) value : back == value)
        break;
    }
  return g_strdup (buf);
}

/* Proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's
 * civil_from_days): exact for any day count an int64 of microseconds can
 * hold, where GDate stops at year 1 and wraps after year 65535. */
static void
civil_from_days (gint64  days,
                 gint64 *year,
                 int    *month,
                 int    *day)
{
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;

  *day = (int) (doy - (153 * mp + 2) / 5 + 1);
  *month = (int) (mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

/* ISO 8601 YYYY-MM-DD; outside 0000..9999, a sign or more digits. */
static void
append_date (GString *s,
             gint64   days)
{
  gint64 year;
  int month, day;

  civil_from_days (days, &year, &month, &day);
  if (year < 0)
    g_string_append_printf (s, "-%04" G_GINT64_FORMAT, -year);
  else
    g_string_append_printf (s, "%04" G_GINT64_FORMAT, year);
  g_string_append_printf (s, "-%02d-%02d", month, day);
}

/* HH:MM:SS[.ffffff] for 0 <= us < one day. */
static void
append_time (GString *s,
             gint64   us)
{
  gint64 secs = us / G_USEC_PER_SEC;
  int frac = (int) (us % G_USEC_PER_SEC);

  g_string_append_printf (s, "%02d:%02d:%02d",
                          (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
  if (frac)
    g_string_append_printf (s, ".%06d", frac);
}

char *
orr_batch_format_value (OrrBatch *self,
                        guint     column,
                        guint     row)
{
  OrrColumn col;
  const OrrField *field;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (row < self->n_rows, NULL);

  orr_batch_get_column (self, column, &col);
  field = orr_schema_get_field (self->schema, column);
  if (orr_column_is_null (&col, row))
    return NULL;

  switch (col.type)
    {
    case ORR_DATA_TYPE_BOOL:
      return g_strdup (col.values[row] ? "true" : "false");
    case ORR_DATA_TYPE_INT16:
      return g_strdup_printf ("%d", ((const gint16 *) col.values)[row]);
    case ORR_DATA_TYPE_INT32:
      return g_strdup_printf ("%d", ((const gint32 *) col.values)[row]);
    case ORR_DATA_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, ((const gint64 *) col.values)[row]);
    case ORR_DATA_TYPE_FLOAT32:
      return format_shortest (((const float *) col.values)[row], TRUE);
    case ORR_DATA_TYPE_FLOAT64:
      return format_shortest (((const double *) col.values)[row], FALSE);
    case ORR_DATA_TYPE_DECIMAL:
      return format_decimal (((const gint64 *) col.values)[row], field->scale);
    case ORR_DATA_TYPE_TEXT:
      {
        const gint32 *off = (const gint32 *) col.values;
        return g_strndup ((const char *) col.data + off[row], off[row + 1] - off[row]);
      }
    case ORR_DATA_TYPE_BINARY:
      {
        const gint32 *off = (const gint32 *) col.values;
        GString *s = g_string_new ("\\x");
        for (gint32 i = off[row]; i < off[row + 1]; i++)
          g_string_append_printf (s, "%02x", col.data[i]);
        return g_string_free (s, FALSE);
      }
    case ORR_DATA_TYPE_DATE:
      {
        GString *s = g_string_new (NULL);

        append_date (s, ((const gint32 *) col.values)[row]);
        return g_string_free (s, FALSE);
      }
    case ORR_DATA_TYPE_TIME:
      {
        const gint64 day = G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC;
        gint64 us = ((const gint64 *) col.values)[row];
        GString *s = g_string_new (NULL);

        /* Not a time of day (a peer can send any int64): say so. */
        if (us < 0 || us >= day)
          g_string_append_printf (s, "%" G_GINT64_FORMAT " µs", us);
        else
          append_time (s, us);
        return g_string_free (s, FALSE);
      }
    case ORR_DATA_TYPE_TIMESTAMP:
      {
        const gint64 day = G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC;
        gint64 us = ((const gint64 *) col.values)[row];
        gint64 days = us / day, rest = us % day;   /* floor division without negating */
        GString *s = g_string_new (NULL);

        if (rest < 0)
          {
            rest += day;
            days--;
          }
        append_date (s, days);
        g_string_append_c (s, ' ');
        append_time (s, rest);
        return g_string_free (s, FALSE);
      }
    case ORR_DATA_TYPE_INVALID:
    default:
      return g_strdup ("?");
    }
}
