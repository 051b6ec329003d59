#include "sicher/crypto/totp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sicher/testing/seeded_random.h"

namespace sicher::crypto {
namespace {

Time At(int64_t unix_seconds) { return Time(std::chrono::seconds(unix_seconds)); }

// RFC 6238 Appendix B and RFC 4226 Appendix D use this ASCII secret for SHA-1.
SecretBytes RfcSecret() { return SecretBytes(std::string_view("12345678901234567890")); }

TEST(TotpSecretTest, TwentyRandomBytes) {
  testing::SeededRandom a(1), b(1), c(2);
  const SecretBytes sa = NewTotpSecret(a);
  const SecretBytes sb = NewTotpSecret(b);
  const SecretBytes sc = NewTotpSecret(c);
  EXPECT_EQ(sa.size(), 20u);
  EXPECT_EQ(sa.view(), sb.view());
  EXPECT_NE(sa.view(), sc.view());
  EXPECT_NE(NewTotpSecret(a).view(), sa.view());
}

TEST(Base32Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "MY"},
                                                                    {"fo", "MZXQ"},
                                                                    {"foo", "MZXW6"},
                                                                    {"foob", "MZXW6YQ"},
                                                                    {"fooba", "MZXW6YTB"},
                                                                    {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(plain), encoded);
    EXPECT_EQ(Base32Decode(encoded), plain) << encoded;
  }
  // With RFC 4648 padding, and in lower case.
  EXPECT_EQ(Base32Decode("MY======"), "f");
  EXPECT_EQ(Base32Decode("MZXQ===="), "fo");
  EXPECT_EQ(Base32Decode("MZXW6==="), "foo");
  EXPECT_EQ(Base32Decode("MZXW6YQ="), "foob");
  EXPECT_EQ(Base32Decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(Base32Decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(Base32Encode("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32Test, RoundTripsEveryLength) {
  testing::SeededRandom random(3);
  for (size_t n = 0; n <= 64; ++n) {
    std::string bytes(n, '\0');
    random.Fill({reinterpret_cast<uint8_t*>(bytes.data()), n});
    const std::string encoded = Base32Encode(bytes);
    EXPECT_EQ(encoded.size(), (n * 8 + 4) / 5);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(Base32Decode(encoded), bytes) << n;
  }
}

TEST(Base32Test, RejectsMalformedInput) {
  for (std::string_view bad :
       {"M", "MZX", "MZXW6Y", "MZXW6YTBO", "MY=", "MY=======", "MZXW6YTB=", "M1", "MY 0", "MY\n",
        "MZ" /* non-zero trailing bits */, "MZXR", "=", "========", "MY==M===", "0Y", "8Y", "M-"}) {
    EXPECT_EQ(Base32Decode(bad), std::nullopt) << bad;
  }
}

TEST(OtpauthUriTest, ExactFormat) {
  const SecretBytes secret = RfcSecret();
  EXPECT_EQ(OtpauthUri("sicher", "alice@example.com", secret),
            "otpauth://totp/sicher:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=sicher&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUriTest, PercentEncodesIssuerAndAccount) {
  const SecretBytes secret = RfcSecret();
  const std::string uri = OtpauthUri("ACME Co:Docs & more",
                                     "b\xC3\xB6"
                                     "b+x:y?z",
                                     secret);
  EXPECT_EQ(uri,
            "otpauth://totp/ACME%20Co%3ADocs%20%26%20more:b%C3%B6b%2Bx%3Ay%3Fz"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co%3ADocs%20%26%20more"
            "&algorithm=SHA1&digits=6&period=30");
  // Exactly one literal ':' after the scheme (the label separator), one '?', no raw spaces.
  const std::string after_scheme = uri.substr(std::string("otpauth:").size());
  EXPECT_EQ(std::count(after_scheme.begin(), after_scheme.end(), ':'), 1);
  EXPECT_EQ(std::count(uri.begin(), uri.end(), '?'), 1);
  EXPECT_EQ(uri.find(' '), std::string::npos);
}

TEST(OtpauthUriTest, EmptyIssuer) {
  EXPECT_EQ(OtpauthUri("", "alice", RfcSecret()),
            "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(TotpTimeStepTest, ThirtySecondFloor) {
  EXPECT_EQ(TotpTimeStep(At(0)), 0);
  EXPECT_EQ(TotpTimeStep(At(29)), 0);
  EXPECT_EQ(TotpTimeStep(Time(std::chrono::microseconds(29'999'999))), 0);
  EXPECT_EQ(TotpTimeStep(At(30)), 1);
  EXPECT_EQ(TotpTimeStep(At(59)), 1);
  EXPECT_EQ(TotpTimeStep(At(1111111109)), 37037036);
  EXPECT_EQ(TotpTimeStep(At(20000000000)), 666666666);
  EXPECT_EQ(TotpTimeStep(At(-1)), -1);
  EXPECT_EQ(TotpTimeStep(At(-30)), -1);
  EXPECT_EQ(TotpTimeStep(At(-31)), -2);
}

TEST(TotpCodeTest, Rfc6238AppendixBSha1) {
  // The RFC lists 8-digit codes; a 6-digit code is the same value mod 10^6, i.e. the last six.
  const std::vector<std::pair<int64_t, std::string>> vectors = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  const SecretBytes secret = RfcSecret();
  for (const auto& [t, code8] : vectors) {
    EXPECT_EQ(TotpCode(secret, TotpTimeStep(At(t))), code8.substr(2)) << t;
  }
}

TEST(TotpCodeTest, Rfc4226AppendixDCounters) {
  const std::vector<std::string> expected = {"755224", "287082", "359152", "969429", "338314",
                                             "254676", "287922", "162583", "399871", "520489"};
  const SecretBytes secret = RfcSecret();
  for (size_t counter = 0; counter < expected.size(); ++counter) {
    EXPECT_EQ(TotpCode(secret, static_cast<int64_t>(counter)), expected[counter]) << counter;
  }
}

TEST(TotpCodeTest, AlwaysSixDigits) {
  testing::SeededRandom random(11);
  const SecretBytes secret = NewTotpSecret(random);
  int leading_zero = 0;
  for (int64_t step = 0; step < 2000; ++step) {
    const std::string code = TotpCode(secret, step);
    ASSERT_EQ(code.size(), 6u);
    ASSERT_EQ(code.find_first_not_of("0123456789"), std::string::npos);
    leading_zero += code[0] == '0';
  }
  EXPECT_GT(leading_zero, 100);  // ~10%: zeros are kept, not dropped
}

class VerifyTotpTest : public ::testing::Test {
 protected:
  VerifyTotpTest() : random_(5), secret_(NewTotpSecret(random_)) {}
  std::string CodeAt(int64_t step) { return TotpCode(secret_, step); }

  testing::SeededRandom random_;
  SecretBytes secret_;
  const Time now_ = At(1767225615);  // 2026-01-01T00:00:15Z, mid-step
  const int64_t step_ = TotpTimeStep(now_);
};

TEST_F(VerifyTotpTest, AcceptsCurrentAndOneStepOfDrift) {
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_), now_, std::nullopt), step_);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ - 1), now_, std::nullopt), step_ - 1);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ + 1), now_, std::nullopt), step_ + 1);
}

