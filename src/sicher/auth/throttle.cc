#include "sicher/auth/throttle.h"

#include <algorithm>

namespace sicher::auth {
namespace {
constexpr int64_t kFreeFailures = 3;
constexpr Duration kMaxDelay = std::chrono::seconds(60);

Duration Remaining(Time until, Time now) {
  return until > now ? std::chrono::duration_cast<Duration>(until - now) : Duration::zero();
}
}  // namespace

Duration SubjectWait(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy,
                     Time now) {
  if (!state) return Duration::zero();
  if (state->locked_until && *state->locked_until > now) {
    return Remaining(*state->locked_until, now);
  }
  if (now - state->last_failure >= policy.lockout_duration) return Duration::zero();
  if (state->failures < kFreeFailures) return Duration::zero();
  const int64_t exponent = std::min<int64_t>(state->failures - kFreeFailures, 6);
  const Duration delay =
      std::min<Duration>(std::chrono::seconds(int64_t{1} << exponent), kMaxDelay);
  return Remaining(state->last_failure + delay, now);
}

ThrottleState SubjectFailure(const std::optional<ThrottleState>& state,
                             const ThrottlePolicy& policy, Time now) {
  ThrottleState next;
  const bool fresh = !state || now - state->last_failure >= policy.lockout_duration ||
                     (state->locked_until && *state->locked_until <= now);
  next.failures = fresh ? 1 : state->failures + 1;
  next.window_start = fresh ? now : state->window_start;
  next.last_failure = now;
  if (next.failures >= policy.lockout_threshold) {
    next.locked_until = now + policy.lockout_duration;
  }
  return next;
}

Duration IpWait(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy, Time now) {
  if (!state || state->failures < policy.ip_failure_limit) return Duration::zero();
  return Remaining(state->window_start + policy.lockout_duration, now);
}

ThrottleState IpFailure(const std::optional<ThrottleState>& state, const ThrottlePolicy& policy,
                        Time now) {
  ThrottleState next;
  const bool fresh = !state || now - state->window_start >= policy.lockout_duration;
  next.failures = fresh ? 1 : state->failures + 1;
  next.window_start = fresh ? now : state->window_start;
  next.last_failure = now;
  return next;
}

bool RefusalSampler::ShouldRecord(const std::string& key, Time now, int64_t* suppressed) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) entries_.clear();
    entries_.emplace(key, Entry{now, 0});
    *suppressed = 0;
    return true;
  }
  if (now - it->second.last < interval_) {
    ++it->second.suppressed;
    return false;
  }
  *suppressed = it->second.suppressed;
  it->second = Entry{now, 0};
  return true;
}

}  // namespace sicher::auth
