/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-monitor-pool"

#include "config.h"

#include "orr-monitor-private.h"

G_DEFINE_FINAL_TYPE (OrrMonitorPool, orr_monitor_pool, G_TYPE_OBJECT)

static void
orr_monitor_pool_finalize (GObject *object)
{
  OrrMonitorPool *self = ORR_MONITOR_POOL (object);

  g_free (self->name);
  g_clear_pointer (&self->limits, orr_limits_free);
  g_clear_pointer (&self->samples, orr_ring_free);

  G_OBJECT_CLASS (orr_monitor_pool_parent_class)->finalize (object);
}

static void
orr_monitor_pool_class_init (OrrMonitorPoolClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = orr_monitor_pool_finalize;
}

static void
orr_monitor_pool_init (OrrMonitorPool *self)
{
  self->cpu_percent = -1;
}

OrrMonitorPool *
_orr_monitor_pool_new (const char *name,
                       guint       capacity)
{
  OrrMonitorPool *self = g_object_new (ORR_TYPE_MONITOR_POOL, NULL);

  self->name = g_strdup (name);
  self->samples = orr_ring_new (sizeof (OrrPoolSample), capacity);
  return self;
}

const char *
orr_monitor_pool_get_name (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), NULL);
  return self->name;
}

const OrrLimits *
orr_monitor_pool_get_limits (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), NULL);
  return self->limits;
}

void
orr_monitor_pool_set_limits (OrrMonitorPool  *self,
                             const OrrLimits *limits)
{
  g_return_if_fail (ORR_IS_MONITOR_POOL (self));
  g_clear_pointer (&self->limits, orr_limits_free);
  self->limits = limits ? orr_limits_copy (limits) : NULL;
}

guint
orr_monitor_pool_get_running (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->running;
}

guint
orr_monitor_pool_get_queued (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->queued;
}

double
orr_monitor_pool_get_cpu_percent (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), -1);
  return self->cpu_percent;
}

gint64
orr_monitor_pool_get_memory_bytes (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->memory_bytes;
}

double
orr_monitor_pool_get_cpu_limit_percent (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  if (self->limits == NULL || self->limits->max_cpu_percent == 0)
    return 0;
  return self->limits->max_cpu_percent * (double) g_get_num_processors ();
}

gint64
orr_monitor_pool_get_cpu_time_ns (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->cpu_time_ns;
}

gint64
orr_monitor_pool_get_peak_memory (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->peak_memory;
}

gint64
orr_monitor_pool_get_read_bytes (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->read_bytes;
}

gint64
orr_monitor_pool_get_written_bytes (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->written_bytes;
}

guint
orr_monitor_pool_get_n_jobs_seen (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return self->n_jobs_seen;
}

guint
orr_monitor_pool_get_n_samples (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), 0);
  return orr_ring_get_length (self->samples);
}

const OrrPoolSample *
orr_monitor_pool_get_sample (OrrMonitorPool *self,
                             guint           index)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), NULL);
  return orr_ring_get (self->samples, index);
}

const OrrPoolSample *
orr_monitor_pool_get_last_sample (OrrMonitorPool *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_POOL (self), NULL);
  return orr_ring_get_last (self->samples);
}
