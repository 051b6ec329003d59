#pragma once
// LogSink: one JSON Lines file (`<dir>/<name>.log`) with size-based rotation and a retention
// count. Logger owns one per category; other code should use Logger.
//
// Rotation: when the next line would take the file past `max_file_bytes` (and the file is not
// empty), the file is closed and renamed `<name>.log.1`, older files shift up (.1 -> .2 ...) and
// any beyond `retention_files` are deleted (also at the first open, so a lowered count takes
// effect); 0 keeps no rotated files. A single line longer than
// the limit is written whole to a fresh file. Files are created, and kept, with mode 0640.
//
// Failure: a line that cannot be written is dropped and counted (dropped_lines()); the first
// failure is reported through `report`, later ones only counted until a write succeeds again,
// which is reported too (with the count). A failed rotation is reported and logging continues in
// the current file. Nothing here throws or aborts on a disk error.
//
// Thread-safe: one mutex serialises writers, so lines never interleave. Borrows `fs`, which must
// outlive the sink. Does not touch the disk before the first Write.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sicher/base/file_system.h"
#include "sicher/base/status.h"

namespace sicher::log {

class LogSink {
 public:
  // Receives one human-readable line about a failure or a recovery (no newline).
  using Reporter = std::function<void(std::string_view)>;

  LogSink(FileSystem& fs, std::string dir, std::string name, uint64_t max_file_bytes,
          int retention_files, Reporter report);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Appends `line` and a newline. `line` must not contain a newline (JSON dumps do not).
  // Returns the error if the line was dropped (it is already counted and reported).
  Status Write(std::string_view line);
  // Makes every written line durable (fsync). Errors are returned, not counted.
  Status Sync();
  // Closes the file; a later Write reopens it.
  Status Close();

  uint64_t dropped_lines() const { return dropped_.load(std::memory_order_relaxed); }
  // "<dir>/<name>.log".
  const std::string& path() const { return path_; }
  // "<dir>/<name>.log.<n>".
  std::string RotatedPath(int n) const;

 private:
  Status OpenLocked();
  Status RotateLocked();
  Status RemoveStaleLocked();
  void FailLocked(const Status& status);

  FileSystem& fs_;
  const std::string dir_;
  const std::string name_;
  const std::string path_;
  const uint64_t max_file_bytes_;
  const int retention_files_;
  const Reporter report_;

  std::mutex mu_;
  std::unique_ptr<AppendableFile> file_;
  bool failing_ = false;  // the last write failed; suppresses repeated reports
  bool rotation_failing_ = false;
  bool cleaned_ = false;  // stale rotated files removed after the first open
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace sicher::log
