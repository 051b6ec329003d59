#include "sicher/docs/envelope.h"

#include <cstring>

#include "sicher/crypto/kdf.h"

namespace sicher::docs {
namespace {

constexpr std::string_view kKeyInfoLabel = "sicher-doc-v1";
constexpr std::string_view kChunkAadLabel = "sicher-doc-chunk-v1";
constexpr std::string_view kHeaderAadLabel = "sicher-doc-header-v1";
// The first four nonce bytes separate chunk nonces from the header's.
constexpr uint32_t kChunkNoncePrefix = 0;
constexpr uint32_t kHeaderNoncePrefix = 1;

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void PutU64At(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}
void PutU32At(uint8_t* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}
// u32be(len(s)) || s: makes concatenations injective.
void PutLengthPrefixed(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

std::string BindingBytes(std::string_view label, const VersionBinding& b) {
  std::string out(label);
  PutLengthPrefixed(out, b.account_id);
  PutLengthPrefixed(out, b.document_id);
  PutU64(out, b.version);
  return out;
}

}  // namespace

uint64_t ChunkCountFor(uint64_t size, uint32_t chunk_size) {
  if (size == 0) return 1;
  return (size + chunk_size - 1) / chunk_size;
}

bool IsConsistent(const VersionHeader& h) {
  return h.chunk_size > 0 && h.chunk_count == ChunkCountFor(h.size, h.chunk_size);
}

uint64_t ChunkPlaintextSize(const VersionHeader& h, uint64_t index) {
  if (index + 1 < h.chunk_count) return h.chunk_size;
  return h.size - (h.chunk_count - 1) * uint64_t{h.chunk_size};
}

std::string NewKeySalt(Random& random) {
  std::string salt(kKeySaltBytes, '\0');
  random.Fill(crypto::AsWritableBytes(salt));
  return salt;
}

Result<VersionCipher> VersionCipher::Create(const SecretBytes& dek, std::string_view key_salt,
                                            const VersionBinding& binding) {
  if (key_salt.size() != kKeySaltBytes) {
    return InvalidArgumentError("document key salt must be 32 bytes");
  }
  if (binding.account_id.empty() || binding.document_id.empty()) {
    return InvalidArgumentError("document key needs an account id and a document id");
  }
  if (dek.size() != crypto::kAeadKeyBytes) {
    return InvalidArgumentError("document key needs a 32-byte data key");
  }
  ASSIGN_OR_RETURN(SecretBytes key,
                   crypto::HkdfSha256(dek, key_salt, BindingBytes(kKeyInfoLabel, binding),
                                      crypto::kAeadKeyBytes));
  ASSIGN_OR_RETURN(crypto::AeadContext ctx, crypto::AeadContext::Create(key));
  return VersionCipher(std::move(ctx), binding);
}

VersionCipher::VersionCipher(crypto::AeadContext ctx, const VersionBinding& binding)
    : ctx_(std::move(ctx)),
      chunk_aad_(BindingBytes(kChunkAadLabel, binding)),
      header_aad_(BindingBytes(kHeaderAadLabel, binding)) {
  chunk_aad_.append(8 + 1, '\0');  // index and last flag, set per chunk
}

void VersionCipher::PrepareChunk(uint64_t index, bool last) {
  auto* aad = reinterpret_cast<uint8_t*>(chunk_aad_.data()) + chunk_aad_.size() - 9;
  PutU64At(aad, index);
  aad[8] = last ? 1 : 0;
  PutU32At(nonce_, kChunkNoncePrefix);
  PutU64At(nonce_ + 4, index);
}

Status VersionCipher::SealChunk(uint64_t index, bool last, std::span<const uint8_t> plaintext,
                                std::span<uint8_t> out) {
  PrepareChunk(index, last);
  return ctx_.Seal(nonce_, plaintext, crypto::AsBytes(chunk_aad_), out);
}

Status VersionCipher::OpenChunk(uint64_t index, bool last, std::span<const uint8_t> sealed,
                                std::span<uint8_t> out) {
  if (sealed.size() < kChunkOverhead) return DataLossError("authentication failed");
  PrepareChunk(index, last);
  return ctx_.Open(nonce_, sealed, crypto::AsBytes(chunk_aad_), out);
}

Result<std::string> VersionCipher::HeaderTag(const VersionHeader& header) {
  std::string aad = header_aad_;
  PutU64(aad, header.size);
  PutU32(aad, header.chunk_size);
  PutU64(aad, header.chunk_count);
  uint8_t nonce[crypto::kAeadNonceBytes] = {};
  PutU32At(nonce, kHeaderNoncePrefix);  // index 0 in the last eight bytes
  std::string tag(kHeaderTagBytes, '\0');
  RETURN_IF_ERROR(ctx_.Seal(nonce, {}, crypto::AsBytes(aad), crypto::AsWritableBytes(tag)));
  return tag;
}

Status VersionCipher::VerifyHeader(const VersionHeader& header, std::string_view tag) {
  if (tag.size() != kHeaderTagBytes) return DataLossError("authentication failed");
  std::string aad = header_aad_;
  PutU64(aad, header.size);
  PutU32(aad, header.chunk_size);
  PutU64(aad, header.chunk_count);
  uint8_t nonce[crypto::kAeadNonceBytes] = {};
  PutU32At(nonce, kHeaderNoncePrefix);
  return ctx_.Open(nonce, crypto::AsBytes(tag), crypto::AsBytes(aad), {});
}

}  // namespace sicher::docs