TEST_F(VerifyTotpTest, RefusesTwoStepsOfDrift) {
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ - 2), now_, std::nullopt), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ + 2), now_, std::nullopt), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ - 100), now_, std::nullopt), std::nullopt);
}

TEST_F(VerifyTotpTest, AcceptsAcrossTheStepBoundary) {
  const Time end_of_step = At(UnixSeconds(now_) + 14);  // :29, still step_
  const Time next_step = At(UnixSeconds(now_) + 15);    // :30, step_ + 1
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_), end_of_step, std::nullopt), step_);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_), next_step, std::nullopt), step_);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_), At(UnixSeconds(now_) + 45), std::nullopt),
            std::nullopt);
}

TEST_F(VerifyTotpTest, NeverAcceptsTheSameCodeTwice) {
  const std::string code = CodeAt(step_);
  const std::optional<int64_t> accepted = VerifyTotp(secret_, code, now_, std::nullopt);
  ASSERT_EQ(accepted, step_);
  EXPECT_EQ(VerifyTotp(secret_, code, now_, accepted), std::nullopt);
  // Still refused later in the window, while the code would otherwise be valid as drift.
  EXPECT_EQ(VerifyTotp(secret_, code, At(UnixSeconds(now_) + 30), accepted), std::nullopt);
  // The next step's code is fine.
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ + 1), At(UnixSeconds(now_) + 30), accepted),
            step_ + 1);
}

