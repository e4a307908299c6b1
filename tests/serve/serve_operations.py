#!/usr/bin/env python3
"""`appkeys serve` as an operator runs it: its flags, TLS, its first line, its stop, its log.

Usage: serve_operations.py PATH/TO/appkeys

Starts the built binary many times and checks, through real sockets:
- the first stdout line is exactly "listening on http(s)://HOST:PORT" (IPv4, IPv6 ::1
  bracketed, https), and --port N is honoured;
- a non-loopback --host without TLS is refused (exit 2, a message naming
  --allow-insecure-http) unless --allow-insecure-http is given; bad TLS flags or files
  (one without the other, unreadable, not PEM, a key of another certificate) exit 2
  before listening, with a message naming the file;
- HTTPS with a certificate made here by the openssl CLI: the appkeys client, over
  libcurl and over cpp-httplib, trusting it through --ca-file, runs the whole key
  lifecycle; without --ca-file it is refused;
- --user EMAIL:PASSWORD makes sure the user exists with that password, repeated in one
  start and across restarts;
- SIGTERM and SIGINT with a request in flight (held by --delay-ms): it gets its whole
  answer and the process exits 0;
- --log writes one line per request (method, path without query, status, duration) and
  never a password, token, key value or query string.

Prints one line per check and "N passed, M failed" last; exits 0 only if all passed.
Every wait is bounded (60 s); the whole run by an alarm. Python 3 stdlib only.
"""

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support  # noqa: E402
from serve_support import API, HANG_BOUND  # noqa: E402

OVERALL_TIMEOUT = 280  # seconds, for the whole run (ctest allows 300)
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) (\d{3}) (\d+)ms$")


CHECKS = serve_support.Checks()
check = CHECKS.check
EXE = None
TMP = None


class Server(serve_support.Serve):
    """One `appkeys serve` process (serve_support.Serve) in the run's temporary directory,
    so the default store (sqlite:appkeys.db in the working directory) never lands in the
    build tree; stderr to a file of its own, so a busy access log can never block it."""

    counter = 0
    started = []  # every one, so that none outlives the run whatever fails

    def __init__(self, args):
        Server.counter += 1
        self.err_path = os.path.join(TMP, "server-%d.err" % Server.counter)
        super().__init__(EXE, args, stderr=self.err_path, cwd=TMP)
        Server.started.append(self.proc)

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read()


def exited(args):
    """Runs `appkeys serve ARGS` expecting it to end by itself: (status, stdout, stderr)."""
    try:
        p = subprocess.run([EXE, "serve"] + args, capture_output=True, timeout=HANG_BOUND,
                           stdin=subprocess.DEVNULL, cwd=TMP)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
            "utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode("utf-8", "replace"), ""


def client(base_url, app_id, args, extra=()):
    """Runs one appkeys client command: (status, stdout, stderr)."""
    cmd = [EXE, "--base-url", base_url, "--app-id", app_id] + list(extra) + args
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=HANG_BOUND, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
            "utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "", ""


def http_request(host, port, method, path, body=None, headers=None, context=None):
    """One raw request: (status, body bytes)."""
    if context is not None:
        conn = http.client.HTTPSConnection(host, port, timeout=HANG_BOUND, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=HANG_BOUND)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(name):
    """A self-signed certificate for localhost and 127.0.0.1: (cert, key) paths, or None."""
    if shutil.which("openssl") is None:
        return None
    cert = os.path.join(TMP, name + "-cert.pem")
    key = os.path.join(TMP, name + "-key.pem")
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1",
         "-keyout", key, "-out", cert], capture_output=True, timeout=HANG_BOUND)
    return (cert, key) if p.returncode == 0 and os.path.exists(cert) else None


# ------------------------------------------------------------------------------------


def test_first_line():
    s = Server(["--port", "0"])
    check("first line, http on the default host",
          re.fullmatch(r"listening on http://127\.0\.0\.1:[1-9][0-9]*", s.first_line or ""),
          repr(s.first_line))
    if s.port:
        status, _ = http_request("127.0.0.1", s.port, "GET", API + "/app/x/location")
        check("the printed port answers", status == 200, str(status))
    check("SIGTERM on an idle server exits 0", s.stop() == 0)

    port = free_port()
    s = Server(["--port", str(port)])
    check("--port N listens on N", s.first_line == "listening on http://127.0.0.1:%d" % port,
          repr(s.first_line))
    code, out, err = exited(["--port", str(port)])
    check("a port in use: exit 1, the reason given, nothing listening",
          code == 1 and "cannot listen" in err and "listening" not in out, "%s %s" % (code, err))
    s.stop()

    if ipv6_loopback_available():
        s = Server(["--host", "::1"])
        check("first line, IPv6 loopback in brackets",
              re.fullmatch(r"listening on http://\[::1\]:[1-9][0-9]*", s.first_line or ""),
              repr(s.first_line))
        if s.port:
            status, body = http_request("::1", s.port, "GET", API + "/app/x/location")
            hostname = json.loads(body).get("hostname") if status == 200 else None
            check("IPv6: the location names the bracketed address",
                  hostname == "http://[::1]:%d" % s.port, repr(hostname))
        check("IPv6: SIGTERM exits 0", s.stop() == 0)
    else:
        print("SKIP  IPv6 loopback unavailable here", flush=True)


