"""Certificate and key reload without restart: SIGHUP and the files' modification time.

Under load (keep-alive clients and new-connection clients running continuously), the
certificate is replaced and the server told: no request may fail, keep-alive connections
stay up, and new handshakes present the new certificate.
"""

import http.client
import os
import shutil
import signal
import ssl
import threading
import time
import unittest

from sicher_harness import (SLOW, Connection, ServerTestCase, fingerprint_pem_file, get,
                            make_cert, wait_for)


class Load:
    """Background clients: `keepalive` threads on one connection each, `fresh` threads
    that open a new connection (full handshake) per request."""

    def __init__(self, addr, keepalive=2, fresh=2):
        self.addr = addr
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.errors = []
        self.requests = 0
        self.graceful_reconnects = 0
        self.handshakes = []  # (start, end, fingerprint)
        self.threads = ([threading.Thread(target=self._keepalive, daemon=True)
                         for _ in range(keepalive)] +
                        [threading.Thread(target=self._fresh, daemon=True)
                         for _ in range(fresh)])

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)

    def _error(self, what):
        with self.lock:
            self.errors.append("%.3f %s" % (time.monotonic(), what))

    def _ok(self):
        with self.lock:
            self.requests += 1

    def _keepalive(self):
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    conn = Connection(self.addr)
                r = conn.request("GET", "/livez")
                if r.status != 200:
                    self._error("keep-alive status %d" % r.status)
                else:
                    self._ok()
                if conn.closed_by_server:  # announced with Connection: close: allowed
                    with self.lock:
                        self.graceful_reconnects += 1
                    conn.close()
                    conn = None
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self._error("keep-alive: %r" % e)
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def _fresh(self):
        while not self.stop_event.is_set():
            start = time.monotonic()
            try:
                with Connection(self.addr) as c:
                    fp = c.peer_fingerprint()
                    end = time.monotonic()
                    r = c.request("GET", "/livez", headers={"Connection": "close"})
                with self.lock:
                    self.handshakes.append((start, end, fp))
                if r.status != 200:
                    self._error("fresh status %d" % r.status)
                else:
                    self._ok()
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self._error("fresh: %r" % e)

    def latest_fingerprint(self):
        with self.lock:
            return self.handshakes[-1][2] if self.handshakes else None


def install_cert(src_cert, src_key, dst_cert, dst_key):
    """Replaces the pair the way an operator's tooling does: write aside, rename over.

    The key goes first; between the two renames the files do not match, and the server
    must not load that state."""
    for src, dst in ((src_key, dst_key), (src_cert, dst_cert)):
        tmp = dst + ".new"
        shutil.copyfile(src, tmp)
        if dst == dst_key:
            os.chmod(tmp, 0o600)
        os.replace(tmp, dst)


def served_fingerprint(srv):
    with Connection(srv.addr()) as c:
        return c.peer_fingerprint()


class CertReloadTest(ServerTestCase):
    def test_sighup_reload_under_load(self):
        srv = self.start_server(server_config={"cert_check_interval": "3600s",
                                               "idle_timeout": "60s"})
        old_fp = fingerprint_pem_file(srv.cert_path)
        self.assertEqual(served_fingerprint(srv), old_fp)
        new_cert, new_key = make_cert(os.path.join(srv.tmp, "new"))
        new_fp = fingerprint_pem_file(new_cert)
        self.assertNotEqual(old_fp, new_fp)

        load = Load(srv.addr()).start()
        try:
            time.sleep(1.0 * SLOW)
            with load.lock:
                before = load.requests
            install_cert(new_cert, new_key, srv.cert_path, srv.key_path)
            hup_at = time.monotonic()
            srv.signal(signal.SIGHUP)
            switched = wait_for(lambda: load.latest_fingerprint() == new_fp, 5 * SLOW)
            time.sleep(1.0 * SLOW)
        finally:
            load.stop()
        self.assertEqual(load.errors, [], "requests failed during the reload")
        self.assertGreater(before, 10, "load did not run before the reload")
        self.assertGreater(load.requests, before + 10, "load stalled after the reload")
        self.assertTrue(switched, "new handshakes still present the old certificate %.1fs "
                        "after SIGHUP" % (time.monotonic() - hup_at))
        first_new = min(end for _, end, fp in load.handshakes if fp == new_fp)
        stale = [h for h in load.handshakes if h[0] > first_new and h[2] != new_fp]
        self.assertEqual(stale, [], "old certificate served after the new one")
        self.assertTrue(all(fp == old_fp for s, _, fp in load.handshakes if s < hup_at - 0.5),
                        "unexpected certificate before the reload")
        self.assertEqual(served_fingerprint(srv), new_fp)
        self.assertEqual(get(srv.addr("operator"), "/livez").status, 200)
        srv.stop()

    def test_mtime_reload_without_signal(self):
        srv = self.start_server(server_config={"cert_check_interval": "1s"})
        new_cert, new_key = make_cert(os.path.join(srv.tmp, "new"))
        new_fp = fingerprint_pem_file(new_cert)
        time.sleep(1.1)  # a coarse mtime must still differ from the original files'
        install_cert(new_cert, new_key, srv.cert_path, srv.key_path)
        self.assertTrue(wait_for(lambda: served_fingerprint(srv) == new_fp, 4 * SLOW, 0.2),
                        "certificate not picked up by the modification-time check")
        srv.stop()

    def test_bad_files_keep_the_old_certificate(self):
        srv = self.start_server(server_config={"cert_check_interval": "3600s"})
        old_fp = fingerprint_pem_file(srv.cert_path)
        saved_cert = open(srv.cert_path, "rb").read()
        saved_key = open(srv.key_path, "rb").read()

        # 1. Garbage certificate.
        with open(srv.cert_path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")
        srv.signal(signal.SIGHUP)
        time.sleep(0.5 * SLOW)
        self.assertIsNone(srv.proc.poll(), "server died on a bad certificate file")
        self.assertEqual(served_fingerprint(srv), old_fp)

        # 2. Valid certificate with a key that does not match it.
        other_cert, _ = make_cert(os.path.join(srv.tmp, "other"))
        shutil.copyfile(other_cert, srv.cert_path)
        with open(srv.key_path, "wb") as f:
            f.write(saved_key)
        srv.signal(signal.SIGHUP)
        time.sleep(0.5 * SLOW)
        self.assertIsNone(srv.proc.poll(), "server died on a mismatched key")
        self.assertEqual(served_fingerprint(srv), old_fp, "mismatched pair was loaded")

        # 3. A good pair again is picked up.
        new_cert, new_key = make_cert(os.path.join(srv.tmp, "new"))
        install_cert(new_cert, new_key, srv.cert_path, srv.key_path)
        srv.signal(signal.SIGHUP)
        new_fp = fingerprint_pem_file(new_cert)
        self.assertTrue(wait_for(lambda: served_fingerprint(srv) == new_fp, 3 * SLOW, 0.2))
        del saved_cert
        srv.stop()


if __name__ == "__main__":
    unittest.main()
