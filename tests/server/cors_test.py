#!/usr/bin/env python3
"""`appkeys serve --cors-origin`: what a browser needs to call the server from a page of
another origin (realm-web's main use), and nothing without the flag.

Checks, over real HTTP, the preflight a browser sends before a key call (OPTIONS with
Origin and Access-Control-Request-Method), the Access-Control-Allow-Origin header on
answers of every kind (200, 201, 204 without Content-Type, 401), the refusal of an
origin not listed, "*", and the unchanged behaviour without the flag (OPTIONS 405, no
CORS header).

Usage: cors_test.py PATH/TO/appkeys
"""
import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

API = "/api/client/v2.0"
PAGE = "http://app.example.test:3000"
OVERALL_TIMEOUT = 120  # seconds: a bound for hangs only


def on_alarm(*_):
    print("FAIL  the CORS test did not finish within %d s" % OVERALL_TIMEOUT, flush=True)
    os._exit(1)


def start(exe, extra):
    proc = subprocess.Popen([exe, "serve", "--port", "0", "--store", "memory:",
                             "--user", "page@example.com:page-password"] + extra,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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
    return proc, int(match.group(1))


def call(port, method, path, origin=None, body=None, bearer=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = dict(headers or {})
        if origin:
            sent["Origin"] = origin
        if bearer:
            sent["Authorization"] = "Bearer " + bearer
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, API + path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, raw
    finally:
        conn.close()


def preflight(port, origin, method="POST"):
    return call(port, "OPTIONS", "/auth/api_keys", origin=origin, headers={
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type"})


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, label):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL  " + label, flush=True)


def allowed_for(headers, origin):
    return headers.get("access-control-allow-origin") == origin and "origin" in \
        headers.get("vary", "").lower()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(OVERALL_TIMEOUT)
    exe = sys.argv[1]
    checks = Checks()

    server, port = start(exe, ["--cors-origin", PAGE])
    try:
        status, headers, _ = preflight(port, PAGE)
        checks.check(status == 204 and allowed_for(headers, PAGE), "preflight from the page: 204")
        methods = headers.get("access-control-allow-methods", "")
        checks.check(all(m in methods for m in ("GET", "POST", "PUT", "DELETE")),
                     "preflight names the methods of the key calls")
        allowed_headers = headers.get("access-control-allow-headers", "").lower()
        checks.check("authorization" in allowed_headers and "content-type" in allowed_headers,
                     "preflight allows Authorization and Content-Type")
        status, headers, _ = preflight(port, "http://elsewhere.test")
        checks.check(status == 405 and "access-control-allow-origin" not in headers,
                     "preflight from another origin: 405, no CORS header")

        status, headers, _ = call(port, "GET", "/app/web/location", origin=PAGE)
        checks.check(status == 200 and allowed_for(headers, PAGE), "location: 200 with CORS")
        status, headers, raw = call(port, "POST", "/app/web/auth/providers/local-userpass/login",
                                    origin=PAGE, body={"username": "page@example.com",
                                                       "password": "page-password"})
        checks.check(status == 200 and allowed_for(headers, PAGE), "login: 200 with CORS")
        refresh = json.loads(raw)["refresh_token"]
        status, headers, raw = call(port, "POST", "/auth/api_keys", origin=PAGE,
                                    body={"name": "from-a-page"}, bearer=refresh)
        checks.check(status == 201 and allowed_for(headers, PAGE), "create: 201 with CORS")
        key_id = json.loads(raw)["_id"]
        status, headers, _ = call(port, "PUT", "/auth/api_keys/%s/disable" % key_id,
                                  origin=PAGE, bearer=refresh)
        checks.check(status == 204 and allowed_for(headers, PAGE)
                     and "content-type" not in headers, "disable: bare 204 with CORS")
        status, headers, _ = call(port, "GET", "/auth/api_keys", origin=PAGE, bearer="nonsense")
        checks.check(status == 401 and allowed_for(headers, PAGE),
                     "401: with CORS, so the page can read the error")
        status, headers, _ = call(port, "GET", "/app/web/location", origin="http://elsewhere.test")
        checks.check(status == 200 and "access-control-allow-origin" not in headers,
                     "another origin's request: answered, no CORS header")
        status, headers, _ = call(port, "GET", "/app/web/location")
        checks.check("access-control-allow-origin" not in headers, "no Origin: no CORS header")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    server, port = start(exe, ["--cors-origin", "*"])
    try:
        status, headers, _ = preflight(port, "http://any.test:8000")
        checks.check(status == 204 and allowed_for(headers, "http://any.test:8000"),
                     "--cors-origin '*': any origin's preflight, its origin named")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    server, port = start(exe, [])
    try:
        status, headers, _ = preflight(port, PAGE)
        checks.check(status == 405 and "access-control-allow-origin" not in headers,
                     "without --cors-origin: OPTIONS 405, no CORS header")
        status, headers, _ = call(port, "GET", "/app/web/location", origin=PAGE)
        checks.check("access-control-allow-origin" not in headers,
                     "without --cors-origin: no CORS header on answers")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    print("cors: %d checks passed, %d failed" % (checks.passed, checks.failed), flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
