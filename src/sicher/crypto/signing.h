#pragma once
// Ed25519 signatures (RFC 8032, pure Ed25519: no context, no prehash) through OpenSSL 3 EVP. Used
// for the audit log's signed checkpoints (audit/checkpoint.h).
//
// Keys on disk are PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the form `openssl genpkey
// -algorithm ed25519` writes. Public keys and signatures are the raw RFC 8032 encodings: 32 and 64
// bytes.
//
// Failure: malformed input from outside (a PEM that is not an Ed25519 key, a public key or
// signature of the wrong length) is InvalidArgument; a signature that does not verify is
// Unauthenticated. An OpenSSL failure that input cannot cause is Internal. Messages never
// contain key bytes.
//
// Thread-safety: an Ed25519PrivateKey is immutable after creation; its const methods may be
// called from several threads at once. VerifyEd25519 is thread-safe.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::crypto {

inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// An Ed25519 private key. The secret lives only inside OpenSSL's key object, which OpenSSL wipes
// when it is freed (on destruction, or when a moved-from key is destroyed).
//
// Movable, not copyable. Using a moved-from key is a bug (it crashes).
class Ed25519PrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. Internal if OpenSSL fails.
  static Result<Ed25519PrivateKey> Generate();
  // The key whose RFC 8032 private key ("seed") is `seed`, kEd25519SeedBytes long; otherwise
  // InvalidArgument. For test vectors and for keys derived elsewhere.
  static Result<Ed25519PrivateKey> FromSeed(std::string_view seed);
  // Parses an unencrypted PKCS#8 PEM private key. InvalidArgument if it is not PEM, not PKCS#8,
  // encrypted, or a key of another algorithm.
  static Result<Ed25519PrivateKey> FromPem(std::string_view pkcs8_pem);

  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  ~Ed25519PrivateKey();

  // The unencrypted PKCS#8 PEM encoding (secret: write it only to a file with mode 0600).
  Result<std::string> ToPem() const;
  // The 32-byte public key.
  std::string PublicKey() const;
  // The 64-byte signature of `message`. Ed25519 is deterministic: the same key and message give
  // the same signature.
  Result<std::string> Sign(std::string_view message) const;

 private:
  struct Impl;
  explicit Ed25519PrivateKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// OK if `signature` is a valid Ed25519 signature of `message` under `public_key` (both raw).
// InvalidArgument if the key or signature has the wrong length; otherwise any failure (including
// a key that is not a curve point, or a non-canonical signature) is
// Unauthenticated("Ed25519 signature does not verify").
Status VerifyEd25519(std::string_view public_key, std::string_view message,
                     std::string_view signature);

}  // namespace sicher::crypto
