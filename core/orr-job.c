/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-job"

#include "config.h"

#include <signal.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "orr-job-private.h"
#include "orr-registry.h"
#include "orr-wire.h"

G_DEFINE_FINAL_TYPE (OrrJob, orr_job, G_TYPE_OBJECT)

enum {
  STATE_CHANGED,
  MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
orr_job_state_to_string (OrrJobState state)
{
  switch (state)
    {
    case ORR_JOB_QUEUED: return "queued";
    case ORR_JOB_FETCHING: return "fetching";
    case ORR_JOB_RUNNING: return "running";
    case ORR_JOB_RETURNING: return "returning";
    case ORR_JOB_SUCCEEDED: return "succeeded";
    case ORR_JOB_FAILED: return "failed";
    case ORR_JOB_CANCELLED: return "cancelled";
    default: return "unknown";
    }
}

OrrJobSpec *
orr_job_spec_new (void)
{
  return g_new0 (OrrJobSpec, 1);
}

OrrJobSpec *
orr_job_spec_copy (const OrrJobSpec *spec)
{
  OrrJobSpec *copy = g_new0 (OrrJobSpec, 1);

  copy->script = g_strdup (spec->script);
  copy->input_query = g_strdup (spec->input_query);
  copy->input_name = g_strdup (spec->input_name ? spec->input_name : "InputDataSet");
  copy->output_name = g_strdup (spec->output_name ? spec->output_name : "OutputDataSet");
  copy->output_table = g_strdup (spec->output_table);
  copy->timeout_ms = spec->timeout_ms;
  copy->queue_timeout_ms = spec->queue_timeout_ms;
  copy->max_output_bytes = spec->max_output_bytes;
  copy->limits = spec->limits ? orr_limits_copy (spec->limits) : NULL;
  copy->sqlserver_types = spec->sqlserver_types;
  copy->partition_by = g_strdupv (spec->partition_by);
  copy->order_by = g_strdupv (spec->order_by);
  copy->rows_per_read = spec->rows_per_read;
  copy->params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
  for (guint i = 0; spec->params && i < spec->params->len; i++)
    {
      const OrrParam *p = g_ptr_array_index (spec->params, i);
      g_ptr_array_add (copy->params, orr_param_new (p->name, p->flags, &p->value));
    }
  return copy;
}

void
orr_job_spec_free (OrrJobSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->script);
  g_free (spec->input_query);
  g_free (spec->input_name);
  g_free (spec->output_name);
  g_free (spec->output_table);
  g_clear_pointer (&spec->params, g_ptr_array_unref);
  g_clear_pointer (&spec->limits, orr_limits_free);
  g_strfreev (spec->partition_by);
  g_strfreev (spec->order_by);
  g_free (spec);
}

static void
orr_job_finalize (GObject *object)
{
  OrrJob *self = ORR_JOB (object);

  g_clear_pointer (&self->spec, orr_job_spec_free);
  g_clear_pointer (&self->limits, orr_limits_free);
  g_clear_pointer (&self->isolation, orr_isolation_job_free);
  g_clear_pointer (&self->owner_context, g_main_context_unref);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  g_clear_error (&self->log_error);
  g_free (self->traceback);
  g_clear_pointer (&self->result_schema, orr_schema_unref);
  g_clear_pointer (&self->result_batches, g_ptr_array_unref);
  g_clear_pointer (&self->output_params, g_ptr_array_unref);
  if (self->pidfd >= 0)
    close (self->pidfd);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (orr_job_parent_class)->finalize (object);
}

