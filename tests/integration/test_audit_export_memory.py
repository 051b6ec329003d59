"""The audit log's export is streamed: a JSON Lines export of 1,000,000 events over HTTPS keeps
the server's resident memory growth under 64 MiB (docs/design/audit-log.md section 5: pages of
1,000 events, one read transaction each, chunked transfer encoding). Slow: labelled "slow".

The events are written into a stopped server's data directory by bench/audit_fill (env
AUDIT_FILL_BIN; CTest sets it), through audit::Log::Append like any other event.
SICHER_AUDIT_MEMORY_EVENTS overrides the count (for a quick run by hand).
"""

import http.client
import json
import os
import subprocess
import time
import unittest

from sicher_harness import RssSampler, ServerTestCase, api, rss_bytes, tls_connect

PASSWORD = "correct horse battery staple"
EVENTS = int(os.environ.get("SICHER_AUDIT_MEMORY_EVENTS", "1000000"))
AUDIT_FILL_BIN = os.environ.get("AUDIT_FILL_BIN", "")
LIMIT = 64 << 20
PIECE = 1 << 20
# A small allocator quarantine keeps AddressSanitizer's own bookkeeping out of the measurement
# (as in test_docs_memory.py); the server's buffers are what this test is about.
ASAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"}


class AuditExportMemoryTest(ServerTestCase):
    def setUp(self):
        if not AUDIT_FILL_BIN or not os.access(AUDIT_FILL_BIN, os.X_OK):
            raise unittest.SkipTest("AUDIT_FILL_BIN not set or not executable: %r" %
                                    AUDIT_FILL_BIN)

    def export_jsonl(self, addr, account, token):
        """Streams the export; returns (lines, synthetic lines, first record, last record,
        headers)."""
        sock = tls_connect(addr, timeout=120)
        try:
            sock.sendall(("GET /v1/accounts/%s/audit-events/export?format=jsonl HTTP/1.1\r\n"
                          "Host: localhost\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n\r\n" % (account, token)).encode())
            r = http.client.HTTPResponse(sock, method="GET")
            r.begin()
            self.assertEqual(r.status, 200)
            headers = {k.lower(): v for k, v in r.getheaders()}
            lines = synthetic = 0
            first = last = None
            partial = b""  # the unfinished line at the end of the previous read
            while True:
                chunk = r.read(PIECE)
                if not chunk:
                    break
                data = partial + chunk
                end = data.rfind(b"\n") + 1
                whole, partial = data[:end], data[end:]
                if not whole:
                    continue
                if first is None:
                    first = whole[:whole.index(b"\n")]
                last = whole[whole.rfind(b"\n", 0, len(whole) - 1) + 1:-1]
                lines += whole.count(b"\n")
                synthetic += whole.count(b'"synthetic":true')
        finally:
            sock.close()
        self.assertEqual(partial, b"", "the export does not end in a newline")
        return lines, synthetic, json.loads(first), json.loads(last), headers

    def test_export_of_a_million_events_in_bounded_memory(self):
        t0 = time.monotonic()
        # First start: the data directory, an account, and one small export (for the count).
        srv = self.start_server(env=ASAN_ENV, server_config={"read_timeout": "30s"})
        addr = srv.addr()
        r = api(addr, "POST", "/v1/signup", {"email": "audit-big@example.com",
                                             "password": PASSWORD, "name": "B",
                                             "account_name": "B"})
        self.assertEqual(r.status, 201, r)
        account, user = r.json()["account_id"], r.json()["user_id"]
        token = api(addr, "POST", "/v1/login", {"email": "audit-big@example.com",
                                                "password": PASSWORD}).json()["token"]
        before, _, _, _, _ = self.export_jsonl(addr, account, token)
        self.assertGreaterEqual(before, 3)  # account.created, login.password, audit.exported
        srv.stop()

        # Fill, with the server stopped.
        t_fill = time.monotonic()
        p = subprocess.run([AUDIT_FILL_BIN, "--data", srv.data_dir, "--account", account,
                            "--events", str(EVENTS)], capture_output=True, text=True,
                           timeout=900, env=dict(os.environ, **ASAN_ENV))
        fill_secs = time.monotonic() - t_fill
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("appended %d events" % EVENTS, p.stdout)
        print("\naudit_fill: %d events in %.0f s" % (EVENTS, fill_secs))

        # Second start on the same directory; the session is still valid.
        srv2 = self.start_server(env=ASAN_ENV, data_dir=srv.data_dir,
                                 server_config={"read_timeout": "30s"})
        time.sleep(1.0)
        baseline = rss_bytes(srv2.pid)
        t_export = time.monotonic()
        with RssSampler(srv2.pid) as sampler:
            lines, synthetic, first, last, headers = self.export_jsonl(srv2.addr(), account,
                                                                       token)
        export_secs = time.monotonic() - t_export
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(headers.get("content-type"), "application/x-ndjson")
        self.assertNotIn("content-length", headers)
        # Everything from before, the million, and this export's own audit.exported.
        self.assertEqual(synthetic, EVENTS)
        self.assertEqual(lines, before + EVENTS + 1)
        self.assertEqual(first["event"]["action"], "account.created")
        self.assertEqual(last["event"]["action"], "audit.exported")
        self.assertEqual(last["sicher"]["actor"]["id"], user)
        growth = sampler.peak - baseline
        print("export: %d lines in %.0f s; RSS baseline %.1f MiB, peak %.1f MiB, growth %.1f MiB "
              "(%d samples); total %.0f s" % (lines, export_secs, baseline / 2**20,
                                              sampler.peak / 2**20, growth / 2**20,
                                              sampler.samples, time.monotonic() - t0))
        self.assertGreater(sampler.samples, 10)
        self.assertLess(growth, LIMIT)


if __name__ == "__main__":
    unittest.main()
