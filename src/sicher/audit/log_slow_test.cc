// Audit log tests that take more than a few seconds (label "slow").

#include <gtest/gtest.h>

#include <set>

#include "sicher/audit/log_test_util.h"

namespace sicher::audit {
namespace {

// The bar: 100,000 events, paged with a cursor while more are appended between pages,
// come back each exactly once.
TEST_F(AuditLogTest, PaginationOverAHundredThousandEvents) {
  const std::string acc = NewScope("acc");
  const std::string user = NewScope("usr");
  AppendMany(acc, 90000);
  AppendMany(user, 10000, "login.password");
  std::set<uint64_t> seen;
  std::optional<Position> after;
  const std::vector<std::string> scopes = {acc, user};
  for (int pages = 0;; ++pages) {
    std::vector<StoredEvent> page = PageOf(scopes, {}, after, 500);
    for (const StoredEvent& ev : page) {
      ASSERT_TRUE(seen.insert(ev.log_index).second) << "duplicate " << ev.log_index;
    }
    // Newer events appended meanwhile sort before the cursor: they never shift a page.
    if (pages % 50 == 0) AppendMany(acc, 10);
    if (page.size() < 500) break;
    after = DecodeCursor(
        EncodeCursor({page.back().at_us, static_cast<int64_t>(page.back().log_index)}));
  }
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_EQ(*seen.begin(), 0u);
}

}  // namespace
}  // namespace sicher::audit
