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
import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time

APP_ID = "throttle"
API = "/api/client/v2.0"
THRESHOLD = 5  # the serve default (server/service.hpp)
OVERALL_TIMEOUT = 240  # seconds: a bound for hangs only


def on_alarm(*_):
    print("FAIL  the throttle test did not finish within %d s" % OVERALL_TIMEOUT, flush=True)
    os._exit(1)


def start(exe, store, users):
    args = [exe, "serve", "--port", "0", "--app-id", APP_ID, "--store", store]
    for user in users:
        args += ["--user", user]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + 60
    while b"\n" not in data:
        if not selector.select(max(0.0, deadline - time.monotonic())):
            proc.kill()
            raise RuntimeError("no first line from appkeys serve")
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise RuntimeError("appkeys serve exited at start (%s)" % proc.wait())
        data += chunk
    selector.close()
    match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", data.split(b"\n")[0].decode())
    if not match:
        proc.kill()
        raise RuntimeError("unexpected first line")
    return proc, int(match.group(1))


def log_in(port, email, password):
    """One login on a connection of its own: (status, error_code, message)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = json.dumps({"username": email, "password": password,
                           "options": {"device": {"sdkVersion": "throttle-test"}}})
        conn.request("POST", API + "/app/%s/auth/providers/local-userpass/login" % APP_ID,
                     body=body, headers={"Content-Type": "application/json",
                                         "Accept": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        parsed = json.loads(raw) if raw else {}
        return response.status, parsed.get("error_code"), parsed.get("error", "")
    finally:
        conn.close()


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, label):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL  " + label, flush=True)  # labels never hold a password


def locked(answer):
    status, code, message = answer
    return status == 401 and code == "InvalidPassword" and "too many failed logins" in message


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(OVERALL_TIMEOUT)
    exe = sys.argv[1]
    ann, bob = "ann@example.com", "bob@example.com"
    ann_pw, bob_pw = "pw-" + os.urandom(8).hex(), "pw-" + os.urandom(8).hex()
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="appkeys-throttle-") as folder:
        store = "sqlite:" + os.path.join(folder, "appkeys.db")
        users = [ann + ":" + ann_pw, bob + ":" + bob_pw]
        server, port = start(exe, store, users)
        try:
            for i in range(THRESHOLD):
                status, code, message = log_in(port, ann, "wrong-%d" % i)
                checks.check(status == 401 and code == "InvalidPassword"
                              and "too many" not in message,
                              "failure %d before the threshold is a plain 401" % (i + 1))
            checks.check(locked(log_in(port, ann, ann_pw)),
                         "the right password on a new connection is refused while locked")
            checks.check(log_in(port, bob, bob_pw)[0] == 200, "another account still logs in")
            for i in range(THRESHOLD):
                log_in(port, "nobody@example.com", "wrong-%d" % i)
            checks.check(locked(log_in(port, "nobody@example.com", "x")),
                         "an unknown email is throttled like a known one")
            time.sleep(2.5)  # past the first window (1 s, rounded to whole seconds)
            checks.check(log_in(port, ann, ann_pw)[0] == 200,
                         "the right password logs in once the window has passed")
            status, _, message = log_in(port, ann, "wrong-again")
            checks.check(status == 401 and "too many" not in message,
                         "a successful login cleared the count")

            for i in range(THRESHOLD):
                log_in(port, ann, "wrong-%d" % i)
            checks.check(locked(log_in(port, ann, ann_pw)), "locked again")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        # Documented: the count is per process, so a restart forgets it.
        server, port = start(exe, store, [])
        try:
            checks.check(log_in(port, ann, ann_pw)[0] == 200,
                         "a restarted server has forgotten the count (as documented)")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print("throttle: %d checks passed, %d failed" % (checks.passed, checks.failed), flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
