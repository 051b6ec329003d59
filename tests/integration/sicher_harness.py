"""Harness for integration tests: start the real `sicher` binary, speak real TLS to it.

Standard library only. The binary comes from env SICHER_BIN (CTest sets it); the tests
are skipped when it is missing so `python3 -m unittest` in a fresh checkout says why.

    with Server(self, profile="modern") as srv:      # temp data dir, 127.0.0.1:0
        conn = srv.connect("public")                  # keep-alive HTTPS connection
        r = conn.request("GET", "/livez")             # -> Response(status, headers, body)

Server.stop() sends SIGTERM and asserts exit code 0. When a test fails, the server's
stderr and the tails of its log files are printed so the failure can be read from CTest's
output alone. Set SICHER_TEST_KEEP=1 to keep the temporary directories.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

SICHER_BIN = os.environ.get("SICHER_BIN", "")
OPENSSL_BIN = os.environ.get("OPENSSL_BIN", shutil.which("openssl") or "openssl")
# ASan builds start and answer slower; every timeout below is scaled by this factor.
SLOW = float(os.environ.get("SICHER_TEST_TIME_SCALE", "1.0"))
START_TIMEOUT = 30.0 * SLOW
STOP_TIMEOUT = 20.0 * SLOW
LOG_NAMES = ("access", "app", "security", "audit", "availability")
READY_LINE = "sicher: ready"
URL_LINE = re.compile(r"^sicher: (public|operator|redirect) (https?)://([^/\s]+)/\s*$")
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}

TLS12_INTERMEDIATE = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
]
TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256"]


def require_binary():
    if not SICHER_BIN or not os.access(SICHER_BIN, os.X_OK):
        raise unittest.SkipTest("SICHER_BIN not set or not executable: %r" % SICHER_BIN)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def write_config(path, server=None, extra=""):
    """Writes a TOML file with a [server] table from the dict `server`."""
    lines = ["[server]"]
    for k, v in (server or {}).items():
        lines.append("%s = %s" % (k, toml_value(v)))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path


def run_cli(args, env=None, timeout=60, input_=None):
    """Runs `sicher ARGS`; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([SICHER_BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout * SLOW, env=full_env, input=input_)


# ---------------------------------------------------------------- TLS client side

def client_context(min_version=None, max_version=None, ciphers=None, alpn=None,
                   cafile=None, check_hostname=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    # Never resume: every handshake in the tests is a full one and shows the current cert.
    ctx.options |= ssl.OP_NO_TICKET
    if min_version is not None:
        if min_version < ssl.TLSVersion.TLSv1_2:
            # OpenSSL 3 refuses TLS < 1.2 (SHA-1 signatures) above security level 0.
            ctx.set_ciphers((ciphers or "DEFAULT") + ":@SECLEVEL=0")
            ciphers = None
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def fingerprint_der(der):
    return hashlib.sha256(der).hexdigest()


def fingerprint_pem_file(path):
    with open(path) as f:
        pem = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    if not m:
        raise ValueError("no certificate in %s" % path)
    return fingerprint_der(ssl.PEM_cert_to_DER_cert(m.group(0)))


def tls_connect(addr, ctx=None, timeout=10.0, server_hostname="localhost"):
    """TCP connect + TLS handshake; returns the SSLSocket (raises on failure)."""
    host, port = addr
    raw = socket.create_connection((host, port), timeout=timeout * SLOW)
    try:
        return (ctx or client_context()).wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def handshake(addr, **ctx_kwargs):
    """Tries a handshake; returns (ok, version, cipher, alpn, error_string)."""
    try:
        s = tls_connect(addr, client_context(**ctx_kwargs), timeout=5.0)
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return False, None, None, None, str(e)
    try:
        return True, s.version(), s.cipher()[0], s.selected_alpn_protocol(), ""
    finally:
        s.close()


def openssl_client(addr, args, timeout=10.0):
    """Runs `openssl s_client` for what Python's ssl cannot set (TLS 1.3 suites, groups).

    Returns (ok, output). ok means the handshake completed."""
    cmd = [OPENSSL_BIN, "s_client", "-connect", "%s:%d" % addr, "-servername", "localhost",
           "-brief", "-no_ign_eof"] + list(args)
    p = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=timeout * SLOW)
    out = p.stdout + p.stderr
    ok = p.returncode == 0 and "CONNECTION ESTABLISHED" in out
    return ok, out


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%d %s, %r, %r)" % (self.status, self.reason, self.headers,
                                            self.body[:300])


