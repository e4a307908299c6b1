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

CHECKS = serve_support.Checks()
check = CHECKS.check


def Server(exe, store, *extra):
    """`appkeys serve` on a store, as a context manager (SIGTERM when the block ends)."""
    return serve_support.Serve(exe, ["--port", "0", "--store", store] + list(extra))


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
        with Server(exe, "sqlite:" + live, "--user", email + ":" + password) as server:
            base = server.url
            status, login = call(base, "POST", "/app/x/auth/providers/local-userpass/login",
                                 {"username": email, "password": password})
            check("the user logs in", status == 200)
            status, key = call(base, "POST", "/auth/api_keys", {"name": "nightly"},
                               bearer=login["refresh_token"])
            check("a key is created", status == 201 and key and key.get("key"))
            # The online backup, with the server still running and the store in WAL mode.
            backup = subprocess.run([sqlite3, live, ".backup '%s'" % copy], capture_output=True,
                                    timeout=60)
            check("sqlite3 .backup of the live store succeeds", backup.returncode == 0)
            check("the backup command prints no key value",
                  key["key"].encode() not in backup.stdout + backup.stderr)

        with open(copy, "rb") as f:
            check("the backup holds no key value in clear", key["key"].encode() not in f.read())
        with Server(exe, "sqlite:" + copy) as server:
            base = server.url
            status, _ = call(base, "POST", "/app/x/auth/providers/api-key/login",
                             {"key": key["key"]})
            check("the key logs in through a server on the backup", status == 200)
            status, _ = call(base, "POST", "/app/x/auth/providers/local-userpass/login",
                             {"username": email, "password": password})
            check("the user logs in through a server on the backup", status == 200)
    return CHECKS.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
