#!/usr/bin/env python3
"""A backup of a live SQLite store, taken as the README says, serves the same keys.

`appkeys serve` runs on an SQLite store; a user creates a key through HTTP; while the
server still runs, `sqlite3 STORE ".backup COPY"` (SQLite's online backup) copies the
store; a second `appkeys serve` on the copy lets the key log in, and the copy holds the
key value nowhere in clear. Usage: backup_test.py PATH/TO/appkeys
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402
from serve_support import call  # noqa: E402

FAILED = []


def check(ok, label):
    print(("PASS  " if ok else "FAIL  ") + label, flush=True)
    if not ok:
        FAILED.append(label)


def Server(exe, store, *extra):
    """`appkeys serve` on a store; `with Server(...) as base` gives its URL and stops it
    (SIGTERM) when the block ends."""
    return _Started(serve_support.Serve(exe, ["--port", "0", "--store", store] + list(extra)))


class _Started:
    def __init__(self, serve):
        self.serve = serve

    def __enter__(self):
        return self.serve.__enter__().url

    def __exit__(self, *exc):
        self.serve.__exit__(*exc)


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
            status, login = call(base, "POST", "/app/x/auth/providers/local-userpass/login",
                                 {"username": email, "password": password})
            check(status == 200, "the user logs in")
            status, key = call(base, "POST", "/auth/api_keys", {"name": "nightly"},
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
            status, _ = call(base, "POST", "/app/x/auth/providers/api-key/login",
                             {"key": key["key"]})
            check(status == 200, "the key logs in through a server on the backup")
            status, _ = call(base, "POST", "/app/x/auth/providers/local-userpass/login",
                             {"username": email, "password": password})
            check(status == 200, "the user logs in through a server on the backup")
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
