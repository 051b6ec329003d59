#include "sicher/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace sicher::crypto {
namespace {

constexpr size_t kSha256Bytes = 32;

// Fetched once per process, never freed (immutable and shareable between threads).
EVP_KDF* Hkdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

// OSSL_PARAM wants a non-const, non-null pointer even for empty input it only reads.
unsigned char* ParamBytes(std::string_view s) {
  static unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<unsigned char*>(const_cast<char*>(s.data()));
}

}  // namespace

Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::string_view salt, std::string_view info,
                               size_t length) {
  if (ikm.empty()) return InvalidArgumentError("HKDF-SHA256 needs input key material");
  if (length == 0 || length > 255 * kSha256Bytes) {
    return InvalidArgumentError("HKDF-SHA256 output length must be 1..8160 bytes");
  }
  EVP_KDF* kdf = Hkdf();
  if (kdf == nullptr) return InternalError("OpenSSL has no HKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return InternalError("HKDF: cannot create a context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ParamBytes(ikm.view()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ParamBytes(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ParamBytes(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(length);
  const int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);  // cleanses its copy of the key
  if (rc != 1) return InternalError("HKDF-SHA256 derivation failed");
  return out;
}

}  // namespace sicher::crypto
