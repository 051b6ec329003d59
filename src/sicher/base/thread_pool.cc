#include "sicher/base/thread_pool.h"

#include <algorithm>
#include <utility>

#include "sicher/base/check.h"

namespace sicher {

ThreadPool::ThreadPool(size_t threads, size_t queue_limit) : queue_limit_(queue_limit) {
  CHECK(threads >= 1);
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void ThreadPool::Shutdown() {
  const auto self = std::this_thread::get_id();
  CHECK(std::none_of(workers_.begin(), workers_.end(),
                     [&](const std::thread& t) { return t.get_id() == self; }));
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::call_once(join_once_, [this] {
    for (auto& t : workers_) t.join();
  });
}

size_t ThreadPool::QueueDepth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace sicher
