"""What the Python tests of `appkeys serve` share: checks, a server process, requests, stores.

Imported by tests/serve/*.py, tests/server/*.py and tests/conformance/foreign_client.py
(each puts this directory on sys.path first). Python 3 stdlib only; PostgreSQL schemas are
made with the `psql` client (Debian's postgresql-client, which postgresql pulls in).

PostgreSQL: the tests take the database from APPKEYS_TEST_POSTGRES_URI (scripts/pg-cluster
start prints it; scripts/test and .ci/run set it). Without it, a test run by ctest
(APPKEYS_TEST_POSTGRES_REQUIRED=1) fails, and one run by hand is skipped with a message.
"""

import http.client
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

HANG_BOUND = 60  # seconds: the bound on any single wait (never a speed assertion)
API = "/api/client/v2.0"
POSTGRES_URI_VARIABLE = "APPKEYS_TEST_POSTGRES_URI"


class Checks:
    """PASS/FAIL lines and their counts. Labels never hold secrets."""

    def __init__(self, quiet_passes=False):
        self.passed = 0
        self.failed = 0
        self.quiet_passes = quiet_passes

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if not self.quiet_passes:
                print("PASS  " + name, flush=True)
        else:
            self.failed += 1
            print("FAIL  " + name + (": " + detail if detail else ""), flush=True)
        return bool(ok)

    def summary(self, what=None):
        """Prints the counts (after "`what`: " if given); the exit status they make."""
        print("%s%d passed, %d failed" % (what + ": " if what else "", self.passed, self.failed),
              flush=True)
        return 1 if self.failed else 0


def watchdog(what, seconds):
    """Fails the whole test (FAIL line, exit status 1) if it has not ended within
    `seconds`: a bound for hangs only."""

    def on_alarm(*_):
        print("FAIL  %s did not finish within %d s" % (what, seconds), flush=True)
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


def read_first_line(proc, timeout=HANG_BOUND, received=None):
    """The first stdout line of `proc` (stripped), or None if none came within `timeout`
    or the process ended first. `received`, a list, gets every byte read (the line and
    whatever came with it)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not selector.select(min(remaining, 0.2)):
                if proc.poll() is not None:
                    return None
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            data += chunk
    finally:
        selector.close()
        if received is not None:
            received.append(data)
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


class Serve:
    """One `appkeys serve ARGS` process: stdout piped (its first line read at start, the
    rest at stop(): `.stdout()`), stderr to `stderr` (a file object, a path, or DEVNULL). `.url`, `.host`, `.port` come from
    the first line; they are None if it never came. A context manager: stops on exit."""

    LINE = re.compile(r"listening on (https?)://(\[[^\]]+\]|[^:/]+):(\d+)")

    def __init__(self, exe, args, stderr=subprocess.DEVNULL, cwd=None, env=None):
        self._own_err = None
        if isinstance(stderr, str):
            self._own_err = open(stderr, "ab")
            stderr = self._own_err
        self.proc = subprocess.Popen([exe, "serve"] + list(args), stdout=subprocess.PIPE,
                                     stderr=stderr, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
        self._stdout = []  # what was read of stdout: its head, then the rest at stop()
        self.first_line = read_first_line(self.proc, received=self._stdout)
        self.url = self.host = self.port = None
        m = self.LINE.fullmatch(self.first_line or "")
        if m:
            self.url = "%s://%s:%s" % m.groups()
            self.host = m.group(2).strip("[]")
            self.port = int(m.group(3))

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` (None: none) and returns the exit status (None if it hung)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        if self.proc.stdout and not self.proc.stdout.closed:
            if code is not None:
                self._stdout.append(self.proc.stdout.read())  # it ended: the rest, to EOF
            self.proc.stdout.close()
        if self._own_err:
            self._own_err.close()
            self._own_err = None
        return code

    def stdout(self):
        """All it wrote to stdout, once stopped (before: what its first line came with)."""
        return b"".join(self._stdout)

    def kill(self):
        """SIGKILL, as a crash would."""
        return self.stop(signal.SIGKILL)

    def require_started(self):
        """Itself, once it is listening; stops it and raises RuntimeError if it never
        said so."""
        if self.url is None:
            self.stop()
            raise RuntimeError("serve did not start: first line %r" % self.first_line)
        return self

    def __enter__(self):
        return self.require_started()

    def __exit__(self, *exc):
        self.stop()


def kill_all(servers):
    """SIGKILL to every Serve in `servers` (None entries allowed) still running: the
    clean-up after a test that may have failed half-way."""
    for server in servers:
        if server is not None and server.proc.poll() is None:
            server.kill()


def print_log(title, path):
    """Prints the file at `path` (the servers' stderr) under `title`, for a failed test."""
    with open(path, "rb") as f:
        print(title + ":\n" + f.read().decode("utf-8", "replace"), flush=True)


def send(conn, method, path, body, bearer, headers):
    """One request on `conn` to API + `path`, `body` as JSON, `bearer` as the
    Authorization, `headers` added: (status, the response's headers with lower-case
    names, raw body bytes)."""
    sent = dict(headers)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if bearer:
        sent["Authorization"] = "Bearer " + bearer
    conn.request(method, API + path, body=data, headers=sent)
    response = conn.getresponse()
    raw = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, raw


class Client:
    """One keep-alive HTTP connection to a server; raises OSError/HTTPException when the
    server is gone. `call` returns (status, parsed JSON body or None)."""

    def __init__(self, base_url, timeout=30):
        parts = urllib.parse.urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def call(self, method, path, body=None, bearer=None):
        status, headers, raw = send(self.conn, method, path, body, bearer,
                                    {"Accept": "application/json"})
        parsed = None
        if raw and headers.get("content-type", "").startswith("application/json"):
            parsed = json.loads(raw)
        return status, parsed

    def login(self, provider, credentials, app_id="app"):
        status, body = self.call("POST", "/app/%s/auth/providers/%s/login" % (app_id, provider),
                                 dict(credentials, options={"device": {"sdkVersion": "test"}}))
        return body if status == 200 else None

    def close(self):
        self.conn.close()


def exchange(base_url, method, path, body=None, bearer=None, headers=None):
    """One request on a fresh connection, with `headers` added: (status, the response's
    headers with lower-case names, raw body bytes). Raises OSError/HTTPException when
    the server cannot be reached."""
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HANG_BOUND)
    try:
        return send(conn, method, path, body, bearer, headers or {})
    finally:
        conn.close()


