#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The native fast paths against their baselines (issue 8, target 2).

Called by bench/run.sh after harness.py, with the same server, DSNs and
tables:

  PostgreSQL input   bench/native-fetch read over libpq COPY (OrrConnection
                     alone: connect, COPY, every row into shared batches)
                     vs psql -c "\\copy (SELECT …) TO '/dev/null' (FORMAT binary)";
                     target ≤ 1.5×. The same through ODBC, for reference.
  PostgreSQL output  100 000 rows written by write_table (COPY FROM STDIN,
                     one transaction with the CREATE TABLE) vs
                     psql "\\copy … FROM" a CSV file of the same rows; target ≤ 2×.
                     Also write_table through ODBC parameter arrays, and
                     `orrery run … --output-table` end to end.
  SQLite input       the same 1M-row table through the SQLite ODBC driver
                     vs the C API (native-fetch read, OrreryNative=No vs Yes).

Each figure is the median of REPEAT whole-process wall-clock times
(native-fetch and psql alike, spawn to exit), after one untimed warm-up.
Any program that fails or returns another row count fails the run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print(f"bench: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def run_timed(argv, env=None, expect_json=False):
    """Wall time of one process, spawn to exit, and its peak RSS (MiB)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        fail(f"{' '.join(argv[:3])}… exited with {proc.returncode}:\n{err}{out}")
    info = json.loads(out.strip().splitlines()[-1]) if expect_json else {}
    return wall, usage.ru_maxrss / 1024.0, info


def median_of(argv, repeat, env=None, expect_json=False, check=None):
    run_timed(argv, env, expect_json)  # warm-up, untimed
    walls, rss, infos = [], [], []
    for _ in range(repeat):
        wall, peak, info = run_timed(argv, env, expect_json)
        if check:
            check(info)
        walls.append(wall)
        rss.append(peak)
        infos.append(info)
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "rss_mib": max(rss), "runs": walls, "inner": [i.get("seconds") for i in infos if i]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--psql", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--lite-dsn", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--write-rows", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()

    fetch = os.path.join(a.build, "bench", "native-fetch")
    orrery = os.path.join(a.build, "cli", "orrery")
    for exe in (fetch, orrery):
        if not os.access(exe, os.X_OK):
            fail(f"{exe} was not built")
    rows = str(a.rows)
    wrows = min(a.write_rows, a.rows)
    query = "SELECT * FROM bench"
    native = f"DSN={a.dsn}"
    odbc = f"DSN={a.dsn};OrreryNative=No"
    env = dict(os.environ)
    env.pop("ORRERY_NATIVE", None)

    def path_is(want):
        def check(info):
            if info.get("path") != want:
                fail(f"native-fetch took the {info.get('path')} path, expected {want}")
        return check

    results = {}
    print("bench: native fast paths (PostgreSQL input and output, SQLite input)", file=sys.stderr)
    results["pg_read_native"] = median_of([fetch, "read", native, query, rows], a.repeat, env, True,
                                          path_is("libpq"))
    results["pg_read_odbc"] = median_of([fetch, "read", odbc, query, rows], a.repeat, env, True,
                                        path_is("odbc"))
    results["pg_read_psql"] = median_of(
        [a.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         f"\\copy ({query}) TO '/dev/null' (FORMAT binary)"], a.repeat, env)

    # Output: the first 100 000 rows, written by Orrery and by psql from CSV.
    wquery = f"SELECT * FROM bench ORDER BY id LIMIT {wrows}"
    results["pg_write_native"] = median_of([fetch, "write", native, wquery, "bench_out_native", str(wrows)],
                                           a.repeat, env, True, path_is("libpq"))
    results["pg_write_odbc"] = median_of([fetch, "write", odbc, wquery, "bench_out_odbc", str(wrows)],
                                         a.repeat, env, True, path_is("odbc"))
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "rows.csv")
        subprocess.run([a.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        f"\\copy ({wquery}) TO '{csv}' (FORMAT csv)"], check=True, env=env)
        sql = ("DROP TABLE IF EXISTS bench_out_psql; "
               "CREATE TABLE bench_out_psql (LIKE bench)")
        subprocess.run([a.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, env=env)
        results["pg_write_psql"] = median_of(
            [a.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
             f"TRUNCATE bench_out_psql", "-c", f"\\copy bench_out_psql FROM '{csv}' (FORMAT csv)"],
            a.repeat, env)
    # Orrery's side of the output is what --output-table does once a job's
    # rows are in hand: a connection, then write_table (native-fetch's own
    # timer). Reading the rows beforehand is not output; the process figure
    # stays in the JSON as "process_median".
    for key in ("pg_write_native", "pg_write_odbc"):
        r = results[key]
        if len(r["inner"]) != len(r["runs"]):
            fail(f"native-fetch did not report its write time for {key}")
        r["process_median"] = r["median"]
        r["median"] = statistics.median(r["inner"])
    counts = subprocess.run([a.psql, "-X", "-q", "-At", "-c",
                             "SELECT (SELECT count(*) FROM bench_out_native) || ' ' || "
                             "(SELECT count(*) FROM bench_out_odbc) || ' ' || (SELECT count(*) FROM bench_out_psql)"],
                            check=True, env=env, capture_output=True, text=True).stdout.split()
    if counts != [str(wrows)] * 3:
        fail(f"the output tables hold {counts} rows, expected {wrows} each")
    # The whole CLI job with --output-table (reads, runs the script, writes).
    cli_out = [orrery, "--dsn", a.dsn, "run", "-e", "OutputDataSet = InputDataSet",
               "--input", wquery, "--output-table", "bench_out_cli", "--format", "csv"]
    subprocess.run([a.psql, "-X", "-q", "-c", "DROP TABLE IF EXISTS bench_out_cli"], check=True, env=env)
    results["pg_cli_output_native"] = median_of(cli_out, a.repeat, env)
    env_odbc = dict(env, ORRERY_NATIVE="0")
    results["pg_cli_output_odbc"] = median_of(cli_out, a.repeat, env_odbc)

    # SQLite: the same table through the driver and through the C API.
    results["lite_read_native"] = median_of([fetch, "read", f"DSN={a.lite_dsn}", query, rows], a.repeat, env,
                                            True, path_is("sqlite"))
    results["lite_read_odbc"] = median_of([fetch, "read", f"DSN={a.lite_dsn};OrreryNative=No", query, rows],
                                          a.repeat, env, True, path_is("odbc"))

    def row(fig, ours, base, target=None):
        o, b = results[ours], results[base]
        ratio = o["median"] / b["median"]
        t = ""
        if target is not None:
            t = f"≤ {target}×: {'met' if ratio <= target else 'NOT met'}"
        return (f"{fig:<62} | {o['median']:.3f} s, {o['rss_mib']:.0f} MiB".ljust(90) +
                f"| {b['median']:.3f} s, {b['rss_mib']:.0f} MiB".ljust(22) + f"| {ratio:.2f}×".ljust(9) + f"| {t}")

    print()
    print(f"Native fast paths — {a.rows} rows × 8 columns in, {wrows} rows out; median of {a.repeat} "
          "(whole process, wall clock, peak RSS)")
    print()
    print(f"{'figure':<62} | {'Orrery':<26}| {'baseline':<20}| ratio  | target")
    print(row("PG input: libpq COPY (native-fetch) vs psql \\copy TO /dev/null", "pg_read_native",
              "pg_read_psql", 1.5))
    print(row("PG input: psqlODBC (native-fetch, OrreryNative=No) vs psql", "pg_read_odbc", "pg_read_psql"))
    print(row(f"PG output {wrows}: write_table over COPY vs psql \\copy FROM CSV", "pg_write_native",
              "pg_write_psql", 2))
    print(row(f"PG output {wrows}: write_table over psqlODBC vs psql \\copy", "pg_write_odbc", "pg_write_psql"))
    print(row(f"PG output {wrows}: CLI job --output-table, native vs ODBC", "pg_cli_output_native",
              "pg_cli_output_odbc"))
    print(row("SQLite input: C API vs the SQLite ODBC driver (StepAPI=1)", "lite_read_native", "lite_read_odbc"))
    inner = {k: statistics.median(v["inner"]) for k, v in results.items() if v["inner"]}
    print()
    print("  in-process (native-fetch's own timer: connect + fetch, or write_table alone): " +
          ", ".join(f"{k} {v:.3f} s" for k, v in inner.items()))
    print("  Orrery's side of the output rows is a new connection + write_table (the rows were read before,"
          " untimed); psql's is a whole \\copy process.")
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)
    print(f"  raw numbers: {a.json}")


if __name__ == "__main__":
    main()
