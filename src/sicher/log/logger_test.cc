#include "sicher/log/logger.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "sicher/log/access_log.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/fault_injecting_file_system.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::log {
namespace {

using nlohmann::json;

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class LoggerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Logger> Open(FileSystem& fs, LoggerOptions options = {}) {
    options.dir = "/data/logs";
    options.stderr_stream = &err_;
    Env env{clock_, fs, random_};
    envs_.push_back(std::make_unique<Env>(env));
    auto logger = Logger::Open(*envs_.back(), options);
    EXPECT_TRUE(logger.ok()) << logger.status().ToString();
    return logger.ok() ? std::move(logger).value() : nullptr;
  }
  std::vector<json> ReadLines(const std::string& path) {
    auto text = mem_.ReadFile(path);
    std::vector<json> out;
    if (!text.ok()) return out;
    for (const auto& l : SplitLines(*text)) out.push_back(json::parse(l));
    return out;
  }

  testing::FakeClock clock_;
  testing::SeededRandom random_;
  testing::MemFileSystem mem_{clock_};
  std::vector<std::unique_ptr<Env>> envs_;
  std::ostringstream err_;
};

TEST_F(LoggerTest, WritesEcsLineWithTimestampFromClock) {
  auto logger = Open(mem_);
  ASSERT_NE(logger, nullptr);
  logger->Write(Category::kSecurity, {{"event", {{"action", "login"}, {"outcome", "failure"}}},
                                      {"source", {{"ip", "198.51.100.7"}}}});
  clock_.Advance(std::chrono::seconds(1));
  logger->Write(Category::kSecurity, {{"@timestamp", "given"}});
  auto lines = ReadLines("/data/logs/security.log");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["@timestamp"], "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(lines[0]["event"]["action"], "login");
  EXPECT_EQ(lines[0]["event"]["dataset"], "sicher.security");
  EXPECT_EQ(lines[0]["event"]["kind"], "event");
  EXPECT_EQ(lines[0]["source"]["ip"], "198.51.100.7");
  EXPECT_EQ(lines[1]["@timestamp"], "given");  // present fields are kept
  EXPECT_EQ(logger->PathOf(Category::kSecurity), "/data/logs/security.log");
}

TEST_F(LoggerTest, EachCategoryHasItsFile) {
  auto logger = Open(mem_);
  for (Category c : kAllCategories) logger->Write(c, {{"message", std::string(CategoryName(c))}});
  for (Category c : kAllCategories) {
    auto lines = ReadLines(logger->PathOf(c));
    ASSERT_EQ(lines.size(), 1u) << CategoryName(c);
    EXPECT_EQ(lines[0]["message"], std::string(CategoryName(c)));
  }
  ASSERT_OK_AND_ASSIGN(auto names, mem_.ListDir("/data/logs"));
  EXPECT_EQ(names, (std::vector<std::string>{"access.log", "app.log", "audit.log",
                                             "availability.log", "security.log"}));
  ASSERT_OK_AND_ASSIGN(FileInfo dir, mem_.Stat("/data/logs"));
  EXPECT_EQ(dir.mode, 0750u);
}

