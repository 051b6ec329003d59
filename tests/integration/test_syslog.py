"""Syslog output (log.syslog.*): the real binary sends RFC 5424 messages to a receiver here.

A UDP (RFC 5426) and a TCP (RFC 6587 octet counting) receiver run in this process; a failed
login must reach them as a security-category message whose MSG is the JSON line of
security.log. Also: `config check` rejects a bad address, and an absent receiver does not
stop the server.
"""

import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest
import uuid

from sicher_harness import SLOW, ServerTestCase, api, require_binary, run_cli, wait_for

# <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA SP MSG
RFC5424 = re.compile(
    rb"^<(\d{1,3})>(\d{1,3}) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) ([!-~]{1,255}) "
    rb"([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) (-) (.*)$", re.S)
LOCAL0 = 16
NOTICE = 5
INFO = 6


def parse(message):
    m = RFC5424.match(message)
    if not m:
        raise AssertionError("not an RFC 5424 message: %r" % message[:300])
    return {
        "pri": int(m.group(1)), "version": m.group(2).decode(), "timestamp": m.group(3).decode(),
        "hostname": m.group(4).decode(), "app_name": m.group(5).decode(),
        "procid": m.group(6).decode(), "msgid": m.group(7).decode(),
        "structured_data": m.group(8).decode(), "msg": m.group(9),
    }


def is_login(action):
    # "login", or a more specific "login.password"
    return isinstance(action, str) and (action == "login" or action.startswith("login."))


class _Receiver:
    """A syslog receiver on a loopback port: the socket, the messages received, shutdown.
    Subclasses bind `sock` and implement `_run` and `scheme`."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def address(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def received(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


class UdpReceiver(_Receiver):
    scheme = "udp"

    def __init__(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        super().__init__(sock)

    def _run(self):
        while not self.stopped.is_set():
            try:
                data = self.sock.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append(data)


class TcpReceiver(_Receiver):
    """Accepts connections and splits each stream into octet-counted frames (LEN SP MSG)."""

    scheme = "tcp"

    def __init__(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        super().__init__(sock)

    def _run(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        conn.settimeout(0.2)
        buf = b""
        with conn:
            while not self.stopped.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while True:
                    sp = buf.find(b" ")
                    if sp < 0:
                        break
                    if not re.fullmatch(rb"[1-9][0-9]*", buf[:sp]):
                        with self.lock:
                            self.errors.append("bad frame length %r" % buf[:sp][:40])
                        return
                    length = int(buf[:sp])
                    if len(buf) < sp + 1 + length:
                        break
                    with self.lock:
                        self.messages.append(buf[sp + 1:sp + 1 + length])
                    buf = buf[sp + 1 + length:]


class SyslogTest(ServerTestCase):
    def start_with_syslog(self, config_text):
        return self.start_server(extra_config=config_text)

    def failed_login(self, srv):
        """Signs a user up, then logs in with a wrong password; returns the e-mail address."""
        email = "syslog-%s@example.test" % uuid.uuid4().hex[:8]
        r = api(srv.addr(), "POST", "/v1/signup",
                {"email": email, "password": "pw-%s-horse" % uuid.uuid4().hex,
                 "name": "Syslog", "account_name": "Syslog"})
        self.assertEqual(r.status, 201, r)
        r = api(srv.addr(), "POST", "/v1/login", {"email": email, "password": "wrong password"})
        self.assertEqual(r.status, 401, r)
        return email

    def check_login_message(self, srv, receiver, hostname, pri=LOCAL0 * 8 + NOTICE):
        """Waits for the failed login's security message; checks every RFC 5424 field."""
        def find():
            for raw in receiver.received():
                p = parse(raw)
                if p["msgid"] != "security":
                    continue
                doc = json.loads(p["msg"].decode("utf-8"))
                event = doc.get("event", {})
                if is_login(event.get("action")) and event.get("outcome") == "failure":
                    return p, doc
            return None

        found = wait_for(find, 10 * SLOW)
        self.assertTrue(found, "no security login message among %r" % receiver.received())
        p, doc = found
        self.assertEqual(p["pri"], pri)
        self.assertEqual(p["version"], "1")
        self.assertEqual(p["hostname"], hostname)
        self.assertEqual(p["app_name"], "sicher")
        self.assertEqual(p["procid"], str(srv.pid))
        self.assertEqual(p["structured_data"], "-")
        self.assertFalse(p["msg"].startswith(b"\xef\xbb\xbf"), "no BOM")
        self.assertEqual(doc["event"]["reason"], "wrong_password")
        self.assertEqual(doc["event"]["dataset"], "sicher.security")
        # The very line security.log holds, and its @timestamp is the header's TIMESTAMP.
        self.assertEqual(doc["@timestamp"], p["timestamp"])
        lines = srv.log_text("security").splitlines()
        self.assertIn(p["msg"].decode("utf-8"), lines)
        return p

    def test_udp_receives_failed_login_as_rfc5424(self):
        receiver = UdpReceiver()
        self.addCleanup(receiver.close)
        srv = self.start_with_syslog(
            '\n[log.syslog]\naddress = "%s"\nhostname = "it-host"\n' % receiver.address())
        self.failed_login(srv)
        self.check_login_message(srv, receiver, "it-host")
        # Access lines go too (a default category), with severity info; app lines do not.
        access = wait_for(lambda: [parse(m) for m in receiver.received()
                                   if parse(m)["msgid"] == "access"], 10 * SLOW)
        self.assertTrue(access, receiver.received())
        self.assertEqual(access[0]["pri"], LOCAL0 * 8 + INFO)
        self.assertEqual(json.loads(access[0]["msg"])["event"]["dataset"], "sicher.access")
        self.assertFalse([m for m in receiver.received() if parse(m)["msgid"] == "app"])

    def test_tcp_receives_failed_login_with_octet_counting(self):
        receiver = TcpReceiver()
        self.addCleanup(receiver.close)
        srv = self.start_with_syslog(
            '\n[log]\nsyslog.address = "%s"\nsyslog.facility = "auth"\n'
            'syslog.categories = "security"\n' % receiver.address())
        self.failed_login(srv)
        self.check_login_message(srv, receiver, socket.gethostname()[:255],
                                 pri=4 * 8 + NOTICE)  # auth.notice
        self.assertFalse(receiver.errors, receiver.errors)
        # Only the configured category.
        self.assertEqual({parse(m)["msgid"] for m in receiver.received()}, {"security"})

    def test_absent_receiver_does_not_stop_the_server(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        srv = self.start_with_syslog(
            '\n[log.syslog]\naddress = "tcp://127.0.0.1:%d"\n' % port)
        r = api(srv.addr(), "GET", "/livez")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_for(lambda: "syslog: cannot deliver" in srv.log_text("app"),
                                 10 * SLOW), srv.log_text("app"))
        started = time.monotonic()
        srv.stop()
        self.assertLess(time.monotonic() - started, 15 * SLOW)


