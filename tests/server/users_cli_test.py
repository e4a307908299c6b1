#!/usr/bin/env python3
"""`appkeys users` on an SQLite store, and `appkeys serve` on the same file.

add (password from stdin and from --password), list (text and --json), disable, enable,
delete by email and by id; a user added by `users add` logs in through `serve`, a
disabled one cannot; bad store URIs and `memory:` are refused with exit status 2; no
password is printed. Usage: users_cli_test.py PATH/TO/appkeys
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

FAILED = []


def check(ok, label):
    print(("PASS  " if ok else "FAIL  ") + label, flush=True)
    if not ok:
        FAILED.append(label)


def main(argv):
    exe = argv[1]
    with tempfile.TemporaryDirectory(prefix="appkeys-users-") as tmp:
        store = "sqlite:" + os.path.join(tmp, "appkeys.db")
        outputs = []

        def users(*args, stdin=None):
            p = subprocess.run([exe, "users"] + list(args) + ["--store", store], input=stdin,
                               capture_output=True, timeout=60)
            outputs.append(p.stdout + p.stderr)
            return p

        ann_pw, bo_pw = "ann-secret-123", "bo-secret-456"
        ann = users("add", "ann@example.com", stdin=(ann_pw + "\n").encode())
        check(ann.returncode == 0 and re.fullmatch(rb"[0-9a-f]{24}\n", ann.stdout) is not None,
              "add with the password on stdin prints the id")
        bo = users("add", "bo@example.com", "--password", bo_pw)
        check(bo.returncode == 0, "add with --password")
        again = users("add", "ann@example.com", "--password", ann_pw)
        check(again.stdout == ann.stdout, "adding an existing email keeps its id")
        listed = users("list", "--json")
        rows = json.loads(listed.stdout) if listed.returncode == 0 else []
        check(sorted(r["email"] for r in rows) == ["ann@example.com", "bo@example.com"],
              "list --json names both users")
        check(b"bo@example.com" in users("list").stdout, "list prints a table")

        check(users("disable", "bo@example.com").returncode == 0, "disable by email")
        rows = json.loads(users("list", "--json").stdout)
        check([r["disabled"] for r in rows if r["email"] == "bo@example.com"] == [True],
              "bo is disabled")

        # serve on the same file: ann logs in, bo (disabled) cannot.
        server = subprocess.Popen([exe, "serve", "--port", "0", "--store", store],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            first = server.stdout.readline().decode().strip()
            base = re.fullmatch(r"listening on (http://\S+)", first).group(1)

            def login(email, password):
                body = json.dumps({"username": email, "password": password}).encode()
                request = urllib.request.Request(
                    base + "/api/client/v2.0/app/x/auth/providers/local-userpass/login",
                    data=body, headers={"Content-Type": "application/json"}, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return response.status
                except urllib.error.HTTPError as error:
                    return error.code

            check(login("ann@example.com", ann_pw) == 200, "serve: ann logs in")
            check(login("bo@example.com", bo_pw) == 401, "serve: disabled bo cannot")
        finally:
            server.terminate()
            server.wait(timeout=30)
            server.stdout.close()

        check(users("enable", "bo@example.com").returncode == 0, "enable")
        bo_id = bo.stdout.decode().strip()
        check(users("delete", bo_id).returncode == 0, "delete by id")
        check(users("delete", bo_id).returncode == 1, "deleting again: no such user, status 1")
        rows = json.loads(users("list", "--json").stdout)
        check([r["email"] for r in rows] == ["ann@example.com"], "only ann is left")

        for bad in ("memory:", "nope:x", "sqlite:"):
            p = subprocess.run([exe, "users", "list", "--store", bad], capture_output=True,
                               timeout=60)
            outputs.append(p.stdout + p.stderr)
            check(p.returncode == 2 and b"appkeys: error:" in p.stderr,
                  "store %r is refused with status 2" % bad)
        for out in outputs:
            if ann_pw.encode() in out or bo_pw.encode() in out:
                check(False, "a password was printed")
                break
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
