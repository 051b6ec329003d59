#include "sicher/crypto/aead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

SecretBytes Key(std::string_view hex) { return SecretBytes(Unhex(hex)); }

struct GcmVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

// AES-256 vectors with 96-bit IVs: McGrew & Viega, "The Galois/Counter Mode of Operation",
// test cases 13-16, and NIST CAVP gcmEncryptExtIV256.rsp.
const GcmVector kVectors[] = {
    {"GCM spec TC13 (empty)", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM spec TC14 (one zero block)",
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM spec TC15 (four blocks)",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM spec TC16 (partial block, 20-byte AAD)",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"CAVP PTlen=128 AADlen=128 Count=0",
     "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b", "ac93a1a6145299bde902f21a",
     "1e0889016f67601c8ebea4943bc23ad6", "2d71bcfa914e4ac045b2aa60955fad24",
     "8995ae2e6df3dbf96fac7b7137bae67f", "eca5aa77d51d4a0a14d9c51e1da474ab"},
    {"CAVP PTlen=128 AADlen=160",
     "83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a", "0b459724904e010a46901cf3",
     "794a14ccd178c8ebfd1379dc704c5e208f9d8424", "33d893a2114ce06fc15d55e454cf90c3",
     "cc66bee423e3fcd4c0865715e9586696", "0fb291bd3dba94a1dfd8b286cfb97ac5"},
};

TEST(AeadTest, KnownAnswerVectorsOneShot) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const SecretBytes key = Key(v.key);
    ASSERT_OK_AND_ASSIGN(std::string sealed,
                         AeadSealWithNonce(key, Unhex(v.nonce), Unhex(v.plaintext), Unhex(v.aad)));
    EXPECT_EQ(HexEncode(sealed), std::string(v.ciphertext) + v.tag);
    ASSERT_OK_AND_ASSIGN(std::string opened,
                         AeadOpenWithNonce(key, Unhex(v.nonce), sealed, Unhex(v.aad)));
    EXPECT_EQ(HexEncode(opened), v.plaintext);
  }
}

TEST(AeadTest, KnownAnswerVectorsWithOneReusedContext) {
  // One context per key; TC15 and TC16 share a key, so the context is reused across messages.
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    ASSERT_OK_AND_ASSIGN(AeadContext ctx, AeadContext::Create(Key(v.key)));
    for (int round = 0; round < 2; ++round) {
      const std::string nonce = Unhex(v.nonce), aad = Unhex(v.aad), pt = Unhex(v.plaintext);
      std::string out(pt.size() + kAeadTagBytes, '\0');
      ASSERT_OK(ctx.Seal(AsBytes(nonce), AsBytes(pt), AsBytes(aad), AsWritableBytes(out)));
      EXPECT_EQ(HexEncode(out), std::string(v.ciphertext) + v.tag);
      std::string back(pt.size(), '\0');
      ASSERT_OK(ctx.Open(AsBytes(nonce), AsBytes(out), AsBytes(aad), AsWritableBytes(back)));
      EXPECT_EQ(back, pt);
    }
  }
}

TEST(AeadTest, ContextSealsInPlace) {
  const GcmVector& v = kVectors[3];
  ASSERT_OK_AND_ASSIGN(AeadContext ctx, AeadContext::Create(Key(v.key)));
  const std::string nonce = Unhex(v.nonce), aad = Unhex(v.aad), pt = Unhex(v.plaintext);
  std::string buffer = pt + std::string(kAeadTagBytes, '\0');
  std::span<uint8_t> all = AsWritableBytes(buffer);
  ASSERT_OK(ctx.Seal(AsBytes(nonce), all.first(pt.size()), AsBytes(aad), all));
  EXPECT_EQ(HexEncode(buffer), std::string(v.ciphertext) + v.tag);
}

