#pragma once
// SeededRandom: deterministic bytes (SplitMix64) for repeatable tests. Never for production.
// Thread-safe.

#include <mutex>

#include "sicher/base/random.h"

namespace sicher::testing {

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed = 42) : state_(seed) {}
  void Fill(std::span<uint8_t> out) override {
    std::lock_guard lock(mu_);
    for (auto& b : out) {
      if (avail_ == 0) {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf_ = z ^ (z >> 31);
        avail_ = 8;
      }
      b = static_cast<uint8_t>(buf_);
      buf_ >>= 8;
      --avail_;
    }
  }

 private:
  std::mutex mu_;
  uint64_t state_;
  uint64_t buf_ = 0;
  int avail_ = 0;
};

}  // namespace sicher::testing
