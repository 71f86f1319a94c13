/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "orr-export.h"

G_BEGIN_DECLS

/**
 * OrrScriptPage:
 * Where scripts run: a Python editor, the input query, parameters, input
 * and output names; Run and Cancel; the result grid (a virtual model over
 * the result's batches), the script's messages with links to the lines its
 * errors name, and the run history with each run's resources. The window
 * routes its run/cancel/open/save/export actions here.
 */
#define ORR_TYPE_SCRIPT_PAGE (orr_script_page_get_type ())
G_DECLARE_FINAL_TYPE (OrrScriptPage, orr_script_page, ORR, SCRIPT_PAGE, GtkBox)

gboolean orr_script_page_is_running     (OrrScriptPage *self);
gboolean orr_script_page_has_results    (OrrScriptPage *self);
gboolean orr_script_page_is_busy        (OrrScriptPage *self);
void     orr_script_page_run            (OrrScriptPage *self);
void     orr_script_page_cancel         (OrrScriptPage *self);
void     orr_script_page_open           (OrrScriptPage *self);
void     orr_script_page_save           (OrrScriptPage *self,
                                         gboolean       save_as);
void     orr_script_page_export         (OrrScriptPage *self);
/* Writes the current result to @file without asking (the dialog's second half). */
void     orr_script_page_export_to_file (OrrScriptPage   *self,
                                         GFile           *file,
                                         OrrExportFormat  format);
/* Shows @model in the grid as a run's result would be (for tests). */
void     orr_script_page_show_model     (OrrScriptPage *self,
                                         GtkTreeModel  *model);

G_END_DECLS
