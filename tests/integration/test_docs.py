"""Documents over real HTTPS (issue 4): streamed upload and download, Range at chunk
boundaries, permissions, publishing links, limits, interrupted uploads, and a plaintext scan
of the whole data directory."""

import hashlib
import os
import socket
import sqlite3
import time
import urllib.parse

from sicher_harness import Connection, ServerTestCase, api, tls_connect, wait_for

PASSWORD = "correct horse battery staple"
CHUNK = 64 * 1024
MAX = 2 * 1024 * 1024
CANARY_TITLE = "canary-title-5e1f0a"
CANARY_BODY = b"canary-body-9c44d2"


def body_of(size, seed):
    # Incompressible-looking, reproducible content.
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


class DocsTest(ServerTestCase):
    def setUp(self):
        self.srv = self.start_server(
            extra_config="[docs]\nchunk_size = \"64KiB\"\nmax_document_bytes = \"2MiB\"\n")
        self.addr = self.srv.addr()

    def signup_login(self, email):
        r = api(self.addr, "POST", "/v1/signup",
                {"email": email, "password": PASSWORD, "name": "N", "account_name": "T"})
        self.assertEqual(r.status, 201, r)
        account = r.json()["account_id"]
        r = api(self.addr, "POST", "/v1/login", {"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 200, r)
        return account, r.json()["token"]

    def upload(self, account, token, data, title="t", content_type="text/plain", conn=None):
        q = urllib.parse.urlencode({"title": title})
        headers = {"Authorization": "Bearer " + token, "Content-Type": content_type}
        if conn is None:
            with Connection(self.addr) as c:
                return c.request("POST", "/v1/accounts/%s/documents?%s" % (account, q), headers,
                                 data)
        return conn.request("POST", "/v1/accounts/%s/documents?%s" % (account, q), headers, data)

    def get(self, path, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        with Connection(self.addr) as c:
            return c.request("GET", path, h)

    def test_round_trips_ranges_and_headers(self):
        account, token = self.signup_login("docs@example.com")
        with Connection(self.addr) as conn:  # uploads on one keep-alive connection
            for size in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17):
                data = body_of(size, "s%d" % size)
                r = self.upload(account, token, data, title="size %d" % size, conn=conn)
                self.assertEqual(r.status, 201, r)
                doc = r.json()
                self.assertEqual(doc["size"], size)
                got = self.get("/v1/documents/%s/content" % doc["id"], token)
                self.assertEqual(got.status, 200, got)
                self.assertEqual(got.body, data, "size %d" % size)
                self.assertEqual(got.header("Content-Length"), str(size))
                self.assertEqual(got.header("ETag"), doc["etag"])
                self.assertEqual(got.header("Content-Disposition"), "attachment")
                self.assertEqual(got.header("X-Content-Type-Options"), "nosniff")
        data = body_of(3 * CHUNK + 17, "ranges")
        doc = self.upload(account, token, data).json()
        path = "/v1/documents/%s/content" % doc["id"]
        for first, last in ((0, 0), (CHUNK - 1, CHUNK), (CHUNK, 2 * CHUNK - 1),
                            (CHUNK - 5, 2 * CHUNK + 5), (len(data) - 1, len(data) - 1)):
            r = self.get(path, token, {"Range": "bytes=%d-%d" % (first, last)})
            self.assertEqual(r.status, 206, r)
            self.assertEqual(r.body, data[first:last + 1])
            self.assertEqual(r.header("Content-Range"),
                             "bytes %d-%d/%d" % (first, last, len(data)))
        r = self.get(path, token, {"Range": "bytes=-10"})
        self.assertEqual((r.status, r.body), (206, data[-10:]))
        r = self.get(path, token, {"Range": "bytes=%d-" % (len(data) + 5)})
        self.assertEqual(r.status, 416, r)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % len(data))

        listing = self.get("/v1/accounts/%s/documents?limit=3" % account, token)
        self.assertEqual(listing.status, 200, listing)
        self.assertEqual(len(listing.json()["items"]), 3)
        self.assertEqual(listing.json()["items"][0]["id"], doc["id"])  # newest first

    def test_permissions_links_and_no_token_in_logs(self):
        account, owner = self.signup_login("owner@example.com")
        _, outsider = self.signup_login("outsider@example.com")
        doc = self.upload(account, owner, b"<script>alert(1)</script>", content_type="text/html")
        self.assertEqual(doc.status, 201, doc)
        doc_id = doc.json()["id"]
        # Outsiders learn nothing.
        self.assertEqual(self.get("/v1/documents/%s" % doc_id, outsider).status, 404)
        self.assertEqual(self.get("/v1/documents/%s/content" % doc_id, outsider).status, 404)
        # A member (invited) reads but may not delete or manage links.
        inv = api(self.addr, "POST", "/v1/accounts/%s/members" % account,
                  {"email": "member@example.com", "role": "member"}, token=owner)
        self.assertEqual(inv.status, 201, inv)
        _, member = self.signup_login("member@example.com")
        self.assertEqual(api(self.addr, "POST", inv.json()["accept_path"], token=member).status,
                         200)
        self.assertEqual(self.get("/v1/documents/%s" % doc_id, member).status, 200)
        self.assertEqual(api(self.addr, "DELETE", "/v1/documents/%s" % doc_id,
                             token=member).status, 403)
        self.assertEqual(api(self.addr, "POST", "/v1/documents/%s/links" % doc_id,
                             token=member).status, 403)
        # The owner publishes it; anyone with the link reads it, inline but sandboxed.
        link = api(self.addr, "POST", "/v1/documents/%s/links" % doc_id, token=owner)
        self.assertEqual(link.status, 201, link)
        url = link.json()["url_path"]
        reader = self.get(url)
        self.assertEqual(reader.status, 200, reader)
        self.assertEqual(reader.body, b"<script>alert(1)</script>")
        self.assertIn("sandbox", reader.header("Content-Security-Policy"))
        self.assertEqual(reader.header("Content-Disposition"), "inline")
        # Revoked: gone.
        r = api(self.addr, "DELETE", "/v1/documents/%s/links/%s" % (doc_id, link.json()["id"]),
                token=owner)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.get(url).status, 404)
        self.assertEqual(self.get("/p/not-a-token").status, 404)
        # The token never reaches a log; the route does (access lines may lag up to 100 ms).
        wait_for(lambda: "/p/{token}" in self.srv.log_text("access"), 5)
        token = link.json()["token"]
        for name in ("access", "security", "audit", "app"):
            self.assertNotIn(token, self.srv.log_text(name), name)
        self.assertIn("/p/{token}", self.srv.log_text("access"))
        # The owner deletes it.
        self.assertEqual(api(self.addr, "DELETE", "/v1/documents/%s" % doc_id,
                             token=owner).status, 204)
        self.assertEqual(self.get("/v1/documents/%s" % doc_id, owner).status, 404)

    def count_chunks(self):
        db = sqlite3.connect("file:%s?mode=ro" % self.srv.path("sicher.db"), uri=True,
                             timeout=10)
        try:
            return db.execute("SELECT COUNT(*) FROM document_chunks").fetchone()[0]
        finally:
            db.close()

    def test_limits_and_interrupted_uploads_leave_nothing(self):
        account, token = self.signup_login("limits@example.com")
        before = self.count_chunks()
        # Declared too large: refused before the body is sent.
        with Connection(self.addr) as c:
            c.send_raw(("POST /v1/accounts/%s/documents?title=big HTTP/1.1\r\nHost: localhost\r\n"
                        "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                        "Content-Length: %d\r\n\r\n" % (account, token, MAX + 1)).encode())
            from sicher_harness import read_response
            r, _ = read_response(c.sock, "POST")
            self.assertEqual(r.status, 413, r)
        # A client that goes away in the middle of its body.
        sock = tls_connect(self.addr)
        sock.sendall(("POST /v1/accounts/%s/documents?title=cut HTTP/1.1\r\nHost: localhost\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %d\r\n\r\n" % (account, token, 5 * CHUNK)).encode())
        sock.sendall(body_of(2 * CHUNK + 100, "cut"))
        time.sleep(0.3)
        sock.close()
        wait_for(lambda: self.count_chunks() == before, 10)
        self.assertEqual(self.count_chunks(), before)
        listing = self.get("/v1/accounts/%s/documents" % account, token).json()
        self.assertEqual(listing["items"], [])

    def test_plaintext_scan_of_the_data_directory(self):
        account, token = self.signup_login("canary-user-1b7@example.com")
        content = body_of(3 * CHUNK, "pad") + CANARY_BODY + body_of(100, "tail")
        r = self.upload(account, token, content, title=CANARY_TITLE)
        self.assertEqual(r.status, 201, r)
        got = self.get("/v1/documents/%s/content" % r.json()["id"], token)
        self.assertEqual(got.body, content)
        self.srv.stop()
        canaries = [CANARY_TITLE.encode(), CANARY_BODY, b"canary-user-1b7"]
        scanned = 0
        for root, _, files in os.walk(self.srv.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blob = f.read()
                scanned += 1
                for c in canaries:
                    self.assertNotIn(c, blob, "%r in %s" % (c, os.path.join(root, name)))
        self.assertGreaterEqual(scanned, 5)  # db, keyring, cert, key, logs...


if __name__ == "__main__":
    import unittest
    unittest.main()
