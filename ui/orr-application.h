/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-engine.h"

G_BEGIN_DECLS

#define ORR_APPLICATION_ID "org.orrery.Console"

#define ORR_TYPE_APPLICATION (orr_application_get_type ())
G_DECLARE_FINAL_TYPE (OrrApplication, orr_application, ORR, APPLICATION, GtkApplication)

OrrApplication *orr_application_new        (void);
OrrEngine      *orr_application_get_engine (OrrApplication *self);

G_END_DECLS
