#pragma once
// Random: the one source of randomness. Production uses the kernel CSPRNG (getrandom(2));
// tests use testing::SeededRandom for repeatable runs. Every secret (tokens, keys, nonces) must
// come from here so that a test can reproduce it and production cannot predict it.
//
// Implementations must be thread-safe.

#include <cstdint>
#include <span>
#include <string>

namespace sicher {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. The system implementation never fails (it aborts if the
  // kernel cannot supply entropy, which would be a broken host).
  virtual void Fill(std::span<uint8_t> out) = 0;

  uint64_t Next64();
  // Uniform in [0, bound); bound > 0.
  uint64_t Uniform(uint64_t bound);
  // `n` random bytes as lowercase hex (2n characters).
  std::string Hex(size_t n);
};

class SystemRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
};

}  // namespace sicher
