#include "sicher/crypto/password.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

// The cheapest OWASP row by memory (m=7 MiB, t=5): keeps the tests fast.
constexpr PasswordParams kFast{.memory_bytes = 7 * 1024 * 1024, .iterations = 5};

constexpr std::string_view kGood = "correct horse battery staple";

TEST(PasswordParamsTest, DefaultsAreTheOwaspRecommendation) {
  const PasswordParams params;
  EXPECT_EQ(params.memory_bytes, 19u * 1024 * 1024);
  EXPECT_EQ(params.iterations, 2u);
  EXPECT_EQ(params.parallelism, 1u);
  EXPECT_OK(ValidatePasswordParams(params));
}

TEST(PasswordParamsTest, AcceptsEveryOwaspRowAndStronger) {
  const uint64_t mib = 1024 * 1024;
  for (const auto& [m, t] : std::vector<std::pair<uint64_t, uint32_t>>{{46 * mib, 1},
                                                                       {19 * mib, 2},
                                                                       {12 * mib, 3},
                                                                       {9 * mib, 4},
                                                                       {7 * mib, 5},
                                                                       {64 * mib, 1},
                                                                       {19 * mib, 3},
                                                                       {7 * mib, 10},
                                                                       {4096 * mib, 1}}) {
    const Status status = ValidatePasswordParams({.memory_bytes = m, .iterations = t});
    EXPECT_TRUE(status.ok()) << "m=" << m / mib << " MiB t=" << t << ": " << status.ToString();
  }
}

TEST(PasswordParamsTest, RejectsWeakerThanEveryRow) {
  const uint64_t mib = 1024 * 1024;
  for (const auto& [m, t] : std::vector<std::pair<uint64_t, uint32_t>>{{19 * mib, 1},
                                                                       {19 * mib - 1024, 2},
                                                                       {45 * mib, 1},
                                                                       {11 * mib, 3},
                                                                       {8 * mib, 4},
                                                                       {6 * mib, 100},
                                                                       {1 * mib, 2},
                                                                       {0, 0},
                                                                       {1024 * mib, 0}}) {
    const Status status = ValidatePasswordParams({.memory_bytes = m, .iterations = t});
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "m=" << m << " t=" << t;
  }
}

TEST(PasswordParamsTest, RejectsWhatLibsodiumCannotDoOrIsAbsurd) {
  PasswordParams p2;
  p2.parallelism = 2;
  EXPECT_EQ(ValidatePasswordParams(p2).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ValidatePasswordParams(p2).message().find("parallelism"), std::string::npos);
  PasswordParams p0;
  p0.parallelism = 0;
  EXPECT_EQ(ValidatePasswordParams(p0).code(), StatusCode::kInvalidArgument);
  PasswordParams odd;
  odd.memory_bytes += 1;
  EXPECT_EQ(ValidatePasswordParams(odd).code(), StatusCode::kInvalidArgument);
  PasswordParams huge;
  huge.memory_bytes = (uint64_t{4} << 30) + 1024;
  EXPECT_EQ(ValidatePasswordParams(huge).code(), StatusCode::kInvalidArgument);
  PasswordParams slow;
  slow.iterations = 101;
  EXPECT_EQ(ValidatePasswordParams(slow).code(), StatusCode::kInvalidArgument);
}

TEST(PasswordHashTest, DefaultParamsProduceThePhcString) {
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(kGood, PasswordParams{}));
  EXPECT_EQ(phc.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << phc;
  // 16-byte salt and 32-byte hash, unpadded base64: 22 and 43 characters.
  const size_t salt_start = phc.find('$', 30) + 1;
  const size_t hash_start = phc.find('$', salt_start) + 1;
  EXPECT_EQ(hash_start - salt_start - 1, 22u);
  EXPECT_EQ(phc.size() - hash_start, 43u);
  EXPECT_TRUE(VerifyPassword(phc, kGood));
  EXPECT_FALSE(VerifyPassword(phc, "correct horse battery stapler"));
  EXPECT_FALSE(PasswordNeedsRehash(phc, PasswordParams{}));
}

