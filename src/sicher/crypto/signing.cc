#include "sicher/crypto/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>

#include "sicher/base/check.h"
#include "sicher/crypto/internal/openssl_ptr.h"

namespace sicher::crypto {
namespace {

using internal::BioPtr;
using internal::Deleter;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyPtr;

const unsigned char* Bytes(std::string_view s) {
  // EVP wants a non-null pointer even for an empty message.
  static constexpr unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// Never prompts: an encrypted PEM is refused instead of asking the terminal for a passphrase
// (OpenSSL's default when no callback is given).
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

// Failed OpenSSL calls leave entries on the thread's error queue; drop them so they cannot be
// mistaken for the cause of a later, unrelated failure.
template <typename T>
T Failed(T error) {
  ERR_clear_error();
  return error;
}

Result<std::string> RawPublicKey(const EVP_PKEY* pkey) {
  std::string public_key(kEd25519PublicKeyBytes, '\0');
  size_t len = public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(public_key.data()),
                                  &len) != 1 ||
      len != kEd25519PublicKeyBytes) {
    return Failed(InternalError("cannot read the Ed25519 public key"));
  }
  return public_key;
}

}  // namespace

struct Ed25519PrivateKey::Impl {
  EvpPkeyPtr pkey;
  std::string public_key;
};

Ed25519PrivateKey::Ed25519PrivateKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey::~Ed25519PrivateKey() = default;

Result<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return Failed(InternalError("cannot generate an Ed25519 key"));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519PrivateKey(std::make_unique<Impl>(Impl{std::move(pkey), std::move(public_key)}));
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(std::string_view seed) {
  if (seed.size() != kEd25519SeedBytes) {
    return InvalidArgumentError("Ed25519 private key must be 32 bytes, got " +
                                std::to_string(seed.size()));
  }
  EvpPkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed), seed.size()));
  if (!pkey) return Failed(InternalError("cannot load the Ed25519 private key"));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519PrivateKey(std::make_unique<Impl>(Impl{std::move(pkey), std::move(public_key)}));
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromPem(std::string_view pkcs8_pem) {
  if (pkcs8_pem.size() > INT_MAX) return InvalidArgumentError("PEM too large");
  BioPtr bio(BIO_new_mem_buf(pkcs8_pem.data(), static_cast<int>(pkcs8_pem.size())));
  if (!bio) return Failed(InternalError("BIO_new_mem_buf failed"));
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) return Failed(InvalidArgumentError("not an unencrypted PKCS#8 PEM private key"));
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return InvalidArgumentError("not an Ed25519 private key");
  }
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519PrivateKey(std::make_unique<Impl>(Impl{std::move(pkey), std::move(public_key)}));
}

Result<std::string> Ed25519PrivateKey::ToPem() const {
  CHECK(impl_ != nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return Failed(InternalError("BIO_new failed"));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"); the memory BIO clears its
  // buffer when freed.
  if (PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return Failed(InternalError("cannot encode the Ed25519 private key"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string Ed25519PrivateKey::PublicKey() const {
  CHECK(impl_ != nullptr);
  return impl_->public_key;
}

Result<std::string> Ed25519PrivateKey::Sign(std::string_view message) const {
  CHECK(impl_ != nullptr);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Failed(InternalError("EVP_MD_CTX_new failed"));
  // Pure Ed25519 takes no digest: the message is hashed inside the one-shot EVP_DigestSign.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1) {
    return Failed(InternalError("Ed25519 sign init failed"));
  }
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(message), message.size()) != 1 ||
      len != kEd25519SignatureBytes) {
    return Failed(InternalError("Ed25519 signing failed"));
  }
  return signature;
}

Status VerifyEd25519(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeyBytes) {
    return InvalidArgumentError("Ed25519 public key must be 32 bytes, got " +
                                std::to_string(public_key.size()));
  }
  if (signature.size() != kEd25519SignatureBytes) {
    return InvalidArgumentError("Ed25519 signature must be 64 bytes, got " +
                                std::to_string(signature.size()));
  }
  EvpPkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key), public_key.size()));
  if (!pkey) return Failed(InvalidArgumentError("invalid Ed25519 public key"));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Failed(InternalError("EVP_MD_CTX_new failed"));
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return Failed(InternalError("Ed25519 verify init failed"));
  }
  // 1 is a valid signature; 0 an invalid one; negative a malformed one (e.g. a public key that
  // is not a curve point). Only 1 is success.
  if (EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                       message.size()) != 1) {
    return Failed(UnauthenticatedError("Ed25519 signature does not verify"));
  }
  return OkStatus();
}

}  // namespace sicher::crypto
