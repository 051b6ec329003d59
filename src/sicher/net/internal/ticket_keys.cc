#include "sicher/net/internal/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "sicher/base/check.h"

namespace sicher::net::internal {
namespace {

int RingIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int SetMacKey(EVP_MAC_CTX* hctx, uint8_t* key, size_t size) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, size),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(hctx, params);
}

// OpenSSL's ticket callback: 1 = use these keys, 2 = decrypted with an old key (issue a new
// ticket), 0 = unknown key (full handshake), -1 = error.
int TicketCallback(SSL* ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                   EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc) {
  auto* ring = static_cast<TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), RingIndex()));
  if (ring == nullptr) return -1;
  TicketKeyRing::KeyMaterial key;
  if (enc == 1) {
    ring->CurrentForEncrypt(&key);
    std::memcpy(key_name, key.name.data(), key.name.size());
    ring->random().Fill(std::span<uint8_t>(iv, 16));
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv) != 1) {
      return -1;
    }
    return SetMacKey(hctx, key.hmac_key.data(), key.hmac_key.size()) == 1 ? 1 : -1;
  }
  if (!ring->FindForDecrypt(key_name, &key)) return 0;
  if (SetMacKey(hctx, key.hmac_key.data(), key.hmac_key.size()) != 1) return -1;
  if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv) != 1) {
    return -1;
  }
  return key.is_current ? 1 : 2;
}

}  // namespace

TicketKeyRing::TicketKeyRing(Clock& clock, Random& random, Duration rotation, size_t keep_previous)
    : clock_(clock), random_(random), rotation_(rotation), keep_previous_(keep_previous) {
  CHECK(rotation_.count() > 0);
  std::lock_guard lock(mu_);
  RotateLocked(clock_.MonoNow());
}

void TicketKeyRing::Install(SSL_CTX* ctx) {
  CHECK(SSL_CTX_set_ex_data(ctx, RingIndex(), this) == 1);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketCallback);
}

void TicketKeyRing::Rotate() {
  std::lock_guard lock(mu_);
  RotateLocked(clock_.MonoNow());
}

uint64_t TicketKeyRing::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void TicketKeyRing::RotateLocked(MonoTime now) {
  Key key;
  random_.Fill(key.name);
  key.secret = SecretBytes(64);
  random_.Fill(key.secret.span());
  key.created = now;
  keys_.push_front(std::move(key));
  while (keys_.size() > keep_previous_ + 1) keys_.pop_back();  // SecretBytes wipes itself
  ++generation_;
}

void TicketKeyRing::CurrentForEncrypt(KeyMaterial* out) {
  std::lock_guard lock(mu_);
  const MonoTime now = clock_.MonoNow();
  if (now - keys_.front().created >= rotation_) RotateLocked(now);
  const Key& k = keys_.front();
  out->name = k.name;
  std::memcpy(out->aes_key.data(), k.secret.data(), 32);
  std::memcpy(out->hmac_key.data(), k.secret.data() + 32, 32);
  out->is_current = true;
}

bool TicketKeyRing::FindForDecrypt(const uint8_t* name, KeyMaterial* out) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    const Key& k = keys_[i];
    if (std::memcmp(k.name.data(), name, k.name.size()) != 0) continue;
    out->name = k.name;
    std::memcpy(out->aes_key.data(), k.secret.data(), 32);
    std::memcpy(out->hmac_key.data(), k.secret.data() + 32, 32);
    // A key past its rotation time still decrypts but asks for a fresh ticket.
    out->is_current = i == 0 && clock_.MonoNow() - k.created < rotation_;
    return true;
  }
  return false;
}

}  // namespace sicher::net::internal
