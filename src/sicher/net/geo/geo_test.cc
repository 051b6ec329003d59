#include "sicher/net/geo/geo.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <maxminddb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sicher/base/check.h"
#include "sicher/net/geo/testing/mmdb_writer.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::net {
namespace {

using namespace ::sicher::net::mmdb_testing;  // NOLINT: the writer's helpers read like a DSL

// The database most tests use (IPv6 tree with IPv4 under ::/96).
std::string TestDatabase(int record_size) {
  MmdbWriter w(6, record_size);
  w.Insert("81.2.69.0/24", Map({{"country", Map({{"iso_code", Str("GB")}})},
                                {"registered_country", Map({{"iso_code", Str("GB")}})}}));
  w.Insert("192.0.2.0/24", Country("DE"));
  // Only a registered country: the fallback.
  w.Insert("198.51.100.0/24", Map({{"registered_country", Map({{"iso_code", Str("FR")}})}}));
  // A more specific network overriding half of the one above; country wins over registered.
  w.Insert("198.51.100.128/25", Map({{"country", Map({{"iso_code", Str("US")}})},
                                     {"registered_country", Map({{"iso_code", Str("CA")}})}}));
  // A record without a country (like an anonymous-proxy or continent-only entry).
  w.Insert("203.0.113.0/24", Map({{"continent", Map({{"code", Str("EU")}})}}));
  w.Insert("8.8.8.0/24", Country("us"));  // lower case in the data: normalised
  w.Insert("2001:db8::/32", Country("NL"));
  w.Insert("2001:db8:bad::/48", Country("DEU"));  // not alpha-2
  w.Insert("2001:db8:bad:1::/64", Map({{"country", Map({{"iso_code", Uint(kUint32, 42)}})}}));
  w.Insert("2001:db8:bad:2::/64", Map({{"country", Str("DE")}}));  // country is not a map
  w.Insert("2001:db8:bad:3::/64", Str("DE"));                      // record is not a map
  w.Insert("2001:db8:bad:4::/64", Country("D1"));
  w.Insert("2a00:1450::/32", Country("IE"));
  // Private and special ranges a custom database might map: never reported.
  w.Insert("10.0.0.0/8", Country("ZZ"));
  w.Insert("100.64.0.0/10", Country("ZZ"));
  w.Insert("127.0.0.0/8", Country("ZZ"));
  w.Insert("169.254.0.0/16", Country("ZZ"));
  w.Insert("172.16.0.0/12", Country("ZZ"));
  w.Insert("192.168.0.0/16", Country("ZZ"));
  w.Insert("224.0.0.0/3", Country("ZZ"));
  w.Insert("fc00::/7", Country("ZZ"));
  w.Insert("fe80::/10", Country("ZZ"));
  w.Insert("ff00::/8", Country("ZZ"));
  w.Insert("100.128.0.0/16", Country("PL"));  // just above 100.64.0.0/10
  w.Insert("172.32.0.0/16", Country("PL"));   // just above 172.16.0.0/12
  // Corrupt records.
  w.InsertPointerPastEnd("2001:db8:dead:1::/64");
  w.InsertPointerIntoSeparator("2001:db8:dead:2::/64");
  w.InsertLoopToRoot("2001:db8:dead:3::/64");
  return w.Build("GeoLite2-Country", 1700000000);
}

// country.iso_code of `ip` in the file at `path`, read with libmaxminddb alone (no filtering):
// shows what GeoLookup would see without its own rules.
std::string RawIsoCode(const std::string& path, const char* ip) {
  MMDB_s mmdb;
  CHECK(MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb) == MMDB_SUCCESS);
  int gai_error = 0;
  int mmdb_error = 0;
  MMDB_lookup_result_s result = MMDB_lookup_string(&mmdb, ip, &gai_error, &mmdb_error);
  std::string code;
  MMDB_entry_data_s data;
  if (gai_error == 0 && mmdb_error == MMDB_SUCCESS && result.found_entry &&
      MMDB_get_value(&result.entry, &data, "country", "iso_code", nullptr) == MMDB_SUCCESS &&
      data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
    code.assign(data.utf8_string, data.data_size);
  }
  MMDB_close(&mmdb);
  return code;
}

class GeoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_geo_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    CHECK(out.good());
    return path;
  }

  std::unique_ptr<GeoLookup> OpenOrDie(const std::string& content) {
    auto geo = GeoLookup::Open(WriteFile("test.mmdb", content));
    CHECK_OK(geo);
    return std::move(geo).value();
  }

  std::string dir_;
};

class GeoRecordSizeTest : public GeoTest, public ::testing::WithParamInterface<int> {};

INSTANTIATE_TEST_SUITE_P(RecordSizes, GeoRecordSizeTest, ::testing::Values(24, 28, 32),
                         [](const auto& info) { return "Bits" + std::to_string(info.param); });

TEST_P(GeoRecordSizeTest, KnownAddressesMapToTheirCountry) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("81.2.69.142"), "GB");
  EXPECT_EQ(geo->CountryIsoCode("81.2.69.0"), "GB");
  EXPECT_EQ(geo->CountryIsoCode("81.2.69.255"), "GB");
  EXPECT_EQ(geo->CountryIsoCode("192.0.2.1"), "DE");
  EXPECT_EQ(geo->CountryIsoCode("2001:db8::1"), "NL");
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "NL");
  EXPECT_EQ(geo->CountryIsoCode("2001:DB8:0:0:0:0:0:1"), "NL");
  EXPECT_EQ(geo->CountryIsoCode("2a00:1450:4001:82b::200e"), "IE");
}

TEST_P(GeoRecordSizeTest, MoreSpecificNetworkWinsAndRegisteredCountryIsTheFallback) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("198.51.100.1"), "FR");    // registered_country only
  EXPECT_EQ(geo->CountryIsoCode("198.51.100.127"), "FR");  // last address of the lower half
  EXPECT_EQ(geo->CountryIsoCode("198.51.100.128"), "US");  // country over registered_country
  EXPECT_EQ(geo->CountryIsoCode("198.51.100.255"), "US");
}

TEST_P(GeoRecordSizeTest, Ipv4MappedIpv6IsLookedUpAsIpv4) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("::ffff:81.2.69.142"), "GB");
  EXPECT_EQ(geo->CountryIsoCode("::FFFF:192.0.2.1"), "DE");
  EXPECT_EQ(geo->CountryIsoCode("::ffff:c000:201"), "DE");  // 192.0.2.1 in hex
  EXPECT_EQ(geo->CountryIsoCode("::ffff:10.1.2.3"), "");    // still private
  EXPECT_EQ(geo->CountryIsoCode("::ffff:203.0.113.5"), "");
}

TEST_P(GeoRecordSizeTest, UnknownAddressesAndRecordsWithoutCountryGiveEmpty) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("81.2.70.1"), "");  // next /24: not in the database
  EXPECT_EQ(geo->CountryIsoCode("1.1.1.1"), "");
  EXPECT_EQ(geo->CountryIsoCode("2001:db9::1"), "");
  EXPECT_EQ(geo->CountryIsoCode("2600::1"), "");
  EXPECT_EQ(geo->CountryIsoCode("203.0.113.7"), "");  // record has no country
}

TEST_P(GeoRecordSizeTest, IsoCodesAreTwoUpperCaseLetters) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("8.8.8.8"), "US");          // "us" in the data
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad::1"), "");    // "DEU"
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad:1::1"), "");  // a number
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad:2::1"), "");  // country is a string
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad:3::1"), "");  // record is a string
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad:4::1"), "");  // "D1"
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:bad:5::1"), "");  // the /48 around them: "DEU"
}

