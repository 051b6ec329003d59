#include "sicher/config/values.h"

#include <gtest/gtest.h>

#include "sicher/testing/status_matchers.h"

namespace sicher::config {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesUnitsAndSequences) {
  EXPECT_EQ(*ParseDuration("10s"), milliseconds(10'000));
  EXPECT_EQ(*ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(*ParseDuration("12h"), std::chrono::hours(12));
  EXPECT_EQ(*ParseDuration("2d"), std::chrono::hours(48));
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, RejectsBadInput) {
  for (const char* bad : {"", "10", "s", "10x", "1.5s", "-5s", "10 s", "5sm", "99999999999d"}) {
    Result<milliseconds> r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseDuration("10").status().message().find("missing unit"), std::string::npos);
}

TEST(DurationTest, FormatsShortestExactForm) {
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(24)), "1d");
  EXPECT_EQ(FormatDuration(milliseconds(100)), "100ms");
}

TEST(SizeTest, ParsesIecAndSiUnits) {
  EXPECT_EQ(*ParseSize("64KiB"), 64u * 1024);
  EXPECT_EQ(*ParseSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("512 MiB"), 512ull << 20);
  EXPECT_EQ(*ParseSize("1TiB"), 1ull << 40);
  EXPECT_EQ(*ParseSize("10kB"), 10'000u);
  EXPECT_EQ(*ParseSize("3MB"), 3'000'000u);
  EXPECT_EQ(*ParseSize("100B"), 100u);
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
}

TEST(SizeTest, RejectsBadInput) {
  for (const char* bad : {"", "KiB", "1.5GiB", "10kib", "5 ", "-1", "99999999999TiB", "1 2B"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatSize(65536), "64KiB");
  EXPECT_EQ(FormatSize(1000), "1000B");
  EXPECT_EQ(FormatSize(0), "0B");
}

TEST(HostPortTest, ParsesForms) {
  ASSERT_OK_AND_ASSIGN(HostPort v4, ParseHostPort("0.0.0.0:8443"));
  EXPECT_EQ(v4.host, "0.0.0.0");
  EXPECT_EQ(v4.port, 8443);
  ASSERT_OK_AND_ASSIGN(HostPort v6, ParseHostPort("[::1]:9443"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.ToString(), "[::1]:9443");
  ASSERT_OK_AND_ASSIGN(HostPort name, ParseHostPort("sicher.example.org:0"));
  EXPECT_EQ(name.port, 0);
  EXPECT_EQ(name.ToString(), "sicher.example.org:0");
}

TEST(HostPortTest, RejectsBadInput) {
  for (const char* bad :
       {"", "8443", ":8443", "::1:8443", "[::1]8443", "[zz]:1", "host:", "host:65536", "host:-1",
        "256.1.1.1:80", "1.2.3:80", "bad_host:80", "-x.org:80", "[::1:80"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
  EXPECT_NE(ParseHostPort("::1:8443").status().message().find("brackets"), std::string::npos);
}

TEST(CidrTest, ParsesAndCanonicalises) {
  EXPECT_EQ(*ParseCidr("10.0.0.0/8"), "10.0.0.0/8");
  EXPECT_EQ(*ParseCidr("192.0.2.7"), "192.0.2.7/32");
  EXPECT_EQ(*ParseCidr("2001:DB8::/32"), "2001:db8::/32");
  EXPECT_EQ(*ParseCidr("::1"), "::1/128");
  EXPECT_EQ(*ParseCidr("0.0.0.0/0"), "0.0.0.0/0");
}

TEST(CidrTest, RejectsBadInput) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::/129", "x/8",
                          "10.0.0.0/8/1", "10.0.0.0/-1"}) {
    EXPECT_FALSE(ParseCidr(bad).ok()) << bad;
  }
  Result<std::string> host_bits = ParseCidr("10.1.2.3/8");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.status().message().find("did you mean \"10.0.0.0/8\""), std::string::npos);
}

TEST(IntegerTest, Strict) {
  EXPECT_EQ(*ParseInteger("42"), 42);
  EXPECT_EQ(*ParseInteger("-3"), -3);
  EXPECT_FALSE(ParseInteger("4 2").ok());
  EXPECT_FALSE(ParseInteger("").ok());
  EXPECT_FALSE(ParseInteger("0x10").ok());
}

}  // namespace
}  // namespace sicher::config
