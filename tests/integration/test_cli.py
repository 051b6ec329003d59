"""The command line: --help, `config defaults`, `config check`, env overrides, bad config."""

import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from sicher_harness import (SICHER_BIN, SLOW, READY_LINE, ServerTestCase, handshake,
                            require_binary, run_cli, write_config)

ALL_KEYS = [
    "server.public_listen", "server.operator_listen", "server.redirect_listen",
    "server.tls_profile", "server.trusted_proxies", "server.cert_file", "server.key_file",
    "server.max_header_bytes", "server.read_timeout", "server.idle_timeout",
    "server.handshake_timeout", "server.max_connections", "server.shutdown_grace",
    "server.io_threads", "server.worker_threads", "server.cert_check_interval",
]


class CliTest(unittest.TestCase):
    def setUp(self):
        require_binary()
        self.tmp = tempfile.mkdtemp(prefix="sicher-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def cfg(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_help(self):
        p = run_cli(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("serve", "config"):
            self.assertIn(word, p.stdout)
        p = run_cli(["serve", "--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--data", p.stdout)
        self.assertIn("--config", p.stdout)
        p = run_cli(["config", "--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("check", p.stdout)
        self.assertIn("defaults", p.stdout)

    def test_unknown_command_fails(self):
        p = run_cli(["no-such-command"])
        self.assertNotEqual(p.returncode, 0)

    def test_config_defaults_lists_every_key(self):
        p = run_cli(["config", "defaults"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for key in ALL_KEYS:
            short = key.split(".", 1)[1]
            self.assertTrue(key in p.stdout or short in p.stdout,
                            "%s missing from `config defaults`" % key)
        for default in ("0.0.0.0:8443", "127.0.0.1:9443", "intermediate"):
            self.assertIn(default, p.stdout)

    def test_config_check_good(self):
        path = self.cfg("good.toml", """
[server]
public_listen = "127.0.0.1:8443"
operator_listen = "127.0.0.1:9443"
tls_profile = "modern"
read_timeout = "10s"
max_header_bytes = "16KiB"
trusted_proxies = []
""")
        p = run_cli(["config", "check", path])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_config_check_empty_file_is_good(self):
        p = run_cli(["config", "check", self.cfg("empty.toml", "")])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def assertBadConfig(self, text, key):
        path = self.cfg("bad.toml", text)
        p = run_cli(["config", "check", path])
        self.assertNotEqual(p.returncode, 0, "accepted bad config:\n%s" % text)
        err = (p.stderr.strip() or p.stdout.strip())
        self.assertIn(key, err, "error does not name %s: %r" % (key, err))
        self.assertEqual(len(err.splitlines()), 1, "error is not one line: %r" % err)
        self.assertNotIn("Traceback", err)

    def test_config_check_unknown_key(self):
        self.assertBadConfig('[server]\nno_such_key = 1\n', "server.no_such_key")

    def test_config_check_unknown_table(self):
        self.assertBadConfig('[nosuch]\nthing = 1\n', "nosuch")

    def test_config_check_bad_profile(self):
        self.assertBadConfig('[server]\ntls_profile = "ancient"\n', "server.tls_profile")

    def test_config_check_bad_duration(self):
        self.assertBadConfig('[server]\nread_timeout = "ten parsecs"\n', "server.read_timeout")

    def test_config_check_bad_size(self):
        self.assertBadConfig('[server]\nmax_header_bytes = "lots"\n', "server.max_header_bytes")

    def test_config_check_bad_listen(self):
        self.assertBadConfig('[server]\npublic_listen = "not an address"\n',
                             "server.public_listen")

    def test_config_check_wrong_type(self):
        self.assertBadConfig('[server]\nmax_connections = "many"\n', "server.max_connections")

    def test_config_check_syntax_error(self):
        path = self.cfg("syntax.toml", "[server\npublic_listen = \n")
        p = run_cli(["config", "check", path])
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip() or p.stdout.strip())

    def test_config_check_missing_file(self):
        p = run_cli(["config", "check", os.path.join(self.tmp, "absent.toml")])
        self.assertNotEqual(p.returncode, 0)


class ServeConfigTest(ServerTestCase):
    def test_serve_refuses_bad_config(self):
        require_binary()
        tmp = tempfile.mkdtemp(prefix="sicher-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = write_config(os.path.join(tmp, "bad.toml"), {"public_listen": "127.0.0.1:0",
                                                           "bogus_key": 1})
        p = subprocess.run([SICHER_BIN, "serve", "--data", os.path.join(tmp, "d"), "--config",
                            cfg], capture_output=True, text=True, timeout=30 * SLOW)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn(READY_LINE, p.stdout)
        self.assertIn("server.bogus_key", p.stderr + p.stdout)

    def test_env_overrides_file(self):
        srv = self.start_server(profile="intermediate",
                                env={"SICHER_SERVER_TLS_PROFILE": "modern"})
        ok, version, *_ = handshake(srv.addr(), min_version=ssl.TLSVersion.TLSv1_2,
                                    max_version=ssl.TLSVersion.TLSv1_2)
        self.assertFalse(ok, "SICHER_SERVER_TLS_PROFILE=modern ignored: TLS 1.2 accepted")
        srv.stop()

    def test_env_bad_value_names_key(self):
        tmp = tempfile.mkdtemp(prefix="sicher-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        p = subprocess.run([SICHER_BIN, "serve", "--data", os.path.join(tmp, "d")],
                           capture_output=True, text=True, timeout=30 * SLOW,
                           env=dict(os.environ, SICHER_SERVER_TLS_PROFILE="bogus"))
        self.assertNotEqual(p.returncode, 0, "bad environment override accepted")
        self.assertNotIn(READY_LINE, p.stdout)
        out = p.stderr + p.stdout
        self.assertTrue("server.tls_profile" in out or "SICHER_SERVER_TLS_PROFILE" in out, out)

    def test_sicher_data_env(self):
        tmp = tempfile.mkdtemp(prefix="sicher-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data = os.path.join(tmp, "from-env")
        srv = self.start_server(pass_data=False, env={"SICHER_DATA": data})
        self.assertTrue(os.path.isfile(os.path.join(data, "tls", "cert.pem")))
        srv.stop()


if __name__ == "__main__":
    unittest.main()
