#include "sicher/net/testing/test_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "sicher/base/check.h"

namespace sicher::net::testing {
namespace {

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<int> ConnectTcp(std::string_view address, int timeout_ms) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgumentError("bad address");
  const std::string host(address.substr(0, colon));
  const int port = std::atoi(std::string(address.substr(colon + 1)).c_str());
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return InvalidArgumentError("bad host");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError("connect", err);
  }
  return fd;
}

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "handshake failed" : out;
}

}  // namespace

TestCert MakeSelfSignedCert(uint64_t serial, bool rsa) {
  EVP_PKEY* key = rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  CHECK(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 90L * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  if (X509_EXTENSION* ext =
          X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1")) {
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  CHECK(X509_sign(x, key, EVP_sha256()) > 0);
  TestCert out;
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  out.cert_pem = BioToString(cb);
  BIO_free(cb);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioToString(kb);
  BIO_free(kb);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string HttpReply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

bool ParseReply(std::string& buffer, HttpReply* reply, bool head_request) {
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  HttpReply r;
  std::string head = buffer.substr(0, end);
  size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return false;
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    const std::string line = head.substr(pos, next - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace(Lower(line.substr(0, colon)), value);
    }
    pos = next + 2;
  }
  if (!head_request && Lower(r.Header("transfer-encoding")) == "chunked") {
    // Chunked body: complete only with its last (zero-size) chunk.
    size_t p = end + 4;
    std::string body;
    for (;;) {
      const size_t line_end = buffer.find("\r\n", p);
      if (line_end == std::string::npos) return false;
      const size_t size = std::strtoul(buffer.substr(p, line_end - p).c_str(), nullptr, 16);
      if (buffer.size() < line_end + 2 + size + 2) return false;
      if (size == 0) {
        p = line_end + 4;
        break;
      }
      body.append(buffer, line_end + 2, size);
      p = line_end + 2 + size + 2;
    }
    r.body = std::move(body);
    buffer.erase(0, p);
    *reply = std::move(r);
    return true;
  }
  size_t length = 0;
  if (!head_request && r.status != 204 && r.status != 304 && r.status >= 200) {
    length = static_cast<size_t>(std::atoll(r.Header("content-length").c_str()));
  }
  if (buffer.size() < end + 4 + length) return false;
  r.body = buffer.substr(end + 4, length);
  buffer.erase(0, end + 4 + length);
  *reply = std::move(r);
  return true;
}

Result<std::unique_ptr<TlsClient>> TlsClient::Connect(std::string_view address,
                                                      const TlsClientOptions& o) {
  ASSIGN_OR_RETURN(int fd, ConnectTcp(address, o.timeout_ms));
  std::unique_ptr<TlsClient> c(new TlsClient());
  c->fd_ = fd;
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  if (o.security_level_0) SSL_CTX_set_security_level(c->ctx_, 0);
  if (o.min_version) SSL_CTX_set_min_proto_version(c->ctx_, o.min_version);
  if (o.max_version) SSL_CTX_set_max_proto_version(c->ctx_, o.max_version);
  if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(c->ctx_, o.cipher_list.c_str()) != 1) {
    return InvalidArgumentError("client cipher list");
  }
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c->ctx_, o.ciphersuites.c_str()) != 1) {
    return InvalidArgumentError("client ciphersuites");
  }
  if (!o.alpn.empty()) {
    std::string wire;
    for (const auto& p : o.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_CTX_set_alpn_protos(c->ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  c->ssl_ = SSL_new(c->ctx_);
  SSL_set_fd(c->ssl_, fd);
  SSL_set_tlsext_host_name(c->ssl_, "localhost");
  if (o.resume) SSL_set_session(c->ssl_, o.resume);
  ERR_clear_error();
  if (SSL_connect(c->ssl_) != 1) return UnavailableError(SslErrors());
  return c;
}

TlsClient::~TlsClient() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

Status TlsClient::Write(std::string_view bytes) {
  if (bytes.empty()) return OkStatus();
  const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  if (n != static_cast<int>(bytes.size())) {
    ERR_clear_error();
    return UnavailableError("write failed");
  }
  return OkStatus();
}

Result<HttpReply> TlsClient::Read(bool head_request) {
  HttpReply reply;
  for (;;) {
    if (ParseReply(buffer_, &reply, head_request)) return reply;
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0) {
      ERR_clear_error();
      return UnavailableError("connection closed or timed out before a full response");
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<HttpReply> TlsClient::Get(std::string_view path, std::string_view extra_headers) {
  RETURN_IF_ERROR(Write(std::string("GET ") + std::string(path) +
                        " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n"));
  return Read();
}

bool TlsClient::WaitClosed(int timeout_ms) {
  if (!buffer_.empty()) return false;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  const int n = SSL_read(ssl_, buf, sizeof(buf));
  if (n > 0) return false;
  const int err = SSL_get_error(ssl_, n);
  const int saved_errno = errno;
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) return true;
  if (err == SSL_ERROR_SYSCALL) return saved_errno != EAGAIN && saved_errno != EWOULDBLOCK;
  return err == SSL_ERROR_SSL;
}

std::string TlsClient::Protocol() const { return SSL_get_version(ssl_); }
std::string TlsClient::Cipher() const { return SSL_get_cipher_name(ssl_); }
std::string TlsClient::Alpn() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}
std::string TlsClient::PeerSerialHex() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  return out;
}
bool TlsClient::SessionReused() const { return SSL_session_reused(ssl_) == 1; }
ssl_session_st* TlsClient::Session() const { return SSL_get1_session(ssl_); }

Result<std::unique_ptr<TcpClient>> TcpClient::Connect(std::string_view address, int timeout_ms) {
  ASSIGN_OR_RETURN(int fd, ConnectTcp(address, timeout_ms));
  std::unique_ptr<TcpClient> c(new TcpClient());
  c->fd_ = fd;
  return c;
}

TcpClient::~TcpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status TcpClient::Write(std::string_view bytes) {
  if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    return UnavailableError("send failed");
  }
  return OkStatus();
}

Result<HttpReply> TcpClient::Read() {
  HttpReply reply;
  for (;;) {
    if (ParseReply(buffer_, &reply)) return reply;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return UnavailableError("connection closed or timed out before a full response");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool TcpClient::WaitClosed(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/sicher-net-test-XXXXXX";
  CHECK(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  CHECK(out.good());
}

}  // namespace sicher::net::testing
