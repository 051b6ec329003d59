"""`sicher keys rotate` against a running server: personal fields still decrypt, the server
picks up the new KEK without a restart, and the keyring keeps only the new version."""

import json
import os
import re
import threading

from sicher_harness import Connection, ServerTestCase, run_cli

PASSWORD = "correct horse battery staple"


def call(addr, method, path, body=None, token=None):
    """One JSON request on a fresh connection; returns (status, parsed JSON or None)."""
    headers = {}
    data = b""
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if token:
        headers["Authorization"] = "Bearer " + token
    with Connection(addr) as c:
        r = c.request(method, path, headers, data)
    try:
        doc = json.loads(r.body.decode("utf-8")) if r.body else None
    except ValueError:
        doc = None
    return r.status, doc


def kek_versions(keyring_path):
    with open(keyring_path) as f:
        text = f.read()
    current = int(re.search(r"^current (\d+)$", text, re.M).group(1))
    return current, [int(v) for v in re.findall(r"^kek (\d+) ", text, re.M)]


class KeyRotationTest(ServerTestCase):
    def signup(self, addr, i):
        email = "rotation-user-%d@example.com" % i
        status, doc = call(addr, "POST", "/v1/signup",
                           {"email": email, "password": PASSWORD, "name": "Rotation User %d" % i,
                            "account_name": "Team %d" % i})
        self.assertEqual(status, 201, doc)
        return email, "Rotation User %d" % i

    def login(self, addr, email):
        status, doc = call(addr, "POST", "/v1/login", {"email": email, "password": PASSWORD})
        self.assertEqual(status, 200, doc)
        self.assertIn("token", doc)
        return doc["token"]

    def assert_me(self, addr, token, email, name):
        status, doc = call(addr, "GET", "/v1/me", token=token)
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["email"], email)
        self.assertEqual(doc["name"], name)

    def rotate(self, srv):
        p = run_cli(["keys", "rotate", "--data", srv.data_dir], timeout=60)
        self.assertEqual(p.returncode, 0, "stdout=%r stderr=%r" % (p.stdout, p.stderr))
        return p.stdout

    def test_rotate_while_serving(self):
        srv = self.start_server()
        addr = srv.addr("public")
        keyring = srv.path("keyring")
        self.assertEqual(kek_versions(keyring), (1, [1]))
        users = [self.signup(addr, i) for i in range(3)]
        tokens = [self.login(addr, email) for email, _ in users]

        out = self.rotate(srv)
        self.assertIn("added KEK version 2", out)
        self.assertIn("re-wrapped 6 data keys", out)  # a user and an account per signup
        self.assertIn("dropped KEK version 1", out)
        self.assertEqual(kek_versions(keyring), (2, [2]))
        self.assertEqual(os.stat(keyring).st_mode & 0o777, 0o600)

        # Fresh logins and existing sessions: every e-mail and name still decrypts.
        for (email, name), old_token in zip(users, tokens):
            self.assert_me(addr, self.login(addr, email), email, name)
            self.assert_me(addr, old_token, email, name)
        # A user created after the rotation gets a DEK under version 2 (the fence).
        users.append(self.signup(addr, 3))
        tokens.append(self.login(addr, users[-1][0]))
        self.assert_me(addr, tokens[-1], *users[-1])

        # A second rotation while requests keep coming: none of them fails.
        stop = threading.Event()
        failures = []

        def reader():
            n = 0
            while not stop.is_set():
                email, name = users[n % len(users)]
                try:
                    status, doc = call(addr, "GET", "/v1/me", token=tokens[n % len(tokens)])
                    if status != 200 or doc.get("email") != email or doc.get("name") != name:
                        failures.append((status, doc))
                except Exception as e:  # noqa: BLE001 - any failure counts
                    failures.append(repr(e))
                n += 1

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            out = self.rotate(srv)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertIn("added KEK version 3", out)
        # Four sign-ups' user and account keys, and the audit log's system key (created by the
        # first rotation's keys.rotated event).
        self.assertIn("re-wrapped 9 data keys", out)
        self.assertIn("dropped KEK version 2", out)
        self.assertEqual(failures, [])
        self.assertEqual(kek_versions(keyring), (3, [3]))
        for email, name in users:
            self.assert_me(addr, self.login(addr, email), email, name)

    def test_rotate_refuses_a_missing_keyring(self):
        srv = self.start_server()
        srv.stop()
        os.rename(srv.path("keyring"), srv.path("keyring.moved"))
        p = run_cli(["keys", "rotate", "--data", srv.data_dir])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("does not exist", p.stderr)
        self.assertFalse(os.path.exists(srv.path("keyring")), "a new keyring was created")
