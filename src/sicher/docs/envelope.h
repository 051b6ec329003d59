#pragma once
// The document envelope: per-version content keys, chunk sealing with counter nonces, the
// authenticated version header. Byte formats: docs/design/document-envelope.md sections 2-3.
// Only the store (doc_store.cc), its tests and its benchmark use this header.
//
// Failure: a chunk or header that does not authenticate is DataLoss("authentication failed")
// and the output buffer is zeroed (no unauthenticated plaintext is ever visible); wrongly sized
// buffers are InvalidArgument (caller bugs). Messages carry no key or content bytes.
//
// Thread-safety: the free functions are thread-safe; a VersionCipher is not (one per stream).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"
#include "sicher/crypto/aead.h"

namespace sicher::docs {

inline constexpr int64_t kEnvelopeFormat = 1;
inline constexpr size_t kKeySaltBytes = 32;
inline constexpr size_t kHeaderTagBytes = crypto::kAeadTagBytes;
inline constexpr size_t kChunkOverhead = crypto::kAeadTagBytes;  // sealed = plaintext + 16

// Which version of which document of which account a content key belongs to.
struct VersionBinding {
  std::string_view account_id;
  std::string_view document_id;
  uint64_t version = 0;
};

// The numbers of a complete version that the header tag authenticates.
struct VersionHeader {
  uint64_t size = 0;        // plaintext bytes
  uint32_t chunk_size = 0;  // plaintext bytes per chunk (all but the last chunk are full)
  uint64_t chunk_count = 0;
  friend bool operator==(const VersionHeader&, const VersionHeader&) = default;
};

// max(1, ceil(size / chunk_size)): an empty document is one empty chunk. chunk_size > 0.
uint64_t ChunkCountFor(uint64_t size, uint32_t chunk_size);
// True if `h` is self-consistent (chunk_size > 0 and chunk_count == ChunkCountFor(...)).
bool IsConsistent(const VersionHeader& h);
// Plaintext bytes of chunk `index` of a consistent version (index < chunk_count).
uint64_t ChunkPlaintextSize(const VersionHeader& h, uint64_t index);

// A fresh random HKDF salt for a new version (kKeySaltBytes).
std::string NewKeySalt(Random& random);

// The content key of one version and the AAD / nonce bookkeeping around it.
class VersionCipher {
 public:
  // Derives K = HKDF-SHA256(dek, key_salt, "sicher-doc-v1" || lp(account) || lp(document) ||
  // u64be(version)). InvalidArgument for a DEK that is not 32 bytes, a salt that is not
  // kKeySaltBytes, or empty ids.
  static Result<VersionCipher> Create(const SecretBytes& dek, std::string_view key_salt,
                                      const VersionBinding& binding);

  // Seals chunk `index` (last = it is the final chunk). `out` must be plaintext.size() +
  // kChunkOverhead bytes. Each index must be sealed at most once per key (the nonce is the
  // index): the store guarantees this by sealing every index of a version exactly once.
  Status SealChunk(uint64_t index, bool last, std::span<const uint8_t> plaintext,
                   std::span<uint8_t> out);
  // Opens chunk `index`; `out` must be sealed.size() - kChunkOverhead bytes (DataLoss if the
  // sealed value is shorter than a tag).
  Status OpenChunk(uint64_t index, bool last, std::span<const uint8_t> sealed,
                   std::span<uint8_t> out);

  // The 16-byte header tag of `header` (document-envelope.md section 3.3).
  Result<std::string> HeaderTag(const VersionHeader& header);
  // DataLoss unless `tag` is HeaderTag(header).
  Status VerifyHeader(const VersionHeader& header, std::string_view tag);

 private:
  explicit VersionCipher(crypto::AeadContext ctx, const VersionBinding& binding);
  // Sets the index and last flag in chunk_aad_ and the index in nonce_.
  void PrepareChunk(uint64_t index, bool last);

  crypto::AeadContext ctx_;
  std::string chunk_aad_;   // label || lp(account) || lp(document) || u64(version) || u64 || u8
  std::string header_aad_;  // label || lp(account) || lp(document) || u64(version)
  uint8_t nonce_[crypto::kAeadNonceBytes] = {};
};

}  // namespace sicher::docs
