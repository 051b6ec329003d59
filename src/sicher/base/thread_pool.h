#pragma once
// ThreadPool: a fixed number of worker threads fed by a bounded FIFO queue, for slow work
// (database round trips, password hashing) that must never run on a network thread.
//
// Thread-safe: TrySubmit and Shutdown may be called from any thread, including a worker.
// Back-pressure instead of unbounded growth: TrySubmit refuses work when `queue_limit` tasks
// are already waiting (tasks being run do not count), so the caller can answer "503, retry
// later" rather than queue without bound. Tasks must not throw (an escaping exception is a bug
// and terminates the process).
//
// Shutdown refuses new work, lets the workers run every task already queued, and joins them.
// The destructor calls Shutdown. Calling Shutdown from a worker thread is a bug (it would join
// itself) and is CHECKed.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sicher {

class ThreadPool {
 public:
  // Starts `threads` (>= 1) workers. `queue_limit` (>= 0) bounds the tasks waiting for a worker.
  ThreadPool(size_t threads, size_t queue_limit);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Returns false, and does not run it, when the queue is full or the pool is
  // shutting down.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

  // Stops accepting tasks, runs the queued ones, joins the workers. Idempotent.
  void Shutdown();

  size_t threads() const { return workers_.size(); }
  size_t queue_limit() const { return queue_limit_; }
  // Tasks waiting for a worker right now (a snapshot).
  size_t QueueDepth() const;

 private:
  void WorkerLoop();

  const size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::once_flag join_once_;
};

}  // namespace sicher
