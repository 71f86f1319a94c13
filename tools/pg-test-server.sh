#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A private, throw-away PostgreSQL server for Orrery's tests.
#
#   tools/pg-test-server.sh start DIR   initdb a cluster in DIR/pg and start it
#   tools/pg-test-server.sh env DIR     print `export VAR=...` lines for it
#   tools/pg-test-server.sh stop DIR    stop it (idempotent)
#
# The server listens on 127.0.0.1 only, on a free port from 54320 upward,
# with its unix socket in DIR/run. Superuser `orrery`, password `orrery`
# (scram-sha-256 over TCP), database `orrery_test` owned by it; fsync off.
#
# PostgreSQL refuses to run as root: when this script runs as root the
# cluster is owned and run by an unprivileged user ($ORRERY_PG_USER, default
# `nobody`), through runuser or setpriv. As an ordinary user it runs directly.
set -euo pipefail

PG_USER_NAME=orrery
PG_PASSWORD=orrery
PG_DATABASE=orrery_test
PORT_FIRST=${ORRERY_PG_PORT_FIRST:-54320}
PORT_TRIES=${ORRERY_PG_PORT_TRIES:-50}
READY_TIMEOUT=${ORRERY_PG_READY_TIMEOUT:-60}

die() {
  echo "pg-test-server.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop|env DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
action=$1
DIR=$2
case $action in start|stop|env) ;; *) usage ;; esac

find_pg_bindir() {
  local d v best="" bestv=-1
  if [ -n "${ORRERY_PG_BINDIR:-}" ]; then
    [ -x "$ORRERY_PG_BINDIR/pg_ctl" ] || die "ORRERY_PG_BINDIR=$ORRERY_PG_BINDIR has no pg_ctl"
    echo "$ORRERY_PG_BINDIR"
    return
  fi
  # Highest installed major version (Debian 12 ships 15).
  for d in /usr/lib/postgresql/*/bin; do
    if [ ! -x "$d/initdb" ] || [ ! -x "$d/pg_ctl" ]; then continue; fi
    v=${d#/usr/lib/postgresql/}
    v=${v%%/*}
    v=${v%%.*}
    case $v in ''|*[!0-9]*) continue ;; esac
    if [ "$v" -gt "$bestv" ]; then
      bestv=$v
      best=$d
    fi
  done
  [ -n "$best" ] || die "no PostgreSQL server found under /usr/lib/postgresql/*/bin (install the 'postgresql' package: tools/install-deps.sh)"
  echo "$best"
}

# Absolute path of DIR (it may not exist yet for `start`).
abs_dir() {
  case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
  esac
}
DIR=$(abs_dir "$DIR")
DATA=$DIR/pg
SOCKDIR=$DIR/run
LOG=$DIR/pg.log
PORTFILE=$DIR/pg.port

# Who owns and runs the server.
if [ "$(id -u)" -eq 0 ]; then
  RUN_USER=${ORRERY_PG_USER:-nobody}
  id -u "$RUN_USER" >/dev/null 2>&1 || die "running as root, but the unprivileged user '$RUN_USER' does not exist (set ORRERY_PG_USER)"
  RUN_GROUP=$(id -gn "$RUN_USER")
else
  RUN_USER=""
  RUN_GROUP=""
fi

# Run a command as the server's owner, from a directory it can enter.
as_pg() {
  if [ -z "$RUN_USER" ]; then
    (cd "$DIR" && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd "$DIR" && runuser -u "$RUN_USER" -- "$@")
  elif command -v setpriv >/dev/null 2>&1; then
    (cd "$DIR" && setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups \
      env HOME="$DIR" "$@")
  else
    die "running as root, but neither runuser nor setpriv is available to drop privileges"
  fi
}

log_tail() {
  if [ -f "$LOG" ]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 40 "$LOG" >&2 || true
    echo "----" >&2
  fi
}

port_is_free() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

