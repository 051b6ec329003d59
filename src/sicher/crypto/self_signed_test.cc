#include "sicher/crypto/self_signed.h"

#include <gtest/gtest.h>

#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

TEST(SelfSignedTest, GeneratesInspectableP256Certificate) {
  const Time now = Time(std::chrono::seconds(1795754658));
  ASSERT_OK_AND_ASSIGN(CertificatePair pair, GenerateSelfSigned({}, now));
  EXPECT_NE(pair.cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(pair.key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, InspectCertificate(pair.cert_pem));
  EXPECT_NE(info.subject.find("CN=localhost"), std::string::npos);
  EXPECT_EQ(info.sha256_fingerprint.size(), 64u);
  EXPECT_EQ(info.not_after - info.not_before, std::chrono::hours(24 * 90 + 1));
  EXPECT_LE(info.not_before, now);
}

TEST(SelfSignedTest, EachCertificateIsUnique) {
  const Time now = Time(std::chrono::seconds(1795754658));
  ASSERT_OK_AND_ASSIGN(CertificatePair a, GenerateSelfSigned({}, now));
  ASSERT_OK_AND_ASSIGN(CertificatePair b, GenerateSelfSigned({}, now));
  ASSERT_OK_AND_ASSIGN(CertificateInfo ia, InspectCertificate(a.cert_pem));
  ASSERT_OK_AND_ASSIGN(CertificateInfo ib, InspectCertificate(b.cert_pem));
  EXPECT_NE(ia.serial_hex, ib.serial_hex);
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_TRUE(KeyMatchesCertificate(a.cert_pem, a.key_pem));
  EXPECT_FALSE(KeyMatchesCertificate(a.cert_pem, b.key_pem));
  EXPECT_FALSE(KeyMatchesCertificate("junk", a.key_pem));
}

TEST(SelfSignedTest, RejectsGarbage) {
  EXPECT_EQ(InspectCertificate("not a cert").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::crypto
