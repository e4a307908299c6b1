#!/usr/bin/env python3
"""The failed-login throttle of `appkeys serve`, as an operator relies on it.

`appkeys serve` slows an account down after 5 failed password logins in a row: every
login for that email is then refused (401 InvalidPassword, "too many failed logins")
for a window of 1 s, doubling with each further failure up to 15 min. The count lives
in the server process's memory. This checks what it must survive and what it does not:

- a new TCP connection per attempt (it counts per account, not per connection);
- the right password during the window (refused without being looked at);
- an unknown email is throttled the same way (no telling which emails exist);
- another account is not affected;
- when the window has passed, the right password logs in and clears the count;
- a restart of the server forgets it (documented in the README and `--help`).

Usage: throttle_test.py PATH/TO/appkeys
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402

APP_ID = "throttle"
THRESHOLD = 5  # the serve default (server/service.hpp)
OVERALL_TIMEOUT = 240  # seconds: a bound for hangs only


def start(exe, store, users):
    """`appkeys serve` on `store` with `users`, as a context manager."""
    args = ["--port", "0", "--app-id", APP_ID, "--store", store]
    for user in users:
        args += ["--user", user]
    return serve_support.Serve(exe, args)


def log_in(server, email, password):
    """One login on a connection of its own: (status, error_code, message)."""
    status, _, raw = serve_support.exchange(
        server.url, "POST", "/app/%s/auth/providers/local-userpass/login" % APP_ID,
        {"username": email, "password": password,
         "options": {"device": {"sdkVersion": "throttle-test"}}},
        headers={"Accept": "application/json"})
    parsed = json.loads(raw) if raw else {}
    return status, parsed.get("error_code"), parsed.get("error", "")


def locked(answer):
    status, code, message = answer
    return status == 401 and code == "InvalidPassword" and "too many failed logins" in message


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    serve_support.watchdog("the throttle test", OVERALL_TIMEOUT)
    exe = sys.argv[1]
    ann, bob = "ann@example.com", "bob@example.com"
    ann_pw, bob_pw = "pw-" + os.urandom(8).hex(), "pw-" + os.urandom(8).hex()
    checks = serve_support.Checks(quiet_passes=True)  # labels never hold a password
    with tempfile.TemporaryDirectory(prefix="appkeys-throttle-") as folder:
        store = "sqlite:" + os.path.join(folder, "appkeys.db")
        users = [ann + ":" + ann_pw, bob + ":" + bob_pw]
        with start(exe, store, users) as server:
            for i in range(THRESHOLD):
                status, code, message = log_in(server, ann, "wrong-%d" % i)
                checks.check("failure %d before the threshold is a plain 401" % (i + 1),
                             status == 401 and code == "InvalidPassword"
                             and "too many" not in message)
            checks.check("the right password on a new connection is refused while locked",
                         locked(log_in(server, ann, ann_pw)))
            checks.check("another account still logs in", log_in(server, bob, bob_pw)[0] == 200)
            for i in range(THRESHOLD):
                log_in(server, "nobody@example.com", "wrong-%d" % i)
            checks.check("an unknown email is throttled like a known one",
                         locked(log_in(server, "nobody@example.com", "x")))
            time.sleep(2.5)  # past the first window (1 s, rounded to whole seconds)
            checks.check("the right password logs in once the window has passed",
                         log_in(server, ann, ann_pw)[0] == 200)
            status, _, message = log_in(server, ann, "wrong-again")
            checks.check("a successful login cleared the count",
                         status == 401 and "too many" not in message)

            for i in range(THRESHOLD):
                log_in(server, ann, "wrong-%d" % i)
            checks.check("locked again", locked(log_in(server, ann, ann_pw)))
        # Documented: the count is per process, so a restart forgets it.
        with start(exe, store, []) as server:
            checks.check("a restarted server has forgotten the count (as documented)",
                         log_in(server, ann, ann_pw)[0] == 200)
    return checks.summary("throttle")


if __name__ == "__main__":
    sys.exit(main())
