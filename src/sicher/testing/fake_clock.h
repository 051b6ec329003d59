#pragma once
// FakeClock: a Clock that moves only when a test says so. Thread-safe.

#include <atomic>

#include "sicher/base/clock.h"

namespace sicher::testing {

class FakeClock final : public Clock {
 public:
  // Starts at 2026-01-01T00:00:00Z unless told otherwise.
  explicit FakeClock(Time start = Time(std::chrono::seconds(1767225600)))
      : now_us_(start.time_since_epoch().count()) {}

  Time Now() const override { return Time(Duration(now_us_.load())); }
  MonoTime MonoNow() const override { return MonoTime(std::chrono::microseconds(mono_us_.load())); }
  void Advance(Duration d) {
    now_us_ += d.count();
    mono_us_ += d.count();
  }
  void Set(Time t) { now_us_ = t.time_since_epoch().count(); }

 private:
  std::atomic<int64_t> now_us_;
  std::atomic<int64_t> mono_us_{1'000'000};
};

}  // namespace sicher::testing
