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
// Buffering: Write() is write-through (one append per line, visible at once). WriteBuffered()
// collects lines in memory and appends them in one write when the buffer would pass
// kBufferBytes, and on Flush(), Sync(), Close(), rotation, a Write() (which flushes first, so
// lines stay in order) and destruction. Until then buffered lines are not in the file and are
// lost if the process dies; the owner flushes them on a timer (Logger: every 100 ms). Write
// failures of a flush are counted (every line of the batch) and reported like Write()'s.
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

  // Buffered lines are appended in one write once they would pass this many bytes.
  static constexpr size_t kBufferBytes = 64 * 1024;

  // Appends `line` and a newline. `line` must not contain a newline (JSON dumps do not).
  // Returns the error if the line was dropped (it is already counted and reported).
  Status Write(std::string_view line);
  // Adds `line` and a newline to the buffer (see above). Returns the error of a flush this
  // caused (the flushed lines are counted and reported); OK otherwise.
  Status WriteBuffered(std::string_view line);
  // Appends the buffered lines to the file (no fsync).
  Status Flush();
  // Makes every written line durable (flush, then fsync). Errors are returned; lines lost in
  // the flush are counted.
  Status Sync();
  // Flushes and closes the file; a later Write reopens it.
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
  // Opens the file if needed and rotates it first if `incoming` more bytes would take it past
  // max_file_bytes. Returns the error if no file is open afterwards (not yet counted).
  Status PrepareLocked(uint64_t incoming);
  Status FlushLocked();
  // Counts `lines` as dropped, closes the file and reports the first failure.
  void FailLocked(const Status& status, uint64_t lines);
  // Reports a recovery after failures.
  void SucceededLocked();

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
  std::string buffer_;    // WriteBuffered lines not yet appended, each with its newline
  uint64_t buffered_lines_ = 0;
  std::string scratch_;  // Write()'s line and newline, reused
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace sicher::log
