#!/usr/bin/env python3
"""kill -9 in the middle of writes loses nothing acknowledged.

Starts `appkeys serve --store STORE --port 0` (STORE: a fresh SQLite file, or a fresh
schema in the PostgreSQL database APPKEYS_TEST_POSTGRES_URI names), and loads it from several
threads: each registers a user, logs in, then creates, disables and deletes keys as fast
as the server answers. After a while the server is killed with SIGKILL while requests are
in flight, restarted on the same store, and checked:

- every user whose registration was acknowledged (201) logs in with its password;
- every key whose creation was acknowledged (201) and whose deletion was not is listed,
  with its name and its acknowledged disabled state, and logs in with its value (as its
  owner) unless disabled;
- every key whose deletion was acknowledged (204) is gone and cannot log in;
- no key is listed that was neither acknowledged nor in flight at the kill.

Requests in flight at the kill may or may not have happened; they are only allowed, never
required. The whole load-kill-restart cycle runs ROUNDS times on the same store. Prints
the counts. Usage: crash_test.py PATH/TO/appkeys [sqlite|postgres]
"""
import http.client
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402

APP_ID = "crash"
USERS = 6
ROUNDS = 2
LOAD_SECONDS = 2.0
OVERALL_TIMEOUT = 240  # seconds: a bound for hangs only


class Client(serve_support.Client):
    """One keep-alive connection to the crash app; raises OSError/HTTPException when the
    server is gone."""

    def login(self, provider, credentials):
        return super().login(provider, credentials, app_id=APP_ID)


