/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-limits"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "orr-error.h"
#include "orr-limits.h"

#define MAX_CPU 4095

OrrLimits *
orr_limits_new (const char *pool)
{
  OrrLimits *limits = g_new0 (OrrLimits, 1);

  limits->pool = g_strdup (pool ? pool : "default");
  return limits;
}

OrrLimits *
orr_limits_copy (const OrrLimits *limits)
{
  OrrLimits *copy = g_memdup2 (limits, sizeof *limits);

  copy->pool = g_strdup (limits->pool);
  copy->cpus = g_strdup (limits->cpus);
  return copy;
}

void
orr_limits_free (OrrLimits *limits)
{
  if (limits == NULL)
    return;
  g_free (limits->pool);
  g_free (limits->cpus);
  g_free (limits);
}

static gboolean
parse_cpu (const char *s, const char **end, guint *cpu)
{
  char *e = NULL;
  guint64 v;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  v = g_ascii_strtoull (s, &e, 10);
  if (v > MAX_CPU)
    return FALSE;
  *cpu = v;
  *end = e;
  return TRUE;
}

gboolean
orr_cpu_list_parse (const char  *text,
                    GArray     **cpus_out,
                    GError     **error)
{
  g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) parts = NULL;

  if (text == NULL || *text == '\0')
    goto bad;
  parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++)
    {
      const char *p = g_strstrip (parts[i]);
      guint first, last;

      if (!parse_cpu (p, &p, &first))
        goto bad;
      last = first;
      if (*p == '-')
        {
          if (!parse_cpu (p + 1, &p, &last) || last < first)
            goto bad;
        }
      if (*p != '\0')
        goto bad;
      for (guint c = first; c <= last; c++)
        g_array_append_val (cpus, c);
    }
  if (cpus_out)
    *cpus_out = g_steal_pointer (&cpus);
  return TRUE;

bad:
  g_set_error (error, ORR_ERROR, ORR_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a CPU list (expected numbers and ranges such as 0-3,6)"), text ? text : "");
  return FALSE;
}
