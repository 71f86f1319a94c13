/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-monitor.h"

G_BEGIN_DECLS

/**
 * OrrPoolsPage:
 * The database's external resource pools: create, change and drop them,
 * their members and assigning principals (administrators only), and each
 * pool's live use on this host against its limits (headroom bars, queued
 * jobs, CPU and memory graphs) from the monitor.
 */
#define ORR_TYPE_POOLS_PAGE (orr_pools_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrPoolsPage, orr_pools_page, ORR, POOLS_PAGE, GtkBox)

void     orr_pools_page_set_monitor (OrrPoolsPage    *self,
                                     OrrMonitor      *monitor);
gboolean orr_pools_page_is_busy     (OrrPoolsPage    *self);
/* What the dialog and buttons do, without them (for tests). */
void     orr_pools_page_create_pool (OrrPoolsPage    *self,
                                     const OrrLimits *limits);
void     orr_pools_page_drop_pool   (OrrPoolsPage    *self,
                                     const char      *name);
void     orr_pools_page_assign      (OrrPoolsPage    *self,
                                     const char      *principal,
                                     const char      *pool);
gboolean orr_pools_page_select_pool (OrrPoolsPage    *self,
                                     const char      *name);

G_END_DECLS
