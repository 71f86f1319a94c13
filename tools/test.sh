#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Some functions run only from traps, which shellcheck cannot see:
# shellcheck disable=SC2317
#
# Build Orrery and run its whole test suite, from a clean clone:
#
#   tools/test.sh [meson test args...]
#
# 1. installs missing Debian packages (tools/install-deps.sh);
# 2. starts a private PostgreSQL server on 127.0.0.1 (tools/pg-test-server.sh);
# 3. writes a private ODBC configuration (ODBCSYSINI/ODBCINI) with the DSNs
#    orrery_test_pg and orrery_test_sqlite; nothing is written to /etc;
# 4. configures $ORRERY_BUILD_DIR (default _build-test) with --werror and
#    $ORRERY_MESON_ARGS (e.g. "-Db_sanitize=address,undefined -Db_lundef=false");
# 5. runs `meson test` (under xvfb-run when there is no $DISPLAY);
# 6. stops the server, and prints as its very last line
#    "N passed, N failed[, N skipped]", counting every TAP subtest.
#
# Environment:
#   ORRERY_BUILD_DIR        build directory (default _build-test)
#   ORRERY_MESON_ARGS       extra `meson setup` arguments (word-split)
#   ORRERY_MESON_TEST_ARGS  extra `meson test` arguments (word-split)
#   ORRERY_SUMMARY_PREFIX   if set, the summary line is prefixed with it
#   ORRERY_COUNTS_FILE      where to write "passed failed skipped"
#                           (default $ORRERY_BUILD_DIR/orrery-counts.txt)
#   ORRERY_KEEP_TEST_DIR    if set, keep the temporary directory (server log,
#                           ODBC files) instead of deleting it
#
# Exit status: meson's, or 1 if anything failed or no test ran.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/tools
cd "$ROOT"

BUILD_DIR=${ORRERY_BUILD_DIR:-_build-test}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
COUNTS_FILE=${ORRERY_COUNTS_FILE:-$BUILD_DIR/orrery-counts.txt}
PY=/usr/bin/python3

WORK=""
TEST_PID=""
PG_STARTED=0
COUNTED=0
PASSED=0
FAILED=0
SKIPPED=0

say() {
  echo "test.sh: $*" >&2
}

summary_line() {
  local line="$PASSED passed, $FAILED failed"
  if [ "$SKIPPED" -gt 0 ]; then
    line="$line, $SKIPPED skipped"
  fi
  if [ -n "${ORRERY_SUMMARY_PREFIX+set}" ]; then
    line="${ORRERY_SUMMARY_PREFIX}${ORRERY_SUMMARY_PREFIX:+ }$line"
  fi
  echo "$line"
}

stop_pg() {
  if [ "$PG_STARTED" -eq 1 ]; then
    PG_STARTED=0
    "$TOOLS/pg-test-server.sh" stop "$WORK" || say "warning: could not stop the test PostgreSQL server"
  fi
}

# Interrupted while the tests run: end meson and everything it started.
stop_tests() {
  [ -n "$TEST_PID" ] || return 0
  kill -TERM -- "-$TEST_PID" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 -- "-$TEST_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$TEST_PID" 2>/dev/null || true
  wait "$TEST_PID" 2>/dev/null || true
  TEST_PID=""
}

# Always: end the tests if still running, stop PostgreSQL, remove the
# temporary directory, write the counts and print the summary as the very
# last line.
finish() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_tests
  stop_pg
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ -n "${ORRERY_KEEP_TEST_DIR:-}" ]; then
      say "kept $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  if [ "$COUNTED" -eq 0 ]; then
    # We never got to count results: something failed before or instead of
    # the tests (dependencies, server, configure, build).
    PASSED=0
    FAILED=1
    SKIPPED=0
    [ "$rc" -ne 0 ] || rc=1
  fi
  if [ "$rc" -eq 0 ] && { [ "$FAILED" -gt 0 ] || [ $((PASSED + FAILED)) -eq 0 ]; }; then
    rc=1
  fi
  mkdir -p "$(dirname "$COUNTS_FILE")" 2>/dev/null
  echo "$PASSED $FAILED $SKIPPED" >"$COUNTS_FILE" 2>/dev/null || say "warning: could not write $COUNTS_FILE"
  summary_line
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. deps
"$TOOLS/install-deps.sh"

# ---------------------------------------------------------------- 2. server
WORK=$(mktemp -d "${TMPDIR:-/tmp}/orrery-test.XXXXXX")
chmod 0755 "$WORK"   # the server may run as an unprivileged user
PG_STARTED=1
"$TOOLS/pg-test-server.sh" start "$WORK"
pg_env=$("$TOOLS/pg-test-server.sh" env "$WORK")
eval "$pg_env"
export ORRERY_TEST_PG_PORT PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE

