/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-pool-slot"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-pool-slot.h"

#define POLL_MS 25

struct _OrrPoolSlot {
  int fd;
};

static char *
pool_dir (const char *scope, const char *pool, GError **error)
{
  g_autofree char *root = g_build_filename (g_get_tmp_dir (), "orrery-pools", NULL);
  g_autofree char *key = g_strdup_printf ("%s\n%s", scope, pool);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  g_autofree char *dir = NULL;

  /* Shared by every user of the host, like /tmp itself: sticky and open. */
  if (g_mkdir (root, 01777) == 0)
    chmod (root, 01777);
  else if (errno != EEXIST)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot create “%s”: %s"), root, g_strerror (errsv));
      return NULL;
    }
  hash[24] = '\0';
  dir = g_build_filename (root, hash, NULL);
  if (g_mkdir (dir, 0777) == 0)
    chmod (dir, 0777);
  else if (errno != EEXIST)
    {
      int errsv = errno;
      g_set_error (error, ORR_ERROR, ORR_ERROR_FAILED, _("Cannot create “%s”: %s"), dir, g_strerror (errsv));
      return NULL;
    }
  return g_steal_pointer (&dir);
}

static int
try_slot (const char *dir, guint index)
{
  g_autofree char *name = g_strdup_printf ("slot-%u", index);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);

  if (fd < 0)
    return -1;
  fchmod (fd, 0666);
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

OrrPoolSlot *
orr_pool_slot_acquire (const char    *scope,
                       const char    *pool,
                       guint          max,
                       guint          timeout_ms,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autofree char *dir = NULL;
  gint64 deadline;
  OrrPoolSlot *slot;

  g_return_val_if_fail (scope != NULL && pool != NULL && max > 0, NULL);

  dir = pool_dir (scope, pool, error);
  if (dir == NULL)
    return NULL;
  deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  for (;;)
    {
      for (guint i = 0; i < max; i++)
        {
          int fd = try_slot (dir, i);

          if (fd >= 0)
            {
              slot = g_new0 (OrrPoolSlot, 1);
              slot->fd = fd;
              return slot;
            }
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, ORR_ERROR, ORR_ERROR_QUEUE_TIMEOUT,
                       _("The resource pool “%s” is running its maximum of %u processes; "
                         "the job waited %g s in the queue and gave up"), pool, max, timeout_ms / 1000.0);
          return NULL;
        }
      g_usleep (POLL_MS * 1000);
    }
}

void
orr_pool_slot_release (OrrPoolSlot *slot)
{
  if (slot == NULL)
    return;
  if (slot->fd >= 0)
    close (slot->fd);
  g_free (slot);
}

guint
orr_pool_slot_count_busy (const char *scope,
                          const char *pool,
                          guint       max)
{
  g_autofree char *dir = pool_dir (scope, pool, NULL);
  guint busy = 0;

  if (dir == NULL)
    return 0;
  for (guint i = 0; i < max; i++)
    {
      int fd = try_slot (dir, i);

      if (fd < 0)
        busy++;
      else
        close (fd);
    }
  return busy;
}
