#pragma once
// Brute-force throttling, as pure functions of the stored state and `now` (the caller loads
// and saves the state in the same transaction as the login it guards).
//
// Two keys are throttled independently:
//  - the e-mail address (its blind index), whether or not an account exists for it, so that a
//    lock never reveals existence: after 3 consecutive failures each further attempt must
//    wait 2^(n-3) seconds (capped at 60 s) after the previous failure; after
//    `lockout_threshold` failures the address is locked for `lockout_duration`. The lock ends
//    by time alone (no e-mail needed); a successful login clears the count.
//  - the client IP: more than `ip_failure_limit` failures within `lockout_duration` blocks the
//    address until that window ends.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "sicher/base/clock.h"

namespace sicher::auth {

struct ThrottlePolicy {
  int64_t lockout_threshold = 10;
  Duration lockout_duration = std::chrono::minutes(15);
  int64_t ip_failure_limit = 100;
  // Sign-ups from one client IP within lockout_duration; beyond it, 429 until the window ends
  // (each sign-up costs an Argon2id hash and creates rows and keys).
  int64_t signup_ip_limit = 20;
};

struct ThrottleState {
  int64_t failures = 0;
  Time window_start{};
  Time last_failure{};
  std::optional<Time> locked_until;
};

// How long the caller must wait before an attempt for this e-mail may be evaluated; zero
// means go ahead.
Duration SubjectWait(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy,
                     Time now);
// The state after one more failure for this e-mail.
ThrottleState SubjectFailure(const std::optional<ThrottleState>& state,
                             const ThrottlePolicy& policy, Time now);

Duration IpWait(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy, Time now);

// Throttled attempts cost an attacker nothing (they are refused before any password hash), so
// recording every one would let a single address grow the login history and the append-only
// audit log without bound. The sampler lets one refusal per key through every `interval` and
// counts the others; the next recorded refusal says how many were suppressed. Bounded: at most
// `max_keys` keys are tracked (beyond that the table starts over, which only records more).
// Thread-safe.
class RefusalSampler {
 public:
  RefusalSampler(Duration interval, size_t max_keys) : interval_(interval), max_keys_(max_keys) {}
  // True: record this refusal; `*suppressed` = refusals of `key` skipped since the last one.
  bool ShouldRecord(const std::string& key, Time now, int64_t* suppressed);

 private:
  struct Entry {
    Time last{};
    int64_t suppressed = 0;
  };
  const Duration interval_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};
ThrottleState IpFailure(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy,
                        Time now);

}  // namespace sicher::auth
