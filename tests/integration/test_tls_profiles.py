"""TLS profiles against Mozilla Server Side TLS 6.0: what each profile accepts and refuses.

The server's certificate is ECDSA P-256, so only the ECDSA suites of each list can be
negotiated; the RSA ones are configured but unreachable. Python's ssl cannot choose TLS 1.3
suites or key-exchange groups, so those cases use `openssl s_client`.
"""

import ssl
import subprocess
import time
import unittest

from sicher_harness import (OPENSSL_BIN, TLS12_INTERMEDIATE, TLS13_SUITES, SharedServerTestCase,
                            client_context, get, handshake, openssl_client)

V = ssl.TLSVersion


def only(version):
    return {"min_version": version, "max_version": version}


class TlsAssertions:
    def assertAccepts(self, what, listener="public", **kw):
        ok, version, cipher, _, err = handshake(self.srv.addr(listener), **kw)
        self.assertTrue(ok, "%s should be accepted, handshake failed: %s" % (what, err))
        return version, cipher

    def assertRefuses(self, what, listener="public", **kw):
        ok, version, cipher, _, _ = handshake(self.srv.addr(listener), **kw)
        self.assertFalse(ok, "%s should be refused, but negotiated %s %s" %
                         (what, version, cipher))

    def assertOpensslAccepts(self, args, expect=None):
        ok, out = openssl_client(self.srv.addr(), args)
        self.assertTrue(ok, "openssl s_client %s should succeed:\n%s" % (" ".join(args), out))
        if expect:
            self.assertIn(expect, out)

    def assertOpensslRefuses(self, args):
        ok, out = openssl_client(self.srv.addr(), args)
        self.assertFalse(ok, "openssl s_client %s should fail:\n%s" % (" ".join(args), out))

    def assertServes(self, **kw):
        r = get(self.srv.addr(), "/livez", ctx=client_context(**kw))
        self.assertEqual(r.status, 200)

    def check_tls13(self):
        v, _ = self.assertAccepts("TLS 1.3", **only(V.TLSv1_3))
        self.assertEqual(v, "TLSv1.3")
        self.assertServes(**only(V.TLSv1_3))
        for suite in TLS13_SUITES:
            self.assertOpensslAccepts(["-tls1_3", "-ciphersuites", suite],
                                      expect="Ciphersuite: " + suite)
        # Not in the guideline: CCM suites.
        self.assertOpensslRefuses(["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"])

    def check_groups(self):
        # TLS 1.3 key exchange groups. (Over TLS 1.2 the client's group list also limits
        # the ECDSA certificate's curve, so a P-256 certificate needs P-256 offered.)
        for group in ("X25519", "P-256", "P-384"):
            self.assertOpensslAccepts(["-tls1_3", "-groups", group])
        # Not in the guideline.
        self.assertOpensslRefuses(["-tls1_3", "-groups", "P-521"])
        self.assertOpensslRefuses(["-tls1_3", "-groups", "ffdhe2048"])

    def check_alpn(self):
        _, _, _, alpn, _ = handshake(self.srv.addr(), alpn=["h2", "http/1.1"])
        self.assertEqual(alpn, "http/1.1", "ALPN must select http/1.1 when h2 is offered")
        ok, _, _, alpn, _ = handshake(self.srv.addr(), alpn=["h2"])
        self.assertNotEqual(alpn, "h2", "h2 must never be selected")


