#include "sicher/crypto/aead.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace sicher::crypto {
namespace {

// Fetched once per process and never freed: fetching is the expensive part of EVP setup, and the
// object is immutable and shareable between threads.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// EVP takes int lengths; feed longer inputs in pieces.
constexpr size_t kMaxUpdate = size_t{1} << 30;

Status AddAad(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> aad) {
  while (!aad.empty()) {
    const size_t n = std::min(aad.size(), kMaxUpdate);
    int len = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(n)) != 1) {
      return InternalError("AES-GCM: AAD update failed");
    }
    aad = aad.subspan(n);
  }
  return OkStatus();
}

Status Transform(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> in, uint8_t* out) {
  while (!in.empty()) {
    const size_t n = std::min(in.size(), kMaxUpdate);
    int len = 0;
    if (EVP_CipherUpdate(ctx, out, &len, in.data(), static_cast<int>(n)) != 1 ||
        static_cast<size_t>(len) != n) {
      return InternalError("AES-GCM: update failed");
    }
    in = in.subspan(n);
    out += n;
  }
  return OkStatus();
}

Status CheckKey(size_t size) {
  if (size != kAeadKeyBytes) {
    return InvalidArgumentError("AES-256-GCM key must be 32 bytes, got " + std::to_string(size));
  }
  return OkStatus();
}

Status CheckNonce(size_t size) {
  if (size != kAeadNonceBytes) {
    return InvalidArgumentError("AES-GCM nonce must be 12 bytes, got " + std::to_string(size));
  }
  return OkStatus();
}

Status AuthenticationFailed() { return DataLossError("authentication failed"); }

}  // namespace

struct AeadContext::Impl {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;

  ~Impl() {
    EVP_CIPHER_CTX_free(enc);  // frees and cleanses the key schedule
    EVP_CIPHER_CTX_free(dec);
  }

  // GCM with the AAD given in two pieces (a fixed prefix, then the caller's).
  Status Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> aad_prefix,
              std::span<const uint8_t> aad, std::span<const uint8_t> plaintext,
              std::span<uint8_t> out) {
    RETURN_IF_ERROR(CheckNonce(nonce.size()));
    if (out.size() != plaintext.size() + kAeadTagBytes) {
      return InvalidArgumentError("AES-GCM seal: output buffer has the wrong size");
    }
    if (EVP_EncryptInit_ex2(enc, nullptr, nullptr, nonce.data(), nullptr) != 1) {
      return InternalError("AES-GCM: cannot set nonce");
    }
    RETURN_IF_ERROR(AddAad(enc, aad_prefix));
    RETURN_IF_ERROR(AddAad(enc, aad));
    RETURN_IF_ERROR(Transform(enc, plaintext, out.data()));
    uint8_t* tag = out.data() + plaintext.size();
    int len = 0;
    if (EVP_EncryptFinal_ex(enc, tag, &len) != 1 || len != 0) {
      return InternalError("AES-GCM: final failed");
    }
    if (EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, kAeadTagBytes, tag) != 1) {
      return InternalError("AES-GCM: cannot read tag");
    }
    return OkStatus();
  }

  Status Open(std::span<const uint8_t> nonce, std::span<const uint8_t> aad_prefix,
              std::span<const uint8_t> aad, std::span<const uint8_t> ciphertext_and_tag,
              std::span<uint8_t> out) {
    RETURN_IF_ERROR(CheckNonce(nonce.size()));
    if (ciphertext_and_tag.size() < kAeadTagBytes) return AuthenticationFailed();
    const size_t n = ciphertext_and_tag.size() - kAeadTagBytes;
    if (out.size() != n) {
      return InvalidArgumentError("AES-GCM open: output buffer has the wrong size");
    }
    uint8_t tag[kAeadTagBytes];
    std::memcpy(tag, ciphertext_and_tag.data() + n, kAeadTagBytes);
    if (EVP_DecryptInit_ex2(dec, nullptr, nullptr, nonce.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, kAeadTagBytes, tag) != 1) {
      return InternalError("AES-GCM: cannot set nonce or tag");
    }
    RETURN_IF_ERROR(AddAad(dec, aad_prefix));
    RETURN_IF_ERROR(AddAad(dec, aad));
    Status s = Transform(dec, ciphertext_and_tag.first(n), out.data());
    uint8_t dummy[1];
    int len = 0;
    if (s.ok() && EVP_DecryptFinal_ex(dec, dummy, &len) != 1) s = AuthenticationFailed();
    if (!s.ok() && !out.empty()) SecureWipe(out.data(), out.size());
    return s;
  }
};

