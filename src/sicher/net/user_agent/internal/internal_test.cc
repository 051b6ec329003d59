// Tests of net/user_agent/internal: the PCRE translation, template expansion, the chunked
// RE2::Set matching (against one-by-one matching over the real uap-core regexes), the YAML
// reader and the LRU cache.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <string>
#include <vector>

#include "sicher/net/user_agent/internal/lru_cache.h"
#include "sicher/net/user_agent/internal/pcre_to_re2.h"
#include "sicher/net/user_agent/internal/uap_core_data.h"
#include "sicher/net/user_agent/internal/uap_section.h"
#include "sicher/net/user_agent/internal/uap_yaml.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::net::internal {
namespace {

TEST(TranslatePcreForRe2Test, DropsPossessiveMarkersAndAtomicGroups) {
  EXPECT_EQ(TranslatePcreForRe2(R"(a*+b++c?+d{2,3}+)"), R"(a*b+c?d{2,3})");
  EXPECT_EQ(TranslatePcreForRe2(R"((?>ab|a)c)"), R"((?:ab|a)c)");
  EXPECT_EQ(TranslatePcreForRe2(R"(abc\Z)"), R"(abc\n?\z)");
  for (const char* p : {R"(a*+b++c?+d{2,3}+)", R"((?>ab|a)c)", R"(abc\Z)"}) {
    EXPECT_TRUE(RE2(TranslatePcreForRe2(p)).ok()) << p;
  }
}

TEST(TranslatePcreForRe2Test, LeavesEverythingElseAlone) {
  for (const char* p : {
           R"((Chrome)/(\d+)\.(\d+))",  // plain
           R"(a+b)",                    // '+' quantifier after an atom
           R"(a\++)",                   // escaped '+' then a quantifier
           R"([+]+x)",                  // '+' in a class, then a quantifier
           R"([]+]+)",                  // ']' first in a class is a member
           R"([^]+]+)",                 //
           R"([\]+]+)",                 // escaped ']' in a class
           R"(a{x}+)",                  // not a counted repetition: '{' literal, '+' quantifier
           R"(a*?b+?)",                 // lazy quantifiers
           R"((?i)x(?:y)?)",            // group flags and non-capturing groups
           R"([\Z])",                   // \Z in a class is not translated
       }) {
    EXPECT_EQ(TranslatePcreForRe2(p), p);
  }
}

TEST(ExpandTemplateTest, SubstitutesCaptures) {
  EXPECT_EQ(ExpandTemplate("$1 $2", {"Nexus", "7"}), "Nexus 7");
  EXPECT_EQ(ExpandTemplate("Odys $1$3", {"PEDI", "x"}), "Odys PEDI");  // $3 beyond: empty
  EXPECT_EQ(ExpandTemplate("$0 $ $$1 $a", {"x"}), "$0 $ $x $a");
  EXPECT_EQ(ExpandTemplate("end$", {}), "end$");
  EXPECT_EQ(ExpandTemplate("$9", {"1", "2", "3", "4", "5", "6", "7", "8", "9"}), "9");
}

std::vector<UapField> TwoFields() { return {{"name_replacement", 1}, {"v_replacement", 2}}; }

UapRule Rule(std::string regex, std::optional<std::string> name = std::nullopt,
             std::optional<std::string> v = std::nullopt, bool ci = false) {
  return UapRule{std::move(regex), ci, {std::move(name), std::move(v)}};
}

TEST(UapSectionTest, FirstRuleInFileOrderWins) {
  // 300 rules span several RE2::Set chunks; several match, and the earliest must win.
  std::vector<UapRule> rules;
  for (int i = 0; i < 300; ++i) rules.push_back(Rule("never" + std::to_string(i) + "x"));
  rules[250] = Rule("(Foo)/(\\d+)", "late");
  rules[130] = Rule("(Foo)/(\\d+)");
  rules[131] = Rule("Foo", "also");
  rules[5] = Rule("(Bar)(?:/(\\d+)|)", "B-$1", "v$2");
  UapSection section(std::move(rules), TwoFields());
  EXPECT_EQ(section.compiled_count(), 300u);
  EXPECT_EQ(section.failed_count(), 0u);

  EXPECT_EQ(section.Match("x Foo/12 y"), (std::vector<std::string>{"Foo", "12"}));
  EXPECT_EQ(section.Match("Foo/12 Bar/3"), (std::vector<std::string>{"B-Bar", "v3"}));
  // A group that did not participate expands to nothing.
  EXPECT_EQ(section.Match("Bar"), (std::vector<std::string>{"B-Bar", "v"}));
  EXPECT_EQ(section.Match("nothing"), std::nullopt);
  EXPECT_EQ(section.Match(""), std::nullopt);
  for (const char* text : {"x Foo/12 y", "Foo/12 Bar/3", "Bar", "nothing", "never299x Foo"}) {
    EXPECT_EQ(section.Match(text), section.MatchOneByOne(text)) << text;
  }
}

TEST(UapSectionTest, TrimsCaseFlagsAndCountsFailures) {
  std::vector<UapRule> rules;
  rules.push_back(Rule("(a)(\\1)"));          // backreference: RE2 rejects it
  rules.push_back(Rule("(?<=x)y"));           // lookbehind: RE2 rejects it
  rules.push_back(Rule("(hello)", "  $1 "));  // template trimmed
  rules.push_back(Rule("(WORLD) (\\d+)", std::nullopt, std::nullopt, /*ci=*/true));
  rules.push_back(Rule("(x)++y"));  // possessive: translated
  UapSection section(std::move(rules), TwoFields());
  EXPECT_EQ(section.failed_count(), 2u);
  EXPECT_EQ(section.compiled_count(), 3u);
  EXPECT_EQ(section.Match("say hello"), (std::vector<std::string>{"hello", ""}));
  EXPECT_EQ(section.Match("World 7"), (std::vector<std::string>{"World", "7"}));
  EXPECT_EQ(section.Match("xxy"), (std::vector<std::string>{"x", ""}));
}

// The sets must never change which rule wins. Compare with one-by-one matching over the real
// uap-core sections for a spread of User-Agents.
TEST(UapSectionTest, SetsAgreeWithOneByOneOnRealRegexes) {
  ASSERT_OK_AND_ASSIGN(UapRegexes regexes, ParseUapRegexes(UapCoreRegexesYaml()));
  EXPECT_EQ(regexes.user_agent.size() + regexes.os.size() + regexes.device.size(), 1175u);
  const UapSection ua(std::move(regexes.user_agent), UserAgentFields());
  const UapSection os(std::move(regexes.os), OsFields());
  const UapSection device(std::move(regexes.device), DeviceFields());
  EXPECT_EQ(ua.failed_count() + os.failed_count() + device.failed_count(), 0u);
  const char* kUserAgents[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.1 Safari/605.1.15",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (Linux; Android 11; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Linux; U; Android 4.2.2; de-de; PEDI_PLUS_W Build/JDQ39) AppleWebKit/534.30 "
      "(KHTML, like Gecko) Version/4.0 Safari/534.30",
      "Mozilla/5.0 (Windows; Windows NT 5.1; rv:2.0b3pre) Gecko/20100727 Minefield/4.0.1pre",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
      "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) "
      "Presto/2.5.25 Version/10.54",
      "Mozilla/5.0 (BlackBerry; U; BlackBerry 9800; en) AppleWebKit/534.1+ (KHTML, like Gecko) "
      "Version/6.0.0.337 Mobile Safari/534.1+",
      "Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ (KHTML, like "
      "Gecko) Version/7.2.1.0 Safari/536.2+",
      "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
      "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
      "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)",
      "curl/8.0.1",
      "Wget/1.21.3",
      "",
      "\xff\xfe garbage ((( ;;; Build/",
  };
  for (const char* text : kUserAgents) {
    EXPECT_EQ(ua.Match(text), ua.MatchOneByOne(text)) << text;
    EXPECT_EQ(os.Match(text), os.MatchOneByOne(text)) << text;
    EXPECT_EQ(device.Match(text), device.MatchOneByOne(text)) << text;
  }
  // The specification's own examples.
  EXPECT_EQ((*ua.Match(kUserAgents[5]))[kUaFamily], "Firefox (Minefield)");
  EXPECT_EQ((*ua.Match(kUserAgents[5]))[kUaPatch], "1pre");
  const auto pedi = *device.Match(kUserAgents[4]);
  EXPECT_EQ(pedi[kDeviceFamily], "Odys PEDI PLUS W");
  EXPECT_EQ(pedi[kDeviceBrand], "Odys");
  EXPECT_EQ(pedi[kDeviceModel], "PEDI PLUS W");
}

TEST(ParseUapRegexesTest, ReadsSectionsAndFlags) {
  ASSERT_OK_AND_ASSIGN(UapRegexes r, ParseUapRegexes(R"(
user_agent_parsers:
  - regex: '(Foo)/(\d+)'
    family_replacement: 'Bar $1'
os_parsers: []
device_parsers:
  - regex: 'x'
    regex_flag: 'i'
    device_replacement: 'X'
    brand_replacement: 'B'
)"));
  ASSERT_EQ(r.user_agent.size(), 1u);
  EXPECT_EQ(r.user_agent[0].regex, R"((Foo)/(\d+))");
  EXPECT_FALSE(r.user_agent[0].case_insensitive);
  EXPECT_EQ(r.user_agent[0].replacements[kUaFamily], "Bar $1");
  EXPECT_EQ(r.user_agent[0].replacements[kUaMajor], std::nullopt);
  EXPECT_TRUE(r.os.empty());
  ASSERT_EQ(r.device.size(), 1u);
  EXPECT_TRUE(r.device[0].case_insensitive);
  EXPECT_EQ(r.device[0].replacements[kDeviceBrand], "B");
  EXPECT_EQ(r.device[0].replacements[kDeviceModel], std::nullopt);
}

TEST(ParseUapRegexesTest, RejectsMalformedData) {
  for (const char* yaml : {
           "user_agent_parsers: [\n",                   // not YAML
           "- a\n- b\n",                                // not a map
           "user_agent_parsers: []\nos_parsers: []\n",  // a section missing
           "user_agent_parsers: {}\nos_parsers: []\ndevice_parsers: []\n",
           "user_agent_parsers: [{family_replacement: x}]\nos_parsers: []\ndevice_parsers: []\n",
           "user_agent_parsers: [{regex: [a]}]\nos_parsers: []\ndevice_parsers: []\n",
       }) {
    auto r = ParseUapRegexes(yaml);
    ASSERT_FALSE(r.ok()) << yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << yaml;
  }
}

TEST(LruCacheTest, EvictsTheLeastRecentlyUsed) {
  LruCache<int> cache(2);
  cache.Put("a", 1);
  cache.Put("b", 2);
  EXPECT_EQ(cache.Get("a"), 1);  // a is now the most recent
  cache.Put("c", 3);             // evicts b
  EXPECT_EQ(cache.Get("b"), std::nullopt);
  EXPECT_EQ(cache.Get("a"), 1);
  EXPECT_EQ(cache.Get("c"), 3);
  cache.Put("a", 10);  // replace, no eviction
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Get("a"), 10);
  EXPECT_EQ(cache.Get("c"), 3);

  LruCache<int> none(0);
  none.Put("a", 1);
  EXPECT_EQ(none.Get("a"), std::nullopt);
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace sicher::net::internal
