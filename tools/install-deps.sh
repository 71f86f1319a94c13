#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Install the Debian packages Orrery needs to build, run and test.
# Idempotent: asks dpkg which packages are missing and installs only those
# (one `apt-get update`, then one `apt-get install`). Silent when nothing
# is missing.
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libgtk-3-dev libgtksourceview-4-dev libsecret-1-dev
  unixodbc unixodbc-dev odbc-postgresql libsqliteodbc libsqlite3-dev
  python3 python3-numpy python3-pandas libpython3.11-dev python3-pyodbc python3-sklearn
  postgresql libpq-dev
  xvfb xauth imagemagick gettext locales desktop-file-utils appstream-util
  clang-14 libclang-rt-14-dev hyperfine sqlite3
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps.sh: dpkg-query not found: this script supports Debian 12 (bookworm) and derivatives only." >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps.sh: missing Debian packages: ${missing[*]}" >&2

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps.sh: these packages are missing and you are not root and sudo is not installed:" >&2
  echo "  ${missing[*]}" >&2
  echo "Install them as root with:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