class SyslogConfigTest(unittest.TestCase):
    def setUp(self):
        require_binary()
        self.tmp = tempfile.mkdtemp(prefix="sicher-syslog-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def check(self, text):
        path = os.path.join(self.tmp, "c.toml")
        with open(path, "w") as f:
            f.write(text)
        return run_cli(["config", "check", path])

    def test_bad_address_is_a_clear_one_line_error(self):
        for bad in ("syslog.example:514", "udp://127.0.0.1", "tcp://127.0.0.1:0",
                    "tls://127.0.0.1:6514"):
            p = self.check('[log.syslog]\naddress = "%s"\n' % bad)
            self.assertNotEqual(p.returncode, 0, bad)
            err = p.stderr.strip() or p.stdout.strip()
            self.assertIn("log.syslog.address", err)
            if not bad.startswith(("udp:", "tcp:")):
                self.assertIn("udp://HOST:PORT or tcp://HOST:PORT", err)
            self.assertEqual(len(err.splitlines()), 1, err)

    def test_good_and_bad_values(self):
        ok = self.check('[log]\nsyslog.address = "tcp://[::1]:6514"\nsyslog.facility = '
                        '"local5"\nsyslog.categories = "security, app"\n'
                        'syslog.queue_limit = 50\n')
        self.assertEqual(ok.returncode, 0, ok.stderr)
        for text, key in (('[log.syslog]\nfacility = "kern"\n', "log.syslog.facility"),
                          ('[log.syslog]\ncategories = "security,secrets"\n',
                           "log.syslog.categories"),
                          ('[log.syslog]\nqueue_limit = 0\n', "log.syslog.queue_limit"),
                          ('[log.syslog]\nno_such = 1\n', "log.syslog.no_such")):
            p = self.check(text)
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(key, p.stderr + p.stdout)

    def test_serve_refuses_a_bad_address_from_the_environment(self):
        p = run_cli(["serve", "--data", os.path.join(self.tmp, "data")],
                    env={"SICHER_LOG_SYSLOG_ADDRESS": "nonsense"}, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SICHER_LOG_SYSLOG_ADDRESS", p.stderr)

    def test_defaults_document_is_valid_and_documents_syslog(self):
        p = run_cli(["config", "defaults"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for key in ("syslog.address", "syslog.facility", "syslog.categories",
                    "syslog.queue_limit", "SICHER_LOG_SYSLOG_ADDRESS"):
            self.assertIn(key, p.stdout)
        path = os.path.join(self.tmp, "defaults.toml")
        with open(path, "w") as f:
            f.write(p.stdout)
        c = run_cli(["config", "check", path])
        self.assertEqual(c.returncode, 0, c.stderr)


if __name__ == "__main__":
    unittest.main()
