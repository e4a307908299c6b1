#!/usr/bin/env python3
"""Requests/s of fetch and create through `appkeys serve`, by store: SQLite and PostgreSQL,
one server and two servers on one store, all on this machine.

usage: store_bench.py --server PATH/TO/appkeys --load PATH/TO/appkeys_store_load
                      [--seconds 2] [--threads 8] [--json OUT]

PostgreSQL: the database APPKEYS_TEST_POSTGRES_URI names (benchmarks/run starts a throwaway
cluster with scripts/with-pg-cluster); each configuration gets a fresh schema, each SQLite
one a fresh file. For each run it also reads how much CPU time went to the servers, to
PostgreSQL and to the load generator (from /proc), which says what bounds the figure: on a
2-core machine all three share the cores, so "cores busy" near 2 means CPU-bound.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "serve"))
import serve_support  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except OSError:
        return 0.0


def postgres_cpu():
    """CPU seconds of every process named postgres (the cluster's backends included)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as f:
                if f.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        total += cpu_seconds(int(entry))
    return total


def run_load(load, op, threads, seconds, urls, servers):
    server_before = sum(cpu_seconds(s.proc.pid) for s in servers)
    pg_before = postgres_cpu()
    child_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([load, "--op", op, "--threads", str(threads), "--seconds", str(seconds)]
                       + urls, capture_output=True, timeout=300)
    child_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("store_load failed: " + p.stderr.decode("utf-8", "replace"))
    result = json.loads(p.stdout)
    wall = result["seconds"]
    # Setup (register, scrypt login) is in the CPU figures too; it is small next to the run.
    result["cpu_servers"] = (sum(cpu_seconds(s.proc.pid) for s in servers) - server_before) / wall
    result["cpu_postgres"] = (postgres_cpu() - pg_before) / wall
    result["cpu_load"] = ((child_after.ru_utime + child_after.ru_stime)
                          - (child_before.ru_utime + child_before.ru_stime)) / wall
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args()

    configs = [("sqlite", 1), ("sqlite", 2), ("postgres", 1), ("postgres", 2)]
    if not os.environ.get(serve_support.POSTGRES_URI_VARIABLE):
        print("store_bench: %s is not set: PostgreSQL left out (benchmarks/run starts a "
              "cluster)" % serve_support.POSTGRES_URI_VARIABLE, file=sys.stderr)
        configs = [c for c in configs if c[0] != "postgres"]
    runs = []
    for kind, count in configs:
        with tempfile.TemporaryDirectory(prefix="appkeys-store-bench-") as tmp, \
                serve_support.Store(kind, tmp, "the store benchmark") as store:
            servers = [serve_support.Serve(args.server, ["--port", "0", "--store", store.uri])
                       for _ in range(count)]
            try:
                urls = [s.url for s in servers]
                if not all(urls):
                    raise RuntimeError("a server did not start")
                for op in ("fetch", "create"):
                    r = run_load(args.load, op, args.threads, args.seconds, urls, servers)
                    r["store"] = kind
                    runs.append(r)
                    print("store bench: %-8s %d server(s) %-6s %8.0f /s  (%d errors; cores: "
                          "servers %.2f, postgres %.2f, load %.2f)"
                          % (kind, count, op, r["per_second"], r["errors"], r["cpu_servers"],
                             r["cpu_postgres"], r["cpu_load"]), flush=True)
            finally:
                for s in servers:
                    s.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "seconds": args.seconds, "cores": os.cpu_count(),
                       "runs": runs}, f, indent=2)


if __name__ == "__main__":
    main()
