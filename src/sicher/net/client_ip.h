#pragma once
// Client IP: who sent a request. The socket peer, unless the peer is one of the operator's
// trusted proxies, in which case X-Forwarded-For / Forwarded (RFC 7239) name the client.
//
// Pure functions and values; thread-safe. Nothing here trusts a header on its own: a client
// that talks to sicher directly cannot choose the address it is logged and rate-limited under.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"
#include "sicher/net/http.h"

namespace sicher::net {

// An IPv4 or IPv6 address. IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so
// "10.0.0.1" and "::ffff:10.0.0.1" are the same address.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool Is4() const;
  // Canonical text: "192.0.2.1" for IPv4 (and IPv4-mapped), RFC 5952 form for IPv6.
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Parses a bare address ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"). No port, no
// brackets, no zone id. Returns nullopt on anything else.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// A network: "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.7" = /32 or /128).
struct Cidr {
  IpAddress network;    // host bits cleared
  int prefix_bits = 0;  // over the 128-bit (mapped) form
  bool Contains(const IpAddress& ip) const;
};

// Returns InvalidArgument naming the bad entry for a malformed CIDR or prefix length.
Result<Cidr> ParseCidr(std::string_view text);

class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody
  // Parses every entry; the first malformed one is an InvalidArgument error.
  static Result<TrustedProxies> Parse(const std::vector<std::string>& cidrs);
  bool Contains(const IpAddress& ip) const;
  bool empty() const { return cidrs_.empty(); }

 private:
  std::vector<Cidr> cidrs_;
};

// One element of a forwarding chain, parsed: an address, optionally "[v6]:port" or "v4:port"
// (the port is dropped). Returns nullopt for "unknown", obfuscated identifiers ("_hidden") and
// anything malformed.
std::optional<IpAddress> ParseForwardedNode(std::string_view node);

// The client address for a request that arrived from `peer_ip` with `headers`.
// - If the peer is not a trusted proxy (or `trusted` is empty): the peer.
// - Otherwise the chain from `Forwarded` (its for= parameters) if present, else from
//   `X-Forwarded-For` (every field line, in order) is walked right to left, skipping trusted
//   proxies; the first untrusted address is the client. If every hop is trusted, the leftmost.
// - A malformed or missing chain, or an element that is not an address: the peer.
// The result is canonical text (see IpAddress::ToString), or `peer_ip` unchanged if the peer
// itself does not parse.
std::string ResolveClientIp(std::string_view peer_ip, const Headers& headers,
                            const TrustedProxies& trusted);

}  // namespace sicher::net
