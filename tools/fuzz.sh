#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Fuzz the satellite wire format (frames, payload decoders, batch validator)
# with libFuzzer, ASan and UBSan:
#
#   tools/fuzz.sh [SECONDS]
#
# Builds tests/fuzz-wire.c with clang-14 straight from the sources it needs
# (no meson, a throwaway config.h), then runs it for SECONDS (argument, else
# $ORRERY_FUZZ_SECONDS, else 30) over a copy of tests/fuzz-corpus; the seed
# corpus itself is never modified. Prints one summary line.
#
# Environment:
#   ORRERY_FUZZ_SECONDS    run time when no argument is given (default 30)
#   ORRERY_FUZZ_CC         compiler (default clang-14)
#   ORRERY_FUZZ_ARTIFACTS  where crashing inputs and the log are kept
#                          (default ./fuzz-artifacts, created only on a crash)
#   ORRERY_FUZZ_ARGS       extra libFuzzer arguments (word-split)
#
# Exit status: 0 if nothing was found, 1 if the fuzzer found a crash, a leak
# or a timeout (or the build failed), 77 (skip) if the compiler is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${1:-${ORRERY_FUZZ_SECONDS:-30}}
CC=${ORRERY_FUZZ_CC:-clang-14}
ARTIFACTS=${ORRERY_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}

case $SECS in
  ''|*[!0-9]*) echo "fuzz.sh: seconds must be a whole number, not '$SECS'" >&2; exit 2 ;;
esac
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "fuzz.sh: $CC not found; skipping the fuzzer (install clang-14 and libclang-rt-14-dev)"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/orrery-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/config.h" <<'EOF'
#pragma once
#define PACKAGE_VERSION "0"
#define GETTEXT_PACKAGE "orrery"
#define LOCALEDIR "/usr/share/locale"
EOF

read -r -a glib_flags <<<"$(pkg-config --cflags --libs glib-2.0 gobject-2.0 gio-2.0)"
# UBSan findings must stop the run like ASan's do, or they scroll by unseen.
if ! "$CC" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
    -D_GNU_SOURCE \
    -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
    -include "$WORK/config.h" -I"$WORK" -I"$ROOT/core" \
    "$ROOT/core/orr-wire.c" "$ROOT/core/orr-batch.c" "$ROOT/core/orr-types.c" \
    "$ROOT/core/orr-error.c" "$ROOT/tests/fuzz-wire.c" \
    "${glib_flags[@]}" -o "$WORK/fuzz-wire" 2>"$WORK/build.log"; then
  cat "$WORK/build.log" >&2
  echo "fuzz.sh: building the fuzzer failed"
  exit 1
fi

mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp "$ROOT"/tests/fuzz-corpus/* "$WORK/corpus/"

read -r -a extra_args <<<"${ORRERY_FUZZ_ARGS:-}"
rc=0
start=$SECONDS
# libFuzzer's own exit code for a finding is 77, which meson reads as
# "skipped": the status is decided here instead. The sanitizer options are
# the fuzzer's own, not those of a surrounding sanitizer test run (which
# turns leak detection off for the embedded Python).
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS='' UBSAN_OPTIONS=print_stacktrace=1 \
"$WORK/fuzz-wire" \
  -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -detect_leaks=1 -print_final_stats=1 \
  -artifact_prefix="$WORK/artifacts/" \
  "${extra_args[@]}" "$WORK/corpus" >"$WORK/fuzz.log" 2>&1 || rc=$?
elapsed=$((SECONDS - start))

stat() {
  sed -n "s/^stat::$1: *//p" "$WORK/fuzz.log" | tail -n 1
}
last=$(grep -E '^#[0-9]+' "$WORK/fuzz.log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
summary="${execs:-?} execs in ${elapsed}s (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"

found=$(find "$WORK/artifacts" -type f | sort)
if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
  echo "fuzz-wire: OK: $summary"
  exit 0
fi

mkdir -p "$ARTIFACTS"
cp "$WORK/fuzz.log" "$ARTIFACTS/fuzz.log"
for f in $found; do
  cp "$f" "$ARTIFACTS/"
done
# The fuzzer's report (sanitizer or g_error), for the test log.
grep -m 1 -A 40 -E '^==[0-9]+== ?ERROR|runtime error|fatal log message|^ALARM' \
  "$WORK/fuzz.log" >&2 || tail -n 40 "$WORK/fuzz.log" >&2
names=$(for f in $found; do printf ' %s' "$(basename "$f")"; done)
echo "fuzz-wire: FAILED (libFuzzer exit $rc):$names kept in $ARTIFACTS; $summary"
exit 1
