#!/usr/bin/env python3
"""`appkeys users` on an SQLite store, and `appkeys serve` on the same file.

add (password from stdin, from --password and from a prompt without echo on a
pseudo-terminal), list (text and --json), disable, enable,
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import serve_support  # noqa: E402
from cli_support import Terminal  # noqa: E402

CHECKS = serve_support.Checks()
check = CHECKS.check


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
        check("add with the password on stdin prints the id",
              ann.returncode == 0 and re.fullmatch(rb"[0-9a-f]{24}\n", ann.stdout) is not None)
        bo = users("add", "bo@example.com", "--password", bo_pw)
        check("add with --password", bo.returncode == 0)
        again = users("add", "ann@example.com", "--password", ann_pw)
        check("adding an existing email keeps its id", again.stdout == ann.stdout)
        listed = users("list", "--json")
        rows = json.loads(listed.stdout) if listed.returncode == 0 else []
        check("list --json names both users",
              sorted(r["email"] for r in rows) == ["ann@example.com", "bo@example.com"])
        check("list prints a table", b"bo@example.com" in users("list").stdout)

        check("disable by email", users("disable", "bo@example.com").returncode == 0)
        rows = json.loads(users("list", "--json").stdout)
        check("bo is disabled",
              [r["disabled"] for r in rows if r["email"] == "bo@example.com"] == [True])

        # At a terminal, with no password given: asked without echo.
        cy_pw = "cy-secret-789"
        term = Terminal(exe, ["users", "add", "cy@example.com", "--store", store])
        try:
            check("add at a terminal asks for the password",
                  term.read_until(b"Password for cy@example.com: "))
            check("add at a terminal: echo is off while it asks", not term.echo_is_on())
            term.type((cy_pw + "\n").encode())
            cy = term.finish("users add at a terminal")
        finally:
            term.close()
        outputs.append(cy.stdout + cy.stderr)
        check("add at a terminal prints the id",
              cy.returncode == 0 and re.fullmatch(rb"[0-9a-f]{24}\n", cy.stdout) is not None)

        # serve on the same file: ann and cy log in, bo (disabled) cannot.
        with serve_support.Serve(exe, ["--port", "0", "--store", store]) as server:

            def login(email, password):
                status, _ = serve_support.call(
                    server.url, "POST", "/app/x/auth/providers/local-userpass/login",
                    {"username": email, "password": password})
                return status

            check("serve: ann logs in", login("ann@example.com", ann_pw) == 200)
            check("serve: disabled bo cannot", login("bo@example.com", bo_pw) == 401)
            check("serve: cy logs in with the password typed at the prompt",
                  login("cy@example.com", cy_pw) == 200)
        check("delete cy", users("delete", "cy@example.com").returncode == 0)

        check("enable", users("enable", "bo@example.com").returncode == 0)
        bo_id = bo.stdout.decode().strip()
        check("delete by id", users("delete", bo_id).returncode == 0)
        check("deleting again: no such user, status 1", users("delete", bo_id).returncode == 1)
        rows = json.loads(users("list", "--json").stdout)
        check("only ann is left", [r["email"] for r in rows] == ["ann@example.com"])

        for bad in ("memory:", "nope:x", "sqlite:"):
            p = subprocess.run([exe, "users", "list", "--store", bad], capture_output=True,
                               timeout=60)
            outputs.append(p.stdout + p.stderr)
            check("store %r is refused with status 2" % bad,
                  p.returncode == 2 and b"appkeys: error:" in p.stderr)
        for out in outputs:
            if any(pw.encode() in out for pw in (ann_pw, bo_pw, cy_pw)):
                check("a password was printed", False)
                break
    return CHECKS.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
