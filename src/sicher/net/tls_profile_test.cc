#include "sicher/net/tls_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>

#include "sicher/testing/status_matchers.h"

namespace sicher::net {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

const std::vector<std::string> kTls13Suites = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                               "TLS_CHACHA20_POLY1305_SHA256"};
const std::vector<std::string> kGroups = {"X25519MLKEM768", "X25519", "prime256v1", "secp384r1"};

TEST(TlsProfileTest, NamesComeFromTheGuideline) {
  EXPECT_THAT(TlsProfileNames(), ElementsAre("modern", "intermediate", "old"));
}

TEST(TlsProfileTest, IntermediateMatchesGuideline60) {
  ASSERT_OK_AND_ASSIGN(TlsProfile p, LoadTlsProfile("intermediate"));
  EXPECT_EQ(p.guideline_version, "6.0");
  EXPECT_EQ(p.guideline_url, "https://ssl-config.mozilla.org/guidelines/6.0.json");
  EXPECT_THAT(p.tls_versions, ElementsAre("TLSv1.2", "TLSv1.3"));
  EXPECT_THAT(p.ciphers,
              ElementsAre("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                          "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                          "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"));
  EXPECT_EQ(p.ciphersuites, kTls13Suites);
  EXPECT_EQ(p.groups, kGroups);
  EXPECT_FALSE(p.server_preferred_order);
  EXPECT_EQ(p.hsts_max_age_seconds, 63072000);
  EXPECT_EQ(p.HstsHeaderValue(), "max-age=63072000");
  EXPECT_EQ(p.maximum_certificate_lifespan_days, 366);
  EXPECT_EQ(p.recommended_certificate_lifespan_days, 90);
  EXPECT_THAT(p.certificate_types, ElementsAre("ecdsa", "rsa"));
  // All six TLS 1.2 suites and the three TLS 1.3 suites exist in OpenSSL 3.0.
  EXPECT_EQ(p.offered_ciphers, p.ciphers);
  EXPECT_EQ(p.offered_ciphersuites, p.ciphersuites);
}

TEST(TlsProfileTest, ModernIsTls13Only) {
  ASSERT_OK_AND_ASSIGN(TlsProfile p, LoadTlsProfile("modern"));
  EXPECT_THAT(p.tls_versions, ElementsAre("TLSv1.3"));
  EXPECT_TRUE(p.ciphers.empty());
  EXPECT_EQ(p.ciphersuites, kTls13Suites);
  EXPECT_FALSE(p.server_preferred_order);
  EXPECT_EQ(p.maximum_certificate_lifespan_days, 90);
  EXPECT_THAT(p.certificate_types, ElementsAre("ecdsa"));
}

TEST(TlsProfileTest, OldHasTwentyOneSuitesAndServerOrder) {
  ASSERT_OK_AND_ASSIGN(TlsProfile p, LoadTlsProfile("old"));
  EXPECT_THAT(p.tls_versions, ElementsAre("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"));
  EXPECT_EQ(p.ciphers.size(), 21u);
  EXPECT_EQ(p.ciphers.back(), "DES-CBC3-SHA");
  EXPECT_TRUE(p.server_preferred_order);
  EXPECT_EQ(p.hsts_max_age_seconds, 63072000);
  EXPECT_THAT(p.certificate_types, ElementsAre("rsa"));
}

TEST(TlsProfileTest, GapsAreReported) {
  for (const char* name : {"modern", "intermediate", "old"}) {
    ASSERT_OK_AND_ASSIGN(TlsProfile p, LoadTlsProfile(name));
    if (OPENSSL_VERSION_NUMBER < 0x30500000L) {
      // X25519MLKEM768 needs OpenSSL 3.5; Debian 12 has 3.0.
      EXPECT_THAT(p.unsupported, Contains("group:X25519MLKEM768")) << name;
      EXPECT_THAT(p.offered_groups, ElementsAre("X25519", "prime256v1", "secp384r1")) << name;
    }
    EXPECT_THAT(p.unsupported, Contains("feature:ocsp_staple")) << name;
    EXPECT_THAT(p.unsupported, Not(Contains("ciphersuite:TLS_AES_128_GCM_SHA256"))) << name;
  }
}

TEST(TlsProfileTest, UnknownProfileIsNotFound) {
  auto p = LoadTlsProfile("paranoid");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(LoadTlsProfile("").ok());
}

TEST(TlsProfileTest, EmbeddedJsonIsTheDataFile) {
  EXPECT_NE(EmbeddedTlsGuidelineJson().find("\"href\": \"https://ssl-config.mozilla.org/"),
            std::string_view::npos);
}

TEST(TlsProfileTest, ApplySetsProtocolRangeAndPreference) {
  for (const char* name : {"modern", "intermediate", "old"}) {
    ASSERT_OK_AND_ASSIGN(TlsProfile p, LoadTlsProfile(name));
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                          &SSL_CTX_free);
    ASSERT_OK(ApplyTlsProfile(p, ctx.get()));
    const long min = SSL_CTX_get_min_proto_version(ctx.get());
    const long max = SSL_CTX_get_max_proto_version(ctx.get());
    const uint64_t opts = SSL_CTX_get_options(ctx.get());
    EXPECT_EQ(max, TLS1_3_VERSION) << name;
    EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION) << name;
    EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION) << name;
    if (std::string(name) == "modern") {
      EXPECT_EQ(min, TLS1_3_VERSION);
      EXPECT_FALSE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
    } else if (std::string(name) == "intermediate") {
      EXPECT_EQ(min, TLS1_2_VERSION);
      EXPECT_FALSE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
    } else {
      EXPECT_EQ(min, TLS1_VERSION);
      EXPECT_TRUE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
      EXPECT_EQ(SSL_CTX_get_security_level(ctx.get()), 0);
    }
  }
}

}  // namespace
}  // namespace sicher::net
