"""SIGTERM: stop accepting, finish in-flight requests within shutdown_grace, exit 0."""

import http.client
import signal
import socket
import time
import unittest

from sicher_harness import (SLOW, Connection, ServerTestCase, read_response, tls_connect,
                            wait_closed, wait_for)

MARGIN = 3.0 * SLOW


def refuses_connections(addr):
    try:
        s = socket.create_connection(addr, timeout=1)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    except OSError:
        return True
    # Accepted by a listener that is still open (or by the backlog of a closing one).
    s.close()
    return False


class ShutdownTest(ServerTestCase):
    def test_sigterm_drains_in_flight_request(self):
        srv = self.start_server(server_config={"shutdown_grace": "10s", "read_timeout": "10s"})
        c = Connection(srv.addr())
        with c:
            self.assertEqual(c.request("GET", "/livez").status, 200)
            c.send_raw(b"POST /livez HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                       b"Content-Length: 10\r\n\r\n12345")
            time.sleep(0.3 * SLOW)  # the server has read the head and is waiting for the body
            srv.signal(signal.SIGTERM)
            t0 = time.monotonic()
            for name in ("public", "operator"):
                self.assertTrue(wait_for(lambda: refuses_connections(srv.addr(name)), 3 * SLOW),
                                "%s listener still accepts after SIGTERM" % name)
            self.assertIsNone(srv.proc.poll(), "exited before the in-flight request finished")
            c.send_raw(b"67890")
            resp, _ = read_response(c.sock, "POST")
            self.assertTrue(200 <= resp.status < 500, "in-flight request got %r" % resp)
            self.assertSecurityHeaders(resp, "drained response")
            self.assertTrue(wait_closed(c.sock, 3 * SLOW),
                            "connection kept open after the drained response")
        srv.stop(send_signal=False)
        self.assertLess(time.monotonic() - t0, 10 + MARGIN)

    def test_idle_connections_do_not_delay_exit(self):
        srv = self.start_server(server_config={"shutdown_grace": "20s", "idle_timeout": "60s"})
        conns = []
        for _ in range(3):
            c = Connection(srv.addr())
            self.assertEqual(c.request("GET", "/livez").status, 200)
            conns.append(c)
        try:
            t0 = time.monotonic()
            srv.stop(timeout=10 * SLOW)
            self.assertLess(time.monotonic() - t0, 5 * SLOW,
                            "idle keep-alive connections held the shutdown")
        finally:
            for c in conns:
                c.close()

    def test_stuck_request_bounded_by_grace(self):
        grace = 2.0
        srv = self.start_server(server_config={"shutdown_grace": "2s", "read_timeout": "60s"})
        c = Connection(srv.addr())
        with c:
            c.send_raw(b"POST /livez HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nx")
            time.sleep(0.3 * SLOW)
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            code = srv.wait_exit(grace + MARGIN + 5)
            elapsed = time.monotonic() - t0
            self.assertIsNotNone(code, "still running %.1fs after SIGTERM with grace %.0fs" %
                                 (elapsed, grace))
            self.assertEqual(code, 0)
            self.assertLess(elapsed, grace + MARGIN)
            srv.stopped = True

    def test_new_tls_handshake_after_sigterm_fails(self):
        # read_timeout long enough that the held request's half-sent body is still awaited
        # when the test sends the rest, whatever the sanitizer slow-down.
        srv = self.start_server(server_config={"shutdown_grace": "5s", "read_timeout": "10s"})
        addr = srv.addr()
        held = Connection(addr)  # an in-flight request keeps the process alive a while
        held.send_raw(b"POST /livez HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nab")
        time.sleep(0.2 * SLOW)
        srv.signal(signal.SIGTERM)
        time.sleep(0.5 * SLOW)
        with self.assertRaises((OSError, http.client.HTTPException)):
            s = tls_connect(addr, timeout=2)
            try:
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n")
                read_response(s)
            finally:
                s.close()
        held.send_raw(b"cde")
        try:
            read_response(held.sock, "POST")
        finally:
            held.close()
        srv.stop(send_signal=False)


if __name__ == "__main__":
    unittest.main()
