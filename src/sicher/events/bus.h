#pragma once
// Bus: an in-process, typed publish/subscribe event bus. Publishers and subscribers share only
// the event types (events.h); the server publishes RequestCompleted without knowing that the
// access log, metrics or detection rules listen.
//
//   events::Bus bus;
//   events::Subscription sub = bus.Subscribe<RequestCompleted>(
//       [&](const RequestCompleted& e) { ... });
//   bus.Publish(RequestCompleted{...});   // calls every RequestCompleted subscriber
//
// Delivery is synchronous, on the publishing thread, in subscription order, to the subscribers
// of exactly that type (no base-class matching). Callbacks should be quick; slow work belongs on
// a worker pool.
//
// Thread-safety: every member is thread-safe. No lock is held while a callback runs, so a
// callback may Publish, Subscribe or drop a Subscription (including its own) without deadlock.
//
// Unsubscription is strong: when a Subscription is destroyed or reset, its callback is not
// running on any other thread and will not be called again, so the callback may capture objects
// that die right after. (Dropping a Subscription from inside its own callback returns at once;
// that call finishes normally.) The one pattern that can deadlock: two callbacks running at
// the same time on two threads, each dropping the other's Subscription. Don't.
//
// Callbacks must not throw: an exception escaping one is a bug and terminates the process.
//
// Ownership: the Bus owns the callbacks. A Subscription may outlive its Bus (it then does
// nothing), which is why the shared state is reference-counted.

#include <cstdint>
#include <functional>
#include <memory>
#include <typeindex>
#include <utility>

#include "sicher/base/check.h"

namespace sicher::events {

namespace internal {
class BusState;
class Entry;
}  // namespace internal

// RAII handle returned by Bus::Subscribe. Move-only; unsubscribes when destroyed or reset.
class [[nodiscard]] Subscription {
 public:
  Subscription() = default;
  ~Subscription();
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Unsubscribes now (see the strong guarantee above). Idempotent.
  void Reset();
  bool active() const { return entry_ != nullptr; }

 private:
  friend class Bus;
  Subscription(std::weak_ptr<internal::BusState> state, std::shared_ptr<internal::Entry> entry)
      : state_(std::move(state)), entry_(std::move(entry)) {}

  std::weak_ptr<internal::BusState> state_;
  std::shared_ptr<internal::Entry> entry_;
};

class Bus {
 public:
  Bus();
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Calls `callback` for every later Publish<E>. `callback` must not be empty.
  template <class E>
  Subscription Subscribe(std::function<void(const E&)> callback) {
    CHECK(callback != nullptr);
    return SubscribeErased(
        std::type_index(typeid(E)),
        [cb = std::move(callback)](const void* event) { cb(*static_cast<const E*>(event)); });
  }

  // Delivers `event` to the current subscribers of E. A subscriber added or removed while this
  // runs may or may not see this event.
  template <class E>
  void Publish(const E& event) {
    PublishErased(std::type_index(typeid(E)), &event);
  }

  // Number of live subscriptions for E (for tests and diagnostics).
  template <class E>
  size_t SubscriberCount() const {
    return SubscriberCountErased(std::type_index(typeid(E)));
  }

 private:
  Subscription SubscribeErased(std::type_index type, std::function<void(const void*)> callback);
  void PublishErased(std::type_index type, const void* event);
  size_t SubscriberCountErased(std::type_index type) const;

  std::shared_ptr<internal::BusState> state_;
};

}  // namespace sicher::events
