"""What cli_test.py drives the built `appkeys` command with: a record of every run (for
the final sweep for secrets), `appkeys serve` on a free port, stand-in servers that
never answer or always fail, and a pseudo-terminal for the password prompt.

Python 3 stdlib only. Every wait is bounded by HANG_BOUND (a bound on hangs, never a
speed assertion).
"""
import http.server
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
import serve_support  # noqa: E402
from serve_support import HANG_BOUND  # noqa: E402,F401 (the cli tests import it from here)


class Checks(serve_support.Checks):
    """serve_support.Checks that print every check and keep `secrets` (strings a
    failure's detail must not show) out of its lines."""

    def __init__(self):
        super().__init__()
        self.secrets = []

    def check(self, label, ok, detail=""):
        for secret in self.secrets:
            detail = detail.replace(secret, "[secret]")
        return super().check(label, ok, detail)


class Run:
    """One finished command: label, exit status (None: hung), stdout and stderr bytes."""

    def __init__(self, label, returncode, stdout, stderr):
        self.label = label
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


def clean_environment(extra=None):
    """This process's environment without any APPKEYS_ variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPKEYS_")}
    env.update(extra or {})
    return env


class Runner:
    """Runs the command, recording every run's output for the secrets sweep."""

    def __init__(self, exe):
        self.exe = exe
        self.runs = []

    def record(self, run):
        self.runs.append(run)
        return run

    def run(self, label, args, stdin=None, env=None):
        """`appkeys ARGS`, stdin from `stdin` (bytes) or /dev/null."""
        try:
            p = subprocess.run([self.exe] + args, input=stdin,
                               stdin=None if stdin is not None else subprocess.DEVNULL,
                               capture_output=True, timeout=HANG_BOUND,
                               env=clean_environment(env))
            return self.record(Run(label, p.returncode, p.stdout, p.stderr))
        except subprocess.TimeoutExpired as e:
            return self.record(Run(label, None, e.stdout or b"", e.stderr or b""))

    def start(self, label, args, env=None):
        """`appkeys ARGS` in the background: the Popen (its output is recorded by finish)."""
        proc = subprocess.Popen([self.exe] + args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=clean_environment(env))
        proc.label = label
        return proc

    def finish(self, proc):
        try:
            out, err = proc.communicate(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return self.record(Run(proc.label, proc.returncode, out, err))


class Serve(serve_support.Serve):
    """`appkeys serve --port 0 ARGS` in `tmp`, with a clean environment and stderr to a
    file there; stop() returns a Run of its whole output, for the secrets sweep."""

    def __init__(self, exe, tmp, name, args):
        self.name = name
        self.err_path = os.path.join(tmp, name + ".err")
        super().__init__(os.path.abspath(exe), ["--port", "0"] + args, stderr=self.err_path,
                         cwd=tmp, env=clean_environment())

    def stop(self, sig=signal.SIGTERM):
        """Stops it; returns a Run of its whole output."""
        code = super().stop(sig)
        with open(self.err_path, "rb") as f:
            err = f.read()
        return Run("serve " + self.name + ".out", code, self.stdout(), err)


class SilentServer:
    """Accepts TCP connections and never says a word (a stalled server or TLS peer)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.stopping = True
        self.sock.close()
        for conn in self.held:
            conn.close()


class FailingServer:
    """Answers every request with HTTP 500 InternalServerError and counts them by path."""

    def __init__(self):
        counts = self.counts = {}
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with lock:
                    counts[self.path] = counts.get(self.path, 0) + 1
                body = json.dumps({"error": "broken", "error_code": "InternalServerError"})
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests_to(self, suffix):
        with self.lock:
            return sum(n for path, n in self.counts.items() if path.endswith(suffix))

    def reset(self):
        with self.lock:
            self.counts.clear()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Terminal:
    """`appkeys ARGS` with stdin on a pseudo-terminal that is its controlling terminal
    (so /dev/tty and Ctrl-C work as for a person); stdout and stderr piped."""

    def __init__(self, exe, args, env=None):
        self.master, self.slave = pty.openpty()
        # A new session whose controlling terminal is the pty, then exec the command: a
        # tiny Python stage, so that no preexec_fn runs in this threaded process.
        stage = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                 "os.execv(sys.argv[1], sys.argv[1:])")
        self.proc = subprocess.Popen([sys.executable, "-c", stage, exe] + args,
                                     stdin=self.slave, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     env=clean_environment(env))
        self.screen = b""  # everything the command wrote to the terminal

    def read_until(self, pattern):
        """Reads the terminal until `pattern` (bytes) shows; False if it never does."""
        deadline = time.monotonic() + HANG_BOUND
        while pattern not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:
                    return False
            elif self.proc.poll() is not None:
                return pattern in self.screen
        return pattern in self.screen

    def type(self, data):
        os.write(self.master, data)

    def echo_is_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def finish(self, label):
        """Waits for the command; returns its Run (stdout, stderr), the screen included
        in stderr for the secrets sweep."""
        try:
            out, err = self.proc.communicate(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        while True:  # whatever is still buffered in the terminal
            ready, _, _ = select.select([self.master], [], [], 0)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.screen += chunk
        return Run(label, self.proc.returncode, out, err + b"\n[terminal]\n" + self.screen)

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def proc_file(pid, name):
    """/proc/PID/NAME, or None once the process is gone."""
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def sigint_status():
    return -signal.SIGINT
