#pragma once
// FaultInjectingFileSystem: wraps any FileSystem (usually a MemFileSystem) and injects the
// failures that crash and disk-fault tests need (LevelDB's fault_injection_test, as an object):
//
//   FailNextSync(s)    the next Sync() of any file opened through this wrapper, or the fsync
//                      inside WriteFileAtomic, returns `s` and syncs nothing.
//   FailNextWrite(s)   the next Append() or WriteFileAtomic() returns `s` and writes nothing.
//   SetReadOnly(true)  every mutating call fails with PermissionDenied (EROFS) until cleared.
//   Crash()            "crash now": every later call, through the wrapper or through a file
//                      opened before, fails with Unavailable, until Restart().
//   DropUnsyncedData() truncates every file written through the wrapper to the bytes that were
//                      synced (a power cut). Works on any target: it rewrites the file with
//                      WriteFileAtomic, keeping its mode.
//   Restart()          clears the crash, read-only and pending failures; files opened before
//                      the restart stay dead (a new process reopens them).
//
// Synced-byte tracking covers files opened or written through this wrapper. A file's bytes that
// existed before it was first opened here count as synced. Renames carry the tracking along.
//
// Borrows `target`, which must outlive the wrapper. Thread-safe. Files it returns must not
// outlive it.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/file_system.h"

namespace sicher::testing {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(FileSystem& target);
  ~FaultInjectingFileSystem() override;

  FaultInjectingFileSystem(const FaultInjectingFileSystem&) = delete;
  FaultInjectingFileSystem& operator=(const FaultInjectingFileSystem&) = delete;

  // FileSystem.
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) override;
  Result<std::unique_ptr<AppendableFile>> OpenAppendable(const std::string& path,
                                                         uint32_t mode) override;
  Result<FileInfo> Stat(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Status CreateDirs(const std::string& path, uint32_t mode) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status Chmod(const std::string& path, uint32_t mode) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Result<uint64_t> AvailableBytes(const std::string& path) override;

  // Fault controls. Defaults are the errors a real disk gives (EIO, via ErrnoError).
  void FailNextSync(Status error = DefaultIoError("fsync"));
  void FailNextWrite(Status error = DefaultIoError("write"));
  void SetReadOnly(bool read_only);
  void Crash();
  Status DropUnsyncedData();
  void Restart();

  bool crashed() const;
  // Number of successful syncs (file Sync and WriteFileAtomic) since construction.
  int sync_count() const;

  static Status DefaultIoError(std::string_view op);

 private:
  class File;
  struct Tracked {
    uint64_t size = 0;    // bytes written so far
    uint64_t synced = 0;  // bytes durable
  };

  // Returns the error that a call should fail with now, or OK. `mutating` calls also fail when
  // read-only.
  Status GateLocked(bool mutating, std::string_view op, const std::string& path) const;
  // Checks made by an open file before it touches the target.
  Status BeforeFileOp(uint64_t generation, const std::string& path, std::string_view op);
  std::shared_ptr<Tracked> TrackLocked(const std::string& path, uint64_t existing_size);

  FileSystem& target_;
  mutable std::mutex mu_;
  std::optional<Status> next_sync_error_;
  std::optional<Status> next_write_error_;
  bool read_only_ = false;
  bool crashed_ = false;
  uint64_t generation_ = 0;  // bumped by Restart(); older files are dead
  int sync_count_ = 0;
  // Normalised path -> tracking shared with the open files of that path.
  std::map<std::string, std::shared_ptr<Tracked>> tracked_;
};

}  // namespace sicher::testing
