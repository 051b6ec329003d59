#include "sicher/crypto/qr.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

// Rasterizes the SVG's path (our own "M<x> <y>h<n>v1h-<n>z" runs) into a grid of modules.
struct Raster {
  int size = 0;
  std::vector<std::vector<bool>> dark;
  int runs = 0;
};

Raster Rasterize(const std::string& svg) {
  Raster r;
  std::smatch m;
  const std::regex view_box("viewBox=\"0 0 (\\d+) (\\d+)\"");
  EXPECT_TRUE(std::regex_search(svg, m, view_box));
  if (m.empty()) return r;
  EXPECT_EQ(m[1], m[2]);
  r.size = std::stoi(m[1]);
  r.dark.assign(r.size, std::vector<bool>(r.size, false));
  // Hand-parsed: libstdc++'s std::regex recurses per character and overflows the stack on a
  // long path under ASan.
  const size_t d_at = svg.find(" d=\"");
  EXPECT_NE(d_at, std::string::npos);
  if (d_at == std::string::npos) return r;
  const size_t d_end = svg.find('"', d_at + 4);
  const std::string path = svg.substr(d_at + 4, d_end - (d_at + 4));
  size_t consumed = 0;
  while (consumed < path.size()) {
    const size_t z = path.find('z', consumed);
    if (z == std::string::npos) break;
    const std::string segment = path.substr(consumed, z + 1 - consumed);
    int x = 0, y = 0, n = 0, back = 0, used = 0;
    const int fields = std::sscanf(segment.c_str(), "M%d %dh%dv1h-%dz%n", &x, &y, &n, &back, &used);
    EXPECT_EQ(fields, 4) << "unexpected path syntax: " << segment;
    EXPECT_EQ(static_cast<size_t>(used), segment.size()) << "unexpected path syntax: " << segment;
    if (fields != 4) break;
    EXPECT_EQ(n, back);
    ++r.runs;
    for (int i = 0; i < n; ++i) {
      EXPECT_FALSE(r.dark.at(y).at(x + i)) << "overlapping runs";
      r.dark.at(y).at(x + i) = true;
    }
    consumed = z + 1;
  }
  EXPECT_EQ(consumed, path.size());
  return r;
}

// A finder pattern: 7x7 dark ring, light ring, 3x3 dark centre, with top-left at (x, y).
bool FinderAt(const Raster& r, int x, int y) {
  for (int dy = 0; dy < 7; ++dy) {
    for (int dx = 0; dx < 7; ++dx) {
      const int ring = std::max(std::abs(dx - 3), std::abs(dy - 3));
      if (r.dark[y + dy][x + dx] != (ring != 2)) return false;
    }
  }
  return true;
}

void ExpectWellFormedSymbol(const std::string& svg, int expected_modules) {
  const Raster r = Rasterize(svg);
  ASSERT_EQ(r.size, expected_modules + 8);
  const int w = expected_modules;
  for (int y = 0; y < r.size; ++y) {
    for (int x = 0; x < r.size; ++x) {
      if (x < 4 || y < 4 || x >= 4 + w || y >= 4 + w) {
        ASSERT_FALSE(r.dark[y][x]) << "quiet zone at " << x << "," << y;
      }
    }
  }
  EXPECT_TRUE(FinderAt(r, 4, 4));
  EXPECT_TRUE(FinderAt(r, 4 + w - 7, 4));
  EXPECT_TRUE(FinderAt(r, 4, 4 + w - 7));
  EXPECT_FALSE(FinderAt(r, 4 + w - 7, 4 + w - 7));
  // Timing pattern on row 6 between the finders alternates, starting dark.
  for (int x = 8; x < w - 8; ++x) EXPECT_EQ(r.dark[4 + 6][4 + x], x % 2 == 0) << x;
}

TEST(QrSvgTest, StandaloneSvgStructure) {
  ASSERT_OK_AND_ASSIGN(const std::string svg, QrSvg("https://example.com"));
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_NE(svg.find("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"), std::string::npos);
  // Exactly one path, and three elements in all.
  EXPECT_EQ(svg.find("<path"), svg.rfind("<path"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '<'), 4);  // svg, rect, path, /svg
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '>'), 4);
  for (std::string_view banned : {"<script", "href", " on", "style", "<!", "<?", "javascript"}) {
    EXPECT_EQ(svg.find(banned), std::string::npos) << banned;
  }
  EXPECT_EQ(svg.find("example"), std::string::npos);  // the text is not embedded as text
}

TEST(QrSvgTest, VersionTwoForNineteenBytes) {
  // 19 lower-case bytes need byte mode; version 1-M holds 14 bytes, version 2-M 26: 25 modules.
  ASSERT_OK_AND_ASSIGN(const std::string svg, QrSvg("https://example.com"));
  EXPECT_NE(svg.find("viewBox=\"0 0 33 33\""), std::string::npos);
  ExpectWellFormedSymbol(svg, 25);
}

TEST(QrSvgTest, VersionOneForSixDigits) {
  ASSERT_OK_AND_ASSIGN(const std::string svg, QrSvg("123456"));
  EXPECT_NE(svg.find("viewBox=\"0 0 29 29\""), std::string::npos);
  ExpectWellFormedSymbol(svg, 21);
}

TEST(QrSvgTest, OtpauthUriFits) {
  const std::string uri =
      "otpauth://totp/sicher:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
      "&issuer=sicher&algorithm=SHA1&digits=6&period=30";
  ASSERT_OK_AND_ASSIGN(const std::string svg, QrSvg(uri));
  const Raster r = Rasterize(svg);
  ASSERT_GT(r.size, 8);
  const int modules = r.size - 8;
  EXPECT_EQ((modules - 17) % 4, 0) << modules;  // 21, 25, 29, ...: 17 + 4 * version
  ExpectWellFormedSymbol(svg, modules);
  EXPECT_LT(svg.size(), 12000u);  // compact: one run per subpath
}

TEST(QrSvgTest, DeterministicAndInputDependent) {
  ASSERT_OK_AND_ASSIGN(const std::string a1, QrSvg("otpauth://totp/a?secret=AAAA"));
  ASSERT_OK_AND_ASSIGN(const std::string a2, QrSvg("otpauth://totp/a?secret=AAAA"));
  ASSERT_OK_AND_ASSIGN(const std::string b, QrSvg("otpauth://totp/a?secret=AAAB"));
  ASSERT_OK_AND_ASSIGN(const std::string c, QrSvg("otpauth://totp/a?secret=aaaa"));
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  EXPECT_NE(a1, c);  // case-sensitive
}

TEST(QrSvgTest, RefusesWhatCannotBeEncoded) {
  const Result<std::string> empty = QrSvg("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);

  const Result<std::string> nul = QrSvg(std::string("secret\0tail", 11));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nul.status().message().find("secret"), std::string::npos);

  const std::string huge(3000, 'z');
  const Result<std::string> too_long = QrSvg(huge);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_long.status().message().find("zzz"), std::string::npos);

  // The largest byte-mode payload at level M (version 40) still fits.
  EXPECT_OK(QrSvg(std::string(2331, 'z')));
  EXPECT_FALSE(QrSvg(std::string(2332, 'z')).ok());
}

}  // namespace
}  // namespace sicher::crypto
