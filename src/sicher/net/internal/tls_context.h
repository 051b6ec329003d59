#pragma once
// Building the server's TLS context from a profile and PEM files. Private to net/ (it includes
// Asio's SSL support).
//
// Thread-safe functions. A built context is immutable afterwards and may be shared by many
// connections on many threads; connections keep it alive through the shared_ptr.

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/status.h"
#include "sicher/net/internal/ticket_keys.h"
#include "sicher/net/tls_profile.h"

namespace sicher::net::internal {

struct CertificateInfo {
  std::string serial_hex;  // upper-case hex, as `openssl x509 -serial` prints it
  std::string key_type;    // "ecdsa", "rsa", "ed25519", ...
  Time not_before{};
  Time not_after{};
};

// A server context: the profile's protocol settings, the certificate chain (`cert_pem`: leaf
// first) and private key (`key_pem`), ALPN that selects only "http/1.1" (a client that offers
// no http/1.1 gets a fatal no_application_protocol alert, RFC 7301), a server-side session
// cache (1 day) and session tickets from `tickets`.
// Returns InvalidArgument (naming the problem, never the key) when the PEM does not parse or
// the key does not match the certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> BuildServerContext(const TlsProfile& profile,
                                                                      std::string_view cert_pem,
                                                                      const SecretBytes& key_pem,
                                                                      TicketKeyRing& tickets,
                                                                      CertificateInfo* info);

// A short, stable label for a failed handshake, for sicher_tls_handshake_failures_total:
// "timeout", "closed", "protocol_version", "no_shared_cipher", "no_application_protocol",
// "http_request" (plain HTTP sent to the TLS port), "bad_message" or "other".
std::string_view HandshakeFailureReason(const boost::system::error_code& ec);

}  // namespace sicher::net::internal
