#!/usr/bin/env python3
"""A backup of a live SQLite store, taken as the README says, serves the same keys.

`appkeys serve` runs on an SQLite store; a user creates a key through HTTP; while the
server still runs, `sqlite3 STORE ".backup COPY"` (SQLite's online backup) copies the
store; a second `appkeys serve` on the copy lets the key log in, and the copy holds the
key value nowhere in clear. Usage: backup_test.py PATH/TO/appkeys
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

FAILED = []
API = "/api/client/v2.0"


def check(ok, label):
    print(("PASS  " if ok else "FAIL  ") + label, flush=True)
    if not ok:
        FAILED.append(label)


def call(base, method, path, body=None, bearer=None):
    """(status, parsed JSON body or None) of one request."""
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None


class Server:
    """`appkeys serve` on a store, stopped (SIGTERM) when the block ends."""

    def __init__(self, exe, store, *extra):
        self.process = subprocess.Popen(
            [exe, "serve", "--port", "0", "--store", store] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def __enter__(self):
        first = self.process.stdout.readline().decode().strip()
        match = re.fullmatch(r"listening on (http://\S+)", first)
        if match is None:
            self.__exit__(None, None, None)
            raise RuntimeError("serve did not start: %r" % first)
        return match.group(1)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=60)
        self.process.stdout.close()


def main(argv):
    exe = argv[1]
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        print("FAIL  the sqlite3 shell is not installed (scripts/install-deps installs it)")
        return 1
    email, password = "ann@example.com", "ann-backup-pw-1"
    with tempfile.TemporaryDirectory(prefix="appkeys-backup-") as tmp:
        live = os.path.join(tmp, "live.db")
        copy = os.path.join(tmp, "copy.db")
        with Server(exe, "sqlite:" + live, "--user", email + ":" + password) as base:
            status, login = call(base, "POST", API + "/app/x/auth/providers/local-userpass/login",
                                 {"username": email, "password": password})
            check(status == 200, "the user logs in")
            status, key = call(base, "POST", API + "/auth/api_keys", {"name": "nightly"},
                               bearer=login["refresh_token"])
            check(status == 201 and key and key.get("key"), "a key is created")
            # The online backup, with the server still running and the store in WAL mode.
            backup = subprocess.run([sqlite3, live, ".backup '%s'" % copy], capture_output=True,
                                    timeout=60)
            check(backup.returncode == 0, "sqlite3 .backup of the live store succeeds")
            check(key["key"].encode() not in backup.stdout + backup.stderr,
                  "the backup command prints no key value")

        with open(copy, "rb") as f:
            check(key["key"].encode() not in f.read(), "the backup holds no key value in clear")
        with Server(exe, "sqlite:" + copy) as base:
            status, _ = call(base, "POST", API + "/app/x/auth/providers/api-key/login",
                             {"key": key["key"]})
            check(status == 200, "the key logs in through a server on the backup")
            status, _ = call(base, "POST", API + "/app/x/auth/providers/local-userpass/login",
                             {"username": email, "password": password})
            check(status == 200, "the user logs in through a server on the backup")
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
