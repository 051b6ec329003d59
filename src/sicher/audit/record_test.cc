#include "sicher/audit/record.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>
#include <vector>

#include "sicher/audit/log.h"

namespace sicher::audit {
namespace {

RecordFields Full(const nlohmann::json& details) {
  return RecordFields{.timestamp = "2026-11-27T07:00:00.123456Z",
                      .id = "aev_1",
                      .action = "member.role_changed",
                      .category = "iam",
                      .outcome = "success",
                      .reason = "ok",
                      .sequence = 42,
                      .log_index = 18446744073709551615u,
                      .scope = "acc_1",
                      .actor_type = "user",
                      .actor_id = "usr_1",
                      .target_type = "user",
                      .target_id = "usr_2",
                      .device_type = "desktop",
                      .details = &details,
                      .account_id = "acc_1",
                      .ip = "2001:db8::1",
                      .country = "DE",
                      .user_agent = "Mozilla/5.0 (X11; Linux x86_64)",
                      .request_id = "req-1",
                      .actor_is_principal = true};
}

TEST(RecordTest, FastRendererEqualsTheCanonicalTree) {
  const nlohmann::json details = {{"changes", {{"role", {{"from", "member"}, {"to", "admin"}}}}}};
  RecordFields f = Full(details);
  EXPECT_EQ(RenderRecord(f), CanonicalJson(RecordTree(f)));
  // Every optional field absent.
  const nlohmann::json none = nlohmann::json::object();
  RecordFields bare{.timestamp = "t",
                    .id = "aev_2",
                    .action = "keys.rotated",
                    .category = "configuration",
                    .outcome = "success",
                    .sequence = 1,
                    .log_index = 0,
                    .scope = "system",
                    .actor_type = "system",
                    .details = &none};
  EXPECT_EQ(RenderRecord(bare), CanonicalJson(RecordTree(bare)));
  // Country without IP, target without id, no details pointer.
  bare.country = "NL";
  bare.target_type = "keyring";
  bare.details = nullptr;
  EXPECT_EQ(RenderRecord(bare), CanonicalJson(RecordTree(bare)));
}

TEST(RecordTest, EscapingMatchesForEveryByte) {
  const nlohmann::json details = nlohmann::json::object();
  // Every single byte 0x00..0x7f, and multi-byte UTF-8, in a User-Agent.
  std::string ua;
  for (int c = 0; c < 0x80; ++c) ua += static_cast<char>(c);
  ua += "\xc3\xa4\xe2\x82\xac\xf0\x9f\x94\x92";  // ä € 🔒
  RecordFields f = Full(details);
  f.user_agent = ua;
  f.reason = "quote\" backslash\\ slash/";
  EXPECT_EQ(RenderRecord(f), CanonicalJson(RecordTree(f)));
  EXPECT_NE(RenderRecord(f).find("\\u0000"), std::string::npos);
  EXPECT_NE(RenderRecord(f).find("\\u001f"), std::string::npos);
}

TEST(RecordTest, InvalidUtf8BecomesTheReplacementCharacterAsInTheTree) {
  const nlohmann::json details = nlohmann::json::object();
  for (std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80")}) {
    RecordFields f = Full(details);
    f.user_agent = bad;
    const std::string out = RenderRecord(f);
    EXPECT_EQ(out, CanonicalJson(RecordTree(f)));
    EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
    EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
  }
}

TEST(RecordTest, RandomFieldsAgree) {
  std::mt19937 rng(7);
  const std::string alphabet = std::string("abcXYZ019 ,\"\\/\n\t\x01{}[]:") + "\xc3\xa9";
  auto word = [&](size_t max) {
    std::string s;
    const size_t n = rng() % (max + 1);
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int i = 0; i < 2000; ++i) {
    const nlohmann::json details =
        rng() % 2 ? nlohmann::json::object()
                  : nlohmann::json{{word(5), word(8)}, {"n", static_cast<int64_t>(rng())}};
    std::vector<std::string> s;
    for (int k = 0; k < 14; ++k) s.push_back(word(k % 3 == 0 ? 0 : 12));
    RecordFields f{.timestamp = s[1],
                   .id = s[2],
                   .action = s[3],
                   .category = s[4],
                   .outcome = s[5],
                   .reason = s[6],
                   .sequence = static_cast<int64_t>(rng()),
                   .log_index = rng(),
                   .scope = s[7],
                   .actor_type = s[8],
                   .actor_id = s[9],
                   .target_type = s[10],
                   .target_id = s[11],
                   .device_type = s[12],
                   .details = &details,
                   .account_id = s[13],
                   .ip = s[0],
                   .country = s[3],
                   .user_agent = s[6],
                   .request_id = s[9],
                   .actor_is_principal = rng() % 2 == 0};
    ASSERT_EQ(RenderRecord(f), CanonicalJson(RecordTree(f))) << i;
    // Rendered without its position, completed later: the same bytes.
    RecordFields blank = f;
    blank.timestamp = "x";
    blank.sequence = 0;
    blank.log_index = 0;
    blank.scope = "y";
    const RecordTemplate t = RecordTemplate::Render(blank);
    ASSERT_EQ(t.Complete(f.timestamp, f.sequence, f.log_index, f.scope),
              CanonicalJson(RecordTree(f)))
        << i;
  }
}

TEST(RecordTest, TemplateCompletesToTheFullRecordAtAnyPosition) {
  const nlohmann::json details = {{"bytes", 42}};
  RecordFields f = Full(details);
  const RecordTemplate t = RecordTemplate::Render(f);
  for (const auto& [ts, seq, index, scope] :
       std::vector<std::tuple<std::string, int64_t, uint64_t, std::string>>{
           {"2026-01-01T00:00:00.000000Z", 1, 0, "acc_1"},
           {"2027-12-31T23:59:59.999999Z", INT64_MAX, UINT64_MAX, "system"},
           {"t", -5, 7, "sc\"ope\n"}}) {
    f.timestamp = ts;
    f.sequence = seq;
    f.log_index = index;
    f.scope = scope;
    EXPECT_EQ(t.Complete(ts, seq, index, scope), CanonicalJson(RecordTree(f)));
  }
}

}  // namespace
}  // namespace sicher::audit
