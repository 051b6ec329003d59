#pragma once
// Self-signed TLS certificates for the embedded default: the first `sicher serve` creates one
// so that the service speaks HTTPS from the first second. Production deployments point
// server.cert_file / server.key_file at a CA-issued pair instead.

#include <string>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/status.h"

namespace sicher::crypto {

struct CertificatePair {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: store it 0600
};

struct SelfSignedOptions {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  // Mozilla's guideline recommends 90 days for every profile.
  int lifetime_days = 90;
};

// Generates an ECDSA P-256 key and a self-signed X.509 v3 certificate (serverAuth, SANs as
// given, random 128-bit serial) valid from `now` - 1 hour. Thread-safe.
Result<CertificatePair> GenerateSelfSigned(const SelfSignedOptions& options, Time now);

struct CertificateInfo {
  std::string subject;
  std::string serial_hex;
  std::string sha256_fingerprint;  // hex of the DER
  Time not_before{};
  Time not_after{};
};

// Parses the first certificate of a PEM chain. InvalidArgument on malformed input.
Result<CertificateInfo> InspectCertificate(const std::string& cert_pem);

// True when `key_pem` is the private key of the first certificate in `cert_pem`.
bool KeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem);

}  // namespace sicher::crypto
