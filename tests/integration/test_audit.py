"""The audit log over real HTTPS and through the `sicher audit` command line
(docs/design/audit-log.md, docs/audit-events.md).

- who reads what: owners and admins the account's events and their members' personal events,
  members only their own personal events, outsiders 404, operators and anonymous callers refused;
- every query and export is itself an event, visible in the next query;
- cursor pagination sees every event exactly once, newest first, while events are appended;
  malformed parameters are 400 problem+json;
- filters (action prefix and exact name, actor, outcome, ip, from/to);
- CSV and JSON Lines exports: chunked, right Content-Type, RFC 4180 CSV that Python's csv module
  reads back to the same events as the JSON Lines export, canonical JSON lines with ECS names;
- proofs end to end: signed checkpoints (signature checked with openssl, not only by sicher),
  inclusion and consistency proofs checked in Python (RFC 9162 2.1.3.2 / 2.1.4.2) and by
  `sicher audit verify`, which must also catch a modified, deleted or reordered export line, a
  forged checkpoint and another server's checkpoint;
- server-side tamper detection: `sicher audit verify --data DIR` on a stopped server's database
  after payloads, leaf hashes or log indexes were changed, or a row deleted, with sqlite3;
- a refused change leaves no event, a successful one exactly one.

Argon2id makes every sign-up and login cost 100-300 ms under ASan: the accounts of most tests
are made once per class (World).
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse
import uuid

from sicher_harness import (OPENSSL_BIN, SLOW, Authenticator, Connection, ServerTestCase,
                            SharedServerTestCase, api, run_cli, tls_connect, wait_for)

PASSWORD = "correct horse battery staple"
AUDIT_CONFIG = '[audit]\ncheckpoint_interval = "1s"\n'
# 127.0.0.1 is a trusted proxy, so a test can give its requests any source.ip with
# X-Forwarded-For (requests without the header keep 127.0.0.1).
SERVER_CONFIG = {"trusted_proxies": ["127.0.0.1/32"]}
CSV_COLUMNS = ["log_index", "timestamp", "event_id", "action", "outcome", "reason", "sequence",
               "account_id", "scope", "actor_type", "actor_id", "target_type", "target_id",
               "source_ip", "user_agent", "device_type", "request_id", "details"]
PERSONAL_PREFIXES = ("login.", "session.", "mfa.", "password.")
TRICKY_UA = 'Tricky/1.0 (x, "quoted"; y),"end'
FORMULA_UA = '=HYPERLINK("http://example.invalid","x")'


def unique_email(prefix):
    return "%s-%s@example.test" % (prefix, uuid.uuid4().hex[:10])


def canonical(obj):
    """RFC 8785 for sicher's value types (no floats): what the server hashes and exports."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def get_path(record, dotted):
    node = record
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def action_of(record):
    return get_path(record, "event.action")


def event_id(record):
    return get_path(record, "event.id")


def sort_key(record):
    return (record["@timestamp"], record["sicher"]["log_index"])


# ---------------------------------------------------------------- RFC 6962 / 9162 in Python

def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(record_bytes):
    return sha256(b"\x00" + record_bytes)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, proof, root1, root2):
    """RFC 9162 section 2.1.4.2."""
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0 or size1 > size2 or not proof and size1 & (size1 - 1):
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# ---------------------------------------------------------------- signed notes

def parse_checkpoint(note):
    """C2SP signed note holding a tlog-checkpoint -> dict (origin, size, root, body, sigs)."""
    assert note.endswith("\n"), repr(note)
    text, _, sigs = note.partition("\n\n")
    lines = text.split("\n")
    assert len(lines) >= 3, repr(note)
    signatures = []
    for line in sigs.rstrip("\n").split("\n"):
        m = re.match(r"^\u2014 (\S+) (\S+)$", line)
        assert m, "not a signature line: %r" % line
        blob = base64.b64decode(m.group(2))
        signatures.append((m.group(1), blob[:4], blob[4:]))
    return {"origin": lines[0], "size": int(lines[1]), "root": base64.b64decode(lines[2]),
            "body": (text + "\n").encode(), "signatures": signatures}


def parse_verifier_key(vkey):
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)  # base64 may hold "+"
    raw = base64.b64decode(key_b64)
    return {"name": name, "key_id": bytes.fromhex(key_id_hex), "type": raw[:1],
            "public_key": raw[1:]}


def openssl_ed25519_verify(public_key, message, signature, workdir):
    """Checks an Ed25519 signature with the openssl binary (independent of sicher's code)."""
    spki = bytes.fromhex("302a300506032b6570032100") + public_key
    pem = ("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" %
           base64.b64encode(spki).decode())
    paths = {}
    for name, data in (("pub.pem", pem.encode()), ("msg.bin", message), ("sig.bin", signature)):
        paths[name] = os.path.join(workdir, "ossl-" + name)
        with open(paths[name], "wb") as f:
            f.write(data)
    p = subprocess.run([OPENSSL_BIN, "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.pem"],
                        "-rawin", "-in", paths["msg.bin"], "-sigfile", paths["sig.bin"]],
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------- raw HTTP for chunked bodies

def raw_get(addr, path, token=None, headers=None):
    """GET with `Connection: close`, read to EOF; returns (status, headers dict, raw body bytes).

    The body is returned exactly as framed on the wire (chunked or not)."""
    hdrs = {"Host": "localhost", "User-Agent": "sicher-integration-test/1", "Connection": "close"}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    sock = tls_connect(addr, timeout=60)
    try:
        sock.sendall(("GET %s HTTP/1.1\r\n%s\r\n" % (
            path, "".join("%s: %s\r\n" % kv for kv in hdrs.items()))).encode("latin-1"))
        data = bytearray()
        while True:
            try:
                got = sock.recv(65536)
            except (ConnectionError, OSError):
                break
            if not got:
                break
            data += got
    finally:
        sock.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    out = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        out.setdefault(k.strip().lower(), []).append(v.strip())
    return status, out, body


