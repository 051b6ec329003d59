#pragma once
// Test-only helpers for net_test: self-signed certificates and small blocking clients (TLS via
// plain OpenSSL, and plain TCP) that speak just enough HTTP/1.1 to check the server.
// Not thread-safe: one client per test thread.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"

struct ssl_st;
struct ssl_ctx_st;
struct ssl_session_st;

namespace sicher::net::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};
// A self-signed certificate for CN=localhost with SAN localhost/127.0.0.1, valid for 90 days,
// with the given serial. ECDSA P-256 unless `rsa`.
TestCert MakeSelfSignedCert(uint64_t serial, bool rsa = false);

struct HttpReply {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

// Parses one HTTP/1.1 response from the front of `buffer`; returns false if incomplete.
bool ParseReply(std::string& buffer, HttpReply* reply, bool head_request = false);

struct TlsClientOptions {
  int min_version = 0;               // e.g. TLS1_VERSION; 0: OpenSSL's default
  int max_version = 0;               // e.g. TLS1_2_VERSION; 0: the highest
  std::string cipher_list;           // TLS <= 1.2; empty: default
  std::string ciphersuites;          // TLS 1.3; empty: default
  std::vector<std::string> alpn;     // protocols offered; empty: no ALPN
  bool security_level_0 = false;     // allow TLS 1.0/1.1 on Debian's OpenSSL
  ssl_session_st* resume = nullptr;  // try to resume this session
  int timeout_ms = 3000;             // receive timeout
};

class TlsClient {
 public:
  // Connects to "127.0.0.1:PORT" and completes the handshake; an error Status says why not.
  static Result<std::unique_ptr<TlsClient>> Connect(std::string_view address,
                                                    const TlsClientOptions& options = {});
  ~TlsClient();

  Status Write(std::string_view bytes);
  // Reads one response. Error on timeout or close before a full response.
  Result<HttpReply> Read(bool head_request = false);
  Result<HttpReply> Get(std::string_view path, std::string_view extra_headers = "");
  // True if the server closes the connection (EOF or reset) within the timeout, without
  // sending more data.
  bool WaitClosed(int timeout_ms = 3000);

  std::string Protocol() const;  // "TLSv1.3"
  std::string Cipher() const;    // "TLS_AES_128_GCM_SHA256"
  std::string Alpn() const;      // "" when none
  std::string PeerSerialHex() const;
  bool SessionReused() const;
  // A reference-counted copy of the session, for a later resumption (caller frees with
  // SSL_SESSION_free).
  ssl_session_st* Session() const;

 private:
  TlsClient() = default;
  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  std::string buffer_;
};

// A plain TCP client (for the redirect listener and raw byte tests).
class TcpClient {
 public:
  static Result<std::unique_ptr<TcpClient>> Connect(std::string_view address,
                                                    int timeout_ms = 3000);
  ~TcpClient();
  Status Write(std::string_view bytes);
  Result<HttpReply> Read();
  bool WaitClosed(int timeout_ms = 3000);

 private:
  TcpClient() = default;
  int fd_ = -1;
  std::string buffer_;
};

// Writes `data` to a fresh file in a temporary directory; returns the path.
std::string MakeTempDir();
void WriteFile(const std::string& path, std::string_view data);

}  // namespace sicher::net::testing