do_start() {
  local bindir port pwfile i tries started=0
  bindir=$(find_pg_bindir)

  if [ -f "$DATA/postmaster.pid" ]; then
    die "a server seems to be running already in $DATA (stop it first: $0 stop $DIR)"
  fi
  mkdir -p "$DIR"
  rm -rf "$DATA" "$SOCKDIR"
  mkdir -p "$DATA" "$SOCKDIR"
  : >"$LOG"

  if [ -n "$RUN_USER" ]; then
    # The unprivileged owner must be able to reach DIR and everything above it.
    chmod 0755 "$DIR"
    chown "$RUN_USER:$RUN_GROUP" "$DATA" "$SOCKDIR" "$LOG"
    if ! as_pg test -x "$DIR" -a -w "$DATA"; then
      die "user '$RUN_USER' cannot reach $DIR: some parent directory is not traversable (use a DIR under /tmp, e.g. mktemp -d)"
    fi
  fi
  chmod 0700 "$DATA"

  pwfile=$DIR/pg.pwfile
  printf '%s\n' "$PG_PASSWORD" >"$pwfile"
  chmod 0644 "$pwfile"   # the password is public test data, not a secret

  if ! as_pg "$bindir/initdb" -D "$DATA" -U "$PG_USER_NAME" --pwfile="$pwfile" \
      -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
      --no-instructions >>"$LOG" 2>&1; then
    rm -f "$pwfile"
    log_tail
    die "initdb failed"
  fi
  rm -f "$pwfile"

  # Loopback only; scram for TCP, trust on the private unix socket.
  cat >"$DATA/pg_hba.conf" <<HBA
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
HBA
  cat >>"$DATA/postgresql.conf" <<CONF

# --- Orrery test server ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKDIR'
unix_socket_permissions = 0777
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 64MB
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
CONF
  if [ -n "$RUN_USER" ]; then
    chown "$RUN_USER:$RUN_GROUP" "$DATA/pg_hba.conf" "$DATA/postgresql.conf"
  fi

  # Pick a free port and start; if someone grabs it between the check and
  # the bind, try the next one.
  port=$PORT_FIRST
  tries=0
  while [ "$tries" -lt "$PORT_TRIES" ]; do
    tries=$((tries + 1))
    if ! port_is_free "$port"; then
      port=$((port + 1))
      continue
    fi
    if as_pg "$bindir/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $port" -w -t "$READY_TIMEOUT" start >/dev/null 2>&1; then
      started=1
      break
    fi
    if tail -n 20 "$LOG" 2>/dev/null | grep -q 'could not bind\|Address already in use'; then
      port=$((port + 1))
      continue
    fi
    log_tail
    die "pg_ctl start failed (data directory $DATA)"
  done
  [ "$started" -eq 1 ] || { log_tail; die "no free TCP port found in $PORT_FIRST..$((PORT_FIRST + PORT_TRIES))"; }
  echo "$port" >"$PORTFILE"

  # Bounded wait for readiness over TCP.
  i=0
  until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -t 2; do
    i=$((i + 1))
    if [ "$i" -ge "$READY_TIMEOUT" ]; then
      log_tail
      do_stop || true
      die "server on 127.0.0.1:$port not ready after ${READY_TIMEOUT}s"
    fi
    sleep 1
  done

  # Create the test database over TCP with the password: checks auth too.
  if ! PGPASSWORD=$PG_PASSWORD "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
      -h 127.0.0.1 -p "$port" -U "$PG_USER_NAME" -d postgres \
      -c "CREATE DATABASE $PG_DATABASE OWNER $PG_USER_NAME" >>"$LOG" 2>&1; then
    log_tail
    do_stop || true
    die "could not create database $PG_DATABASE"
  fi
  echo "pg-test-server.sh: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on 127.0.0.1:$port (data $DATA${RUN_USER:+, run as $RUN_USER})" >&2
}

do_stop() {
  local bindir pid i
  [ -d "$DATA" ] || return 0
  [ -f "$DATA/postmaster.pid" ] || return 0
  bindir=$(find_pg_bindir)
  pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)
  if ! as_pg "$bindir/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
    as_pg "$bindir/pg_ctl" -D "$DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
  fi
  # Last resort: make sure no postmaster from this cluster survives.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.1
      i=$((i + 1))
    done
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "pg-test-server.sh: warning: postmaster $pid is still running" >&2
    return 1
  fi
  return 0
}

do_env() {
  local port
  [ -f "$PORTFILE" ] || die "no server started in $DIR (no $PORTFILE)"
  port=$(cat "$PORTFILE")
  cat <<ENV
export ORRERY_TEST_PG_PORT=$port
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$PG_USER_NAME
export PGPASSWORD=$PG_PASSWORD
export PGDATABASE=$PG_DATABASE
ENV
}

case $action in
  start) do_start ;;
  stop) do_stop ;;
  env) do_env ;;
esac
