#include "sicher/net/client_ip.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sicher::net {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The for= values of a Forwarded header (all field lines joined by ","), in order; nullopt if
// the header is malformed or an element has no for=.
std::optional<std::vector<std::string>> ForwardedFor(std::string_view value) {
  std::vector<std::string> out;
  // Elements are separated by ","; pairs by ";". Quoted strings may hold either, but valid
  // for= values (addresses, "[v6]:port") never contain them, so a quoted "," is malformed.
  for (std::string_view element : Split(value, ',')) {
    element = Trim(element);
    if (element.empty()) return std::nullopt;
    std::optional<std::string> node;
    for (std::string_view pair : Split(element, ';')) {
      pair = Trim(pair);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) return std::nullopt;
      if (!IEquals(Trim(pair.substr(0, eq)), "for")) continue;
      if (node) return std::nullopt;  // for= twice in one element
      std::string_view v = Trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
        if (v.find('"') != std::string_view::npos || v.find('\\') != std::string_view::npos) {
          return std::nullopt;
        }
      } else if (v.find('"') != std::string_view::npos) {
        return std::nullopt;
      }
      node = std::string(v);
    }
    if (!node) return std::nullopt;
    out.push_back(std::move(*node));
  }
  return out;
}

}  // namespace

bool IpAddress::Is4() const {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (Is4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::copy(text.begin(), text.end(), buf);
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    in_addr a4{};
    if (inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), ip.bytes.begin());
    std::memcpy(ip.bytes.data() + 12, &a4, 4);
    return ip;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  std::memcpy(ip.bytes.data(), &a6, 16);
  return ip;
}

bool Cidr::Contains(const IpAddress& ip) const {
  int bits = prefix_bits;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[i] & mask) != network.bytes[i]) return false;
  }
  return true;
}

Result<Cidr> ParseCidr(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError(fmt::format("not a CIDR: \"{}\"", text.substr(0, 64)));
  };
  text = Trim(text);
  const size_t slash = text.find('/');
  auto ip = ParseIpAddress(text.substr(0, slash));
  if (!ip) return bad();
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    if (!AllDigits(len) || len.size() > 3) return bad();
    bits = std::stoi(std::string(len));
    if (bits > (v4 ? 32 : 128)) return bad();
  }
  Cidr cidr;
  cidr.prefix_bits = v4 ? bits + 96 : bits;
  int remaining = cidr.prefix_bits;
  for (size_t i = 0; i < 16; ++i, remaining -= 8) {
    const uint8_t mask = remaining >= 8   ? 0xff
                         : remaining <= 0 ? 0
                                          : static_cast<uint8_t>(0xff << (8 - remaining));
    cidr.network.bytes[i] = ip->bytes[i] & mask;
  }
  return cidr;
}

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& cidrs) {
  TrustedProxies t;
  for (const auto& c : cidrs) {
    ASSIGN_OR_RETURN(Cidr cidr, ParseCidr(c));
    t.cidrs_.push_back(cidr);
  }
  return t;
}

bool TrustedProxies::Contains(const IpAddress& ip) const {
  return std::any_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& c) { return c.Contains(ip); });
}

std::optional<IpAddress> ParseForwardedNode(std::string_view node) {
  node = Trim(node);
  if (node.empty()) return std::nullopt;
  if (node.front() == '[') {  // "[2001:db8::1]" or "[2001:db8::1]:4711"
    const size_t close = node.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = node.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && AllDigits(rest.substr(1)))) return std::nullopt;
    return ParseIpAddress(node.substr(1, close - 1));
  }
  const size_t colon = node.find(':');
  if (colon != std::string_view::npos && node.find(':', colon + 1) == std::string_view::npos) {
    // "192.0.2.1:8080": IPv4 with a port.
    if (!AllDigits(node.substr(colon + 1))) return std::nullopt;
    auto ip = ParseIpAddress(node.substr(0, colon));
    if (!ip || !ip->Is4()) return std::nullopt;
    return ip;
  }
  return ParseIpAddress(node);  // bare IPv4 or IPv6 (X-Forwarded-For style)
}

std::string ResolveClientIp(std::string_view peer_ip, const Headers& headers,
                            const TrustedProxies& trusted) {
  const auto peer = ParseIpAddress(peer_ip);
  if (!peer) return std::string(peer_ip);
  const std::string peer_text = peer->ToString();
  if (trusted.empty() || !trusted.Contains(*peer)) return peer_text;

  // Collect every field line of the chosen header, in order, joined by ",".
  const auto joined = [&](std::string_view name) {
    std::string all;
    bool any = false;
    for (const auto& f : headers.fields()) {
      if (!IEquals(f.name, name)) continue;
      if (any) all += ',';
      all += f.value;
      any = true;
    }
    return std::make_pair(any, all);
  };
  std::vector<std::string> chain;
  if (auto [has, value] = joined("Forwarded"); has) {
    auto nodes = ForwardedFor(value);
    if (!nodes) return peer_text;
    chain = std::move(*nodes);
  } else if (auto [has_xff, xff] = joined("X-Forwarded-For"); has_xff) {
    for (std::string_view item : Split(xff, ',')) chain.emplace_back(Trim(item));
  } else {
    return peer_text;
  }
  if (chain.empty()) return peer_text;

  std::optional<IpAddress> last;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto ip = ParseForwardedNode(*it);
    if (!ip) return peer_text;  // malformed, "unknown" or obfuscated: trust nothing more
    if (!trusted.Contains(*ip)) return ip->ToString();
    last = ip;
  }
  return last ? last->ToString() : peer_text;
}

}  // namespace sicher::net
