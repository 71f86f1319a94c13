/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-application.h"

G_BEGIN_DECLS

#define ORR_TYPE_WINDOW (orr_window_get_type ())
G_DECLARE_FINAL_TYPE (OrrWindow, orr_window, ORR, WINDOW, GtkApplicationWindow)

OrrWindow *orr_window_new (OrrApplication *application);

G_END_DECLS
