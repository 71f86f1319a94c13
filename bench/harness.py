#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measures Orrery against its baselines; called by bench/run.sh.

run.sh prepares everything (release build, private PostgreSQL with the
`bench` table, private ODBC configuration with the DSN, a private
XDG_DATA_HOME for the demo database) and then runs this with the paths. This
file only measures, checks and reports: every program must succeed and
return exactly the expected number of rows, or the whole run fails with a
message and no table.

Wall-clock time: time.perf_counter() around spawning the program and waiting
for it. Peak RSS: ru_maxrss from wait4(), i.e. the largest single process of
the program's tree (its own, or that of a descendant it waited for, or of an
orphan this harness reaps as child subreaper). It is not the sum over the
tree; the separate "memory profile" run samples the whole tree's PSS.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


class BenchFailure(Exception):
    pass


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------------ processes

def become_subreaper():
    """Orphans of measured programs (a satellite whose zygote died first…)
    are re-parented to us, so we reap them, count their memory, and notice
    any that outlive their program."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log("warning: prctl(PR_SET_CHILD_SUBREAPER) failed; orphans' memory is not counted")
    except OSError:
        log("warning: no prctl; orphans' memory is not counted")


def read_ppid_map():
    ppids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                data = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses.
        rest = data[data.rfind(b")") + 2:].split()
        try:
            ppids[int(name)] = (int(rest[1]), data[data.find(b"(") + 1:data.rfind(b")")].decode(errors="replace"))
        except (IndexError, ValueError):
            continue
    return ppids


def descendants(root):
    ppids = read_ppid_map()
    children = {}
    for pid, (ppid, comm) in ppids.items():
        children.setdefault(ppid, []).append(pid)
    out = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append((pid, ppids[pid][1]))
        stack.extend(children.get(pid, []))
    return out


def reap_orphans(grace_s):
    """Reaps children left behind by the last program (we are their subreaper).
    Returns (max ru_maxrss in KiB, CPU seconds, [processes still alive after grace_s])."""
    maxrss = 0
    cpu = 0.0
    deadline = time.monotonic() + grace_s
    while True:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return maxrss, cpu, []
        if pid != 0:
            maxrss = max(maxrss, ru.ru_maxrss)
            cpu += ru.ru_utime + ru.ru_stime
            continue
        if time.monotonic() >= deadline:
            alive = [p for p in descendants(os.getpid()) if not is_launchpad(p[0])]
            return maxrss, cpu, alive
        time.sleep(0.02)


def is_launchpad(pid):
    """The CLI's resident launchpad (orrery-satellite --launchpad) is meant
    to outlive the CLI: it is no leftover. bench/run.sh kills it at the end."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"--launchpad" in f.read().split(b"\0")
    except OSError:
        return False


def launchpad_pids():
    """Pids of this run's launchpads (their lock files hold them)."""
    d = os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "orrery")
    pids = []
    try:
        names = os.listdir(d)
    except OSError:
        return pids
    for name in names:
        if name.endswith(".lock"):
            try:
                with open(os.path.join(d, name)) as f:
                    pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if is_launchpad(pid):
                pids.append(pid)
    return pids


def kill_launchpads():
    """Stops this run's launchpads (for the cold start figure); we are their
    subreaper, so we reap them."""
    pids = launchpad_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            deadline = time.monotonic() + 5
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
                time.sleep(0.01)


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the PSS of every descendant of this harness at ~20 Hz."""

    def __init__(self, interval=0.05):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop_event = threading.Event()
        self.peak_total_pss = 0
        self.peak_by_name = {}   # comm -> peak RSS of one process with that name
        self.samples = 0

    def run(self):
        me = os.getpid()
        while not self.stop_event.is_set():
            total = 0
            # A CLI's job runs in a child of the launchpad (which may not be
            # ours: whoever ran the CLI first started it); the launchpad
            # itself, a resident warm zygote, is reported apart.
            procs = [p for p in descendants(me) if not is_launchpad(p[0])]
            for lp in launchpad_pids():
                procs += descendants(lp)
            for pid, comm in procs:
                total += pss_kib(pid)
                r = rss_kib(pid)
                if r > self.peak_by_name.get(comm, 0):
                    self.peak_by_name[comm] = r
            self.peak_total_pss = max(self.peak_total_pss, total)
            self.samples += 1
            self.stop_event.wait(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_busy_s():
    """CPU seconds all CPUs spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


def proc_cpu_s(pid, with_children=False):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    f = data[data.rfind(b")") + 2:].split()
    # fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    t = int(f[11]) + int(f[12])
    if with_children:
        t += int(f[13]) + int(f[14])
    return t / CLK_TCK


def pg_cpu_s():
    """CPU seconds used by the benchmark's PostgreSQL: the postmaster, its
    live children, and the exited backends it reaped."""
    if not ARGS.pg_pid:
        return 0.0
    total = proc_cpu_s(ARGS.pg_pid, with_children=True)
    for pid, _ in descendants(ARGS.pg_pid):
        total += proc_cpu_s(pid)
    return total


def pg_children():
    return {pid for pid, _ in descendants(ARGS.pg_pid)} if ARGS.pg_pid else set()


