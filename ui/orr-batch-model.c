/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-batch-model"

#include "config.h"

#include "orr-batch-model.h"

struct _OrrBatchModel
{
  GObject    parent_instance;

  OrrSchema *schema;
  /* Only the batches that have rows. */
  GPtrArray *batches;
  /* starts[i] is the model row of batches[i]'s first row; starts[n] the total. */
  guint     *starts;
  guint      n_rows;
  int        stamp;
  /* The batch of the last lookup: a view asks for neighbouring rows. */
  guint      last_batch;
};

static void orr_batch_model_tree_model_init (GtkTreeModelIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OrrBatchModel, orr_batch_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_TREE_MODEL,
                                                      orr_batch_model_tree_model_init))

static void
orr_batch_model_finalize (GObject *object)
{
  OrrBatchModel *self = ORR_BATCH_MODEL (object);

  g_clear_pointer (&self->schema, orr_schema_unref);
  g_clear_pointer (&self->batches, g_ptr_array_unref);
  g_clear_pointer (&self->starts, g_free);

  G_OBJECT_CLASS (orr_batch_model_parent_class)->finalize (object);
}

static void
orr_batch_model_class_init (OrrBatchModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_batch_model_finalize;
}

static void
orr_batch_model_init (OrrBatchModel *self)
{
  self->stamp = g_random_int ();
}

gboolean
orr_batch_model_locate (OrrBatchModel  *self,
                        guint           row,
                        OrrBatch      **batch,
                        guint          *batch_row)
{
  guint lo;
  guint hi;
  guint b = self->last_batch;

  if (row >= self->n_rows)
    return FALSE;

  if (!(self->starts[b] <= row && row < self->starts[b + 1]))
    {
      /* The last batch whose start is at or before @row. */
      lo = 0;
      hi = self->batches->len;
      while (hi - lo > 1)
        {
          guint mid = lo + (hi - lo) / 2;

          if (self->starts[mid] <= row)
            lo = mid;
          else
            hi = mid;
        }
      b = lo;
      self->last_batch = b;
    }

  *batch = g_ptr_array_index (self->batches, b);
  *batch_row = row - self->starts[b];
  return TRUE;
}

/* ------------------------------------------------------- GtkTreeModel */

static inline guint
iter_row (GtkTreeIter *iter)
{
  return GPOINTER_TO_UINT (iter->user_data);
}

static inline gboolean
set_iter (OrrBatchModel *self,
          GtkTreeIter   *iter,
          guint64        row)
{
  if (row >= self->n_rows)
    {
      iter->stamp = 0;
      return FALSE;
    }
  iter->stamp = self->stamp;
  iter->user_data = GUINT_TO_POINTER ((guint) row);
  iter->user_data2 = NULL;
  iter->user_data3 = NULL;
  return TRUE;
}

static GtkTreeModelFlags
model_get_flags (GtkTreeModel *model)
{
  return GTK_TREE_MODEL_LIST_ONLY | GTK_TREE_MODEL_ITERS_PERSIST;
}

static int
model_get_n_columns (GtkTreeModel *model)
{
  OrrBatchModel *self = ORR_BATCH_MODEL (model);

  return self->schema != NULL ? (int) orr_schema_get_n_fields (self->schema) : 0;
}

static GType
model_get_column_type (GtkTreeModel *model,
                       int           column)
{
  return G_TYPE_STRING;
}

static gboolean
model_get_iter (GtkTreeModel *model,
                GtkTreeIter  *iter,
                GtkTreePath  *path)
{
  OrrBatchModel *self = ORR_BATCH_MODEL (model);
  int depth;
  int *indices = gtk_tree_path_get_indices_with_depth (path, &depth);

  if (depth != 1 || indices[0] < 0)
    return set_iter (self, iter, G_MAXUINT64);
  return set_iter (self, iter, indices[0]);
}

static GtkTreePath *
model_get_path (GtkTreeModel *model,
                GtkTreeIter  *iter)
{
  g_return_val_if_fail (iter->stamp == ORR_BATCH_MODEL (model)->stamp, NULL);

  return gtk_tree_path_new_from_indices ((int) iter_row (iter), -1);
}

