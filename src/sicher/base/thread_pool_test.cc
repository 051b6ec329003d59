#include "sicher/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace sicher {
namespace {

TEST(ThreadPoolTest, RunsEveryTask) {
  std::atomic<int> done{0};
  {
    ThreadPool pool(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.TrySubmit([&] { done++; }));
  }  // the destructor drains the queue
  EXPECT_EQ(done.load(), 50);
}

TEST(ThreadPoolTest, RefusesWhenQueueIsFull) {
  ThreadPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();                           // the worker is busy
  ASSERT_TRUE(pool.TrySubmit([gate] { gate.wait(); }));  // fills the one queue slot
  EXPECT_EQ(pool.QueueDepth(), 1u);
  EXPECT_FALSE(pool.TrySubmit([] {}));  // refused: back-pressure
  release.set_value();
  pool.Shutdown();
  EXPECT_FALSE(pool.TrySubmit([] {}));  // refused after shutdown
}

TEST(ThreadPoolTest, ShutdownIsIdempotent) {
  ThreadPool pool(3, 0);
  EXPECT_EQ(pool.threads(), 3u);
  EXPECT_FALSE(pool.TrySubmit([] {}));  // a zero-length queue refuses everything
  pool.Shutdown();
  pool.Shutdown();
}

}  // namespace
}  // namespace sicher
