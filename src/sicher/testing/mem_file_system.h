#pragma once
// MemFileSystem: an in-memory FileSystem for tests. It implements every method of
// base/file_system.h with the same Status codes as PosixFileSystem (errno translated by
// ErrnoError), and additionally remembers, per file, how many bytes are durable (synced), so a
// test can simulate a power cut with DropUnsyncedData().
//
// Model:
//  - Files are inodes; a path names an inode. An open AppendableFile keeps writing to its inode
//    after the path is renamed or removed (POSIX semantics), which log rotation relies on.
//  - Appended bytes are unsynced until AppendableFile::Sync(). WriteFileAtomic content is
//    synced (it fsyncs before renaming). Renames, removals and directory creation are treated
//    as immediately durable (the directory fsync is not modelled).
//  - Parent directories must exist (CreateDirs), as on a real file system; "." and "/" always do.
//  - Modification times come from the Clock given to the constructor (default: a fixed clock at
//    2026-01-01T00:00:00Z owned by the file system).
//  - An optional capacity makes writes past it fail with ResourceExhausted (ENOSPC).
//
// Thread-safe: one mutex guards the whole tree. An individual AppendableFile is not thread-safe
// (like every AppendableFile), but distinct handles may be used from distinct threads.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/file_system.h"
#include "sicher/testing/fake_clock.h"

namespace sicher::testing {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();
  // Borrows `clock` for modification times; it must outlive the file system.
  explicit MemFileSystem(const Clock& clock);
  ~MemFileSystem() override;

  MemFileSystem(const MemFileSystem&) = delete;
  MemFileSystem& operator=(const MemFileSystem&) = delete;

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

  // Test controls.

  // Power cut: every file keeps only its synced bytes (a file never synced becomes empty).
  void DropUnsyncedData();
  // Bytes of `path` that survive DropUnsyncedData(); 0 if there is no such file.
  uint64_t SyncedBytes(const std::string& path);
  // Bytes of `path` that DropUnsyncedData() would discard; 0 if there is no such file.
  uint64_t UnsyncedBytes(const std::string& path);
  // Total bytes the file system may hold; writes beyond it fail with ENOSPC. Default: 1 TiB.
  void SetCapacity(uint64_t bytes);
  // Every path (files and directories) in sorted order, for debugging failed tests.
  std::vector<std::string> AllPaths();

 private:
  struct Node;
  class File;

  Status CheckParentLocked(const std::string& path, std::string_view op) const;
  uint64_t UsedBytesLocked() const;
  Status AppendToNode(Node& node, const std::string& path, std::string_view data);
  void SyncNode(Node& node);
  uint64_t NodeSize(const Node& node);

  FakeClock own_clock_;
  const Clock& clock_;
  std::mutex mu_;
  uint64_t capacity_ = uint64_t{1} << 40;
  // Normalised path -> node. Directories and files alike; "." and "/" are implicit.
  std::map<std::string, std::shared_ptr<Node>> nodes_;
};

// Normalises a path the way MemFileSystem keys it: collapses "//" and "/./", drops a trailing
// "/" and a leading "./". Does not resolve "..". Exposed for tests.
std::string NormalizeMemPath(std::string_view path);

}  // namespace sicher::testing
