#!/usr/bin/env python3
"""The `appkeys` client commands as a user meets them, through the built binary.

Against `appkeys serve --store memory:` on a free port (and stand-in servers that never
answer or always fail):
- client options after the subcommand as well as before it;
- one exit status per kind of failure (usage 2, credentials 3, not found 4, already
  exists 5, server error 6, network/TLS 7), as --help and the README list them;
- the password from --password-stdin, APPKEYS_PASSWORD, --password (with a warning),
  and from a prompt without echo on a pseudo-terminal (asked twice by `register`;
  Ctrl-C at the prompt leaves echo on); no terminal and no password is a usage error,
  never a hang; the API key from --api-key-stdin and APPKEYS_API_KEY;
- a password given as an argument or in the environment is gone from
  /proc/PID/cmdline and /proc/PID/environ while the command still runs;
- --ca-file, --ca-dir (over both transports), --connect-timeout-ms, --timeout-ms,
  --retries (counted on the server);
- `register EMAIL`; --help with examples for every subcommand; serve's flags as
  DESIGN.md lists them;
- no password, no token and no key value (except in the stdout of the `create` that
  made it) in any output, error message or server log, mistyped flags included.

Usage: cli_test.py PATH/TO/appkeys [README.md]. Prints one line per check and
"N passed, M failed" last; exits 0 only if all passed. Python 3 stdlib only.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from cli_support import (HANG_BOUND, Checks, FailingServer, Runner, Serve, SilentServer,
                         Terminal, proc_file)

APP = "s"
ANN = "ann@example.com"
CHECKS = Checks()
check = CHECKS.check
OVERALL_TIMEOUT = 280  # seconds; ctest allows 300

EXIT = {"ok": 0, "usage": 2, "credentials": 3, "not_found": 4, "exists": 5, "server": 6,
        "network": 7}


def status(label, run, expected):
    return check("%s: exit status %s" % (label, expected), run.returncode == expected,
                 "got %s; stderr: %s" % (run.returncode, run.stderr[-300:].decode("utf-8", "replace")))


def test_options_after_subcommand(cli, url, ann_pw):
    base = ["--base-url", url, "--app-id", APP]
    stdin = ann_pw.encode()
    after = cli.run("list --json after", ["list", "--json", "--email", ANN, "--password-stdin"] + base,
                    stdin=stdin)
    status("client options after the subcommand (`list --json ...`)", after, 0)
    check("`list --json` after the subcommand prints JSON", isinstance(after.json(), list))
    before = cli.run("list --json before", base + ["--json", "--email", ANN, "--password-stdin", "list"],
                     stdin=stdin)
    check("client options before the subcommand: same JSON", before.json() == after.json())
    mixed = cli.run("list mixed", ["--base-url", url, "list", "--app-id", APP, "--json", "--email",
                                   ANN, "--password-stdin"], stdin=stdin)
    check("client options on both sides of the subcommand", mixed.json() == after.json())
    demo = cli.run("demo --transport httplib", ["demo", "--transport", "httplib"])
    check("`demo --transport httplib` (a client option after demo)",
          demo.returncode == 0 and b"transport: httplib" in demo.stdout)


def test_keys_and_exit_statuses(cli, url, ann_pw):
    base = ["--base-url", url, "--app-id", APP]
    login = ["--email", ANN, "--password-stdin"]
    pw = ann_pw.encode()
    created = []
    made = cli.run("create first --json", ["create", "first", "--json"] + login + base, stdin=pw)
    status("create --json", made, 0)
    key = made.json() or {}
    check("create prints the key's value and id", len(key.get("key", "")) >= 16 and
          re.fullmatch(r"[0-9a-f]{24}", key.get("_id", "")) is not None)
    if key.get("key"):
        created.append((made, key["key"].encode()))
        CHECKS.secrets.append(key["key"])
    key_id = key.get("_id", "0" * 24)
    other = "0123456789abcdef01234567"

    status("no subcommand", cli.run("no subcommand", base), EXIT["usage"])
    status("an unknown flag", cli.run("unknown flag", ["list", "--frobnicate"] + base), EXIT["usage"])
    status("--retries out of range", cli.run("retries 99", ["list", "--retries", "99"] + base),
           EXIT["usage"])
    status("no app id", cli.run("no app id", ["list", "--base-url", url] + login, stdin=pw), EXIT["usage"])
    status("--password with --password-stdin",
           cli.run("both passwords", ["list", "--password", ann_pw, "--password-stdin", "--email", ANN]
                   + base, stdin=pw), EXIT["usage"])
    status("--api-key-stdin with --email",
           cli.run("key and email", ["list", "--api-key-stdin", "--email", ANN] + base, stdin=b"k"),
           EXIT["usage"])
    status("a key name the server refuses (HTTP 400)",
           cli.run("create bad name", ["create", "bad name!"] + login + base, stdin=pw), EXIT["usage"])
    status("plain http:// to a host that is not loopback",
           cli.run("insecure", ["list", "--base-url", "http://192.0.2.1:9", "--app-id", APP] + login,
                   stdin=pw), EXIT["usage"])
    no_pw = cli.run("no password, no terminal", ["list", "--email", ANN] + base)
    status("no password and stdin not a terminal (no hang)", no_pw, EXIT["usage"])
    check("... and the message says how to give one", b"--password-stdin" in no_pw.stderr)

    status("a wrong password", cli.run("wrong password", ["list"] + login + base,
                                       stdin=pw + b"x"), EXIT["credentials"])
    status("an unknown app id", cli.run("unknown app", ["list", "--base-url", url, "--app-id", "nope"]
                                        + login, stdin=pw), EXIT["not_found"])
    status("a duplicate key name", cli.run("create duplicate", ["create", "first"] + login + base,
                                           stdin=pw), EXIT["exists"])

    # The key logs in from stdin and from the environment, and is refused once disabled.
    value = key.get("key", "x")
    as_key = ["--api-key-stdin"] + base
    status("a key id that is not 24 hex", cli.run("get zz", ["get", "zz"] + as_key,
                                                  stdin=value.encode()), EXIT["usage"])
    status("an unknown key id", cli.run("get unknown", ["get", other] + as_key,
                                        stdin=value.encode()), EXIT["not_found"])
    status("delete an unknown key", cli.run("delete unknown", ["delete", other, "--json"] + as_key,
                                            stdin=value.encode()), EXIT["not_found"])
    status("list with --api-key-stdin", cli.run("list key stdin", ["list", "--api-key-stdin"] + base,
                                                stdin=value.encode()), 0)
    status("list with APPKEYS_API_KEY", cli.run("list key env", ["list"] + base,
                                                env={"APPKEYS_API_KEY": value}), 0)
    status("disable", cli.run("disable", ["disable", key_id] + login + base, stdin=pw), 0)
    status("a disabled key logs in", cli.run("disabled key", ["list", "--api-key-stdin"] + base,
                                             stdin=value.encode()), EXIT["credentials"])
    # Which login wins, told apart by the disabled key: a flag beats the environment.
    status("--email beats APPKEYS_API_KEY",
           cli.run("email over env key", ["list"] + login + base, stdin=pw,
                   env={"APPKEYS_API_KEY": value}), 0)
    status("APPKEYS_API_KEY beats APPKEYS_EMAIL",
           cli.run("env key over env email", ["list"] + base,
                   env={"APPKEYS_API_KEY": value, "APPKEYS_EMAIL": ANN,
                        "APPKEYS_PASSWORD": ann_pw}), EXIT["credentials"])
    status("enable", cli.run("enable", ["enable", key_id, "--json"] + login + base, stdin=pw), 0)
    status("an API-key session creates a key (not allowed)",
           cli.run("create as key", ["create", "second", "--api-key-stdin"] + base,
                   stdin=value.encode()), EXIT["credentials"])
    shown = cli.run("get", ["get", key_id, "--json"] + login + base, stdin=pw)
    check("get --json after the subcommand", (shown.json() or {}).get("disabled") is False)

    # Passwords from the environment and from the command line (with a warning).
    env = cli.run("APPKEYS_PASSWORD", ["list"] + base, env={"APPKEYS_EMAIL": ANN,
                                                          "APPKEYS_PASSWORD": ann_pw})
    status("APPKEYS_EMAIL and APPKEYS_PASSWORD", env, 0)
    flag = cli.run("--password", ["list", "--email", ANN, "--password", ann_pw] + base)
    status("--password on the command line", flag, 0)
    check("--password warns that `ps` shows it", b"warning" in flag.stderr and b"ps" in flag.stderr)
    status("delete", cli.run("delete", ["delete", key_id] + login + base, stdin=pw), 0)
    status("a deleted key logs in", cli.run("deleted key", ["list", "--api-key-stdin"] + base,
                                            stdin=value.encode()), EXIT["credentials"])
    return created


def test_register(cli, url):
    base = ["--base-url", url, "--app-id", APP]
    bo_pw = "bo-" + secrets.token_urlsafe(18)
    CHECKS.secrets.append(bo_pw)
    made = cli.run("register", ["register", "bo@example.com", "--password-stdin"] + base,
                   stdin=bo_pw.encode() + b"\n")
    status("register EMAIL --password-stdin", made, 0)
    check("register names the email", b"registered bo@example.com" in made.stdout)
    status("the registered user logs in",
           cli.run("bo list", ["list", "--email", "bo@example.com", "--password-stdin"] + base,
                   stdin=bo_pw.encode()), 0)
    status("register the same email again",
           cli.run("register again", ["register", "bo@example.com", "--json", "--password-stdin"] + base,
                   stdin=bo_pw.encode()), EXIT["exists"])
    status("register with a too short password (HTTP 400)",
           cli.run("register short", ["register", "cy@example.com", "--password-stdin"] + base,
                   stdin=b"abc"), EXIT["usage"])
    status("register without a password or terminal",
           cli.run("register no pw", ["register", "cy@example.com"] + base), EXIT["usage"])
    return bo_pw


def test_prompt(cli, url, ann_pw, exe):
    base = ["--base-url", url, "--app-id", APP]
    term = Terminal(exe, ["list", "--json", "--email", ANN] + base)
    try:
        asked = term.read_until(b"Password for " + ANN.encode())
        check("prompt: asks for the password on the terminal", asked)
        check("prompt: echo is off while it asks", not term.echo_is_on())
        term.type(ann_pw.encode() + b"\n")
        run = cli.record(term.finish("prompt list"))
        status("prompt: the command runs with the typed password", run, 0)
        check("prompt: its output is on stdout", run.json() == [])
        check("prompt: the typed password is not echoed", ann_pw.encode() not in run.stderr)
        check("prompt: echo is back on afterwards", term.echo_is_on())
    finally:
        term.close()

    term = Terminal(exe, ["register", "dee@example.com"] + base)
    dee_pw = "dee-" + secrets.token_urlsafe(18)
    CHECKS.secrets.append(dee_pw)
    try:
        term.read_until(b"Password for dee@example.com")
        term.type(dee_pw.encode() + b"\n")
        check("register prompt: asks again", term.read_until(b"Repeat"))
        term.type(dee_pw.encode() + b"\n")
        run = cli.record(term.finish("prompt register"))
        status("register prompt: registered", run, 0)
        check("register prompt: nothing echoed", dee_pw.encode() not in run.stderr)
    finally:
        term.close()

    term = Terminal(exe, ["register", "eve@example.com"] + base)
    try:
        term.read_until(b"Password for eve@example.com")
        term.type(b"first-password\n")
        term.read_until(b"Repeat")
        term.type(b"other-password\n")
        run = cli.record(term.finish("prompt mismatch"))
        status("register prompt: two different answers", run, EXIT["usage"])
    finally:
        term.close()

    term = Terminal(exe, ["list", "--email", ANN] + base)
    try:
        term.read_until(b"Password for")
        term.type(b"\x03")  # Ctrl-C
        run = cli.record(term.finish("prompt ctrl-c"))
        check("Ctrl-C at the prompt ends the command by SIGINT", run.returncode == -signal.SIGINT,
              str(run.returncode))
        check("Ctrl-C at the prompt leaves echo on", term.echo_is_on())
    finally:
        term.close()
    return dee_pw


def test_secrets_leave_proc(cli, pw):
    """A password given as an argument or in the environment leaves /proc/PID/* while the
    command still waits on a server that never answers."""
    silent = SilentServer()
    try:
        base = ["--base-url", "http://127.0.0.1:%d" % silent.port, "--app-id", APP,
                "--timeout-ms", "20000", "--retries", "0"]
        for label, args, env, proc_name in (
                ("--password", ["list", "--email", ANN, "--password", pw] + base, None, "cmdline"),
                ("--password=", ["list", "--email", ANN, "--password=" + pw] + base, None, "cmdline"),
                ("APPKEYS_PASSWORD", ["list", "--email", ANN] + base, {"APPKEYS_PASSWORD": pw},
                 "environ")):
            proc = cli.start("scrub " + label, args, env=env)
            deadline = time.monotonic() + HANG_BOUND
            gone = False
            while time.monotonic() < deadline:
                data = proc_file(proc.pid, proc_name)
                if data is None or proc.poll() is not None:
                    break
                if pw.encode() not in data:
                    gone = True
                    break
                time.sleep(0.01)
            check("%s: gone from /proc/PID/%s while the command runs" % (label, proc_name), gone)
            proc.terminate()
            cli.finish(proc)
    finally:
        silent.stop()


def test_transport_options(cli, exe, tmp):
    # --timeout-ms and --connect-timeout-ms against a server that never answers.
    silent = SilentServer()
    try:
        plain = ["--base-url", "http://127.0.0.1:%d" % silent.port, "--app-id", APP,
                 "--api-key-stdin", "--retries", "0"]
        run = cli.run("timeout", ["list", "--timeout-ms", "300"] + plain, stdin=b"k")
        status("--timeout-ms against a server that never answers", run, EXIT["network"])
        for transport in ("curl", "httplib"):
            # Only the connect timeout can end this before HANG_BOUND: the TLS handshake
            # never completes and the request timeout is longer than the bound.
            run = cli.run("connect timeout " + transport,
                          ["list", "--transport", transport, "--connect-timeout-ms", "300",
                           "--timeout-ms", "600000", "--base-url",
                           "https://127.0.0.1:%d" % silent.port, "--app-id", APP,
                           "--api-key-stdin", "--retries", "0"], stdin=b"k")
            status("--connect-timeout-ms bounds a TLS handshake that never ends (%s)" % transport,
                   run, EXIT["network"])
    finally:
        silent.stop()
    status("connection refused", cli.run("refused", ["list", "--base-url", "http://127.0.0.1:1",
                                                     "--app-id", APP, "--api-key-stdin"], stdin=b"k"),
           EXIT["network"])

    # --retries: counted on a server that answers 500 to everything.
    failing = FailingServer()
    try:
        args = ["list", "--base-url", failing.url, "--app-id", APP, "--api-key-stdin"]
        for retries in (0, 2):
            failing.reset()
            run = cli.run("retries %d" % retries, args + ["--retries", str(retries)], stdin=b"k")
            status("a server that answers 500 (--retries %d)" % retries, run, EXIT["server"])
            check("--retries %d: %d location requests" % (retries, retries + 1),
                  failing.requests_to("/location") == retries + 1,
                  str(failing.requests_to("/location")))
    finally:
        failing.stop()

    # --ca-file and --ca-dir with a certificate made here.
    if shutil.which("openssl") is None:
        check("openssl is installed (for the TLS checks)", False)
        return []
    cert = os.path.join(tmp, "cert.pem")
    key = os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-days", "1", "-keyout", key, "-out", cert], capture_output=True,
                   timeout=HANG_BOUND)
    ca_dir = os.path.join(tmp, "ca")
    os.mkdir(ca_dir)
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", cert],
                            capture_output=True, timeout=HANG_BOUND).stdout.decode().strip()
    shutil.copy(cert, os.path.join(ca_dir, digest + ".0"))
    tls_pw = "tls-" + secrets.token_urlsafe(18)
    CHECKS.secrets.append(tls_pw)
    server = Serve(exe, tmp, "tls", ["--store", "memory:", "--app-id", APP, "--tls-cert", cert,
                                     "--tls-key", key, "--user", "tls@example.com:" + tls_pw])
    try:
        check("serve with TLS started", server.url is not None and server.url.startswith("https"))
        args = ["list", "--base-url", server.url or "https://127.0.0.1:1", "--app-id", APP,
                "--email", "tls@example.com", "--password-stdin"]
        for transport in ("curl", "httplib"):
            t = ["--transport", transport]
            status("TLS without trusting the certificate (%s)" % transport,
                   cli.run("tls untrusted " + transport, args + t, stdin=tls_pw.encode()),
                   EXIT["network"])
            status("TLS with --ca-file (%s)" % transport,
                   cli.run("tls ca-file " + transport, args + t + ["--ca-file", cert],
                           stdin=tls_pw.encode()), 0)
            status("TLS with --ca-dir (%s)" % transport,
                   cli.run("tls ca-dir " + transport, args + t + ["--ca-dir", ca_dir],
                           stdin=tls_pw.encode()), 0)
    finally:
        cli.record(server.stop())
    return [tls_pw]


def test_help(cli, readme):
    top = cli.run("--help", ["--help"])
    status("--help", top, 0)
    text = top.stdout.decode()
    for code in range(8):
        check("--help lists exit status %d" % code, re.search(r"^  %d  \S" % code, text, re.M))
    check("--help has examples", "Examples:" in text)
    for sub in ("create", "list", "get", "enable", "disable", "delete", "register", "demo",
                "serve", "users"):
        run = cli.run(sub + " --help", [sub, "--help"])
        out = run.stdout.decode()
        check("%s --help: exit 0 with examples" % sub,
              run.returncode == 0 and "Examples:" in out and "appkeys " + sub in out)
        if sub not in ("demo", "serve", "users"):
            check("%s --help lists the client options" % sub,
                  all(flag in out for flag in ("--password-stdin", "--api-key-stdin", "--ca-dir",
                                               "--connect-timeout-ms", "--retries", "--json")))
    serve_help = cli.run("serve --help", ["serve", "--help"]).stdout.decode()
    flags = set(re.findall(r"--[a-z][a-z-]+", serve_help.split("Examples:")[0]))
    contract = {"--help", "--host", "--port", "--app-id", "--user", "--threads", "--tls-cert",
                "--tls-key", "--allow-insecure-http", "--log", "--delay-ms", "--store"}
    check("serve keeps every flag of DESIGN.md", contract <= flags, str(contract - flags))
    if readme:
        with open(readme, encoding="utf-8") as f:
            doc = f.read()
        for code in range(8):
            check("README lists exit status %d" % code, re.search(r"^\| %d \|" % code, doc, re.M))


def test_mistyped_flags(cli, url, pw):
    base = ["--base-url", url, "--app-id", APP]
    for label, args in (("--pasword VALUE", ["--pasword", pw, "list"]),
                        ("list --pasword=VALUE", ["list", "--pasword=" + pw]),
                        ("--password-stdin VALUE", ["list", "--password-stdin", pw]),
                        ("--password-stdin=VALUE", ["list", "--password-stdin=" + pw]),
                        ("--api-key VALUE with --email", ["list", "--email", ANN, "--api-key", pw])):
        run = cli.run("typo " + label, args + base)
        status("mistyped: " + label, run, EXIT["usage"])
        check("mistyped: %s: the error names no secret" % label, pw.encode() not in run.stderr)


def sweep(cli, passwords, created):
    jwt = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}")
    for run in cli.runs:
        for pw in passwords:
            if pw.encode() in run.stdout or pw.encode() in run.stderr:
                check("%s: no password in its output" % run.label, False)
        if jwt.search(run.stdout) or jwt.search(run.stderr):
            check("%s: no token in its output" % run.label, False)
        for maker, value in created:
            if run is maker:
                continue
            if value in run.stdout or value in run.stderr:
                check("%s: the key value of '%s' leaked" % (run.label, maker.label), False)
    check("no password, token or key value in any of %d outputs" % len(cli.runs), True)


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: cli_test.py PATH/TO/appkeys [README.md]", file=sys.stderr)
        return 2
    exe = os.path.abspath(argv[1])
    readme = argv[2] if len(argv) == 3 else None
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("overall")))
    signal.alarm(OVERALL_TIMEOUT)
    cli = Runner(exe)
    ann_pw = "ann-" + secrets.token_urlsafe(18)
    CHECKS.secrets.append(ann_pw)
    passwords = [ann_pw]
    created = []
    with tempfile.TemporaryDirectory(prefix="appkeys-cli-") as tmp:
        server = Serve(exe, tmp, "main", ["--store", "memory:", "--app-id", APP, "--log",
                                          "--user", ANN + ":" + ann_pw])
        try:
            if not check("serve started", server.url is not None):
                return 1
            test_options_after_subcommand(cli, server.url, ann_pw)
            created += test_keys_and_exit_statuses(cli, server.url, ann_pw)
            passwords.append(test_register(cli, server.url))
            passwords.append(test_prompt(cli, server.url, ann_pw, exe))
            test_secrets_leave_proc(cli, ann_pw)
            test_mistyped_flags(cli, server.url, ann_pw)
            passwords += test_transport_options(cli, exe, tmp)
            test_help(cli, readme)
        except Exception:  # a crash of the test itself is a failure, shown without secrets
            check("the test ran to its end", False, traceback.format_exc().splitlines()[-1])
        finally:
            cli.record(server.stop())
    sweep(cli, passwords, created)
    print("%d passed, %d failed" % (CHECKS.passed, CHECKS.failed))
    return 1 if CHECKS.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