TEST_P(GeoRecordSizeTest, PrivateAndSpecialAddressesGiveEmptyWhateverTheDatabaseSays) {
  const std::string path = WriteFile("test.mmdb", TestDatabase(GetParam()));
  ASSERT_OK_AND_ASSIGN(const auto geo, GeoLookup::Open(path));
  // The database does map them (so the empty answers below come from GeoLookup's rules).
  EXPECT_EQ(RawIsoCode(path, "10.0.0.1"), "ZZ");
  EXPECT_EQ(RawIsoCode(path, "fd12:3456::1"), "ZZ");
  EXPECT_EQ(RawIsoCode(path, "::ffff:192.168.1.1"), "");  // no ::ffff:0:0/96 alias in it
  for (const char* ip : {"10.0.0.1",
                         "10.255.255.255",
                         "100.64.0.1",
                         "100.127.255.255",
                         "127.0.0.1",
                         "169.254.1.1",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "224.0.0.1",
                         "239.255.255.250",
                         "255.255.255.255",
                         "0.0.0.0",
                         "0.1.2.3",
                         "::",
                         "::1",
                         "::192.0.2.1",
                         "fc00::1",
                         "fd12:3456::1",
                         "fe80::1",
                         "febf::1",
                         "ff02::1"}) {
    EXPECT_EQ(geo->CountryIsoCode(ip), "") << ip;
  }
  // Their neighbours are public.
  EXPECT_EQ(geo->CountryIsoCode("100.128.0.1"), "PL");
  EXPECT_EQ(geo->CountryIsoCode("172.32.0.1"), "PL");
  EXPECT_EQ(geo->CountryIsoCode("2001:db8::1"), "NL");
}

TEST_P(GeoRecordSizeTest, CorruptRecordsGiveEmptyAndDoNotCrash) {
  const auto geo = OpenOrDie(TestDatabase(GetParam()));
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:dead:1::1"), "");  // pointer past the data section
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:dead:2::1"), "");  // pointer into the separator
  EXPECT_EQ(geo->CountryIsoCode("2001:db8:dead:3::1"), "");  // loops back to the root
  EXPECT_EQ(geo->CountryIsoCode("192.0.2.1"), "DE");         // the rest still works
}

TEST_F(GeoTest, GarbageGivesEmpty) {
  const auto geo = OpenOrDie(TestDatabase(24));
  const std::string with_nul("192.0.2.1\0junk", 14);
  const std::string huge(10000, '1');
  const std::string long_v6 = "0000:0000:0000:0000:0000:ffff:192.000.002.001:0000";
  for (std::string_view ip : {std::string_view(""),
                              std::string_view(" "),
                              std::string_view("not an ip"),
                              std::string_view("192.0.2"),
                              std::string_view("192.0.2.1.5"),
                              std::string_view("256.0.2.1"),
                              std::string_view("192.0.2.01"),
                              std::string_view("0xc0.0.2.1"),
                              std::string_view("3221225985"),
                              std::string_view("192.0.2.1:443"),
                              std::string_view("192.0.2.1/24"),
                              std::string_view(" 192.0.2.1"),
                              std::string_view("192.0.2.1 "),
                              std::string_view("192.0.2.1\n"),
                              std::string_view("[2001:db8::1]"),
                              std::string_view("2001:db8::1%eth0"),
                              std::string_view("2001:db8:::1"),
                              std::string_view("gggg::1"),
                              std::string_view("::ffff:999.0.2.1"),
                              std::string_view(with_nul),
                              std::string_view(huge),
                              std::string_view(long_v6),
                              std::string_view("\xff\xfe"),
                              std::string_view("localhost"),
                              std::string_view("example.com")}) {
    EXPECT_EQ(geo->CountryIsoCode(ip), "") << testing::PrintToString(std::string(ip));
  }
  // A view into a larger buffer: only the view is parsed.
  const std::string buffer = "192.0.2.1xyz";
  EXPECT_EQ(geo->CountryIsoCode(std::string_view(buffer).substr(0, 9)), "DE");
}

