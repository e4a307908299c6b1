#!/usr/bin/env python3
"""A client that is not ours: drives `appkeys serve` with raw HTTP, as the official SDKs do.

Usage: foreign_client.py PATH/TO/appkeys [memory|sqlite|postgres]

Starts `appkeys serve --port 0 --app-id conformance --user ann@example.com:pw123456`,
reads the port from its first stdout line ("listening on http://127.0.0.1:PORT"), then
exercises every operation of PROTOCOL.md (location, the three logins, registration,
profile, session refresh, the six user API key routes, log out) and every row of its §6
with nothing but the Python standard library. Nothing here shares code with the C++
client, so a mistake made the same way on both sides of the project cannot hide.

Prints one line per check and ends with "N passed, M failed"; exits 0 only if every
check passed. The server is always stopped, and the whole run is bounded in time.
"""

import base64
import http.client
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

# The serve helpers shared by every Python test of the server (nothing of the C++ client).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402

APP_ID = "conformance"
EMAIL = "ann@example.com"
PASSWORD = "pw123456"
OTHER_EMAIL = "bob@example.com"
OTHER_PASSWORD = "pw-of-bob-123"

REQUEST_TIMEOUT = 10.0  # seconds, per request
STARTUP_TIMEOUT = 15.0  # seconds, for the server's first line
OVERALL_TIMEOUT = 100  # seconds, for the whole run (ctest allows 120)

API = "/api/client/v2.0"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
CHARSET_MESSAGE = "can only contain ASCII letters, numbers, underscores, and hyphens."


class OverallTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise OverallTimeout(f"the run took longer than {OVERALL_TIMEOUT} s")


# ------------------------------------------------------------------------------------
# Checks


CHECKS = serve_support.Checks()
check = CHECKS.check


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value), as received
        self.body = body  # bytes

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def describe(self):
        text = self.body[:300].decode("utf-8", "replace")
        return f"status {self.status}, Content-Type {self.header('Content-Type')!r}, body {text!r}"


# ------------------------------------------------------------------------------------
# The wire, as the official SDKs use it


