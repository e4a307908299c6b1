#!/usr/bin/env python3
"""The new-user trial with the official Web SDK (realm-web from npm, under Node).

In an empty folder: `appkeys serve` (the default store, sqlite:appkeys.db), then
realm_web_trial.js registers a user, runs every API-key call once with realm-web, and
keeps creating and deleting keys; the server is killed with SIGKILL in the middle of
that, started again in the same folder, and realm-web checks that every acknowledged key
is listed with its acknowledged state and logs in (as its owner) unless disabled, that
every acknowledged delete holds, and that nothing unacknowledged appeared.

realm-web comes from the committed package.json + package-lock.json: `npm ci` into
NODE_DIR (default: a folder next to this script's build output given as argument 2),
with npm's own cache. Without node or npm, or when `npm ci` fails, the test FAILS with a
message saying so: it never passes without having run the SDK.

Usage: realm_web_trial_test.py PATH/TO/appkeys NODE_DIR
"""
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
APP_ID = "trial-app"
OVERALL_TIMEOUT = 180  # seconds: a bound for hangs only
STARTUP_TIMEOUT = 30.0
LOAD_ACKS_BEFORE_KILL = 6  # writes acknowledged in the load phase before the kill


def fail(message):
    print("FAIL  " + message, flush=True)
    sys.exit(1)


def on_alarm(*_):
    print("FAIL  the realm-web trial did not finish within %d s" % OVERALL_TIMEOUT, flush=True)
    os._exit(1)


