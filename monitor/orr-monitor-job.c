/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-monitor-job"

#include "config.h"

#include "orr-monitor-private.h"

G_DEFINE_FINAL_TYPE (OrrMonitorJob, orr_monitor_job, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KEY,
  PROP_STATE,
  PROP_FINISHED,
  PROP_LOST,
  PROP_PRINCIPAL,
  PROP_POOL,
  PROP_ROWS_IN,
  PROP_ROWS_OUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
orr_monitor_job_finalize (GObject *object)
{
  OrrMonitorJob *self = ORR_MONITOR_JOB (object);

  g_free (self->key);
  g_clear_pointer (&self->record, orr_registry_record_free);
  g_clear_pointer (&self->probe, orr_probe_free);
  g_clear_pointer (&self->samples, orr_ring_free);
  g_free (self->counted_pool);

  G_OBJECT_CLASS (orr_monitor_job_parent_class)->finalize (object);
}

static void
orr_monitor_job_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  OrrMonitorJob *self = ORR_MONITOR_JOB (object);

  switch (prop_id)
    {
    case PROP_KEY: g_value_set_string (value, self->key); break;
    case PROP_STATE: g_value_set_uint (value, self->record->state); break;
    case PROP_FINISHED: g_value_set_boolean (value, self->finished); break;
    case PROP_LOST: g_value_set_boolean (value, self->lost); break;
    case PROP_PRINCIPAL: g_value_set_string (value, self->record->principal); break;
    case PROP_POOL: g_value_set_string (value, orr_monitor_job_get_pool (self)); break;
    case PROP_ROWS_IN: g_value_set_uint64 (value, self->record->rows_in); break;
    case PROP_ROWS_OUT: g_value_set_uint64 (value, self->record->rows_out); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
orr_monitor_job_class_init (OrrMonitorJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = orr_monitor_job_finalize;
  object_class->get_property = orr_monitor_job_get_property;

  properties[PROP_KEY] = g_param_spec_string ("key", NULL, NULL, NULL,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] = g_param_spec_uint ("state", NULL, NULL, 0, ORR_JOB_CANCELLED, 0,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FINISHED] = g_param_spec_boolean ("finished", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOST] = g_param_spec_boolean ("lost", NULL, NULL, FALSE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_PRINCIPAL] = g_param_spec_string ("principal", NULL, NULL, NULL,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_POOL] = g_param_spec_string ("pool", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROWS_IN] = g_param_spec_uint64 ("rows-in", NULL, NULL, 0, G_MAXUINT64, 0,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROWS_OUT] = g_param_spec_uint64 ("rows-out", NULL, NULL, 0, G_MAXUINT64, 0,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
orr_monitor_job_init (OrrMonitorJob *self)
{
}

OrrMonitorJob *
_orr_monitor_job_new (const OrrRegistryRecord *record,
                      guint                    capacity)
{
  OrrMonitorJob *self = g_object_new (ORR_TYPE_MONITOR_JOB, NULL);

  self->key = g_strdup (record->key);
  self->record = orr_registry_record_copy (record);
  self->samples = orr_ring_new (sizeof (OrrJobSample), capacity);
  return self;
}

gboolean
_orr_monitor_job_set_record (OrrMonitorJob     *self,
                             OrrRegistryRecord *record)
{
  g_autoptr(OrrRegistryRecord) old = g_steal_pointer (&self->record);
  gboolean changed;

  self->record = record;
  changed = !orr_registry_record_equal (old, record);
  if (!changed)
    return FALSE;
  g_object_freeze_notify (G_OBJECT (self));
  if (old->state != record->state)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (g_strcmp0 (old->principal, record->principal) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRINCIPAL]);
  if (g_strcmp0 (old->limits ? old->limits->pool : NULL, record->limits ? record->limits->pool : NULL) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POOL]);
  if (old->rows_in != record->rows_in)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROWS_IN]);
  if (old->rows_out != record->rows_out)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROWS_OUT]);
  g_object_thaw_notify (G_OBJECT (self));
  return TRUE;
}

void
_orr_monitor_job_set_finished (OrrMonitorJob *self,
                               gboolean       lost)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  self->lost = lost;
  self->finished_time = g_get_monotonic_time ();
  self->ended_real = self->record->ended_at ? self->record->ended_at : g_get_real_time ();
  g_clear_pointer (&self->probe, orr_probe_free);
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINISHED]);
  if (lost)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOST]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Use over the interval: the counter's growth less what newly found
 * processes brought with them. */
static float
rate (gint64 now_value, gint64 prev_value, gint64 brought, double seconds, double scale)
{
  if (now_value < 0 || prev_value < 0 || seconds <= 0)
    return -1;
  return (float) (MAX (0, now_value - prev_value - brought) / seconds * scale);
}

