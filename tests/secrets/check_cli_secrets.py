#!/usr/bin/env python3
"""Secrets never leak through the `appkeys` command's output.

Runs `appkeys serve --log` and every key command against it, capturing all stdout and
stderr (the server's too, its access log included), then checks that the password appears nowhere and that each created
key's value appears only in the stdout of the `create` that made it.

Usage: check_cli_secrets.py PATH_TO_APPKEYS
Prints `N passed, M failed` last; exits non-zero on failure. Python 3 stdlib only.
"""
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

EMAIL = "ann@example.com"
APP_ID = "s"
COMMAND_TIMEOUT = 20  # seconds per client command
START_TIMEOUT = 10


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: " + what, flush=True)


class Run:
    """One finished process: its name, arguments, exit status, stdout and stderr."""

    def __init__(self, label, returncode, stdout, stderr):
        self.label = label
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def main():
    # The server's store: memory (the default) or sqlite, whose files are then searched
    # for the secrets too, while the server runs (with its -wal and -shm) and after.
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in ("memory", "sqlite")):
        print("usage: check_cli_secrets.py PATH_TO_APPKEYS [memory|sqlite]", file=sys.stderr)
        return 2
    exe = sys.argv[1]
    store_kind = sys.argv[2] if len(sys.argv) == 3 else "memory"
    store_files = []  # (label, bytes) of every file the store wrote
    checks = Checks()
    password = "pw-" + secrets.token_urlsafe(24)
    runs = []

    # The server's output goes to files, so a full pipe can never block it.
    with tempfile.TemporaryDirectory() as tmp:
        server_out_path = os.path.join(tmp, "server.out")
        server_err_path = os.path.join(tmp, "server.err")
        server_out = open(server_out_path, "wb")
        server_err = open(server_err_path, "wb")
        db_path = os.path.join(tmp, "appkeys.db")
        store = "sqlite:" + db_path if store_kind == "sqlite" else "memory:"

        def snapshot_store(when):
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(db_path + suffix):
                    with open(db_path + suffix, "rb") as f:
                        store_files.append(("store file appkeys.db%s %s" % (suffix, when), f.read()))

        server = subprocess.Popen(
            [exe, "serve", "--port", "0", "--app-id", APP_ID, "--user", EMAIL + ":" + password,
             "--log", "--store", store],
            stdout=server_out, stderr=server_err, stdin=subprocess.DEVNULL)
        try:
            base_url = None
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and base_url is None:
                with open(server_out_path, "rb") as f:
                    m = re.search(rb"listening on (http://[0-9.]+:[0-9]+)", f.read())
                if m:
                    base_url = m.group(1).decode()
                elif server.poll() is not None:
                    break
                else:
                    time.sleep(0.05)
            checks.check(base_url is not None, "the server printed its address")
            if base_url is None:
                raise RuntimeError("server did not start")

            def run(label, args, env_password=None, expect_ok=True):
                cmd = [exe, "--base-url", base_url, "--app-id", APP_ID] + args
                try:
                    p = subprocess.run(cmd, capture_output=True, timeout=COMMAND_TIMEOUT,
                                       stdin=subprocess.DEVNULL)
                    r = Run(label, p.returncode, p.stdout, p.stderr)
                except subprocess.TimeoutExpired as e:
                    r = Run(label, None, e.stdout or b"", e.stderr or b"")
                runs.append(r)
                if expect_ok is not None:
                    ok = (r.returncode == 0) if expect_ok else (r.returncode not in (0, None))
                    checks.check(ok, "%s: exit status %s" % (label, r.returncode))
                return r

            login = ["--email", EMAIL, "--password", password]

            created = []  # (run, key value, id)

            def create(name, json_output):
                args = login + (["--json"] if json_output else []) + ["create", name]
                r = run("create " + name + (" --json" if json_output else ""), args)
                value = key_id = None
                text = r.stdout.decode("utf-8", "replace")
                if json_output:
                    try:
                        obj = json.loads(text)
                        value, key_id = obj.get("key"), obj.get("_id")
                    except ValueError:
                        pass
                else:
                    m = re.search(r"^key: (\S+)$", text, re.M)
                    value = m.group(1) if m else None
                    m = re.search(r"\(([0-9a-f]{24})\)", text)
                    key_id = m.group(1) if m else None
                checks.check(bool(value) and len(value) >= 16, r.label + ": printed a key value")
                checks.check(bool(key_id), r.label + ": printed the key id")
                if value:
                    created.append((r, value.encode(), key_id))
                return value, key_id

            v1, id1 = create("first", False)
            v2, id2 = create("second", True)
            for flags in ([], ["--json"]):
                suffix = " --json" if flags else ""
                run("list" + suffix, login + flags + ["list"])
                if id1:
                    run("get" + suffix, login + flags + ["get", id1])
                    run("disable" + suffix, login + flags + ["disable", id1])
                    run("login with disabled key" + suffix,
                        ["--api-key", v1 or "x"] + flags + ["list"], expect_ok=False)
                    run("enable" + suffix, login + flags + ["enable", id1])
                    run("login with enabled key" + suffix, ["--api-key", v1 or "x"] + flags + ["list"])
                run("wrong password" + suffix,
                    ["--email", EMAIL, "--password", password + "x"] + flags + ["list"],
                    expect_ok=False)
                for bad in ("zz", "0123456789abcdef0123456", "0123456789abcdef01234567",
                            "../../x", "%2e%2e"):
                    run("get bad id %r%s" % (bad, suffix), login + flags + ["get", bad],
                        expect_ok=False)
                    run("delete bad id %r%s" % (bad, suffix), login + flags + ["delete", bad],
                        expect_ok=False)
            run("create duplicate", login + ["create", "first"], expect_ok=False)
            run("create bad name", login + ["create", "bad name!"], expect_ok=False)
            if id2:
                run("delete", login + ["delete", id2])
                run("login with deleted key", ["--api-key", v2 or "x", "list"], expect_ok=False)
                run("login with deleted key --json", ["--api-key", v2 or "x", "--json", "list"],
                    expect_ok=False)
                run("delete again", login + ["--json", "delete", id2], expect_ok=False)
            if id1:
                run("delete --json", login + ["--json", "delete", id1])
                run("get deleted", login + ["get", id1], expect_ok=False)
            run("list at the end", login + ["list"])
            # The demo runs its own server; its password is its own, but no key it makes
            # may carry one of ours.
            p = None
            try:
                p = subprocess.run([exe, "demo"], capture_output=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
                runs.append(Run("demo", p.returncode, p.stdout, p.stderr))
                checks.check(p.returncode == 0, "demo: exit status %s" % p.returncode)
            except subprocess.TimeoutExpired as e:
                runs.append(Run("demo", None, e.stdout or b"", e.stderr or b""))
                checks.check(False, "demo: timed out")
            snapshot_store("while serving")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server_out.close()
            server_err.close()
        with open(server_out_path, "rb") as f:
            server_stdout = f.read()
        with open(server_err_path, "rb") as f:
            server_stderr = f.read()
        runs.append(Run("server", server.returncode, server_stdout, server_stderr))
        snapshot_store("after the server stopped")
        if store_kind == "sqlite":
            checks.check(len(store_files) >= 2, "the SQLite store wrote its files")

    # The server ran with its access log on: the checks below cover every line of it.
    log_lines = re.findall(rb"^\S+Z [A-Z]+ /\S* \d{3} \d+ms$", server_stderr, re.M)
    checks.check(len(log_lines) >= 30, "server: --log wrote a line per request (%d)" % len(log_lines))
    pw = password.encode()
    for r in runs:
        checks.check(pw not in r.stdout, r.label + ": password in stdout")
        checks.check(pw not in r.stderr, r.label + ": password in stderr")
    for label, data in store_files:
        checks.check(pw not in data, label + ": password in clear")
        for _, value, _ in created:
            checks.check(value not in data, label + ": a key value in clear")
    for maker, value, _ in created:
        for r in runs:
            if r is maker:
                checks.check(value in r.stdout, r.label + ": its key value is in its stdout")
                checks.check(value not in r.stderr, r.label + ": its key value in stderr")
            else:
                checks.check(value not in r.stdout and value not in r.stderr,
                             "%s: the key value of '%s' leaked" % (r.label, maker.label))
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an unexpected crash is a failure, reported without secrets
        print("error: %s" % type(e).__name__)
        print("0 passed, 1 failed")
        sys.exit(1)
