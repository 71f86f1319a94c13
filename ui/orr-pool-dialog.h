/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-limits.h"

G_BEGIN_DECLS

/**
 * OrrPoolDialog:
 * Asks for a resource pool's limits: to create one (@limits NULL) or to
 * alter one (its name then fixed). Responds GTK_RESPONSE_OK with limits
 * that check (a CPU list that parses, a name).
 */
#define ORR_TYPE_POOL_DIALOG (orr_pool_dialog_get_type ())
G_DECLARE_FINAL_TYPE (OrrPoolDialog, orr_pool_dialog, ORR, POOL_DIALOG, GtkDialog)

OrrPoolDialog *orr_pool_dialog_new        (GtkWindow       *parent,
                                           const OrrLimits *limits);
/* The limits as entered; 0/NULL fields mean "no limit". */
OrrLimits     *orr_pool_dialog_dup_limits (OrrPoolDialog   *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