TEST(PasswordHashTest, VerifiesOnlyTheSamePassword) {
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(kGood, kFast));
  EXPECT_EQ(phc.rfind("$argon2id$v=19$m=7168,t=5,p=1$", 0), 0u) << phc;
  EXPECT_TRUE(VerifyPassword(phc, kGood));
  EXPECT_FALSE(VerifyPassword(phc, ""));
  EXPECT_FALSE(VerifyPassword(phc, "Correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(phc, std::string(kGood) + '\0'));
  EXPECT_FALSE(VerifyPassword(phc, kGood.substr(0, kGood.size() - 1)));
}

TEST(PasswordHashTest, SaltsAreFresh) {
  ASSERT_OK_AND_ASSIGN(const std::string a, HashPassword(kGood, kFast));
  ASSERT_OK_AND_ASSIGN(const std::string b, HashPassword(kGood, kFast));
  EXPECT_NE(a, b);
  EXPECT_TRUE(VerifyPassword(a, kGood));
  EXPECT_TRUE(VerifyPassword(b, kGood));
}

TEST(PasswordHashTest, HandlesBinaryAndMaximumLengthPasswords) {
  constexpr char kBinary[] = "\0\xff\x01 pass\0word\x80";
  const std::string binary(kBinary, sizeof kBinary - 1);
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(binary, kFast));
  EXPECT_TRUE(VerifyPassword(phc, binary));
  EXPECT_FALSE(VerifyPassword(phc, binary.substr(0, 1)));  // NUL bytes are not terminators

  const std::string longest(kMaxPasswordBytes, 'x');
  ASSERT_OK_AND_ASSIGN(const std::string phc_long, HashPassword(longest, kFast));
  EXPECT_TRUE(VerifyPassword(phc_long, longest));
}

TEST(PasswordHashTest, RefusesTooLongPasswordsAndBadParams) {
  const std::string too_long(kMaxPasswordBytes + 1, 'x');
  const Result<std::string> hashed = HashPassword(too_long, kFast);
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hashed.status().message().find("xxxx"), std::string::npos);

  const Result<std::string> weak = HashPassword(kGood, {.memory_bytes = 1 << 20, .iterations = 1});
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(weak.status().message().find(kGood), std::string::npos);

  // A stored hash cannot match an over-long password, whatever it is.
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(kGood, kFast));
  EXPECT_FALSE(VerifyPassword(phc, std::string(kGood) + std::string(kMaxPasswordBytes, ' ')));
}

TEST(PasswordHashTest, MalformedHashesNeverVerify) {
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(kGood, kFast));
  std::string flipped = phc;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  std::string bad_salt = phc;
  bad_salt[phc.find('$', 30) + 3] ^= 1;
  const std::vector<std::string> bad = {
      "",
      "$",
      "password",
      "$argon2id$",
      "$argon2id$v=19$m=7168,t=5,p=1$",
      phc.substr(0, phc.size() - 1),
      phc.substr(0, phc.size() / 2),
      phc + "A",
      flipped,
      bad_salt,
      "$argon2id$v=18" + phc.substr(14),
      "$argon2d$" + phc.substr(10),
      "$scrypt$" + phc.substr(10),
      std::string(phc).insert(5, 1, '\0'),
      phc + std::string(200, 'A'),
      std::string(4096, '$'),
  };
  for (const std::string& s : bad) {
    EXPECT_FALSE(VerifyPassword(s, kGood)) << s;
    // A flipped bit keeps the shape HashPassword produces; everything else is rehashed.
    if (s != flipped && s != bad_salt) {
      EXPECT_TRUE(PasswordNeedsRehash(s, kFast)) << s;
    }
  }
}

