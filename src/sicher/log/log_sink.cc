#include "sicher/log/log_sink.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>

namespace sicher::log {
namespace {

constexpr uint32_t kFileMode = 0640;

bool IsNotFound(const Status& s) { return s.code() == StatusCode::kNotFound; }

}  // namespace

LogSink::LogSink(FileSystem& fs, std::string dir, std::string name, uint64_t max_file_bytes,
                 int retention_files, Reporter report)
    : fs_(fs),
      dir_(std::move(dir)),
      name_(std::move(name)),
      path_(JoinPath(dir_, name_ + ".log")),
      max_file_bytes_(max_file_bytes),
      retention_files_(retention_files < 0 ? 0 : retention_files),
      report_(std::move(report)) {}

LogSink::~LogSink() { (void)Close(); }

std::string LogSink::RotatedPath(int n) const { return fmt::format("{}.{}", path_, n); }

Status LogSink::OpenLocked() {
  ASSIGN_OR_RETURN(file_, fs_.OpenAppendable(path_, kFileMode));
  // The creation mode is subject to the umask, and an existing file may have another mode.
  Result<FileInfo> info = fs_.Stat(path_);
  if (info.ok() && info->mode != kFileMode) (void)fs_.Chmod(path_, kFileMode);
  if (!cleaned_) {  // once: a lowered retention count takes effect at the next start
    cleaned_ = true;
    (void)RemoveStaleLocked();
  }
  return OkStatus();
}

Status LogSink::RemoveStaleLocked() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir(dir_));
  const std::string prefix = name_ + ".log.";
  for (const std::string& entry : names) {
    if (entry.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view digits = std::string_view(entry).substr(prefix.size());
    int n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) continue;
    if (n > retention_files_) {
      Status s = fs_.Remove(JoinPath(dir_, entry));
      if (!s.ok() && !IsNotFound(s)) return s;
    }
  }
  return OkStatus();
}

Status LogSink::RotateLocked() {
  if (file_ != nullptr) {
    (void)file_->Close();
    file_.reset();
  }
  if (retention_files_ == 0) {
    Status s = fs_.Remove(path_);
    if (!s.ok() && !IsNotFound(s)) return s;
    return OkStatus();
  }
  Status s = fs_.Remove(RotatedPath(retention_files_));
  if (!s.ok() && !IsNotFound(s)) return s;
  for (int i = retention_files_ - 1; i >= 1; --i) {
    const std::string from = RotatedPath(i);
    if (!fs_.Exists(from)) continue;
    RETURN_IF_ERROR(fs_.Rename(from, RotatedPath(i + 1)));
  }
  RETURN_IF_ERROR(fs_.Rename(path_, RotatedPath(1)));
  return RemoveStaleLocked();
}

void LogSink::FailLocked(const Status& status, uint64_t lines) {
  dropped_.fetch_add(lines, std::memory_order_relaxed);
  if (file_ != nullptr) {  // reopen on the next write: the handle may be unusable
    (void)file_->Close();
    file_.reset();
  }
  if (!failing_) {
    failing_ = true;
    if (report_) {
      report_(fmt::format("log: cannot write {}: {}; further failures are counted, not reported",
                          path_, status.ToString()));
    }
  }
}

void LogSink::SucceededLocked() {
  if (failing_) {
    failing_ = false;
    if (report_) {
      report_(fmt::format("log: {} is writable again; {} lines dropped so far", path_,
                          dropped_.load(std::memory_order_relaxed)));
    }
  }
}

Status LogSink::PrepareLocked(uint64_t incoming) {
  if (file_ == nullptr) RETURN_IF_ERROR(OpenLocked());
  const uint64_t size = file_->Size();
  if (size > 0 && size + incoming > max_file_bytes_) {
    Status rotated = RotateLocked();
    if (!rotated.ok()) {
      if (!rotation_failing_ && report_) {
        report_(fmt::format("log: cannot rotate {}: {}; writing on in the current file", path_,
                            rotated.ToString()));
      }
      rotation_failing_ = true;
    } else {
      rotation_failing_ = false;
    }
    if (file_ == nullptr) RETURN_IF_ERROR(OpenLocked());
  }
  return OkStatus();
}

Status LogSink::FlushLocked() {
  if (buffer_.empty()) return OkStatus();
  const uint64_t lines = std::exchange(buffered_lines_, 0);
  Status s = PrepareLocked(buffer_.size());
  if (s.ok()) s = file_->Append(buffer_);
  buffer_.clear();  // keeps its capacity
  if (!s.ok()) {
    FailLocked(s, lines);
    return s;
  }
  SucceededLocked();
  return OkStatus();
}

Status LogSink::Write(std::string_view line) {
  std::lock_guard lock(mu_);
  (void)FlushLocked();  // buffered lines come first; a failure there is counted and reported
  if (Status s = PrepareLocked(line.size() + 1); !s.ok()) {
    FailLocked(s, 1);
    return s;
  }
  scratch_.assign(line);
  scratch_.push_back('\n');
  if (Status s = file_->Append(scratch_); !s.ok()) {
    FailLocked(s, 1);
    return s;
  }
  SucceededLocked();
  return OkStatus();
}

Status LogSink::WriteBuffered(std::string_view line) {
  std::lock_guard lock(mu_);
  const uint64_t incoming = line.size() + 1;
  Status flushed;
  // Flush first when the buffer is full, or when this line will need a rotation: the buffered
  // lines then end the current file and this one starts the next.
  const uint64_t pending = (file_ != nullptr ? file_->Size() : 0) + buffer_.size();
  if (buffer_.size() + incoming > kBufferBytes ||
      (pending > 0 && pending + incoming > max_file_bytes_)) {
    flushed = FlushLocked();
  }
  buffer_.append(line);
  buffer_.push_back('\n');
  ++buffered_lines_;
  return flushed;
}

Status LogSink::Flush() {
  std::lock_guard lock(mu_);
  return FlushLocked();
}

Status LogSink::Sync() {
  std::lock_guard lock(mu_);
  Status flushed = FlushLocked();
  if (file_ == nullptr) return flushed;
  Status synced = file_->Sync();
  return flushed.ok() ? synced : flushed;
}

Status LogSink::Close() {
  std::lock_guard lock(mu_);
  Status flushed = FlushLocked();
  if (file_ == nullptr) return flushed;
  Status s = file_->Close();
  file_.reset();
  return flushed.ok() ? s : flushed;
}

}  // namespace sicher::log
