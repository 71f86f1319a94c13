#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Some functions run only from traps, which shellcheck cannot see:
# shellcheck disable=SC2317
#
# Orrery's benchmark, in one command:
#
#   bench/run.sh
#
# 1. builds Orrery in release mode in _build-bench (meson + ninja);
# 2. starts a private PostgreSQL on 127.0.0.1 (tools/pg-test-server.sh) and
#    writes a private ODBC configuration (ODBCSYSINI) with the DSN bench_pg
#    (psqlODBC Unicode, UseDeclareFetch=1, Fetch=10000, BoolsAsChar=0);
#    nothing is written to /etc or to your home;
# 3. loads the table `bench`: $ROWS rows × 8 columns (bigint, integer,
#    double precision, numeric(12,2), varchar(32), boolean, timestamp,
#    low-cardinality varchar(8)) with generate_series, and enables external
#    scripts on that database (`orrery enable`);
# 4. measures, side by side (bench/harness.py): Orrery reading the table
#    into InputDataSet through the CLI, the raw column-wise ODBC fetch floor
#    (bench/raw-odbc-fetch.c), pandas.read_sql over pyodbc
#    (bench/read_sql.py), the trivial job end to end with hyperfine next to
#    `python3 -c 'import pandas'`, and warm trivial jobs through the engine
#    API (bench/warm-jobs.c);
# 5. prints one table and writes the raw numbers to
#    _build-bench/bench-results.json; stops the server.
#
# Any baseline or program that cannot run, or returns a row count other than
# $ROWS, fails the whole run (exit status 1) and no table is printed.
#
# Environment:
#   ROWS                  rows in the table (default 1000000)
#   REPEAT                timed runs of each big figure; medians (default 3)
#   ORRERY_BENCH_BUILD    build directory (default _build-bench)
#   ORRERY_BENCH_RETRIES  how often a measurement during which other processes
#                         used noticeable CPU is done again (default 3)
#   ORRERY_BENCH_QUIET_WAIT  seconds to wait for the other processes to leave
#                         the CPUs before the first measurement and each re-run
#                         (default 60)
#   ORRERY_BENCH_SKIP_WARM     if set, skip the warm trivial-job figures (p50/p99, jobs/s)
#   ORRERY_BENCH_NO_PROFILE    if set, skip the memory-profile runs
#   ORRERY_BENCH_KEEP     if set, keep the temporary directory (server log,
#                         ODBC files, demo database)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/tools
PY=/usr/bin/python3
DSN=bench_pg
LITE_DSN=bench_lite

ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}
BUILD_DIR=${ORRERY_BENCH_BUILD:-_build-bench}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
RESULTS=$BUILD_DIR/bench-results.json

WORK=""
PG_STARTED=0
T_START=$(date +%s)

say() {
  echo "bench: $*" >&2
}

fail() {
  say "$*"
  exit 1
}

