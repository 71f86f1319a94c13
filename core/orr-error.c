/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-error"

#include "config.h"

#include "orr-error.h"

G_DEFINE_QUARK (orr-error-quark, orr_error)