TEST(AeadTest, ContextRejectsWrongSizesAndZeroesOutputOnFailure) {
  SecretBytes key(kAeadKeyBytes);
  ASSERT_OK_AND_ASSIGN(AeadContext ctx, AeadContext::Create(key));
  const std::string nonce(kAeadNonceBytes, '\x01');
  const std::string pt = "some plaintext";
  std::string out(pt.size() + kAeadTagBytes, '\0');
  std::string short_out(pt.size(), '\0');
  EXPECT_EQ(ctx.Seal(AsBytes(nonce), AsBytes(pt), {}, AsWritableBytes(short_out)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ctx.Seal(AsBytes(nonce).first(11), AsBytes(pt), {}, AsWritableBytes(out)).code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(ctx.Seal(AsBytes(nonce), AsBytes(pt), {}, AsWritableBytes(out)));

  out[0] ^= 1;
  std::string back(pt.size(), 'x');
  EXPECT_EQ(ctx.Open(AsBytes(nonce), AsBytes(out), {}, AsWritableBytes(back)).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(back, std::string(pt.size(), '\0'));
  // A context stays usable after a failed open.
  out[0] ^= 1;
  ASSERT_OK(ctx.Open(AsBytes(nonce), AsBytes(out), {}, AsWritableBytes(back)));
  EXPECT_EQ(back, pt);
}

TEST(AeadTest, SealOpenRoundTripWithHeader) {
  testing::SeededRandom random(7);
  SecretBytes key(kAeadKeyBytes);
  random.Fill(key.span());
  for (size_t size : {0, 1, 15, 16, 17, 1000}) {
    const std::string pt(size, 'p');
    ASSERT_OK_AND_ASSIGN(std::string sealed, AeadSeal(key, pt, "aad", random));
    EXPECT_EQ(sealed.size(), size + kAeadSealOverhead);
    EXPECT_EQ(static_cast<uint8_t>(sealed[0]), kAeadFormatV1);
    ASSERT_OK_AND_ASSIGN(std::string opened, AeadOpen(key, sealed, "aad"));
    EXPECT_EQ(opened, pt);
    ASSERT_OK_AND_ASSIGN(SecretBytes secret, AeadOpenSecret(key, sealed, "aad"));
    EXPECT_EQ(secret.view(), pt);
  }
}

TEST(AeadTest, SealWithAReusedContextIsTheOneShotFormat) {
  SecretBytes key(kAeadKeyBytes);
  testing::SeededRandom key_random(9);
  key_random.Fill(key.span());
  ASSERT_OK_AND_ASSIGN(AeadContext ctx, AeadContext::Create(key));
  // Same random stream, so the same nonces: the outputs must be byte-identical.
  testing::SeededRandom a(5), b(5);
  for (size_t size : {0, 17, 1000}) {
    const std::string pt(size, 'q');
    ASSERT_OK_AND_ASSIGN(std::string one_shot, AeadSeal(key, pt, "row 1", a));
    ASSERT_OK_AND_ASSIGN(std::string reused, AeadSeal(ctx, pt, "row 1", b));
    EXPECT_EQ(reused, one_shot);
    ASSERT_OK_AND_ASSIGN(std::string opened, AeadOpen(key, reused, "row 1"));
    EXPECT_EQ(opened, pt);
    EXPECT_FALSE(AeadOpen(key, reused, "row 2").ok());
  }
}

TEST(AeadTest, EachSealUsesAFreshNonce) {
  testing::SeededRandom random(1);
  SecretBytes key(kAeadKeyBytes);
  ASSERT_OK_AND_ASSIGN(std::string a, AeadSeal(key, "same", "", random));
  ASSERT_OK_AND_ASSIGN(std::string b, AeadSeal(key, "same", "", random));
  EXPECT_NE(a.substr(1, kAeadNonceBytes), b.substr(1, kAeadNonceBytes));
  EXPECT_NE(a, b);
}

TEST(AeadTest, AnyFlippedBitIsDataLoss) {
  testing::SeededRandom random(3);
  SecretBytes key(kAeadKeyBytes);
  random.Fill(key.span());
  ASSERT_OK_AND_ASSIGN(const std::string sealed, AeadSeal(key, "attack at dawn", "row 7", random));
  // Every byte: format, nonce, ciphertext and tag.
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ bit);
      const Result<std::string> r = AeadOpen(key, tampered, "row 7");
      ASSERT_FALSE(r.ok()) << "byte " << i;
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "byte " << i;
      EXPECT_EQ(r.status().message(), "authentication failed");
    }
  }
  EXPECT_EQ(AeadOpen(key, sealed, "row 8").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(AeadOpen(key, sealed, "").status().code(), StatusCode::kDataLoss);
  SecretBytes other(kAeadKeyBytes);
  EXPECT_EQ(AeadOpen(other, sealed, "row 7").status().code(), StatusCode::kDataLoss);
  // Truncated at every length.
  for (size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_EQ(AeadOpen(key, sealed.substr(0, n), "row 7").status().code(), StatusCode::kDataLoss)
        << n;
  }
  EXPECT_EQ(AeadOpen(key, sealed + "x", "row 7").status().code(), StatusCode::kDataLoss);
}

TEST(AeadTest, RawTamperingIsDataLoss) {
  const GcmVector& v = kVectors[4];
  const SecretBytes key = Key(v.key);
  const std::string nonce = Unhex(v.nonce), aad = Unhex(v.aad);
  const std::string sealed = Unhex(std::string(v.ciphertext) + v.tag);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] ^= 0x20;
    EXPECT_EQ(AeadOpenWithNonce(key, nonce, t, aad).status().code(), StatusCode::kDataLoss);
  }
  std::string bad_nonce = nonce;
  bad_nonce[11] ^= 1;
  EXPECT_EQ(AeadOpenWithNonce(key, bad_nonce, sealed, aad).status().code(), StatusCode::kDataLoss);
  std::string bad_aad = aad;
  bad_aad[0] ^= 1;
  EXPECT_EQ(AeadOpenWithNonce(key, nonce, sealed, bad_aad).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(AeadOpenWithNonce(key, nonce, sealed.substr(0, 15), aad).status().code(),
            StatusCode::kDataLoss);
}

