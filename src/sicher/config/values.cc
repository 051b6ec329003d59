#include "sicher/config/values.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace sicher::config {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads leading digits of `text` into `value`; false on none or overflow.
bool TakeDigits(std::string_view& text, uint64_t& value) {
  size_t n = 0;
  while (n < text.size() && IsDigit(text[n])) ++n;
  if (n == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec != std::errc()) return false;
  text.remove_prefix(n);
  return true;
}

bool MulOverflows(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b;
}

bool IsHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError(fmt::format("\"{}\" is not an integer", text));
  }
  return value;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  constexpr uint64_t kMaxMs = uint64_t{10} * 366 * 24 * 3600 * 1000;
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "\"{}\" is not a duration ({}); use a number and a unit: ms, s, m, h or d, e.g. \"10s\", "
        "\"5m\", \"12h\", \"1h30m\"",
        text, why));
  };
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return bad("empty");
  std::string_view rest = text;
  uint64_t total_ms = 0;
  while (!rest.empty()) {
    uint64_t n = 0;
    if (!TakeDigits(rest, n)) return bad("expected a number");
    uint64_t unit_ms = 0;
    if (rest.substr(0, 2) == "ms") {
      unit_ms = 1;
      rest.remove_prefix(2);
    } else if (!rest.empty() && rest[0] == 's') {
      unit_ms = 1000;
      rest.remove_prefix(1);
    } else if (!rest.empty() && rest[0] == 'm') {
      unit_ms = 60 * 1000;
      rest.remove_prefix(1);
    } else if (!rest.empty() && rest[0] == 'h') {
      unit_ms = 3600 * 1000;
      rest.remove_prefix(1);
    } else if (!rest.empty() && rest[0] == 'd') {
      unit_ms = 24 * 3600 * 1000;
      rest.remove_prefix(1);
    } else {
      return bad(rest.empty() ? "missing unit" : "unknown unit");
    }
    if (MulOverflows(n, unit_ms) || n * unit_ms > kMaxMs || total_ms + n * unit_ms > kMaxMs) {
      return bad("longer than 10 years");
    }
    total_ms += n * unit_ms;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  constexpr std::array<std::pair<int64_t, const char*>, 5> kUnits = {
      {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}}};
  for (const auto& [unit, name] : kUnits) {
    if (ms >= unit) {
      out += fmt::format("{}{}", ms / unit, name);
      ms %= unit;
    }
  }
  return out;
}

Result<uint64_t> ParseSize(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "\"{}\" is not a size ({}); use a number and a unit: B, KiB, MiB, GiB, TiB (or kB, MB, "
        "GB, TB), e.g. \"64KiB\", \"2GiB\"",
        text, why));
  };
  std::string_view rest = text;
  uint64_t n = 0;
  if (!TakeDigits(rest, n)) return bad(text.empty() ? "empty" : "expected a number");
  if (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
    if (rest.empty()) return bad("missing unit after the space");
  }
  struct Unit {
    std::string_view name;
    uint64_t bytes;
  };
  constexpr std::array<Unit, 11> kUnits = {{{"", 1},
                                            {"B", 1},
                                            {"KiB", kKiB},
                                            {"MiB", kMiB},
                                            {"GiB", kGiB},
                                            {"TiB", kTiB},
                                            {"kB", 1000},
                                            {"KB", 1000},
                                            {"MB", 1000 * 1000},
                                            {"GB", 1000 * 1000 * 1000},
                                            {"TB", uint64_t{1000} * 1000 * 1000 * 1000}}};
  for (const Unit& unit : kUnits) {
    if (rest != unit.name) continue;
    if (MulOverflows(n, unit.bytes)) return bad("too large");
    return n * unit.bytes;
  }
  return bad("unknown unit");
}

std::string FormatSize(uint64_t bytes) {
  constexpr std::array<std::pair<uint64_t, const char*>, 4> kUnits = {
      {{kTiB, "TiB"}, {kGiB, "GiB"}, {kMiB, "MiB"}, {kKiB, "KiB"}}};
  for (const auto& [unit, name] : kUnits) {
    if (bytes != 0 && bytes % unit == 0) return fmt::format("{}{}", bytes / unit, name);
  }
  return fmt::format("{}B", bytes);
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "\"{}\" is not host:port ({}); e.g. \"0.0.0.0:8443\", \"[::]:8443\", \"localhost:8443\"",
        text, why));
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    in6_addr addr;
    if (inet_pton(AF_INET6, out.host.c_str(), &addr) != 1) return bad("bad IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing :port");
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing :port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("put IPv6 addresses in brackets");
    if (out.host.empty()) return bad("missing host; use 0.0.0.0 or [::] for every address");
    in_addr addr4;
    const bool ipv4 = inet_pton(AF_INET, out.host.c_str(), &addr4) == 1;
    const bool looks_numeric = !out.host.empty() && IsDigit(out.host.back()) &&
                               out.host.find_first_not_of("0123456789.") == std::string::npos;
    if (!ipv4 && (looks_numeric || !IsHostname(out.host))) return bad("bad host");
    port_text = text.substr(colon + 1);
  }
  uint64_t port = 0;
  std::string_view digits = port_text;
  if (!TakeDigits(digits, port) || !digits.empty() || port > 65535) {
    return bad("port must be 0..65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

Result<std::string> ParseCidr(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "\"{}\" is not a CIDR network ({}); e.g. \"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"",
        text, why));
  };
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::array<uint8_t, 16> bytes{};
  int family = AF_INET;
  size_t len = 4;
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
    family = AF_INET6;
    len = 16;
    if (inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) return bad("bad address");
  }
  const uint64_t max_prefix = len * 8;
  uint64_t prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (!TakeDigits(digits, prefix) || !digits.empty() || prefix > max_prefix) {
      return bad(fmt::format("prefix length must be 0..{}", max_prefix));
    }
  }
  std::array<uint8_t, 16> network = bytes;
  for (size_t bit = prefix; bit < max_prefix; ++bit) {
    network[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, network.data(), buf, sizeof buf);
  if (network != bytes) {
    return bad(fmt::format("host bits are set; did you mean \"{}/{}\"?", buf, prefix));
  }
  return fmt::format("{}/{}", buf, prefix);
}

}  // namespace sicher::config