TEST_F(LoggerTest, AccessLineRoundTrips) {
  auto logger = Open(mem_);
  logger->Write(Category::kAccess, AccessLogLine("POST", "/v1/login?x=1", 401, 2000, "::1", "ua",
                                                 "rid", "public", "/v1/login", 10));
  auto lines = ReadLines("/data/logs/access.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["url"]["path"], "/v1/login");
  EXPECT_EQ(lines[0]["http"]["response"]["status_code"], 401);
  EXPECT_EQ(lines[0]["event"]["dataset"], "sicher.access");
}

TEST_F(LoggerTest, WriteAccessWritesTheSameLineBuffered) {
  LoggerOptions options;
  options.flush_interval = std::chrono::milliseconds(0);  // no flusher thread: flush by hand
  auto logger = Open(mem_, options);
  clock_.Advance(std::chrono::microseconds(1234567));
  const AccessLogEntry e{.method = "POST",
                         .path = "/v1/login?x=1",
                         .status = 401,
                         .duration_ns = 2000,
                         .client_ip = "::1",
                         .user_agent = "ua\xff",
                         .request_id = "rid",
                         .listener = "public",
                         .route = "/v1/login",
                         .bytes_sent = 10};
  logger->Write(Category::kAccess,
                AccessLogLine(e.method, e.path, e.status, e.duration_ns, e.client_ip, e.user_agent,
                              e.request_id, e.listener, e.route, e.bytes_sent));
  logger->WriteAccess(e);
  ASSERT_OK_AND_ASSIGN(std::string before, mem_.ReadFile("/data/logs/access.log"));
  EXPECT_EQ(SplitLines(before).size(), 1u);  // the WriteAccess line waits in memory
  ASSERT_OK(logger->Flush());
  ASSERT_OK_AND_ASSIGN(std::string text, mem_.ReadFile("/data/logs/access.log"));
  const auto lines = SplitLines(text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_EQ(json::parse(lines[1])["@timestamp"], "2026-01-01T00:00:01.234567Z");
  // Destruction flushes what is left.
  logger->WriteAccess(e);
  logger.reset();
  ASSERT_OK_AND_ASSIGN(text, mem_.ReadFile("/data/logs/access.log"));
  EXPECT_EQ(SplitLines(text).size(), 3u);
}

TEST_F(LoggerTest, AccessLinesReachTheFileWithinTheFlushInterval) {
  LoggerOptions options;
  options.flush_interval = std::chrono::milliseconds(20);
  auto logger = Open(mem_, options);
  logger->WriteAccess({.method = "GET", .path = "/livez", .status = 200, .listener = "public"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t lines = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = mem_.ReadFile("/data/logs/access.log");
    lines = text.ok() ? SplitLines(*text).size() : 0;
    if (lines == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(lines, 1u);
}

TEST_F(LoggerTest, AppLinesGoToStderrAtOrAboveLevel) {
  LoggerOptions options;
  options.stderr_level = Level::kWarn;
  auto logger = Open(mem_, options);
  logger->App(Level::kInfo, "quiet");
  logger->App(Level::kWarn, "disk almost full", {{"host", {{"free_bytes", 10}}}});
  logger->App(Level::kError, "two\nlines");
  EXPECT_EQ(err_.str(),
            "2026-01-01T00:00:00.000000Z WARN  disk almost full {\"host\":{\"free_bytes\":10}}\n"
            "2026-01-01T00:00:00.000000Z ERROR two lines\n");
  auto lines = ReadLines("/data/logs/app.log");
  ASSERT_EQ(lines.size(), 3u);  // the file gets every level
  EXPECT_EQ(lines[0]["log"]["level"], "info");
  EXPECT_EQ(lines[1]["log"]["level"], "warn");
  EXPECT_EQ(lines[2]["message"], "two\nlines");
}

TEST_F(LoggerTest, NonObjectAndInvalidUtf8AreLoggedNotThrown) {
  auto logger = Open(mem_);
  logger->Write(Category::kApp, json("plain text"));
  logger->Write(Category::kApp, json::array({1, 2}));
  logger->Write(Category::kAccess, {{"user_agent", {{"original", "bad\xff\xfe"}}}});
  EXPECT_EQ(logger->dropped_lines(), 0u);
  auto app = ReadLines("/data/logs/app.log");
  ASSERT_EQ(app.size(), 2u);
  EXPECT_EQ(app[0]["message"], "plain text");
  EXPECT_EQ(app[1]["message"], "[1,2]");
  auto access = ReadLines("/data/logs/access.log");
  ASSERT_EQ(access.size(), 1u);
  EXPECT_EQ(access[0]["user_agent"]["original"], "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(LoggerTest, RotationAndRetention) {
  LoggerOptions options;
  options.max_file_bytes = 200;
  options.retention_files = 3;
  auto logger = Open(mem_, options);
  for (int i = 0; i < 50; ++i) logger->Write(Category::kAudit, {{"n", i}});
  ASSERT_OK_AND_ASSIGN(auto names, mem_.ListDir("/data/logs"));
  EXPECT_EQ(names,
            (std::vector<std::string>{"audit.log", "audit.log.1", "audit.log.2", "audit.log.3"}));
  for (const std::string& name : names) {
    ASSERT_OK_AND_ASSIGN(FileInfo info, mem_.Stat("/data/logs/" + name));
    EXPECT_LE(info.size, 200u);
  }
  auto newest = ReadLines("/data/logs/audit.log");
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(newest.back()["n"], 49);
  auto older = ReadLines("/data/logs/audit.log.1");
  ASSERT_FALSE(older.empty());
  EXPECT_EQ(older.back()["n"].get<int>() + 1, newest.front()["n"].get<int>());
}

TEST_F(LoggerTest, FailingDiskDoesNotCrash) {
  testing::FaultInjectingFileSystem faulty(mem_);
  auto logger = Open(faulty);
  logger->App(Level::kInfo, "before");
  faulty.Crash();
  for (int i = 0; i < 100; ++i) logger->Write(Category::kAccess, {{"n", i}});
  logger->App(Level::kError, "while crashed");
  EXPECT_EQ(logger->dropped_lines(Category::kAccess), 100u);
  EXPECT_EQ(logger->dropped_lines(Category::kApp), 1u);
  EXPECT_EQ(logger->dropped_lines(), 101u);
  // Reported once per file, not once per line.
  const std::string err = err_.str();
  size_t reports = 0;
  for (size_t pos = err.find("log: cannot write"); pos != std::string::npos;
       pos = err.find("log: cannot write", pos + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 2u);
  faulty.Restart();
  logger->Write(Category::kAccess, {{"n", "after"}});
  auto lines = ReadLines("/data/logs/access.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["n"], "after");
}

TEST_F(LoggerTest, OpenFailsWhenDirectoryCannotBeCreated) {
  testing::FaultInjectingFileSystem faulty(mem_);
  faulty.SetReadOnly(true);
  Env env{clock_, faulty, random_};
  LoggerOptions options;
  options.dir = "/data/logs";
  EXPECT_EQ(Logger::Open(env, options).status().code(), StatusCode::kPermissionDenied);
  options.dir = "";
  EXPECT_EQ(Logger::Open(env, options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LoggerTest, ConcurrentWritersProduceWholeLines) {
  LoggerOptions options;
  options.max_file_bytes = 1 << 30;
  auto logger = Open(mem_, options);
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string payload(100 + t * 50, static_cast<char>('a' + t));
      for (int i = 0; i < kLines; ++i) {
        logger->Write(Category::kAccess, {{"t", t}, {"i", i}, {"payload", payload}});
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_OK_AND_ASSIGN(std::string text, mem_.ReadFile("/data/logs/access.log"));
  auto lines = SplitLines(text);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const auto& l : lines) {
    json j = json::parse(l);  // throws (fails the test) on a torn line
    const int t = j["t"];
    EXPECT_EQ(j["i"].get<int>(), next[t]++);  // each writer's lines stay in order
    EXPECT_EQ(j["payload"].get<std::string>().size(), static_cast<size_t>(100 + t * 50));
  }
}

TEST(LevelTest, ParseAndNames) {
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(LevelName(Level::kError), "error");
  EXPECT_EQ(ParseLevel("verbose").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CategoryName(Category::kAvailability), "availability");
}

}  // namespace
}  // namespace sicher::log
