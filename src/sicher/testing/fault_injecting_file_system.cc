#include "sicher/testing/fault_injecting_file_system.h"

#include <cerrno>

#include "sicher/testing/mem_file_system.h"

namespace sicher::testing {

class FaultInjectingFileSystem::File final : public AppendableFile {
 public:
  File(FaultInjectingFileSystem& fs, std::unique_ptr<AppendableFile> inner,
       std::shared_ptr<Tracked> tracked, std::string path, uint64_t generation)
      : fs_(fs),
        inner_(std::move(inner)),
        tracked_(std::move(tracked)),
        path_(std::move(path)),
        generation_(generation) {}

  Status Append(std::string_view data) override {
    {
      std::lock_guard lock(fs_.mu_);
      RETURN_IF_ERROR(fs_.GateLocked(/*mutating=*/true, "write", path_));
      if (generation_ != fs_.generation_) return DeadFile();
      if (fs_.next_write_error_) {
        Status s = std::move(*fs_.next_write_error_);
        fs_.next_write_error_.reset();
        return s;
      }
    }
    RETURN_IF_ERROR(inner_->Append(data));
    std::lock_guard lock(fs_.mu_);
    tracked_->size += data.size();
    return OkStatus();
  }

  Status Flush() override {
    RETURN_IF_ERROR(fs_.BeforeFileOp(generation_, path_, "flush"));
    return inner_->Flush();
  }

  Status Sync() override {
    {
      std::lock_guard lock(fs_.mu_);
      RETURN_IF_ERROR(fs_.GateLocked(/*mutating=*/false, "fsync", path_));
      if (generation_ != fs_.generation_) return DeadFile();
      if (fs_.next_sync_error_) {
        Status s = std::move(*fs_.next_sync_error_);
        fs_.next_sync_error_.reset();
        return s;
      }
    }
    RETURN_IF_ERROR(inner_->Sync());
    std::lock_guard lock(fs_.mu_);
    tracked_->synced = tracked_->size;
    ++fs_.sync_count_;
    return OkStatus();
  }

  Status Close() override {
    Status gate = fs_.BeforeFileOp(generation_, path_, "close");
    Status closed = inner_->Close();  // always release the inner handle
    return gate.ok() ? closed : gate;
  }

  uint64_t Size() const override { return inner_->Size(); }

 private:
  Status DeadFile() const {
    return UnavailableError("file " + path_ + " was opened before a simulated crash");
  }

  FaultInjectingFileSystem& fs_;
  std::unique_ptr<AppendableFile> inner_;
  std::shared_ptr<Tracked> tracked_;
  std::string path_;
  uint64_t generation_;
};

FaultInjectingFileSystem::FaultInjectingFileSystem(FileSystem& target) : target_(target) {}
FaultInjectingFileSystem::~FaultInjectingFileSystem() = default;

Status FaultInjectingFileSystem::DefaultIoError(std::string_view op) {
  return ErrnoError(std::string(op) + " (injected)", EIO);
}

Status FaultInjectingFileSystem::GateLocked(bool mutating, std::string_view op,
                                            const std::string& path) const {
  if (crashed_) return UnavailableError(std::string(op) + " " + path + ": simulated crash");
  if (mutating && read_only_) return ErrnoError(std::string(op) + " " + path, EROFS);
  return OkStatus();
}

Status FaultInjectingFileSystem::BeforeFileOp(uint64_t generation, const std::string& path,
                                              std::string_view op) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(GateLocked(/*mutating=*/false, op, path));
  if (generation != generation_) {
    return UnavailableError("file " + path + " was opened before a simulated crash");
  }
  return OkStatus();
}

std::shared_ptr<FaultInjectingFileSystem::Tracked> FaultInjectingFileSystem::TrackLocked(
    const std::string& path, uint64_t existing_size) {
  auto& slot = tracked_[path];
  if (!slot) {
    slot = std::make_shared<Tracked>();
    slot->size = existing_size;
    slot->synced = existing_size;
  }
  return slot;
}

Result<std::string> FaultInjectingFileSystem::ReadFile(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(false, "read", path));
  }
  return target_.ReadFile(path);
}

