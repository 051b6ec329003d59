#include "sicher/testing/mem_file_system.h"

#include <algorithm>
#include <cerrno>

namespace sicher::testing {

struct MemFileSystem::Node {
  bool is_directory = false;
  std::string data;
  uint64_t synced = 0;  // data[0, synced) is durable
  uint32_t mode = 0;
  Time modified{};
};

namespace {

bool IsImplicitRoot(const std::string& path) { return path == "." || path == "/"; }

std::string ParentOf(const std::string& normalized) { return DirName(normalized); }

}  // namespace

std::string NormalizeMemPath(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    const size_t slash = std::min(path.find('/', i), path.size());
    const std::string_view part = path.substr(i, slash - i);
    if (!part.empty() && part != ".") {
      if (!out.empty() || absolute) out += '/';
      out += part;
    }
    i = slash + 1;
  }
  if (out.empty()) return absolute ? "/" : ".";
  return out;
}

// An open append handle. Writes go to the inode, wherever its path now is.
class MemFileSystem::File final : public AppendableFile {
 public:
  File(MemFileSystem& fs, std::shared_ptr<Node> node, std::string path)
      : fs_(fs), node_(std::move(node)), path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    if (closed_) return FailedPreconditionError("append to closed file " + path_);
    return fs_.AppendToNode(*node_, path_, data);
  }
  Status Flush() override {
    if (closed_) return FailedPreconditionError("flush closed file " + path_);
    return OkStatus();
  }
  Status Sync() override {
    if (closed_) return FailedPreconditionError("sync closed file " + path_);
    fs_.SyncNode(*node_);
    return OkStatus();
  }
  Status Close() override {
    closed_ = true;
    return OkStatus();
  }
  uint64_t Size() const override { return fs_.NodeSize(*node_); }

 private:
  MemFileSystem& fs_;
  std::shared_ptr<Node> node_;
  std::string path_;
  bool closed_ = false;
};

MemFileSystem::MemFileSystem() : clock_(own_clock_) {}
MemFileSystem::MemFileSystem(const Clock& clock) : clock_(clock) {}
MemFileSystem::~MemFileSystem() = default;

Status MemFileSystem::CheckParentLocked(const std::string& path, std::string_view op) const {
  const std::string parent = ParentOf(path);
  if (IsImplicitRoot(parent)) return OkStatus();
  auto it = nodes_.find(parent);
  if (it == nodes_.end()) return ErrnoError(std::string(op) + " " + path, ENOENT);
  if (!it->second->is_directory) return ErrnoError(std::string(op) + " " + path, ENOTDIR);
  return OkStatus();
}

uint64_t MemFileSystem::UsedBytesLocked() const {
  uint64_t used = 0;
  for (const auto& [path, node] : nodes_) used += node->data.size();
  return used;
}

Status MemFileSystem::AppendToNode(Node& node, const std::string& path, std::string_view data) {
  std::lock_guard lock(mu_);
  if (UsedBytesLocked() + data.size() > capacity_) return ErrnoError("write " + path, ENOSPC);
  node.data.append(data);
  node.modified = clock_.Now();
  return OkStatus();
}

void MemFileSystem::SyncNode(Node& node) {
  std::lock_guard lock(mu_);
  node.synced = node.data.size();
}

uint64_t MemFileSystem::NodeSize(const Node& node) {
  std::lock_guard lock(mu_);
  return node.data.size();
}

Result<std::string> MemFileSystem::ReadFile(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(path)) return ErrnoError("read " + path, EISDIR);
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoError("open " + path, ENOENT);
  if (it->second->is_directory) return ErrnoError("read " + path, EISDIR);
  return it->second->data;
}

Status MemFileSystem::WriteFileAtomic(const std::string& raw, std::string_view data,
                                      uint32_t mode) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(path)) return ErrnoError("rename " + path, EISDIR);
  RETURN_IF_ERROR(CheckParentLocked(path, "create"));
  auto it = nodes_.find(path);
  uint64_t replaced = 0;
  if (it != nodes_.end()) {
    if (it->second->is_directory) return ErrnoError("rename " + path + ".tmp", EISDIR);
    replaced = it->second->data.size();
  }
  if (UsedBytesLocked() - replaced + data.size() > capacity_) {
    return ErrnoError("write " + path + ".tmp", ENOSPC);
  }
  // A fresh inode: handles open on the old file keep the old one, as after rename(2).
  auto node = std::make_shared<Node>();
  node->data = std::string(data);
  node->synced = node->data.size();
  node->mode = mode & 07777;
  node->modified = clock_.Now();
  nodes_[path] = std::move(node);
  return OkStatus();
}

Result<std::unique_ptr<AppendableFile>> MemFileSystem::OpenAppendable(const std::string& raw,
                                                                      uint32_t mode) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(path)) return ErrnoError("open " + path, EISDIR);
  std::shared_ptr<Node> node;
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    if (it->second->is_directory) return ErrnoError("open " + path, EISDIR);
    node = it->second;
  } else {
    RETURN_IF_ERROR(CheckParentLocked(path, "open"));
    node = std::make_shared<Node>();
    node->mode = mode & 07777;
    node->modified = clock_.Now();
    nodes_[path] = node;
  }
  return std::unique_ptr<AppendableFile>(std::make_unique<File>(*this, std::move(node), path));
}

