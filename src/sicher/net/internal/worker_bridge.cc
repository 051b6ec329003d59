#include "sicher/net/internal/worker_bridge.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>

namespace sicher::net::internal {

namespace {
// How often a waiting worker looks at io_stopped (only matters once the I/O threads are gone).
constexpr auto kStopPoll = std::chrono::milliseconds(50);
}  // namespace

void WorkerBridge::WakeLocked() {
  // Runs on the strand, so it cannot slip between the connection's Take() and its wait.
  boost::asio::post(executor_, [self = shared_from_this()] {
    std::lock_guard lock(self->mu_);
    if (self->timer_ != nullptr) self->timer_->cancel();
  });
}

bool WorkerBridge::PostAndWait(std::unique_lock<std::mutex>& lock, Op op) {
  if (gone_) return false;
  op_ = op;
  taken_ = false;
  done_ = false;
  WakeLocked();
  while (!done_ && !gone_) {
    if (io_stopped_ != nullptr && io_stopped_->load()) {
      gone_ = true;  // nobody will ever serve the operation
      break;
    }
    cv_.wait_for(lock, kStopPoll);
  }
  return done_;
}

Result<size_t> WorkerBridge::Read(std::span<char> out) {
  if (out.empty()) return size_t{0};
  std::unique_lock lock(mu_);
  read_want_ = std::min(out.size(), kBridgeBufferBytes);
  if (buffer_.size() < read_want_) buffer_.resize(read_want_);
  if (!PostAndWait(lock, Op::kRead)) return CancelledError("the connection is gone");
  if (read_result_.ok() && *read_result_ > 0) {
    std::memcpy(out.data(), buffer_.data(), *read_result_);
  }
  return read_result_;
}

Status WorkerBridge::Start(int status, const Headers& headers, uint64_t content_length) {
  std::unique_lock lock(mu_);
  if (started_) return FailedPreconditionError("the response was already started");
  start_status_ = status;
  start_headers_ = headers;
  start_length_ = content_length;
  if (!PostAndWait(lock, Op::kStart)) {
    started_ = true;  // whatever happened, no fallback response can follow
    return CancelledError("the connection is gone");
  }
  return op_status_;
}

Status WorkerBridge::Write(std::string_view data) {
  std::unique_lock lock(mu_);
  if (!started_) return FailedPreconditionError("Write before Start");
  while (!data.empty()) {
    if (discard_writes_) return OkStatus();
    if (!write_error_.ok()) return write_error_;
    const size_t n = std::min(data.size(), kBridgeBufferBytes);
    if (buffer_.size() < n) buffer_.resize(n);
    std::memcpy(buffer_.data(), data.data(), n);
    write_size_ = n;
    if (!PostAndWait(lock, Op::kWrite)) {
      write_error_ = CancelledError("the connection is gone");
      return write_error_;
    }
    if (!op_status_.ok()) {
      write_error_ = op_status_;
      return write_error_;
    }
    data.remove_prefix(n);
  }
  return OkStatus();
}

bool WorkerBridge::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

void WorkerBridge::MarkStreamFailed() {
  std::lock_guard lock(mu_);
  stream_failed_ = true;
}

void WorkerBridge::Finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  WakeLocked();
}

void WorkerBridge::Attach(boost::asio::steady_timer* timer) {
  std::lock_guard lock(mu_);
  timer_ = timer;
}

void WorkerBridge::Detach() {
  {
    std::lock_guard lock(mu_);
    timer_ = nullptr;
    gone_ = true;
  }
  cv_.notify_all();
}

WorkerBridge::Op WorkerBridge::Take() {
  std::lock_guard lock(mu_);
  if (op_ == Op::kNone || taken_ || done_) return Op::kNone;
  taken_ = true;
  return op_;
}

bool WorkerBridge::finished() const {
  std::lock_guard lock(mu_);
  return finished_;
}

bool WorkerBridge::stream_failed() const {
  std::lock_guard lock(mu_);
  return stream_failed_;
}

void WorkerBridge::CompleteRead(Result<size_t> result) {
  {
    std::lock_guard lock(mu_);
    read_result_ = std::move(result);
    op_ = Op::kNone;
    done_ = true;
  }
  cv_.notify_all();
}

void WorkerBridge::CompleteStart(Status status, bool send_body) {
  {
    std::lock_guard lock(mu_);
    started_ = true;
    discard_writes_ = !send_body;
    op_status_ = std::move(status);
    op_ = Op::kNone;
    done_ = true;
  }
  cv_.notify_all();
}

void WorkerBridge::CompleteWrite(Status status) {
  {
    std::lock_guard lock(mu_);
    op_status_ = std::move(status);
    op_ = Op::kNone;
    done_ = true;
  }
  cv_.notify_all();
}

}  // namespace sicher::net::internal