def install_realm_web(node_dir):
    """npm ci from the committed lock file into node_dir, unless it is there already
    for the same lock file. Returns the node_modules path."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            fail("%s not found: this test needs Node.js 18+ and npm (Debian: apt-get install "
                 "nodejs npm; CI installs them with scripts/install-deps)" % tool)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"v(\d+)", version)
    if not match or int(match.group(1)) < 18:
        fail("node %s is too old: realm-web needs Node.js 18+ (global fetch)" % version)
    os.makedirs(node_dir, exist_ok=True)
    lock = open(os.path.join(HERE, "package-lock.json"), "rb").read()
    stamp = os.path.join(node_dir, "installed-lock.json")
    modules = os.path.join(node_dir, "node_modules")
    if os.path.isdir(os.path.join(modules, "realm-web")) and os.path.isfile(stamp) \
            and open(stamp, "rb").read() == lock:
        return modules
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(node_dir, name))
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                            cwd=node_dir, capture_output=True, text=True, timeout=150)
    if result.returncode != 0:
        fail("npm ci of realm-web failed (the npm registry must be reachable, or its cache "
             "filled):\n" + result.stdout[-2000:] + result.stderr[-2000:])
    open(stamp, "wb").write(lock)
    return modules


def start_server(exe, folder, log):
    """`appkeys serve` in folder with no --store: the default store lands there."""
    proc = subprocess.Popen([exe, "serve", "--port", "0", "--log"], cwd=folder,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            proc.kill()
            fail("no first line from appkeys serve")
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            fail("appkeys serve exited at start (status %s)" % proc.wait())
        data += chunk
    selector.close()
    first = data.split(b"\n", 1)[0].decode()
    if not re.fullmatch(r"listening on http://127\.0\.0\.1:\d+", first):
        proc.kill()
        fail("unexpected first line %r" % first)
    return proc, first[len("listening on "):]


def node(modules, mode, base_url, payload):
    """Starts the SDK script; payload goes to its stdin."""
    env = dict(os.environ, NODE_PATH=modules)
    proc = subprocess.Popen(["node", os.path.join(HERE, "realm_web_trial.js"), mode, base_url,
                             APP_ID], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    return proc


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    exe, node_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(OVERALL_TIMEOUT)
    modules = install_realm_web(node_dir)

    email = "new-user@example.com"
    password = "pw-" + os.urandom(9).hex()
    with tempfile.TemporaryDirectory(prefix="appkeys-realm-web-") as folder:
        log = tempfile.TemporaryFile()  # the access log: no secret in it, kept out of the folder
        server, base_url = start_server(exe, folder, log)

        # Load: realm-web registers, runs every call, then writes until the kill.
        sdk = node(modules, "load", base_url, {"email": email, "password": password})
        keys = {}         # id -> {"name", "key", "disabled"}: acknowledged and not deleted
        deleted = {}      # id -> key value: deletion acknowledged
        maybe = set()     # names or ids whose write was in flight at the kill
        pending = None
        load_acks = 0
        ready = False
        for line in sdk.stdout:
            event = json.loads(line)
            if "begin" in event:
                pending = event["begin"]
            elif "ack" in event:
                ack = event["ack"]
                pending = None
                if ack["op"] == "create":
                    keys[ack["id"]] = {"name": ack["name"], "key": ack["key"], "disabled": False}
                elif ack["op"] in ("disable", "enable"):
                    keys[ack["id"]]["disabled"] = ack["op"] == "disable"
                elif ack["op"] == "delete":
                    deleted[ack["id"]] = keys.pop(ack["id"])["key"]
                if ready:
                    load_acks += 1
                    if load_acks == LOAD_ACKS_BEFORE_KILL:
                        server.send_signal(signal.SIGKILL)
                        server.wait()
            elif "ready" in event:
                ready = True
            elif "gone" in event:
                break
        sdk.stdout.close()
        errors = sdk.stderr.read()
        code = sdk.wait()
        if not ready or code != 0:
            server.kill()
            server.wait()
            fail("the realm-web lifecycle failed (exit %s): %s" % (code, errors.strip()[-1500:]))
        if server.poll() is None:
            server.kill()
            fail("the SDK stopped writing before the kill")
        if pending is not None:
            maybe.add(pending.get("id") or pending.get("name"))
        files = sorted(os.listdir(folder))
        if "appkeys.db" not in files:
            fail("no appkeys.db in the folder after the kill (files: %s)" % files)

        # Restart in the same folder; realm-web checks what survived.
        server, base_url = start_server(exe, folder, log)
        try:
            every = [{"id": i, "key": k["key"]} for i, k in keys.items()]
            every += [{"id": i, "key": v} for i, v in deleted.items()]
            check = node(modules, "verify", base_url,
                         {"email": email, "password": password, "keys": every})
            out = check.stdout.read()  # the overall alarm bounds a hang here
            errors = check.stderr.read()
            check.wait()
            if check.returncode != 0:
                fail("realm-web could not check the restarted server: " + errors.strip()[-1500:])
            result = json.loads(out.strip().splitlines()[-1])
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if problems_in(result, keys, deleted, maybe):
            log.seek(0)
            print("server access log:\n" + log.read().decode(errors="replace")[-3000:])
        log.close()

    problems = problems_in(result, keys, deleted, maybe)
    for problem in problems:
        print("FAIL  " + problem, flush=True)  # ids and names only, never a key value
    enabled = sum(1 for k in keys.values() if not k["disabled"])
    print("realm-web %s: %d acknowledged keys survived kill -9 (%d logged in, %d disabled "
          "refused), %d acknowledged deletes held, %d write in flight at the kill"
          % (version_of(modules), len(keys), enabled, len(keys) - enabled, len(deleted),
             len(maybe)), flush=True)
    return 1 if problems else 0


def problems_in(result, keys, deleted, maybe):
    """What the restarted server got wrong, as lines naming ids and names only."""
    listed = {k["id"]: k for k in result["listed"]}
    problems = []
    for key_id, key in keys.items():
        got = listed.get(key_id)
        if got is None and key_id in maybe:
            continue  # its delete was in flight at the kill: either outcome is allowed
        if got is None:
            problems.append("acknowledged key %s (%s) is gone" % (key_id, key["name"]))
            continue
        if got["name"] != key["name"] or got["disabled"] != key["disabled"] or got["has_value"]:
            problems.append("key %s is listed as %s" % (key_id, {
                "name": got["name"], "disabled": got["disabled"], "has_value": got["has_value"]}))
        login = result["logins"].get(key_id)
        if key["disabled"] and login is not None:
            problems.append("disabled key %s logged in" % key_id)
        if not key["disabled"] and login != result["owner"]:
            problems.append("key %s did not log in as its owner" % key_id)
    for key_id in deleted:
        if key_id in listed:
            problems.append("deleted key %s is listed again" % key_id)
        if result["logins"].get(key_id) is not None:
            problems.append("deleted key %s logged in" % key_id)
    for key_id, got in listed.items():
        if key_id not in keys and key_id not in maybe and got["name"] not in maybe:
            problems.append("key %s (%s) was never acknowledged" % (key_id, got["name"]))
    return problems


def version_of(modules):
    with open(os.path.join(modules, "realm-web", "package.json")) as package:
        return json.load(package)["version"]


if __name__ == "__main__":
    sys.exit(main())
