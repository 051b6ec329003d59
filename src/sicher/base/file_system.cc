#include "sicher/base/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sicher {
namespace {

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory " + dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync directory " + dir, err);
  return OkStatus();
}

class PosixAppendableFile final : public AppendableFile {
 public:
  PosixAppendableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixAppendableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError("append to closed file " + path_);
    RETURN_IF_ERROR(WriteAll(fd_, data, path_));
    size_ += data.size();
    return OkStatus();
  }
  Status Flush() override { return OkStatus(); }  // unbuffered: every Append is a write(2)
  Status Sync() override {
    if (fd_ < 0) return FailedPreconditionError("sync closed file " + path_);
    if (::fdatasync(fd_) != 0) return ErrnoError("fdatasync " + path_, errno);
    return OkStatus();
  }
  Status Close() override {
    if (fd_ < 0) return OkStatus();
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoError("close " + path_, errno);
    return OkStatus();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

}  // namespace

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string DirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Result<std::string> PosixFileSystem::ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path, errno);
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError("read " + path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status PosixFileSystem::WriteFileAtomic(const std::string& path, std::string_view data,
                                        uint32_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create " + tmp, errno);
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && ::fchmod(fd, mode) != 0) s = ErrnoError("chmod " + tmp, errno);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoError("fsync " + tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoError("close " + tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError("rename " + tmp, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDir(DirName(path));
}

Result<std::unique_ptr<AppendableFile>> PosixFileSystem::OpenAppendable(const std::string& path,
                                                                        uint32_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError("stat " + path, err);
  }
  return std::unique_ptr<AppendableFile>(
      std::make_unique<PosixAppendableFile>(path, fd, static_cast<uint64_t>(st.st_size)));
}

Result<FileInfo> PosixFileSystem::Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path, errno);
  FileInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mode = st.st_mode & 07777;
  info.is_directory = S_ISDIR(st.st_mode);
  info.modified = Time(std::chrono::seconds(st.st_mtim.tv_sec) +
                       std::chrono::microseconds(st.st_mtim.tv_nsec / 1000));
  return info;
}

bool PosixFileSystem::Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Status PosixFileSystem::CreateDirs(const std::string& path, uint32_t mode) {
  if (path.empty()) return InvalidArgumentError("empty directory path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return OkStatus();
    return AlreadyExistsError(path + " exists and is not a directory");
  }
  const std::string parent = DirName(path);
  if (parent != path && parent != "." && parent != "/") RETURN_IF_ERROR(CreateDirs(parent, mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir " + path, errno);
  }
  return OkStatus();
}

Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("rename " + from, errno);
  return OkStatus();
}

Status PosixFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoError("remove " + path, errno);
  return OkStatus();
}

Status PosixFileSystem::Chmod(const std::string& path, uint32_t mode) {
  if (::chmod(path.c_str(), mode) != 0) return ErrnoError("chmod " + path, errno);
  return OkStatus();
}

Result<std::vector<std::string>> PosixFileSystem::ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError("opendir " + dir, errno);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<uint64_t> PosixFileSystem::AvailableBytes(const std::string& path) {
  struct statvfs vfs;
  if (::statvfs(path.c_str(), &vfs) != 0) return ErrnoError("statvfs " + path, errno);
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

}  // namespace sicher