TEST(AeadTest, WrongKeyOrNonceSizeIsInvalidArgument) {
  testing::SeededRandom random;
  for (size_t size : {0, 16, 24, 31, 33}) {
    SecretBytes key(size);
    EXPECT_EQ(AeadSeal(key, "x", "", random).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(AeadOpen(key, std::string(40, 'a'), "").status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(AeadContext::Create(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(AeadSealWithNonce(key, std::string(12, 'n'), "x", "").status().code(),
              StatusCode::kInvalidArgument);
  }
  SecretBytes key(kAeadKeyBytes);
  EXPECT_EQ(AeadSealWithNonce(key, std::string(16, 'n'), "x", "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadOpenWithNonce(key, "", std::string(20, 'c'), "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AeadTest, ErrorsNeverCarryKeyOrPlaintext) {
  testing::SeededRandom random(9);
  SecretBytes key(kAeadKeyBytes);
  random.Fill(key.span());
  const std::string pt = "canary-plaintext-4711";
  ASSERT_OK_AND_ASSIGN(std::string sealed, AeadSeal(key, pt, "", random));
  sealed.back() ^= 1;
  const std::vector<Status> errors = {
      AeadOpen(key, sealed, "").status(),
      AeadOpen(SecretBytes(key.view().substr(0, 16)), sealed, "").status(),
  };
  for (const Status& s : errors) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message().find(HexEncode(key.view())), std::string::npos);
    EXPECT_EQ(s.message().find(Base64Encode(key.view())), std::string::npos);
    EXPECT_EQ(s.message().find(pt), std::string::npos);
  }
}

}  // namespace
}  // namespace sicher::crypto
