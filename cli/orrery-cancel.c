/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orrery"

#include "config.h"

#include <fcntl.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "orr-error.h"
#include "orr-registry.h"
#include "orrery-cli.h"

/* How often `orrery cancel` looks at the job's entry while it waits. */
#define WAIT_POLL_MS 20

/* The job's entry as it is now; NULL when it is gone, or its engine is and
 * it does not say how the job ended. A program that ran one job (orrery
 * run) exits as soon as it ended: its entry's last word, written by the
 * job's user (@uid) or root, still counts. */
static OrrRegistryRecord *
load_entry (const char *dir, const char *key, guint uid)
{
  g_autoptr(OrrRegistryRecord) record = NULL;
  struct stat st;
  int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dir_fd < 0)
    return NULL;
  record = orr_registry_load (dir_fd, key, &st, NULL);
  close (dir_fd);
  if (record == NULL)
    return NULL;
  switch (orr_registry_check (record, &st))
    {
    case ORR_REGISTRY_LIVE:
      return g_steal_pointer (&record);
    case ORR_REGISTRY_STALE:
      if ((st.st_uid == 0 || st.st_uid == uid) && record->uid == uid && record->state >= ORR_JOB_SUCCEEDED)
        return g_steal_pointer (&record);
      return NULL;
    case ORR_REGISTRY_UNTRUSTED:
    default:
      return NULL;
    }
}

/* orrery cancel JOB: asks the Orrery program that runs JOB (another
 * console, another `orrery run`) to cancel it, and waits until it ended. */
int
cmd_cancel (int argc, char **argv)
{
  gboolean no_wait = FALSE;
  double timeout = 10;
  const GOptionEntry entries[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, N_("Send the request and return at once"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, N_("How long to wait for the job to end (default 10)"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("JOB — cancel a job of this host"));
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = orr_registry_dup_dir ();
  g_autofree char *request = NULL;
  const char *key;
  gint64 deadline;
  int rc = EXIT_JOB_FAILED;
  guint uid;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Asks the Orrery program that runs JOB (a console, “orrery run”) to "
                                           "cancel it, as its own Cancel would. JOB is as “orrery jobs” shows it "
                                           "(ENGINE-PID-JOB-ID). Only the job's user or root may cancel it."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (argc != 2)
    return usage_error (context, argc < 2 ? _("Name the job to cancel") : _("Name one job"));
  if (!(timeout > 0 && timeout <= 3600))
    return usage_error (context, _("The timeout must be more than 0 and at most 3600 seconds"));
  key = argv[1];

  /* The job's user, to believe its entry after its program exited. */
  {
    g_autoptr(OrrRegistryRecord) before = load_entry (dir, key, 0);

    uid = before != NULL ? before->uid : 0;
  }
  if (!orr_registry_request_cancel (dir, key, &request, &error))
    {
      print_error (error->message);
      return error->code == ORR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_JOB_FAILED;
    }
  if (no_wait)
    {
      g_print (_("Cancel requested for job %s\n"), key);
      return EXIT_OK;
    }

  deadline = g_get_monotonic_time () + (gint64) (timeout * G_USEC_PER_SEC);
  for (;;)
    {
      g_autoptr(OrrRegistryRecord) record = load_entry (dir, key, uid);

      if (record == NULL)
        {
          /* Its program ended without saying how (or long ago). */
          print_error (_("The job's program ended before it said how the job ended"));
          break;
        }
      if (record->state == ORR_JOB_CANCELLED)
        {
          g_print (_("Job %s cancelled\n"), key);
          rc = EXIT_OK;
          break;
        }
      if (record->state >= ORR_JOB_SUCCEEDED)
        {
          g_autofree char *message = g_strdup_printf (_("Job %s ended before the request arrived: %s"), key,
                                                      orr_job_state_to_string (record->state));
          print_error (message);
          break;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *message = g_strdup_printf (_("Job %s has not ended within %g s of the request; its "
                                                        "program may be stuck: “orrery jobs” shows its engine "
                                                        "process"),
                                                      key, timeout);
          print_error (message);
          break;
        }
      g_usleep (WAIT_POLL_MS * 1000);
    }
  /* Handled or not, the request is over. */
  orr_registry_withdraw_cancel (dir, request);
  return rc;
}
