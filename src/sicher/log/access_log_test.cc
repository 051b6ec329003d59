#include "sicher/log/access_log.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sicher::log
