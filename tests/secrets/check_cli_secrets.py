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
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from cli_support import Runner, Serve  # noqa: E402
import serve_support  # noqa: E402 (cli_support puts its directory on the path)

EMAIL = "ann@example.com"
APP_ID = "s"


def main():
    # The server's store: memory (the default) or sqlite, whose files are then searched
    # for the secrets too, while the server runs (with its -wal and -shm) and after.
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in ("memory", "sqlite")):
        print("usage: check_cli_secrets.py PATH_TO_APPKEYS [memory|sqlite]", file=sys.stderr)
        return 2
    exe = sys.argv[1]
    store_kind = sys.argv[2] if len(sys.argv) == 3 else "memory"
    store_files = []  # (label, bytes) of every file the store wrote
    checks = serve_support.Checks(quiet_passes=True)
    password = "pw-" + secrets.token_urlsafe(24)
    cli = Runner(exe)
    runs = cli.runs

    # The server's stderr (its access log) goes to a file, so a full pipe can never block it.
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "appkeys.db")
        store = "sqlite:" + db_path if store_kind == "sqlite" else "memory:"

        def snapshot_store(when):
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(db_path + suffix):
                    with open(db_path + suffix, "rb") as f:
                        store_files.append(("store file appkeys.db%s %s" % (suffix, when), f.read()))

        server = Serve(exe, tmp, "server", ["--app-id", APP_ID, "--user", EMAIL + ":" + password,
                                            "--log", "--store", store])
        try:
            base_url = server.url
            checks.check("the server printed its address", base_url is not None)
            if base_url is None:
                raise RuntimeError("server did not start")

            def run(label, args, env_password=None, expect_ok=True):
                r = cli.run(label, ["--base-url", base_url, "--app-id", APP_ID] + args)
                if expect_ok is not None:
                    ok = (r.returncode == 0) if expect_ok else (r.returncode not in (0, None))
                    checks.check("%s: exit status %s" % (label, r.returncode), ok)
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
                checks.check(r.label + ": printed a key value", bool(value) and len(value) >= 16)
                checks.check(r.label + ": printed the key id", bool(key_id))
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
            demo = cli.run("demo", ["demo"])
            checks.check("demo: exit status %s" % demo.returncode, demo.returncode == 0)
            snapshot_store("while serving")
        finally:
            server_run = cli.record(server.stop())
        server_stderr = server_run.stderr
        snapshot_store("after the server stopped")
        if store_kind == "sqlite":
            checks.check("the SQLite store wrote its files", len(store_files) >= 2)

    # The server ran with its access log on: the checks below cover every line of it.
    log_lines = re.findall(rb"^\S+Z [A-Z]+ /\S* \d{3} \d+ms$", server_stderr, re.M)
    checks.check("server: --log wrote a line per request (%d)" % len(log_lines), len(log_lines) >= 30)
    pw = password.encode()
    for r in runs:
        checks.check(r.label + ": password in stdout", pw not in r.stdout)
        checks.check(r.label + ": password in stderr", pw not in r.stderr)
    for label, data in store_files:
        checks.check(label + ": password in clear", pw not in data)
        for _, value, _ in created:
            checks.check(label + ": a key value in clear", value not in data)
    for maker, value, _ in created:
        for r in runs:
            if r is maker:
                checks.check(r.label + ": its key value is in its stdout", value in r.stdout)
                checks.check(r.label + ": its key value in stderr", value not in r.stderr)
            else:
                checks.check("%s: the key value of '%s' leaked" % (r.label, maker.label),
                             value not in r.stdout and value not in r.stderr)
    return checks.summary()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an unexpected crash is a failure, reported without secrets
        print("error: %s" % type(e).__name__)
        print("0 passed, 1 failed")
        sys.exit(1)
