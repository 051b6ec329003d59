#include "sicher/net/user_agent/user_agent.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sicher/base/check.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::net {
namespace {

// One parser for the whole file: Create() compiles ~1,200 regexes.
const UserAgentParser& Parser() {
  static const UserAgentParser* parser = [] {
    auto p = UserAgentParser::Create();
    CHECK_OK(p);
    return std::move(p).value().release();
  }();
  return *parser;
}

// A real User-Agent and what it must parse to. Empty expected strings are not checked.
struct Case {
  const char* name;
  const char* user_agent;
  DeviceType type;
  const char* browser = "";
  const char* browser_major = "";  // checked as a prefix of browser_version up to the first '.'
  const char* os = "";
  const char* os_major = "";
  const char* device_family = "";
  const char* device_brand = "";
};

std::string Major(const std::string& version) { return version.substr(0, version.find('.')); }

const Case kCases[] = {
    {"ChromeWindows10",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36",
     DeviceType::kDesktop, "Chrome", "120", "Windows", "10", "Other"},
    {"EdgeWindows",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     DeviceType::kDesktop, "Edge", "120", "Windows", "10"},
    {"SafariMacOs",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     DeviceType::kDesktop, "Safari", "17", "Mac OS X", "10", "Mac", "Apple"},
    {"FirefoxUbuntu",
     "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     DeviceType::kDesktop, "Firefox", "121", "Ubuntu"},
    {"ChromeOs",
     "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36",
     DeviceType::kDesktop, "Chrome", "120", "Chrome OS"},
    {"IphoneSafari",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
     DeviceType::kMobile, "Mobile Safari", "17", "iOS", "17", "iPhone", "Apple"},
    {"AndroidChromePhone",
     "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.6099.144 Mobile Safari/537.36",
     DeviceType::kMobile, "Chrome Mobile", "120", "Android", "13"},
    {"AndroidChromeReducedPhone",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36",
     DeviceType::kMobile, "Chrome Mobile", "120", "Android", "10"},
    {"FirefoxAndroidPhone", "Mozilla/5.0 (Android 13; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
     DeviceType::kMobile, "Firefox Mobile", "121", "Android", "13"},
    {"AndroidAppOkhttpStyle", "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)",
     DeviceType::kMobile, "", "", "Android", "13"},
    {"WindowsPhone",
     "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     DeviceType::kMobile, "", "", "Windows Phone"},
    {"Ipad",
     "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     DeviceType::kTablet, "Mobile Safari", "16", "iOS", "16", "iPad", "Apple"},
    {"GalaxyTab",
     "Mozilla/5.0 (Linux; Android 9; SM-T820 Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, "
     "like Gecko) Chrome/74.0.3729.157 Safari/537.36",
     DeviceType::kTablet, "Chrome", "74", "Android", "9", "Samsung SM-T820", "Samsung"},
    // Without "Build/", uap-core cannot name the brand; the model and the tablet remain.
    {"GalaxyTabNoBuild",
     "Mozilla/5.0 (Linux; Android 11; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36",
     DeviceType::kTablet, "Chrome", "120", "Android", "11", "SM-T510", "Generic_Android_Tablet"},
    {"KindleFire",
     "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Silk/119.3.1 like Chrome/119.0.6045.193 Safari/537.36",
     DeviceType::kTablet, "Amazon Silk", "119", "Android"},
    {"FirefoxAndroidTablet", "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
     DeviceType::kTablet, "", "", "Android"},
    {"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     DeviceType::kBot, "Googlebot", "2", "", "", "Spider"},
    {"GooglebotSmartphone",
     "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)",
     DeviceType::kBot, "Googlebot", "2", "", "", "Spider"},
    {"Bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     DeviceType::kBot, "bingbot", "2", "", "", "Spider"},
    {"Curl", "curl/8.0.1", DeviceType::kOther, "curl", "8", "Other", "", "Other"},
    {"PythonRequests", "python-requests/2.31.0", DeviceType::kOther, "Python Requests", "2"},
    {"Empty", "", DeviceType::kOther, "Other", "", "Other", "", "Other"},
};

class RealUserAgentTest : public testing::TestWithParam<Case> {};

TEST_P(RealUserAgentTest, Parses) {
  const Case& c = GetParam();
  const ParsedUserAgent p = Parser().Parse(c.user_agent);
  SCOPED_TRACE(testing::Message() << "browser=" << p.browser << " " << p.browser_version << " os="
                                  << p.os << " " << p.os_version << " device=" << p.device_family
                                  << "/" << p.device_brand << "/" << p.device_model);
  EXPECT_EQ(DeviceTypeName(p.device_type), DeviceTypeName(c.type));
  if (*c.browser) {
    EXPECT_EQ(p.browser, c.browser);
  }
  if (*c.browser_major) {
    EXPECT_EQ(Major(p.browser_version), c.browser_major);
  }
  if (*c.os) {
    EXPECT_EQ(p.os, c.os);
  }
  if (*c.os_major) {
    EXPECT_EQ(Major(p.os_version), c.os_major);
  }
  if (*c.device_family) {
    EXPECT_EQ(p.device_family, c.device_family);
  }
  if (*c.device_brand) {
    EXPECT_EQ(p.device_brand, c.device_brand);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, RealUserAgentTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(UserAgentParserTest, CompilesEveryUapCoreRegex) {
  EXPECT_EQ(Parser().uap_core_version(), "0.18.0");
  EXPECT_EQ(Parser().regex_count(), 1175u);
  EXPECT_EQ(Parser().failed_regex_count(), 0u);
}

TEST(UserAgentParserTest, FullVersionsAndDevice) {
  const ParsedUserAgent p = Parser().Parse(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(p.browser_version, "17.1.2");
  EXPECT_EQ(p.os_version, "17.1.2");
  EXPECT_EQ(p.device_model, "iPhone");
  const ParsedUserAgent tab = Parser().Parse(
      "Mozilla/5.0 (Linux; Android 9; SM-T820 Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/74.0.3729.157 Safari/537.36");
  EXPECT_EQ(tab.device_model, "SM-T820");
  EXPECT_EQ(tab.browser_version, "74.0.3729.157");
}

TEST(UserAgentParserTest, MobileClientHintWinsOverADesktopLookingUserAgent) {
  // Chromium's reduced User-Agent can look like a desktop; Sec-CH-UA-Mobile: ?1 says otherwise.
  constexpr std::string_view kUa =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  EXPECT_EQ(Parser().Parse(kUa).device_type, DeviceType::kDesktop);
  const ParsedUserAgent p = Parser().Parse(kUa, ParseClientHints("?1", "\"Android\""));
  EXPECT_EQ(p.device_type, DeviceType::kMobile);
  EXPECT_EQ(p.os, "Linux");  // the User-Agent's own OS is kept
  // ?0 does not make an Android tablet a desktop.
  EXPECT_EQ(Parser()
                .Parse("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Safari/537.36",
                       ParseClientHints("?0", "\"Android\""))
                .device_type,
            DeviceType::kTablet);
}

TEST(UserAgentParserTest, PlatformHintFillsAnUnknownOs) {
  const ParsedUserAgent p = Parser().Parse("Mozilla/5.0", ParseClientHints("?0", "\"Windows\""));
  EXPECT_EQ(p.os, "Windows");
  EXPECT_EQ(p.device_type, DeviceType::kDesktop);
  EXPECT_EQ(Parser().Parse("Mozilla/5.0").os, "Other");
  EXPECT_EQ(Parser().Parse("Mozilla/5.0").device_type, DeviceType::kOther);
}

TEST(UserAgentParserTest, EmptyUserAgentIsOtherWhateverTheHints) {
  EXPECT_EQ(Parser().Parse("", ParseClientHints("?1", "\"Android\"")).device_type,
            DeviceType::kOther);
  EXPECT_EQ(Parser().Parse("   ").device_type, DeviceType::kOther);
}

TEST(UserAgentParserTest, TvsAndConsolesAreOther) {
  EXPECT_EQ(Parser()
                .Parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) "
                       "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 "
                       "Safari/537.36 Edge/18.19041")
                .device_type,
            DeviceType::kOther);
  EXPECT_EQ(Parser()
                .Parse("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) 76.0.3809.146/6.0 TV Safari/537.36")
                .device_type,
            DeviceType::kOther);
}

TEST(UserAgentParserTest, OnlyTheFirst512BytesCount) {
  const std::string chrome =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  std::string padded = chrome + std::string(kMaxUserAgentBytes - chrome.size(), ' ');
  ASSERT_EQ(padded.size(), kMaxUserAgentBytes);
  const ParsedUserAgent base = Parser().Parse(padded);
  EXPECT_EQ(base.device_type, DeviceType::kDesktop);
  // A bot token past the limit is not seen.
  EXPECT_EQ(Parser().Parse(padded + " Googlebot/2.1").device_type, DeviceType::kDesktop);
  EXPECT_EQ(Parser().Parse(padded + " Googlebot/2.1"), base);
}

TEST(UserAgentParserTest, LargeAndHostileInputsAreSafe) {
  std::mt19937 rng(42);
  std::string garbage(10 * 1024, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  (void)Parser().Parse(garbage);
  std::string nested;
  while (nested.size() < 10 * 1024) nested += "Mozilla/5.0 (((Android iPhone; ";
  (void)Parser().Parse(nested);
  (void)Parser().Parse(std::string(10 * 1024, 'a'));
  (void)Parser().Parse(std::string("\xff\xfe\x00Chrome/1\x80", 12));
  const ParsedUserAgent p = Parser().Parse(std::string(10 * 1024, 'a'));
  EXPECT_EQ(p.browser, "Other");
  EXPECT_EQ(p.device_type, DeviceType::kOther);
}

TEST(UserAgentParserTest, RepeatedInputsGiveEqualResults) {
  for (const Case& c : kCases) {
    const ParsedUserAgent first = Parser().Parse(c.user_agent);
    EXPECT_EQ(Parser().Parse(c.user_agent), first) << c.name;
  }
}

TEST(UserAgentParserTest, HintsArePartOfTheCacheKey) {
  ASSERT_OK_AND_ASSIGN(auto parser, UserAgentParser::Create(/*cache_entries=*/8));
  constexpr std::string_view kUa =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  EXPECT_EQ(parser->Parse(kUa).device_type, DeviceType::kDesktop);
  EXPECT_EQ(parser->Parse(kUa, ClientHints{true, ""}).device_type, DeviceType::kMobile);
  EXPECT_EQ(parser->Parse(kUa).device_type, DeviceType::kDesktop);
  EXPECT_EQ(parser->Parse("Mozilla/5.0", ClientHints{std::nullopt, "Windows"}).os, "Windows");
  EXPECT_EQ(parser->Parse("Mozilla/5.0", ClientHints{std::nullopt, "macOS"}).os, "macOS");
  // An over-long platform (possible only when built by hand) is ignored.
  EXPECT_EQ(parser->Parse("Mozilla/5.0", ClientHints{std::nullopt, std::string(1000, 'x')}).os,
            "Other");
}

TEST(UserAgentParserTest, WorksWithoutACacheAndWithATinyOne) {
  for (size_t entries : {0, 1, 2}) {
    ASSERT_OK_AND_ASSIGN(auto parser, UserAgentParser::Create(entries));
    for (int round = 0; round < 2; ++round) {
      for (const Case& c : kCases) {
        EXPECT_EQ(parser->Parse(c.user_agent), Parser().Parse(c.user_agent)) << c.name;
      }
    }
  }
}

TEST(UserAgentParserTest, ConcurrentParsesAgree) {
  ASSERT_OK_AND_ASSIGN(auto parser, UserAgentParser::Create(/*cache_entries=*/4));
  std::vector<ParsedUserAgent> expected;
  for (const Case& c : kCases) expected.push_back(Parser().Parse(c.user_agent));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < std::size(kCases); ++i) {
          const size_t k = (i + static_cast<size_t>(t) * 5) % std::size(kCases);
          if (parser->Parse(kCases[k].user_agent) != expected[k]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(DeviceTypeNameTest, Names) {
  EXPECT_EQ(DeviceTypeName(DeviceType::kDesktop), "desktop");
  EXPECT_EQ(DeviceTypeName(DeviceType::kMobile), "mobile");
  EXPECT_EQ(DeviceTypeName(DeviceType::kTablet), "tablet");
  EXPECT_EQ(DeviceTypeName(DeviceType::kBot), "bot");
  EXPECT_EQ(DeviceTypeName(DeviceType::kOther), "other");
}

TEST(ParseClientHintsTest, Mobile) {
  EXPECT_EQ(ParseClientHints("?1", "").mobile, true);
  EXPECT_EQ(ParseClientHints(" ?0 ", "").mobile, false);
  EXPECT_EQ(ParseClientHints("", "").mobile, std::nullopt);
  EXPECT_EQ(ParseClientHints("1", "").mobile, std::nullopt);
  EXPECT_EQ(ParseClientHints("?1;a=b", "").mobile, std::nullopt);
  EXPECT_EQ(ParseClientHints("?2", "").mobile, std::nullopt);
}

TEST(ParseClientHintsTest, Platform) {
  EXPECT_EQ(ParseClientHints("", "\"Windows\"").platform, "Windows");
  EXPECT_EQ(ParseClientHints("", "  \"Chrome OS\" ").platform, "Chrome OS");
  EXPECT_EQ(ParseClientHints("", R"("a\"b\\c")").platform, "a\"b\\c");
  EXPECT_EQ(ParseClientHints("", "\"\"").platform, "");
  EXPECT_EQ(ParseClientHints("", "Windows").platform, "");
  EXPECT_EQ(ParseClientHints("", "\"Win").platform, "");
  EXPECT_EQ(ParseClientHints("", "\"").platform, "");
  EXPECT_EQ(ParseClientHints("", R"("a"b")").platform, "");
  EXPECT_EQ(ParseClientHints("", R"("a\")").platform, "");
  EXPECT_EQ(ParseClientHints("", R"("a\n")").platform, "");
  EXPECT_EQ(ParseClientHints("", "\"caf\xc3\xa9\"").platform, "");
  const std::string longest(kMaxPlatformHintBytes, 'x');
  EXPECT_EQ(ParseClientHints("", "\"" + longest + "\"").platform, longest);
  EXPECT_EQ(ParseClientHints("", "\"" + longest + "x\"").platform, "");
}

}  // namespace
}  // namespace sicher::net
