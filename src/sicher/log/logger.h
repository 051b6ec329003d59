#pragma once
// Logger: sicher's structured logs. One JSON Lines file per category in one directory
// (`<dir>/security.log`, `access.log`, `audit.log`, `availability.log`, `app.log`), each a
// LogSink with size-based rotation and a retention count; `app` lines at or above a level are
// also printed to stderr in a readable one-line form.
//
// Field names follow Elastic Common Schema, as nested objects:
//   {"@timestamp":"2026-01-01T00:00:00.000000Z", "event":{"action","outcome","duration",...},
//    "source":{"ip"}, "user_agent":{"original"}, "url":{"path"}, "log":{"level"}, "message"}
// Write() fills in, when absent: "@timestamp" (RFC 3339 UTC from Env.clock), "event.dataset"
// ("sicher.<category>": ECS's field for which log a line belongs to), "event.kind" ("event"),
// and for `app` lines "log.level" ("info"). It does not invent an "event.category": ECS allows
// only a fixed list of values (web, authentication, iam, ...), which the caller knows and the
// logger does not; AccessLogLine() sets it to ["web"].
//
// Never throws, never aborts on a disk error: a line that cannot be written (or serialised) is
// dropped and counted (dropped_lines()); the first failure of a file is reported once on stderr.
// Invalid UTF-8 in strings is replaced with U+FFFD rather than failing.
//
// Durability: Write() and App() are write-through: the line is in the file (not yet fsynced)
// when they return. WriteAccess() (the one access line per request, on the request path) is
// buffered: its lines reach access.log within `flush_interval` (100 ms), in one write per batch
// of up to 64 KiB, and on Sync() and destruction; a crash can lose the last 100 ms of access
// lines. Security, audit, availability and app lines are never buffered.
//
// Forwarding: SetForwarder() hands every line (all categories, including buffered access lines,
// whether or not the file write succeeded) to a LineForwarder as well, e.g. the SyslogSink.
//
// Thread-safe: a mutex per category file, so lines never interleave. Borrows Env (clock, file
// system), which must outlive the Logger. With a positive flush_interval the Logger runs one
// thread that flushes the access buffer on that (real-time) period.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

#include "sicher/base/env.h"
#include "sicher/base/status.h"
#include "sicher/log/access_log.h"
#include "sicher/log/log_sink.h"

namespace sicher::log {

enum class Category { kSecurity, kAccess, kAudit, kAvailability, kApp };
inline constexpr std::array<Category, 5> kAllCategories = {Category::kSecurity, Category::kAccess,
                                                           Category::kAudit,
                                                           Category::kAvailability, Category::kApp};
// "security", "access", "audit", "availability", "app": also the file names.
std::string_view CategoryName(Category category);

enum class Level { kDebug, kInfo, kWarn, kError };
// "debug", "info", "warn", "error" (the config values of log.stderr_level).
std::string_view LevelName(Level level);
// Parses the names above; InvalidArgument otherwise.
Result<Level> ParseLevel(std::string_view name);

// One line as the Logger wrote it, for a LineForwarder.
struct LogLine {
  Category category;
  Level level;            // app lines: their log.level; Level::kInfo for the other categories
  Time time;              // the line's @timestamp: the caller's, or when the Logger wrote it
  std::string_view text;  // the JSON line, without newline; valid only during Forward()
};

// Receives a copy of each line the Logger writes. Forward() runs on the writing thread (any
// thread, concurrently), after the line went to its file; it must not block on I/O, must not
// throw, and must not call back into the Logger.
class LineForwarder {
 public:
  virtual ~LineForwarder() = default;
  virtual void Forward(const LogLine& line) = 0;
};

class Logger;

// Sets a forwarder for its own lifetime: Logger::SetForwarder(forwarder) now (unless nullptr),
// SetForwarder(nullptr) when destroyed. Declare it after the forwarder, so it is destroyed first.
class ScopedForwarder {
 public:
  ScopedForwarder(Logger& logger, LineForwarder* forwarder);
  ~ScopedForwarder();
  ScopedForwarder(const ScopedForwarder&) = delete;
  ScopedForwarder& operator=(const ScopedForwarder&) = delete;

 private:
  Logger& logger_;
  const bool active_;
};

struct LoggerOptions {
  std::string dir;                           // created (0750) if missing
  uint64_t max_file_bytes = 64ull << 20;     // config log.max_file_bytes
  int retention_files = 10;                  // config log.retention_files
  Level stderr_level = Level::kInfo;         // config log.stderr_level
  std::ostream* stderr_stream = &std::cerr;  // app lines and failure reports; nullptr: none
  // How long WriteAccess lines may wait in memory. 0: no flusher thread; they are written when
  // 64 KiB collect, and by Flush(), Sync() and destruction (for tests).
  std::chrono::milliseconds flush_interval{100};
};

class Logger {
 public:
  // Creates `options.dir` (0750). Returns the error if it cannot be created. Files are opened on
  // first use (rotated files beyond the retention count are removed then).
  static Result<std::unique_ptr<Logger>> Open(Env& env, LoggerOptions options);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Writes one line to `category`'s file. `fields` should be a JSON object; anything else is
  // logged as {"message": <its JSON text>}.
  void Write(Category category, nlohmann::json fields);
  // An `app` line: {"log":{"level"}, "message", ...fields}.
  void App(Level level, std::string_view message, nlohmann::json fields = nlohmann::json::object());
  // The access line for one request (access_log.h), stamped now: the same text as
  // Write(Category::kAccess, AccessLogLine(...)), built without a json value and buffered (see
  // Durability above).
  void WriteAccess(const AccessLogEntry& entry);

  // Writes buffered access lines to the file (no fsync); returns the error.
  Status Flush();
  // Flushes, then fsyncs every open file; returns the first error.
  Status Sync();

  // Hands every line written from now on to `forwarder` as well; nullptr stops forwarding.
  // Returns once no call to the previous forwarder is in progress, so the caller may destroy
  // it then. `forwarder` must stay alive until it is replaced (or the Logger is destroyed).
  void SetForwarder(LineForwarder* forwarder);

  // Lines dropped because of write or serialisation failures, in total and per category.
  uint64_t dropped_lines() const;
  uint64_t dropped_lines(Category category) const;

  // "<dir>/<category>.log".
  std::string PathOf(Category category) const;

 private:
  Logger(Env& env, LoggerOptions options);
  void Report(std::string_view line);
  void PrintApp(const nlohmann::json& line);

  void RunFlusher();
  void ForwardLine(const LogLine& line);

  Env& env_;
  const LoggerOptions options_;
  std::array<std::unique_ptr<LogSink>, kAllCategories.size()> sinks_;
  std::array<std::atomic<uint64_t>, kAllCategories.size()> serialise_failures_{};
  std::mutex stderr_mu_;

  // SetForwarder's target: readers hold forwarder_mu_ shared while they call it. forwarding_
  // lets lines skip the lock when there is none.
  std::shared_mutex forwarder_mu_;
  LineForwarder* forwarder_ = nullptr;  // guarded by forwarder_mu_
  std::atomic<bool> forwarding_{false};

  // The access-buffer flusher (when flush_interval > 0).
  std::mutex flusher_mu_;
  std::condition_variable flusher_cv_;
  bool stopping_ = false;  // guarded by flusher_mu_
  std::thread flusher_;
};

}  // namespace sicher::log
