#include "sicher/auth/email.h"

#include <gtest/gtest.h>

namespace sicher::auth {
namespace {

TEST(EmailTest, NormalisesCaseAndSpace) {
  EXPECT_EQ(*NormalizeEmail("  Alice@Example.COM "), "alice@example.com");
}

TEST(EmailTest, RejectsMalformed) {
  for (const char* bad : {"", "alice", "@example.com", "alice@", "alice@example", "a@b@example.com",
                          "al ice@example.com", "alice@.com", "alice@com."}) {
    EXPECT_EQ(NormalizeEmail(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(NormalizeEmail(std::string(250, 'a') + "@example.com").ok());
}

}  // namespace
}  // namespace sicher::auth
