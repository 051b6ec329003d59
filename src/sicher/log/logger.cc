#include "sicher/log/logger.h"

#include <fmt/format.h>

#include <cctype>

namespace sicher::log {
namespace {

using nlohmann::json;

size_t Index(Category category) { return static_cast<size_t>(category); }

std::string Dump(const json& j) {
  // Replace invalid UTF-8 (user agents, paths) instead of throwing.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

// Sets obj[key] = value unless present. `obj` must be an object.
void Default(json& obj, const char* key, json value) {
  if (!obj.contains(key)) obj[key] = std::move(value);
}

// The time in `line`'s @timestamp (the caller may have set its own); `fallback` if it has none
// that parses.
Time TimeOf(const json& line, Time fallback) {
  const auto it = line.find("@timestamp");
  Time t;
  if (it != line.end() && it->is_string() && ParseRfc3339(it->get_ref<const std::string&>(), &t)) {
    return t;
  }
  return fallback;
}

// The level in `line`'s log.level; kInfo if it has none or an unknown one.
Level LevelOf(const json& line) {
  const json* log = line.contains("log") ? &line["log"] : nullptr;
  if (log != nullptr && log->is_object() && log->contains("level") && (*log)["level"].is_string()) {
    Result<Level> parsed = ParseLevel((*log)["level"].get<std::string>());
    if (parsed.ok()) return *parsed;
  }
  return Level::kInfo;
}

}  // namespace

std::string_view CategoryName(Category category) {
  switch (category) {
    case Category::kSecurity:
      return "security";
    case Category::kAccess:
      return "access";
    case Category::kAudit:
      return "audit";
    case Category::kAvailability:
      return "availability";
    case Category::kApp:
      return "app";
  }
  return "app";
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

Result<Level> ParseLevel(std::string_view name) {
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(level)) return level;
  }
  return InvalidArgumentError(
      fmt::format("unknown log level \"{}\" (expected debug, info, warn or error)", name));
}

Result<std::unique_ptr<Logger>> Logger::Open(Env& env, LoggerOptions options) {
  if (options.dir.empty()) return InvalidArgumentError("log directory is empty");
  RETURN_IF_ERROR(env.fs.CreateDirs(options.dir, 0750));
  return std::unique_ptr<Logger>(new Logger(env, std::move(options)));
}

Logger::Logger(Env& env, LoggerOptions options) : env_(env), options_(std::move(options)) {
  for (Category c : kAllCategories) {
    sinks_[Index(c)] = std::make_unique<LogSink>(
        env_.fs, options_.dir, std::string(CategoryName(c)), options_.max_file_bytes,
        options_.retention_files, [this](std::string_view line) { Report(line); });
  }
  if (options_.flush_interval.count() > 0) flusher_ = std::thread([this] { RunFlusher(); });
}

Logger::~Logger() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(flusher_mu_);
      stopping_ = true;
    }
    flusher_cv_.notify_all();
    flusher_.join();
  }
  // The sinks flush their buffers as they close.
}

void Logger::RunFlusher() {
  std::unique_lock lock(flusher_mu_);
  while (!flusher_cv_.wait_for(lock, options_.flush_interval, [this] { return stopping_; })) {
    lock.unlock();
    (void)sinks_[Index(Category::kAccess)]->Flush();  // failures are counted and reported
    lock.lock();
  }
}

