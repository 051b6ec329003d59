#include "sicher/events/bus.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sicher/base/check.h"

namespace sicher::events {
namespace internal {
namespace {
// The entries whose callbacks this thread is running, innermost last. Lets an entry tell an
// unsubscription from inside its own callback (must not wait) from one on another thread (must).
thread_local std::vector<const Entry*> tls_running;
}  // namespace

// One subscription: its callback plus the bookkeeping for the strong unsubscribe guarantee.
class Entry {
 public:
  explicit Entry(std::function<void(const void*)> callback) : callback_(std::move(callback)) {}

  // Runs the callback unless unsubscribed. noexcept: a throwing subscriber is a bug.
  void Invoke(const void* event) noexcept {
    {
      std::lock_guard lock(mu_);
      if (!alive_) return;
      ++active_;
    }
    tls_running.push_back(this);
    callback_(event);
    tls_running.pop_back();
    std::lock_guard lock(mu_);
    if (--active_ == 0) idle_.notify_all();
  }

  // Stops future calls and waits for calls on other threads to finish.
  void Kill() {
    const auto own = static_cast<int>(std::count(tls_running.begin(), tls_running.end(), this));
    std::unique_lock lock(mu_);
    alive_ = false;
    idle_.wait(lock, [&] { return active_ <= own; });
    // Release captured state now, unless we are inside the callback (it is still running).
    if (own == 0) callback_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  bool alive_ = true;
  int active_ = 0;
  std::function<void(const void*)> callback_;
};

class BusState {
 public:
  using List = std::vector<std::shared_ptr<Entry>>;

  void Add(std::type_index type, std::shared_ptr<Entry> entry) {
    std::lock_guard lock(mu_);
    auto& slot = lists_[type];
    auto next = slot ? std::make_shared<List>(*slot) : std::make_shared<List>();
    next->push_back(std::move(entry));
    slot = std::move(next);
  }

  void Remove(const Entry* entry) {
    std::lock_guard lock(mu_);
    for (auto it = lists_.begin(); it != lists_.end(); ++it) {
      const List& list = *it->second;
      auto pos = std::find_if(list.begin(), list.end(),
                              [&](const std::shared_ptr<Entry>& e) { return e.get() == entry; });
      if (pos == list.end()) continue;
      auto next = std::make_shared<List>();
      next->reserve(list.size() - 1);
      for (const auto& e : list) {
        if (e.get() != entry) next->push_back(e);
      }
      if (next->empty()) {
        lists_.erase(it);
      } else {
        it->second = std::move(next);
      }
      return;
    }
  }

  std::shared_ptr<const List> Snapshot(std::type_index type) const {
    std::lock_guard lock(mu_);
    auto it = lists_.find(type);
    return it == lists_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mu_;
  // Copy-on-write: a published list is never modified, so Publish iterates it unlocked.
  std::unordered_map<std::type_index, std::shared_ptr<const List>> lists_;
};

}  // namespace internal

Subscription::~Subscription() { Reset(); }

Subscription::Subscription(Subscription&& other) noexcept
    : state_(std::move(other.state_)), entry_(std::move(other.entry_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    state_ = std::move(other.state_);
    entry_ = std::move(other.entry_);
  }
  return *this;
}

void Subscription::Reset() {
  if (entry_ == nullptr) return;
  if (auto state = state_.lock()) state->Remove(entry_.get());
  entry_->Kill();
  entry_.reset();
  state_.reset();
}

Bus::Bus() : state_(std::make_shared<internal::BusState>()) {}
Bus::~Bus() = default;

Subscription Bus::SubscribeErased(std::type_index type, std::function<void(const void*)> callback) {
  auto entry = std::make_shared<internal::Entry>(std::move(callback));
  state_->Add(type, entry);
  return Subscription(state_, std::move(entry));
}

void Bus::PublishErased(std::type_index type, const void* event) {
  std::shared_ptr<const internal::BusState::List> list = state_->Snapshot(type);
  if (list == nullptr) return;
  for (const auto& entry : *list) entry->Invoke(event);
}

size_t Bus::SubscriberCountErased(std::type_index type) const {
  auto list = state_->Snapshot(type);
  return list == nullptr ? 0 : list->size();
}

}  // namespace sicher::events
