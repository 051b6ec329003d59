#pragma once
// The data directory of the embedded tier and its first-start set-up.
//
//   DIR/            0700
//     sicher.db     SQLite database (+ -wal, -shm), 0600
//     tls/cert.pem  self-signed certificate, 0644 (only when server.cert_file is empty)
//     tls/key.pem   its private key, 0600
//     logs/         JSON Lines logs per category, 0750
//
// The first start creates what is missing; later starts reuse it. A self-signed certificate
// that expires within kRenewBefore is replaced at start (the server's reload picks it up).

#include <string>

#include "sicher/base/env.h"
#include "sicher/base/status.h"

namespace sicher::app {

inline constexpr auto kRenewBefore = std::chrono::hours(24 * 30);

struct DataDir {
  std::string root;
  std::string DatabasePath() const { return JoinPath(root, "sicher.db"); }
  std::string TlsDir() const { return JoinPath(root, "tls"); }
  std::string LogDir() const { return JoinPath(root, "logs"); }
  std::string DefaultCertFile() const { return JoinPath(TlsDir(), "cert.pem"); }
  std::string DefaultKeyFile() const { return JoinPath(TlsDir(), "key.pem"); }
};

// Creates DIR, DIR/tls and DIR/logs with their modes; tightens DIR to 0700 if it is looser.
Result<DataDir> PrepareDataDir(Env& env, const std::string& root);

struct CertificateSetup {
  bool created = false;  // a new self-signed pair was written
  std::string fingerprint;
};

// Ensures the default self-signed pair exists and is not about to expire. Does nothing to a
// configured (CA-issued) pair: call only when server.cert_file is empty.
Result<CertificateSetup> EnsureSelfSignedCertificate(Env& env, const DataDir& dir);

}  // namespace sicher::app