def test_refusals(cert, key, other_key):
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.com"):
        code, out, err = exited(["--host", host])
        check("plain HTTP on %s is refused with exit 2" % host, code == 2, str(code))
        check("plain HTTP on %s: the message names the way out" % host,
              "--allow-insecure-http" in err and "--tls-cert" in err, err.strip())
        check("plain HTTP on %s: nothing listened" % host, "listening" not in out, out)

    s = Server(["--host", "0.0.0.0", "--allow-insecure-http"])
    check("--allow-insecure-http on 0.0.0.0 listens; the first line names a dialable address",
          re.fullmatch(r"listening on http://127\.0\.0\.1:[1-9][0-9]*", s.first_line or ""),
          repr(s.first_line))
    if s.port:
        status, _ = http_request("127.0.0.1", s.port, "GET", API + "/app/x/location")
        check("--allow-insecure-http on 0.0.0.0 answers", status == 200, str(status))
    check("--allow-insecure-http: SIGTERM exits 0", s.stop() == 0)

    for host, shown in (("localhost", "localhost"), ("127.0.0.2", "127.0.0.2")):
        s = Server(["--host", host])
        check("%s counts as loopback: plain HTTP is served" % host,
              re.fullmatch(r"listening on http://%s:[1-9][0-9]*" % re.escape(shown),
                           s.first_line or ""), repr(s.first_line))
        s.stop()

    if cert is None:
        print("SKIP  TLS refusals: no openssl CLI", flush=True)
        return
    missing = os.path.join(TMP, "missing.pem")
    garbage = os.path.join(TMP, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("not a certificate\n")
    cases = [
        (["--tls-cert", cert], "--tls-cert without --tls-key", "go together"),
        (["--tls-key", key], "--tls-key without --tls-cert", "go together"),
        (["--tls-cert", missing, "--tls-key", key], "an unreadable certificate", missing),
        (["--tls-cert", cert, "--tls-key", missing], "an unreadable key", missing),
        (["--tls-cert", garbage, "--tls-key", key], "a certificate file that is not PEM",
         garbage),
        (["--tls-cert", cert, "--tls-key", garbage], "a key file that is not PEM", garbage),
        (["--tls-cert", cert, "--tls-key", other_key], "a key of another certificate",
         "does not match"),
    ]
    for args, what, needle in cases:
        code, out, err = exited(args + ["--host", "0.0.0.0"])
        check("TLS: %s exits 2" % what, code == 2, str(code))
        check("TLS: %s is explained" % what, needle in err, err.strip())
        check("TLS: %s: nothing listened" % what, "listening" not in out, out)


def key_lifecycle(base_url, app_id, login, extra, label):
    """create, list, get, disable, log in with it (refused), enable, log in, delete."""
    code, out, err = client(base_url, app_id, login + ["--json", "create", "reporting"], extra)
    value = key_id = None
    try:
        obj = json.loads(out)
        value, key_id = obj.get("key"), obj.get("_id")
    except ValueError:
        pass
    if not check(label + ": create", code == 0 and value and key_id, err.strip()):
        return
    steps = [
        ("list", login + ["list"], True),
        ("get", login + ["get", key_id], True),
        ("disable", login + ["disable", key_id], True),
        ("log in with the disabled key", ["--api-key", value, "list"], False),
        ("enable", login + ["enable", key_id], True),
        ("log in with the enabled key", ["--api-key", value, "list"], True),
        ("delete", login + ["delete", key_id], True),
        ("get the deleted key", login + ["get", key_id], False),
    ]
    for what, args, expect_ok in steps:
        code, out, err = client(base_url, app_id, args, extra)
        ok = code == 0 if expect_ok else code not in (0, None)
        check("%s: %s" % (label, what), ok, "exit %s" % code)


def test_tls(cert, key):
    if cert is None:
        print("SKIP  TLS: no openssl CLI", flush=True)
        return
    password = "pw-" + secrets.token_urlsafe(12)
    s = Server(["--tls-cert", cert, "--tls-key", key, "--app-id", "tls",
                "--user", "ann@example.com:" + password])
    check("TLS: first line is https://127.0.0.1:PORT",
          re.fullmatch(r"listening on https://127\.0\.0\.1:[1-9][0-9]*", s.first_line or ""),
          repr(s.first_line))
    if s.port:
        base = "https://localhost:%d" % s.port
        login = ["--email", "ann@example.com", "--password", password]
        for transport in ("curl", "httplib"):
            key_lifecycle(base, "tls", login, ["--transport", transport, "--ca-file", cert],
                          "TLS over " + transport)
            code, _, err = client(base, "tls", login + ["list"], ["--transport", transport])
            check("TLS over %s: an untrusted certificate is refused" % transport,
                  code not in (0, None), "exit %s" % code)
        context = ssl.create_default_context(cafile=cert)
        status, body = http_request("localhost", s.port, "GET", API + "/app/tls/location",
                                    context=context)
        hostname = json.loads(body).get("hostname") if status == 200 else None
        check("TLS: the location names the host the client dialled, over https",
              hostname == "https://localhost:%d" % s.port, repr(hostname))
        try:
            status, _ = http_request("127.0.0.1", s.port, "GET", API + "/app/tls/location")
            check("TLS: plain HTTP to the HTTPS port gets no answer", status is None,
                  str(status))
        except (OSError, http.client.HTTPException):
            check("TLS: plain HTTP to the HTTPS port gets no answer", True)
    check("TLS: SIGTERM exits 0", s.stop() == 0)

    s = Server(["--host", "0.0.0.0", "--tls-cert", cert, "--tls-key", key])
    check("TLS on 0.0.0.0 needs no --allow-insecure-http",
          re.fullmatch(r"listening on https://127\.0\.0\.1:[1-9][0-9]*", s.first_line or ""),
          repr(s.first_line))
    s.stop()


def can_log_in(base_url, email, password):
    code, _, _ = client(base_url, "u", ["--email", email, "--password", password, "list"])
    return code == 0


def test_users():
    s = Server(["--app-id", "u", "--user", "ann@example.com:first-pw",
                "--user", "ann@example.com:second-pw", "--user", "bob@example.com:bobs-pw"])
    if s.url:
        check("--user twice in one start: the last password logs in",
              can_log_in(s.url, "ann@example.com", "second-pw"))
        check("--user twice in one start: the earlier password no longer does",
              not can_log_in(s.url, "ann@example.com", "first-pw"))
        check("--user: another user is there too", can_log_in(s.url, "bob@example.com", "bobs-pw"))
    check("--user: SIGTERM exits 0", s.stop() == 0)
    for attempt in (1, 2):
        s = Server(["--app-id", "u", "--user", "ann@example.com:first-pw",
                    "--user", "ann@example.com:first-pw"])
        check("restart %d with the same --user: it logs in" % attempt,
              s.url and can_log_in(s.url, "ann@example.com", "first-pw"))
        check("restart %d with the same --user: the password of another start does not" %
              attempt, s.url and not can_log_in(s.url, "ann@example.com", "second-pw"))
        check("restart %d: SIGTERM exits 0" % attempt, s.stop() == 0)
    code, _, err = exited(["--user", "no-colon"])
    check("--user without a password exits 2", code == 2 and "EMAIL:PASSWORD" in err, err)


def test_graceful_stop():
    for sig in (signal.SIGTERM, signal.SIGINT):
        name = signal.Signals(sig).name
        s = Server(["--app-id", "g", "--delay-ms", "1500"])
        if not s.port:
            check(name + ": server started", False)
            s.stop()
            continue
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=HANG_BOUND)
        path = API + "/app/g/location"
        started = time.monotonic()
        conn.request("GET", path)
        first = conn.getresponse()
        first.read()
        check(name + ": --delay-ms holds each answer at least that long",
              first.status == 200 and time.monotonic() - started >= 1.5)
        # The connection is now being served by a worker; the next request on it is in
        # flight (held by the delay) when the signal arrives.
        conn.request("GET", path)
        time.sleep(0.3)
        s.proc.send_signal(sig)
        try:
            second = conn.getresponse()
            body = second.read()
            whole = second.status == 200 and json.loads(body).get("hostname", "").startswith(
                "http://127.0.0.1:")
        except (OSError, http.client.HTTPException, ValueError) as e:
            whole, body = False, repr(e).encode()
        conn.close()
        check(name + " with a request in flight: it gets its whole answer", whole,
              body.decode("utf-8", "replace"))
        code = s.stop(None)
        check(name + " with a request in flight: exit status 0", code == 0, str(code))
        err = s.stderr().decode("utf-8", "replace")
        check(name + ": says it is stopping, then that it stopped",
              "stopping" in err and "stopped (2 requests served)" in err, err.strip())
        refused = False
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=5).close()
        except OSError:
            refused = True
        check(name + ": nothing listens afterwards", refused)