class Wire:
    """Raw HTTP to one origin. Every request has its own connection and timeout."""

    def __init__(self, origin):
        parts = urllib.parse.urlsplit(origin)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"unexpected origin {origin!r}")
        self.host = parts.hostname
        self.port = parts.port or 80

    def send(self, method, path, headers=(), body=None):
        """body: None (no body), bytes, or a JSON value."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            # skip_accept_encoding: http.client would add "Accept-Encoding: identity";
            # only Host (required by HTTP/1.1) and the headers given are sent.
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            data = None
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            if data is not None or method in ("POST", "PUT"):
                conn.putheader("Content-Length", str(len(data or b"")))
            conn.endheaders(data)
            response = conn.getresponse()
            payload = response.read()
            return Response(response.status, response.getheaders(), payload)
        finally:
            conn.close()


def sdk_headers(bearer=None, has_body=False, style="core"):
    """realm-core sends Accept and Content-Type (with charset) on every request;
    realm-web sends Content-Type only with a body."""
    headers = [("Accept", "application/json")]
    if style == "core":
        headers.append(("Content-Type", "application/json;charset=utf-8"))
    elif has_body:
        headers.append(("Content-Type", "application/json"))
    if bearer is not None:
        headers.append(("Authorization", f"Bearer {bearer}"))
    return headers


class Client:
    def __init__(self, wire):
        self.wire = wire
        self.device_id = None

    def call(self, method, path, bearer=None, body=None, style="core", headers=None):
        if headers is None:
            headers = sdk_headers(bearer, body is not None, style)
        return self.wire.send(method, API + path, headers, body)

    def device(self):
        device = {
            "appId": APP_ID,
            "appVersion": "",
            "platform": "Python",
            "platformVersion": platform.python_version(),
            "sdk": "foreign-client",
            "sdkVersion": "1.0.0",
            "cpuArch": platform.machine(),
            "deviceName": "",
            "deviceVersion": "",
            "frameworkName": "",
            "frameworkVersion": "",
            "bundleId": "",
        }
        if self.device_id and self.device_id != "0" * 24:
            device["deviceId"] = {"$oid": self.device_id}
        return device

    def login(self, provider, credentials, style="core"):
        body = dict(credentials)
        body["options"] = {"device": self.device()}
        return self.call("POST", f"/app/{APP_ID}/auth/providers/{provider}/login", body=body,
                         style=style)


# ------------------------------------------------------------------------------------
# Expectations


def is_json_answer(r):
    return r.header("Content-Type") == "application/json" and r.json() is not None


def expect_json(label, r, status):
    ok = check(f"{label}: {status} with Content-Type application/json",
               r.status == status and is_json_answer(r), r.describe())
    return r.json() if ok else None


def expect_no_content(label, r):
    ok = check(f"{label}: 204, no Content-Type, empty body",
               r.status == 204 and r.header("Content-Type") is None and r.body == b"",
               r.describe())
    check(f"{label}: no Content-Length on the 204 (RFC 9110)",
          r.header("Content-Length") is None, f"Content-Length {r.header('Content-Length')!r}")
    return ok


def expect_error(label, r, status, code, message=None, message_contains=None):
    """A JSON error body with error, error_code and link."""
    body = r.json() if r.header("Content-Type") == "application/json" else None
    problems = []
    if r.status != status:
        problems.append(f"status {r.status}, expected {status}")
    if r.header("Content-Type") != "application/json":
        problems.append(f"Content-Type {r.header('Content-Type')!r}")
    if not isinstance(body, dict):
        problems.append("body is not a JSON object")
    else:
        if not isinstance(body.get("error"), str):
            problems.append("no string 'error'")
        if body.get("error_code") != code:
            problems.append(f"error_code {body.get('error_code')!r}, expected {code!r}")
        if not isinstance(body.get("link"), str) or not body.get("link"):
            problems.append("no string 'link'")
        message_text = body.get("error") if isinstance(body.get("error"), str) else ""
        if message is not None and message_text != message:
            problems.append(f"error {message_text!r}, expected {message!r}")
        if message_contains is not None and message_contains not in message_text:
            problems.append(f"error {message_text!r} does not contain {message_contains!r}")
    return check(f"{label}: {status} {code}", not problems,
                 "; ".join(problems) + f" ({r.describe()})")


def expect_name_required(label, r):
    """The one error the hosted service sent without an error_code (§6)."""
    body = r.json() if r.header("Content-Type") == "application/json" else None
    ok = (r.status == 400 and isinstance(body, dict)
          and body.get("error") == "'name' is a required string."
          and "error_code" not in body)
    return check(f"{label}: 400 \"'name' is a required string.\" without error_code", ok,
                 r.describe())


def expect_key_shape(label, key, with_value):
    expected = {"_id", "name", "disabled"} | ({"key"} if with_value else set())
    problems = []
    if not isinstance(key, dict):
        return check(f"{label}: key object shape", False, f"not an object: {key!r}")
    if set(key) != expected:
        problems.append(f"members {sorted(key)}, expected {sorted(expected)}")
    if not isinstance(key.get("_id"), str) or not HEX24.match(key.get("_id", "")):
        problems.append(f"_id {key.get('_id')!r} is not 24 lowercase hex")
    if not isinstance(key.get("name"), str):
        problems.append("name is not a string")
    if not isinstance(key.get("disabled"), bool):
        problems.append("disabled is not a bool")
    if with_value and (not isinstance(key.get("key"), str) or not key.get("key")):
        problems.append("key is not a non-empty string")
    what = "_id, key, name, disabled" if with_value else "_id, name, disabled; no key"
    return check(f"{label}: shape is exactly {{{what}}}", not problems, "; ".join(problems))


def jwt_claims(token):
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def expect_login(label, r, expected_user_id=None):
    body = expect_json(label, r, 200)
    if body is None:
        return None
    problems = []
    for member in ("access_token", "refresh_token", "user_id", "device_id"):
        if not isinstance(body.get(member), str) or not body.get(member):
            problems.append(f"no string {member}")
    if expected_user_id is not None and body.get("user_id") != expected_user_id:
        problems.append(f"user_id {body.get('user_id')!r}, expected the owner's {expected_user_id!r}")
    check(f"{label}: has access_token, refresh_token, user_id, device_id"
          + (" (the key owner's user_id)" if expected_user_id else ""),
          not problems, "; ".join(problems))
    claims = jwt_claims(body.get("access_token"))
    check(f"{label}: the access token is JWT-shaped: exp in the future, sub is the user_id",
          claims is not None and isinstance(claims.get("exp"), int)
          and claims["exp"] > time.time() and claims.get("sub") == body.get("user_id"),
          f"claims {sorted(claims) if claims else None!r}")
    return body if not problems else None


def expect_profile(label, r, user_id, provider_types):
    body = expect_json(label, r, 200)
    if body is None:
        return
    problems = []
    if body.get("user_id") != user_id:
        problems.append(f"user_id {body.get('user_id')!r}, expected {user_id!r}")
    if not isinstance(body.get("type"), str):
        problems.append("no string type")
    if not isinstance(body.get("data"), dict):
        problems.append("no object data")
    identities = body.get("identities")
    if not isinstance(identities, list) or not all(
            isinstance(i, dict) and isinstance(i.get("id"), str)
            and isinstance(i.get("provider_type"), str) for i in identities):
        problems.append(f"identities {identities!r} is not a list of {{id, provider_type}}")
    else:
        seen = {i["provider_type"] for i in identities}
        for wanted in provider_types:
            if wanted not in seen:
                problems.append(f"no identity with provider_type {wanted!r} (have {sorted(seen)})")
    check(f"{label}: {{user_id, type, identities[{{id, provider_type}}], data}}"
          f" with provider types {provider_types}", not problems, "; ".join(problems))


# ------------------------------------------------------------------------------------
# The scenario


def key_routes(key_id):
    """The four routes that take an id: (label, method, path)."""
    return [
        ("fetch", "GET", f"/auth/api_keys/{key_id}"),
        ("enable", "PUT", f"/auth/api_keys/{key_id}/enable"),
        ("disable", "PUT", f"/auth/api_keys/{key_id}/disable"),
        ("delete", "DELETE", f"/auth/api_keys/{key_id}"),
    ]


def run(base_url):
    # ---- §1 location: GET with no headers at all (only Host, which HTTP/1.1 requires).
    base = Wire(base_url)
    r = base.send("GET", f"{API}/app/{APP_ID}/location")
    location = expect_json("location", r, 200)
    if location is None:
        return
    check("location: hostname names the server's own address",
          location.get("hostname") == base_url, f"hostname {location.get('hostname')!r}")
    check("location: ws_hostname, deployment_model and location are present strings",
          all(isinstance(location.get(k), str) and location.get(k)
              for k in ("ws_hostname", "deployment_model", "location")), repr(location))

    # Every later request goes to `hostname`, as the SDKs do.
    c = Client(Wire(location["hostname"]))

    # ---- §4 logins and sessions
    login = expect_login("log in local-userpass", c.login(
        "local-userpass", {"username": EMAIL, "password": PASSWORD}))
    if login is None:
        return
    ann_id = login["user_id"]
    ann_access, ann_refresh = login["access_token"], login["refresh_token"]
    c.device_id = login["device_id"]
    check("log in local-userpass: user_id and device_id are 24 hex",
          HEX24.match(ann_id) is not None and HEX24.match(c.device_id) is not None,
          f"user_id {ann_id!r}, device_id {c.device_id!r}")

    # A second login, now sending the device id back (options.device.deviceId.$oid),
    # in realm-web's header style: its own independent session.
    second = expect_login("log in local-userpass again with deviceId (realm-web headers)", c.login(
        "local-userpass", {"username": EMAIL, "password": PASSWORD}, style="web"), ann_id)
    if second is None:
        return
    check("a second login is a new session (different tokens)",
          second["refresh_token"] != ann_refresh and second["access_token"] != ann_access)

    expect_profile("profile (access token)", c.call("GET", "/auth/profile", ann_access),
                   ann_id, ["local-userpass"])

    body = expect_json("session refresh (POST /auth/session, refresh token)",
                       c.call("POST", "/auth/session", ann_refresh), 201)
    if body is not None:
        check("session refresh: body is exactly {access_token}",
              set(body) == {"access_token"} and isinstance(body["access_token"], str)
              and body["access_token"], repr(sorted(body)))
        expect_profile("profile with the refreshed access token",
                       c.call("GET", "/auth/profile", body["access_token"]), ann_id,
                       ["local-userpass"])

    anon = expect_login("log in anon-user", c.login("anon-user", {}))
    if anon is not None:
        expect_profile("profile of the anonymous user", c.call(
            "GET", "/auth/profile", anon["access_token"]), anon["user_id"], ["anon-user"])

    r = c.call("POST", f"/app/{APP_ID}/auth/providers/local-userpass/register",
               body={"email": OTHER_EMAIL, "password": OTHER_PASSWORD})
    check("register email/password: 2xx", 200 <= r.status < 300, r.describe())
    bob = expect_login("log in the registered user", c.login(
        "local-userpass", {"username": OTHER_EMAIL, "password": OTHER_PASSWORD}))
    if bob is None:
        return

    # ---- §3 the six API key operations (refresh token as bearer)
    created = {}
    for name in ("reporting", "billing", "ops"):
        body = expect_json(f"create {name!r}", c.call(
            "POST", "/auth/api_keys", ann_refresh, {"name": name}), 201)
        if body is None:
            return
        expect_key_shape(f"create {name!r}", body, with_value=True)
        check(f"create {name!r}: name echoed, disabled false",
              body.get("name") == name and body.get("disabled") is False, repr(
                  {k: v for k, v in body.items() if k != "key"}))
        created[name] = body
    check("create: every key has its own id and value",
          len({k["_id"] for k in created.values()}) == 3
          and len({k["key"] for k in created.values()}) == 3)
    reporting = created["reporting"]
    rid = reporting["_id"]

    body = expect_json("create in realm-web's header style", c.call(
        "POST", "/auth/api_keys", ann_refresh, {"name": "web-style"}, style="web"), 201)
    if body is not None:
        expect_no_content("delete it", c.call("DELETE", f"/auth/api_keys/{body['_id']}",
                                              ann_refresh, style="web"))

    body = expect_json("fetch one", c.call("GET", f"/auth/api_keys/{rid}", ann_refresh), 200)
    if body is not None:
        expect_key_shape("fetch one", body, with_value=False)
        check("fetch one: the same _id, name, disabled false",
              body.get("_id") == rid and body.get("name") == "reporting"
              and body.get("disabled") is False, repr(body))

    def fetch_all(label):
        body = expect_json(label, c.call("GET", "/auth/api_keys", ann_refresh), 200)
        if body is None:
            return None
        if not check(f"{label}: a top-level JSON array", isinstance(body, list), repr(body)[:200]):
            return None
        ok = all(expect_key_shape(f"{label}[{i}]", key, with_value=False)
                 for i, key in enumerate(body))
        return body if ok else None

    listed = fetch_all("fetch all")
    if listed is not None:
        check("fetch all: the keys in creation order",
              [k["name"] for k in listed] == ["reporting", "billing", "ops"]
              and [k["_id"] for k in listed] == [created[n]["_id"]
                                                 for n in ("reporting", "billing", "ops")],
              repr([k["name"] for k in listed]))

    def state_of(key_id):
        r = c.call("GET", f"/auth/api_keys/{key_id}", ann_refresh)
        body = r.json() if r.status == 200 else None
        return body.get("disabled") if isinstance(body, dict) else None

    expect_no_content("disable", c.call("PUT", f"/auth/api_keys/{rid}/disable", ann_refresh))
    check("disable: fetch shows disabled true", state_of(rid) is True)
    expect_no_content("disable again (idempotent)",
                      c.call("PUT", f"/auth/api_keys/{rid}/disable", ann_refresh))
    check("disable again: still disabled", state_of(rid) is True)
    listed = fetch_all("fetch all after disable")
    if listed is not None:
        check("fetch all after disable: only that key is disabled",
              [k["disabled"] for k in listed] == [True, False, False], repr(listed))

    # §6: a disabled key cannot log in
    expect_error("log in with a disabled key", c.login("api-key", {"key": reporting["key"]}),
                 401, "AuthError", message="unauthorized")

    expect_no_content("enable", c.call("PUT", f"/auth/api_keys/{rid}/enable", ann_refresh))
    check("enable: fetch shows disabled false", state_of(rid) is False)
    expect_no_content("enable again (idempotent)",
                      c.call("PUT", f"/auth/api_keys/{rid}/enable", ann_refresh))
    check("enable again: still enabled", state_of(rid) is False)

    # Log in with the key: the owner's user_id, a profile with an api-key identity.
    svc = expect_login("log in api-key", c.login("api-key", {"key": reporting["key"]}), ann_id)
    if svc is not None:
        expect_profile("profile of the api-key session", c.call(
            "GET", "/auth/profile", svc["access_token"]), ann_id, ["local-userpass", "api-key"])
        expect_json("session refresh of the api-key session",
                    c.call("POST", "/auth/session", svc["refresh_token"]), 201)

    # ---- §6 the create rules
    expect_name_required("create with no name", c.call("POST", "/auth/api_keys", ann_refresh, {}))
    expect_name_required("create with an empty name",
                         c.call("POST", "/auth/api_keys", ann_refresh, {"name": ""}))
    for bad in ("has space", "dot.ted", "slash/ed", "na\u00efve", "emoji-\U0001F511", "tab\t"):
        expect_error(f"create with name {bad!r}", c.call(
            "POST", "/auth/api_keys", ann_refresh, {"name": bad}), 400, "InvalidParameter",
            message_contains=CHARSET_MESSAGE)
    expect_error("create with a 257-byte name", c.call(
        "POST", "/auth/api_keys", ann_refresh, {"name": "a" * 257}), 400, "InvalidParameter",
        message_contains="256")
    body = expect_json("create with a 256-byte name (the limit itself)", c.call(
        "POST", "/auth/api_keys", ann_refresh, {"name": "b" * 256}), 201)
    if body is not None:
        expect_no_content("delete the 256-byte key", c.call(
            "DELETE", f"/auth/api_keys/{body['_id']}", ann_refresh))
    expect_error("create a duplicate name", c.call(
        "POST", "/auth/api_keys", ann_refresh, {"name": "billing"}), 409, "APIKeyAlreadyExists",
        message="API key with name already exists")
    listed = fetch_all("fetch all after the refused creates")
    if listed is not None:
        check("the refused creates left no key behind",
              [k["name"] for k in listed] == ["reporting", "billing", "ops"],
              repr([k["name"] for k in listed]))

    # 20 keys per user, then the 21st is refused.
    extra = []
    for i in range(20 - 3):
        r = c.call("POST", "/auth/api_keys", ann_refresh, {"name": f"bulk-{i}"})
        if r.status == 201 and isinstance(r.json(), dict):
            extra.append(r.json()["_id"])
    check("create up to the limit: 20 keys in all", len(extra) == 17, f"{len(extra)} of 17 created")
    expect_error("create a 21st key", c.call(
        "POST", "/auth/api_keys", ann_refresh, {"name": "one-too-many"}), 400,
        "InvalidParameter", message_contains="20")
    deleted = sum(c.call("DELETE", f"/auth/api_keys/{key_id}", ann_refresh).status == 204
                  for key_id in extra)
    check("delete the extra keys again", deleted == len(extra), f"{deleted} of {len(extra)}")

    # Sessions that may not create keys.
    if anon is not None:
        expect_error("create with an anon-user session", c.call(
            "POST", "/auth/api_keys", anon["refresh_token"], {"name": "from-anon"}), 403,
            "InvalidParameter", message_contains="anon-user")
    if svc is not None:
        expect_error("create with an api-key session", c.call(
            "POST", "/auth/api_keys", svc["refresh_token"], {"name": "from-key"}), 403,
            "InvalidParameter", message_contains="api-key")

    # ---- §6 ids: unknown, another user's, malformed
    body = expect_json("the other user creates a key", c.call(
        "POST", "/auth/api_keys", bob["refresh_token"], {"name": "bobs-key"}), 201)
    bobs_id = body["_id"] if body else "f" * 24
    unknown = "0123456789abcdef01234567"
    while unknown in (k["_id"] for k in created.values()) or unknown == bobs_id:
        unknown = unknown[1:] + unknown[0]
    cases = [("an unknown id", unknown), ("another user's key", bobs_id)]
    cases += [(f"malformed id {bad!r}", bad) for bad in (
        "abc", "0" * 23, "0" * 25, "g" * 24, "0123456789ABCDEF0123456Z", "..%2Fsession")]
    for what, key_id in cases:
        for op, method, path in key_routes(key_id):
            expect_error(f"{op} {what}", c.call(method, path, ann_refresh), 404,
                         "APIKeyNotFound", message="API key not found")
    r = c.call("GET", f"/auth/api_keys/{bobs_id}", bob["refresh_token"])
    check("the other user's key is untouched (still there, enabled)",
          r.status == 200 and isinstance(r.json(), dict) and r.json().get("disabled") is False,
          r.describe())
    r = c.call("GET", "/auth/api_keys", bob["refresh_token"])
    check("each user lists only their own keys",
          r.status == 200 and [k.get("_id") for k in (r.json() or [])] == [bobs_id], r.describe())

    # ---- delete, then the deleted key is gone for good
    ops_key = created["ops"]
    expect_no_content("delete", c.call("DELETE", f"/auth/api_keys/{ops_key['_id']}", ann_refresh))
    expect_error("fetch a deleted key", c.call("GET", f"/auth/api_keys/{ops_key['_id']}",
                                               ann_refresh), 404, "APIKeyNotFound")
    expect_error("delete a deleted key", c.call("DELETE", f"/auth/api_keys/{ops_key['_id']}",
                                                ann_refresh), 404, "APIKeyNotFound")
    expect_error("log in with a deleted key", c.login("api-key", {"key": ops_key["key"]}),
                 401, "AuthError", message="unauthorized")
    listed = fetch_all("fetch all after delete")
    if listed is not None:
        check("fetch all after delete: the others, still in creation order",
              [k["name"] for k in listed] == ["reporting", "billing"],
              repr([k["name"] for k in listed]))

    # ---- §6 bearer problems
    authenticated = [
        ("create", "POST", "/auth/api_keys", {"name": "nope"}),
        ("fetch all", "GET", "/auth/api_keys", None),
        ("fetch", "GET", f"/auth/api_keys/{rid}", None),
        ("enable", "PUT", f"/auth/api_keys/{rid}/enable", None),
        ("disable", "PUT", f"/auth/api_keys/{rid}/disable", None),
        ("delete", "DELETE", f"/auth/api_keys/{rid}", None),
        ("session refresh", "POST", "/auth/session", None),
        ("log out", "DELETE", "/auth/session", None),
        ("profile", "GET", "/auth/profile", None),
    ]
    forged = ann_refresh[:-8] + ("AAAAAAAA" if not ann_refresh.endswith("AAAAAAAA") else "BBBBBBBB")
    for op, method, path, body in authenticated:
        expect_error(f"{op} without Authorization", c.call(method, path, None, body), 401,
                     "InvalidSession", message="invalid session")
        expect_error(f"{op} with an unknown bearer", c.call(method, path, forged, body), 401,
                     "InvalidSession", message="invalid session")
        if path != "/auth/profile":
            expect_error(f"{op} with the access token (refresh required)",
                         c.call(method, path, ann_access, body), 401, "InvalidSession",
                         message="invalid session")
    check("the refused requests changed nothing (the key is still enabled)",
          state_of(rid) is False)

    # ---- §4 log out
    if svc is not None:
        expect_no_content("log out the api-key session",
                          c.call("DELETE", "/auth/session", svc["refresh_token"]))
        expect_error("the logged-out refresh token is refused", c.call(
            "GET", "/auth/api_keys", svc["refresh_token"]), 401, "InvalidSession")
        r = c.call("GET", "/auth/api_keys", ann_refresh)
        check("the owner's own session is independent of the api-key session",
              r.status == 200, r.describe())
    expect_no_content("log out", c.call("DELETE", "/auth/session", ann_refresh))
    expect_error("log out again with the same refresh token", c.call(
        "DELETE", "/auth/session", ann_refresh), 401, "InvalidSession")
    expect_error("session refresh after log out", c.call(
        "POST", "/auth/session", ann_refresh), 401, "InvalidSession")
    r = c.call("GET", "/auth/api_keys", second["refresh_token"])
    check("the second email/password session is still logged in", r.status == 200, r.describe())
    expect_no_content("log out the second session",
                      c.call("DELETE", "/auth/session", second["refresh_token"]))
    for session in (anon, bob):
        if session is not None:
            c.call("DELETE", "/auth/session", session["refresh_token"])


# ------------------------------------------------------------------------------------
# The server process


def read_first_line(proc, timeout):
    line = serve_support.read_first_line(proc, timeout)
    if line is None:
        raise RuntimeError(f"no first line from the server within {timeout} s "
                           f"(exit status {proc.poll()})")
    return line


def stop(proc):
    """SIGTERM (the server shuts down cleanly on it), then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    proc.stdout.close()


