#include "sicher/auth/password_hasher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sicher/testing/status_matchers.h"

namespace sicher::auth {
namespace {

TEST(PasswordHasherTest, HashVerifyAndDummy) {
  PasswordHasher hasher(crypto::PasswordParams{}, 2, 8);
  ASSERT_OK_AND_ASSIGN(std::string phc, hasher.Hash("correct horse battery staple"));
  EXPECT_TRUE(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << phc;
  ASSERT_OK_AND_ASSIGN(bool ok, hasher.Verify(phc, "correct horse battery staple"));
  EXPECT_TRUE(ok);
  ASSERT_OK_AND_ASSIGN(bool wrong, hasher.Verify(phc, "correct horse battery stapler"));
  EXPECT_FALSE(wrong);
  EXPECT_OK(hasher.VerifyDummy("anything at all"));
  EXPECT_FALSE(hasher.NeedsRehash(phc));
}

TEST(PasswordHasherTest, StrongerParametersAskForRehash) {
  PasswordHasher weak(crypto::PasswordParams{}, 1, 4);
  ASSERT_OK_AND_ASSIGN(std::string phc, weak.Hash("correct horse battery staple"));
  PasswordHasher strong(crypto::PasswordParams{.memory_bytes = 19 * 1024 * 1024, .iterations = 3},
                        1, 4);
  EXPECT_TRUE(strong.NeedsRehash(phc));
  // The old hash still verifies, so the login that notices can upgrade it.
  ASSERT_OK_AND_ASSIGN(bool ok, strong.Verify(phc, "correct horse battery staple"));
  EXPECT_TRUE(ok);
}

TEST(PasswordHasherTest, FullQueueAnswersUnavailableInsteadOfWaiting) {
  // One thread, one waiting slot: of many simultaneous callers, most must be turned away.
  PasswordHasher hasher(crypto::PasswordParams{}, 1, 1);
  std::atomic<int> unavailable{0}, done{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      Result<std::string> r = hasher.Hash("correct horse battery staple");
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
        ++unavailable;
      } else {
        ++done;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_GE(unavailable.load(), 1);
  EXPECT_GE(done.load(), 1);
  EXPECT_EQ(unavailable.load() + done.load(), 8);
}

}  // namespace
}  // namespace sicher::auth
