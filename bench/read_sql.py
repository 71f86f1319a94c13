#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The baseline a user would otherwise pick: pyodbc + pandas.read_sql.

    /usr/bin/python3 bench/read_sql.py [--rows N] DSN-OR-CONNECTION-STRING QUERY

Connects with pyodbc (same DSN, same driver options as Orrery), reads QUERY
into a DataFrame with pandas.read_sql, and prints one line:

    rows=1000000 seconds=S import=S connect=S read_sql=S

where seconds = read_sql (query sent to DataFrame built), import = importing
pandas and pyodbc, connect = pyodbc.connect. With --rows N, a different row
count is an error (exit status 1).
"""
import sys
import time

t_start = time.perf_counter()
try:
    import pandas
    import pyodbc
except ImportError as e:  # the baseline must run, or the benchmark means nothing
    sys.stderr.write(
        "read_sql.py: cannot import %s with %s: %s\n"
        "  (on Debian: apt-get install python3-pandas python3-pyodbc)\n"
        % (e.name, sys.executable, e))
    sys.exit(1)
t_imported = time.perf_counter()


def main(argv):
    expected = None
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--rows" and i + 1 < len(argv):
            expected = int(argv[i + 1])
            i += 2
            continue
        args.append(argv[i])
        i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    target, query = args
    conn_str = target if "=" in target else "DSN=" + target

    t0 = time.perf_counter()
    conn = pyodbc.connect(conn_str)  # as a user writes it
    t1 = time.perf_counter()
    import warnings
    with warnings.catch_warnings():
        # pandas ≥ 2 warns that it only "supports" SQLAlchemy; DBAPI2 works.
        warnings.simplefilter("ignore", UserWarning)
        df = pandas.read_sql(query, conn)
    t2 = time.perf_counter()
    conn.close()

    rows = len(df)
    print("rows=%d seconds=%.6f import=%.6f connect=%.6f read_sql=%.6f columns=%d"
          % (rows, t2 - t1, t_imported - t_start, t1 - t0, t2 - t1, len(df.columns)))
    if expected is not None and rows != expected:
        sys.stderr.write("read_sql.py: got %d rows, expected %d\n" % (rows, expected))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
