#pragma once
// Random: the one source of randomness. Production uses the kernel CSPRNG (getrandom(2));
// tests use testing::SeededRandom for repeatable runs. Every secret (tokens, keys, nonces) must
// come from here so that a test can reproduce it and production cannot predict it.
//
// Implementations must be thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
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

// Bytes from `inner`, drawn 4 KiB at a time: for a hot path that needs many small values (the
// audit log's AES-GCM nonces, one per event on the store's writer thread), one getrandom(2) per
// 4 KiB instead of one per value. Each byte is handed out once, in order, and wiped from the
// buffer as it is taken; requests of 4 KiB or more go to `inner` directly.
class BufferedRandom final : public Random {
 public:
  explicit BufferedRandom(Random& inner) : inner_(inner) {}  // borrows `inner`
  ~BufferedRandom() override;
  BufferedRandom(const BufferedRandom&) = delete;
  BufferedRandom& operator=(const BufferedRandom&) = delete;
  void Fill(std::span<uint8_t> out) override;

 private:
  static constexpr size_t kBufferBytes = 4096;
  Random& inner_;
  std::mutex mu_;  // guards buffer_ and used_
  std::array<uint8_t, kBufferBytes> buffer_{};
  size_t used_ = kBufferBytes;  // bytes of buffer_ already handed out (and wiped)
};

}  // namespace sicher
