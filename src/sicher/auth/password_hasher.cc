#include "sicher/auth/password_hasher.h"

#include <future>

#include "sicher/base/bytes.h"

namespace sicher::auth {

PasswordHasher::PasswordHasher(crypto::PasswordParams params, size_t threads, size_t queue_limit)
    : params_(params), pool_(threads, queue_limit) {
  (void)crypto::DummyPasswordHash(params_);  // computed once now, not during the first login
}

PasswordHasher::~PasswordHasher() { pool_.Shutdown(); }

template <class T, class F>
Result<T> PasswordHasher::Run(F fn) {
  auto task = std::make_shared<std::packaged_task<Result<T>()>>(std::move(fn));
  std::future<Result<T>> done = task->get_future();
  if (!pool_.TrySubmit([task] { (*task)(); })) {
    return UnavailableError("password hashing is busy; retry shortly");
  }
  return done.get();
}

Result<std::string> PasswordHasher::Hash(std::string_view password) {
  std::string copy(password);
  return Run<std::string>([this, copy = std::move(copy)]() mutable {
    Result<std::string> r = crypto::HashPassword(copy, params_);
    SecureWipe(copy.data(), copy.size());
    return r;
  });
}

Result<bool> PasswordHasher::Verify(std::string_view phc, std::string_view password) {
  std::string copy(password);
  return Run<bool>([phc = std::string(phc), copy = std::move(copy)]() mutable -> Result<bool> {
    const bool ok = crypto::VerifyPassword(phc, copy);
    SecureWipe(copy.data(), copy.size());
    return ok;
  });
}

Status PasswordHasher::VerifyDummy(std::string_view password) {
  return Verify(crypto::DummyPasswordHash(params_), password).status();
}

bool PasswordHasher::NeedsRehash(std::string_view phc) const {
  return crypto::PasswordNeedsRehash(phc, params_);
}

}  // namespace sicher::auth
