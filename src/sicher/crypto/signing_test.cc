#include "sicher/crypto/signing.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "sicher/base/bytes.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

struct Rfc8032Vector {
  const char* name;
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1..3, as carried by OpenSSL's own test data
// (openssl/openssl test/recipes/30-test_evp_data/evppkey_ecx.txt, "ED25519 tests from RFC8032").
constexpr Rfc8032Vector kRfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
};

// The TEST 1 key in PKCS#8 PEM, from the same OpenSSL file (PrivateKey=ED25519-1).
constexpr const char* kTest1Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kRfc8032) {
    SCOPED_TRACE(v.name);
    ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey key, Ed25519PrivateKey::FromSeed(Unhex(v.seed)));
    EXPECT_EQ(HexEncode(key.PublicKey()), v.public_key);
    const std::string message = Unhex(v.message);
    ASSERT_OK_AND_ASSIGN(std::string signature, key.Sign(message));
    EXPECT_EQ(HexEncode(signature), v.signature);
    EXPECT_OK(VerifyEd25519(Unhex(v.public_key), message, Unhex(v.signature)));
  }
}

TEST(Ed25519Test, ReadsOpenSslPem) {
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey key, Ed25519PrivateKey::FromPem(kTest1Pem));
  EXPECT_EQ(HexEncode(key.PublicKey()), kRfc8032[0].public_key);
  // And writes the same bytes back: the PEM is canonical PKCS#8.
  ASSERT_OK_AND_ASSIGN(std::string pem, key.ToPem());
  EXPECT_EQ(pem, kTest1Pem);
}

TEST(Ed25519Test, PemRoundTrip) {
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey key, Ed25519PrivateKey::Generate());
  ASSERT_EQ(key.PublicKey().size(), kEd25519PublicKeyBytes);
  ASSERT_OK_AND_ASSIGN(std::string pem, key.ToPem());
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey copy, Ed25519PrivateKey::FromPem(pem));
  EXPECT_EQ(copy.PublicKey(), key.PublicKey());
  // Deterministic signatures: the same key signs the same message identically.
  ASSERT_OK_AND_ASSIGN(std::string a, key.Sign("checkpoint"));
  ASSERT_OK_AND_ASSIGN(std::string b, copy.Sign("checkpoint"));
  EXPECT_EQ(a, b);
  EXPECT_OK(VerifyEd25519(key.PublicKey(), "checkpoint", b));
}

TEST(Ed25519Test, GeneratedKeysDiffer) {
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey a, Ed25519PrivateKey::Generate());
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey b, Ed25519PrivateKey::Generate());
  EXPECT_NE(a.PublicKey(), b.PublicKey());
}

TEST(Ed25519Test, MovedKeyStillSigns) {
  ASSERT_OK_AND_ASSIGN(Ed25519PrivateKey key, Ed25519PrivateKey::FromSeed(Unhex(kRfc8032[1].seed)));
  Ed25519PrivateKey moved = std::move(key);
  ASSERT_OK_AND_ASSIGN(std::string signature, moved.Sign(Unhex("72")));
  EXPECT_EQ(HexEncode(signature), kRfc8032[1].signature);
}

TEST(Ed25519Test, FromPemRejectsJunk) {
  // An X25519 key (OpenSSL's Alice-25519, same file): PKCS#8, but not a signing key.
  const char* x25519 =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq\n"
      "-----END PRIVATE KEY-----\n";
  // The TEST 1 public key: a PEM, but not a private key.
  const char* public_pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
      "-----END PUBLIC KEY-----\n";
  // An encrypted PKCS#8 key (openssl genpkey -algorithm ed25519 -aes256): refused without
  // prompting for a passphrase.
  const char* encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAh1aS9fx8PKKgICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEMQGaNeLdgVkDRyYvNroo3EEQEuM\n"
      "QOld6qefIoYPBRRRHwgFzE7MrC5Ti839hKkzafJZ1OT8kMugP9iLH2fG3hGr0SW5\n"
      "QVvODsLKzhBS7v3yTL8=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  const std::string truncated = std::string(kTest1Pem).substr(0, 60);
  for (std::string_view pem :
       {std::string_view(""), std::string_view("junk"), std::string_view(x25519),
        std::string_view(public_pem), std::string_view(encrypted), std::string_view(truncated)}) {
    SCOPED_TRACE(pem);
    Result<Ed25519PrivateKey> key = Ed25519PrivateKey::FromPem(pem);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Ed25519Test, FromSeedRejectsWrongLength) {
  for (size_t n : {0, 31, 33, 64}) {
    Result<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(std::string(n, 'k'));
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Ed25519Test, VerifyRejectsWrongKeyMessageOrSignature) {
  const Rfc8032Vector& v = kRfc8032[2];
  const std::string public_key = Unhex(v.public_key);
  const std::string message = Unhex(v.message);
  const std::string signature = Unhex(v.signature);
  ASSERT_OK(VerifyEd25519(public_key, message, signature));

  // Another key.
  EXPECT_EQ(VerifyEd25519(Unhex(kRfc8032[1].public_key), message, signature).code(),
            StatusCode::kUnauthenticated);
  // Another message: one flipped bit, one byte more, one byte less.
  std::string other = message;
  other[0] ^= 0x01;
  EXPECT_EQ(VerifyEd25519(public_key, other, signature).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyEd25519(public_key, message + "x", signature).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyEd25519(public_key, message.substr(1), signature).code(),
            StatusCode::kUnauthenticated);
  // Every single flipped bit of the signature.
  for (size_t i = 0; i < signature.size() * 8; ++i) {
    std::string bad = signature;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    EXPECT_EQ(VerifyEd25519(public_key, message, bad).code(), StatusCode::kUnauthenticated)
        << "bit " << i;
  }
}

TEST(Ed25519Test, VerifyRejectsMalleatedSignature) {
  // TEST 1's signature with the group order added to S: the same point equation holds, but RFC
  // 8032 requires S < L. From OpenSSL's "Signature maleability test" (same file).
  EXPECT_EQ(VerifyEd25519(Unhex(kRfc8032[0].public_key), "",
                          Unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                                "4c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b"))
                .code(),
            StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, VerifyRejectsWrongLengths) {
  const Rfc8032Vector& v = kRfc8032[0];
  const std::string public_key = Unhex(v.public_key);
  const std::string signature = Unhex(v.signature);
  EXPECT_EQ(VerifyEd25519(public_key.substr(1), "", signature).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEd25519(public_key + "x", "", signature).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEd25519(public_key, "", signature.substr(1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEd25519(public_key, "", signature + "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEd25519("", "", "").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::crypto