TEST(PasswordHashTest, NeedsRehashWhenParamsChange) {
  ASSERT_OK_AND_ASSIGN(const std::string phc, HashPassword(kGood, kFast));
  EXPECT_FALSE(PasswordNeedsRehash(phc, kFast));
  EXPECT_TRUE(PasswordNeedsRehash(phc, PasswordParams{}));
  EXPECT_TRUE(PasswordNeedsRehash(phc, {.memory_bytes = kFast.memory_bytes, .iterations = 6}));
  EXPECT_TRUE(PasswordNeedsRehash(phc, {.memory_bytes = 8 << 20, .iterations = 5}));
  // libsodium itself ignores the lane count; we do not.
  std::string two_lanes = phc;
  two_lanes.replace(two_lanes.find(",p=1$"), 5, ",p=2$");
  EXPECT_TRUE(PasswordNeedsRehash(two_lanes, kFast));
}

TEST(DummyPasswordHashTest, IsStableAndMatchesNothing) {
  const std::string& a = DummyPasswordHash(kFast);
  const std::string& b = DummyPasswordHash(kFast);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.rfind("$argon2id$v=19$m=7168,t=5,p=1$", 0), 0u);
  EXPECT_FALSE(PasswordNeedsRehash(a, kFast));
  EXPECT_FALSE(VerifyPassword(a, kGood));
  EXPECT_FALSE(VerifyPassword(a, ""));

  const PasswordParams other{.memory_bytes = 9 * 1024 * 1024, .iterations = 4};
  const std::string& c = DummyPasswordHash(other);
  EXPECT_NE(a, c);
  EXPECT_EQ(c.rfind("$argon2id$v=19$m=9216,t=4,p=1$", 0), 0u);
  EXPECT_EQ(&DummyPasswordHash(kFast), &a);  // still valid after another entry was added
}

TEST(DummyPasswordHashTest, ConcurrentFirstUseComputesOnce) {
  const PasswordParams params{.memory_bytes = 12 * 1024 * 1024, .iterations = 3};
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = &DummyPasswordHash(params); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<const std::string*>(seen.begin(), seen.end()).size(), 1u);
}

TEST(PasswordPolicyTest, LengthIsCountedInBytes) {
  const Status short_one = CheckPasswordPolicy("elevenchars");
  EXPECT_EQ(short_one.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(short_one.message(), "password must be at least 12 characters");
  EXPECT_EQ(CheckPasswordPolicy("").code(), StatusCode::kInvalidArgument);
  EXPECT_OK(CheckPasswordPolicy("twelve chars"));
  EXPECT_OK(CheckPasswordPolicy(std::string(kMaxPasswordBytes, 'q')));
  const Status long_one = CheckPasswordPolicy(std::string(kMaxPasswordBytes + 1, 'q'));
  EXPECT_EQ(long_one.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(long_one.message(), "password must be at most 1024 bytes");
  // Three 4-byte emoji are 12 bytes: accepted. Six 2-byte letters are 12 bytes too.
  EXPECT_OK(CheckPasswordPolicy("\xF0\x9F\x94\x91\xF0\x9F\x94\x91\xF0\x9F\x94\x91"));
  EXPECT_OK(CheckPasswordPolicy("\xC3\xA4\xC3\xB6\xC3\xBC\xC3\xA4\xC3\xB6\xC3\xBC"));
}

TEST(PasswordPolicyTest, NoCompositionRules) {
  EXPECT_OK(CheckPasswordPolicy("alllowercaseletters"));
  EXPECT_OK(CheckPasswordPolicy("999999999999999999997"));
  EXPECT_OK(CheckPasswordPolicy("            x"));  // spaces are characters like any other
}

TEST(PasswordPolicyTest, RejectsCommonPasswordsCaseInsensitively) {
  for (std::string_view common :
       {"unbelievable", "UNBELIEVABLE", "Scandinavian", "films+pic+galeries", "MotherFucker"}) {
    const Status status = CheckPasswordPolicy(common);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << common;
    EXPECT_EQ(status.message(), "this password is too common");
  }
  EXPECT_OK(CheckPasswordPolicy("unbelievable!"));
}

}  // namespace
}  // namespace sicher::crypto