class Ledger:
    """What the server acknowledged, and what was in flight when it died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = {}        # email -> password (registration acknowledged)
        self.keys = {}         # key id -> {"email", "name", "value", "disabled"}
        self.deleted = {}      # key id -> value (deletion acknowledged)
        self.in_flight = {}    # key id or "create:<email>:<name>" -> what was being done
        self.loading = 0  # workers logged in and writing
        self.tolerated = set()  # key ids created by a request whose answer was lost
        self.counts = {"register": 0, "create": 0, "disable": 0, "enable": 0, "delete": 0}


def worker(base, index, round_no, ledger, stop):
    email = "user%d@example.com" % index
    password = "pw-%d-%s" % (index, os.urandom(6).hex())
    client = Client(base)
    serial = 0
    try:
        with ledger.lock:
            known = email in ledger.users
            if known:
                password = ledger.users[email]
        if not known:
            status, _ = client.call("POST", "/app/%s/auth/providers/local-userpass/register"
                                    % APP_ID, {"email": email, "password": password})
            if status != 201:
                return
            with ledger.lock:
                ledger.users[email] = password
                ledger.counts["register"] += 1
        tokens = client.login("local-userpass", {"username": email, "password": password})
        if tokens is None:
            return
        refresh = tokens["refresh_token"]
        with ledger.lock:
            ledger.loading += 1
        while not stop.is_set():
            with ledger.lock:
                mine = [k for k, v in ledger.keys.items() if v["email"] == email]
            serial += 1
            if len(mine) >= 15 or (mine and serial % 4 == 0):
                key_id = mine[serial % len(mine)]
                with ledger.lock:
                    ledger.in_flight[key_id] = "delete"
                status, _ = client.call("DELETE", "/auth/api_keys/" + key_id, bearer=refresh)
                with ledger.lock:
                    del ledger.in_flight[key_id]
                    if status == 204:
                        ledger.deleted[key_id] = ledger.keys.pop(key_id)["value"]
                        ledger.counts["delete"] += 1
            elif mine and serial % 3 == 0:
                key_id = mine[serial % len(mine)]
                with ledger.lock:
                    disabled = not ledger.keys[key_id]["disabled"]
                    ledger.in_flight[key_id] = "disable" if disabled else "enable"
                status, _ = client.call("PUT", "/auth/api_keys/%s/%s" % (
                    key_id, "disable" if disabled else "enable"), bearer=refresh)
                with ledger.lock:
                    del ledger.in_flight[key_id]
                    if status == 204:
                        ledger.keys[key_id]["disabled"] = disabled
                        ledger.counts["disable" if disabled else "enable"] += 1
            else:
                name = "r%d-k%d" % (round_no, serial)
                marker = "create:%s:%s" % (email, name)
                with ledger.lock:
                    ledger.in_flight[marker] = "create"
                status, body = client.call("POST", "/auth/api_keys", {"name": name},
                                           bearer=refresh)
                with ledger.lock:
                    del ledger.in_flight[marker]
                    if status == 201:
                        ledger.keys[body["_id"]] = {"email": email, "name": name,
                                                    "value": body["key"], "disabled": False}
                        ledger.counts["create"] += 1
    except (OSError, http.client.HTTPException, ValueError):
        return  # the server died under us: whatever was in flight stays in in_flight
    finally:
        client.close()


def start_server(exe, store, log):
    """`appkeys serve` on `store`, its stderr to `log`; raises if it does not start."""
    return serve_support.Serve(exe, ["--port", "0", "--app-id", APP_ID, "--store", store],
                               stderr=log).require_started()


def verify(base, ledger, checks):
    """Checks the restarted server against the ledger; returns (keys checked, logins,
    every user's listed keys)."""
    client = Client(base)
    keys_checked = logins = 0
    listed_by_user = {}
    try:
        by_user = {}
        for key_id, key in ledger.keys.items():
            by_user.setdefault(key["email"], {})[key_id] = key
        for email, password in sorted(ledger.users.items()):
            tokens = client.login("local-userpass", {"username": email, "password": password})
            checks.check("%s logs in after the restart" % email, tokens is not None)
            if tokens is None:
                continue
            status, listed = client.call("GET", "/auth/api_keys", bearer=tokens["refresh_token"])
            checks.check("%s lists its keys" % email, status == 200)
            listed = {k["_id"]: k for k in (listed or [])}
            listed_by_user[email] = listed
            for key_id, key in by_user.get(email, {}).items():
                unsure = key_id in ledger.in_flight
                present = key_id in listed
                if not unsure:
                    checks.check("acknowledged key %s of %s is there" % (key_id, email), present)
                if present:
                    keys_checked += 1
                    checks.check("key %s keeps its name" % key_id,
                                 listed[key_id]["name"] == key["name"])
                    if not unsure:
                        checks.check("key %s keeps its acknowledged state" % key_id,
                                     listed[key_id]["disabled"] == key["disabled"])
                    if not listed[key_id]["disabled"]:
                        by_key = client.login("api-key", {"key": key["value"]})
                        logins += 1
                        checks.check("key %s logs in as its owner" % key_id,
                                     by_key is not None and by_key["user_id"] == tokens["user_id"])
            for key_id, entry in listed.items():
                acknowledged = key_id in by_user.get(email, {}) or key_id in ledger.tolerated
                unsure = any(marker == "create:%s:%s" % (email, entry["name"])
                             for marker in ledger.in_flight)
                checks.check("key %s of %s was acknowledged or in flight" % (key_id, email),
                             acknowledged or unsure)
        for key_id, value in ledger.deleted.items():
            if key_id in ledger.in_flight:
                continue
            checks.check("deleted key %s cannot log in" % key_id,
                         client.login("api-key", {"key": value}) is None)
    finally:
        client.close()
    return keys_checked, logins, listed_by_user


def settle(ledger, listed_by_user):
    """After a verification, what was in flight is settled by what the server shows."""
    for marker in list(ledger.in_flight):
        if marker.startswith("create:"):
            _, email, name = marker.split(":", 2)
            for key_id, entry in listed_by_user.get(email, {}).items():
                if entry["name"] == name:
                    ledger.tolerated.add(key_id)  # created, but its value never came back
        elif marker in ledger.keys:
            email = ledger.keys[marker]["email"]
            listed = listed_by_user.get(email, {})
            if marker in listed:
                ledger.keys[marker]["disabled"] = listed[marker]["disabled"]
            else:
                ledger.deleted[marker] = ledger.keys.pop(marker)["value"]
        del ledger.in_flight[marker]


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in ("sqlite", "postgres")):
        print("usage: crash_test.py PATH/TO/appkeys [sqlite|postgres]", file=sys.stderr)
        return 2
    kind = argv[2] if len(argv) == 3 else "sqlite"
    serve_support.watchdog("the crash test", OVERALL_TIMEOUT)
    checks = serve_support.Checks(quiet_passes=True)  # labels name ids and emails, no secrets
    ledger = Ledger()
    with tempfile.TemporaryDirectory(prefix="appkeys-crash-") as tmp, \
            serve_support.Store(kind, tmp, "the kill -9 test") as fresh:
        store = fresh.uri
        log = open(os.path.join(tmp, "server.log"), "wb")
        server = None
        try:
            for round_no in range(ROUNDS):
                server = start_server(argv[1], store, log)
                stop = threading.Event()
                threads = [threading.Thread(target=worker,
                                            args=(server.url, i, round_no, ledger, stop))
                           for i in range(USERS)]
                for t in threads:
                    t.start()
                # The clock starts once every worker is logged in (scrypt makes that slow
                # on a busy machine); bounded, in case some never get there.
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with ledger.lock:
                        if ledger.loading == USERS * (round_no + 1):
                            break
                    time.sleep(0.05)
                time.sleep(LOAD_SECONDS)
                with ledger.lock:
                    in_flight = len(ledger.in_flight)
                status = server.kill()  # mid-write: workers are still sending
                stop.set()
                for t in threads:
                    t.join(timeout=60)
                checks.check("round %d: killed by SIGKILL" % round_no, status == -signal.SIGKILL)

                server = start_server(argv[1], store, log)
                keys_checked, logins, listed_by_user = verify(server.url, ledger, checks)
                print("round %d: acknowledged so far: %d users, %d creates, %d disables, "
                      "%d enables, %d deletes; %d requests in flight at the kill; after the "
                      "restart: %d keys checked, %d key logins"
                      % (round_no, ledger.counts["register"], ledger.counts["create"],
                         ledger.counts["disable"], ledger.counts["enable"],
                         ledger.counts["delete"], in_flight, keys_checked, logins), flush=True)
                settle(ledger, listed_by_user)
                server.stop()
                server = None
            checks.check("the load created keys", ledger.counts["create"] > 0)
            checks.check("the load deleted keys", ledger.counts["delete"] > 0)
        finally:
            if server is not None:
                server.kill()
            log.close()
            if checks.failed:
                serve_support.print_log("server stderr", os.path.join(tmp, "server.log"))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
