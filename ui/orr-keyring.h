/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Database passwords in the desktop keyring (the Secret Service, through
 * libsecret), filed under the data source — its DSN, or the driver, server,
 * port and database of a connection string — and the user name. Never in a
 * file of ours. */

/* The key a connection is filed under: "DSN=name", or the connection
 * string's driver, server, port and database ("driver=…;server=…"), lower-case
 * keys, sorted; never a password. */
char     *orr_keyring_dup_key       (const char *target) G_GNUC_WARN_UNUSED_RESULT;

/* Whether a Secret Service answers on the session bus. */
void      orr_keyring_check_async   (GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean  orr_keyring_check_finish  (GAsyncResult  *result,
                                     GError       **error);

/* Finish returns the password, or NULL (no error) when none is kept. */
void      orr_keyring_lookup_async  (const char          *target,
                                     const char          *user,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
char     *orr_keyring_lookup_finish (GAsyncResult  *result,
                                     GError       **error) G_GNUC_WARN_UNUSED_RESULT;

void      orr_keyring_store_async   (const char          *target,
                                     const char          *user,
                                     const char          *password,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean  orr_keyring_store_finish  (GAsyncResult  *result,
                                     GError       **error);

void      orr_keyring_forget_async  (const char          *target,
                                     const char          *user,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean  orr_keyring_forget_finish (GAsyncResult  *result,
                                     GError       **error);

G_END_DECLS