def test_second_signal():
    s = Server(["--app-id", "g", "--delay-ms", "30000"])
    if not s.port:
        check("second signal: server started", False)
        s.stop()
        return
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=HANG_BOUND)
    conn.request("GET", API + "/app/g/location")
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + HANG_BOUND  # the first signal taken, the stop begun
    while b"stopping" not in s.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    code = s.stop(signal.SIGTERM)
    conn.close()
    err = s.stderr().decode("utf-8", "replace")
    check("a second SIGTERM during a stop exits at once, with status 1", code == 1, str(code))
    check("a second SIGTERM during a stop says why", "a second signal arrived" in err, err)


def test_access_log():
    password = "pw-" + secrets.token_urlsafe(16)
    s = Server(["--app-id", "l", "--log", "--delay-ms", "20",
                "--user", "ann@example.com:" + password])
    if not s.port:
        check("--log: server started", False)
        s.stop()
        return
    login = ["--email", "ann@example.com", "--password", password]
    code, out, _ = client(s.url, "l", login + ["--json", "create", "audit"])
    created = json.loads(out) if code == 0 else {}
    value, key_id = created.get("key", "no-value"), created.get("_id", "no-id")
    check("--log: create", code == 0)
    for args in (["list"], ["get", key_id], ["disable", key_id], ["enable", key_id]):
        client(s.url, "l", login + args)
    client(s.url, "l", ["--api-key", value, "list"])
    client(s.url, "l", ["--email", "ann@example.com", "--password", password + "x", "list"])
    # Tokens of our own, and a query string and headers that carry secret-looking text.
    status, body = http_request(
        "127.0.0.1", s.port, "POST", API + "/app/l/auth/providers/local-userpass/login",
        body=json.dumps({"username": "ann@example.com", "password": password}),
        headers={"Content-Type": "application/json"})
    tokens = json.loads(body) if status == 200 else {}
    access, refresh = tokens.get("access_token", "no-token"), tokens.get("refresh_token", "x")
    query_secret = "qs-" + secrets.token_urlsafe(16)
    http_request("127.0.0.1", s.port, "GET", API + "/auth/profile?token=" + query_secret,
                 headers={"Authorization": "Bearer " + access})
    http_request("127.0.0.1", s.port, "POST", API + "/auth/session",
                 headers={"Authorization": "Bearer " + refresh})
    client(s.url, "l", login + ["delete", key_id])
    code = s.stop()
    check("--log: SIGTERM exits 0", code == 0, str(code))
    err = s.stderr()
    lines = [LOG_LINE.match(line) for line in err.decode("utf-8", "replace").splitlines()]
    entries = [m.groups() for m in lines if m]
    check("--log: many lines, one per request", len(entries) >= 20, str(len(entries)))
    seen = {(method, path, status) for method, path, status, _ in entries}
    for expected in (("POST", API + "/auth/api_keys", "201"),
                     ("GET", API + "/auth/api_keys/" + key_id, "200"),
                     ("PUT", API + "/auth/api_keys/%s/disable" % key_id, "204"),
                     ("DELETE", API + "/auth/api_keys/" + key_id, "204"),
                     ("POST", API + "/app/l/auth/providers/local-userpass/login", "401"),
                     ("GET", API + "/auth/profile", "200"),
                     ("POST", API + "/auth/session", "201")):
        check("--log: a line for %s %s %s" % expected, expected in seen)
    check("--log: durations include the delay",
          all(int(ms) >= 20 for method, _, _, ms in entries if method != "-"))
    for what, secret in (("password", password), ("key value", value),
                         ("access token", access), ("refresh token", refresh),
                         ("query string", query_secret)):
        check("--log: no %s in the server's output" % what, secret.encode() not in err)
    check("--log: no '?' in any logged path", all("?" not in path for _, path, _, _ in entries))


def main():
    global EXE, TMP
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    EXE = sys.argv[1]
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        TimeoutError("the run took longer than %d s" % OVERALL_TIMEOUT)))
    signal.alarm(OVERALL_TIMEOUT)
    with tempfile.TemporaryDirectory() as tmp:
        TMP = tmp
        first = make_certificate("server")
        other = make_certificate("other")
        cert, key = first if first else (None, None)
        other_key = other[1] if other else None
        for test in (test_first_line, lambda: test_refusals(cert, key, other_key),
                     lambda: test_tls(cert, key), test_users, test_graceful_stop,
                     test_second_signal, test_access_log):
            try:
                test()
            except Exception:
                check("no unexpected error", False, traceback.format_exc(limit=3))
        for proc in Server.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print("%d passed, %d failed" % (CHECKS.passed, CHECKS.failed), flush=True)
    return 1 if CHECKS.failed else 0


if __name__ == "__main__":
    sys.exit(main())
