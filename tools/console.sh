#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build Orrery, install it into ~/.local (no root needed) and start the
# console:
#
#   tools/console.sh [orrery-console args...]
#
# Without a display, run it on a virtual X server:  xvfb-run -a tools/console.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PREFIX=$HOME/.local
BUILD_DIR=_build

"$ROOT/tools/install-deps.sh"

if [ -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD_DIR" --prefix="$PREFIX"
else
  meson setup "$BUILD_DIR" --prefix="$PREFIX"
fi
ninja -C "$BUILD_DIR" install

console=$PREFIX/bin/orrery-console
if [ ! -x "$console" ]; then
  echo "console.sh: $console was not installed: is the GTK console disabled (meson option -Dconsole)?" >&2
  exit 1
fi

# Let the installed program find its libraries, GSettings schema, icons and
# translations under ~/.local.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
libdirs=$PREFIX/lib
[ -z "$multiarch" ] || libdirs=$PREFIX/lib/$multiarch:$libdirs
export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export XDG_DATA_DIRS=$PREFIX/share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}
if [ -d "$PREFIX/share/glib-2.0/schemas" ]; then
  glib-compile-schemas "$PREFIX/share/glib-2.0/schemas"
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  args=""
  [ $# -eq 0 ] || args=" $(printf '%q ' "$@")"
  cat >&2 <<MSG
console.sh: Orrery is built and installed in $PREFIX, but there is no display
to show the console on (neither \$DISPLAY nor \$WAYLAND_DISPLAY is set).
Run it from a graphical session, or on a virtual X server with:

    xvfb-run -a tools/console.sh${args% }
MSG
  exit 1
fi

exec "$console" "$@"
