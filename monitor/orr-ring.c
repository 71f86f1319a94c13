/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-ring"

#include "config.h"

#include <string.h>

#include "orr-ring.h"

struct _OrrRing {
  guint8 *data;
  gsize element_size;
  guint capacity;
  guint start;       /* index of the oldest element */
  guint length;
  guint64 n_pushed;
};

OrrRing *
orr_ring_new (gsize element_size,
              guint capacity)
{
  OrrRing *self;

  g_return_val_if_fail (element_size > 0 && capacity > 0, NULL);
  self = g_new0 (OrrRing, 1);
  self->element_size = element_size;
  self->capacity = capacity;
  self->data = g_malloc0_n (capacity, element_size);
  return self;
}

void
orr_ring_free (OrrRing *self)
{
  if (self == NULL)
    return;
  g_free (self->data);
  g_free (self);
}

gpointer
orr_ring_push (OrrRing *self)
{
  guint slot;
  gpointer p;

  if (self->length < self->capacity)
    slot = (self->start + self->length++) % self->capacity;
  else
    {
      slot = self->start;
      self->start = (self->start + 1) % self->capacity;
    }
  self->n_pushed++;
  p = self->data + (gsize) slot * self->element_size;
  memset (p, 0, self->element_size);
  return p;
}

guint
orr_ring_get_length (const OrrRing *self)
{
  return self->length;
}

guint
orr_ring_get_capacity (const OrrRing *self)
{
  return self->capacity;
}

guint64
orr_ring_get_n_pushed (const OrrRing *self)
{
  return self->n_pushed;
}

gconstpointer
orr_ring_get (const OrrRing *self,
              guint          index)
{
  if (index >= self->length)
    return NULL;
  return self->data + (gsize) ((self->start + index) % self->capacity) * self->element_size;
}

gconstpointer
orr_ring_get_last (const OrrRing *self)
{
  return self->length ? orr_ring_get (self, self->length - 1) : NULL;
}

void
orr_ring_clear (OrrRing *self)
{
  self->start = 0;
  self->length = 0;
}
