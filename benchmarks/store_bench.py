#!/usr/bin/env python3
"""Requests/s of fetch and create through `appkeys serve`, by store: SQLite and PostgreSQL,
one server and two servers on one store, all on this machine.

usage: store_bench.py --server PATH/TO/appkeys --load PATH/TO/appkeys_store_load
                      [--seconds 2] [--threads 8] [--json OUT]

PostgreSQL: the database APPKEYS_TEST_POSTGRES_URI names (benchmarks/run starts a throwaway
cluster with scripts/with-pg-cluster, durable like SQLite's store: fsync on); each
configuration gets a fresh schema, each SQLite one a fresh file. For each run it also reads how much CPU time went to the servers, to
PostgreSQL and to the load generator (from /proc), which says what bounds the figure: on a
2-core machine all three share the cores, so "cores busy" near 2 means CPU-bound.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

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


def postmaster_pid():
    """The pid of the cluster scripts/pg-cluster started for APPKEYS_TEST_POSTGRES_URI (its
    host parameter is the cluster's directory), or None."""
    uri = os.environ.get(serve_support.POSTGRES_URI_VARIABLE, "")
    host = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).get("host", [""])[0]
    try:
        with open(os.path.join(host, "data", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def postgres_cpu():
    """CPU seconds of our cluster: its postmaster and every backend it forked (other
    clusters on the machine left out); of every process named postgres if it is unknown."""
    root = postmaster_pid()
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        name = head.split("(", 1)[1]
        ppid = int(tail.split()[1])
        pid = int(entry)
        if (root is not None and (pid == root or ppid == root)) or (
                root is None and name == "postgres"):
            total += cpu_seconds(pid)
    return total


def run_load(load, op, threads, seconds, urls, servers):
    p = subprocess.Popen([load, "--op", op, "--threads", str(threads), "--seconds",
                          str(seconds)] + urls, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    ready = p.stdout.readline()
    if ready.strip() != b"ready":
        p.kill()
        raise RuntimeError("store_load failed: " + p.stderr.read().decode("utf-8", "replace"))
    # The counters from here on: setup (registrations, scrypt logins) stays out of them.
    server_before = sum(cpu_seconds(s.proc.pid) for s in servers)
    pg_before = postgres_cpu()
    load_before = cpu_seconds(p.pid)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    line = p.stdout.readline()
    load_after = cpu_seconds(p.pid)  # still alive until it has written its answer... almost
    server_after = sum(cpu_seconds(s.proc.pid) for s in servers)
    pg_after = postgres_cpu()
    out, err = p.communicate(timeout=300)
    if p.returncode != 0 or not line:
        raise RuntimeError("store_load failed: " + err.decode("utf-8", "replace"))
    result = json.loads(line)
    wall = result["seconds"]
    result["cpu_servers"] = (server_after - server_before) / wall
    result["cpu_postgres"] = (pg_after - pg_before) / wall
    result["cpu_load"] = (load_after - load_before) / wall
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