static void
orr_job_class_init (OrrJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = orr_job_finalize;

  /**
   * OrrJob::state-changed:
   * @state: the new OrrJobState
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /**
   * OrrJob::message:
   * @kind: an OrrJobMessageKind
   * @text: the text, as the script wrote it
   */
  signals[MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
orr_job_init (OrrJob *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->pidfd = -1;
  self->cancellable = g_cancellable_new ();
  self->limits = orr_limits_new ("default");
  self->result_batches = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_batch_unref);
  self->output_params = g_ptr_array_new_with_free_func ((GDestroyNotify) orr_param_free);
}

OrrJob *
_orr_job_new (guint64           id,
              const OrrJobSpec *spec)
{
  OrrJob *self = g_object_new (ORR_TYPE_JOB, NULL);

  self->id = id;
  self->spec = orr_job_spec_copy (spec);
  self->owner_context = g_main_context_ref_thread_default ();
  self->submitted_at = g_get_monotonic_time ();
  self->registry = _orr_registry_publish (self);
  return self;
}

typedef struct {
  OrrJob *job;
  guint signal;
  guint arg;
  char *text;
} Emission;

static gboolean
emit_in_owner (gpointer data)
{
  Emission *e = data;

  if (e->signal == STATE_CHANGED)
    g_signal_emit (e->job, signals[STATE_CHANGED], 0, e->arg);
  else
    g_signal_emit (e->job, signals[MESSAGE], 0, e->arg, e->text);
  return G_SOURCE_REMOVE;
}

static void
emission_free (gpointer data)
{
  Emission *e = data;

  g_object_unref (e->job);
  g_free (e->text);
  g_free (e);
}

static void
emit_later (OrrJob *self, guint signal, guint arg, const char *text)
{
  Emission *e = g_new0 (Emission, 1);
  GSource *source = g_idle_source_new ();

  e->job = g_object_ref (self);
  e->signal = signal;
  e->arg = arg;
  e->text = g_strdup (text);
  /* One FIFO of idle sources of equal priority keeps the order of events. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_in_owner, e, emission_free);
  g_source_attach (source, self->owner_context);
  g_source_unref (source);
}

void
_orr_job_set_state (OrrJob      *self,
                    OrrJobState  state)
{
  g_mutex_lock (&self->lock);
  if (self->state == state || orr_job_is_finished (self))
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->state = state;
  if (state >= ORR_JOB_SUCCEEDED)
    {
      self->finished_at = g_get_monotonic_time ();
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  /* Monitors learn how the job ended before its owner does. */
  _orr_registry_update (self->registry, self);
  if (state >= ORR_JOB_SUCCEEDED)
    self->registry = NULL;
  emit_later (self, STATE_CHANGED, state, NULL);
}

void
_orr_job_set_admitted (OrrJob     *self,
                       const char *principal)
{
  _orr_registry_admitted (self->registry, self, principal);
}

void
_orr_job_emit_message (OrrJob            *self,
                       OrrJobMessageKind  kind,
                       const char        *text)
{
  emit_later (self, MESSAGE, kind, text);
}

void
_orr_job_child_exited (OrrJob *self,
                       int     wait_status)
{
  g_mutex_lock (&self->lock);
  self->exited = TRUE;
  self->wait_status = wait_status;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

guint64
orr_job_get_id (OrrJob *self)
{
  return self->id;
}

OrrJobState
orr_job_get_state (OrrJob *self)
{
  OrrJobState state;

  g_mutex_lock (&self->lock);
  state = self->state;
  g_mutex_unlock (&self->lock);
  return state;
}

gboolean
orr_job_is_finished (OrrJob *self)
{
  return self->state >= ORR_JOB_SUCCEEDED;
}

const OrrJobSpec *
orr_job_get_spec (OrrJob *self)
{
  return self->spec;
}

const GError *
orr_job_get_error (OrrJob *self)
{
  return self->error;
}

const GError *
orr_job_get_log_error (OrrJob *self)
{
  return self->log_error;
}

int
orr_job_get_error_line (OrrJob *self)
{
  return self->error_line;
}

const char *
orr_job_get_traceback (OrrJob *self)
{
  return self->traceback;
}

OrrSchema *
orr_job_get_result_schema (OrrJob *self)
{
  return self->result_schema;
}

GPtrArray *
orr_job_get_result_batches (OrrJob *self)
{
  return self->result_batches;
}

GPtrArray *
orr_job_get_output_params (OrrJob *self)
{
  return self->output_params;
}

guint64
orr_job_get_rows_in (OrrJob *self)
{
  return self->rows_in;
}

guint64
orr_job_get_rows_out (OrrJob *self)
{
  return self->rows_out;
}

gint64
orr_job_get_elapsed (OrrJob *self)
{
  gint64 end = self->finished_at ? self->finished_at : g_get_monotonic_time ();

  return end - self->submitted_at;
}

int
orr_job_get_pid (OrrJob *self)
{
  int pid;

  g_mutex_lock (&self->lock);
  pid = self->exited ? 0 : self->pid;
  g_mutex_unlock (&self->lock);
  return pid;
}

void
orr_job_cancel (OrrJob *self)
{
  g_return_if_fail (ORR_IS_JOB (self));

  g_mutex_lock (&self->lock);
  if (orr_job_is_finished (self))
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->cancel_requested = TRUE;
  /* Interrupt at once (Python raises KeyboardInterrupt); the job's thread
   * escalates to SIGTERM, then kills everything the job started. */
  if (self->pidfd >= 0 && !self->exited)
    pidfd_send_signal (self->pidfd, SIGINT, NULL, 0);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_cancellable_cancel (self->cancellable);
}

void
_orr_job_set_timed_out (OrrJob *self)
{
  g_mutex_lock (&self->lock);
  self->timed_out = TRUE;
  g_mutex_unlock (&self->lock);
  orr_job_cancel (self);
}

void
orr_job_wait (OrrJob *self)
{
  g_mutex_lock (&self->lock);
  while (!orr_job_is_finished (self))
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}
