/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * OrrRing:
 * A bounded time series: a ring of fixed-size elements. Once full, each
 * push overwrites the oldest element, so memory stays at @capacity elements
 * however long a job runs. Not thread-safe.
 */
typedef struct _OrrRing OrrRing;

OrrRing      *orr_ring_new          (gsize    element_size,
                                     guint    capacity);
void          orr_ring_free         (OrrRing *self);
/* The slot of a new newest element, zeroed; overwrites the oldest when full. */
gpointer      orr_ring_push         (OrrRing *self);
guint         orr_ring_get_length   (const OrrRing *self);
guint         orr_ring_get_capacity (const OrrRing *self);
/* Elements pushed since the ring was made (including overwritten ones). */
guint64       orr_ring_get_n_pushed (const OrrRing *self);
/* @index 0 is the oldest element kept; NULL past the end. */
gconstpointer orr_ring_get          (const OrrRing *self,
                                     guint          index);
/* The newest element, NULL when empty. */
gconstpointer orr_ring_get_last     (const OrrRing *self);
void          orr_ring_clear        (OrrRing *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrRing, orr_ring_free)

G_END_DECLS