class IntermediateProfileTest(SharedServerTestCase, TlsAssertions):
    server_kwargs = {"profile": "intermediate"}

    def test_tls13_and_its_suites(self):
        self.check_tls13()

    def test_tls12_aead_suites_accepted(self):
        for suite in TLS12_INTERMEDIATE:
            _, cipher = self.assertAccepts("TLS 1.2 " + suite, ciphers=suite, **only(V.TLSv1_2))
            self.assertEqual(cipher, suite)
        self.assertServes(ciphers="ECDHE-ECDSA-AES128-GCM-SHA256", **only(V.TLSv1_2))

    def test_tls12_cbc_suites_refused(self):
        for suite in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
                      "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA"):
            self.assertRefuses("TLS 1.2 CBC " + suite, ciphers=suite, **only(V.TLSv1_2))

    def test_tls10_and_tls11_refused(self):
        self.assertRefuses("TLS 1.1", ciphers="ECDHE-ECDSA-AES128-SHA", **only(V.TLSv1_1))
        self.assertRefuses("TLS 1.0", ciphers="ECDHE-ECDSA-AES128-SHA", **only(V.TLSv1))

    def test_groups(self):
        self.check_groups()
        self.assertOpensslAccepts(["-tls1_2", "-groups", "P-256"])

    def test_client_cipher_order_respected(self):
        # server_preferred_order is false in intermediate: the client's first choice wins.
        _, cipher = self.assertAccepts(
            "client order", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
            **only(V.TLSv1_2))
        self.assertEqual(cipher, "ECDHE-ECDSA-CHACHA20-POLY1305")

    def test_alpn_http11_only(self):
        self.check_alpn()

    def test_operator_listener_same_profile(self):
        self.assertAccepts("operator TLS 1.3", listener="operator", **only(V.TLSv1_3))
        self.assertRefuses("operator TLS 1.1", listener="operator",
                           ciphers="ECDHE-ECDSA-AES128-SHA", **only(V.TLSv1_1))
        self.assertRefuses("operator CBC", listener="operator",
                           ciphers="ECDHE-ECDSA-AES128-SHA256", **only(V.TLSv1_2))

    def test_client_renegotiation_refused(self):
        # Renegotiation is off: "R" in s_client starts a TLS 1.2 renegotiation, which must
        # not complete a second handshake (the verify callback's "depth=0" line would
        # appear again after "RENEGOTIATING").
        p = subprocess.Popen([OPENSSL_BIN, "s_client", "-connect", "%s:%d" % self.srv.addr(),
                              "-tls1_2", "-servername", "localhost"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            p.stdin.write("R\n")
            p.stdin.flush()
            time.sleep(1.0)
            out = p.communicate(timeout=10)[0]  # closes stdin: s_client quits
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertIn("RENEGOTIATING", out, out)
        after = out.split("RENEGOTIATING", 1)[1]
        self.assertNotIn("depth=0", after, "renegotiation completed:\n" + out)


class ModernProfileTest(SharedServerTestCase, TlsAssertions):
    server_kwargs = {"profile": "modern"}

    def test_tls13_and_its_suites(self):
        self.check_tls13()

    def test_tls12_refused(self):
        for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
            self.assertRefuses("TLS 1.2 " + suite, ciphers=suite, **only(V.TLSv1_2))
        self.assertRefuses("TLS 1.1", **only(V.TLSv1_1))

    def test_groups(self):
        self.check_groups()

    def test_alpn_http11_only(self):
        self.check_alpn()


class OldProfileTest(SharedServerTestCase, TlsAssertions):
    server_kwargs = {"profile": "old"}

    def test_tls10_with_cbc_suite(self):
        v, cipher = self.assertAccepts("TLS 1.0 ECDHE-ECDSA-AES128-SHA",
                                       ciphers="ECDHE-ECDSA-AES128-SHA", **only(V.TLSv1))
        self.assertEqual((v, cipher), ("TLSv1", "ECDHE-ECDSA-AES128-SHA"))
        self.assertServes(ciphers="ECDHE-ECDSA-AES128-SHA", **only(V.TLSv1))

    def test_tls11(self):
        v, _ = self.assertAccepts("TLS 1.1", ciphers="ECDHE-ECDSA-AES256-SHA", **only(V.TLSv1_1))
        self.assertEqual(v, "TLSv1.1")

    def test_tls12_cbc_and_aead(self):
        for suite in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
                      "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
            _, cipher = self.assertAccepts("TLS 1.2 " + suite, ciphers=suite, **only(V.TLSv1_2))
            self.assertEqual(cipher, suite)

    def test_tls13(self):
        self.check_tls13()

    def test_weak_suites_refused(self):
        # Not in any profile: RC4, NULL, export, anonymous, non-forward-secret ECDSA is n/a.
        for suite in ("aNULL", "eNULL", "RC4", "ECDHE-ECDSA-NULL-SHA"):
            self.assertRefuses("TLS 1.2 " + suite, ciphers=suite + ":@SECLEVEL=0",
                               **only(V.TLSv1_2))

    def test_server_cipher_preference(self):
        # server_preferred_order is true in old: the client lists CBC first, the server
        # picks its own first choice, an AEAD suite.
        _, cipher = self.assertAccepts(
            "server order", ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256",
            **only(V.TLSv1_2))
        self.assertEqual(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256")

    def test_alpn_http11_only(self):
        self.check_alpn()


if __name__ == "__main__":
    unittest.main()
