/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-batch.h"

G_BEGIN_DECLS

/**
 * OrrBatchModel:
 * A list-only GtkTreeModel over a result's column batches, without copying
 * them: an iter is a row index, and a cell's text is made by
 * orr_batch_format_value() when the view asks for it. Every column has type
 * G_TYPE_STRING; SQL NULL reads as a NULL string. Creating one costs a pass
 * over the batches, not over the rows.
 */
#define ORR_TYPE_BATCH_MODEL (orr_batch_model_get_type ())
G_DECLARE_FINAL_TYPE (OrrBatchModel, orr_batch_model, ORR, BATCH_MODEL, GObject)

/* @batches: OrrBatch, all of @schema; referenced, not copied. */
OrrBatchModel *orr_batch_model_new        (OrrSchema *schema,
                                           GPtrArray *batches);
OrrSchema     *orr_batch_model_get_schema (OrrBatchModel *self);
GPtrArray     *orr_batch_model_get_batches (OrrBatchModel *self);
guint          orr_batch_model_get_n_rows (OrrBatchModel *self);
/* The batch holding @row and the row's index in it; FALSE past the end. */
gboolean       orr_batch_model_locate     (OrrBatchModel  *self,
                                           guint           row,
                                           OrrBatch      **batch,
                                           guint          *batch_row);

G_END_DECLS