void Logger::WriteAccess(const AccessLogEntry& entry) {
  thread_local fmt::memory_buffer line;
  line.clear();
  const Time now = env_.clock.Now();
  try {
    AppendAccessLogLine(now, entry, line);
  } catch (...) {  // allocation failure only
    serialise_failures_[Index(Category::kAccess)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string_view text(line.data(), line.size());
  (void)sinks_[Index(Category::kAccess)]->WriteBuffered(text);
  if (forwarding_.load(std::memory_order_acquire)) {
    ForwardLine({.category = Category::kAccess, .level = Level::kInfo, .time = now, .text = text});
  }
}

void Logger::SetForwarder(LineForwarder* forwarder) {
  std::unique_lock lock(forwarder_mu_);  // waits for calls in progress
  forwarder_ = forwarder;
  forwarding_.store(forwarder != nullptr, std::memory_order_release);
}

ScopedForwarder::ScopedForwarder(Logger& logger, LineForwarder* forwarder)
    : logger_(logger), active_(forwarder != nullptr) {
  if (active_) logger_.SetForwarder(forwarder);
}

ScopedForwarder::~ScopedForwarder() {
  if (active_) logger_.SetForwarder(nullptr);
}

void Logger::ForwardLine(const LogLine& line) {
  std::shared_lock lock(forwarder_mu_);
  if (forwarder_ == nullptr) return;
  try {
    forwarder_->Forward(line);
  } catch (...) {  // a forwarder must not throw; never let one reach the caller
  }
}

Status Logger::Flush() {
  Status first;
  for (auto& sink : sinks_) {
    Status s = sink->Flush();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

std::string Logger::PathOf(Category category) const { return sinks_[Index(category)]->path(); }

void Logger::Report(std::string_view line) {
  if (options_.stderr_stream == nullptr) return;
  std::lock_guard lock(stderr_mu_);
  *options_.stderr_stream << line << '\n' << std::flush;
}

void Logger::Write(Category category, json fields) {
  try {
    if (!fields.is_object()) {
      json wrapped = json::object();
      wrapped["message"] = fields.is_string() ? fields : json(Dump(fields));
      fields = std::move(wrapped);
    }
    const Time now = env_.clock.Now();
    Default(fields, "@timestamp", FormatRfc3339(now));
    json& event = fields["event"];
    if (event.is_null()) event = json::object();
    if (event.is_object()) {
      Default(event, "dataset", "sicher." + std::string(CategoryName(category)));
      Default(event, "kind", "event");
    }
    if (category == Category::kApp) {
      json& log = fields["log"];
      if (log.is_null()) log = json::object();
      if (log.is_object()) Default(log, "level", "info");
    }
    const std::string line = Dump(fields);
    (void)sinks_[Index(category)]->Write(line);
    if (forwarding_.load(std::memory_order_acquire)) {
      ForwardLine({.category = category,
                   .level = category == Category::kApp ? LevelOf(fields) : Level::kInfo,
                   .time = TimeOf(fields, now),
                   .text = line});
    }
    if (category == Category::kApp) PrintApp(fields);
  } catch (...) {
    // Only allocation failure or a malformed json value can land here: count, never throw.
    serialise_failures_[Index(category)].fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::App(Level level, std::string_view message, json fields) {
  if (!fields.is_object()) fields = json::object();
  fields["log"]["level"] = std::string(LevelName(level));
  fields["message"] = std::string(message);
  Write(Category::kApp, std::move(fields));
}

void Logger::PrintApp(const json& line) {
  if (options_.stderr_stream == nullptr) return;
  const Level level = LevelOf(line);
  if (level < options_.stderr_level) return;

  // "2026-01-01T00:00:00.000000Z WARN  disk almost full {"host":{...}}"
  json rest = line;
  std::string timestamp = rest.value("@timestamp", "");
  rest.erase("@timestamp");
  std::string message;
  if (rest.contains("message")) {
    message =
        rest["message"].is_string() ? rest["message"].get<std::string>() : Dump(rest["message"]);
    rest.erase("message");
  }
  if (rest["log"].is_object()) rest["log"].erase("level");
  if (rest["log"].empty()) rest.erase("log");
  if (rest["event"].is_object()) {
    rest["event"].erase("dataset");
    rest["event"].erase("kind");
  }
  if (rest["event"].empty()) rest.erase("event");
  std::string level_name(LevelName(level));
  for (char& c : level_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out = fmt::format("{} {:<5} {}", timestamp, level_name, message);
  if (!rest.empty()) out += " " + Dump(rest);
  // One line, whatever the message holds.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::lock_guard lock(stderr_mu_);
  *options_.stderr_stream << out << '\n' << std::flush;
}

Status Logger::Sync() {
  Status first;
  for (auto& sink : sinks_) {
    Status s = sink->Sync();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

uint64_t Logger::dropped_lines() const {
  uint64_t total = 0;
  for (Category c : kAllCategories) total += dropped_lines(c);
  return total;
}

uint64_t Logger::dropped_lines(Category category) const {
  return sinks_[Index(category)]->dropped_lines() +
         serialise_failures_[Index(category)].load(std::memory_order_relaxed);
}

}  // namespace sicher::log
