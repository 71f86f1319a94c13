/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "orr-types.h"

G_BEGIN_DECLS

/* --- OrrSchema: the names and types of a result's columns ------------- */

typedef struct {
  char        *name;
  OrrDataType  type;
  int          precision;  /* DECIMAL only, else 0 */
  int          scale;      /* DECIMAL only, else 0 */
} OrrField;

typedef struct _OrrSchema OrrSchema;

#define ORR_TYPE_SCHEMA (orr_schema_get_type ())
GType           orr_schema_get_type    (void) G_GNUC_CONST;
OrrSchema      *orr_schema_new         (void);
OrrSchema      *orr_schema_ref         (OrrSchema *self);
void            orr_schema_unref       (OrrSchema *self);
void            orr_schema_add_field   (OrrSchema   *self,
                                        const char  *name,
                                        OrrDataType  type,
                                        int          precision,
                                        int          scale);
guint           orr_schema_get_n_fields (const OrrSchema *self);
const OrrField *orr_schema_get_field   (const OrrSchema *self,
                                        guint            index);
gboolean        orr_schema_equal       (const OrrSchema *a,
                                        const OrrSchema *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrSchema, orr_schema_unref)

/* --- OrrColumn: one column of a batch, Arrow layout ------------------- */

/**
 * OrrColumn:
 * A view of one column's buffers. The pointers borrow from the batch and stay
 * valid while the batch lives and no more variable-length data is appended to
 * it (appending may move the batch's memory).
 */
typedef struct {
  OrrDataType  type;
  guint        n_rows;
  gint64       null_count;
  const guint8 *validity;   /* NULL when the column has no NULL */
  const guint8 *values;     /* n_rows × width, or n_rows+1 int32 offsets */
  const guint8 *data;       /* TEXT/BINARY bytes, else NULL */
  gsize        data_len;
} OrrColumn;

static inline gboolean
orr_column_is_null (const OrrColumn *col, guint row)
{
  return col->validity != NULL && (col->validity[row >> 3] & (1u << (row & 7))) == 0;
}

/* --- OrrBatch: a run of rows, all columns, in one block of memory ----- */

typedef struct _OrrBatch OrrBatch;

#define ORR_TYPE_BATCH (orr_batch_get_type ())
GType       orr_batch_get_type     (void) G_GNUC_CONST;

/* A writable batch with room for @capacity rows. When @shared, its memory is
 * a memfd that can be sealed and passed to another process without copying. */
OrrBatch   *orr_batch_new          (OrrSchema *schema,
                                    guint      capacity,
                                    gboolean   shared,
                                    GError   **error);
OrrBatch   *orr_batch_ref          (OrrBatch *self);
void        orr_batch_unref        (OrrBatch *self);

OrrSchema  *orr_batch_get_schema   (OrrBatch *self);
guint       orr_batch_get_n_rows   (OrrBatch *self);
guint       orr_batch_get_capacity (OrrBatch *self);
guint       orr_batch_get_n_columns (OrrBatch *self);
void        orr_batch_get_column   (OrrBatch  *self,
                                    guint      index,
                                    OrrColumn *out);

/* Building (only on a writable batch). */
void        orr_batch_set_n_rows   (OrrBatch *self,
                                    guint     n_rows);
guint8     *orr_batch_get_values_mut (OrrBatch *self,
                                      guint     index);
/* Marks @row of column @index NULL or not. The bitmap starts all valid. */
void        orr_batch_set_null     (OrrBatch *self,
                                    guint     index,
                                    guint     row,
                                    gboolean  is_null);
/* Appends variable-length bytes to column @index's data buffer and returns
 * the new end offset. May move the batch's memory. */
gboolean    orr_batch_append_data  (OrrBatch   *self,
                                    guint       index,
                                    const void *bytes,
                                    gsize       len,
                                    GError    **error);
/* Reserves @len more bytes of data for column @index and returns where to
 * write them; commit with orr_batch_commit_data(). */
guint8     *orr_batch_reserve_data (OrrBatch *self,
                                    guint     index,
                                    gsize     len,
                                    GError  **error);
void        orr_batch_commit_data  (OrrBatch *self,
                                    guint     index,
                                    gsize     len);
gsize       orr_batch_get_data_len (OrrBatch *self,
                                    guint     index);

/* Bytes of memory the batch occupies. */
gsize       orr_batch_get_size     (OrrBatch *self);

/* One value as text, for display (CSV, tables). NULL for SQL NULL. */
char       *orr_batch_format_value (OrrBatch *self,
                                    guint     column,
                                    guint     row) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrBatch, orr_batch_unref)

G_END_DECLS