def read_response(sock, method="GET"):
    """Reads one HTTP/1.1 response from a (TLS) socket; returns (Response, will_close)."""
    r = http.client.HTTPResponse(sock, method=method)
    r.begin()
    body = r.read()
    resp = Response(r.status, r.reason, r.getheaders(), body)
    return resp, r.will_close


class Connection:
    """One keep-alive HTTPS connection that sends requests one after another."""

    def __init__(self, addr, ctx=None, timeout=10.0, server_hostname="localhost"):
        self.addr = addr
        self.sock = tls_connect(addr, ctx, timeout, server_hostname)
        self.closed_by_server = False

    def peer_fingerprint(self):
        return fingerprint_der(self.sock.getpeercert(binary_form=True))

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=None, body=b""):
        hdrs = {"Host": "localhost", "User-Agent": "sicher-integration-test/1"}
        hdrs.update(headers or {})
        if body or method in ("POST", "PUT", "PATCH"):
            hdrs.setdefault("Content-Length", str(len(body)))
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
        self.sock.sendall(head.encode("latin-1") + body)
        resp, will_close = read_response(self.sock, method)
        self.closed_by_server = will_close
        return resp

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_closed(sock, timeout):
    """Returns True if the peer closes (EOF, reset, TLS alert) within timeout seconds.

    Any application data received before the close is discarded."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except (ssl.SSLError, ConnectionError, OSError):
            return True
        if not data:
            return True


def get(addr, path, headers=None, ctx=None):
    """One request on a fresh connection."""
    with Connection(addr, ctx) as c:
        return c.request("GET", path, headers)


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def make_cert(directory, cn="localhost", days=30):
    """Creates a new self-signed ECDSA P-256 pair; returns (cert_path, key_path)."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL_BIN, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", str(days), "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


# ---------------------------------------------------------------- JSON API and TOTP helpers

def api(addr, method, path, body=None, token=None, headers=None, raw=None, ctx=None):
    """One JSON API request on a fresh connection; returns a Response.

    body: an object sent as JSON (Content-Type: application/json); raw: bytes sent as is
    (with that Content-Type) instead; token: sent as `Authorization: Bearer`."""
    hdrs = {}
    if body is not None or raw is not None:
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    with Connection(addr, ctx) as c:
        return c.request(method, path, hdrs, data)


TOTP_PERIOD = 30


def totp_step(t=None):
    return int(time.time() if t is None else t) // TOTP_PERIOD


def totp_code(secret_base32, step):
    """RFC 6238 (HMAC-SHA-1, 6 digits) for one time step."""
    secret = secret_base32.strip().replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % value


class Authenticator:
    """An authenticator app for one TOTP secret that never offers a time step twice.

    The server refuses a code for a step at or before the last one it accepted, and accepts
    one step of drift ahead, so code() hands out the current step or the next one, and waits
    for the clock when both are used up."""

    def __init__(self, secret_base32):
        self.secret = secret_base32
        self.last_step = -1

    def code(self):
        now = totp_step()
        step = max(now, self.last_step + 1)
        if step > now + 1:
            time.sleep(max(0.0, (step - 1) * TOTP_PERIOD - time.time()) + 0.05)
        self.last_step = step
        return totp_code(self.secret, step)


# ---------------------------------------------------------------- the server process

