/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "orr-batch.h"

G_BEGIN_DECLS

/* Where one column's buffers sit inside a batch's memory, as the wire carries it. */
typedef struct {
  guint64 validity_off;
  guint64 validity_len;   /* 0: no NULL in the column */
  guint64 values_off;
  guint64 values_len;
  guint64 data_off;
  guint64 data_len;
} OrrBufferDesc;

/* Seals a shared batch (no more writes by anyone) and describes it for the
 * wire. The batch stays readable; @fd_out is borrowed from it. */
gboolean  _orr_batch_seal          (OrrBatch       *self,
                                    int            *fd_out,
                                    guint64        *size_out,
                                    OrrBufferDesc **descs_out,
                                    GError        **error);

/* Maps a sealed memfd received from another process, after checking every
 * offset, length, UTF-8 sequence and seal: the peer is not trusted.
 * On success the batch owns @fd; on failure @fd is closed. */
OrrBatch *_orr_batch_new_from_fd   (OrrSchema           *schema,
                                    int                  fd,
                                    guint64              size,
                                    guint                n_rows,
                                    const OrrBufferDesc *descs,
                                    gboolean             require_seals,
                                    GError             **error);

G_END_DECLS
