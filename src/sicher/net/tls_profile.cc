#include "sicher/net/tls_profile.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

namespace sicher::net {
namespace internal {
// Generated at build time from data/tls/*.json (see CMakeLists.txt).
extern const char kTlsGuidelineJson[];
extern const size_t kTlsGuidelineJsonSize;
}  // namespace internal

namespace {

using Json = nlohmann::json;
using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

CtxPtr NewProbeContext() { return CtxPtr(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free); }

int ProtocolVersion(std::string_view name) {
  if (name == "TLSv1") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

bool AllowsLegacyProtocols(const TlsProfile& p) {
  for (const auto& v : p.tls_versions) {
    const int n = ProtocolVersion(v);
    if (n != 0 && n < TLS1_2_VERSION) return true;
  }
  return false;
}

// Debian's OpenSSL 3.0 runs at security level 2, which refuses TLS 1.0/1.1 (SHA-1 signatures)
// and several of the old profile's suites; the old profile needs level 0 to mean what it says.
std::string CipherListPrefix(const TlsProfile& p) {
  return AllowsLegacyProtocols(p) ? "@SECLEVEL=0:" : "";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ':';
    out += s;
  }
  return out;
}

// True if the context accepted the single cipher and actually enabled it.
bool CipherOffered(const std::string& prefix, const std::string& cipher) {
  CtxPtr ctx = NewProbeContext();
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), (prefix + cipher).c_str()) != 1) return false;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    if (SSL_CIPHER_get_version(c) != std::string_view("TLSv1.3") &&
        cipher == SSL_CIPHER_get_name(c)) {
      return true;
    }
  }
  return false;
}

bool CiphersuiteOffered(const std::string& suite) {
  CtxPtr ctx = NewProbeContext();
  return ctx && SSL_CTX_set_ciphersuites(ctx.get(), suite.c_str()) == 1;
}