kill_launchpads() {
  # The CLI's resident launchpads (core/orr-launchpad.h) of this run: their
  # locks hold their pids.
  local lock pid
  [ -n "$WORK" ] && [ -d "$WORK/run/orrery" ] || return 0
  for lock in "$WORK"/run/orrery/*.lock; do
    [ -e "$lock" ] || continue
    pid=$(head -n 1 "$lock" 2>/dev/null)
    case $pid in ''|*[!0-9]*) continue ;; esac
    kill -KILL "$pid" 2>/dev/null || true
  done
}

finish() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  kill_launchpads
  if [ "$PG_STARTED" -eq 1 ]; then
    "$TOOLS/pg-test-server.sh" stop "$WORK" || say "warning: could not stop the benchmark's PostgreSQL server"
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ -n "${ORRERY_BENCH_KEEP:-}" ]; then
      say "kept $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    echo "bench: FAILED (exit status $rc) after $(($(date +%s) - T_START)) s — see the messages above; no valid results." >&2
  else
    say "done in $(($(date +%s) - T_START)) s"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 0. checks
case $ROWS in ''|*[!0-9]*|0) fail "ROWS must be a positive integer (got '$ROWS')" ;; esac
case $REPEAT in ''|*[!0-9]*|0) fail "REPEAT must be a positive integer (got '$REPEAT')" ;; esac
case ${ORRERY_BENCH_RETRIES:-3} in ''|*[!0-9]*) fail "ORRERY_BENCH_RETRIES must be a number" ;; esac
case ${ORRERY_BENCH_QUIET_WAIT:-60} in ''|*[!0-9]*) fail "ORRERY_BENCH_QUIET_WAIT must be a number" ;; esac

[ -x "$PY" ] || fail "$PY is missing: the baseline runs on Debian's Python (apt-get install python3)"
if ! pyerr=$("$PY" -c 'import pandas, pyodbc, numpy' 2>&1); then
  fail "the pandas.read_sql baseline cannot run: $PY cannot import pandas/pyodbc/numpy (apt-get install python3-pandas python3-pyodbc):
$pyerr"
fi
for tool in meson ninja hyperfine; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is missing (apt-get install meson ninja-build hyperfine)"
done

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || fail "cannot determine the multiarch triplet (dpkg-architecture / gcc -print-multiarch)"
odbc_lib=/usr/lib/$multiarch/odbc
for so in psqlodbcw.so libsqlite3odbc.so; do
  [ -e "$odbc_lib/$so" ] || fail "ODBC driver $odbc_lib/$so is missing (packages odbc-postgresql, libsqliteodbc)"
done

# The satellite embeds Debian's libpython; a foreign PYTHONHOME/PYTHONPATH
# (e.g. from pyenv) would break it and the baseline alike.
unset PYTHONHOME PYTHONPATH
# The demo database figure must open the demo, not a configured DSN.
unset ORRERY_DSN

# ---------------------------------------------------------------- 1. build
say "building Orrery (release) in $BUILD_DIR"
cd "$ROOT"
# Build output goes to stderr (and meson's chatter only when it fails):
# stdout is the report.
setup_args=()
[ ! -f "$BUILD_DIR/meson-private/coredata.dat" ] || setup_args=(--reconfigure)
if ! setup_log=$(meson setup "${setup_args[@]}" "$BUILD_DIR" -Dbuildtype=release 2>&1); then
  echo "$setup_log" >&2
  fail "meson setup $BUILD_DIR failed"
fi
# Only what is measured: an unrelated target (the GTK console…) must not
# stop the benchmark.
ninja -C "$BUILD_DIR" cli/orrery core/satellite/orrery-satellite bench/raw-odbc-fetch bench/warm-jobs bench/native-fetch >&2 ||
  fail "the build failed"
for exe in cli/orrery core/satellite/orrery-satellite bench/raw-odbc-fetch bench/warm-jobs bench/native-fetch; do
  [ -x "$BUILD_DIR/$exe" ] || fail "$BUILD_DIR/$exe was not built"
done
buildtype=$(meson introspect --buildoptions "$BUILD_DIR" |
  "$PY" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))')
[ "$buildtype" = release ] || fail "$BUILD_DIR is configured with buildtype=$buildtype, not release"
export ORRERY_SATELLITE=$BUILD_DIR/core/satellite/orrery-satellite

# ---------------------------------------------------------------- 2. server
WORK=$(mktemp -d "${TMPDIR:-/tmp}/orrery-bench.XXXXXX")
chmod 0755 "$WORK"   # the server may run as an unprivileged user
PG_STARTED=1
"$TOOLS/pg-test-server.sh" start "$WORK"
pg_env=$("$TOOLS/pg-test-server.sh" env "$WORK")
eval "$pg_env"
export PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE

ODBC_DIR=$WORK/odbc
mkdir -p "$ODBC_DIR"
cat >"$ODBC_DIR/odbcinst.ini" <<INI
[ODBC]
Trace = No

[PostgreSQL Unicode]
Description = PostgreSQL ODBC driver (Unicode)
Driver = $odbc_lib/psqlodbcw.so

[SQLite3]
Description = SQLite3 ODBC driver
Driver = $odbc_lib/libsqlite3odbc.so
INI
cat >"$ODBC_DIR/odbc.ini" <<INI
[ODBC Data Sources]
$DSN = PostgreSQL Unicode
$LITE_DSN = SQLite3

[$DSN]
Description = Orrery benchmark: private PostgreSQL server
Driver = PostgreSQL Unicode
Servername = 127.0.0.1
Port = $ORRERY_TEST_PG_PORT
Database = orrery_test
Username = orrery
Password = orrery
UseDeclareFetch = 1
Fetch = 10000
BoolsAsChar = 0

[$LITE_DSN]
Description = Orrery benchmark: the same table in an SQLite file
Driver = SQLite3
Database = $WORK/bench.sqlite
StepAPI = 1
INI
export ODBCSYSINI=$ODBC_DIR
export ODBCINI=$ODBC_DIR/odbc.ini
# The demo database (trivial job without --dsn, warm-jobs) lives here.
export XDG_DATA_HOME=$WORK/xdg
mkdir -p "$XDG_DATA_HOME"
# The CLI's resident launchpad of this run (killed at the end), not the
# user's: its socket lives under XDG_RUNTIME_DIR.
export XDG_RUNTIME_DIR=$WORK/run
mkdir -m 0700 -p "$XDG_RUNTIME_DIR"
export ORRERY_LAUNCHPAD_IDLE=600
unset ORRERY_LAUNCHPAD

# ---------------------------------------------------------------- 3. data
PSQL=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/psql" ] && PSQL=$d/psql
done
[ -n "$PSQL" ] || PSQL=$(command -v psql || true)
[ -n "$PSQL" ] || fail "psql is missing (package postgresql-client)"

say "loading $ROWS rows into the table bench"
t_load=$(date +%s)
"$PSQL" -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench;
CREATE TABLE bench (
  id        bigint           NOT NULL,
  qty       integer          NOT NULL,
  price     double precision NOT NULL,
  amount    numeric(12,2)    NOT NULL,
  name      varchar(32)      NOT NULL,
  flag      boolean          NOT NULL,
  created   timestamp        NOT NULL,
  category  varchar(8)       NOT NULL
);
INSERT INTO bench
SELECT g,
       ((g * 7919) % 100000 - 50000)::integer,
       (g % 100003) * 1.618033988749 + 0.25,
       round(((g * 37) % 10000000) / 100.0, 2)::numeric(12,2),
       'item-' || left(md5(g::text), 8 + (g % 20)::integer),
       g % 3 = 0,
       timestamp '2020-01-01 00:00:00' + g * interval '37 seconds' + (g % 1000) * interval '1 millisecond',
       (ARRAY['north','south','east','west','central','online','retail','partner'])[1 + (g % 8)::integer]
FROM generate_series(1::bigint, :rows::bigint) AS g;
VACUUM (FREEZE, ANALYZE) bench;
SQL
count=$("$PSQL" -X -q -At -c 'SELECT count(*) FROM bench')
[ "$count" = "$ROWS" ] || fail "the table bench holds $count rows, expected $ROWS"
size=$("$PSQL" -X -q -At -c "SELECT pg_size_pretty(pg_total_relation_size('bench'))")
# Its CPU time is accounted apart from other processes' (harness.py).
pg_pid=$(head -n 1 "$WORK/pg/postmaster.pid" 2>/dev/null || echo 0)
say "loaded $count rows ($size) in $(($(date +%s) - t_load)) s"

# The same rows in an SQLite file, for the SQLite ODBC driver's figure:
# declared types the driver maps as psqlODBC maps PostgreSQL's (varchar
# stays bounded, so nobody reads it row by row).
command -v sqlite3 >/dev/null 2>&1 || fail "'sqlite3' is missing (apt-get install sqlite3)"
say "copying the table into $WORK/bench.sqlite"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT id, qty, price, amount, name, flag::int, to_char(created, 'YYYY-MM-DD HH24:MI:SS.MS'), category FROM bench ORDER BY id) TO '$WORK/bench.csv' (FORMAT csv)" ||
  fail "cannot export the table for SQLite"
sqlite3 -bail "$WORK/bench.sqlite" <<SQL || fail "cannot load $WORK/bench.sqlite"
CREATE TABLE bench (
  id        BIGINT        NOT NULL,
  qty       INTEGER       NOT NULL,
  price     DOUBLE        NOT NULL,
  amount    NUMERIC(12,2) NOT NULL,
  name      VARCHAR(32)   NOT NULL,
  flag      BOOLEAN       NOT NULL,
  created   TIMESTAMP     NOT NULL,
  category  VARCHAR(8)    NOT NULL
);
.mode csv
.import $WORK/bench.csv bench
SQL
rm -f "$WORK/bench.csv"
lite_count=$(sqlite3 "$WORK/bench.sqlite" 'SELECT count(*) FROM bench')
[ "$lite_count" = "$ROWS" ] || fail "bench.sqlite holds $lite_count rows, expected $ROWS"

# External scripts start disabled on a database (as in SQL Server); the
# benchmark's login owns the database, so it may switch them on.
"$BUILD_DIR/cli/orrery" --dsn "$DSN" enable >&2 || fail "orrery --dsn $DSN enable failed"
"$BUILD_DIR/cli/orrery" --dsn "$LITE_DSN" enable >&2 || fail "orrery --dsn $LITE_DSN enable failed"

# ---------------------------------------------------------------- 4. measure
harness_args=(--build "$BUILD_DIR" --source-root "$ROOT" --work "$WORK" --dsn "$DSN" --lite-dsn "$LITE_DSN"
              --rows "$ROWS" --repeat "$REPEAT" --json "$RESULTS" --python "$PY"
              --table-info "bench: $count rows, $size" --pg-pid "$pg_pid"
              --retries "${ORRERY_BENCH_RETRIES:-3}" --quiet-wait "${ORRERY_BENCH_QUIET_WAIT:-60}")
[ -z "${ORRERY_BENCH_SKIP_WARM:-}" ] || harness_args+=(--skip-warm)
[ -z "${ORRERY_BENCH_NO_PROFILE:-}" ] || harness_args+=(--no-memory-profile)
# The native fast paths (libpq COPY in and out, the SQLite C API) against
# psql's \copy and the ODBC drivers: bench/native.py measures them first
# (its own report goes to stderr); harness.py puts its figures into the one
# table.
if [ -z "${ORRERY_BENCH_SKIP_NATIVE:-}" ]; then
  rm -f "$BUILD_DIR/bench-native.json"
  "$PY" "$ROOT/bench/native.py" --build "$BUILD_DIR" --psql "$PSQL" --dsn "$DSN" --lite-dsn "$LITE_DSN" \
    --rows "$ROWS" --repeat "$REPEAT" --json "$BUILD_DIR/bench-native.json" >&2 ||
    fail "the native fast-path figures (bench/native.py) failed"
  harness_args+=(--native-json "$BUILD_DIR/bench-native.json")
fi
"$PY" "$ROOT/bench/harness.py" "${harness_args[@]}"