static void
model_get_value (GtkTreeModel *model,
                 GtkTreeIter  *iter,
                 int           column,
                 GValue       *value)
{
  OrrBatchModel *self = ORR_BATCH_MODEL (model);
  OrrBatch *batch;
  guint row;

  g_value_init (value, G_TYPE_STRING);
  g_return_if_fail (iter->stamp == self->stamp);
  g_return_if_fail (column >= 0 && column < model_get_n_columns (model));

  if (orr_batch_model_locate (self, iter_row (iter), &batch, &row))
    g_value_take_string (value, orr_batch_format_value (batch, column, row));
}

static gboolean
model_iter_next (GtkTreeModel *model,
                 GtkTreeIter  *iter)
{
  return set_iter (ORR_BATCH_MODEL (model), iter, (guint64) iter_row (iter) + 1);
}

static gboolean
model_iter_previous (GtkTreeModel *model,
                     GtkTreeIter  *iter)
{
  if (iter_row (iter) == 0)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (ORR_BATCH_MODEL (model), iter, iter_row (iter) - 1);
}

static gboolean
model_iter_children (GtkTreeModel *model,
                     GtkTreeIter  *iter,
                     GtkTreeIter  *parent)
{
  if (parent != NULL)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (ORR_BATCH_MODEL (model), iter, 0);
}

static gboolean
model_iter_has_child (GtkTreeModel *model,
                      GtkTreeIter  *iter)
{
  return FALSE;
}

static int
model_iter_n_children (GtkTreeModel *model,
                       GtkTreeIter  *iter)
{
  if (iter != NULL)
    return 0;
  return (int) ORR_BATCH_MODEL (model)->n_rows;
}

static gboolean
model_iter_nth_child (GtkTreeModel *model,
                      GtkTreeIter  *iter,
                      GtkTreeIter  *parent,
                      int           n)
{
  if (parent != NULL || n < 0)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (ORR_BATCH_MODEL (model), iter, n);
}

static gboolean
model_iter_parent (GtkTreeModel *model,
                   GtkTreeIter  *iter,
                   GtkTreeIter  *child)
{
  iter->stamp = 0;
  return FALSE;
}

static void
orr_batch_model_tree_model_init (GtkTreeModelIface *iface)
{
  iface->get_flags = model_get_flags;
  iface->get_n_columns = model_get_n_columns;
  iface->get_column_type = model_get_column_type;
  iface->get_iter = model_get_iter;
  iface->get_path = model_get_path;
  iface->get_value = model_get_value;
  iface->iter_next = model_iter_next;
  iface->iter_previous = model_iter_previous;
  iface->iter_children = model_iter_children;
  iface->iter_has_child = model_iter_has_child;
  iface->iter_n_children = model_iter_n_children;
  iface->iter_nth_child = model_iter_nth_child;
  iface->iter_parent = model_iter_parent;
}

/* ------------------------------------------------------------- public */

OrrBatchModel *
orr_batch_model_new (OrrSchema *schema,
                     GPtrArray *batches)
{
  OrrBatchModel *self;
  guint64 total = 0;
  guint i;

  g_return_val_if_fail (schema != NULL, NULL);

  self = g_object_new (ORR_TYPE_BATCH_MODEL, NULL);
  self->schema = orr_schema_ref (schema);
  self->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  self->starts = g_new (guint, (batches != NULL ? batches->len : 0) + 1);

  for (i = 0; batches != NULL && i < batches->len; i++)
    {
      OrrBatch *batch = g_ptr_array_index (batches, i);
      guint n = orr_batch_get_n_rows (batch);

      /* GtkTreeView counts rows in an int. */
      if (n == 0 || total + n > G_MAXINT)
        continue;
      self->starts[self->batches->len] = (guint) total;
      g_ptr_array_add (self->batches, orr_batch_ref (batch));
      total += n;
    }
  self->starts[self->batches->len] = (guint) total;
  self->n_rows = (guint) total;
  return self;
}

OrrSchema *
orr_batch_model_get_schema (OrrBatchModel *self)
{
  g_return_val_if_fail (ORR_IS_BATCH_MODEL (self), NULL);

  return self->schema;
}

GPtrArray *
orr_batch_model_get_batches (OrrBatchModel *self)
{
  g_return_val_if_fail (ORR_IS_BATCH_MODEL (self), NULL);

  return self->batches;
}

guint
orr_batch_model_get_n_rows (OrrBatchModel *self)
{
  g_return_val_if_fail (ORR_IS_BATCH_MODEL (self), 0);

  return self->n_rows;
}
