#include "sicher/net/internal/tls_context.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace sicher::net::internal {
namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr long kSessionTimeoutSeconds = 24 * 60 * 60;  // Mozilla: ssl_session_timeout 1d

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp11, sizeof(kAlpnHttp11), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string OpenSslError() {
  const unsigned long e = ERR_peek_last_error();
  std::string out =
      e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown" : "unknown";
  ERR_clear_error();
  return out;
}

Time AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return Time{};
  return Time(std::chrono::seconds(timegm(&tm)));
}

void Describe(X509* cert, EVP_PKEY* key, CertificateInfo* info) {
  if (info == nullptr) return;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info->serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
      info->key_type = "ecdsa";
      break;
    case EVP_PKEY_RSA:
      info->key_type = "rsa";
      break;
    case EVP_PKEY_ED25519:
      info->key_type = "ed25519";
      break;
    default:
      info->key_type = "other";
      break;
  }
  info->not_before = AsnTime(X509_get0_notBefore(cert));
  info->not_after = AsnTime(X509_get0_notAfter(cert));
}

}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> BuildServerContext(const TlsProfile& profile,
                                                                      std::string_view cert_pem,
                                                                      const SecretBytes& key_pem,
                                                                      TicketKeyRing& tickets,
                                                                      CertificateInfo* info) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  RETURN_IF_ERROR(ApplyTlsProfile(profile, native));

  // Certificate chain: the first PEM block is the leaf, the rest are intermediates.
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> leaf(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!leaf) {
    ERR_clear_error();
    return InvalidArgumentError("certificate file holds no PEM certificate");
  }
  if (SSL_CTX_use_certificate(native, leaf.get()) != 1) {
    return InvalidArgumentError(fmt::format("certificate refused: {}", OpenSslError()));
  }
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(native, extra) != 1) {
      X509_free(extra);
      return InvalidArgumentError(fmt::format("chain certificate refused: {}", OpenSslError()));
    }
  }
  ERR_clear_error();  // the loop ends on a "no start line" error

  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    return InvalidArgumentError("key file holds no PEM private key (or it is encrypted)");
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgumentError(
        fmt::format("private key does not match the certificate: {}", OpenSslError()));
  }
  Describe(leaf.get(), key.get(), info);

  SSL_CTX_set_alpn_select_cb(native, SelectAlpn, nullptr);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  static const unsigned char kSessionContext[] = "sicher";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_timeout(native, kSessionTimeoutSeconds);
  tickets.Install(native);
  // Release per-connection buffers when idle: keep-alive connections cost little memory.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

std::string_view HandshakeFailureReason(const boost::system::error_code& ec) {
  if (ec == boost::beast::error::timeout) return "timeout";
  if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
      ec == boost::asio::error::connection_reset || ec == boost::asio::error::operation_aborted ||
      ec == boost::asio::error::broken_pipe) {
    return "closed";
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_VERSION_TOO_HIGH:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_NO_SUITABLE_KEY_SHARE:
      case SSL_R_NO_SHARED_GROUPS:
        return "no_shared_cipher";
      case SSL_R_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
        return "http_request";
      case SSL_R_UNEXPECTED_MESSAGE:
      case SSL_R_BAD_PACKET_LENGTH:
      case SSL_R_RECORD_LENGTH_MISMATCH:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
        return "bad_message";
      default:
        return "other";
    }
  }
  return "other";
}

}  // namespace sicher::net::internal
