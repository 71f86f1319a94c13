/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery-console"

#include "config.h"

#include "orr-application.h"
#include "orr-ui-util.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OrrApplication) app = NULL;

  orr_ui_init_i18n ();

  app = orr_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
