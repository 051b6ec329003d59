"""Crash test (issue 2) at the server level: kill -9 during concurrent writes; after the
restart every write that was answered 2xx is there.

The writes are sign-ups (POST /v1/signup: a user, an account and a membership in one commit,
through the store's group commit). Client threads record every address answered 201; the
server is SIGKILLed while they are still writing; a new server on the same data directory
must start, and then every acknowledged address must exist: a second sign-up with it gets
409 (cheap, checked for all of them) and a sample can log in (each login costs an Argon2id
hash). Two rounds, so the second crash hits a database that has already recovered once.
Finally the database passes SQLite's integrity check.
"""

import os
import random
import sqlite3
import sys
import threading
import time
import unittest
import uuid

from sicher_harness import SLOW, Connection, Server, ServerTestCase, api

THREADS = 4
TARGET_ACKS = 120            # per round; the server is killed once this many are answered
MAX_LOAD_SECONDS = 6.0       # ... or after this long (scaled), whichever comes first
MIN_ACKS = 20                # a round that acknowledged fewer proved too little
LOGIN_SAMPLE = 30            # random acknowledged addresses that must log in, plus LAST_N
LAST_N = 10


class Writer(threading.Thread):
    """Signs up distinct users in a loop over one keep-alive connection until stopped or
    the server goes away. acked: addresses answered 201, in answer order."""

    def __init__(self, addr, tag, password, acked, lock, stop):
        super().__init__(daemon=True)
        self.addr, self.tag, self.password = addr, tag, password
        self.acked, self.lock, self.stop = acked, lock, stop
        self.unexpected = []   # (status, body) of answers other than 201
        self.in_flight = None  # the address sent when the connection broke

    def run(self):
        conn = None
        i = 0
        while not self.stop.is_set():
            email = "%s-%d@crash.example" % (self.tag, i)
            i += 1
            body = ('{"email":"%s","password":"%s","name":"crash user","account_name":"%s"}' %
                    (email, self.password, self.tag)).encode()
            try:
                if conn is None:
                    conn = Connection(self.addr, timeout=10.0)
                r = conn.request("POST", "/v1/signup",
                                 {"Content-Type": "application/json"}, body)
            except Exception:  # reset, EOF, TLS alert, a cut-off status line
                self.in_flight = email
                if conn:
                    conn.close()
                conn = None
                if self.stop.is_set():
                    return
                time.sleep(0.01)
                continue
            if r.status == 201:
                with self.lock:
                    self.acked.append(email)
            else:
                self.unexpected.append((r.status, r.body[:200]))
            if conn.closed_by_server:
                conn.close()
                conn = None
        if conn:
            conn.close()