Result<FileInfo> MemFileSystem::Stat(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  FileInfo info;
  if (IsImplicitRoot(path)) {
    info.is_directory = true;
    info.mode = 0755;
    return info;
  }
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoError("stat " + path, ENOENT);
  const Node& node = *it->second;
  info.size = node.is_directory ? 0 : node.data.size();
  info.modified = node.modified;
  info.mode = node.mode;
  info.is_directory = node.is_directory;
  return info;
}

bool MemFileSystem::Exists(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  return IsImplicitRoot(path) || nodes_.count(path) > 0;
}

Status MemFileSystem::CreateDirs(const std::string& raw, uint32_t mode) {
  if (raw.empty()) return InvalidArgumentError("empty directory path");
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(path)) return OkStatus();
  if (auto it = nodes_.find(path); it != nodes_.end()) {
    if (it->second->is_directory) return OkStatus();
    return AlreadyExistsError(path + " exists and is not a directory");
  }
  // Collect the missing ancestors, outermost first.
  std::vector<std::string> missing;
  for (std::string p = path; !IsImplicitRoot(p); p = ParentOf(p)) {
    auto it = nodes_.find(p);
    if (it != nodes_.end()) {
      if (!it->second->is_directory) return ErrnoError("mkdir " + path, ENOTDIR);
      break;
    }
    missing.push_back(p);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    auto node = std::make_shared<Node>();
    node->is_directory = true;
    node->mode = mode & 07777;
    node->modified = clock_.Now();
    nodes_[*it] = std::move(node);
  }
  return OkStatus();
}

Status MemFileSystem::Rename(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = NormalizeMemPath(raw_from);
  const std::string to = NormalizeMemPath(raw_to);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(from) || IsImplicitRoot(to)) return ErrnoError("rename " + from, EBUSY);
  auto it = nodes_.find(from);
  if (it == nodes_.end()) return ErrnoError("rename " + from, ENOENT);
  if (from == to) return OkStatus();
  RETURN_IF_ERROR(CheckParentLocked(to, "rename"));
  std::shared_ptr<Node> node = it->second;
  auto target = nodes_.find(to);
  if (!node->is_directory) {
    if (target != nodes_.end() && target->second->is_directory) {
      return ErrnoError("rename " + from, EISDIR);
    }
    nodes_.erase(it);
    nodes_[to] = std::move(node);
    return OkStatus();
  }
  // A directory: refuse moving it into itself or over a file or a non-empty directory.
  if (to.compare(0, from.size() + 1, from + "/") == 0) return ErrnoError("rename " + from, EINVAL);
  if (target != nodes_.end()) {
    if (!target->second->is_directory) return ErrnoError("rename " + from, ENOTDIR);
    const std::string prefix = to + "/";
    auto child = nodes_.lower_bound(prefix);
    if (child != nodes_.end() && child->first.compare(0, prefix.size(), prefix) == 0) {
      return ErrnoError("rename " + from, ENOTEMPTY);
    }
  }
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> moved;
  const std::string prefix = from + "/";
  for (auto c = nodes_.lower_bound(prefix);
       c != nodes_.end() && c->first.compare(0, prefix.size(), prefix) == 0;) {
    moved.emplace_back(to + c->first.substr(from.size()), c->second);
    c = nodes_.erase(c);
  }
  nodes_.erase(from);
  nodes_[to] = std::move(node);
  for (auto& [path, n] : moved) nodes_[path] = std::move(n);
  return OkStatus();
}

Status MemFileSystem::Remove(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (IsImplicitRoot(path)) return ErrnoError("remove " + path, EISDIR);
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoError("remove " + path, ENOENT);
  if (it->second->is_directory) return ErrnoError("remove " + path, EISDIR);
  nodes_.erase(it);
  return OkStatus();
}

Status MemFileSystem::Chmod(const std::string& raw, uint32_t mode) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoError("chmod " + path, ENOENT);
  it->second->mode = mode & 07777;
  return OkStatus();
}

Result<std::vector<std::string>> MemFileSystem::ListDir(const std::string& raw) {
  const std::string dir = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (!IsImplicitRoot(dir)) {
    auto it = nodes_.find(dir);
    if (it == nodes_.end()) return ErrnoError("opendir " + dir, ENOENT);
    if (!it->second->is_directory) return ErrnoError("opendir " + dir, ENOTDIR);
  }
  std::vector<std::string> names;
  for (const auto& [path, node] : nodes_) {
    if (ParentOf(path) != dir) continue;
    const size_t slash = path.rfind('/');
    names.push_back(slash == std::string::npos ? path : path.substr(slash + 1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<uint64_t> MemFileSystem::AvailableBytes(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  if (!IsImplicitRoot(path) && nodes_.count(path) == 0)
    return ErrnoError("statvfs " + path, ENOENT);
  const uint64_t used = UsedBytesLocked();
  return used >= capacity_ ? 0 : capacity_ - used;
}

void MemFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (auto& [path, node] : nodes_) {
    if (!node->is_directory) node->data.resize(node->synced);
  }
}

uint64_t MemFileSystem::SyncedBytes(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second->is_directory) return 0;
  return it->second->synced;
}

uint64_t MemFileSystem::UnsyncedBytes(const std::string& raw) {
  const std::string path = NormalizeMemPath(raw);
  std::lock_guard lock(mu_);
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second->is_directory) return 0;
  return it->second->data.size() - it->second->synced;
}

void MemFileSystem::SetCapacity(uint64_t bytes) {
  std::lock_guard lock(mu_);
  capacity_ = bytes;
}

std::vector<std::string> MemFileSystem::AllPaths() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [path, node] : nodes_) out.push_back(path);
  return out;
}

}  // namespace sicher::testing
