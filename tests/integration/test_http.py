"""Routes, security headers, request ids, metrics, access log, redirect listener."""

import http.client
import re
import socket
import unittest
import uuid

from sicher_harness import (SLOW, Connection, ServerTestCase, SharedServerTestCase,
                            client_context, get, read_response, wait_closed, wait_for)


def metric_sum(text, name):
    """Sum of every sample of metric `name` in Prometheus text format."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^%s(\{[^}]*\})?\s+([0-9.eE+-]+|NaN|\+Inf)" % re.escape(name), line)
        if m:
            total += float(m.group(2))
    return total


def find_access(srv, path, count=1, timeout=5.0):
    """Access-log entries whose url.path is `path`; waits until `count` are present."""
    def entries():
        out = [e for e in srv.log_lines("access")
               if isinstance(e, dict) and (e.get("url") or {}).get("path") == path]
        return out if len(out) >= count else None
    return wait_for(entries, timeout * SLOW) or [
        e for e in srv.log_lines("access")
        if isinstance(e, dict) and (e.get("url") or {}).get("path") == path]


class RoutesTest(SharedServerTestCase):
    server_kwargs = {"server_config": {"redirect_listen": "127.0.0.1:0"}}

    def test_livez(self):
        r = get(self.srv.addr(), "/livez")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("application/json"), r)
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertSecurityHeaders(r, "200 /livez")

    def test_readyz(self):
        r = get(self.srv.addr(), "/readyz")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc.get("status"), "ready", doc)
        self.assertIsInstance(doc.get("checks"), dict, doc)
        self.assertSecurityHeaders(r, "200 /readyz")

    def test_unknown_path_is_problem_json_404(self):
        r = get(self.srv.addr(), "/no/such/thing")
        self.assertProblem(r, 404)
        self.assertSecurityHeaders(r, "404")

    def test_hsts_exact_value(self):
        r = get(self.srv.addr(), "/livez")
        self.assertRegex(r.header("strict-transport-security"), r"^max-age=63072000\b")
        self.assertEqual(len(r.header_all("strict-transport-security")), 1)

    def test_metrics_absent_on_public(self):
        r = get(self.srv.addr(), "/metrics")
        self.assertProblem(r, 404)
        self.assertNotIn(b"sicher_http_requests_total", r.body)
        self.assertSecurityHeaders(r, "404 /metrics")

    def test_metrics_on_operator(self):
        r = get(self.srv.addr("operator"), "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("text/plain"), r)
        text = r.body.decode()
        for name in ("sicher_http_requests_total", "sicher_tls_handshakes_total",
                     "sicher_db_commit_batches_total"):
            self.assertIn(name, text)
            self.assertRegex(text, r"(?m)^# TYPE %s " % name)
        self.assertSecurityHeaders(r, "200 /metrics")

    def test_metrics_count_requests_and_handshakes(self):
        op = self.srv.addr("operator")
        before = get(op, "/metrics").body.decode()
        for _ in range(5):
            self.assertEqual(get(self.srv.addr(), "/livez").status, 200)
        after = get(op, "/metrics").body.decode()
        self.assertGreaterEqual(metric_sum(after, "sicher_http_requests_total") -
                                metric_sum(before, "sicher_http_requests_total"), 5)
        self.assertGreaterEqual(metric_sum(after, "sicher_tls_handshakes_total") -
                                metric_sum(before, "sicher_tls_handshakes_total"), 5)

    def test_operator_livez_and_unknown(self):
        r = get(self.srv.addr("operator"), "/livez")
        self.assertEqual(r.status, 200, r)
        self.assertSecurityHeaders(r, "operator /livez")
        r = get(self.srv.addr("operator"), "/nope")
        self.assertProblem(r, 404)
        self.assertSecurityHeaders(r, "operator 404")

    def test_keep_alive(self):
        with Connection(self.srv.addr()) as c:
            for _ in range(20):
                r = c.request("GET", "/livez")
                self.assertEqual(r.status, 200)
                self.assertFalse(c.closed_by_server, "server closed a keep-alive connection")

    def test_request_ids_unique(self):
        ids = []
        with Connection(self.srv.addr()) as c:
            for i in range(15):
                ids.append(c.request("GET", "/livez" if i % 2 else "/missing").header(
                    "x-request-id"))
        for _ in range(5):
            ids.append(get(self.srv.addr(), "/livez").header("x-request-id"))
        self.assertTrue(all(ids), ids)
        self.assertEqual(len(set(ids)), len(ids), "duplicate X-Request-Id: %r" % ids)

    def test_client_request_id_not_trusted_blindly(self):
        # A client-chosen id must not be able to inject into logs.
        r = get(self.srv.addr(), "/livez", headers={"X-Request-Id": "evil\"}\\n{\"x\":1"})
        self.assertNotIn("\n", r.header("x-request-id"))
        self.assertNotIn('"', r.header("x-request-id"))

    def test_bad_request_gets_400_and_close(self):
        with Connection(self.srv.addr()) as c:
            c.send_raw(b"THIS IS NOT HTTP\r\n\r\n")
            resp, _ = read_response(c.sock)
            self.assertEqual(resp.status, 400, resp)
            self.assertSecurityHeaders(resp, "400")
            self.assertTrue(wait_closed(c.sock, 3.0 * SLOW), "connection left open after 400")

    def test_http_on_tls_port_refused(self):
        s = socket.create_connection(self.srv.addr(), timeout=5)
        try:
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionError, socket.timeout):
                pass
            self.assertNotIn(b"200 OK", data)
            self.assertNotIn(b'"status":"ok"', data)
        finally:
            s.close()

    def test_redirect_listener(self):
        self.assertIn("redirect", self.srv.urls, self.srv.stdout_lines)
        scheme, _ = self.srv.urls["redirect"]
        self.assertEqual(scheme, "http")
        host, port = self.srv.addr("redirect")
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", "/some/path?x=1", headers={"Host": "localhost"})
        r = c.getresponse()
        r.read()
        self.assertIn(r.status, (301, 308), r.status)
        loc = r.getheader("location", "")
        self.assertTrue(loc.startswith("https://"), loc)
        self.assertIn("/some/path", loc)
        # The redirect must not serve the application over plain HTTP.
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", "/livez")
        r = c.getresponse()
        self.assertNotEqual(r.status, 200)
        c.close()

    def test_certificate_verifies_for_localhost(self):
        ctx = client_context(cafile=self.srv.cert_path, check_hostname=True)
        for name in ("localhost", "127.0.0.1"):
            with Connection(self.srv.addr(), ctx, server_hostname=name) as c:
                self.assertEqual(c.request("GET", "/livez").status, 200)


class AccessLogTest(SharedServerTestCase):
    server_kwargs = {}

    def test_one_line_per_request_with_ecs_fields(self):
        path = "/probe-" + uuid.uuid4().hex
        ids = []
        with Connection(self.srv.addr()) as c:
            for _ in range(3):
                r = c.request("GET", path + "?token=SECRET-QUERY-abc123&x=1",
                              headers={"User-Agent": "ua-check/1.0"})
                self.assertEqual(r.status, 404)
                ids.append(r.header("x-request-id"))
        entries = find_access(self.srv, path, 3)
        self.assertEqual(len(entries), 3, "want one access line per request, got %r" % entries)
        for e in entries:
            self.assertIn("@timestamp", e)
            self.assertIsInstance(e.get("event"), dict, e)
            self.assertEqual(e["http"]["request"]["method"], "GET", e)
            self.assertEqual(e["http"]["response"]["status_code"], 404, e)
            self.assertEqual(e["source"]["ip"], "127.0.0.1", e)
            self.assertEqual(e["url"]["path"], path, e)
            self.assertEqual((e.get("user_agent") or {}).get("original"), "ua-check/1.0", e)
        text = self.srv.log_text("access")
        self.assertNotIn("SECRET-QUERY", text, "query string leaked into access.log")
        for rid in ids:
            self.assertIn(rid, text, "X-Request-Id %s not in access.log" % rid)

    def test_every_line_is_json(self):
        get(self.srv.addr(), "/livez")
        wait_for(lambda: self.srv.log_lines("access"), 5 * SLOW)
        for name in ("access", "app"):
            for line in self.srv.log_lines(name):
                self.assertIsInstance(line, dict, "%s.log line is not JSON: %r" % (name, line))
                self.assertIn("@timestamp", line)

    def test_errors_are_logged(self):
        path = "/err-" + uuid.uuid4().hex
        self.assertEqual(get(self.srv.addr(), path).status, 404)
        self.assertEqual(len(find_access(self.srv, path)), 1)

    def test_forwarded_for_ignored_from_untrusted_peer(self):
        path = "/xff-" + uuid.uuid4().hex
        get(self.srv.addr(), path, headers={"X-Forwarded-For": "203.0.113.9",
                                            "Forwarded": "for=203.0.113.9"})
        e = find_access(self.srv, path)
        self.assertEqual(len(e), 1)
        self.assertEqual(e[0]["source"]["ip"], "127.0.0.1", e)


class TrustedProxyTest(ServerTestCase):
    def test_forwarded_for_used_from_trusted_proxy(self):
        srv = self.start_server(server_config={"trusted_proxies": ["127.0.0.1/32"]})
        path = "/xff-" + uuid.uuid4().hex
        get(srv.addr(), path, headers={"X-Forwarded-For": "198.51.100.7"})
        e = find_access(srv, path)
        self.assertEqual(len(e), 1)
        self.assertEqual(e[0]["source"]["ip"], "198.51.100.7", e)
        srv.stop()


if __name__ == "__main__":
    unittest.main()