class Server:
    """A running `sicher serve` with its own temporary data directory.

    server_config: dict of [server] keys merged over the test defaults (all listeners on
    127.0.0.1:0). data_dir: reuse an existing directory (second-start tests).
    """

    DEFAULTS = {
        "public_listen": "127.0.0.1:0",
        "operator_listen": "127.0.0.1:0",
        "redirect_listen": "",
        "tls_profile": "intermediate",
        "read_timeout": "1s",
    }

    def __init__(self, test, profile=None, server_config=None, data_dir=None, env=None,
                 extra_config="", use_config=True, pass_data=True):
        require_binary()
        self.test = test
        self.tmp = tempfile.mkdtemp(prefix="sicher-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        cfg = dict(self.DEFAULTS)
        if profile:
            cfg["tls_profile"] = profile
        cfg.update(server_config or {})
        self.config = cfg
        self.config_path = None
        if use_config:
            self.config_path = write_config(os.path.join(self.tmp, "sicher.toml"), cfg,
                                            extra_config)
        self.env = env or {}
        self.pass_data = pass_data
        self.proc = None
        self.urls = {}
        self.stdout_lines = []
        self._ready = threading.Event()
        self._stdout_done = threading.Event()
        self.stderr_path = os.path.join(self.tmp, "stderr.txt")
        self.stopped = False

    # -- lifecycle
    def start(self):
        args = [SICHER_BIN, "serve"]
        if self.pass_data:
            args += ["--data", self.data_dir]
        if self.config_path:
            args += ["--config", self.config_path]
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        # Every test client signs up from 127.0.0.1: lift the per-IP sign-up budget (a test of
        # the limit itself passes its own value in `env`).
        env.setdefault("SICHER_AUTH_SIGNUP_IP_LIMIT", "1000000")
        env.update(self.env)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, env=env)
        t = threading.Thread(target=self._read_stdout, daemon=True)
        t.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._stdout_done.wait(2)
                self.dump("server did not become ready")
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
                self.test.fail("sicher did not print %r (exit=%r); stdout=%r" %
                               (READY_LINE, self.proc.returncode, self.stdout_lines))
        self.test.assertIn("public", self.urls, "no public URL printed: %r" % self.stdout_lines)
        self.test.assertIn("operator", self.urls,
                           "no operator URL printed: %r" % self.stdout_lines)
        return self

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            m = URL_LINE.match(line.strip())
            if m:
                self.urls[m.group(1)] = (m.group(2), m.group(3))
            if line.strip() == READY_LINE:
                self._ready.set()
        self._stdout_done.set()

    def addr(self, listener="public"):
        scheme, hostport = self.urls[listener]
        host, _, port = hostport.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, expect_code=0, timeout=None, send_signal=True):
        """SIGTERM (unless send_signal is False: already sent), wait, assert the exit code.

        Returns the exit code."""
        if self.stopped or self.proc is None:
            return self.proc.returncode if self.proc else None
        self.stopped = True
        if send_signal and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout or STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.dump("server did not exit after SIGTERM")
            self.test.fail("sicher did not exit within %.0fs of SIGTERM" %
                           (timeout or STOP_TIMEOUT))
        self._stderr.close()
        if expect_code is not None and code != expect_code:
            self.keep = True
            self.dump("unexpected exit code %r" % code)
            self.test.assertEqual(code, expect_code, "sicher exit code after SIGTERM")
        return code

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True

    def cleanup(self, failed, dump=True):
        """Kills a still-running server; on failure dumps it and keeps the temp dir."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if failed and dump:
            self.dump("test failed")
        self._stdout_done.wait(2)
        for f in (getattr(self, "_stderr", None), self.proc.stdout if self.proc else None):
            try:
                if f:
                    f.close()
            except Exception:
                pass
        if os.environ.get("SICHER_TEST_KEEP") or failed or getattr(self, "keep", False):
            sys.stderr.write("[harness] kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        self.cleanup(exc_type is not None)

    # -- files
    def path(self, *parts):
        return os.path.join(self.data_dir, *parts)

    @property
    def cert_path(self):
        return self.config.get("cert_file") or self.path("tls", "cert.pem")

    @property
    def key_path(self):
        return self.config.get("key_file") or self.path("tls", "key.pem")

    def log_path(self, name):
        return self.path("logs", name + ".log")

    def log_lines(self, name):
        """Parsed JSON lines of one log (unparseable lines are returned as strings)."""
        try:
            with open(self.log_path(name), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append(line)
        return out

    def log_text(self, name):
        try:
            with open(self.log_path(name), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stderr_text(self):
        try:
            self._stderr.flush()
        except Exception:
            pass
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def dump(self, why):
        w = sys.stderr.write
        w("\n===== sicher dump (%s): pid=%s exit=%s data=%s\n" %
          (why, self.proc.pid if self.proc else None,
           self.proc.poll() if self.proc else None, self.data_dir))
        w("----- stdout\n%s\n" % "\n".join(self.stdout_lines))
        err = self.stderr_text()
        # Sanitizer reports are long: show them from their start.
        starts = [i for i in (err.find("ERROR: AddressSanitizer"), err.find("runtime error:"),
                              err.find("ERROR: LeakSanitizer")) if i >= 0]
        if starts:
            w("----- stderr (sanitizer report)\n%s\n" % err[max(0, min(starts) - 200):][:30000])
        else:
            w("----- stderr (last 6000 chars)\n%s\n" % err[-6000:])
        for name in LOG_NAMES:
            text = self.log_text(name)
            if text:
                w("----- logs/%s.log (last 3000 chars)\n%s\n" % (name, text[-3000:]))
        w("===== end dump\n")


class ServerTestCase(unittest.TestCase):
    """Base class: start_server() registers cleanup that dumps the server on failure."""

    def start_server(self, **kwargs):
        srv = Server(self, **kwargs)
        self.addCleanup(self._cleanup_server, srv)
        return srv.start()

    def _cleanup_server(self, srv):
        srv.cleanup(self._failed())

    def _failed(self):
        """True once this test has failed or errored (usable in tearDown and cleanups)."""
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        # Python >= 3.11 reports failures to the result as they happen.
        result = getattr(outcome, "result", None)
        if result is not None:
            for test, _ in list(result.failures) + list(result.errors):
                if test is self:
                    return True
        # Python < 3.11 collects them in outcome.errors first.
        return any(err for _, err in getattr(outcome, "errors", []))

    def assertSecurityHeaders(self, resp, what=""):
        for name, expected in SECURITY_HEADERS.items():
            value = resp.header(name)
            self.assertIsNotNone(value, "%s: missing %s in %r" % (what, name, resp.headers))
            self.assertIn(expected.lower(), value.lower(), "%s: %s" % (what, name))
        self.assertIsNotNone(resp.header("referrer-policy"), "%s: Referrer-Policy" % what)
        csp = resp.header("content-security-policy")
        self.assertIsNotNone(csp, "%s: missing Content-Security-Policy" % what)
        self.assertIn("frame-ancestors 'none'", csp, "%s: CSP %r" % (what, csp))
        self.assertTrue(resp.header("x-request-id"), "%s: missing X-Request-Id" % what)

    def assertProblem(self, resp, status):
        self.assertEqual(resp.status, status, repr(resp))
        ctype = resp.header("content-type", "")
        self.assertTrue(ctype.startswith("application/problem+json"), ctype)
        doc = resp.json()
        for field in ("type", "title", "status", "detail"):
            self.assertIn(field, doc, "problem+json lacks %r: %r" % (field, doc))
        self.assertEqual(doc["status"], status)
        return doc


class SharedServerTestCase(ServerTestCase):
    """One server for the whole class (set server_kwargs); tests must not break it."""

    server_kwargs = {}
    _any_failed = False

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(unittest.TestCase(), **cls.server_kwargs).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.srv.cleanup(cls._any_failed, dump=False)  # tearDown dumped already

    def tearDown(self):
        if self._failed() and not type(self)._any_failed:
            type(self)._any_failed = True
            self.srv.dump("%s failed" % self.id())


# ---------------------------------------------------------------- process memory

def rss_bytes(pid):
    """The resident set size of process `pid` (VmRSS), in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    """Samples a process's RSS every 20 ms while in a `with` block: .peak, .samples."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self.samples += 1
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
