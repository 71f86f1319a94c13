/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-error"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "orr-error.h"

G_DEFINE_QUARK (orr-error-quark, orr_error)

const char *
orr_i18n_get_localedir (void)
{
  const char *dir = g_getenv ("ORRERY_LOCALEDIR");

  return dir != NULL && *dir != '\0' ? dir : LOCALEDIR;
}

void
orr_i18n_init (int category)
{
  const char *locale = setlocale (category, "");
  const char *language = g_getenv ("LANGUAGE");

  /* glibc ignores LANGUAGE in the C locale: on a host without the user's
   * locale, `LANGUAGE=fr orrery …` would stay in English. C.UTF-8 is not
   * "C" to gettext, and otherwise behaves as C. */
  if (language != NULL && *language != '\0' &&
      (locale == NULL || g_str_equal (locale, "C") || g_str_equal (locale, "POSIX")))
    setlocale (category, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, orr_i18n_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}