# ---------------------------------------------------------------- 3. ODBC
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || { say "cannot determine the multiarch triplet (dpkg-architecture / gcc -print-multiarch)"; exit 1; }
odbc_lib=/usr/lib/$multiarch/odbc
for so in psqlodbcw.so psqlodbca.so libsqlite3odbc.so; do
  [ -e "$odbc_lib/$so" ] || { say "ODBC driver $odbc_lib/$so is missing (packages odbc-postgresql, libsqliteodbc)"; exit 1; }
done

ODBC_DIR=$WORK/odbc
mkdir -p "$ODBC_DIR"
cat >"$ODBC_DIR/odbcinst.ini" <<INI
[ODBC]
Trace = No

[PostgreSQL Unicode]
Description = PostgreSQL ODBC driver (Unicode)
Driver = $odbc_lib/psqlodbcw.so

[PostgreSQL ANSI]
Description = PostgreSQL ODBC driver (ANSI)
Driver = $odbc_lib/psqlodbca.so

[SQLite3]
Description = SQLite3 ODBC driver
Driver = $odbc_lib/libsqlite3odbc.so
INI
cat >"$ODBC_DIR/odbc.ini" <<INI
[ODBC Data Sources]
orrery_test_pg = PostgreSQL Unicode
orrery_test_sqlite = SQLite3

[orrery_test_pg]
Description = Orrery tests: private PostgreSQL server
Driver = PostgreSQL Unicode
Servername = 127.0.0.1
Port = $ORRERY_TEST_PG_PORT
Database = orrery_test
Username = orrery
Password = orrery
UseDeclareFetch = 1
Fetch = 10000
BoolsAsChar = 0

[orrery_test_sqlite]
Description = Orrery tests: SQLite file
Driver = SQLite3
Database = $WORK/test.sqlite
INI

export ODBCSYSINI=$ODBC_DIR
export ODBCINI=$ODBC_DIR/odbc.ini
export ORRERY_TEST_PG_DSN=orrery_test_pg
export ORRERY_TEST_PG_CONN="Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=$ORRERY_TEST_PG_PORT;Database=orrery_test;Uid=orrery;Pwd=orrery;UseDeclareFetch=1;Fetch=10000;BoolsAsChar=0"
export ORRERY_TEST_SQLITE_DSN=orrery_test_sqlite
export ORRERY_TEST_SQLITE_CONN="Driver={SQLite3};Database=$WORK/test.sqlite"
export ORRERY_TEST_TMPDIR=$WORK

# French number formatting is tested in fr_FR.UTF-8, compiled into a private
# LOCPATH from the locales package's sources: nothing changes on the host.
if command -v localedef >/dev/null 2>&1 && [ -f /usr/share/i18n/locales/fr_FR ]; then
  mkdir -p "$WORK/locale"
  localedef -c -i fr_FR -f UTF-8 "$WORK/locale/fr_FR.UTF-8" >/dev/null 2>&1 || true
  if [ -f "$WORK/locale/fr_FR.UTF-8/LC_NUMERIC" ]; then
    export ORRERY_TEST_FR_LOCPATH=$WORK/locale
  else
    say "note: localedef could not build fr_FR.UTF-8; French tests run in C.UTF-8 (no decimal-comma check)"
  fi
else
  say "note: localedef or the fr_FR locale source is missing (Debian package locales); French tests run in C.UTF-8"
fi

# A quiet, hermetic desktop session for the UI tests.
export NO_AT_BRIDGE=${NO_AT_BRIDGE:-1}
export GSETTINGS_BACKEND=${GSETTINGS_BACKEND:-memory}
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -w "${XDG_RUNTIME_DIR:-/nonexistent}" ]; then
  mkdir -p "$WORK/xdg-runtime"
  chmod 0700 "$WORK/xdg-runtime"
  export XDG_RUNTIME_DIR=$WORK/xdg-runtime
fi
# The satellite embeds Debian's libpython; a foreign PYTHONHOME/PYTHONPATH
# (e.g. from pyenv) would break it.
unset PYTHONHOME PYTHONPATH

# ---------------------------------------------------------------- 4. build
read -r -a meson_args <<<"${ORRERY_MESON_ARGS:-}"
read -r -a meson_test_args <<<"${ORRERY_MESON_TEST_ARGS:-}"
mkdir -p "$(dirname "$COUNTS_FILE")"
rm -f "$COUNTS_FILE"

