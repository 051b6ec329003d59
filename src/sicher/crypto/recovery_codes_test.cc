#include "sicher/crypto/recovery_codes.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "sicher/testing/seeded_random.h"

namespace sicher::crypto {
namespace {

constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";

TEST(RecoveryCodesTest, TenCodesInTheDisplayFormat) {
  testing::SeededRandom random(1);
  const std::vector<std::string> codes = NewRecoveryCodes(random);
  ASSERT_EQ(codes.size(), 10u);
  const std::regex format("^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$");
  for (const std::string& code : codes) {
    EXPECT_TRUE(std::regex_match(code, format)) << code;
    EXPECT_EQ(code.find_first_of("ilou"), std::string::npos) << code;
  }
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  EXPECT_EQ(NewRecoveryCodes(random, 3).size(), 3u);
}

TEST(RecoveryCodesTest, ComeFromTheRandomSource) {
  testing::SeededRandom a(4), b(4), c(5);
  EXPECT_EQ(NewRecoveryCodes(a), NewRecoveryCodes(b));
  EXPECT_NE(NewRecoveryCodes(a), NewRecoveryCodes(c));
}

TEST(RecoveryCodesTest, EverySymbolAtEveryPosition) {
  // 60 uniform bits per code: with 3,200 codes each of the 32 symbols is expected ~100 times
  // at each of the 12 positions; a missing one would mean bits are lost or biased.
  testing::SeededRandom random(8);
  std::map<std::pair<int, char>, int> counts;
  for (const std::string& code : NewRecoveryCodes(random, 3200)) {
    const std::string compact = NormalizeRecoveryCode(code);
    ASSERT_EQ(compact.size(), 12u);
    for (int i = 0; i < 12; ++i) counts[{i, compact[i]}]++;
  }
  for (int i = 0; i < 12; ++i) {
    for (const char c : kAlphabet) {
      EXPECT_GT((counts[{i, c}]), 40) << "position " << i << " symbol " << c;
      EXPECT_LT((counts[{i, c}]), 180) << "position " << i << " symbol " << c;
    }
  }
  EXPECT_EQ(counts.size(), 12u * 32u);
}

TEST(RecoveryCodesTest, Normalize) {
  EXPECT_EQ(NormalizeRecoveryCode("k7q2-m9xd-p4tz"), "k7q2m9xdp4tz");
  EXPECT_EQ(NormalizeRecoveryCode(" K7Q2 M9XD\tP4TZ\n"), "k7q2m9xdp4tz");
  EXPECT_EQ(NormalizeRecoveryCode("k7q2--m9xd--p4tz"), "k7q2m9xdp4tz");
  // Crockford's reading rules for the letters left out of the alphabet.
  EXPECT_EQ(NormalizeRecoveryCode("O0o-IiLl1"), "00011111");
  EXPECT_EQ(NormalizeRecoveryCode(""), "");
  EXPECT_EQ(NormalizeRecoveryCode("---"), "");
}

TEST(RecoveryCodesTest, HashIsSha256HexOfTheNormalizedCode) {
  // SHA-256("abc") from FIPS 180-2.
  EXPECT_EQ(HashRecoveryCode("A-B C"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashRecoveryCode("k7q2-m9xd-p4tz"), HashRecoveryCode("K7Q2M9XDP4TZ"));
  EXPECT_NE(HashRecoveryCode("k7q2-m9xd-p4tz"), HashRecoveryCode("k7q2-m9xd-p4ty"));
}

TEST(RecoveryCodesTest, Matches) {
  testing::SeededRandom random(2);
  const std::vector<std::string> codes = NewRecoveryCodes(random);
  std::vector<std::string> hashes;
  for (const std::string& code : codes) hashes.push_back(HashRecoveryCode(code));
  for (size_t i = 0; i < codes.size(); ++i) {
    std::string upper = codes[i];
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(RecoveryCodeMatches(hashes[i], codes[i]));
    EXPECT_TRUE(RecoveryCodeMatches(hashes[i], upper));
    EXPECT_TRUE(RecoveryCodeMatches(hashes[i], NormalizeRecoveryCode(codes[i])));
    for (size_t j = 0; j < codes.size(); ++j) {
      if (j != i) {
        EXPECT_FALSE(RecoveryCodeMatches(hashes[i], codes[j]));
      }
    }
    EXPECT_FALSE(RecoveryCodeMatches(hashes[i], ""));
    EXPECT_FALSE(RecoveryCodeMatches(hashes[i], codes[i].substr(0, 13)));
    EXPECT_FALSE(RecoveryCodeMatches("", codes[i]));
    EXPECT_FALSE(RecoveryCodeMatches(hashes[i].substr(0, 63), codes[i]));
  }
}

}  // namespace
}  // namespace sicher::crypto
