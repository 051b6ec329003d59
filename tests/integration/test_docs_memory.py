"""Issue 4: a 1 GiB upload and download over HTTPS keep the server's resident memory growth
under 64 MiB (the body is streamed in chunks, never held whole). Slow: labelled "slow"."""

import hashlib
import os
import time

from sicher_harness import (RssSampler, ServerTestCase, api, read_response, rss_bytes,
                            tls_connect)

PASSWORD = "correct horse battery staple"
SIZE = int(os.environ.get("SICHER_MEMORY_TEST_BYTES", str(1 << 30)))
PIECE = 1 << 20
LIMIT = 64 << 20


def piece(i):
    # Cheap, reproducible, not constant: 1 MiB from a 32-byte seed.
    return hashlib.sha256(b"%d" % i).digest() * (PIECE // 32)


class DocsMemoryTest(ServerTestCase):
    def test_one_gibibyte_round_trip_in_bounded_memory(self):
        # A small allocator quarantine keeps AddressSanitizer's own bookkeeping out of the
        # measurement; the server's buffers are what this test is about.
        srv = self.start_server(
            env={"ASAN_OPTIONS": "detect_leaks=0:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"},
            server_config={"read_timeout": "30s"},
            extra_config='[docs]\nmax_document_bytes = "2GiB"\n')
        addr = srv.addr()
        r = api(addr, "POST", "/v1/signup",
                {"email": "big@example.com", "password": PASSWORD, "name": "B",
                 "account_name": "B"})
        account = r.json()["account_id"]
        token = api(addr, "POST", "/v1/login",
                    {"email": "big@example.com", "password": PASSWORD}).json()["token"]
        time.sleep(0.5)
        baseline = rss_bytes(srv.pid)

        pieces = SIZE // PIECE
        expected = hashlib.sha256()
        with RssSampler(srv.pid) as up:
            sock = tls_connect(addr, timeout=120)
            sock.sendall(("POST /v1/accounts/%s/documents?title=big HTTP/1.1\r\n"
                          "Host: localhost\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                          % (account, token, pieces * PIECE)).encode())
            for i in range(pieces):
                data = piece(i)
                expected.update(data)
                sock.sendall(data)
            resp, _ = read_response(sock, "POST")
            sock.close()
        self.assertEqual(resp.status, 201, resp)
        doc = resp.json()
        self.assertEqual(doc["size"], pieces * PIECE)

        got = hashlib.sha256()
        received = 0
        with RssSampler(srv.pid) as down:
            sock = tls_connect(addr, timeout=120)
            sock.sendall(("GET /v1/documents/%s/content HTTP/1.1\r\nHost: localhost\r\n"
                          "Authorization: Bearer %s\r\nConnection: close\r\n\r\n"
                          % (doc["id"], token)).encode())
            import http.client
            r = http.client.HTTPResponse(sock, method="GET")
            r.begin()
            self.assertEqual(r.status, 200)
            while True:
                chunk = r.read(PIECE)
                if not chunk:
                    break
                received += len(chunk)
                got.update(chunk)
            sock.close()
        self.assertEqual(received, pieces * PIECE)
        self.assertEqual(got.hexdigest(), expected.hexdigest())
        growth = max(up.peak, down.peak) - baseline
        print("\nRSS baseline %.1f MiB, peak upload %.1f MiB, peak download %.1f MiB, growth "
              "%.1f MiB" % (baseline / 2**20, up.peak / 2**20, down.peak / 2**20,
                            growth / 2**20))
        self.assertLess(growth, LIMIT)


if __name__ == "__main__":
    import unittest
    unittest.main()
