#include "sicher/events/bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sicher/events/events.h"

namespace sicher::events {
namespace {

struct Ping {
  int n = 0;
};
struct Pong {
  int n = 0;
};

TEST(BusTest, DeliversByTypeInSubscriptionOrder) {
  Bus bus;
  std::vector<std::string> seen;
  auto a = bus.Subscribe<Ping>([&](const Ping& p) { seen.push_back("a" + std::to_string(p.n)); });
  auto b = bus.Subscribe<Ping>([&](const Ping& p) { seen.push_back("b" + std::to_string(p.n)); });
  auto c = bus.Subscribe<Pong>([&](const Pong& p) { seen.push_back("c" + std::to_string(p.n)); });
  bus.Publish(Ping{1});
  bus.Publish(Pong{2});
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b1", "c2"}));
  EXPECT_EQ(bus.SubscriberCount<Ping>(), 2u);
  EXPECT_EQ(bus.SubscriberCount<ServerStopping>(), 0u);
  bus.Publish(ServerStopping{});  // nobody listens: a no-op
}

TEST(BusTest, CarriesTheDefinedEvents) {
  Bus bus;
  RequestCompleted got;
  auto sub = bus.Subscribe<RequestCompleted>([&](const RequestCompleted& e) { got = e; });
  RequestCompleted sent;
  sent.request_id = "r1";
  sent.path = "/v1/me";
  sent.status = 200;
  sent.duration = std::chrono::milliseconds(3);
  bus.Publish(sent);
  EXPECT_EQ(got.request_id, "r1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.duration, std::chrono::milliseconds(3));
}

TEST(BusTest, SubscriptionUnsubscribesOnDestructionAndReset) {
  Bus bus;
  int calls = 0;
  {
    auto sub = bus.Subscribe<Ping>([&](const Ping&) { ++calls; });
    bus.Publish(Ping{});
  }
  bus.Publish(Ping{});
  EXPECT_EQ(calls, 1);
  auto sub = bus.Subscribe<Ping>([&](const Ping&) { ++calls; });
  Subscription moved = std::move(sub);
  EXPECT_FALSE(sub.active());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(moved.active());
  bus.Publish(Ping{});
  moved.Reset();
  moved.Reset();  // idempotent
  bus.Publish(Ping{});
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(bus.SubscriberCount<Ping>(), 0u);
}

TEST(BusTest, SubscriptionMayOutliveBus) {
  Subscription sub;
  {
    Bus bus;
    sub = bus.Subscribe<Ping>([](const Ping&) {});
  }
  sub.Reset();  // no crash
}

TEST(BusTest, CallbackMayPublishSubscribeAndUnsubscribeItself) {
  Bus bus;
  int pongs = 0;
  int pings = 0;
  Subscription late;
  Subscription self;
  auto pong = bus.Subscribe<Pong>([&](const Pong&) { ++pongs; });
  self = bus.Subscribe<Ping>([&](const Ping& p) {
    ++pings;
    bus.Publish(Pong{p.n});  // re-entrant publish: no deadlock
    late = bus.Subscribe<Pong>([&](const Pong&) { ++pongs; });
    self.Reset();  // unsubscribing from inside its own callback returns at once
  });
  bus.Publish(Ping{1});
  bus.Publish(Ping{2});
  EXPECT_EQ(pings, 1);
  EXPECT_EQ(pongs, 1);
  bus.Publish(Pong{3});
  EXPECT_EQ(pongs, 3);
}

TEST(BusTest, UnsubscribeWaitsForRunningCallbacks) {
  Bus bus;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  auto sub = bus.Subscribe<Ping>([&](const Ping&) {
    entered = true;
    while (!release) std::this_thread::yield();
    finished = true;
  });
  std::thread publisher([&] { bus.Publish(Ping{}); });
  while (!entered) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release = true;
  });
  sub.Reset();
  EXPECT_TRUE(finished);  // Reset returned only after the running callback finished
  publisher.join();
  releaser.join();
}

TEST(BusTest, ConcurrentPublishAndSubscribe) {
  Bus bus;
  std::atomic<int> total{0};
  std::atomic<bool> stop{false};
  auto steady = bus.Subscribe<Ping>([&](const Ping& p) { total += p.n; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) bus.Publish(Ping{1});
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      std::atomic<int> local{0};
      auto churn = bus.Subscribe<Ping>([&](const Ping&) { ++local; });
      std::this_thread::yield();
    }  // `local` dies after `churn`: the strong guarantee makes this safe
  });
  for (int t = 0; t < 4; ++t) threads[t].join();
  stop = true;
  threads.back().join();
  EXPECT_EQ(total.load(), 4 * 2000);
  EXPECT_EQ(bus.SubscriberCount<Ping>(), 1u);
}

}  // namespace
}  // namespace sicher::events
