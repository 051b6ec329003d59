#pragma once
// FileSystem: the one door to files and directories (LevelDB's Env, narrowed). Production uses
// PosixFileSystem; tests use testing::MemFileSystem (in memory) and
// testing::FaultInjectingFileSystem (fail the next fsync, drop unsynced data, crash now).
//
// Paths are plain strings. Every call returns a Status instead of throwing; errno is translated
// once, here. Implementations must be thread-safe; an individual AppendableFile is not.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/status.h"

namespace sicher {

// A file open for appending (logs, journals). Not thread-safe; the owner serialises calls.
class AppendableFile {
 public:
  virtual ~AppendableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Pushes buffered data to the operating system.
  virtual Status Flush() = 0;
  // Makes appended data durable (fsync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file, including what this handle appended.
  virtual uint64_t Size() const = 0;
};

struct FileInfo {
  uint64_t size = 0;
  Time modified{};
  uint32_t mode = 0;  // permission bits
  bool is_directory = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Writes `data` to a temporary file beside `path`, fsyncs it, sets `mode`, renames it over
  // `path` and fsyncs the directory: readers see the old or the new content, never a mix.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) = 0;
  // Opens (creating with `mode` if absent) for appending.
  virtual Result<std::unique_ptr<AppendableFile>> OpenAppendable(const std::string& path,
                                                                 uint32_t mode) = 0;
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Creates the directory and missing parents with `mode`; OK if it exists.
  virtual Status CreateDirs(const std::string& path, uint32_t mode) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status Chmod(const std::string& path, uint32_t mode) = 0;
  // Names (not paths) of the entries in `dir`, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Bytes available to an unprivileged user on the file system holding `path`.
  virtual Result<uint64_t> AvailableBytes(const std::string& path) = 0;
};

// The real file system. Thread-safe.
class PosixFileSystem final : public FileSystem {
 public:
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
};

// "a/b" + "c" -> "a/b/c".
std::string JoinPath(std::string_view dir, std::string_view name);
// "a/b/c" -> "a/b"; "c" -> ".".
std::string DirName(std::string_view path);

}  // namespace sicher
