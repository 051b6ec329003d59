#include "sicher/net/client_ip.h"

#include <gtest/gtest.h>

#include "sicher/testing/status_matchers.h"

namespace sicher::net {
namespace {

TrustedProxies Trust(std::vector<std::string> cidrs) {
  auto t = TrustedProxies::Parse(cidrs);
  EXPECT_TRUE(t.ok());
  return *t;
}

Headers With(std::initializer_list<std::pair<std::string, std::string>> fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.Add(k, v);
  return h;
}

TEST(ClientIpTest, ParsesAddresses) {
  EXPECT_EQ(ParseIpAddress("192.0.2.1")->ToString(), "192.0.2.1");
  EXPECT_EQ(ParseIpAddress("::ffff:192.0.2.1")->ToString(), "192.0.2.1");
  EXPECT_TRUE(ParseIpAddress("::ffff:192.0.2.1")->Is4());
  EXPECT_EQ(ParseIpAddress("2001:DB8:0:0::1")->ToString(), "2001:db8::1");
  EXPECT_FALSE(ParseIpAddress(""));
  EXPECT_FALSE(ParseIpAddress("192.0.2"));
  EXPECT_FALSE(ParseIpAddress("192.0.2.1:80"));
  EXPECT_FALSE(ParseIpAddress("[::1]"));
  EXPECT_FALSE(ParseIpAddress("fe80::1%eth0"));
  EXPECT_FALSE(ParseIpAddress("example.com"));
}

TEST(ClientIpTest, Cidrs) {
  ASSERT_OK_AND_ASSIGN(Cidr ten, ParseCidr("10.0.0.0/8"));
  EXPECT_TRUE(ten.Contains(*ParseIpAddress("10.255.1.2")));
  EXPECT_TRUE(ten.Contains(*ParseIpAddress("::ffff:10.1.1.1")));
  EXPECT_FALSE(ten.Contains(*ParseIpAddress("11.0.0.1")));
  ASSERT_OK_AND_ASSIGN(Cidr v6, ParseCidr("2001:db8::/32"));
  EXPECT_TRUE(v6.Contains(*ParseIpAddress("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.Contains(*ParseIpAddress("2001:db9::1")));
  EXPECT_FALSE(v6.Contains(*ParseIpAddress("10.0.0.1")));
  ASSERT_OK_AND_ASSIGN(Cidr host, ParseCidr("192.0.2.7"));
  EXPECT_TRUE(host.Contains(*ParseIpAddress("192.0.2.7")));
  EXPECT_FALSE(host.Contains(*ParseIpAddress("192.0.2.8")));
  ASSERT_OK_AND_ASSIGN(Cidr any, ParseCidr("0.0.0.0/0"));
  EXPECT_TRUE(any.Contains(*ParseIpAddress("8.8.8.8")));
  EXPECT_FALSE(any.Contains(*ParseIpAddress("2001:db8::1")));  // IPv4 /0 is IPv4 only
  ASSERT_OK_AND_ASSIGN(Cidr odd, ParseCidr("192.168.1.130/25"));
  EXPECT_TRUE(odd.Contains(*ParseIpAddress("192.168.1.200")));
  EXPECT_FALSE(odd.Contains(*ParseIpAddress("192.168.1.5")));
  for (const char* bad : {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "/8",
                          "10.0.0/8", "garbage", "10.0.0.0/-1"}) {
    EXPECT_FALSE(ParseCidr(bad).ok()) << bad;
  }
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/8", "nope"}).ok());
}

TEST(ClientIpTest, UntrustedPeerIsTheClient) {
  const Headers h = With({{"X-Forwarded-For", "203.0.113.9"}, {"Forwarded", "for=203.0.113.9"}});
  EXPECT_EQ(ResolveClientIp("198.51.100.1", h, TrustedProxies()), "198.51.100.1");
  EXPECT_EQ(ResolveClientIp("198.51.100.1", h, Trust({"10.0.0.0/8"})), "198.51.100.1");
  EXPECT_EQ(ResolveClientIp("::ffff:198.51.100.1", {}, Trust({"10.0.0.0/8"})), "198.51.100.1");
}

TEST(ClientIpTest, XForwardedForFromTrustedProxy) {
  const auto trusted = Trust({"10.0.0.0/8", "2001:db8:1::/48"});
  EXPECT_EQ(ResolveClientIp("10.0.0.1", With({{"X-Forwarded-For", "203.0.113.9"}}), trusted),
            "203.0.113.9");
  // Right to left, skipping trusted hops; the spoofed leftmost entry is ignored.
  EXPECT_EQ(ResolveClientIp("10.0.0.1",
                            With({{"X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.0.0.7"}}), trusted),
            "203.0.113.9");
  // Several field lines form one list, in order.
  EXPECT_EQ(
      ResolveClientIp("10.0.0.1",
                      With({{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "10.1.1.1"}}),
                      trusted),
      "203.0.113.9");
  // IPv6 peer and entry.
  EXPECT_EQ(ResolveClientIp("2001:db8:1::5", With({{"X-Forwarded-For", "2001:db8:2::1"}}), trusted),
            "2001:db8:2::1");
  // Every hop trusted: the leftmost.
  EXPECT_EQ(ResolveClientIp("10.0.0.1", With({{"X-Forwarded-For", "10.9.9.9, 10.0.0.2"}}), trusted),
            "10.9.9.9");
  // No header: the peer.
  EXPECT_EQ(ResolveClientIp("10.0.0.1", {}, trusted), "10.0.0.1");
}

TEST(ClientIpTest, MalformedChainFallsBackToPeer) {
  const auto trusted = Trust({"10.0.0.0/8"});
  for (const char* bad : {"", "not-an-ip", "203.0.113.9,,", "203.0.113.9, unknown",
                          "203.0.113.9 10.0.0.1", "999.1.1.1", "203.0.113.9, _hidden"}) {
    EXPECT_EQ(ResolveClientIp("10.0.0.1", With({{"X-Forwarded-For", bad}}), trusted), "10.0.0.1")
        << bad;
  }
}

TEST(ClientIpTest, ForwardedHeader) {
  const auto trusted = Trust({"10.0.0.0/8"});
  EXPECT_EQ(
      ResolveClientIp("10.0.0.1", With({{"Forwarded", "for=192.0.2.60;proto=https"}}), trusted),
      "192.0.2.60");
  EXPECT_EQ(ResolveClientIp("10.0.0.1",
                            With({{"Forwarded", "for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.3"}}),
                            trusted),
            "2001:db8:cafe::17");
  EXPECT_EQ(ResolveClientIp("10.0.0.1", With({{"Forwarded", "For=\"192.0.2.43:47011\""}}), trusted),
            "192.0.2.43");
  // Forwarded wins over X-Forwarded-For.
  EXPECT_EQ(
      ResolveClientIp("10.0.0.1",
                      With({{"X-Forwarded-For", "198.51.100.1"}, {"Forwarded", "for=192.0.2.60"}}),
                      trusted),
      "192.0.2.60");
  for (const char* bad : {"for=unknown", "for=_gazonk", "proto=https", "for=\"[2001:db8::1\"",
                          "for=192.0.2.60;for=192.0.2.61", "for", "for=\"192.0.2.60"}) {
    EXPECT_EQ(ResolveClientIp("10.0.0.1", With({{"Forwarded", bad}}), trusted), "10.0.0.1") << bad;
  }
}

TEST(ClientIpTest, ForwardedNodes) {
  EXPECT_EQ(ParseForwardedNode("192.0.2.1:8080")->ToString(), "192.0.2.1");
  EXPECT_EQ(ParseForwardedNode("[::1]:8080")->ToString(), "::1");
  EXPECT_EQ(ParseForwardedNode("[::1]")->ToString(), "::1");
  EXPECT_EQ(ParseForwardedNode("2001:db8::1")->ToString(), "2001:db8::1");
  EXPECT_FALSE(ParseForwardedNode("[::1]:x"));
  EXPECT_FALSE(ParseForwardedNode("192.0.2.1:"));
  EXPECT_FALSE(ParseForwardedNode("unknown"));
}

}  // namespace
}  // namespace sicher::net
