"""Limits: oversized headers and bodies, slow and idle clients, the connection cap.

The test config uses short timeouts (read 1s, handshake 1s, idle 2s) so a slow client is
cut off quickly; MARGIN allows for ASan and a loaded machine.
"""

import http.client
import socket
import ssl
import time
import unittest

from sicher_harness import (SLOW, Connection, ServerTestCase, SharedServerTestCase, get,
                            read_response, tls_connect, wait_closed, wait_for)

READ_TIMEOUT = 1.0
HANDSHAKE_TIMEOUT = 1.0
IDLE_TIMEOUT = 2.0
MARGIN = 2.5 * SLOW


def send_and_read(addr, data):
    """Sends raw bytes on a new TLS connection; returns (Response, conn) or raises."""
    c = Connection(addr)
    try:
        c.send_raw(data)
    except (ssl.SSLError, OSError):
        pass  # the server may stop reading once the limit is hit; the answer is still due
    resp, _ = read_response(c.sock)
    return resp, c


class LimitsTest(SharedServerTestCase):
    server_kwargs = {"server_config": {
        "read_timeout": "1s", "handshake_timeout": "1s", "idle_timeout": "2s",
        "max_header_bytes": "16KiB", "max_body_bytes": "64KiB"}}

    def test_oversized_header_431_and_close(self):
        data = (b"GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 20000 +
                b"\r\n\r\n")
        resp, c = send_and_read(self.srv.addr(), data)
        with c:
            self.assertProblem(resp, 431)
            self.assertSecurityHeaders(resp, "431")
            self.assertTrue(wait_closed(c.sock, 3.0 * SLOW), "connection left open after 431")
        # The server is fine afterwards.
        self.assertEqual(get(self.srv.addr(), "/livez").status, 200)

    def test_many_headers_431(self):
        hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 30) for i in range(800))
        resp, c = send_and_read(self.srv.addr(),
                                b"GET /livez HTTP/1.1\r\nHost: localhost\r\n" + hdrs + b"\r\n")
        with c:
            self.assertEqual(resp.status, 431, resp)
            self.assertTrue(wait_closed(c.sock, 3.0 * SLOW))

    def test_header_just_under_limit_accepted(self):
        r = get(self.srv.addr(), "/livez", headers={"X-Pad": "p" * 12000})
        self.assertEqual(r.status, 200, r)

    def test_long_request_line_refused_and_closed(self):
        resp, c = send_and_read(self.srv.addr(),
                                b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with c:
            self.assertIn(resp.status, (414, 431), resp)
            self.assertSecurityHeaders(resp, "long request line")
            self.assertTrue(wait_closed(c.sock, 3.0 * SLOW))

    def test_body_over_limit_413_and_close(self):
        head = (b"POST /livez HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1073741824\r\n\r\n")
        resp, c = send_and_read(self.srv.addr(), head + b"x" * 1000)
        with c:
            self.assertProblem(resp, 413)
            self.assertSecurityHeaders(resp, "413")
            self.assertTrue(wait_closed(c.sock, 3.0 * SLOW), "connection left open after 413")

    def test_slow_header_client_cut_off(self):
        c = Connection(self.srv.addr())
        with c:
            c.send_raw(b"GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            start = time.monotonic()
            deadline = start + READ_TIMEOUT + MARGIN
            closed = False
            while time.monotonic() < deadline:
                try:
                    c.send_raw(b"a")  # one byte every 200 ms: never finishes the header
                except (ssl.SSLError, OSError):
                    closed = True
                    break
                if wait_closed(c.sock, 0.2):
                    closed = True
                    break
            elapsed = time.monotonic() - start
            self.assertTrue(closed, "dribbling client still connected after %.1fs "
                            "(read_timeout %.0fs)" % (elapsed, READ_TIMEOUT))
            self.assertGreater(elapsed, READ_TIMEOUT * 0.5, "cut off too early")
            self.assertLess(elapsed, READ_TIMEOUT + MARGIN)

    def test_slow_body_client_cut_off(self):
        c = Connection(self.srv.addr())
        with c:
            c.send_raw(b"POST /livez HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n")
            start = time.monotonic()
            closed = False
            while time.monotonic() < start + READ_TIMEOUT + MARGIN:
                try:
                    c.send_raw(b"b")
                except (ssl.SSLError, OSError):
                    closed = True
                    break
                if wait_closed(c.sock, 0.2):
                    closed = True
                    break
            self.assertTrue(closed, "slow body sender never cut off")

    def test_silent_tcp_client_cut_off_at_handshake(self):
        s = socket.create_connection(self.srv.addr(), timeout=10)
        with s:
            start = time.monotonic()
            self.assertTrue(wait_closed(s, HANDSHAKE_TIMEOUT + MARGIN),
                            "TCP client that never sends a ClientHello was not cut off")
            self.assertGreater(time.monotonic() - start, HANDSHAKE_TIMEOUT * 0.5)

    def test_idle_keep_alive_closed(self):
        c = Connection(self.srv.addr())
        with c:
            self.assertEqual(c.request("GET", "/livez").status, 200)
            start = time.monotonic()
            self.assertTrue(wait_closed(c.sock, IDLE_TIMEOUT + MARGIN),
                            "idle keep-alive connection not closed")
            elapsed = time.monotonic() - start
            self.assertGreater(elapsed, IDLE_TIMEOUT * 0.75,
                               "idle connection closed after %.2fs, idle_timeout is %.0fs" %
                               (elapsed, IDLE_TIMEOUT))

    def test_server_healthy_after_abuse(self):
        # Clients that vanish mid-handshake or mid-request leave no damage.
        for _ in range(10):
            s = socket.create_connection(self.srv.addr(), timeout=5)
            s.sendall(b"\x16\x03\x01\x00\x05abc")  # truncated ClientHello
            s.close()
            c = Connection(self.srv.addr())
            c.send_raw(b"GET /livez HTTP/1.1\r\nHo")
            c.close()
        self.assertEqual(get(self.srv.addr(), "/livez").status, 200)


class ConnectionCapTest(ServerTestCase):
    def test_connections_over_cap_refused_then_recovered(self):
        cap = 8
        srv = self.start_server(server_config={"max_connections": cap, "idle_timeout": "30s",
                                               "read_timeout": "30s"})
        held = []
        try:
            for _ in range(cap):
                c = Connection(srv.addr())
                self.assertEqual(c.request("GET", "/livez").status, 200)
                held.append(c)
            # The next connection must not be served: refused, closed, or answered 503.
            status = None
            try:
                extra = Connection(srv.addr(), timeout=3)
                try:
                    extra.sock.settimeout(3 * SLOW)
                    status = extra.request("GET", "/livez").status
                finally:
                    extra.close()
            except (ssl.SSLError, OSError, http.client.HTTPException):
                pass  # refused, reset or closed: all fine
            served = status == 200
            self.assertIn(status, (None, 503), "over-cap connection answered %r" % status)
            self.assertFalse(served, "connection %d served although max_connections=%d" %
                             (cap + 1, cap))
        finally:
            for c in held:
                c.close()
        ok = wait_for(lambda: self._livez_ok(srv), 5 * SLOW, 0.2)
        self.assertTrue(ok, "server did not accept connections again after the cap cleared")
        srv.stop()

    @staticmethod
    def _livez_ok(srv):
        try:
            return get(srv.addr(), "/livez").status == 200
        except Exception:
            return False


if __name__ == "__main__":
    unittest.main()
