#include "sicher/base/random.h"

#include <string.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sicher/base/bytes.h"
#include "sicher/base/check.h"

namespace sicher {

uint64_t Random::Next64() {
  uint64_t v;
  Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v));
  return v;
}

uint64_t Random::Uniform(uint64_t bound) {
  CHECK(bound > 0);
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t v;
  do {
    v = Next64();
  } while (v >= limit);
  return v % bound;
}

std::string Random::Hex(size_t n) {
  std::string bytes(n, '\0');
  Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), n));
  return HexEncode(bytes);
}

void SystemRandom::Fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      CHECK(errno == EINTR);
      continue;
    }
    done += static_cast<size_t>(n);
  }
}

BufferedRandom::~BufferedRandom() { explicit_bzero(buffer_.data(), buffer_.size()); }

void BufferedRandom::Fill(std::span<uint8_t> out) {
  if (out.size() >= kBufferBytes) {
    inner_.Fill(out);
    return;
  }
  std::lock_guard lock(mu_);
  while (!out.empty()) {
    if (used_ == kBufferBytes) {
      inner_.Fill(buffer_);
      used_ = 0;
    }
    const size_t n = std::min(out.size(), kBufferBytes - used_);
    std::memcpy(out.data(), buffer_.data() + used_, n);
    explicit_bzero(buffer_.data() + used_, n);
    used_ += n;
    out = out.subspan(n);
  }
}

}  // namespace sicher
