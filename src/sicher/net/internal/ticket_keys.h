#pragma once
// Session-ticket keys that rotate. Private to net/.
//
// The current key encrypts new tickets; the previous `keep_previous` keys still decrypt (and
// ask the client to take a fresh ticket). Rotation happens lazily, on the first ticket issued
// after `rotation` has passed, or on Rotate(). Keys come from Env's Random, live only in memory
// (SecretBytes) and are wiped when dropped or when the ring is destroyed.
//
// Thread-safe. One ring serves every SSL_CTX the server builds (a certificate reload keeps
// tickets valid); the ring must outlive every context it is installed on and every connection
// made from them.

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/random.h"

struct ssl_ctx_st;

namespace sicher::net::internal {

class TicketKeyRing {
 public:
  TicketKeyRing(Clock& clock, Random& random, Duration rotation, size_t keep_previous);
  TicketKeyRing(const TicketKeyRing&) = delete;
  TicketKeyRing& operator=(const TicketKeyRing&) = delete;

  // Makes `ctx` issue and accept tickets through this ring.
  void Install(ssl_ctx_st* ctx);
  // Starts a new current key now.
  void Rotate();
  // How many keys have been created (1 after construction).
  uint64_t generation() const;

  // Used by the OpenSSL callback. Encrypt: fills `name` with the current key's name and
  // returns the keys; decrypt: finds the key called `name`. `is_current` tells whether the
  // found key is the current one. Returns false when no key has that name.
  struct KeyMaterial {
    std::array<uint8_t, 16> name;
    std::array<uint8_t, 32> aes_key;
    std::array<uint8_t, 32> hmac_key;
    bool is_current = false;
    ~KeyMaterial() {
      SecureWipe(aes_key.data(), aes_key.size());
      SecureWipe(hmac_key.data(), hmac_key.size());
    }
  };
  void CurrentForEncrypt(KeyMaterial* out);
  bool FindForDecrypt(const uint8_t* name, KeyMaterial* out);
  Random& random() { return random_; }

 private:
  struct Key {
    std::array<uint8_t, 16> name{};
    SecretBytes secret;  // 32 bytes AES-256 key || 32 bytes HMAC-SHA256 key
    MonoTime created{};
  };
  void RotateLocked(MonoTime now);

  Clock& clock_;
  Random& random_;
  const Duration rotation_;
  const size_t keep_previous_;
  mutable std::mutex mu_;
  std::deque<Key> keys_;  // front is current
  uint64_t generation_ = 0;
};

}  // namespace sicher::net::internal