TEST_F(VerifyTotpTest, RefusesOlderStepsAfterANewerOne) {
  // A code from the future (drift +1) was accepted: the current and previous codes are now
  // stale, though both are inside the window.
  const std::optional<int64_t> accepted =
      VerifyTotp(secret_, CodeAt(step_ + 1), now_, std::nullopt);
  ASSERT_EQ(accepted, step_ + 1);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_), now_, accepted), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ - 1), now_, accepted), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ + 1), now_, accepted), std::nullopt);
  // Accepted step from far in the past does not block anything.
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(step_ - 1), now_, step_ - 2), step_ - 1);
}

TEST_F(VerifyTotpTest, RefusesMalformedCodes) {
  const std::string code = CodeAt(step_);
  for (const std::string& bad :
       {std::string(), code.substr(0, 5), code + "0", " " + code, code + " ", code + '\n',
        code.substr(0, 5) + "a", std::string(code).insert(3, "-"), std::string(6, '\0'),
        "-" + code.substr(1), "+" + code.substr(1), std::string("\xEF\xBC\x91", 3) + code}) {
    EXPECT_EQ(VerifyTotp(secret_, bad, now_, std::nullopt), std::nullopt) << bad;
  }
}

TEST_F(VerifyTotpTest, WrongSecretRefused) {
  testing::SeededRandom other_random(6);
  const SecretBytes other = NewTotpSecret(other_random);
  EXPECT_EQ(VerifyTotp(other, CodeAt(step_), now_, std::nullopt), std::nullopt);
}

TEST(VerifyTotpRfcTest, KeepsLeadingZeros) {
  // At t=1111111109 the RFC's code is 07081804: the 6-digit code starts with '0'.
  const SecretBytes secret = RfcSecret();
  EXPECT_EQ(VerifyTotp(secret, "081804", At(1111111109), std::nullopt), 37037036);
  EXPECT_EQ(VerifyTotp(secret, "81804", At(1111111109), std::nullopt), std::nullopt);
}

// Cross-check with Debian's oathtool (package `oathtool`) when it is installed.
std::optional<std::string> RunOathtool(const std::string& base32, int64_t unix_seconds) {
  const std::string command = "oathtool --totp -b '" + base32 + "' --now '@" +
                              std::to_string(unix_seconds) + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  char buffer[64] = {};
  const bool read = fgets(buffer, sizeof buffer, pipe) != nullptr;
  if (pclose(pipe) != 0 || !read) return std::nullopt;
  std::string out(buffer);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(TotpOathtoolTest, MatchesOathtool) {
  if (std::system("command -v oathtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "oathtool not installed (apt-get install oathtool to run this check)";
  }
  testing::SeededRandom random(9);
  for (int i = 0; i < 20; ++i) {
    const SecretBytes secret = NewTotpSecret(random);
    const int64_t t = 1'700'000'000 + static_cast<int64_t>(random.Uniform(400'000'000));
    const std::optional<std::string> expected = RunOathtool(Base32Encode(secret.view()), t);
    ASSERT_TRUE(expected.has_value()) << "oathtool failed";
    EXPECT_EQ(TotpCode(secret, TotpTimeStep(At(t))), *expected) << t;
    EXPECT_EQ(VerifyTotp(secret, *expected, At(t), std::nullopt), TotpTimeStep(At(t)));
  }
}

}  // namespace
}  // namespace sicher::crypto
