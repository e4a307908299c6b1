#!/usr/bin/env python3
"""PostgreSQL restarts while two `appkeys serve` processes run on it.

Usage: pg_restart_test.py PATH/TO/appkeys PATH/TO/scripts/pg-cluster

A cluster of its own (scripts/pg-cluster start, in a temporary directory: stopping the
shared test cluster would break the tests running beside this one), servers A and B on
it, and a loader thread per server creating keys. Then the database is stopped
(`pg_ctl stop -m fast`) and checked:
- during the outage every request (a read, a create, a key login, on A and on B) gets a
  5xx with a JSON error body, and never a 2xx or a 4xx (a wrong answer); each comes back
  within the hang bound (its time is printed, for information);
- after `pg_ctl start` the same servers, never restarted, answer again on their own;
- every key whose create was acknowledged (201) before, during or after the outage is
  listed and logs in; the loaders created keys on both sides of the outage.
Prints "N passed, M failed". Needs PostgreSQL's server binaries: under ctest
(APPKEYS_TEST_POSTGRES_REQUIRED=1) their absence fails the test, by hand it skips it.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402
from serve_support import Serve, call  # noqa: E402

EMAIL, PASSWORD = "ann@example.com", "ann-restart-pw-1"
CHECKS = serve_support.Checks()
check = CHECKS.check


class Loader(threading.Thread):
    """Creates keys through one server until stopped, deleting the oldest past 10 so the
    20-key limit never interferes; keeps what was acknowledged."""

    def __init__(self, base, refresh, tag):
        super().__init__()
        self.base, self.refresh, self.tag = base, refresh, tag
        self.stop_event = threading.Event()
        self.acked = {}  # id -> value: created (201) and not deleted (204)
        self.deleted = {}  # id -> value: deletion acknowledged
        self.unsure = set()  # a delete whose answer was not 204: it may have happened
        self.statuses = {}
        self.phase = "before"
        self.acked_in = {"before": 0, "outage": 0, "after": 0}

    def run(self):
        serial = 0
        while not self.stop_event.is_set():
            serial += 1
            status, body = call(self.base, "POST", "/auth/api_keys",
                                {"name": "%s-%d" % (self.tag, serial)}, bearer=self.refresh)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 201:
                self.acked[body["_id"]] = body["key"]
                self.acked_in[self.phase] += 1
            else:
                time.sleep(0.05)
            live = [k for k in self.acked if k not in self.unsure]
            if len(live) > 10:
                oldest = live[0]
                status, _ = call(self.base, "DELETE", "/auth/api_keys/" + oldest,
                                 bearer=self.refresh)
                if status == 204:
                    self.deleted[oldest] = self.acked.pop(oldest)
                else:
                    self.unsure.add(oldest)
            time.sleep(0.01)


def main(argv):
    if len(argv) != 3:
        print("usage: pg_restart_test.py PATH/TO/appkeys PATH/TO/pg-cluster", file=sys.stderr)
        return 2
    exe, cluster = argv[1], argv[2]
    with tempfile.TemporaryDirectory(prefix="appkeys-pg-restart-") as tmp:
        # Its own temporary directory, directly under the system's: as root the cluster
        # runs as the postgres user, which cannot enter `tmp` (mode 0700).
        data = tempfile.mkdtemp(prefix="appkeys-pg-restart-cluster-")
        started = subprocess.run([cluster, "start", data], capture_output=True, timeout=120)
        if started.returncode != 0:
            message = started.stderr.decode("utf-8", "replace").strip()
            if os.environ.get("APPKEYS_TEST_POSTGRES_REQUIRED") == "1":
                print("FAIL  cannot start a PostgreSQL cluster: " + message)
                return 1
            print("SKIPPED  the restart test: cannot start a PostgreSQL cluster: " + message)
            return 0
        uri = started.stdout.decode().strip().split("=", 1)[1].strip("'")
        log = os.path.join(tmp, "servers.log")
        servers = []
        loaders = []
        try:
            servers = [Serve(exe, ["--port", "0", "--store", uri, "--user",
                                   "%s%d:%s" % (name, 0, PASSWORD)], stderr=log)
                       for name in ("a", "b")]
            if not check("A and B listen", all(s.url for s in servers)):
                return CHECKS.summary()
            bases = [s.url for s in servers]
            sessions = []
            for name, base in zip("ab", bases):
                client = serve_support.Client(base)
                sessions.append(client.login("local-userpass",
                                             {"username": name + "0", "password": PASSWORD}))
                client.close()
            if not check("a user per server logs in", all(sessions)):
                return CHECKS.summary()
            loaders = [Loader(base, s["refresh_token"], "k") for base, s in zip(bases, sessions)]
            for loader in loaders:
                loader.start()
            deadline = time.monotonic() + serve_support.HANG_BOUND
            while time.monotonic() < deadline and not all(l.acked for l in loaders):
                time.sleep(0.05)

            subprocess.run([cluster, "restart-stop", data], check=True, timeout=120)
            for loader in loaders:
                loader.phase = "outage"
            # Requests during the outage: a clear 5xx JSON error, quickly, on both servers.
            for name, base, session in zip("AB", bases, sessions):
                for label, method, path, body, bearer in (
                        ("list keys", "GET", "/auth/api_keys", None, session["refresh_token"]),
                        ("create", "POST", "/auth/api_keys", {"name": "outage"},
                         session["refresh_token"]),
                        ("key login", "POST", "/app/x/auth/providers/api-key/login",
                         {"key": "no-such-key"}, None)):
                    start = time.monotonic()
                    status, answer = call(base, method, path, body, bearer)
                    took = time.monotonic() - start
                    check("outage, %s on %s: 5xx with a JSON error body (%d in %.2f s)"
                          % (label, name, status, took),
                          500 <= status < 600 and isinstance(answer, dict)
                          and answer.get("error_code") == "InternalServerError"
                          and "unavailable" in answer.get("error", ""),
                          str(answer))
                    check("outage, %s on %s: answered within the hang bound" % (label, name),
                          took < serve_support.HANG_BOUND)
            time.sleep(0.5)  # the loaders keep trying through the outage
            for loader in loaders:
                loader.phase = "after"
            subprocess.run([cluster, "restart-start", data], check=True, timeout=120)

            # The same processes recover on their own: the first request may already
            # succeed (a broken connection is replaced and the call run again); poll
            # within the hang bound in case it does not.
            for name, base, session in zip("AB", bases, sessions):
                first_status, _ = call(base, "GET", "/auth/api_keys",
                                       bearer=session["refresh_token"])
                status = first_status
                deadline = time.monotonic() + serve_support.HANG_BOUND
                while status != 200 and time.monotonic() < deadline:
                    time.sleep(0.2)
                    status, _ = call(base, "GET", "/auth/api_keys",
                                     bearer=session["refresh_token"])
                check("after the restart %s answers again without being restarted "
                      "(first request: %d)" % (name, first_status), status == 200)
            deadline = time.monotonic() + serve_support.HANG_BOUND
            while time.monotonic() < deadline and not all(l.acked_in["after"] for l in loaders):
                time.sleep(0.05)
            for loader in loaders:
                loader.stop_event.set()
                loader.join(timeout=serve_support.HANG_BOUND)

            # Nothing acknowledged is lost, whichever server took it and whenever.
            for name, base, session, loader in zip("AB", bases, sessions, loaders):
                check("loader %s: keys acknowledged before and after the outage (%s; statuses %s)"
                      % (name, loader.acked_in, loader.statuses),
                      loader.acked_in["before"] > 0 and loader.acked_in["after"] > 0)
                other = bases[1] if base == bases[0] else bases[0]
                status, listed = call(other, "GET", "/auth/api_keys",
                                      bearer=session["refresh_token"])
                ids = {k["_id"] for k in listed or []}
                missing = [k for k in loader.acked if k not in ids and k not in loader.unsure]
                check("every key acknowledged through %s (%d) is listed by the other server"
                      % (name, len(loader.acked)), status == 200 and not missing,
                      "missing %s" % missing)
                client = serve_support.Client(other)
                sure = {k: v for k, v in loader.acked.items() if k not in loader.unsure}
                logins = sum(1 for value in sure.values()
                             if client.login("api-key", {"key": value}) is not None)
                ghosts = sum(1 for value in loader.deleted.values()
                             if client.login("api-key", {"key": value}) is not None)
                client.close()
                check("every acknowledged key of %s logs in" % name, logins == len(sure),
                      "%d of %d" % (logins, len(sure)))
                check("no key whose deletion through %s was acknowledged (%d) logs in"
                      % (name, len(loader.deleted)), ghosts == 0, str(ghosts))
            for name, server in zip("AB", servers):
                check("%s stops cleanly on SIGTERM" % name, server.stop() == 0)
        finally:
            for loader in loaders:
                loader.stop_event.set()
            serve_support.kill_all(servers)
            subprocess.run([cluster, "stop", data], timeout=120)
            if CHECKS.failed and os.path.exists(log):
                serve_support.print_log("servers' stderr", log)
    return CHECKS.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