Result<AeadContext> AeadContext::Create(const SecretBytes& key) {
  RETURN_IF_ERROR(CheckKey(key.size()));
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return InternalError("OpenSSL has no AES-256-GCM");
  auto impl = std::make_unique<Impl>();
  impl->enc = EVP_CIPHER_CTX_new();
  impl->dec = EVP_CIPHER_CTX_new();
  if (impl->enc == nullptr || impl->dec == nullptr ||
      EVP_EncryptInit_ex2(impl->enc, cipher, key.data(), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(impl->dec, cipher, key.data(), nullptr, nullptr) != 1) {
    return InternalError("AES-GCM: cannot initialise a cipher context");
  }
  return AeadContext(std::move(impl));
}

AeadContext::AeadContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AeadContext::AeadContext(AeadContext&&) noexcept = default;
AeadContext& AeadContext::operator=(AeadContext&&) noexcept = default;
AeadContext::~AeadContext() = default;

Status AeadContext::Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
                         std::span<const uint8_t> aad, std::span<uint8_t> out) {
  return impl_->Seal(nonce, {}, aad, plaintext, out);
}

Status AeadContext::Open(std::span<const uint8_t> nonce,
                         std::span<const uint8_t> ciphertext_and_tag, std::span<const uint8_t> aad,
                         std::span<uint8_t> out) {
  return impl_->Open(nonce, {}, aad, ciphertext_and_tag, out);
}

// Gives the one-shot functions access to the two-piece AAD of Impl.
struct AeadInternal {
  static AeadContext::Impl& Get(AeadContext& ctx) { return *ctx.impl_; }
};

namespace {

constexpr size_t kHeaderBytes = 1 + kAeadNonceBytes;

// Opens AeadSeal output into `out` (sized sealed.size() - kAeadSealOverhead).
Status OpenSealed(const SecretBytes& key, std::string_view sealed, std::string_view aad,
                  std::span<uint8_t> out) {
  RETURN_IF_ERROR(CheckKey(key.size()));
  if (sealed.size() < kAeadSealOverhead || static_cast<uint8_t>(sealed[0]) != kAeadFormatV1) {
    return AuthenticationFailed();
  }
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(key));
  const std::span<const uint8_t> bytes = AsBytes(sealed);
  return AeadInternal::Get(ctx).Open(bytes.subspan(1, kAeadNonceBytes), bytes.first(1),
                                     AsBytes(aad), bytes.subspan(kHeaderBytes), out);
}

}  // namespace

Result<std::string> AeadSeal(const SecretBytes& key, std::string_view plaintext,
                             std::string_view aad, Random& random) {
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(key));
  return AeadSeal(ctx, plaintext, aad, random);
}

Result<std::string> AeadSeal(AeadContext& ctx, std::string_view plaintext, std::string_view aad,
                             Random& random) {
  std::string out(plaintext.size() + kAeadSealOverhead, '\0');
  std::span<uint8_t> bytes = AsWritableBytes(out);
  bytes[0] = kAeadFormatV1;
  random.Fill(bytes.subspan(1, kAeadNonceBytes));
  RETURN_IF_ERROR(AeadInternal::Get(ctx).Seal(bytes.subspan(1, kAeadNonceBytes), bytes.first(1),
                                              AsBytes(aad), AsBytes(plaintext),
                                              bytes.subspan(kHeaderBytes)));
  return out;
}

Result<std::string> AeadOpen(const SecretBytes& key, std::string_view sealed,
                             std::string_view aad) {
  std::string out(sealed.size() >= kAeadSealOverhead ? sealed.size() - kAeadSealOverhead : 0, '\0');
  RETURN_IF_ERROR(OpenSealed(key, sealed, aad, AsWritableBytes(out)));
  return out;
}

Result<SecretBytes> AeadOpenSecret(const SecretBytes& key, std::string_view sealed,
                                   std::string_view aad) {
  SecretBytes out(sealed.size() >= kAeadSealOverhead ? sealed.size() - kAeadSealOverhead : 0);
  RETURN_IF_ERROR(OpenSealed(key, sealed, aad, out.span()));
  return out;
}

Result<std::string> AeadSealWithNonce(const SecretBytes& key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad) {
  RETURN_IF_ERROR(CheckNonce(nonce.size()));
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(key));
  std::string out(plaintext.size() + kAeadTagBytes, '\0');
  RETURN_IF_ERROR(ctx.Seal(AsBytes(nonce), AsBytes(plaintext), AsBytes(aad), AsWritableBytes(out)));
  return out;
}

Result<std::string> AeadOpenWithNonce(const SecretBytes& key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag, std::string_view aad) {
  RETURN_IF_ERROR(CheckKey(key.size()));
  RETURN_IF_ERROR(CheckNonce(nonce.size()));
  if (ciphertext_and_tag.size() < kAeadTagBytes) return AuthenticationFailed();
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(key));
  std::string out(ciphertext_and_tag.size() - kAeadTagBytes, '\0');
  RETURN_IF_ERROR(
      ctx.Open(AsBytes(nonce), AsBytes(ciphertext_and_tag), AsBytes(aad), AsWritableBytes(out)));
  return out;
}

}  // namespace sicher::crypto