class CrashTest(ServerTestCase):

    def start_on(self, data_dir):
        srv = Server(self, data_dir=data_dir)
        self.addCleanup(self._cleanup_server, srv)
        return srv.start()

    def load_and_kill(self, srv, tag, password):
        """Runs the writers, SIGKILLs the server under load; returns the acknowledged list."""
        acked, lock, stop = [], threading.Lock(), threading.Event()
        writers = [Writer(srv.addr(), "%s-t%d" % (tag, n), password, acked, lock, stop)
                   for n in range(THREADS)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + MAX_LOAD_SECONDS * SLOW
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= TARGET_ACKS:
                    break
            time.sleep(0.01)
        # Kill while the writers are still sending: some requests are in flight.
        srv.proc.kill()
        killed_at = time.monotonic()
        srv.proc.wait()
        stop.set()
        for w in writers:
            w.join(15 * SLOW)
            self.assertFalse(w.is_alive(), "writer did not stop")
        self.assertEqual(srv.proc.returncode, -9, "server was not killed by SIGKILL")
        srv.stopped = True
        unexpected = [u for w in writers for u in w.unexpected]
        self.assertEqual(unexpected, [], "sign-ups answered other than 201 under load")
        with lock:
            result = list(acked)
        self.in_flight = [w.in_flight for w in writers if w.in_flight]
        self.assertGreaterEqual(len(result), MIN_ACKS,
                                "only %d sign-ups acknowledged before the kill" % len(result))
        sys_note = "round %s: %d acknowledged, %d in flight at the kill, %.1fs" % (
            tag, len(result), len(self.in_flight), killed_at - (deadline - MAX_LOAD_SECONDS * SLOW))
        sys.stderr.write(sys_note + "\n")
        return result

    def verify(self, srv, acked, password, what):
        addr = srv.addr()
        missing = []
        with Connection(addr, timeout=30.0) as c:
            for email in acked:
                body = ('{"email":"%s","password":"%s","name":"again","account_name":"again"}' %
                        (email, password)).encode()
                r = c.request("POST", "/v1/signup", {"Content-Type": "application/json"}, body)
                if r.status != 409:
                    missing.append((email, r.status))
        self.assertEqual(missing, [], "%s: acknowledged sign-ups missing after the restart "
                                      "(a second sign-up was not refused with 409)" % what)
        sample = random.sample(acked, min(LOGIN_SAMPLE, len(acked))) + acked[-LAST_N:]
        failed = [f for f in map(lambda e: self.check_user(addr, e, password),
                                 dict.fromkeys(sample)) if f]
        self.assertEqual(failed, [], "%s: acknowledged users cannot log in, or lack their "
                                     "account" % what)

    def check_user(self, addr, email, password):
        """Logs in and checks the sign-up's three rows (user, account, owner membership) are
        all there. Returns None when fine, else what went wrong."""
        r = api(addr, "POST", "/v1/login", {"email": email, "password": password})
        if r.status != 200 or "token" not in r.json():
            return (email, "login", r.status, r.body[:200])
        me = api(addr, "GET", "/v1/me", token=r.json()["token"])
        if me.status != 200:
            return (email, "/v1/me", me.status, me.body[:200])
        roles = [m.get("role") for m in me.json().get("memberships", [])]
        if roles != ["owner"]:
            return (email, "memberships", roles)
        return None

    def check_in_flight(self, srv, emails, password):
        """A sign-up cut off by the kill is all there or not there at all: never a user
        without their account."""
        for email in emails:
            body = {"email": email, "password": password, "name": "again",
                    "account_name": "again"}
            r = api(srv.addr(), "POST", "/v1/signup", body)
            self.assertIn(r.status, (201, 409), r)
            if r.status == 409:
                self.assertIsNone(self.check_user(srv.addr(), email, password))

    def assert_clean_start(self, srv):
        r = api(srv.addr(), "GET", "/readyz")
        self.assertEqual(r.status, 200, r)
        bad = [e for e in srv.log_lines("app")
               if not isinstance(e, dict) or
               (e.get("log") or {}).get("level") in ("error", "fatal", "critical")]
        self.assertEqual(bad, [], "errors logged at start after the crash")
        text = (srv.stderr_text() + srv.log_text("app")).lower()
        for word in ("corrupt", "malformed", "integrity", "data loss", "dataloss"):
            self.assertNotIn(word, text)

    def test_kill_9_under_concurrent_signups_loses_no_acknowledged_write(self):
        password = "crash-" + uuid.uuid4().hex
        first = self.start_server()
        data_dir = first.data_dir
        all_acked = []
        srv = first
        for round_no in (1, 2):
            acked = self.load_and_kill(srv, "r%d-%s" % (round_no, uuid.uuid4().hex[:6]),
                                       password)
            srv = self.start_on(data_dir)
            self.assert_clean_start(srv)
            all_acked += acked
            # This round's writes, and the earlier rounds' (a crash must not undo old commits).
            self.verify(srv, all_acked, password, "round %d" % round_no)
            self.check_in_flight(srv, [e for e in self.in_flight if e not in acked], password)
        srv.stop()
        self.assert_integrity(data_dir)

    def assert_integrity(self, data_dir):
        db = os.path.join(data_dir, "sicher.db")
        self.assertTrue(os.path.exists(db), db)
        con = sqlite3.connect(db)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
            fk = con.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            con.close()
        self.assertEqual(rows, [("ok",)], "SQLite integrity_check")
        self.assertEqual(fk, [], "SQLite foreign_key_check")


if __name__ == "__main__":
    unittest.main()
