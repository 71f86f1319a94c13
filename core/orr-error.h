/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ORR_ERROR (orr_error_quark ())

/**
 * OrrError:
 * Errors a user can cause or meet. Each carries a message that names what
 * was wrong; ODBC errors also carry the driver's SQLSTATE in the message.
 */
typedef enum {
  ORR_ERROR_FAILED,
  ORR_ERROR_INVALID_ARGUMENT,   /* bad option, parameter or value given by the user */
  ORR_ERROR_ODBC,               /* the driver or the database refused */
  ORR_ERROR_CONNECTION,         /* could not connect (unknown DSN, refused, …) */
  ORR_ERROR_SCRIPT,             /* the user's Python script failed */
  ORR_ERROR_OUTPUT,             /* OutputDataSet or an output parameter is not usable */
  ORR_ERROR_PROTOCOL,           /* malformed or truncated message on the wire */
  ORR_ERROR_SATELLITE,          /* the satellite process died or could not start */
  ORR_ERROR_CANCELLED,
  ORR_ERROR_TIMEOUT,
  ORR_ERROR_LIMIT,              /* a configured limit (result size, output…) was exceeded */
  ORR_ERROR_UNSUPPORTED,        /* a type or feature Orrery does not handle */
  ORR_ERROR_DISABLED,           /* external scripts are not enabled on the database */
  ORR_ERROR_PERMISSION_DENIED,  /* the principal lacks the permission or is not an administrator */
  ORR_ERROR_NOT_FOUND,          /* no such pool or principal */
  ORR_ERROR_QUEUE_TIMEOUT,      /* the pool stayed full for longer than the job may wait */
} OrrError;

GQuark orr_error_quark (void);

/* Sets @category (LC_ALL, or LC_MESSAGES alone) from the environment and
 * binds Orrery's message catalog: from $ORRERY_LOCALEDIR if set (a build
 * tree), else the installed one. With $LANGUAGE set on a host that lacks
 * the user's locale, the messages follow $LANGUAGE all the same. */
void        orr_i18n_init           (int category);
const char *orr_i18n_get_localedir  (void);

G_END_DECLS