Status FaultInjectingFileSystem::WriteFileAtomic(const std::string& path, std::string_view data,
                                                 uint32_t mode) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(true, "write", path));
    if (next_write_error_) {
      Status s = std::move(*next_write_error_);
      next_write_error_.reset();
      return s;
    }
    if (next_sync_error_) {  // the fsync inside the atomic write fails; the old file stays
      Status s = std::move(*next_sync_error_);
      next_sync_error_.reset();
      return s;
    }
  }
  RETURN_IF_ERROR(target_.WriteFileAtomic(path, data, mode));
  std::lock_guard lock(mu_);
  // A new inode replaces the old one: open handles (if any) keep their own tracking.
  auto tracked = std::make_shared<Tracked>();
  tracked->size = tracked->synced = data.size();
  tracked_[NormalizeMemPath(path)] = std::move(tracked);
  ++sync_count_;
  return OkStatus();
}

Result<std::unique_ptr<AppendableFile>> FaultInjectingFileSystem::OpenAppendable(
    const std::string& path, uint32_t mode) {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    const bool exists = target_.Exists(path);
    RETURN_IF_ERROR(GateLocked(/*mutating=*/!exists, "open", path));
    generation = generation_;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<AppendableFile> inner, target_.OpenAppendable(path, mode));
  std::lock_guard lock(mu_);
  std::shared_ptr<Tracked> tracked = TrackLocked(NormalizeMemPath(path), inner->Size());
  return std::unique_ptr<AppendableFile>(
      std::make_unique<File>(*this, std::move(inner), std::move(tracked), path, generation));
}

Result<FileInfo> FaultInjectingFileSystem::Stat(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(false, "stat", path));
  }
  return target_.Stat(path);
}

bool FaultInjectingFileSystem::Exists(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    if (crashed_) return false;
  }
  return target_.Exists(path);
}

Status FaultInjectingFileSystem::CreateDirs(const std::string& path, uint32_t mode) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(true, "mkdir", path));
  }
  return target_.CreateDirs(path, mode);
}

Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(true, "rename", from));
  }
  RETURN_IF_ERROR(target_.Rename(from, to));
  std::lock_guard lock(mu_);
  const std::string f = NormalizeMemPath(from);
  const std::string t = NormalizeMemPath(to);
  tracked_.erase(t);
  if (auto it = tracked_.find(f); it != tracked_.end()) {
    auto node = std::move(it->second);
    tracked_.erase(it);
    tracked_[t] = std::move(node);
  }
  return OkStatus();
}

Status FaultInjectingFileSystem::Remove(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(true, "remove", path));
  }
  RETURN_IF_ERROR(target_.Remove(path));
  std::lock_guard lock(mu_);
  tracked_.erase(NormalizeMemPath(path));
  return OkStatus();
}

Status FaultInjectingFileSystem::Chmod(const std::string& path, uint32_t mode) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(true, "chmod", path));
  }
  return target_.Chmod(path, mode);
}

Result<std::vector<std::string>> FaultInjectingFileSystem::ListDir(const std::string& dir) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(false, "opendir", dir));
  }
  return target_.ListDir(dir);
}

Result<uint64_t> FaultInjectingFileSystem::AvailableBytes(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(GateLocked(false, "statvfs", path));
  }
  return target_.AvailableBytes(path);
}

void FaultInjectingFileSystem::FailNextSync(Status error) {
  std::lock_guard lock(mu_);
  next_sync_error_ = std::move(error);
}

void FaultInjectingFileSystem::FailNextWrite(Status error) {
  std::lock_guard lock(mu_);
  next_write_error_ = std::move(error);
}

void FaultInjectingFileSystem::SetReadOnly(bool read_only) {
  std::lock_guard lock(mu_);
  read_only_ = read_only;
}

void FaultInjectingFileSystem::Crash() {
  std::lock_guard lock(mu_);
  crashed_ = true;
}

Status FaultInjectingFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (auto& [path, tracked] : tracked_) {
    if (tracked->size == tracked->synced) continue;
    ASSIGN_OR_RETURN(std::string content, target_.ReadFile(path));
    if (content.size() > tracked->synced) {
      ASSIGN_OR_RETURN(FileInfo info, target_.Stat(path));
      content.resize(tracked->synced);
      RETURN_IF_ERROR(target_.WriteFileAtomic(path, content, info.mode));
    }
    tracked->size = tracked->synced;
  }
  return OkStatus();
}

void FaultInjectingFileSystem::Restart() {
  std::lock_guard lock(mu_);
  crashed_ = false;
  read_only_ = false;
  next_sync_error_.reset();
  next_write_error_.reset();
  ++generation_;
}

bool FaultInjectingFileSystem::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

int FaultInjectingFileSystem::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

}  // namespace sicher::testing