def dechunk(raw):
    """Decodes a chunked body strictly; returns (payload, number of chunks)."""
    out = bytearray()
    pos = 0
    chunks = 0
    while True:
        eol = raw.index(b"\r\n", pos)
        size = int(raw[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            assert raw[pos:pos + 2] == b"\r\n", "no CRLF after the last chunk: %r" % raw[pos:]
            return bytes(out), chunks
        out += raw[pos:pos + size]
        assert raw[pos + size:pos + size + 2] == b"\r\n", "chunk not followed by CRLF"
        pos += size + 2
        chunks += 1


# ---------------------------------------------------------------- test base

class AuditMixin:
    """Helpers; needs self.srv."""

    def call(self, method, path, body=None, token=None, headers=None, listener="public",
             raw=None, ua=None):
        hdrs = dict(headers or {})
        if ua:
            hdrs["User-Agent"] = ua
        return api(self.srv.addr(listener), method, path, body=body, token=token, headers=hdrs,
                   raw=raw)

    def signup(self, prefix):
        email = unique_email(prefix)
        r = self.call("POST", "/v1/signup", {"email": email, "password": PASSWORD,
                                             "name": "N " + prefix, "account_name": "A " + prefix})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        return {"email": email, "user_id": doc["user_id"], "account_id": doc["account_id"]}

    def login(self, user, headers=None, ua=None):
        r = self.call("POST", "/v1/login", {"email": user["email"], "password": PASSWORD},
                      headers=headers, ua=ua)
        self.assertEqual(r.status, 200, r)
        user["token"] = r.json()["token"]
        return user["token"]

    def invite_accept(self, owner, account_id, user, role="member"):
        r = self.call("POST", "/v1/accounts/%s/members" % account_id,
                      {"email": user["email"], "role": role}, token=owner["token"])
        self.assertEqual(r.status, 201, r)
        r = self.call("POST", r.json()["accept_path"], token=user["token"])
        self.assertEqual(r.status, 200, r)

    def upload(self, token, account_id, data, title="t"):
        q = urllib.parse.urlencode({"title": title})
        r = self.call("POST", "/v1/accounts/%s/documents?%s" % (account_id, q), token=token,
                      raw=data, headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def list_documents(self, token, account_id, n=1, headers=None, conn=None):
        """n × GET documents: one document.list event each (on one keep-alive connection)."""
        hdrs = {"Authorization": "Bearer " + token}
        hdrs.update(headers or {})
        own = conn is None
        c = conn or Connection(self.srv.addr(), timeout=30)
        try:
            for _ in range(n):
                r = c.request("GET", "/v1/accounts/%s/documents?limit=1" % account_id, hdrs)
                self.assertEqual(r.status, 200, r)
        finally:
            if own:
                c.close()

    def events_path(self, account_id, **params):
        q = urllib.parse.urlencode(params)
        return "/v1/accounts/%s/audit-events%s" % (account_id, "?" + q if q else "")

    def query(self, token, account_id, expect=200, **params):
        r = self.call("GET", self.events_path(account_id, **params), token=token)
        self.assertEqual(r.status, expect, r)
        return r

    def items(self, token, account_id, **params):
        return self.query(token, account_id, **params).json()["items"]

    def all_items(self, token, account_id, limit=500, **params):
        """Every page, newest first."""
        out = []
        cursor = None
        while True:
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            doc = self.query(token, account_id, **p).json()
            out += doc["items"]
            cursor = doc["next_cursor"]
            if not cursor:
                return out

    def export(self, token, account_id, fmt="jsonl", expect=200, **params):
        q = urllib.parse.urlencode(dict(params, format=fmt))
        r = self.call("GET", "/v1/accounts/%s/audit-events/export?%s" % (account_id, q),
                      token=token)
        self.assertEqual(r.status, expect, r)
        return r

    def export_jsonl(self, token, account_id, **params):
        r = self.export(token, account_id, "jsonl", **params)
        text = r.body.decode("utf-8")
        self.assertTrue(text == "" or text.endswith("\n"), text[-200:])
        return [json.loads(line) for line in text.splitlines()]

    def export_csv(self, token, account_id, **params):
        r = self.export(token, account_id, "csv", **params)
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))
        self.assertEqual(rows[0], CSV_COLUMNS)
        return [dict(zip(rows[0], row)) for row in rows[1:]]

    def records(self, token, account_id, kind, **params):
        """The events a caller sees through `kind` (query, csv, jsonl) as (scope, action,
        actor id, user id) dicts."""
        if kind == "query":
            return [{"scope": e["sicher"]["scope"], "action": action_of(e),
                     "actor": get_path(e, "sicher.actor.id") or "",
                     "id": event_id(e)} for e in self.all_items(token, account_id)]
        if kind == "jsonl":
            return [{"scope": e["sicher"]["scope"], "action": action_of(e),
                     "actor": get_path(e, "sicher.actor.id") or "",
                     "id": event_id(e)} for e in self.export_jsonl(token, account_id)]
        return [{"scope": r["scope"], "action": r["action"], "actor": r["actor_id"],
                 "id": r["event_id"]} for r in self.export_csv(token, account_id)]

    def cli(self, *args):
        p = run_cli(list(args), timeout=120)
        return p.returncode, p.stdout + p.stderr

    def wait_checkpoint(self, min_size=1, timeout=15.0):
        """The latest checkpoint note once its size is at least min_size."""
        def latest():
            r = self.call("GET", "/v1/audit/checkpoint")
            if r.status == 200 and parse_checkpoint(r.body.decode())["size"] >= min_size:
                return r
            return None
        r = wait_for(latest, timeout * SLOW, interval=0.2)
        self.assertIsNotNone(r, "no checkpoint of size >= %d within %.0fs" % (min_size, timeout))
        self.assertTrue(r.header("content-type", "").startswith("text/plain"), r)
        return r.body.decode()


class World:
    """The accounts most tests share: an account with an owner, an admin and a member, an
    outsider with their own account, one document uploaded and read."""

    def __init__(self, t):
        self.owner = t.signup("owner")
        self.admin = t.signup("admin")
        self.member = t.signup("member")
        self.outsider = t.signup("outsider")
        for u in (self.owner, self.admin, self.member, self.outsider):
            t.login(u)
        self.account = self.owner["account_id"]
        # member.invited + invitation.accepted (twice), member.role_changed (once).
        t.invite_accept(self.owner, self.account, self.admin)
        r = t.call("PATCH", "/v1/accounts/%s/members/%s" % (self.account, self.admin["user_id"]),
                   {"role": "admin"}, token=self.owner["token"])
        t.assertEqual(r.status, 204, r)
        t.invite_accept(self.owner, self.account, self.member)
        self.doc = t.upload(self.owner["token"], self.account, b"hello audit", "audited")
        for u in (self.owner, self.member):
            r = t.call("GET", "/v1/documents/%s/content" % self.doc, token=u["token"])
            t.assertEqual(r.status, 200, r)
        # A second login of the member: personal events of their own.
        t.login(self.member)


class AuditApiTest(AuditMixin, SharedServerTestCase):
    server_kwargs = {"server_config": SERVER_CONFIG, "extra_config": AUDIT_CONFIG}
    _world = None

    def world(self):
        if type(self)._world is None:
            type(self)._world = World(self)
        return type(self)._world

    def add_operator_session(self):
        """An operator created with `sicher operator add`, enrolled and logged in with TOTP on
        the operator listener; returns its session token."""
        email = unique_email("op")
        p = run_cli(["operator", "add", email, "--data", self.srv.data_dir, "--config",
                     self.srv.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        enrol = re.search(r"^\s+([A-Za-z0-9_-]{32,})\s*$", p.stdout, re.M).group(1)
        r = self.call("POST", "/v1/operator/enrol", {"token": enrol, "password": PASSWORD},
                      listener="operator")
        self.assertEqual(r.status, 200, r)
        app = Authenticator(r.json()["secret"])
        r = self.call("POST", "/v1/operator/enrol/confirm", {"token": enrol, "code": app.code()},
                      listener="operator")
        self.assertEqual(r.status, 200, r)
        r = self.call("POST", "/v1/login", {"email": email, "password": PASSWORD},
                      listener="operator")
        self.assertEqual(r.status, 200, r)
        r = self.call("POST", "/v1/login/mfa", {"challenge": r.json()["challenge"],
                                                "code": app.code()}, listener="operator")
        self.assertEqual(r.status, 200, r)
        return r.json()["token"]

    # ------------------------------------------------------------------ RBAC

    def test_rbac_table(self):
        w = self.world()
        acc = w.account
        operator = self.add_operator_session()
        account_actions = {"account.created", "member.invited", "invitation.accepted",
                           "member.role_changed", "document.upload", "document.read"}

        def sees_everything(who):
            def check(kind, recs):
                actions = {r["action"] for r in recs}
                self.assertTrue(account_actions <= actions, (who, kind, sorted(actions)))
                scopes = {r["scope"] for r in recs}
                self.assertEqual(scopes - {acc, w.owner["user_id"], w.admin["user_id"],
                                           w.member["user_id"]}, set(), (who, kind))
                self.assertIn(acc, scopes)
                # The members' personal events: the member's logins, the admin's too.
                for u in (w.member, w.admin, w.owner):
                    self.assertTrue(any(r["scope"] == u["user_id"] and
                                        r["action"] == "login.password" for r in recs),
                                    (who, kind, u["user_id"]))
                # Another account's events never: the outsider's login and sign-up.
                self.assertFalse(any(r["scope"] in (w.outsider["user_id"],
                                                    w.outsider["account_id"])
                                     or r["actor"] == w.outsider["user_id"] for r in recs))
                self.assertEqual(len({r["id"] for r in recs}), len(recs), "duplicates")
            return check

        def sees_own_personal(kind, recs):
            self.assertTrue(recs, kind)
            for r in recs:
                self.assertEqual(r["scope"], w.member["user_id"], (kind, r))
                self.assertTrue(r["action"].startswith(PERSONAL_PREFIXES), (kind, r))
                self.assertEqual(r["actor"], w.member["user_id"], (kind, r))
            # Two logins so far (more if another test logged the member in).
            self.assertGreaterEqual(
                sum(1 for r in recs if r["action"] == "login.password"), 2, kind)

        rows = [
            # caller, token, listener, status, check of what is seen
            ("owner", w.owner["token"], "public", 200, sees_everything("owner")),
            ("admin", w.admin["token"], "public", 200, sees_everything("admin")),
            ("member", w.member["token"], "public", 200, sees_own_personal),
            ("outsider", w.outsider["token"], "public", 404, None),
            ("operator", operator, "public", 401, None),
            ("operator on its listener", operator, "operator", 404, None),
            ("no session", None, "public", 401, None),
            ("bad token", "A" * 43, "public", 401, None),
        ]
        for kind in ("query", "csv", "jsonl"):
            for who, token, listener, status, check in rows:
                with self.subTest(kind=kind, who=who):
                    if status == 200:
                        check(kind, self.records(token, acc, kind))
                        continue
                    path = (self.events_path(acc) if kind == "query" else
                            "/v1/accounts/%s/audit-events/export?format=%s" % (acc, kind))
                    r = self.call("GET", path, token=token, listener=listener)
                    self.assertProblem(r, status)
        # An outsider's 404 is the same as for an account that does not exist.
        r = self.call("GET", self.events_path("acc_doesnotexist0000000000000"),
                      token=w.owner["token"])
        self.assertProblem(r, 404)
        # A member's actor filter cannot reach beyond their own events.
        self.assertEqual(self.items(w.member["token"], acc, actor=w.owner["user_id"]), [])
        self.assertEqual(self.items(w.member["token"], acc, action="document."), [])

    def test_removed_member_personal_events_leave_the_view(self):
        owner, member = self.signup("rmowner"), self.signup("rmmember")
        self.login(owner)
        self.login(member)
        acc = owner["account_id"]
        self.invite_accept(owner, acc, member)
        scopes = {e["sicher"]["scope"] for e in self.all_items(owner["token"], acc)}
        self.assertIn(member["user_id"], scopes)
        r = self.call("DELETE", "/v1/accounts/%s/members/%s" % (acc, member["user_id"]),
                      token=owner["token"])
        self.assertEqual(r.status, 204, r)
        scopes = {e["sicher"]["scope"] for e in self.all_items(owner["token"], acc)}
        self.assertNotIn(member["user_id"], scopes)
        self.assertProblem(self.call("GET", self.events_path(acc), token=member["token"]), 404)
        # The removal itself stays in the account's log.
        removed = self.items(owner["token"], acc, action="member.removed")
        self.assertEqual([get_path(e, "sicher.target.id") for e in removed], [member["user_id"]])

    # ------------------------------------------------------------------ reads are events

    def test_every_read_is_an_event(self):
        w = self.world()
        acc = w.account
        r = self.query(w.owner["token"], acc, action="audit.read", limit=500)
        first = r.json()["items"]
        # The query's own event is committed before the answer: it is the newest item.
        own = first[0]
        self.assertEqual(action_of(own), "audit.read")
        self.assertEqual(get_path(own, "sicher.actor.id"), w.owner["user_id"])
        self.assertEqual(get_path(own, "sicher.scope"), acc)
        self.assertEqual(get_path(own, "organization.id"), acc)
        self.assertEqual(get_path(own, "sicher.target.type"), "audit_log")
        self.assertEqual(get_path(own, "sicher.details"), {"action": "audit.read"})
        self.assertEqual(get_path(own, "http.request.id"), r.header("x-request-id"))
        self.assertEqual(get_path(own, "event.outcome"), "success")

        # Three more queries, by three callers, one with an IP filter: three more audit.read.
        self.query(w.admin["token"], acc, ip="192.0.2.1")
        self.query(w.member["token"], acc)
        self.query(w.owner["token"], acc, outcome="failure", limit=3)
        second = self.items(w.owner["token"], acc, action="audit.read", limit=500)
        self.assertEqual(len(second), len(first) + 4)
        actors = [get_path(e, "sicher.actor.id") for e in second[:4]]
        self.assertEqual(actors, [w.owner["user_id"], w.owner["user_id"], w.member["user_id"],
                                  w.admin["user_id"]])
        self.assertEqual(get_path(second[1], "sicher.details"), {"outcome": "failure"})
        self.assertEqual(get_path(second[3], "sicher.details"), {"ip_filter": True})
        self.assertNotIn("192.0.2.1", json.dumps(second[3]))
        # The member's read is the account's event: the member does not see it.
        mine = self.all_items(w.member["token"], acc)
        self.assertNotIn(event_id(second[2]), {event_id(e) for e in mine})

        # An export is an audit.exported event, with the format and filters.
        self.export(w.admin["token"], acc, "csv", action="document.")
        self.export(w.owner["token"], acc, "jsonl")
        exported = self.items(w.owner["token"], acc, action="audit.exported", limit=2)
        self.assertEqual([get_path(e, "sicher.actor.id") for e in exported],
                         [w.owner["user_id"], w.admin["user_id"]])
        self.assertEqual(get_path(exported[0], "sicher.details"),
                         {"format": "jsonl", "proofs": False})
        self.assertEqual(get_path(exported[1], "sicher.details"),
                         {"format": "csv", "proofs": False, "action": "document."})
        # A refused read (an outsider's) is no read of this account.
        before = len(self.items(w.owner["token"], acc, action="audit.read", limit=500))
        self.assertProblem(self.call("GET", self.events_path(acc),
                                     token=w.outsider["token"]), 404)
        after = self.items(w.owner["token"], acc, action="audit.read", limit=500)
        self.assertEqual(len(after), before + 1)  # only the owner's own query
        self.assertNotIn(w.outsider["user_id"], json.dumps(after))

    # ------------------------------------------------------------------ pagination

    def test_pagination_sees_every_event_once_newest_first(self):
        owner = self.signup("pages")
        self.login(owner)
        acc = owner["account_id"]
        tok = owner["token"]
        with Connection(self.srv.addr(), timeout=60) as c:
            self.list_documents(tok, acc, 300, conn=c)
        exported = self.export_jsonl(tok, acc)
        self.assertGreaterEqual(len(exported), 303)  # created, login, 300 lists, the export
        self.assertEqual(exported, sorted(exported, key=sort_key), "export is oldest first")
        self.assertEqual(action_of(exported[-1]), "audit.exported")

        seen = []
        cursor = None
        pages = 0
        with Connection(self.srv.addr(), timeout=60) as c:
            while True:
                params = {"limit": 7}
                if cursor:
                    params["cursor"] = cursor
                r = self.query(tok, acc, **params)
                doc = r.json()
                pages += 1
                self.assertLessEqual(len(doc["items"]), 7)
                seen += doc["items"]
                cursor = doc["next_cursor"]
                if not cursor:
                    break
                if len(doc["items"]) < 7:
                    self.fail("a short page with a next cursor: %r" % doc)
                # Events appended while paging are newer than the cursor: never on a later page.
                self.list_documents(tok, acc, 2, conn=c)
        ids = [event_id(e) for e in seen]
        self.assertEqual(len(ids), len(set(ids)), "an event was returned twice")
        # Newest first, strictly, by (@timestamp, log_index).
        keys = [sort_key(e) for e in seen]
        self.assertEqual(keys, sorted(keys, reverse=True))
        self.assertEqual(len(set(keys)), len(keys))
        # Exactly what existed at the first page: the export's events and the first page's
        # own audit.read, nothing appended later.
        self.assertEqual(action_of(seen[0]), "audit.read")
        self.assertEqual(ids[1:], [event_id(e) for e in reversed(exported)])
        self.assertEqual(pages, (len(seen) + 6) // 7 + (1 if len(seen) % 7 == 0 else 0))

        # The maximum page is 500, the default 100.
        self.list_documents(tok, acc, 100)
        doc = self.query(tok, acc, limit=500).json()
        self.assertEqual(len(doc["items"]), 500)
        self.assertTrue(doc["next_cursor"])
        self.assertEqual(len(self.items(tok, acc)), 100)

    def test_bad_parameters_are_400(self):
        w = self.world()
        acc = w.account
        good_cursor = base64.urlsafe_b64encode(b"1700000000000000.5").decode().rstrip("=")
        self.query(w.owner["token"], acc, cursor=good_cursor)  # well-formed: accepted
        bad = [
            {"limit": "0"}, {"limit": "501"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1.5"},
            {"limit": "99999999999999999999"},
            {"cursor": "!!!"}, {"cursor": "abc"},
            {"cursor": base64.urlsafe_b64encode(b"12.-3").decode()},
            {"cursor": base64.urlsafe_b64encode(b"12").decode()},
            {"cursor": base64.urlsafe_b64encode(b"x.3").decode()},
            {"cursor": "A" * 65},
            {"from": "yesterday"}, {"to": "2024-13-01T00:00:00Z"}, {"from": "2024-01-01"},
            {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
            {"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
            {"outcome": "bogus"}, {"outcome": "SUCCESS"},
            {"action": "a" * 65}, {"actor": "u" * 65}, {"ip": "1" * 65},
        ]
        for params in bad:
            with self.subTest(params=params):
                r = self.call("GET", self.events_path(acc, **params), token=w.owner["token"])
                self.assertProblem(r, 400)
        export_bad = [{}, {"format": "xml"}, {"format": "CSV"},
                      {"format": "jsonl", "proofs": "yes"},
                      {"format": "csv", "proofs": "true"},
                      {"format": "jsonl", "from": "not-a-time"},
                      {"format": "csv", "outcome": "maybe"}]
        for params in export_bad:
            with self.subTest(export=params):
                r = self.call("GET", "/v1/accounts/%s/audit-events/export?%s" % (
                    acc, urllib.parse.urlencode(params)), token=w.owner["token"])
                self.assertProblem(r, 400)
        for path in ("/v1/audit/proof", "/v1/audit/proof?leaf=x", "/v1/audit/proof?leaf=-1",
                     "/v1/audit/consistency?from=1", "/v1/audit/consistency?from=a&to=2",
                     "/v1/audit/checkpoint?size=x"):
            with self.subTest(path=path):
                self.assertProblem(self.call("GET", path, token=w.owner["token"]), 400)

    # ------------------------------------------------------------------ filters

    def test_filters(self):
        w = self.world()
        acc = w.account
        tok = w.owner["token"]

        prefix = self.all_items(tok, acc, action="document.")
        actions = {action_of(e) for e in prefix}
        self.assertTrue({"document.upload", "document.read"} <= actions, actions)
        self.assertTrue(all(a.startswith("document.") for a in actions), actions)
        self.assertEqual(self.items(tok, acc, action="document"), [])  # exact, no such action
        self.assertEqual(self.items(tok, acc, action="docu"), [])

        reads = len(self.all_items(tok, acc, action="document.read"))
        admin_reads = len(self.all_items(tok, acc, action="document.read",
                                         actor=w.admin["user_id"]))
        for _ in range(3):
            r = self.call("GET", "/v1/documents/%s/content" % w.doc, token=w.admin["token"])
            self.assertEqual(r.status, 200, r)
        exact = self.all_items(tok, acc, action="document.read")
        self.assertEqual(len(exact), reads + 3)
        self.assertEqual({action_of(e) for e in exact}, {"document.read"})
        self.assertEqual([get_path(e, "sicher.actor.id") for e in exact[:3]],
                         [w.admin["user_id"]] * 3)
        self.assertEqual({get_path(e, "sicher.target.id") for e in exact[:3]}, {w.doc})

        logins = self.all_items(tok, acc, action="login.")
        self.assertTrue(logins)
        self.assertTrue(all(action_of(e).startswith("login.") for e in logins))

        # actor
        by_member = self.all_items(tok, acc, actor=w.member["user_id"])
        self.assertEqual({get_path(e, "sicher.actor.id") for e in by_member},
                         {w.member["user_id"]})
        self.assertTrue({"invitation.accepted", "login.password", "document.read"} <=
                        {action_of(e) for e in by_member})
        both = self.all_items(tok, acc, actor=w.admin["user_id"], action="document.read")
        self.assertEqual([event_id(e) for e in both[:3]], [event_id(e) for e in exact[:3]])
        self.assertEqual({get_path(e, "sicher.actor.id") for e in both}, {w.admin["user_id"]})

        # outcome: two wrong passwords for the member (a personal, failed login.password each).
        fails = len(self.all_items(tok, acc, outcome="failure"))
        for _ in range(2):
            r = self.call("POST", "/v1/login", {"email": w.member["email"], "password": "wrong-" +
                                                PASSWORD})
            self.assertProblem(r, 401)
        failed = self.all_items(tok, acc, outcome="failure")
        self.assertEqual(len(failed), fails + 2)
        self.assertEqual({get_path(e, "event.outcome") for e in failed}, {"failure"})
        for e in failed[:2]:
            self.assertEqual(action_of(e), "login.password")
            self.assertEqual(get_path(e, "event.reason"), "wrong_password")
            self.assertEqual(get_path(e, "sicher.scope"), w.member["user_id"])
        # The member sees their own failures too.
        self.assertEqual(len(self.all_items(w.member["token"], acc, outcome="failure")),
                         sum(1 for e in failed if e["sicher"]["scope"] == w.member["user_id"]))
        self.assertGreaterEqual(len(self.all_items(tok, acc, outcome="success")), 5)

        # ip: the forwarded address of a trusted proxy; IPv4 and IPv6, exact match.
        self.list_documents(tok, acc, 3, headers={"X-Forwarded-For": "198.51.100.77"})
        self.list_documents(tok, acc, 1, headers={"X-Forwarded-For": "2001:db8::77"})
        got = self.items(tok, acc, ip="198.51.100.77")
        self.assertEqual(len(got), 3, got)
        self.assertEqual({get_path(e, "source.ip") for e in got}, {"198.51.100.77"})
        self.assertEqual({action_of(e) for e in got}, {"document.list"})
        got6 = self.items(tok, acc, ip="2001:db8::77")
        self.assertEqual([get_path(e, "source.ip") for e in got6], ["2001:db8::77"])
        self.assertEqual(self.items(tok, acc, ip="198.51.100.78"), [])
        self.assertEqual(self.items(tok, acc, ip="198.51.100.7"), [])  # no prefix match
        self.assertEqual(len(self.items(tok, acc, ip="198.51.100.77", action="document.list")), 3)
        self.assertEqual(self.items(tok, acc, ip="198.51.100.77", action="document.read"), [])

        # from (inclusive) / to (exclusive), on the exact timestamps the server gave.
        everything = self.all_items(tok, acc)
        pivot = everything[len(everything) // 2]
        t = pivot["@timestamp"]
        newer = self.all_items(tok, acc, **{"from": t})
        older = self.all_items(tok, acc, to=t)
        self.assertIn(event_id(pivot), {event_id(e) for e in newer})
        self.assertNotIn(event_id(pivot), {event_id(e) for e in older})
        self.assertTrue(all(e["@timestamp"] >= t for e in newer))
        self.assertTrue(all(e["@timestamp"] < t for e in older))
        # Together they are everything there was (plus the queries' own audit.read events).
        old_ids = {event_id(e) for e in everything}
        self.assertEqual(({event_id(e) for e in newer} | {event_id(e) for e in older}) & old_ids,
                         old_ids)
        window = self.all_items(tok, acc, **{"from": older[-1]["@timestamp"], "to": t})
        self.assertEqual([event_id(e) for e in window], [event_id(e) for e in older])
        # Filters apply to exports too.
        rows = self.export_csv(tok, acc, action="document.read", actor=w.admin["user_id"])
        self.assertEqual(len(rows), admin_reads + 3)
        self.assertEqual({r["action"] for r in rows}, {"document.read"})

    # ------------------------------------------------------------------ export formats

    def test_export_csv_and_jsonl(self):
        w = self.world()
        acc = w.account
        tok = w.owner["token"]
        for ua in (TRICKY_UA, FORMULA_UA):
            self.list_documents(tok, acc, 1, headers={"User-Agent": ua})

        # CSV, read raw off the wire: chunked, typed, attachment.
        status, headers, raw = raw_get(self.srv.addr(),
                                       "/v1/accounts/%s/audit-events/export?format=csv" % acc,
                                       tok)
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(headers.get("transfer-encoding"), ["chunked"])
        self.assertNotIn("content-length", headers)
        self.assertEqual(headers.get("content-type"), ["text/csv; charset=utf-8"])
        self.assertIn("attachment", headers.get("content-disposition", [""])[0])
        self.assertEqual(headers.get("cache-control"), ["no-store"])
        body, chunks = dechunk(raw)
        self.assertGreaterEqual(chunks, 1)
        text = body.decode("utf-8")
        self.assertTrue(text.startswith(",".join(CSV_COLUMNS) + "\r\n"), text[:200])
        self.assertTrue(text.endswith("\r\n"))
        # Every record ends in CRLF (embedded line breaks would be inside quotes).
        self.assertNotIn("\n", text.replace("\r\n", ""))
        table = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(table[0], CSV_COLUMNS)
        self.assertTrue(all(len(row) == len(CSV_COLUMNS) for row in table), "ragged CSV")
        rows = [dict(zip(CSV_COLUMNS, row)) for row in table[1:]]

        status, headers, raw = raw_get(self.srv.addr(),
                                       "/v1/accounts/%s/audit-events/export?format=jsonl" % acc,
                                       tok)
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(headers.get("transfer-encoding"), ["chunked"])
        self.assertEqual(headers.get("content-type"), ["application/x-ndjson"])
        body, _ = dechunk(raw)
        lines = body.decode("utf-8").split("\n")
        self.assertEqual(lines[-1], "")  # ends in a newline
        lines = lines[:-1]
        records = []
        for line in lines:
            rec = json.loads(line)
            self.assertIsInstance(rec, dict)
            self.assertEqual(line, canonical(rec), "not canonical JSON")
            for field in ("@timestamp", "event", "sicher"):
                self.assertIn(field, rec)
            self.assertRegex(rec["@timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertRegex(event_id(rec), r"^aev_[a-z0-9]+$")
            self.assertIn(get_path(rec, "event.outcome"), ("success", "failure", "unknown"))
            for flat in ("event.action", "source.ip", "user_agent.original", "event.id"):
                self.assertNotIn(flat, rec, "dotted names are nested objects")
            records.append(rec)
        # Request events carry the ECS client fields.
        uploads = [r for r in records if action_of(r) == "document.upload"]
        self.assertTrue(uploads)
        for r in uploads:
            self.assertEqual(get_path(r, "source.ip"), "127.0.0.1")
            self.assertEqual(get_path(r, "user_agent.original"), "sicher-integration-test/1")
            self.assertTrue(get_path(r, "http.request.id"))
            self.assertEqual(get_path(r, "organization.id"), acc)

        # Same events in both, in the same order: the JSON Lines export has one more, its own.
        self.assertEqual(len(rows), len(records) - 1)
        self.assertEqual([r["event_id"] for r in rows], [event_id(r) for r in records[:-1]])
        self.assertEqual(action_of(records[-1]), "audit.exported")
        self.assertEqual(get_path(records[-1], "sicher.details.format"), "jsonl")
        self.assertEqual(rows[-1]["action"], "audit.exported")
        # Each CSV cell is the record's field.
        paths = {"log_index": "sicher.log_index", "timestamp": "@timestamp",
                 "event_id": "event.id", "action": "event.action", "outcome": "event.outcome",
                 "reason": "event.reason", "sequence": "event.sequence",
                 "account_id": "organization.id", "scope": "sicher.scope",
                 "actor_type": "sicher.actor.type", "actor_id": "sicher.actor.id",
                 "target_type": "sicher.target.type", "target_id": "sicher.target.id",
                 "source_ip": "source.ip", "user_agent": "user_agent.original",
                 "device_type": "sicher.device_type", "request_id": "http.request.id"}
        for row, rec in zip(rows, records):
            for col, path in paths.items():
                v = get_path(rec, path)
                want = "" if v is None else str(v)
                if want[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    want = "'" + want  # spreadsheet formula guard
                self.assertEqual(row[col], want, (col, rec))
            details = get_path(rec, "sicher.details")
            self.assertEqual(row["details"], "" if details is None else canonical(details))
        tricky = [r for r in rows if r["user_agent"] == TRICKY_UA]
        self.assertEqual(len(tricky), 1, [r["user_agent"] for r in rows])
        self.assertEqual(tricky[0]["action"], "document.list")
        self.assertIn('"%s"' % TRICKY_UA.replace('"', '""'), text)
        formula = [r for r in rows if r["user_agent"] == "'" + FORMULA_UA]
        self.assertEqual(len(formula), 1)
        self.assertTrue(any(get_path(r, "user_agent.original") == FORMULA_UA for r in records))
        self.assertTrue(any(get_path(r, "user_agent.original") == TRICKY_UA for r in records))

        # An export with nothing in it: the CSV header only, JSON Lines empty.
        r = self.export(tok, acc, "csv", to="2000-01-01T00:00:00Z")
        self.assertEqual(r.body.decode(), ",".join(CSV_COLUMNS) + "\r\n")
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        r = self.export(tok, acc, "jsonl", to="2000-01-01T00:00:00Z")
        self.assertEqual(r.body, b"")

    # ------------------------------------------------------------------ proofs

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sicher-audit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def check_note_signature(self, note, vkey):
        cp = parse_checkpoint(note)
        key = parse_verifier_key(vkey)
        self.assertEqual(cp["origin"], key["name"])
        self.assertEqual(len(cp["signatures"]), 1)
        name, key_id, sig = cp["signatures"][0]
        self.assertEqual(name, key["name"])
        self.assertEqual(key_id, key["key_id"])
        ok, out = openssl_ed25519_verify(key["public_key"], cp["body"], sig, self.tmp)
        self.assertTrue(ok, "openssl does not verify the checkpoint signature: " + out)
        return cp

    def test_proofs_end_to_end(self):
        w = self.world()
        acc = w.account
        tok = w.owner["token"]
        # Public: no session needed for the checkpoint and the key.
        note = self.wait_checkpoint()
        r = self.call("GET", "/v1/audit/key")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("text/plain"))
        vkey = r.body.decode().strip()
        key = parse_verifier_key(vkey)
        self.assertEqual(key["type"], b"\x01")
        self.assertEqual(len(key["public_key"]), 32)
        self.assertEqual(key["key_id"], sha256(key["name"].encode() + b"\n\x01" +
                                               key["public_key"])[:4])
        self.assertRegex(key["name"], r"^sicher-audit/[0-9a-f]{16}$")
        self.assertEqual(key["name"], "sicher-audit/" + sha256(key["public_key"])[:8].hex())
        self.check_note_signature(note, vkey)

        # An export with proofs: a checkpoint first, every line proven against it.
        r = self.export(tok, acc, "jsonl", proofs="true")
        lines = r.body.decode().splitlines()
        self.assertGreater(len(lines), 10)
        sizes = {json.loads(l)["tlog"]["tree_size"] for l in lines}
        self.assertEqual(len(sizes), 1, sizes)
        size = sizes.pop()
        r = self.call("GET", "/v1/audit/checkpoint?size=%d" % size)
        self.assertEqual(r.status, 200, r)
        cp_note = r.body.decode()
        cp = self.check_note_signature(cp_note, vkey)
        self.assertEqual(cp["size"], size)
        for line in lines:
            rec = json.loads(line)
            tlog = rec.pop("tlog")
            self.assertLess(rec["sicher"]["log_index"], size)
            proof = [base64.b64decode(h) for h in tlog["inclusion_proof"]]
            self.assertTrue(verify_inclusion(rec["sicher"]["log_index"], size,
                                             leaf_hash(canonical(rec).encode()), proof,
                                             cp["root"]), line)
        # The export's own audit.exported is committed before its checkpoint: the last line.
        last = json.loads(lines[-1])
        self.assertEqual(action_of(last), "audit.exported")
        self.assertEqual(get_path(last, "sicher.details"), {"format": "jsonl", "proofs": True})

        cp_file = self.write("checkpoint", cp_note)
        key_file = self.write("key", vkey + "\n")
        export_file = self.write("export.jsonl", "\n".join(lines) + "\n")
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export", export_file,
                           "--key", key_file)
        self.assertEqual(rc, 0, out)
        self.assertIn("everything checked out", out)
        self.assertIn("%d of %d lines proven" % (len(lines), len(lines)), out)
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export", export_file,
                           "--key", vkey)  # the key string itself works too
        self.assertEqual(rc, 0, out)

        # One modified line: named by event id and log index.
        recs = [json.loads(l) for l in lines]
        for field, value in (("source", {"ip": "203.0.113.66"}),
                             ("event.reason", "edited"),
                             ("@timestamp", "2020-01-01T00:00:00.000000Z")):
            with self.subTest(modified=field):
                k = next(i for i, rec in enumerate(recs)
                         if get_path(rec, "source.ip") and 0 < i < len(recs) - 1)
                rec = json.loads(lines[k])
                if field == "event.reason":
                    rec["event"]["reason"] = value
                else:
                    rec[field] = value
                bad = lines[:k] + [canonical(rec)] + lines[k + 1:]
                rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export",
                                   self.write("bad.jsonl", "\n".join(bad) + "\n"), "--key",
                                   key_file)
                self.assertEqual(rc, 1, out)
                self.assertIn(event_id(rec), out)
                self.assertIn("log index %d" % rec["sicher"]["log_index"], out)
                self.assertNotIn("everything checked out", out)
                self.assertEqual(out.count("FAIL line"), 1, out)

        # One deleted line: the sequence of its scope has a gap.
        acc_lines = [i for i, rec in enumerate(recs) if rec["sicher"]["scope"] == acc]
        k = acc_lines[len(acc_lines) // 2]
        gone = recs[k]
        bad = lines[:k] + lines[k + 1:]
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export",
                           self.write("gap.jsonl", "\n".join(bad) + "\n"), "--key", key_file)
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"jumps from sequence %d to %d" % (gone["event"]["sequence"] - 1,
                                                                 gone["event"]["sequence"] + 1))
        self.assertIn("missing", out)
        # Two lines swapped: out of order.
        bad = list(lines)
        bad[acc_lines[1]], bad[acc_lines[2]] = bad[acc_lines[2]], bad[acc_lines[1]]
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export",
                           self.write("swap.jsonl", "\n".join(bad) + "\n"), "--key", key_file)
        self.assertEqual(rc, 1, out)
        self.assertIn("out of order", out)
        # A line proven against a size no checkpoint was given for.
        rec = json.loads(lines[0])
        rec["tlog"]["tree_size"] = size + 1
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export",
                           self.write("size.jsonl", "\n".join([canonical(rec)] + lines[1:]) +
                                      "\n"), "--key", key_file)
        self.assertEqual(rc, 1, out)
        self.assertIn("no checkpoint of that size", out)

        # A forged checkpoint (another root, the old signature): the signature fails.
        forged = cp_note.split("\n")
        forged[2] = base64.b64encode(sha256(b"forged")).decode()
        rc, out = self.cli("audit", "verify", "--checkpoint", self.write("forged", "\n".join(
            forged)), "--export", export_file, "--key", key_file)
        self.assertEqual(rc, 1, out)
        self.assertIn("signature invalid", out)

        # GET /v1/audit/proof: a proof for one leaf, against the latest checkpoint or size M.
        pick = recs[len(recs) // 2]
        index = pick["sicher"]["log_index"]
        for params in ({"leaf": index}, {"leaf": index, "size": size}):
            r = self.call("GET", "/v1/audit/proof?" + urllib.parse.urlencode(params), token=tok)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertEqual(doc["log_index"], index)
            pcp = self.check_note_signature(doc["checkpoint"], vkey)
            self.assertEqual(pcp["size"], doc["tree_size"])
            if "size" in params:
                self.assertEqual(doc["tree_size"], size)
            rec = dict(pick)
            rec.pop("tlog")
            lh = leaf_hash(canonical(rec).encode())
            self.assertEqual(base64.b64decode(doc["leaf_hash"]), lh)
            proof = [base64.b64decode(h) for h in doc["inclusion_proof"]]
            self.assertTrue(verify_inclusion(index, doc["tree_size"], lh, proof, pcp["root"]))
            self.assertFalse(verify_inclusion(index, doc["tree_size"], sha256(b"x"), proof,
                                              pcp["root"]))
        self.assertProblem(self.call("GET", "/v1/audit/proof?leaf=%d" % index), 401)
        self.assertProblem(self.call("GET", "/v1/audit/proof?leaf=%d" % (10 ** 12), token=tok),
                           409)
        self.assertProblem(self.call("GET", "/v1/audit/proof?leaf=0&size=%d" % (10 ** 12),
                                     token=tok), 404)
        self.assertProblem(self.call("GET", "/v1/audit/checkpoint?size=%d" % (10 ** 12)), 404)

        # Two checkpoints, A (the export's) and a later B: consistent, proven offline.
        self.list_documents(tok, acc, 5)
        note_b = self.wait_checkpoint(size + 5)
        cp_b = self.check_note_signature(note_b, vkey)
        r = self.call("GET", "/v1/audit/consistency?from=%d&to=%d" % (size, cp_b["size"]),
                      token=tok)
        self.assertEqual(r.status, 200, r)
        cons = r.json()
        self.assertEqual((cons["from"], cons["to"]), (size, cp_b["size"]))
        cproof = [base64.b64decode(h) for h in cons["consistency_proof"]]
        self.assertTrue(verify_consistency(size, cp_b["size"], cproof, cp["root"], cp_b["root"]))
        self.assertFalse(verify_consistency(size, cp_b["size"], cproof, sha256(b"x"),
                                            cp_b["root"]))
        self.assertProblem(self.call("GET", "/v1/audit/consistency?from=1&to=2"), 401)
        self.assertProblem(self.call("GET", "/v1/audit/consistency?from=5&to=3", token=tok), 400)
        b_file = self.write("checkpoint-b", note_b)
        proof_file = self.write("consistency.json", r.body)
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--checkpoint", b_file,
                           "--consistency-proof", proof_file, "--key", key_file)
        self.assertEqual(rc, 0, out)
        self.assertIn("tree of size %d extends tree of size %d" % (cp_b["size"], size), out)
        self.assertIn("everything checked out", out)
        # With the export too (proven against A).
        rc, out = self.cli("audit", "verify", "--checkpoint", b_file, "--checkpoint", cp_file,
                           "--consistency-proof", proof_file, "--export", export_file, "--key",
                           key_file)
        self.assertEqual(rc, 0, out)
        # A wrong proof fails.
        wrong = dict(cons)
        wrong["consistency_proof"] = list(cons["consistency_proof"])
        wrong["consistency_proof"][0] = base64.b64encode(sha256(b"wrong")).decode()
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--checkpoint", b_file,
                           "--consistency-proof", self.write("wrong.json", json.dumps(wrong)),
                           "--key", key_file, "--export", export_file)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL consistency", out)

        # Another server's checkpoint, checked with this server's key: a signature error; and
        # this server's export against the other's checkpoint and key fails as well.
        other = self.start_server(extra_config=AUDIT_CONFIG)
        r = api(other.addr(), "POST", "/v1/signup",
                {"email": unique_email("other"), "password": PASSWORD, "name": "o",
                 "account_name": "o"})
        self.assertEqual(r.status, 201, r)

        def other_checkpoint():
            r = api(other.addr(), "GET", "/v1/audit/checkpoint")
            return r.body.decode() if r.status == 200 else None
        other_note = wait_for(other_checkpoint, 15 * SLOW, interval=0.2)
        self.assertTrue(other_note)
        other_key = api(other.addr(), "GET", "/v1/audit/key").body.decode().strip()
        self.assertNotEqual(other_key, vkey)
        self.assertNotEqual(parse_checkpoint(other_note)["origin"], cp["origin"])
        other_file = self.write("other-checkpoint", other_note)
        rc, out = self.cli("audit", "verify", "--checkpoint", other_file, "--export", export_file,
                           "--key", key_file)
        self.assertEqual(rc, 1, out)
        self.assertIn("signature", out)
        self.assertIn("FAIL checkpoint", out)
        rc, out = self.cli("audit", "verify", "--checkpoint", cp_file, "--export", export_file,
                           "--key", other_key)
        self.assertEqual(rc, 1, out)
        self.assertIn("signature", out)

    # ------------------------------------------------------------------ same transaction

    def test_refused_change_leaves_no_event_successful_one_exactly_one(self):
        owner, member = self.signup("txowner"), self.signup("txmember")
        self.login(owner)
        self.login(member)
        acc = owner["account_id"]
        self.invite_accept(owner, acc, member)

        def count(action):
            return len(self.all_items(owner["token"], acc, action=action))

        def stored(action):
            db = sqlite3.connect("file:%s?mode=ro" % self.srv.path("sicher.db"), uri=True,
                                 timeout=10)
            try:
                return db.execute("SELECT COUNT(*) FROM audit_events WHERE scope = ? AND "
                                  "action = ?", (acc, action)).fetchone()[0]
            finally:
                db.close()

        self.assertEqual(count("member.invited"), 1)
        self.assertEqual(count("member.role_changed"), 0)
        refused = [
            # a member may not change roles (refused before the transaction)
            ("PATCH", "/v1/accounts/%s/members/%s" % (acc, member["user_id"]),
             {"role": "admin"}, member["token"], 403, "member.role_changed"),
            ("PATCH", "/v1/accounts/%s/members/%s" % (acc, owner["user_id"]),
             {"role": "member"}, member["token"], 403, "member.role_changed"),
            # the owner's role changes only by transfer (refused inside the transaction)
            ("PATCH", "/v1/accounts/%s/members/%s" % (acc, owner["user_id"]),
             {"role": "admin"}, owner["token"], 409, "member.role_changed"),
            # not a member
            ("PATCH", "/v1/accounts/%s/members/usr_nosuchuser000000000000000" % acc,
             {"role": "admin"}, owner["token"], 404, "member.role_changed"),
            # an existing member cannot be invited (refused inside the transaction)
            ("POST", "/v1/accounts/%s/members" % acc, {"email": member["email"], "role": "admin"},
             owner["token"], 409, "member.invited"),
            ("POST", "/v1/accounts/%s/members" % acc, {"email": unique_email("x")},
             member["token"], 403, "member.invited"),
        ]
        for method, path, body, token, status, action in refused:
            with self.subTest(path=path, status=status):
                before = count(action)
                self.assertProblem(self.call(method, path, body, token=token), status)
                self.assertEqual(count(action), before)
        self.assertEqual(stored("member.role_changed"), 0)
        self.assertEqual(stored("member.invited"), 1)

        r = self.call("PATCH", "/v1/accounts/%s/members/%s" % (acc, member["user_id"]),
                      {"role": "admin"}, token=owner["token"])
        self.assertEqual(r.status, 204, r)
        changed = self.all_items(owner["token"], acc, action="member.role_changed")
        self.assertEqual(len(changed), 1)
        self.assertEqual(get_path(changed[0], "sicher.target.id"), member["user_id"])
        self.assertEqual(get_path(changed[0], "sicher.details"),
                         {"changes": {"role": {"from": "member", "to": "admin"}}})
        self.assertEqual(get_path(changed[0], "http.request.id"), r.header("x-request-id"))
        self.assertEqual(stored("member.role_changed"), 1)
        roles = {m["user_id"]: m["role"] for m in self.call(
            "GET", "/v1/accounts/%s/members" % acc, token=owner["token"]).json()["items"]}
        self.assertEqual(roles[member["user_id"]], "admin")
        # The new admin may not change roles either: still exactly one.
        self.assertProblem(self.call("PATCH", "/v1/accounts/%s/members/%s" % (
            acc, owner["user_id"]), {"role": "member"}, token=member["token"]), 403)
        self.assertEqual(count("member.role_changed"), 1)
        self.assertEqual(stored("member.role_changed"), 1)


class AuditStoreTamperTest(AuditMixin, ServerTestCase):
    """`sicher audit verify --checkpoint F --data DIR` on a stopped server's data directory."""

    def test_tampered_database_is_detected(self):
        self.srv = self.start_server(server_config=SERVER_CONFIG, extra_config=AUDIT_CONFIG)
        owner, member = self.signup("tamper"), self.signup("tampermember")
        self.login(owner)
        self.login(member)
        acc = owner["account_id"]
        self.invite_accept(owner, acc, member)
        self.upload(owner["token"], acc, b"tamper me", "x")
        self.list_documents(owner["token"], acc, 10)
        records = self.export_jsonl(owner["token"], acc)
        by_index = {r["sicher"]["log_index"]: r for r in records}
        # Wait for a checkpoint of everything (the checkpointer runs every second).
        top = max(by_index)
        note = self.wait_checkpoint(top + 1)
        self.srv.stop()
        size = parse_checkpoint(note)["size"]
        db = sqlite3.connect(self.srv.path("sicher.db"))
        try:
            self.assertEqual(db.execute("SELECT size FROM audit_tree").fetchone()[0], size,
                             "the checkpoint does not cover the whole log")
        finally:
            db.close()
        work = tempfile.mkdtemp(prefix="sicher-tamper-")
        self.addCleanup(shutil.rmtree, work, True)
        cp_file = os.path.join(work, "checkpoint")
        with open(cp_file, "w") as f:
            f.write(note)

        def verify(data_dir):
            return self.cli("audit", "verify", "--checkpoint", cp_file, "--data", data_dir)

        def tampered(name, sql_steps):
            """A copy of the data directory with `sql_steps` applied to its database, after
            dropping the append-only triggers (as anyone who can write the file can)."""
            d = os.path.join(work, name)
            shutil.copytree(self.srv.data_dir, d)
            conn = sqlite3.connect(os.path.join(d, "sicher.db"))
            try:
                triggers = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE "
                    "'audit%'")]
                for t in triggers:
                    conn.execute('DROP TRIGGER "%s"' % t)
                for sql, args in sql_steps:
                    cur = conn.execute(sql, args)
                    self.assertGreaterEqual(cur.rowcount, 1, sql)
                conn.commit()
            finally:
                conn.close()
            return d

        def payload(index):
            conn = sqlite3.connect("file:%s?mode=ro" % self.srv.path("sicher.db"), uri=True)
            try:
                return conn.execute("SELECT payload, leaf_hash FROM audit_events WHERE "
                                    "log_index = ?", (index,)).fetchone()
            finally:
                conn.close()

        rc, out = verify(self.srv.data_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("everything checked out", out)
        self.assertIn("%d checked against size %d" % (size, size), out)
        # The database itself refuses rewrites and deletes while its triggers are in place.
        probe = os.path.join(work, "probe")
        shutil.copytree(self.srv.data_dir, probe)
        conn = sqlite3.connect(os.path.join(probe, "sicher.db"))
        try:
            for sql in ("UPDATE audit_events SET payload = x'00' WHERE log_index = 1",
                        "UPDATE audit_events SET log_index = -1 WHERE log_index = 1",
                        "DELETE FROM audit_events WHERE log_index = 1"):
                with self.subTest(sql=sql):
                    with self.assertRaises(sqlite3.IntegrityError):
                        conn.execute(sql)
        finally:
            conn.close()

        upload = next(r for r in records if action_of(r) == "document.upload")
        k = upload["sicher"]["log_index"]
        blob, leaf = payload(k)
        flipped = bytearray(blob)
        flipped[len(flipped) // 2] ^= 0x01

        # (a) one payload byte flipped: named by log index.
        d = tampered("flip", [("UPDATE audit_events SET payload = ? WHERE log_index = ?",
                               (bytes(flipped), k))])
        rc, out = verify(d)
        self.assertEqual(rc, 1, out)
        self.assertIn("event at log index %d: payload does not open" % k, out)
        self.assertEqual(out.count("FAIL event"), 1, out)
        self.assertNotIn("do not rebuild", out)  # the leaves are intact: the root holds
        # ... restored: clean again.
        conn = sqlite3.connect(os.path.join(d, "sicher.db"))
        conn.execute("UPDATE audit_events SET payload = ? WHERE log_index = ?", (blob, k))
        conn.commit()
        conn.close()
        rc, out = verify(d)
        self.assertEqual(rc, 0, out)
        self.assertIn("everything checked out", out)

        # (a') a leaf hash changed: that event (by id) and the root.
        d = tampered("leaf", [("UPDATE audit_events SET leaf_hash = ? WHERE log_index = ?",
                               (sha256(b"other"), k))])
        rc, out = verify(d)
        self.assertEqual(rc, 1, out)
        self.assertIn("event %s at log index %d: record does not match its leaf hash" %
                      (event_id(upload), k), out)
        self.assertIn("do not rebuild the checkpoint's root", out)

        # (b) two rows' log indexes swapped: both named.
        i, j = sorted(r["sicher"]["log_index"] for r in records
                      if action_of(r) == "document.list")[2:4]
        d = tampered("swap", [
            ("UPDATE audit_events SET log_index = -1 WHERE log_index = ?", (i,)),
            ("UPDATE audit_events SET log_index = ? WHERE log_index = ?", (i, j)),
            ("UPDATE audit_events SET log_index = ? WHERE log_index = -1", (j,))])
        rc, out = verify(d)
        self.assertEqual(rc, 1, out)
        self.assertIn("event at log index %d: payload does not open" % i, out)
        self.assertIn("event at log index %d: payload does not open" % j, out)
        self.assertIn("do not rebuild the checkpoint's root", out)

        # (c) a row deleted: "is missing", and the root no longer rebuilds.
        d = tampered("delete", [("DELETE FROM audit_events WHERE log_index = ?", (k,))])
        rc, out = verify(d)
        self.assertEqual(rc, 1, out)
        self.assertIn("event at log index %d is missing" % k, out)
        self.assertIn("do not rebuild the checkpoint's root", out)
        # ... the newest one too (a truncated tail).
        d = tampered("tail", [("DELETE FROM audit_events WHERE log_index = ?", (size - 1,))])
        rc, out = verify(d)
        self.assertEqual(rc, 1, out)
        self.assertIn("event at log index %d is missing" % (size - 1), out)

        # The original, untouched, still checks out.
        rc, out = verify(self.srv.data_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("everything checked out", out)


if __name__ == "__main__":
    unittest.main()
