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
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402

PAGE = "http://app.example.test:3000"
OVERALL_TIMEOUT = 120  # seconds: a bound for hangs only


def start(exe, extra):
    """`appkeys serve` on a memory store with one user, as a context manager."""
    return serve_support.Serve(exe, ["--port", "0", "--store", "memory:",
                                     "--user", "page@example.com:page-password"] + extra)


def call(server, method, path, origin=None, body=None, bearer=None, headers=None):
    sent = dict(headers or {})
    if origin:
        sent["Origin"] = origin
    return serve_support.exchange(server.url, method, path, body, bearer, sent)


def preflight(server, origin, method="POST"):
    return call(server, "OPTIONS", "/auth/api_keys", origin=origin, headers={
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type"})


def allowed_for(headers, origin):
    return headers.get("access-control-allow-origin") == origin and "origin" in \
        headers.get("vary", "").lower()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    serve_support.watchdog("the CORS test", OVERALL_TIMEOUT)
    exe = sys.argv[1]
    checks = serve_support.Checks(quiet_passes=True)

    with start(exe, ["--cors-origin", PAGE]) as server:
        status, headers, _ = preflight(server, PAGE)
        checks.check("preflight from the page: 204", status == 204 and allowed_for(headers, PAGE))
        methods = headers.get("access-control-allow-methods", "")
        checks.check("preflight names the methods of the key calls",
                     all(m in methods for m in ("GET", "POST", "PUT", "DELETE")))
        allowed_headers = headers.get("access-control-allow-headers", "").lower()
        checks.check("preflight allows Authorization and Content-Type",
                     "authorization" in allowed_headers and "content-type" in allowed_headers)
        status, headers, _ = preflight(server, "http://elsewhere.test")
        checks.check("preflight from another origin: 405, no CORS header",
                     status == 405 and "access-control-allow-origin" not in headers)

        status, headers, _ = call(server, "GET", "/app/web/location", origin=PAGE)
        checks.check("location: 200 with CORS", status == 200 and allowed_for(headers, PAGE))
        status, headers, raw = call(server, "POST", "/app/web/auth/providers/local-userpass/login",
                                    origin=PAGE, body={"username": "page@example.com",
                                                       "password": "page-password"})
        checks.check("login: 200 with CORS", status == 200 and allowed_for(headers, PAGE))
        refresh = json.loads(raw)["refresh_token"]
        status, headers, raw = call(server, "POST", "/auth/api_keys", origin=PAGE,
                                    body={"name": "from-a-page"}, bearer=refresh)
        checks.check("create: 201 with CORS", status == 201 and allowed_for(headers, PAGE))
        key_id = json.loads(raw)["_id"]
        status, headers, _ = call(server, "PUT", "/auth/api_keys/%s/disable" % key_id,
                                  origin=PAGE, bearer=refresh)
        checks.check("disable: bare 204 with CORS", status == 204 and allowed_for(headers, PAGE)
                     and "content-type" not in headers)
        status, headers, _ = call(server, "GET", "/auth/api_keys", origin=PAGE, bearer="nonsense")
        checks.check("401: with CORS, so the page can read the error",
                     status == 401 and allowed_for(headers, PAGE))
        status, headers, _ = call(server, "GET", "/app/web/location",
                                  origin="http://elsewhere.test")
        checks.check("another origin's request: answered, no CORS header",
                     status == 200 and "access-control-allow-origin" not in headers)
        status, headers, _ = call(server, "GET", "/app/web/location")
        checks.check("no Origin: no CORS header", "access-control-allow-origin" not in headers)

    with start(exe, ["--cors-origin", "*"]) as server:
        status, headers, _ = preflight(server, "http://any.test:8000")
        checks.check("--cors-origin '*': any origin's preflight, its origin named",
                     status == 204 and allowed_for(headers, "http://any.test:8000"))

    with start(exe, []) as server:
        status, headers, _ = preflight(server, PAGE)
        checks.check("without --cors-origin: OPTIONS 405, no CORS header",
                     status == 405 and "access-control-allow-origin" not in headers)
        status, headers, _ = call(server, "GET", "/app/web/location", origin=PAGE)
        checks.check("without --cors-origin: no CORS header on answers",
                     "access-control-allow-origin" not in headers)

    return checks.summary("cors")


if __name__ == "__main__":
    sys.exit(main())
