#include "sicher/crypto/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>

#include "sicher/base/check.h"

namespace sicher::crypto {

namespace {

// The implementation fetched from the provider once: with EVP_sha256(), OpenSSL 3 looks it up
// again in every EVP_Digest, which costs as much as hashing a few hundred bytes (the audit log
// hashes every event and every Merkle node on the store's writer thread).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CHECK(md != nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* ThreadContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  CHECK(ctx != nullptr);
  return ctx.get();
}

}  // namespace

std::string Sha256(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = ThreadContext();
  CHECK(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) == 1);
  for (std::string_view part : parts) {
    CHECK(EVP_DigestUpdate(ctx, part.data(), part.size()) == 1);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK(EVP_DigestFinal_ex(ctx, md, &len) == 1);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Sha256(std::string_view data) { return Sha256({data}); }

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

// RFC 2104 over the fetched SHA-256: H((K ^ opad) || H((K ^ ipad) || data)), K the key padded
// to the 64-byte block (hashed first if longer). OpenSSL's one-shot HMAC() fetches the MAC and
// the digest again on every call, which costs twice the hashing itself; the blind index of every
// audit event's IP runs this.
std::string HmacSha256(const SecretBytes& key, std::string_view data) {
  constexpr size_t kBlock = 64;
  std::array<char, kBlock> pad{};
  if (key.size() > kBlock) {
    std::string hashed = Sha256(key.view());
    std::copy(hashed.begin(), hashed.end(), pad.begin());
    SecureWipe(hashed.data(), hashed.size());
  } else {
    std::copy(key.view().begin(), key.view().end(), pad.begin());
  }
  for (char& c : pad) c = static_cast<char>(c ^ 0x36);
  std::string inner = Sha256({std::string_view(pad.data(), kBlock), data});
  for (char& c : pad) c = static_cast<char>(c ^ (0x36 ^ 0x5c));
  std::string mac = Sha256({std::string_view(pad.data(), kBlock), inner});
  SecureWipe(pad.data(), pad.size());
  SecureWipe(inner.data(), inner.size());
  return mac;
}

}  // namespace sicher::crypto
