/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A running-job slot of a resource pool, shared by every Orrery process on
 * the host: slot files under a directory of the pool, held with flock(), so
 * a crashed holder frees its slot with its last descriptor. */
typedef struct _OrrPoolSlot OrrPoolSlot;

/* Waits (up to @timeout_ms, polling; @cancellable stops it) for one of the
 * @max slots of @pool in @scope (the database's identity). */
OrrPoolSlot *orr_pool_slot_acquire (const char    *scope,
                                    const char    *pool,
                                    guint          max,
                                    guint          timeout_ms,
                                    GCancellable  *cancellable,
                                    GError       **error);
void         orr_pool_slot_release (OrrPoolSlot *slot);
/* Jobs holding a slot of that pool right now. */
guint        orr_pool_slot_count_busy (const char *scope,
                                       const char *pool,
                                       guint       max);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OrrPoolSlot, orr_pool_slot_release)

G_END_DECLS
