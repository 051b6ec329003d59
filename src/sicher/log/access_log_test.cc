#include "sicher/log/access_log.h"

#include <gtest/gtest.h>

#include <random>

namespace sicher::log {
namespace {

TEST(AccessLogLineTest, EcsFields) {
  nlohmann::json line = AccessLogLine("GET", "/v1/documents/7", 200, 1500, "203.0.113.9",
                                      "curl/8.0", "req-1", "public", "/v1/documents/{id}", 42);
  EXPECT_EQ(line["event"]["category"], nlohmann::json::array({"web"}));
  EXPECT_EQ(line["event"]["outcome"], "success");
  EXPECT_EQ(line["event"]["duration"], 1500);
  EXPECT_EQ(line["http"]["request"]["method"], "GET");
  EXPECT_EQ(line["http"]["request"]["id"], "req-1");
  EXPECT_EQ(line["http"]["response"]["status_code"], 200);
  EXPECT_EQ(line["http"]["response"]["body"]["bytes"], 42);
  EXPECT_EQ(line["url"]["path"], "/v1/documents/7");
  EXPECT_EQ(line["source"]["ip"], "203.0.113.9");
  EXPECT_EQ(line["user_agent"]["original"], "curl/8.0");
  EXPECT_EQ(line["sicher"]["listener"], "public");
  EXPECT_EQ(line["sicher"]["route"], "/v1/documents/{id}");
}

TEST(AccessLogLineTest, NeverLogsQueryString) {
  nlohmann::json line =
      AccessLogLine("GET", "/p/abc?token=secret#frag", 404, 1, "", "", "r", "public", "", 0);
  EXPECT_EQ(line["url"]["path"], "/p/abc");
  EXPECT_EQ(line.dump().find("secret"), std::string::npos);
  EXPECT_EQ(line["event"]["outcome"], "failure");
  EXPECT_FALSE(line.contains("source"));
  EXPECT_FALSE(line.contains("user_agent"));
  EXPECT_FALSE(line["sicher"].contains("route"));
}

TEST(AccessLogLineTest, TruncatesUserAgentOnCharacterBoundary) {
  std::string ua(511, 'a');
  ua += "\xC3\xA9";  // "é": bytes 511 and 512
  ua += std::string(100, 'b');
  nlohmann::json line = AccessLogLine("GET", "/", 0, 0, "", ua, "", "public", "", 0);
  const std::string got = line["user_agent"]["original"];
  EXPECT_EQ(got, std::string(511, 'a'));
  EXPECT_EQ(line["event"]["outcome"], "unknown");
  EXPECT_EQ(TruncateUtf8(std::string(600, 'x'), kMaxUserAgentBytes).size(), 512u);
  EXPECT_EQ(TruncateUtf8("short", 512), "short");
}

std::string Built(Time t, const AccessLogEntry& e) {
  fmt::memory_buffer out;
  AppendAccessLogLine(t, e, out);
  return fmt::to_string(out);
}

// The line Logger::Write(Category::kAccess, AccessLogLine(...)) wrote before AppendAccessLogLine
// existed: the json value plus what the logger adds, dumped as the logger dumps.
std::string Reference(Time t, const AccessLogEntry& e) {
  nlohmann::json line =
      AccessLogLine(e.method, e.path, e.status, e.duration_ns, e.client_ip, e.user_agent,
                    e.request_id, e.listener, e.route, e.bytes_sent);
  line["@timestamp"] = FormatRfc3339(t);
  line["event"]["dataset"] = "sicher.access";
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string JsonString(std::string_view s) {
  fmt::memory_buffer out;
  AppendJsonString(s, out);
  return fmt::to_string(out);
}

std::string NlohmannString(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const Time kT = Time(std::chrono::seconds(1767225600) + std::chrono::microseconds(123456));

TEST(AppendAccessLogLineTest, SameBytesAsTheJsonLine) {
  const AccessLogEntry full{.method = "GET",
                            .path = "/v1/documents/7?token=secret",
                            .status = 200,
                            .duration_ns = 1500,
                            .client_ip = "203.0.113.9",
                            .user_agent = "curl/8.0",
                            .request_id = "0123456789abcdef0123456789abcdef",
                            .listener = "public",
                            .route = "/v1/documents/{id}",
                            .bytes_sent = 42};
  EXPECT_EQ(Built(kT, full), Reference(kT, full));
  EXPECT_EQ(
      Built(kT, full),
      "{\"@timestamp\":\"2026-01-01T00:00:00.123456Z\",\"event\":{\"action\":\"http_request\","
      "\"category\":[\"web\"],\"dataset\":\"sicher.access\",\"duration\":1500,\"kind\":"
      "\"event\",\"outcome\":\"success\"},\"http\":{\"request\":{\"id\":"
      "\"0123456789abcdef0123456789abcdef\",\"method\":\"GET\"},\"response\":{\"body\":"
      "{\"bytes\":42},\"status_code\":200}},\"sicher\":{\"listener\":\"public\",\"route\":"
      "\"/v1/documents/{id}\"},\"source\":{\"ip\":\"203.0.113.9\"},\"url\":{\"path\":"
      "\"/v1/documents/7\"},\"user_agent\":{\"original\":\"curl/8.0\"}}");
  // Optional fields left out, other outcomes, extreme numbers.
  const AccessLogEntry bare{.method = "POST",
                            .path = "/p#frag",
                            .status = 503,
                            .duration_ns = -1,
                            .listener = "operator",
                            .bytes_sent = UINT64_MAX};
  EXPECT_EQ(Built(kT, bare), Reference(kT, bare));
  const AccessLogEntry unknown{.path = "", .status = 0, .listener = "redirect"};
  EXPECT_EQ(Built(kT, unknown), Reference(kT, unknown));
  // A long user agent with a character across the cut, and hostile strings everywhere.
  std::string ua(511, 'a');
  ua += "\xC3\xA9" + std::string(100, 'b');
  const AccessLogEntry hostile{.method = "G\"ET\\",
                               .path = "/a\"b\\c\n\r\t\x01\x7f\xff\xC3",
                               .status = 404,
                               .client_ip = "::1",
                               .user_agent = ua,
                               .request_id = "id\x01",
                               .listener = "public",
                               .route = "unmatched"};
  EXPECT_EQ(Built(kT, hostile), Reference(kT, hostile));
  const std::string line = Built(kT, hostile);
  EXPECT_EQ(nlohmann::json::parse(line)["user_agent"]["original"], std::string(511, 'a'));
  EXPECT_EQ(line.find("secret"), std::string::npos);
}

TEST(AppendAccessLogLineTest, TimestampsMatchFormatRfc3339) {
  fmt::memory_buffer out;
  for (int64_t us : {int64_t{0}, int64_t{999999}, int64_t{1000000}, int64_t{1767225599999999},
                     int64_t{1767225600000000}, int64_t{253402300799999999}}) {
    const Time t{std::chrono::microseconds(us)};
    out.clear();
    AppendRfc3339(t, out);
    EXPECT_EQ(fmt::to_string(out), FormatRfc3339(t)) << us;
  }
}

TEST(AppendJsonStringTest, EscapesExactlyAsNlohmann) {
  for (std::string_view s : {
           std::string_view(""),
           std::string_view("plain"),
           std::string_view("\"\\/"),
           std::string_view("\b\f\n\r\t\x0b\x1f\x7f", 8),
           std::string_view("\0x", 2),
           std::string_view("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),  // valid 2, 3, 4 bytes
           std::string_view("\xC3"),
           std::string_view("\xE2\x82"),
           std::string_view("\xF0\x9F\x98"),
           std::string_view("\xC0\xAF"),
           std::string_view("\xE0\x80\xAF"),  // overlong
           std::string_view("\xED\xA0\x80"),  // surrogate
           std::string_view("\xF4\x90\x80\x80"),
           std::string_view("\xF5\x80"),  // > U+10FFFF
           std::string_view("\x80\xBF"),
           std::string_view("\xC3\x41"),
           std::string_view("\xE2\x82\x41"),
           std::string_view("\xFF\xFE"),
           std::string_view("a\xF0\x9F\x98z\xF0\x9F"),
       }) {
    EXPECT_EQ(JsonString(s), NlohmannString(s)) << ::testing::PrintToString(std::string(s));
  }
}

TEST(AppendJsonStringTest, RandomBytesEscapeExactlyAsNlohmann) {
  std::mt19937 rng(42);
  // Mostly bytes that matter: controls, quotes, lead and continuation bytes.
  const std::string interesting = std::string(1, '\0') +
                                  "\x01\x1f \"\\a\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf"
                                  "\xe0\xe1\xed\xee\xef\xf0\xf1\xf4\xf5\xff";
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) {
      c = rng() % 2 ? interesting[rng() % interesting.size()] : static_cast<char>(rng() % 256);
    }
    ASSERT_EQ(JsonString(s), NlohmannString(s)) << ::testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace sicher::log
