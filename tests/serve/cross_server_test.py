#!/usr/bin/env python3
"""Two `appkeys serve` processes on one store act as one server.

Usage: cross_server_test.py PATH/TO/appkeys postgres|sqlite

Starts servers A and B at the same moment on one fresh store (a new PostgreSQL schema in
APPKEYS_TEST_POSTGRES_URI's database, or one SQLite file), so both race to create the
schema and the token-signing secret, then checks through raw HTTP:
- both agree on one secret: a session from A is accepted by B;
- a key created on A logs in on B; disabled on B, it is refused on A (401 AuthError);
- the same name created at once through A and B: one 201, the other 409
  APIKeyAlreadyExists (several rounds);
- 25 creates at once for one user, spread over A and B: exactly 20 are 201, the other 5
  400 InvalidParameter, and both list the same 20;
- an access token from a refresh through A works on B; a log-out on B ends the session on A.
"""
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support  # noqa: E402
from serve_support import Client, Serve, Store  # noqa: E402

EMAIL, PASSWORD = "ann@example.com", "ann-cross-pw-1"
CHECKS = serve_support.Checks()
check = CHECKS.check


def all_at_once(jobs):
    """Runs the callables in `jobs` on threads released together; their results in order."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i):
        barrier.wait(timeout=serve_support.HANG_BOUND)
        results[i] = jobs[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=serve_support.HANG_BOUND)
    return results


def login(base):
    client = Client(base)
    try:
        return client.login("local-userpass", {"username": EMAIL, "password": PASSWORD})
    finally:
        client.close()


def run(a, b):
    call = serve_support.call
    session = login(a)
    if not check("the user logs in on A", session is not None):
        return
    refresh = session["refresh_token"]
    status, _ = call(b, "GET", "/auth/api_keys", bearer=refresh)
    check("A's refresh token is accepted by B (one signing secret)", status == 200, str(status))

    # Create on A, log in on B, disable on B, refused on A.
    status, key = call(a, "POST", "/auth/api_keys", {"name": "shared"}, bearer=refresh)
    if not check("create on A: 201", status == 201, str(status)):
        return
    client_b = Client(b)
    by_key = client_b.login("api-key", {"key": key["key"]})
    client_b.close()
    check("the key logs in on B as its owner",
          by_key is not None and by_key["user_id"] == session["user_id"])
    status, _ = call(b, "PUT", "/auth/api_keys/%s/disable" % key["_id"], bearer=refresh)
    check("disable on B: 204", status == 204, str(status))
    status, body = call(a, "POST", "/app/x/auth/providers/api-key/login", {"key": key["key"]})
    check("the disabled key is refused on A: 401 AuthError",
          status == 401 and body and body.get("error_code") == "AuthError", str(status))
    status, fetched = call(a, "GET", "/auth/api_keys/" + key["_id"], bearer=refresh)
    check("A reads the key as disabled", status == 200 and fetched["disabled"] is True)

    # The same name at once through A and B.
    for round_no in range(5):
        name = "race-%d" % round_no
        results = all_at_once([
            lambda: call(a, "POST", "/auth/api_keys", {"name": name}, bearer=refresh),
            lambda: call(b, "POST", "/auth/api_keys", {"name": name}, bearer=refresh)])
        statuses = sorted(s for s, _ in results)
        loser = [body for s, body in results if s == 409]
        check("round %d: the same name at once on A and B: one 201, one 409" % round_no,
              statuses == [201, 409], str(statuses))
        check("round %d: the loser gets APIKeyAlreadyExists" % round_no,
              len(loser) == 1 and loser[0] and loser[0].get("error_code") == "APIKeyAlreadyExists")

    # 25 creates at once for a fresh user, spread over A and B.
    other = Client(a)
    status, _ = other.call("POST", "/app/x/auth/providers/local-userpass/register",
                           {"email": "bo@example.com", "password": "bo-cross-pw-1"})
    bo = other.login("local-userpass", {"username": "bo@example.com", "password": "bo-cross-pw-1"},
                     app_id="x")
    other.close()
    if not check("a second user registers and logs in", status == 201 and bo is not None):
        return
    bo_refresh = bo["refresh_token"]
    jobs = [(lambda i=i: call(a if i % 2 == 0 else b, "POST", "/auth/api_keys",
                              {"name": "k%d" % i}, bearer=bo_refresh)) for i in range(25)]
    results = all_at_once(jobs)
    created = sum(1 for s, _ in results if s == 201)
    refused = sum(1 for s, body in results
                  if s == 400 and body and body.get("error_code") == "InvalidParameter")
    check("25 creates at once over A and B: exactly 20 created", created == 20, str(created))
    check("... and 5 refused with 400 InvalidParameter", refused == 5, str(refused))
    lists = [call(base, "GET", "/auth/api_keys", bearer=bo_refresh) for base in (a, b)]
    check("A and B list the same 20 keys",
          all(s == 200 for s, _ in lists) and len(lists[0][1]) == 20
          and lists[0][1] == lists[1][1])

    # A refresh through A works on B; a log-out on B is seen by A.
    status, refreshed = call(a, "POST", "/auth/session", bearer=refresh)
    check("refresh on A: 201 with an access token",
          status == 201 and refreshed and refreshed.get("access_token"), str(status))
    if refreshed:
        status, profile = call(b, "GET", "/auth/profile", bearer=refreshed["access_token"])
        check("A's new access token works on B",
              status == 200 and profile["user_id"] == session["user_id"], str(status))
    status, _ = call(b, "DELETE", "/auth/session", bearer=refresh)
    check("log out on B: 204", status == 204, str(status))
    status, _ = call(a, "GET", "/auth/api_keys", bearer=refresh)
    check("the session logged out on B is refused on A: 401", status == 401, str(status))


def main(argv):
    if len(argv) != 3 or argv[2] not in ("postgres", "sqlite"):
        print("usage: cross_server_test.py PATH/TO/appkeys postgres|sqlite", file=sys.stderr)
        return 2
    exe, kind = argv[1], argv[2]
    with tempfile.TemporaryDirectory(prefix="appkeys-cross-") as tmp, \
            Store(kind, tmp, "the cross-server test") as store:
        log = os.path.join(tmp, "servers.log")
        args = ["--port", "0", "--store", store.uri, "--user", EMAIL + ":" + PASSWORD]
        # Started at once: both find an empty store and race to create it.
        servers = all_at_once([lambda: Serve(exe, args, stderr=log),
                               lambda: Serve(exe, args, stderr=log)])
        try:
            ok = check("A and B, started at once on one empty store, both listen",
                       all(s is not None and s.url for s in servers),
                       str([s.first_line if s else None for s in servers]))
            if ok:
                run(servers[0].url, servers[1].url)
            for name, server in zip("AB", servers):
                check("%s stops cleanly on SIGTERM" % name, server.stop() == 0)
        finally:
            serve_support.kill_all(servers)
            if CHECKS.failed:
                serve_support.print_log("servers' stderr", log)
    return CHECKS.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