TEST_F(GeoTest, Ipv4OnlyDatabase) {
  MmdbWriter w(4, 24);
  w.Insert("192.0.2.0/24", Country("DE"));
  w.Insert("81.2.69.0/24", Country("GB"));
  const auto geo = OpenOrDie(w.Build("DBIP-Country-Lite", 1690000000));
  EXPECT_EQ(geo->CountryIsoCode("192.0.2.200"), "DE");
  EXPECT_EQ(geo->CountryIsoCode("81.2.69.142"), "GB");
  EXPECT_EQ(geo->CountryIsoCode("::ffff:192.0.2.200"), "DE");
  EXPECT_EQ(geo->CountryIsoCode("2001:db8::1"), "");  // IPv6 lookup in an IPv4 database
  EXPECT_EQ(geo->CountryIsoCode("198.51.100.1"), "");
  EXPECT_EQ(geo->database_type(), "DBIP-Country-Lite");
}

TEST_F(GeoTest, Metadata) {
  const auto geo = OpenOrDie(TestDatabase(24));
  EXPECT_EQ(geo->database_type(), "GeoLite2-Country");
  EXPECT_EQ(geo->build_epoch(), 1700000000u);
}

TEST_F(GeoTest, ConcurrentLookupsAgree) {
  const auto geo = OpenOrDie(TestDatabase(28));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"81.2.69.142", "GB"},      {"192.0.2.1", "DE"}, {"2001:db8::1", "NL"}, {"10.0.0.1", ""},
      {"::ffff:192.0.2.9", "DE"}, {"garbage", ""},     {"198.51.100.1", "FR"}};
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto& [ip, want] = cases[(i + t) % cases.size()];
        if (geo->CountryIsoCode(ip) != want) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(GeoTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = dir_ + "/GeoLite2-Country.mmdb";
  auto geo = GeoLookup::Open(path);
  ASSERT_FALSE(geo.ok());
  EXPECT_EQ(geo.status().code(), StatusCode::kNotFound);
  EXPECT_NE(geo.status().message().find(path), std::string::npos) << geo.status().ToString();
}

TEST_F(GeoTest, NonMmdbFilesAreInvalidArgumentNamingThePath) {
  const std::string valid = TestDatabase(24);
  std::string wrong_version = MmdbWriter(6, 24).Build("GeoLite2-Country", 1, /*format_major=*/3);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"text.mmdb", "this is not a MaxMind database\n"},
      {"empty.mmdb", ""},
      {"truncated.mmdb", valid.substr(0, valid.size() / 2)},
      {"no-metadata.mmdb", valid.substr(0, valid.find("\xAB\xCD\xEFMaxMind.com"))},
      {"bad-metadata.mmdb", valid.substr(0, valid.find("\xAB\xCD\xEFMaxMind.com") + 14) + "\x01"},
      {"version-3.mmdb", wrong_version},
  };
  for (const auto& [name, content] : files) {
    const std::string path = WriteFile(name, content);
    auto geo = GeoLookup::Open(path);
    ASSERT_FALSE(geo.ok()) << name;
    EXPECT_EQ(geo.status().code(), StatusCode::kInvalidArgument) << geo.status().ToString();
    EXPECT_NE(geo.status().message().find(path), std::string::npos) << geo.status().ToString();
  }
}

TEST_F(GeoTest, DirectoryAndEmptyPathAreInvalidArgument) {
  auto dir = GeoLookup::Open(dir_);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dir.status().message().find(dir_), std::string::npos) << dir.status().ToString();

  auto empty = GeoLookup::Open("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GeoTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = WriteFile("secret.mmdb", TestDatabase(24));
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto geo = GeoLookup::Open(path);
  ASSERT_FALSE(geo.ok());
  EXPECT_EQ(geo.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(geo.status().message().find(path), std::string::npos) << geo.status().ToString();
}

}  // namespace
}  // namespace sicher::net