def call(base_url, method, path, body=None, bearer=None):
    """One request on a fresh connection: (status, parsed JSON body or None). Status 0
    when the server could not be reached."""
    client = Client(base_url)
    try:
        return client.call(method, path, body, bearer)
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        client.close()


# ------------------------------------------------------------------------------------
# Stores


def postgres_uri_or_exit(what):
    """The test database's URI; without one, exits: 1 under ctest (which requires it),
    else 0 after saying `what` was skipped and how to run it."""
    uri = os.environ.get(POSTGRES_URI_VARIABLE)
    if uri:
        return uri
    if os.environ.get("APPKEYS_TEST_POSTGRES_REQUIRED") == "1":
        print("FAIL  %s needs PostgreSQL: %s is not set (scripts/test and .ci/run start a "
              "throwaway cluster; by hand: eval \"$(scripts/pg-cluster start /tmp/appkeys-pg)\")"
              % (what, POSTGRES_URI_VARIABLE), flush=True)
        sys.exit(1)
    print("SKIPPED  %s: %s is not set (eval \"$(scripts/pg-cluster start /tmp/appkeys-pg)\" "
          "to run it)" % (what, POSTGRES_URI_VARIABLE), flush=True)
    sys.exit(0)


def psql(uri, sql):
    """Runs `sql` in the database `uri` names with the psql client; raises on failure."""
    exe = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    subprocess.run([exe, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql],
                   check=True, capture_output=True, timeout=HANG_BOUND)


def with_params(uri, **params):
    """`uri` with query parameters added."""
    extra = urllib.parse.urlencode(params, safe="/")
    return uri + ("&" if "?" in uri else "?") + extra


class PgSchema:
    """A fresh schema in the test database, dropped with its tables on exit. `.uri` is a
    store URI whose tables live in it (one schema per test: parallel ctest runs never
    meet)."""

    def __init__(self, base_uri):
        self.base = base_uri
        self.name = "appkeys_t_" + secrets.token_hex(8)
        psql(self.base, "CREATE SCHEMA " + self.name)
        self.uri = with_params(self.base, options="-csearch_path=" + self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            psql(self.base, "DROP SCHEMA %s CASCADE" % self.name)
        except (subprocess.SubprocessError, OSError):
            pass  # the cluster is gone already


class Store:
    """A fresh store of one kind ("memory", "sqlite" in `tmp`, "postgres" in a new schema)
    as a context manager; `.uri` is what --store takes."""

    def __init__(self, kind, tmp, what="this test"):
        self.schema = None
        if kind == "memory":
            self.uri = "memory:"
        elif kind == "sqlite":
            self.uri = "sqlite:" + os.path.join(tmp, "appkeys.db")
        elif kind == "postgres":
            self.schema = PgSchema(postgres_uri_or_exit(what))
            self.uri = self.schema.uri
        else:
            raise ValueError("unknown store kind %r" % kind)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.schema is not None:
            self.schema.__exit__(*exc)