def wait_pg_settled(baseline, timeout=3.0):
    """Waits until the backends the last program used have exited and been
    reaped by the postmaster: only then is their CPU time in its cutime."""
    deadline = time.monotonic() + timeout
    while ARGS.pg_pid and not pg_children() <= baseline and time.monotonic() < deadline:
        time.sleep(0.01)


def launchpad_cpu_s():
    """CPU seconds of this run's launchpads and of the satellites they
    forked (reaped by them, so in their cutime): a CLI's job runs there, not
    in the CLI's process tree."""
    total = 0.0
    for pid in launchpad_pids():
        total += proc_cpu_s(pid, with_children=True)
        for child, _ in descendants(pid):
            total += proc_cpu_s(child)
    return total


def self_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_measured(name, argv, env, timeout, sample_tree=False, timed=False):
    """Runs argv; returns dict(wall, maxrss_kib, stdout, stderr). Fails loudly
    on a non-zero exit, a timeout, or a process left running."""
    out_path = os.path.join(ARGS.work, "out.txt")
    err_path = os.path.join(ARGS.work, "err.txt")
    sampler = TreeSampler() if sample_tree else None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        if sampler:
            sampler.start()
        pg_baseline = pg_children()
        busy0, pg0, self0, lp0 = cpu_busy_s(), pg_cpu_s(), self_cpu_s(), launchpad_cpu_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                raise BenchFailure("%s did not finish within %d s: %s" % (name, timeout, shlex.join(argv)))
            time.sleep(0.001)
        wall = time.perf_counter() - t0
        wait_pg_settled(pg_baseline)
        busy1, pg1, self1, lp1 = cpu_busy_s(), pg_cpu_s(), self_cpu_s(), launchpad_cpu_s()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.stop()
    orphan_rss, orphan_cpu, alive = reap_orphans(grace_s=5.0 if ARGS.strict_leftovers else 2.0)
    with open(out_path, "rb") as f:
        stdout = f.read().decode(errors="replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode(errors="replace")
    if proc.returncode != 0:
        raise BenchFailure("%s exited with status %s\n  command: %s\n  stderr (last lines):\n%s%s"
                           % (name, proc.returncode, shlex.join(argv), indent(tail(stderr, 25)),
                              ("\n  stdout (last lines):\n" + indent(tail(stdout, 10))) if stdout.strip() else ""))
    if alive:
        LEFTOVERS.append({"figure": name, "processes": ["%d %s" % p for p in alive]})
        log("warning: %s left %d process(es) running after it exited: %s — killing them"
            % (name, len(alive), ", ".join("%d (%s)" % p for p in alive)))
        for pid, _ in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap_orphans(grace_s=1.0)
    # CPU time nobody in this benchmark used (other jobs on the machine):
    # busy time of all CPUs minus the program's tree, PostgreSQL and us.
    # Jiffy granularity: ±0.02 s or so.
    # The launchpad's and its satellites' CPU is the program's (a launchpad
    # started during this run counts whole: lp0 did not include it).
    lp_cpu = max(0.0, lp1 - lp0)
    foreign = ((busy1 - busy0) - (ru.ru_utime + ru.ru_stime + orphan_cpu) - (pg1 - pg0) - (self1 - self0)
               - lp_cpu)
    foreign = max(0.0, foreign)
    disturbed = foreign > max(0.1, 0.05 * wall)
    if disturbed and timed:
        log("warning: while %s ran (%.2f s), other processes used %.2f CPU-seconds" % (name, wall, foreign))
    result = {"wall_s": wall, "maxrss_kib": max(ru.ru_maxrss, orphan_rss),
              "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "pg_cpu_s": pg1 - pg0, "launchpad_cpu_s": lp_cpu,
              "foreign_cpu_s": foreign, "disturbed": disturbed, "stdout": stdout, "stderr": stderr}
    entry = {"program": name, "wall_s": wall, "foreign_cpu_s": foreign, "disturbed": disturbed,
             "timed": timed, "kept": True}
    DISTURBANCE.append(entry)
    result["entry"] = entry
    if sampler:
        result["tree_peak_pss_kib"] = sampler.peak_total_pss
        result["peak_rss_kib_by_process_name"] = sampler.peak_by_name
        result["samples"] = sampler.samples
    return result


def foreign_busy(seconds=1.0):
    """CPUs' worth of work done by processes outside the benchmark over @seconds."""
    busy0, pg0, self0, lp0 = cpu_busy_s(), pg_cpu_s(), self_cpu_s(), launchpad_cpu_s()
    time.sleep(seconds)
    return max(0.0, ((cpu_busy_s() - busy0) - (pg_cpu_s() - pg0) - (self_cpu_s() - self0)
                     - (launchpad_cpu_s() - lp0)) / seconds)


def wait_quiet(max_s):
    """Waits (up to @max_s) until other processes leave the CPUs alone.
    Returns the last measured foreign load (CPUs)."""
    deadline = time.monotonic() + max_s
    load = foreign_busy()
    if load < 0.15:
        return load
    log("other processes keep %.0f%% of a CPU busy; waiting up to %d s for the machine to quiet down"
        % (load * 100, max_s))
    while load >= 0.15 and time.monotonic() < deadline:
        load = foreign_busy(2.0)
    log("  … %s" % ("quiet now" if load < 0.15 else "still %.0f%% busy; going on" % (load * 100)))
    return load


def run_timed(name, argv, env, timeout, check=None):
    """run_measured for a figure that is reported: a run during which other
    processes on the machine used noticeable CPU is done again (up to
    --retries times); the last attempt is kept either way, and flagged.
    @check(result) validates the output (rows…) of each attempt."""
    for attempt in range(ARGS.retries + 1):
        r = run_measured(name, argv, env, timeout, timed=True)
        if check:
            check(r)
        if not r["disturbed"] or attempt == ARGS.retries:
            return r
        r["entry"]["kept"] = False
        wait_quiet(ARGS.quiet_wait)
        log("re-running %s (attempt %d of %d)" % (name, attempt + 2, ARGS.retries + 1))
    return r


def tail(text, n):
    lines = text.rstrip().splitlines()
    return "\n".join(lines[-n:]) if lines else "(empty)"


def indent(text):
    return "\n".join("    " + l for l in text.splitlines())


def parse_kv(name, stdout):
    for line in stdout.splitlines():
        if line.startswith("rows="):
            kv = dict(item.split("=", 1) for item in line.split())
            return {k: (int(v) if k in ("rows", "columns", "array_size") else float(v)) for k, v in kv.items()}
    raise BenchFailure("%s printed no 'rows=… seconds=…' line; stdout was:\n%s" % (name, indent(tail(stdout, 10))))


def check_rows(name, got, expected):
    if got != expected:
        raise BenchFailure("%s returned %s rows, expected exactly %d" % (name, got, expected))


def csv_cells(name, stdout):
    lines = [l.strip() for l in stdout.splitlines() if l.strip()]
    if not lines:
        raise BenchFailure("%s printed no result; expected CSV" % name)
    return [l.split(",") for l in lines]


# ------------------------------------------------------------------ figures

ROWS_SCRIPT = ("import pandas as pd\n"
               "OutputDataSet = pd.DataFrame({'bench_rows': [len(InputDataSet)]})\n")
DTYPES_SCRIPT = ("import pandas as pd\n"
                 "OutputDataSet = pd.DataFrame({'column': [str(c) for c in InputDataSet.columns],\n"
                 "                              'dtype': [str(t) for t in InputDataSet.dtypes],\n"
                 "                              'rows': len(InputDataSet)})\n")
TRIVIAL_SCRIPT = "OutputDataSet = InputDataSet"


def orrery_argv(dsn, script, query, fmt="csv"):
    argv = [ARGS.orrery]
    if dsn:
        argv += ["--dsn", dsn]
    return argv + ["run", "-e", script, "--input", query, "--format", fmt]


def satellite_peak_kib(dsn, env):
    """Peak RSS of the last job's satellite, from the job log (the zygote
    reports each satellite's rusage; the satellite is the launchpad's child,
    not the CLI's, so the CLI's wait4() does not see it)."""
    argv = [ARGS.orrery] + (["--dsn", dsn] if dsn else []) + ["log", "--limit", "1", "--format", "csv"]
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or len(lines) < 2:
        raise BenchFailure("%s failed: %s" % (shlex.join(argv), (r.stderr or r.stdout)[-500:]))
    header = lines[0].split(",")
    row = lines[1].split(",")
    try:
        return int(row[header.index("peak_memory_bytes")]) // 1024
    except (ValueError, IndexError):
        raise BenchFailure("%s: no peak_memory_bytes in:\n%s" % (shlex.join(argv), indent("\n".join(lines[:2]))))


def big_figures(env, dsn, with_pandas=True):
    """a, b, c: the big query through Orrery, the raw fetch and pandas.read_sql,
    round-robin so that drift on the machine touches all three alike. Orrery
    runs on its ODBC path (ORRERY_NATIVE=0: no native fast path), with its
    launchpad warm (the warm-up run starts it), as a user's second command
    would."""
    q = ARGS.query
    progs = {
        "orrery": ("Orrery CLI (1 job, %s)" % dsn, orrery_argv(dsn, ROWS_SCRIPT, q)),
        "raw": ("raw-odbc-fetch (%s)" % dsn, [ARGS.raw, "--rows", str(ARGS.rows), dsn, q]),
        # What a user gets without asking: the native fast path, chosen
        # because the driver is recognised.
        "orrery_default": ("Orrery CLI, default path (%s)" % dsn, orrery_argv(dsn, ROWS_SCRIPT, q)),
    }
    if with_pandas:
        progs["pandas"] = ("read_sql.py", [ARGS.python, ARGS.read_sql, "--rows", str(ARGS.rows), dsn, q])
    odbc_env = dict(env, ORRERY_NATIVE="0")
    timeout = max(600, ARGS.rows // 1000)

    def check(key, name, r):
        if key in ("orrery", "orrery_default"):
            cells = csv_cells(name, r["stdout"])
            if cells[0] != ["bench_rows"] or len(cells) != 2:
                raise BenchFailure("%s: unexpected output (expected bench_rows and one value):\n%s"
                                   % (name, indent(tail(r["stdout"], 10))))
            check_rows(name, int(cells[1][0]), ARGS.rows)
            r["rows"] = int(cells[1][0])
            r["engine_maxrss_kib"] = r["maxrss_kib"]
            r["satellite_maxrss_kib"] = satellite_peak_kib(dsn, env)
            r["maxrss_kib"] = max(r["maxrss_kib"], r["satellite_maxrss_kib"])
        else:
            kv = parse_kv(name, r["stdout"])
            check_rows(name, kv["rows"], ARGS.rows)
            r.update(kv)

    def one(key, sample_tree=False, timed=True):
        name, argv = progs[key]
        e = odbc_env if key == "orrery" else env
        if timed:
            r = run_timed(name, argv, e, timeout, lambda x: check(key, name, x))
        else:
            r = run_measured(name, argv, e, timeout, sample_tree)
            check(key, name, r)
        del r["stdout"], r["stderr"], r["entry"]
        return r

    # What InputDataSet looks like (and a warm-up of the table, driver, caches).
    log("checking what InputDataSet holds (untimed, %s)" % dsn)
    r = run_measured("Orrery CLI (dtypes)", orrery_argv(dsn, DTYPES_SCRIPT, q), odbc_env, timeout)
    cells = csv_cells("Orrery CLI (dtypes)", r["stdout"])
    if cells[0] != ["column", "dtype", "rows"]:
        raise BenchFailure("Orrery CLI (dtypes): unexpected output:\n%s" % indent(tail(r["stdout"], 12)))
    dtypes = {c[0]: c[1] for c in cells[1:]}
    check_rows("Orrery CLI (dtypes)", int(cells[1][2]), ARGS.rows)
    log("InputDataSet dtypes: " + ", ".join("%s %s" % kv for kv in dtypes.items()))
    for key in progs:
        if key not in ("orrery", "orrery_default"):
            log("warm-up run of %s (untimed)" % progs[key][0])
            one(key, timed=False)

    runs = {k: [] for k in progs}
    for i in range(ARGS.repeat):
        for key in progs:
            r = one(key)
            runs[key].append(r)
            log("run %d/%d %-18s %7.3f s  %8.1f MiB peak RSS" % (i + 1, ARGS.repeat, progs[key][0],
                                                                  r["wall_s"], r["maxrss_kib"] / 1024))
    profile = {}
    if not ARGS.no_memory_profile:
        for key in progs:
            log("memory profile of %s (untimed, tree sampled at 20 Hz)" % progs[key][0])
            r = one(key, sample_tree=True, timed=False)
            profile[key] = {"wall_s": r["wall_s"], "tree_peak_pss_kib": r["tree_peak_pss_kib"],
                            "peak_rss_kib_by_process_name": r["peak_rss_kib_by_process_name"],
                            "samples": r["samples"]}
    return runs, dtypes, profile


TEXT_QUERY = ("SELECT id, qty, price, amount, name::text AS name, flag, created, category FROM bench")


def warm_big_figures(env):
    """The same query through the engine API with a warm zygote: Orrery's
    data path without the CLI's and the zygote's start-up. Also the same
    with one column cast to text, which psqlODBC reports as SQL_LONGVARCHAR."""
    out = {}
    for key, query in (("varchar", ARGS.query), ("text", TEXT_QUERY)):
        name = "warm-jobs (%s, %s)" % (ARGS.dsn, key)
        log("%s: %d jobs reading %d rows into InputDataSet, one after another" % (name, ARGS.repeat, ARGS.rows))
        r = run_timed(name, [ARGS.warm_jobs, "--connection", ARGS.dsn, "--query", query,
                             "--script", ROWS_SCRIPT, "--rows-in", str(ARGS.rows), "--rows-out", "1",
                             "--sequential", str(ARGS.repeat), "--concurrent", "0", "--timeline"],
                      dict(env, ORRERY_NATIVE="0"), max(600, ARGS.rows // 1000 * ARGS.repeat))
        try:
            data = json.loads(r["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise BenchFailure("%s printed no JSON:\n%s" % (name, indent(tail(r["stdout"], 10))))
        if data.get("failed") != 0 or data["sequential"]["jobs"] != ARGS.repeat:
            raise BenchFailure("%s: not every job succeeded: %s" % (name, r["stdout"][:500]))
        lat = [x / 1000 for x in data["sequential"]["latencies_ms"]]
        tl = data["timeline_ms"]
        out[key] = {
            "query": query, "latencies_s": lat, "median_s": statistics.median(lat),
            "median_input_s": statistics.median((t["running"] - t["fetching"]) / 1000 for t in tl),
            "median_script_s": statistics.median((t["returning"] - t["running"]) / 1000 for t in tl),
            "median_return_s": statistics.median((t["succeeded"] - t["returning"]) / 1000 for t in tl),
            "timeline_ms": tl, "warm_up_ms": data["warm_up_ms"], "maxrss_kib": r["maxrss_kib"],
        }
        log("  median %.3f s: input (fetch + to the satellite) %.3f s, script (incl. building the frame) %.3f s, "
            "result %.3f s" % (out[key]["median_s"], out[key]["median_input_s"], out[key]["median_script_s"],
                               out[key]["median_return_s"]))
    return out


def check_trivial(name, argv, env):
    r = run_measured(name, argv, env, 120)
    cells = csv_cells(name, r["stdout"])
    if len(cells) != 2 or cells[1] != ["1"]:
        raise BenchFailure("%s: expected one column holding 1, got:\n%s" % (name, indent(tail(r["stdout"], 10))))
    return r


def hyperfine_figures(env):
    """d: the trivial job end to end through the CLI, on the demo database and
    on PostgreSQL, next to `python3 -c 'import pandas'`."""
    query = "SELECT 1"
    demo = orrery_argv(None, TRIVIAL_SCRIPT, query)
    pg = orrery_argv(ARGS.dsn, TRIVIAL_SCRIPT, query)
    imp = [ARGS.python, "-c", "import pandas"]
    log("checking the trivial jobs (untimed; creates the demo database)")
    pre = {"demo": check_trivial("trivial job (demo)", demo, env),
           "pg": check_trivial("trivial job (PostgreSQL)", pg, env)}
    r = run_measured("python3 -c 'import pandas'", imp, env, 120)
    pre["import_pandas"] = r

    out = os.path.join(ARGS.work, "hyperfine.json")
    cmds = [shlex.join(demo), shlex.join(pg), shlex.join(imp)]
    argv = [ARGS.hyperfine, "--style", "basic", "-N", "--warmup", "2", "--runs", str(ARGS.hyperfine_runs),
            "--export-json", out, "-n", "trivial job (CLI, demo SQLite)", cmds[0],
            "-n", "trivial job (CLI, PostgreSQL)", cmds[1], "-n", "python3 -c 'import pandas'", cmds[2]]
    log("hyperfine: %s" % shlex.join(argv[:8]) + " …")
    res = run_timed("hyperfine", argv, env, 900)
    with open(out) as f:
        data = json.load(f)
    by_name = {}
    for item, key in zip(data["results"], ("demo", "pg", "import_pandas")):
        by_name[key] = {
            "command": item["command"], "median_s": item["median"], "mean_s": item["mean"],
            "stddev_s": item.get("stddev"), "min_s": item["min"], "max_s": item["max"],
            "times_s": item["times"], "maxrss_kib_single_run": pre[key]["maxrss_kib"],
        }
        if any(code not in (0, None) for code in item.get("exit_codes", [])):
            raise BenchFailure("hyperfine: %s exited non-zero" % item["command"])
    sys.stderr.write(indent(res["stdout"].rstrip()) + "\n")
    return by_name


def cold_trivial_figures(env, runs=3):
    """The trivial job through the CLI when no launchpad runs yet (the first
    command after a reboot, a new build, or ten idle minutes): it starts one
    and waits for Python, numpy and pandas."""
    argv = orrery_argv(None, TRIVIAL_SCRIPT, "SELECT 1")
    walls = []
    for i in range(runs):
        kill_launchpads()
        r = run_timed("trivial job, no launchpad yet (demo)", argv, env, 120)
        cells = csv_cells("trivial job (cold)", r["stdout"])
        if len(cells) != 2 or cells[1] != ["1"]:
            raise BenchFailure("trivial job (cold): expected one column holding 1, got:\n%s"
                               % indent(tail(r["stdout"], 10)))
        walls.append(r["wall_s"])
    lp_rss = [rss_kib(pid) for pid in launchpad_pids()]
    return {"times_s": walls, "median_s": statistics.median(walls),
            "launchpad_rss_kib": max(lp_rss) if lp_rss else 0}


def warm_figures(env):
    log("warm-jobs: 100 jobs one after another, then 200 jobs 8 at a time (engine API, demo SQLite)")
    r = run_timed("warm-jobs", [ARGS.warm_jobs], env, 900)
    try:
        data = json.loads(r["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchFailure("warm-jobs printed no JSON:\n%s" % indent(tail(r["stdout"], 10)))
    if data.get("failed") != 0 or data["sequential"]["jobs"] != 100 or data["concurrent"]["jobs"] != 200:
        raise BenchFailure("warm-jobs: not every job succeeded: %s" % r["stdout"][:500])
    data["wall_s"] = r["wall_s"]
    data["maxrss_kib"] = r["maxrss_kib"]
    return data


# ------------------------------------------------------------------ report

def fmt_s(s):
    return "%.3f s" % s if s < 10 else "%.2f s" % s


def fmt_mib(kib):
    return "%.0f MiB" % (kib / 1024)


def rows_label(n):
    if n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def read_loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return [0.0, 0.0, 0.0]


def machine_info():
    info = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    for pkg in ("odbc-postgresql", "unixodbc", "libsqliteodbc", "python3-pandas", "python3-pyodbc",
                "python3-numpy", "postgresql-15"):
        try:
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                               text=True, timeout=10).stdout.strip()
            if v:
                info[pkg] = v
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        rev = subprocess.run(["git", "-C", ARGS.source_root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ARGS.source_root, "status", "--porcelain"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        info["git"] = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def print_table(rows):
    header = ("figure", "Orrery", "baseline", "ratio", "target")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(5)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))


# Rows other parts add to the table: (figure, Orrery, baseline, ratio, target).
EXTRA_ROWS = []


def native_rows():
    """The native fast paths' figures (bench/native.py, run just before):
    each is the median of whole processes, with its peak RSS."""
    if not ARGS.native_json:
        return []
    try:
        with open(ARGS.native_json) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        raise BenchFailure("cannot read the native figures %s: %s" % (ARGS.native_json, e))
    wrows = rows_label(min(ARGS.rows, 100000))
    spec = (
        ("PG input, native (libpq binary COPY) vs psql \\copy … TO /dev/null (FORMAT binary)",
         "pg_read_native", "pg_read_psql", 1.5),
        ("PG input, ODBC (psqlODBC) vs the same psql \\copy", "pg_read_odbc", "pg_read_psql", None),
        ("PG output of %s rows, native (connect + COPY FROM STDIN) vs psql \\copy … FROM a CSV file" % wrows,
         "pg_write_native", "pg_write_psql", 2.0),
        ("PG output of %s rows, ODBC parameter arrays vs the same psql \\copy" % wrows,
         "pg_write_odbc", "pg_write_psql", None),
        ("CLI job --output-table (%s rows), native vs ODBC" % wrows,
         "pg_cli_output_native", "pg_cli_output_odbc", None),
        ("SQLite input, native (C API) vs the SQLite ODBC driver", "lite_read_native", "lite_read_odbc", None),
    )
    rows = []
    for figure, ours, base, target in spec:
        if ours not in res or base not in res:
            raise BenchFailure("the native figures lack %s or %s (bench/native.py changed?)" % (ours, base))
        o, b = res[ours], res[base]
        ratio = o["median"] / b["median"]
        rows.append((figure, "%s, %.0f MiB" % (fmt_s(o["median"]), o["rss_mib"]),
                     "%s, %.0f MiB" % (fmt_s(b["median"]), b["rss_mib"]), "%.2f×" % ratio,
                     ("≤ %g×: " % target + ("met" if ratio <= target else "NOT met")) if target else "—"))
    return rows


def main():
    global ARGS, LEFTOVERS, DISTURBANCE
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--source-root", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--lite-dsn", required=True, help="the same table in an SQLite file (SQLite3 ODBC driver)")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", required=True)
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--hyperfine", default="hyperfine")
    p.add_argument("--hyperfine-runs", type=int, default=10)
    p.add_argument("--skip-warm", action="store_true")
    p.add_argument("--no-memory-profile", action="store_true")
    p.add_argument("--strict-leftovers", action="store_true")
    p.add_argument("--table-info", default="")
    p.add_argument("--retries", type=int, default=3,
                   help="re-runs of a measurement disturbed by other processes")
    p.add_argument("--quiet-wait", type=int, default=60,
                   help="seconds to wait for other processes to leave the CPUs before a re-run")
    p.add_argument("--pg-pid", type=int, default=0, help="the benchmark server's postmaster")
    p.add_argument("--native-json", help="bench/native.py's results, for the native fast-path rows")
    ARGS = p.parse_args()
    LEFTOVERS = []
    DISTURBANCE = []
    ARGS.query = "SELECT * FROM bench"
    ARGS.orrery = os.path.join(ARGS.build, "cli", "orrery")
    ARGS.raw = os.path.join(ARGS.build, "bench", "raw-odbc-fetch")
    ARGS.warm_jobs = os.path.join(ARGS.build, "bench", "warm-jobs")
    ARGS.read_sql = os.path.join(ARGS.source_root, "bench", "read_sql.py")
    for path in (ARGS.orrery, ARGS.raw, ARGS.warm_jobs):
        if not os.access(path, os.X_OK):
            raise BenchFailure("%s is missing (build failed?)" % path)

    become_subreaper()
    env = dict(os.environ)
    started = time.time()

    load_before = read_loadavg()
    idle_busy = wait_quiet(ARGS.quiet_wait)
    runs, dtypes, profile = big_figures(env, ARGS.dsn)
    lite_runs, lite_dtypes, lite_profile = big_figures(env, ARGS.lite_dsn, with_pandas=False)
    warm_big = warm_big_figures(env)
    trivial = hyperfine_figures(env)
    cold = cold_trivial_figures(env)
    warm = None if ARGS.skip_warm else warm_figures(env)

    # ---------------------------------------------------------------- table
    o, raw, pd_ = (median(runs[k], "wall_s") for k in ("orrery", "raw", "pandas"))
    o_rss, raw_rss, pd_rss = (median(runs[k], "maxrss_kib") for k in ("orrery", "raw", "pandas"))
    t_demo, t_pg, t_imp = (trivial[k]["median_s"] for k in ("demo", "pg", "import_pandas"))
    w = warm_big["varchar"]["median_s"]
    label = "%s×8 from PostgreSQL into InputDataSet" % rows_label(ARGS.rows)

    def verdict(ok):
        return "met" if ok else "NOT met"

    od, od_rss = median(runs["orrery_default"], "wall_s"), median(runs["orrery_default"], "maxrss_kib")
    lo, lraw = (median(lite_runs[k], "wall_s") for k in ("orrery", "raw"))
    lo_rss, lraw_rss = (median(lite_runs[k], "maxrss_kib") for k in ("orrery", "raw"))
    lod = median(lite_runs["orrery_default"], "wall_s")
    o_eng, o_sat = (median(runs["orrery"], k) for k in ("engine_maxrss_kib", "satellite_maxrss_kib"))
    t_cold = cold["median_s"]

    table = [
        (label + " (ODBC path) vs raw ODBC fetch",
         "%s, %s" % (fmt_s(o), fmt_mib(o_rss)), "%s, %s" % (fmt_s(raw), fmt_mib(raw_rss)),
         "%.2f×" % (o / raw), "≤ 1.15×: " + verdict(o / raw <= 1.15)),
        ("… vs pandas.read_sql over pyodbc",
         "%s, %s" % (fmt_s(o), fmt_mib(o_rss)), "%s, %s" % (fmt_s(pd_), fmt_mib(pd_rss)),
         "%.2f× (%.1f× faster)" % (o / pd_, pd_ / o), "≥ 3× faster: " + verdict(pd_ / o >= 3)),
        ("… minus the trivial PostgreSQL job, vs raw ODBC fetch",
         fmt_s(o - t_pg), fmt_s(raw), "%.2f×" % ((o - t_pg) / raw), "(derived: start-up subtracted)"),
        ("… warm engine (API, no start-up), vs raw ODBC fetch",
         fmt_s(w), fmt_s(raw), "%.2f×" % (w / raw), "(the data path alone)"),
        ("… Orrery's default path (libpq binary COPY, chosen for psqlODBC) vs raw ODBC fetch",
         "%s, %s" % (fmt_s(od), fmt_mib(od_rss)), "%s, %s" % (fmt_s(raw), fmt_mib(raw_rss)),
         "%.2f×" % (od / raw), "(what a user gets by default)"),
        ("… Orrery's default path vs pandas.read_sql over pyodbc",
         "%s, %s" % (fmt_s(od), fmt_mib(od_rss)), "%s, %s" % (fmt_s(pd_), fmt_mib(pd_rss)),
         "%.2f× (%.1f× faster)" % (od / pd_, pd_ / od), "(what a user gets by default)"),
        ("%s×8 from SQLite (ODBC path, SQLite3 driver) vs raw ODBC fetch" % rows_label(ARGS.rows),
         "%s, %s" % (fmt_s(lo), fmt_mib(lo_rss)), "%s, %s" % (fmt_s(lraw), fmt_mib(lraw_rss)),
         "%.2f×" % (lo / lraw), "≤ 1.15×: " + verdict(lo / lraw <= 1.15)),
        ("… Orrery's default path (SQLite C API, chosen for the SQLite3 driver) vs raw ODBC fetch",
         fmt_s(lod), fmt_s(lraw), "%.2f×" % (lod / lraw), "(what a user gets by default)"),
        ("trivial job end to end (CLI, demo SQLite) vs python3 -c 'import pandas'",
         fmt_s(t_demo), fmt_s(t_imp), "%.2f×" % (t_demo / t_imp), "≤ 0.2×: " + verdict(t_demo / t_imp <= 0.2)),
        ("trivial job end to end (CLI, PostgreSQL) vs python3 -c 'import pandas'",
         fmt_s(t_pg), fmt_s(t_imp), "%.2f×" % (t_pg / t_imp), "≤ 0.2×: " + verdict(t_pg / t_imp <= 0.2)),
        ("… the first one, no launchpad running yet (demo SQLite)",
         fmt_s(t_cold), fmt_s(t_imp), "%.2f×" % (t_cold / t_imp), "(starts the launchpad: once per 10 idle min)"),
    ]
    if warm:
        p50, p99 = warm["sequential"]["p50_ms"], warm["sequential"]["p99_ms"]
        table += [
            ("warm trivial job, engine API, demo SQLite: p50 / p99 of 100 in a row",
             "%.1f / %.1f ms" % (p50, p99), "—", "—",
             "p50 ≤ 20, p99 ≤ 50 ms: " + verdict(p50 <= 20 and p99 <= 50)),
            ("warm trivial jobs, 200 run 8 at a time",
             "%.1f jobs/s" % warm["jobs_per_second"], "—", "—",
             "all 200 succeed: " + verdict(warm["concurrent"]["jobs"] == 200 and warm.get("failed") == 0)),
        ]
    table += native_rows()
    for row in EXTRA_ROWS:
        table.append(row)

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rows": ARGS.rows, "repeat": ARGS.repeat, "query": ARGS.query, "dsn": ARGS.dsn,
        "table": ARGS.table_info, "machine": machine_info(),
        "input_dataset_dtypes": dtypes,
        "big": {k: {"runs": v, "median_wall_s": median(v, "wall_s"), "median_maxrss_kib": median(v, "maxrss_kib")}
                for k, v in runs.items()},
        "memory_profile": profile,
        "sqlite": {"dsn": ARGS.lite_dsn, "input_dataset_dtypes": lite_dtypes, "memory_profile": lite_profile,
                   "big": {k: {"runs": v, "median_wall_s": median(v, "wall_s"),
                               "median_maxrss_kib": median(v, "maxrss_kib")} for k, v in lite_runs.items()}},
        "cold_trivial": cold,
        "warm_big": warm_big, "trivial": trivial, "warm": warm, "leftover_processes": LEFTOVERS,
        "loadavg_before": load_before, "busy_cpus_before": idle_busy, "loadavg_after": read_loadavg(),
        "runs_log": DISTURBANCE,
        "table_rows": [dict(zip(("figure", "orrery", "baseline", "ratio", "target"), r)) for r in table],
        "harness_seconds": time.time() - started,
    }
    os.makedirs(os.path.dirname(ARGS.json), exist_ok=True)
    with open(ARGS.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    # ---------------------------------------------------------------- print
    print()
    print("Orrery benchmark — %d rows × 8 columns, median of %d runs (wall clock, peak RSS of the largest process)"
          % (ARGS.rows, ARGS.repeat))
    print()
    print_table(table)
    print()
    print("Details (medians):")
    for key, name in (("orrery", "Orrery CLI, whole run"), ("raw", "raw-odbc-fetch, whole process"),
                      ("pandas", "read_sql.py, whole process")):
        v = runs[key]
        extra = ""
        if key == "orrery":
            extra = "; its satellite (the launchpad's child) %.2f CPU-s" % median(v, "launchpad_cpu_s")
        if key == "raw":
            extra = "; in-process: connect %.3f s, execute %.3f s, fetch %.3f s" % (
                median(v, "connect"), median(v, "execute"), median(v, "fetch"))
        elif key == "pandas":
            extra = "; in-process: import pandas+pyodbc %.3f s, connect %.3f s, read_sql %.3f s" % (
                median(v, "import"), median(v, "connect"), median(v, "read_sql"))
        print("  %-30s %s (min %s, max %s), user %.2f s + sys %.2f s, peak RSS %s%s"
              % (name, fmt_s(median(v, "wall_s")), fmt_s(min(r["wall_s"] for r in v)),
                 fmt_s(max(r["wall_s"] for r in v)), median(v, "user_s"), median(v, "sys_s"),
                 fmt_mib(median(v, "maxrss_kib")), extra))
    print("  Orrery peak RSS per process (medians): engine (the CLI) %s, satellite %s (from the job log)"
          % (fmt_mib(o_eng), fmt_mib(o_sat)))
    print("  SQLite: Orrery CLI %s (engine %s, satellite %s), raw-odbc-fetch %s; InputDataSet dtypes: %s"
          % (fmt_s(lo), fmt_mib(median(lite_runs["orrery"], "engine_maxrss_kib")),
             fmt_mib(median(lite_runs["orrery"], "satellite_maxrss_kib")), fmt_s(lraw),
             ", ".join("%s %s" % kv for kv in lite_dtypes.items())))
    print("  launchpad: first trivial job (starting it) %s (runs: %s); its resident RSS %s"
          % (fmt_s(t_cold), ", ".join(fmt_s(t) for t in cold["times_s"]), fmt_mib(cold["launchpad_rss_kib"])))
    for key, name in (("orrery", "Orrery CLI"), ("raw", "raw-odbc-fetch"), ("pandas", "read_sql.py")):
        if key in profile:
            pr = profile[key]
            procs = ", ".join("%s %s" % (n, fmt_mib(k)) for n, k in
                              sorted(pr["peak_rss_kib_by_process_name"].items(), key=lambda x: -x[1]))
            print("  memory profile %-15s peak PSS of the whole tree %s; peak RSS per process: %s"
                  % (name, fmt_mib(pr["tree_peak_pss_kib"]), procs))
    for key, what in (("varchar", "as declared"), ("text", "name::text, psqlODBC says SQL_LONGVARCHAR")):
        x = warm_big[key]
        print("  warm engine, %-43s %s: input (fetch + to the satellite) %s, script %s, result %s"
              % (what, fmt_s(x["median_s"]), fmt_s(x["median_input_s"]), fmt_s(x["median_script_s"]),
                 fmt_s(x["median_return_s"])))
    print("  InputDataSet dtypes: " + ", ".join("%s %s" % kv for kv in dtypes.items()))
    print("  trivial jobs (hyperfine, %d runs after 2 warm-ups): demo %s ± %.3f, PostgreSQL %s ± %.3f, "
          "import pandas %s ± %.3f" % (ARGS.hyperfine_runs, fmt_s(t_demo), trivial["demo"]["stddev_s"] or 0,
                                       fmt_s(t_pg), trivial["pg"]["stddev_s"] or 0, fmt_s(t_imp),
                                       trivial["import_pandas"]["stddev_s"] or 0))
    if warm:
        s, c = warm["sequential"], warm["concurrent"]
        print("  warm-jobs: zygote warm-up %.0f ms; in a row: p50 %.1f, p90 %.1f, p99 %.1f, max %.1f ms; "
              "8 at a time: %.1f jobs/s, latency p50 %.1f, p99 %.1f ms; peak RSS %s"
              % (warm["warm_up_ms"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"],
                 warm["jobs_per_second"], c["p50_ms"], c["p99_ms"], fmt_mib(warm["maxrss_kib"])))
    print("  load average before %.2f, after %.2f (1 min)" % (load_before[0], report["loadavg_after"][0]))
    redone = [d for d in DISTURBANCE if d["timed"] and not d["kept"]]
    disturbed = [d for d in DISTURBANCE if d["timed"] and d["kept"] and d["disturbed"]]
    if disturbed:
        print("  WARNING: other processes on this machine used CPU during %d reported run(s) even after "
              "%d re-run(s); the worst: %s" % (len(disturbed), len(redone), "; ".join(
                  "%s %.2f CPU-s in %.2f s" % (d["program"], d["foreign_cpu_s"], d["wall_s"])
                  for d in sorted(disturbed, key=lambda d: -d["foreign_cpu_s"])[:3])))
    else:
        print("  no other process used noticeable CPU during the reported runs (%d disturbed run(s) were done again)"
              % len(redone))
    if LEFTOVERS:
        print("  WARNING: processes outlived their program: %s" % LEFTOVERS)
    print()
    print("Raw numbers: %s" % ARGS.json)


if __name__ == "__main__":
    try:
        main()
    except BenchFailure as e:
        sys.stderr.write("\n" + "=" * 72 + "\nbench: FAILED — no results are reported.\n%s\n" % e + "=" * 72 + "\n")
        sys.exit(1)