def main(argv):
    # The store: memory (the default), sqlite (a fresh file in a temporary directory) or
    # postgres (a fresh schema in APPKEYS_TEST_POSTGRES_URI's database).
    kinds = ("memory", "sqlite", "postgres")
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in kinds):
        print(f"usage: {argv[0]} PATH/TO/appkeys [memory|sqlite|postgres]", file=sys.stderr)
        return 2
    store_kind = argv[2] if len(argv) == 3 else "memory"
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(OVERALL_TIMEOUT)
    server_log = tempfile.TemporaryFile()
    store_dir = tempfile.TemporaryDirectory(prefix="appkeys-conformance-")
    fresh = serve_support.Store(store_kind, store_dir.name, "the foreign client")
    store = fresh.uri
    proc = None
    crashed = False
    try:
        proc = subprocess.Popen(
            [argv[1], "serve", "--port", "0", "--app-id", APP_ID, "--user", f"{EMAIL}:{PASSWORD}",
             "--store", store],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=server_log)
        first = read_first_line(proc, STARTUP_TIMEOUT)
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", first)
        if check("server: first line is 'listening on http://127.0.0.1:PORT'",
                 match is not None and int(match.group(2)) > 0, repr(first)):
            run(match.group(1))
        check("server: still running after the whole run", proc.poll() is None,
              f"exit status {proc.poll()}")
    except BaseException as error:  # noqa: BLE001 - report anything, then clean up
        crashed = True
        traceback.print_exc()
        check("the run completed without an exception", False, f"{type(error).__name__}: {error}")
    finally:
        signal.alarm(0)
        if proc is not None:
            stop(proc)
            if CHECKS.failed:
                server_log.seek(0)
                text = server_log.read().decode("utf-8", "replace")
                print("server stderr:\n" + text, end="" if text.endswith("\n") else "\n")
        server_log.close()
        fresh.__exit__(None, None, None)
        store_dir.cleanup()
    print(f"{CHECKS.passed} passed, {CHECKS.failed} failed", flush=True)
    return 1 if CHECKS.failed or crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
