#pragma once
// Password hashing (Argon2id through libsodium's crypto_pwhash) and the password policy.
//
// Hashes are PHC strings, e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>", with a
// 16-byte salt from libsodium's CSPRNG and a 32-byte tag. They carry their own parameters, so a
// change of configuration is applied on the next successful login (PasswordNeedsRehash).
//
// Cost: one hash or verification takes memory_bytes of RAM (19 MiB by default) and tens of
// milliseconds of one core. Callers run HashPassword / VerifyPassword on a bounded worker
// pool, never on a network thread.
//
// All functions are thread-safe. No function puts a password or hash into a Status message.

#include <cstdint>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::crypto {

// Password length bounds, in bytes (not characters: a multi-byte UTF-8 character counts as
// several). The upper bound caps the work an attacker can ask for per request.
inline constexpr size_t kMinPasswordBytes = 12;
inline constexpr size_t kMaxPasswordBytes = 1024;

struct PasswordParams {
  // Argon2id memory cost in bytes; a multiple of 1 KiB (the PHC string records KiB).
  uint64_t memory_bytes = 19 * 1024 * 1024;
  // Argon2id time cost (passes over the memory).
  uint32_t iterations = 2;
  // Lanes. libsodium implements only 1; anything else is refused by ValidatePasswordParams.
  uint32_t parallelism = 1;

  friend bool operator==(const PasswordParams&, const PasswordParams&) = default;
};

// OK when `params` is at least as strong as one row of the OWASP Password Storage Cheat Sheet
// table for Argon2id (all with p=1): m=46 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4,
// m=7 MiB t=5 (a row is met when both memory and iterations are at least the row's).
// InvalidArgument otherwise, and also when parallelism != 1 (libsodium supports only one
// lane), memory_bytes is not a multiple of 1024 or exceeds 4 GiB, or iterations exceeds 100
// (a typo must not make every login take minutes).
Status ValidatePasswordParams(const PasswordParams& params);

// Hashes `password` with a fresh random salt. InvalidArgument if `params` are invalid (see
// ValidatePasswordParams) or the password is longer than kMaxPasswordBytes; ResourceExhausted
// if the memory cannot be allocated. Does not apply the policy: call CheckPasswordPolicy when
// a user chooses a password.
Result<std::string> HashPassword(std::string_view password, const PasswordParams& params);

// True when `password` matches the PHC string `phc` (Argon2id, or legacy Argon2i, as libsodium
// accepts). The comparison is constant-time inside libsodium; the cost is that of the
// parameters recorded in `phc`. False, never a crash, on a malformed or truncated hash and on
// a password longer than kMaxPasswordBytes.
bool VerifyPassword(std::string_view phc, std::string_view password);

// True when `phc` was not made by HashPassword(_, params): different memory, iterations or
// lanes, another algorithm, or malformed. Call after a successful VerifyPassword and store a
// new hash of the same password when it returns true.
bool PasswordNeedsRehash(std::string_view phc, const PasswordParams& params);

// A hash of a random password with `params`, computed on first use per distinct params and
// kept for the life of the process. Verify an unknown user's login attempt against it so that
// "no such user" costs the same time as "wrong password". The first call per params takes one
// hashing time (warm it up at startup). CHECK-fails on invalid params (validate config first)
// or if memory cannot be allocated.
const std::string& DummyPasswordHash(const PasswordParams& params);

// The policy for a newly chosen password (NIST SP 800-63B style): at least kMinPasswordBytes
// and at most kMaxPasswordBytes bytes, no composition rules, and not one of the ~10,000 most
// common passwords (case-insensitive). InvalidArgument with a message fit for the user
// ("password must be at least 12 characters", "password must be at most 1024 bytes",
// "this password is too common"); the message never contains the password.
Status CheckPasswordPolicy(std::string_view password);

}  // namespace sicher::crypto
