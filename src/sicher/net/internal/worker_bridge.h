#pragma once
// WorkerBridge: the hand-off between a handler running on a worker thread and the connection's
// coroutine, for streaming request bodies (BodyReader) and streaming responses
// (ResponseWriter). Private to net/.
//
// All socket I/O stays on the connection's strand. The worker posts one operation at a time
// (read body bytes, start the response, write body bytes) and blocks until the connection has
// done it; the connection waits for an operation or for the end of the work (Finish), performs
// it and completes it. Bytes pass through a buffer the bridge owns, of at most
// kBridgeBufferBytes, so socket code never touches the worker's memory and a connection holds
// O(buffer) bytes however large the body. The bridge is shared (shared_ptr) by the connection,
// the worker task and the wake-ups posted to the strand.
//
// Thread-safety: the worker side (Read, Start, Write, Finish, MarkStreamFailed) runs on one
// worker thread at a time; the connection side (Attach, Detach, Take, the accessors of the taken
// operation and the Complete* calls) runs on the connection's strand.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"
#include "sicher/net/http.h"

namespace sicher::net::internal {

inline constexpr size_t kBridgeBufferBytes = 256 * 1024;

class WorkerBridge : public std::enable_shared_from_this<WorkerBridge> {
 public:
  enum class Op { kNone, kRead, kStart, kWrite };

  // `executor`: the connection's strand, where wake-ups are posted. `io_stopped`: set when the
  // I/O threads stop for good; a worker waiting for the connection then gives up (Cancelled)
  // instead of waiting for ever.
  WorkerBridge(boost::asio::any_io_executor executor, const std::atomic<bool>* io_stopped)
      : executor_(std::move(executor)), io_stopped_(io_stopped) {}

  // ---- Worker side (blocking).
  // Up to min(out.size(), kBridgeBufferBytes) body bytes; 0 at the end (or for an empty `out`).
  Result<size_t> Read(std::span<char> out);
  Status Start(int status, const Headers& headers, uint64_t content_length);
  // Splits `data` into pieces of at most kBridgeBufferBytes. A no-op once Start said the body
  // is not sent (HEAD, 204, 304).
  Status Write(std::string_view data);
  bool started() const;
  // The stream function threw: its response is broken whatever it wrote.
  void MarkStreamFailed();
  // The work is over; the connection stops serving operations.
  void Finish();

  // ---- Connection side (on the strand).
  // `timer` is what the connection waits on between operations; wake-ups cancel it.
  void Attach(boost::asio::steady_timer* timer);
  // The connection no longer serves: a waiting or later operation fails with Cancelled.
  void Detach();
  // The operation posted by the worker and not yet taken (it is now being served), or kNone.
  Op Take();
  bool finished() const;
  bool stream_failed() const;
  // The operation being served. Read: the bytes go into read_buffer() (its size is what the
  // worker asked for). Start: start_status(), start_headers(), start_length(). Write:
  // write_data().
  std::span<char> read_buffer() { return {buffer_.data(), read_want_}; }
  int start_status() const { return start_status_; }
  Headers& start_headers() { return start_headers_; }
  uint64_t start_length() const { return start_length_; }
  std::string_view write_data() const { return {buffer_.data(), write_size_}; }
  void CompleteRead(Result<size_t> result);
  // `send_body` false: later writes are dropped (HEAD, or a status without a body).
  void CompleteStart(Status status, bool send_body);
  void CompleteWrite(Status status);

 private:
  // Posts the current operation and waits for its completion. Called with `lock` held.
  bool PostAndWait(std::unique_lock<std::mutex>& lock, Op op);
  void WakeLocked();

  const boost::asio::any_io_executor executor_;
  const std::atomic<bool>* const io_stopped_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  boost::asio::steady_timer* timer_ = nullptr;
  Op op_ = Op::kNone;
  bool taken_ = false;
  bool done_ = false;
  bool gone_ = false;
  bool finished_ = false;
  bool started_ = false;
  bool discard_writes_ = false;
  bool stream_failed_ = false;
  Status write_error_;  // sticky: once a write failed, every later one fails the same way
  std::vector<char> buffer_;
  size_t read_want_ = 0;
  size_t write_size_ = 0;
  int start_status_ = 0;
  Headers start_headers_;
  uint64_t start_length_ = 0;
  Result<size_t> read_result_ = size_t{0};
  Status op_status_;
};

// The BodyReader a streaming handler receives.
class BridgeBodyReader final : public BodyReader {
 public:
  BridgeBodyReader(WorkerBridge& bridge, std::optional<uint64_t> content_length)
      : bridge_(bridge), content_length_(content_length) {}
  Result<size_t> Read(std::span<char> out) override { return bridge_.Read(out); }
  std::optional<uint64_t> content_length() const override { return content_length_; }

 private:
  WorkerBridge& bridge_;
  const std::optional<uint64_t> content_length_;
};

// The ResponseWriter a stream function receives.
class BridgeResponseWriter final : public ResponseWriter {
 public:
  explicit BridgeResponseWriter(WorkerBridge& bridge) : bridge_(bridge) {}
  Status Start(int status, const Headers& headers, uint64_t content_length) override {
    return bridge_.Start(status, headers, content_length);
  }
  Status Write(std::string_view data) override { return bridge_.Write(data); }
  bool started() const override { return bridge_.started(); }

 private:
  WorkerBridge& bridge_;
};

}  // namespace sicher::net::internal
