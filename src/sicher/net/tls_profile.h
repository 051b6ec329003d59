#pragma once
// TLS profiles as data: the Mozilla Server Side TLS guideline (data/tls/, embedded into the
// library at build time) turned into settings for an OpenSSL server context.
//
// A profile is what the guideline says plus what the linked OpenSSL can actually offer:
// LoadTlsProfile probes every protocol version, cipher, TLS 1.3 suite and group against the
// linked library and lists what it cannot offer in `unsupported` (for example
// "group:X25519MLKEM768" on OpenSSL 3.0, which needs 3.5). The server offers the rest, logs
// the gaps at start and exposes them (metric sicher_tls_profile_gap{item=...} and
// Server::TlsProfileGaps()), so the self-audit can report them.
//
// Pure functions; thread-safe. No OpenSSL header is included here (the context is passed as
// the opaque `ssl_ctx_st*`, OpenSSL's SSL_CTX).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace sicher::net {

struct TlsProfile {
  // What the guideline says (field names follow its JSON).
  std::string name;                            // "modern" | "intermediate" | "old"
  std::string guideline_version;               // "6.0"
  std::string guideline_url;                   // where the guideline JSON is published
  std::vector<std::string> tls_versions;       // "TLSv1.2", "TLSv1.3"
  std::vector<std::string> ciphers;            // TLS <= 1.2 suites, OpenSSL names, in order
  std::vector<std::string> ciphersuites;       // TLS 1.3 suites, in order
  std::vector<std::string> groups;             // key-exchange groups ("tls_curves"), in order
  std::vector<std::string> certificate_types;  // "ecdsa", "rsa"
  std::vector<std::string> certificate_curves;
  std::vector<std::string> certificate_signatures;
  std::vector<std::string> oldest_clients;
  bool server_preferred_order = false;
  int64_t hsts_max_age_seconds = 0;  // "hsts_min_age"
  int maximum_certificate_lifespan_days = 0;
  int recommended_certificate_lifespan_days = 0;
  bool ocsp_staple = false;

  // What the linked OpenSSL offers of the above, in the guideline's order.
  std::vector<std::string> offered_ciphers;
  std::vector<std::string> offered_ciphersuites;
  std::vector<std::string> offered_groups;
  // Every item the guideline names that sicher cannot offer, as "kind:name": "group:...",
  // "cipher:...", "ciphersuite:...", "protocol:...", and "feature:ocsp_staple" (sicher does
  // not staple OCSP; see docs). Empty when nothing is missing.
  std::vector<std::string> unsupported;

  // The Strict-Transport-Security value: "max-age=63072000".
  std::string HstsHeaderValue() const;
};

// The profile names the embedded guideline defines, in the guideline's order.
std::vector<std::string> TlsProfileNames();

// Loads profile `name` from the embedded guideline and probes the linked OpenSSL.
// Returns NotFound for an unknown name, DataLoss if the embedded data is malformed (a build
// bug) and FailedPrecondition if OpenSSL can offer none of a required list (no protocol, or
// no cipher for a TLS 1.2 profile, or no group).
Result<TlsProfile> LoadTlsProfile(std::string_view name);

// The embedded guideline JSON, verbatim (for the self-audit to compare with the live file).
std::string_view EmbeddedTlsGuidelineJson();

// Applies the profile's protocol settings to a server context: min/max protocol version, the
// offered TLS 1.2 cipher list ("@SECLEVEL=0" prepended when the profile allows TLS 1.0/1.1,
// which Debian's OpenSSL otherwise refuses), the TLS 1.3 suites, the offered groups, server
// cipher preference exactly as the profile says, and always: no renegotiation, no compression.
// Returns Internal if OpenSSL rejects a setting it accepted while probing.
Status ApplyTlsProfile(const TlsProfile& profile, ssl_ctx_st* ctx);

}  // namespace sicher::net