const OrrJobSample *
_orr_monitor_job_add_reading (OrrMonitorJob         *self,
                              const OrrProbeReading *reading)
{
  OrrProbeReading r = *reading;
  OrrJobSample *s;
  double seconds;

  /* Cumulative counters never go back (a process that left the job before
   * its parent collected it takes its share with it). */
  if (self->have_prev)
    {
      if (r.cpu_user_ns >= 0)
        r.cpu_user_ns = MAX (r.cpu_user_ns, self->prev.cpu_user_ns);
      if (r.cpu_system_ns >= 0)
        r.cpu_system_ns = MAX (r.cpu_system_ns, self->prev.cpu_system_ns);
      if (r.read_bytes >= 0)
        r.read_bytes = MAX (r.read_bytes, self->prev.read_bytes);
      if (r.written_bytes >= 0)
        r.written_bytes = MAX (r.written_bytes, self->prev.written_bytes);
      if (r.memory_peak_bytes >= 0)
        r.memory_peak_bytes = MAX (r.memory_peak_bytes, self->prev.memory_peak_bytes);
    }
  seconds = self->have_prev ? (r.time - self->prev.time) / (double) G_USEC_PER_SEC : 0;

  s = orr_ring_push (self->samples);
  s->time = r.time;
  s->cpu_user_percent = self->have_prev ? rate (r.cpu_user_ns, self->prev.cpu_user_ns, r.new_cpu_user_ns, seconds, 1e-7) : -1;
  s->cpu_system_percent = self->have_prev ? rate (r.cpu_system_ns, self->prev.cpu_system_ns, r.new_cpu_system_ns, seconds, 1e-7) : -1;
  s->cpu_time_ns = r.cpu_user_ns >= 0 && r.cpu_system_ns >= 0 ? r.cpu_user_ns + r.cpu_system_ns : -1;
  s->memory_bytes = r.memory_bytes;
  s->memory_peak_bytes = r.memory_peak_bytes;
  s->read_bytes = r.read_bytes;
  s->written_bytes = r.written_bytes;
  s->read_bytes_per_second = self->have_prev ? rate (r.read_bytes, self->prev.read_bytes, r.new_read_bytes, seconds, 1) : -1;
  s->written_bytes_per_second = self->have_prev ? rate (r.written_bytes, self->prev.written_bytes, r.new_written_bytes, seconds, 1) : -1;
  s->processes = r.processes;
  s->threads = r.threads;
  self->prev = r;
  self->have_prev = TRUE;
  return s;
}

const char *
orr_monitor_job_get_key (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->key;
}

guint64
orr_monitor_job_get_id (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->job_id;
}

int
orr_monitor_job_get_engine_pid (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->engine_pid;
}

int
orr_monitor_job_get_satellite_pid (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->satellite_pid;
}

const char *
orr_monitor_job_get_user (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->user;
}

guint
orr_monitor_job_get_uid (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->uid;
}

const char *
orr_monitor_job_get_principal (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->principal;
}

const char *
orr_monitor_job_get_pool (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->limits ? self->record->limits->pool : NULL;
}

const OrrLimits *
orr_monitor_job_get_limits (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->limits;
}

OrrJobState
orr_monitor_job_get_state (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), ORR_JOB_QUEUED);
  return self->record->state;
}

gboolean
orr_monitor_job_is_finished (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), FALSE);
  return self->finished;
}

gboolean
orr_monitor_job_is_lost (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), FALSE);
  return self->lost;
}

gint64
orr_monitor_job_get_submitted_at (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->submitted_at;
}

gint64
orr_monitor_job_get_started_at (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->started_at;
}

gint64
orr_monitor_job_get_ended_at (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->finished ? self->ended_real : 0;
}

gint64
orr_monitor_job_get_elapsed (OrrMonitorJob *self)
{
  gint64 end;

  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  if (self->record->submitted_at == 0)
    return 0;
  end = self->finished ? self->ended_real : g_get_real_time ();
  return MAX (0, end - self->record->submitted_at);
}

guint64
orr_monitor_job_get_rows_in (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->rows_in;
}

guint64
orr_monitor_job_get_rows_out (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return self->record->rows_out;
}

const char *
orr_monitor_job_get_script (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->script;
}

const char *
orr_monitor_job_get_error (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return self->record->error;
}

const char *
orr_monitor_job_get_source (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return orr_probe_source_to_string (self->source);
}

guint
orr_monitor_job_get_n_samples (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), 0);
  return orr_ring_get_length (self->samples);
}

const OrrJobSample *
orr_monitor_job_get_sample (OrrMonitorJob *self,
                            guint          index)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return orr_ring_get (self->samples, index);
}

const OrrJobSample *
orr_monitor_job_get_last_sample (OrrMonitorJob *self)
{
  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), NULL);
  return orr_ring_get_last (self->samples);
}

gint64
orr_monitor_job_get_cpu_time_ns (OrrMonitorJob *self)
{
  const OrrJobSample *last;
  gint64 sampled;

  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), -1);
  last = orr_ring_get_last (self->samples);
  sampled = last ? last->cpu_time_ns : -1;
  /* The satellite's rusage counts what ran between the last reading and its end. */
  if (self->record->cpu_user_us >= 0 && self->record->cpu_system_us >= 0)
    return MAX (sampled, (self->record->cpu_user_us + self->record->cpu_system_us) * 1000);
  return sampled;
}

gint64
orr_monitor_job_get_peak_memory (OrrMonitorJob *self)
{
  const OrrJobSample *last;

  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), -1);
  last = orr_ring_get_last (self->samples);
  /* The satellite's ru_maxrss counts the pages it shares with the zygote,
   * which its cgroup does not: prefer what was sampled. */
  if (last && last->memory_peak_bytes >= 0)
    return last->memory_peak_bytes;
  return self->record->peak_memory_bytes;
}

gint64
orr_monitor_job_get_read_bytes (OrrMonitorJob *self)
{
  const OrrJobSample *last;

  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), -1);
  last = orr_ring_get_last (self->samples);
  return MAX (last ? last->read_bytes : -1, self->record->bytes_read);
}

gint64
orr_monitor_job_get_written_bytes (OrrMonitorJob *self)
{
  const OrrJobSample *last;

  g_return_val_if_fail (ORR_IS_MONITOR_JOB (self), -1);
  last = orr_ring_get_last (self->samples);
  return MAX (last ? last->written_bytes : -1, self->record->bytes_written);
}
