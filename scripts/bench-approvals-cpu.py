#!/usr/bin/env python3
"""CPU time per approval of `kechuang bench-approvals` (Linux, PostgreSQL on this machine).

Wall-clock latency and throughput swing with whatever else the machine runs; the CPU time an
approval costs does much less. This runs the benchmark and reads /proc at the start of the
approval phase (the "setup:" line) and at its end (the "approvals:" line): the CPU time of
the benchmark process and of the PostgreSQL processes serving the benchmark's database (their
process title names it) plus the WAL writer. It prints the benchmark's own output and then the
CPU per approval on each side.

  scripts/bench-approvals-cpu.py [--bin ./target/release/kechuang] DATABASE_URL BENCH_ARGS...
  scripts/bench-approvals-cpu.py postgres://postgres@127.0.0.1:5432/kc_bench --think-ms 0 --per-reviewer 40

The database must be fresh and empty, as for bench-approvals itself. With a SQLite path only
the benchmark process is measured (it is the database).
"""
import os
import subprocess
import sys
import time

args = sys.argv[1:]
binary = "./target/release/kechuang"
if args[:1] == ["--bin"]:
    binary, args = args[1], args[2:]
if not args:
    sys.exit(__doc__)
url, bench_args = args[0], args[1:]
dbname = url.rsplit("/", 1)[-1].split("?")[0] if url.startswith("postgres") else None
tick = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def pg_processes():
    found = {}
    if dbname is None:
        return found
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            title = open(f"/proc/{pid}/cmdline").read()
        except OSError:
            continue
        if title.startswith("postgres:") and (
            f" {dbname} " in title or "walwriter" in title or "wal writer" in title
        ):
            ticks = cpu_ticks(pid)
            if ticks is not None:
                found[pid] = ticks
    return found


proc = subprocess.Popen(
    [binary, "bench-approvals", "--database", url, *bench_args],
    stdout=subprocess.PIPE,
    text=True,
)
start = end = None
approvals = 0
for line in proc.stdout:
    print(line, end="", flush=True)
    if line.startswith("setup:"):
        start = (time.time(), cpu_ticks(proc.pid), pg_processes())
    elif line.startswith("approvals:"):
        end = (time.time(), cpu_ticks(proc.pid), pg_processes())
        approvals = int(line.split()[1])
if proc.wait() != 0 or start is None or end is None or approvals == 0:
    sys.exit(f"bench-approvals failed (exit {proc.returncode})")
client = (end[1] - start[1]) / tick
# Backends opened during the phase (pools connect lazily) count from zero.
server = sum(t - start[2].get(pid, 0) for pid, t in end[2].items()) / tick
wall = end[0] - start[0]
per = lambda s: s * 1e6 / approvals  # noqa: E731
print(
    f"CPU per approval: benchmark process {per(client):.0f} µs, PostgreSQL {per(server):.0f} µs, "
    f"total {per(client + server):.0f} µs ({(client + server) / wall:.2f} cores over {wall:.2f} s; "
    f"load average {open('/proc/loadavg').read().split()[0]})"
)
