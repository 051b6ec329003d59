#pragma once
// Parsers for the value syntaxes of the configuration file, shared with any code that reads the
// same syntaxes (for example a per-route body limit). Pure functions; thread-safe. Errors are
// InvalidArgument with a message that says what is wrong and what would be right; the caller
// adds the key name.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::config {

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;
inline constexpr uint64_t kTiB = uint64_t{1} << 40;

// A duration: one or more <digits><unit> with units ms, s, m, h, d ("10s", "5m", "12h", "1h30m",
// "250ms"); "0" alone is zero. At most 10 years.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// Shortest exact form: 90000ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(std::chrono::milliseconds d);

// A size in bytes: <digits>[ ]<unit> with IEC units B, KiB, MiB, GiB, TiB (powers of 1024) or SI
// units kB/KB, MB, GB, TB (powers of 1000); bare digits are bytes ("64KiB", "2GiB", "1048576").
Result<uint64_t> ParseSize(std::string_view text);
// Largest exact IEC unit: 65536 -> "64KiB", 1000 -> "1000B".
std::string FormatSize(uint64_t bytes);

// A listen address: "host:port". Host is an IPv4 literal, a bracketed IPv6 literal
// ("[::1]:8443") or a DNS name; port 0..65535 (0: the kernel picks one).
struct HostPort {
  std::string host;  // IPv6 without brackets
  uint16_t port = 0;

  // "0.0.0.0:8443", "[::1]:8443".
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};
Result<HostPort> ParseHostPort(std::string_view text);

// A network in CIDR notation ("10.0.0.0/8", "2001:db8::/32"), or a single address (taken as /32
// or /128). Host bits must be zero. Returns the canonical text ("2001:db8::/32").
Result<std::string> ParseCidr(std::string_view text);

// Parses a decimal integer (optional leading '-'); no spaces, no trailing text.
Result<int64_t> ParseInteger(std::string_view text);

}  // namespace sicher::config