if [ -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
  if ! meson setup --reconfigure "$BUILD_DIR" --werror "${meson_args[@]}"; then
    say "reconfigure failed; wiping $BUILD_DIR and configuring again"
    meson setup --wipe "$BUILD_DIR" --werror "${meson_args[@]}"
  fi
else
  # Absent, empty, or left over from a failed `meson setup`: start afresh.
  # Anything else is not ours to delete.
  if [ -d "$BUILD_DIR" ]; then
    for f in "$BUILD_DIR"/* "$BUILD_DIR"/.[!.]*; do
      [ -e "$f" ] || continue
      case ${f##*/} in
        meson-logs|meson-private|meson-info|orrery-counts.txt) rm -rf "$f" ;;
        *) say "$BUILD_DIR exists but is not a meson build directory; remove it or set ORRERY_BUILD_DIR"
           exit 1 ;;
      esac
    done
  fi
  meson setup "$BUILD_DIR" --werror "${meson_args[@]}"
fi
meson compile -C "$BUILD_DIR"

# ---------------------------------------------------------------- 5. test
testlog=$BUILD_DIR/meson-logs/testlog.json
rm -f "$testlog"
runner=()
if [ -z "${DISPLAY:-}" ]; then
  runner=(xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp")
fi
meson_rc=0
# In its own session, so that an interrupted run takes meson, Xvfb and the
# tests down with it (see stop_tests).
setsid "${runner[@]}" meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 \
  "${meson_test_args[@]}" "$@" &
TEST_PID=$!
wait "$TEST_PID" || meson_rc=$?
TEST_PID=""

# ---------------------------------------------------------------- 6. count
# testlog.json: one JSON object per test run. TAP tests (protocol from
# meson-info/intro-tests.json, or recognised by their output) count one per
# top-level "ok"/"not ok" line; any other test counts as one.
counts=$("$PY" - "$testlog" "$BUILD_DIR/meson-info/intro-tests.json" <<'PY'
import json, os, re, sys

testlog, intro = sys.argv[1], sys.argv[2]
protocols = {}
try:
    with open(intro, encoding="utf-8") as f:
        for t in json.load(f):
            protocols.setdefault(t.get("name"), t.get("protocol"))
except (OSError, ValueError):
    pass

# Same grammar as meson's TAP parser: top-level lines only (indented lines
# are nested subtests, summarised by their parent's line).
TEST = re.compile(r"(not )?ok\b\s*(?:[0-9]+)?[^#]*(?:#\s*(\S+)\b)?")
PLAN = re.compile(r"1\.\.[0-9]+")
BAIL = re.compile(r"Bail out!")
BAD = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}
passed = failed = skipped = 0

def is_tap(entry):
    name = entry.get("name", "")
    proto = entry.get("protocol")
    if proto is None:
        proto = protocols.get(name)
    if proto is None and " / " in name:
        proto = protocols.get(name.rsplit(" / ", 1)[1])
    if proto is not None:
        return proto == "tap"
    out = entry.get("stdout") or ""
    return any(TEST.match(l) or PLAN.match(l) for l in out.splitlines())

if os.path.exists(testlog):
    with open(testlog, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            try:
                e = json.loads(raw)
            except ValueError:
                failed += 1
                continue
            res = e.get("result", "ERROR")
            if is_tap(e):
                p = fl = s = 0
                for line in (e.get("stdout") or "").splitlines():
                    m = TEST.match(line)
                    if m:
                        ok = m.group(1) is None
                        directive = (m.group(2) or "").upper()
                        if directive.startswith("SKIP"):
                            if ok: s += 1
                            else: fl += 1
                        elif directive == "TODO":
                            if ok: fl += 1      # unexpected pass
                            else: s += 1        # expected failure / incomplete
                        elif ok:
                            p += 1
                        else:
                            fl += 1
                    elif BAIL.match(line):
                        fl += 1
                # A crash, timeout or plan mismatch is a failure even if every
                # printed line said "ok".
                if res in BAD and fl == 0:
                    fl = 1
                if p + fl + s == 0:
                    if res == "SKIP": s = 1
                    elif res in BAD: fl = 1
                    else: p = 1
                passed += p; failed += fl; skipped += s
            else:
                if res in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif res == "SKIP":
                    skipped += 1
                else:
                    failed += 1
print(passed, failed, skipped)
PY
) || counts="0 1 0"
read -r PASSED FAILED SKIPPED <<<"$counts"

if [ "$meson_rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
  say "meson test exited with status $meson_rc without a failing test result"
  FAILED=1
fi
if [ $((PASSED + FAILED)) -eq 0 ]; then
  say "no test ran"
fi
COUNTED=1
exit "$meson_rc"