bool GroupOffered(const std::string& group) {
  CtxPtr ctx = NewProbeContext();
  const bool ok = ctx && SSL_CTX_set1_groups_list(ctx.get(), group.c_str()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::vector<std::string>> StringList(const Json& j, const char* key) {
  std::vector<std::string> out;
  const Json* node = &j;
  if (!j.contains(key)) return DataLossError(fmt::format("tls guideline: missing {}", key));
  node = &j.at(key);
  if (!node->is_array()) return DataLossError(fmt::format("tls guideline: {} not a list", key));
  for (const auto& item : *node) {
    if (!item.is_string()) return DataLossError(fmt::format("tls guideline: {} item", key));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<TlsProfile> ParseProfile(const Json& root, std::string_view name) {
  TlsProfile p;
  p.name = std::string(name);
  if (root.contains("version") && root["version"].is_number()) {
    p.guideline_version = fmt::format("{:.1f}", root["version"].get<double>());
  } else {
    return DataLossError("tls guideline: missing version");
  }
  p.guideline_url = root.value("href", "");
  const Json& c = root["configurations"][std::string(name)];
  ASSIGN_OR_RETURN(p.tls_versions, StringList(c, "tls_versions"));
  if (!c.contains("ciphers")) return DataLossError("tls guideline: missing ciphers");
  ASSIGN_OR_RETURN(p.ciphers, StringList(c["ciphers"], "openssl"));
  ASSIGN_OR_RETURN(p.ciphersuites, StringList(c, "ciphersuites"));
  ASSIGN_OR_RETURN(p.groups, StringList(c, "tls_curves"));
  ASSIGN_OR_RETURN(p.certificate_types, StringList(c, "certificate_types"));
  ASSIGN_OR_RETURN(p.certificate_curves, StringList(c, "certificate_curves"));
  ASSIGN_OR_RETURN(p.certificate_signatures, StringList(c, "certificate_signatures"));
  ASSIGN_OR_RETURN(p.oldest_clients, StringList(c, "oldest_clients"));
  const auto boolean = [&](const char* key) {
    return c.contains(key) && c[key].is_boolean() && c[key].get<bool>();
  };
  const auto integer = [&](const char* key) -> int64_t {
    return c.contains(key) && c[key].is_number_integer() ? c[key].get<int64_t>() : 0;
  };
  p.server_preferred_order = boolean("server_preferred_order");
  p.ocsp_staple = boolean("ocsp_staple");
  p.hsts_max_age_seconds = integer("hsts_min_age");
  p.maximum_certificate_lifespan_days = static_cast<int>(integer("maximum_certificate_lifespan"));
  p.recommended_certificate_lifespan_days =
      static_cast<int>(integer("recommended_certificate_lifespan"));
  if (p.hsts_max_age_seconds <= 0) return DataLossError("tls guideline: missing hsts_min_age");
  return p;
}

Status Probe(TlsProfile& p) {
  int min_version = 0;
  int max_version = 0;
  for (const auto& v : p.tls_versions) {
    const int n = ProtocolVersion(v);
    if (n == 0) {
      p.unsupported.push_back("protocol:" + v);
      continue;
    }
    if (min_version == 0 || n < min_version) min_version = n;
    if (n > max_version) max_version = n;
  }
  if (min_version == 0) {
    return FailedPreconditionError(fmt::format("tls profile {}: no protocol offered", p.name));
  }
  const std::string prefix = CipherListPrefix(p);
  for (const auto& cipher : p.ciphers) {
    if (CipherOffered(prefix, cipher)) {
      p.offered_ciphers.push_back(cipher);
    } else {
      p.unsupported.push_back("cipher:" + cipher);
    }
  }
  for (const auto& suite : p.ciphersuites) {
    if (CiphersuiteOffered(suite)) {
      p.offered_ciphersuites.push_back(suite);
    } else {
      p.unsupported.push_back("ciphersuite:" + suite);
    }
  }
  for (const auto& group : p.groups) {
    if (GroupOffered(group)) {
      p.offered_groups.push_back(group);
    } else {
      p.unsupported.push_back("group:" + group);
    }
  }
  ERR_clear_error();
  if (p.ocsp_staple) p.unsupported.push_back("feature:ocsp_staple");
  if (min_version < TLS1_3_VERSION && p.offered_ciphers.empty()) {
    return FailedPreconditionError(
        fmt::format("tls profile {}: OpenSSL offers none of its TLS 1.2 ciphers", p.name));
  }
  if (max_version == TLS1_3_VERSION && p.offered_ciphersuites.empty()) {
    return FailedPreconditionError(
        fmt::format("tls profile {}: OpenSSL offers none of its TLS 1.3 suites", p.name));
  }
  if (p.offered_groups.empty()) {
    return FailedPreconditionError(
        fmt::format("tls profile {}: OpenSSL offers none of its groups", p.name));
  }
  return OkStatus();
}

Result<Json> ParseGuideline() {
  Json root = Json::parse(EmbeddedTlsGuidelineJson(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object() || !root.contains("configurations") ||
      !root["configurations"].is_object()) {
    return DataLossError("embedded tls guideline is malformed");
  }
  return root;
}

}  // namespace

std::string TlsProfile::HstsHeaderValue() const {
  return fmt::format("max-age={}", hsts_max_age_seconds);
}

std::string_view EmbeddedTlsGuidelineJson() {
  return {internal::kTlsGuidelineJson, internal::kTlsGuidelineJsonSize};
}

std::vector<std::string> TlsProfileNames() {
  std::vector<std::string> names;
  auto root = ParseGuideline();
  if (!root.ok()) return names;
  // The guideline's order is modern, intermediate, old; nlohmann sorts keys, so restore it.
  for (const char* n : {"modern", "intermediate", "old"}) {
    if (root->at("configurations").contains(n)) names.emplace_back(n);
  }
  for (const auto& [key, value] : root->at("configurations").items()) {
    if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
  }
  return names;
}

Result<TlsProfile> LoadTlsProfile(std::string_view name) {
  ASSIGN_OR_RETURN(Json root, ParseGuideline());
  const Json& configs = root["configurations"];
  if (name.empty() || !configs.contains(std::string(name)) ||
      !configs[std::string(name)].is_object()) {
    return NotFoundError(fmt::format("unknown tls profile \"{}\"", name.substr(0, 64)));
  }
  ASSIGN_OR_RETURN(TlsProfile profile, ParseProfile(root, name));
  RETURN_IF_ERROR(Probe(profile));
  return profile;
}

Status ApplyTlsProfile(const TlsProfile& p, SSL_CTX* ctx) {
  int min_version = 0;
  int max_version = 0;
  for (const auto& v : p.tls_versions) {
    const int n = ProtocolVersion(v);
    if (n == 0) continue;
    if (min_version == 0 || n < min_version) min_version = n;
    if (n > max_version) max_version = n;
  }
  const auto fail = [&](std::string_view what) {
    ERR_clear_error();
    return InternalError(fmt::format("tls profile {}: OpenSSL refused {}", p.name, what));
  };
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
    return fail("the protocol range");
  }
  const std::string prefix = CipherListPrefix(p);
  if (!p.offered_ciphers.empty()) {
    if (SSL_CTX_set_cipher_list(ctx, (prefix + Join(p.offered_ciphers)).c_str()) != 1) {
      return fail("the cipher list");
    }
  } else if (!prefix.empty()) {
    SSL_CTX_set_security_level(ctx, 0);
  }
  if (!p.offered_ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, Join(p.offered_ciphersuites).c_str()) != 1) {
    return fail("the TLS 1.3 suites");
  }
  if (SSL_CTX_set1_groups_list(ctx, Join(p.offered_groups).c_str()) != 1) {
    return fail("the groups");
  }
  uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
  if (p.server_preferred_order) {
    SSL_CTX_set_options(ctx, options | SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_CTX_set_options(ctx, options);
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  return OkStatus();
}

}  // namespace sicher::net
