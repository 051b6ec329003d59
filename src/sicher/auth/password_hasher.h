#pragma once
// Runs Argon2id on a bounded pool of its own, so that password hashing (19 MiB and tens of
// milliseconds each) never occupies more than `threads` cores, and a flood of logins turns
// into 503 + Retry-After instead of stalling every other request.
//
// Thread-safe. Calls block the calling (worker) thread until the hash is done.

#include <memory>
#include <string>
#include <string_view>

#include "sicher/base/status.h"
#include "sicher/base/thread_pool.h"
#include "sicher/crypto/password.h"

namespace sicher::auth {

class PasswordHasher {
 public:
  PasswordHasher(crypto::PasswordParams params, size_t threads, size_t queue_limit);
  ~PasswordHasher();

  // Unavailable ("password hashing is busy") when the queue is full.
  Result<std::string> Hash(std::string_view password);
  // False for a wrong password or a malformed hash. Unavailable when the queue is full.
  Result<bool> Verify(std::string_view phc, std::string_view password);
  // Costs what Verify costs, against a hash no password matches: for unknown users.
  Status VerifyDummy(std::string_view password);
  bool NeedsRehash(std::string_view phc) const;
  const crypto::PasswordParams& params() const { return params_; }

 private:
  template <class T, class F>
  Result<T> Run(F fn);

  crypto::PasswordParams params_;
  ThreadPool pool_;
};

}  // namespace sicher::auth
