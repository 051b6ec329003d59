#pragma once
// A bounded least-recently-used map from string keys to values.
//
// Thread-compatible: not synchronised; the owner holds a mutex around every call (Get() updates
// recency, so even lookups mutate).

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sicher::net::internal {

template <typename Value>
class LruCache {
 public:
  // Holds at most `capacity` entries; 0 makes every Put() a no-op.
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // A copy of the value for `key`, now the most recently used; nullopt if absent.
  std::optional<Value> Get(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->second;
  }

  // Inserts or replaces `key`, evicting the least recently used entry when full.
  void Put(std::string key, Value value) {
    if (capacity_ == 0) return;
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      entries_.splice(entries_.begin(), entries_, it->second);
      return;
    }
    if (entries_.size() == capacity_) {
      index_.erase(std::string_view(entries_.back().first));
      entries_.pop_back();
    }
    entries_.emplace_front(std::move(key), std::move(value));
    index_.emplace(std::string_view(entries_.front().first), entries_.begin());
  }

  size_t size() const { return entries_.size(); }

 private:
  using Entry = std::pair<std::string, Value>;
  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  // Keys view the strings in entries_ (list nodes never move), so each key is stored once.
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

}  // namespace sicher::net::internal
