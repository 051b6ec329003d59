#pragma once
// AES-256-GCM (OpenSSL 3 EVP), the one authenticated cipher of sicher. Formats and nonce policy:
// docs/design/keys.md.
//
// Two levels:
//  - AeadSeal / AeadOpen: self-describing "format byte || nonce || ciphertext || tag" with a
//    fresh random nonce per call. For keys, fields and anything small.
//  - AeadContext (and the one-shot AeadSealWithNonce / AeadOpenWithNonce): the caller supplies
//    the nonce and the buffers; output is "ciphertext || tag" with no header. For the chunked
//    document envelope, which derives its own unique nonces. Reusing a nonce under one key
//    destroys both confidentiality and integrity: only use a nonce scheme that is provably
//    unique per key.
//
// Failure: a key that is not kAeadKeyBytes long or a wrongly sized buffer is InvalidArgument (a
// caller bug surfaced as a value); any authentication failure (tampered nonce, ciphertext, tag,
// format byte, or a different AAD or key) is DataLoss("authentication failed"), and no plaintext
// is returned. Messages never contain key or data bytes.
//
// Thread-safety: the free functions are thread-safe. An AeadContext is not: use one per thread
// or per stream.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"

namespace sicher::crypto {

inline constexpr size_t kAeadKeyBytes = 32;
inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kAeadTagBytes = 16;
// The first byte of AeadSeal's output.
inline constexpr uint8_t kAeadFormatV1 = 0x01;
// AeadSeal's output is plaintext.size() + kAeadSealOverhead bytes.
inline constexpr size_t kAeadSealOverhead = 1 + kAeadNonceBytes + kAeadTagBytes;

// Seals `plaintext` under `key` with a random nonce from `random`. The AAD authenticated by GCM
// is the format byte followed by `aad`. Returns format || nonce || ciphertext || tag.
Result<std::string> AeadSeal(const SecretBytes& key, std::string_view plaintext,
                             std::string_view aad, Random& random);

// Opens the output of AeadSeal. DataLoss if it is malformed or fails authentication.
Result<std::string> AeadOpen(const SecretBytes& key, std::string_view sealed, std::string_view aad);

// Like AeadOpen, but the plaintext goes into a wiped buffer: for sealed keys and secrets.
Result<SecretBytes> AeadOpenSecret(const SecretBytes& key, std::string_view sealed,
                                   std::string_view aad);

// One-shot raw GCM: returns ciphertext || tag. `nonce` must be kAeadNonceBytes long.
Result<std::string> AeadSealWithNonce(const SecretBytes& key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad);
// Inverse of AeadSealWithNonce: `ciphertext_and_tag` is ciphertext || tag.
Result<std::string> AeadOpenWithNonce(const SecretBytes& key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag, std::string_view aad);

// A reusable AES-256-GCM context for one key: the key schedule is computed once, and each
// Seal/Open writes into a caller-supplied buffer without allocating. The key is copied into
// OpenSSL's context (which OpenSSL wipes when the context is freed); the SecretBytes passed to
// Create may be released afterwards.
//
// Not thread-safe. Movable, not copyable.
class AeadContext {
 public:
  // InvalidArgument if `key` is not kAeadKeyBytes long; Internal if OpenSSL fails.
  static Result<AeadContext> Create(const SecretBytes& key);

  AeadContext(AeadContext&&) noexcept;
  AeadContext& operator=(AeadContext&&) noexcept;
  AeadContext(const AeadContext&) = delete;
  AeadContext& operator=(const AeadContext&) = delete;
  ~AeadContext();

  // Writes ciphertext || tag into `out`, which must be exactly plaintext.size() +
  // kAeadTagBytes long and must not overlap `plaintext` except exactly (in place is allowed).
  Status Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
              std::span<const uint8_t> aad, std::span<uint8_t> out);

  // Verifies and decrypts ciphertext || tag into `out`, which must be exactly
  // ciphertext_and_tag.size() - kAeadTagBytes long. On DataLoss `out` is zeroed: callers never
  // see unauthenticated plaintext.
  Status Open(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext_and_tag,
              std::span<const uint8_t> aad, std::span<uint8_t> out);

 private:
  friend struct AeadInternal;  // aead.cc: AeadSeal authenticates its format byte too
  struct Impl;
  explicit AeadContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// AeadSeal with a context made once for its key (AeadContext::Create(key)): the same output,
// without computing the key schedule again for every value.
Result<std::string> AeadSeal(AeadContext& ctx, std::string_view plaintext, std::string_view aad,
                             Random& random);

// Byte-span views of strings, for AeadContext callers holding std::string buffers.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::span<uint8_t> AsWritableBytes(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}

}  // namespace sicher::crypto
