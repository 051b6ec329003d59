#include "sicher/net/server.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <regex>
#include <thread>

#include "sicher/net/testing/test_tls.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::net {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing::HttpReply;
using testing::TcpClient;
using testing::TlsClient;
using testing::TlsClientOptions;
using Clock = std::chrono::steady_clock;

class TestHandler final : public Handler {
 public:
  RouteInfo Classify(Listener, std::string_view, std::string_view path) const override {
    RouteInfo r;
    if (path == "/hello" || path == "/ip" || path == "/csp") r.blocking = false;
    if (path == "/upload") r.max_body_bytes = 1024;
    if (path.starts_with("/stream/")) {
      r.stream_body = true;
      r.max_body_bytes = path == "/stream/small" ? 1024 : 8 << 20;
    }
    return r;
  }

  Response Handle(Request& req) override {
    Response resp;
    resp.route = std::string(req.path);
    if (req.path == "/hello" || req.path == "/blocking") {
      resp.headers.Set("Content-Type", "text/plain");
      resp.body = "hello";
    } else if (req.path.starts_with("/chunked/") || req.path == "/chunked-fail") {
      // A streamed answer of unknown length, in pieces of 40,000 bytes; /chunked-fail fails
      // after the first piece.
      const bool fail = req.path == "/chunked-fail";
      const size_t n = fail ? 100000 : std::stoul(std::string(req.path.substr(9)));
      resp.stream = [n, fail](ResponseWriter& w) -> Response {
        Headers h;
        h.Set("Content-Type", "text/plain");
        if (!w.Start(200, h, ResponseWriter::kChunked).ok()) return Response{.status = 500};
        for (size_t sent = 0; sent < n;) {
          const size_t piece = std::min<size_t>(40000, n - sent);
          std::string data(piece, '\0');
          for (size_t i = 0; i < piece; ++i) data[i] = static_cast<char>('a' + (sent + i) % 26);
          if (!w.Write(data).ok()) return Response{.status = 500};
          sent += piece;
          if (fail) return Response{.status = 500};
        }
        return Response{};
      };
    } else if (req.path.starts_with("/big/")) {
      // A body of the size in the path, pattern-filled: exercises both write paths (copied
      // behind the head, and written on its own).
      const size_t n = std::stoul(std::string(req.path.substr(5)));
      resp.body.resize(n);
      for (size_t i = 0; i < n; ++i) resp.body[i] = static_cast<char>('a' + i % 26);
    } else if (req.path == "/ip") {
      resp.body = req.client_ip;
    } else if (req.path == "/upload") {
      resp.body = std::to_string(req.body.size());
    } else if (req.path == "/slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      resp.body = "slow";
    } else if (req.path == "/gate") {
      entered++;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return open_; });
      resp.body = "gate";
    } else if (req.path == "/csp") {
      resp.headers.Set("Content-Security-Policy", "default-src 'self'");
    } else if (req.path.starts_with("/stream/")) {
      return HandleStreamBody(req);
    } else if (req.path.starts_with("/download/")) {
      return HandleDownload(req);
    } else {
      resp.status = 404;
      resp.route.clear();
      resp.headers.Set("Content-Type", "application/problem+json");
      resp.body = R"({"type":"https://sicher.dev/problems/not-found","status":404})";
    }
    return resp;
  }

  // Streaming request bodies: reads the body in small pieces.
  Response HandleStreamBody(Request& req) {
    Response resp;
    resp.route = req.path;
    if (req.body_reader == nullptr) {
      resp.status = 500;
      return resp;
    }
    declared_length = req.body_reader->content_length().value_or(0);
    const size_t limit = req.path == "/stream/partial" ? 10 : SIZE_MAX;
    EVP_MD_CTX* sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
    char piece[4099];  // small and odd: many reads, pieces split across TLS records
    size_t total = 0;
    Status error;
    while (total < limit) {
      Result<size_t> n =
          req.body_reader->Read(std::span<char>(piece, std::min(sizeof(piece), limit - total)));
      if (!n.ok()) {
        error = n.status();
        break;
      }
      if (*n == 0) break;
      EVP_DigestUpdate(sha, piece, *n);
      total += *n;
    }
    unsigned char digest[32];
    EVP_DigestFinal_ex(sha, digest, nullptr);
    EVP_MD_CTX_free(sha);
    {
      std::lock_guard lock(mu_);
      read_error_ = error;
      read_done_ = true;
      cv_.notify_all();
    }
    if (!error.ok()) {
      resp.status = error.code() == StatusCode::kResourceExhausted ? 413 : 400;
      resp.body = std::string(StatusCodeName(error.code()));
      return resp;
    }
    resp.body = fmt::format("{} {}", total, HexDigest(digest));
    return resp;
  }

  // Streaming responses: /download/<kind>.
  Response HandleDownload(Request& req) {
    Response resp;
    resp.route = "/download/{kind}";
    const std::string kind = req.path.substr(strlen("/download/"));
    resp.stream = [kind](ResponseWriter& w) -> Response {
      if (kind == "fallback") {
        Response r;
        r.status = 409;
        r.body = "conflict";
        return r;
      }
      Headers h;
      h.Set("Content-Type", "application/octet-stream");
      if (kind == "big") {
        if (!w.Start(200, h, kDownloadBytes).ok()) return {};
        for (size_t off = 0; off < kDownloadBytes; off += 64 * 1024) {
          if (!w.Write(std::string_view(DownloadData()).substr(off, 64 * 1024)).ok()) return {};
        }
        return {};
      }
      if (kind == "short" || kind == "throw") {
        if (!w.Start(200, h, 1 << 20).ok()) return {};
        (void)w.Write(std::string_view(DownloadData()).substr(0, 100 * 1024));
        if (kind == "throw") throw std::runtime_error("disk on fire");
        return {};
      }
      Response r;
      r.status = 404;
      return r;
    };
    return resp;
  }

  static constexpr size_t kDownloadBytes = 3 << 20;
  static const std::string& DownloadData() {
    static const std::string data = [] {
      std::string d(kDownloadBytes, '\0');
      uint32_t x = 12345;
      for (char& ch : d) {
        x = x * 1103515245 + 12345;
        ch = static_cast<char>(x >> 16);
      }
      return d;
    }();
    return data;
  }

  static std::string HexDigest(const unsigned char* d) {
    std::string out;
    for (int i = 0; i < 32; ++i) out += fmt::format("{:02x}", d[i]);
    return out;
  }

  // The error (or OK) the last streaming handler's reads ended with, once it is known.
  std::optional<Status> WaitReadResult(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return read_done_; })) return std::nullopt;
    return read_error_;
  }

  std::atomic<uint64_t> declared_length{0};

  void OpenGate() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

  std::atomic<int> entered{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool read_done_ = false;
  Status read_error_;
};

// Metrics and the observer are updated right after the response is written, so a client can
// see the response first: wait briefly for them.
template <class Pred>
bool WaitFor(Pred pred) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void ExpectSecurityHeaders(const HttpReply& r) {
  EXPECT_EQ(r.Header("strict-transport-security"), "max-age=63072000") << r.status;
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff") << r.status;
  EXPECT_EQ(r.Header("referrer-policy"), "no-referrer") << r.status;
  EXPECT_EQ(r.Header("x-frame-options"), "DENY") << r.status;
  EXPECT_EQ(r.Header("content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
      << r.status;
  EXPECT_EQ(r.Header("cache-control"), "no-store") << r.status;
  EXPECT_EQ(r.Header("server"), "sicher") << r.status;
  EXPECT_TRUE(std::regex_match(r.Header("x-request-id"), std::regex("[0-9a-f]{32}")))
      << r.Header("x-request-id");
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    dir_ = testing::MakeTempDir();
    cert_path_ = dir_ + "/cert.pem";
    key_path_ = dir_ + "/key.pem";
    WriteCert(1);
  }
  void TearDown() override {
    server_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  void WriteCert(uint64_t serial, bool rsa = false) {
    const auto cert = testing::MakeSelfSignedCert(serial, rsa);
    testing::WriteFile(key_path_, cert.key_pem);
    testing::WriteFile(cert_path_, cert.cert_pem);
  }

  ServerOptions Options() {
    ServerOptions o;
    o.public_listen = "127.0.0.1:0";
    o.operator_listen = "127.0.0.1:0";
    o.public_host = "sicher.test";
    o.cert_file = cert_path_;
    o.key_file = key_path_;
    o.read_timeout = std::chrono::milliseconds(500);
    o.idle_timeout = std::chrono::seconds(2);
    o.handshake_timeout = std::chrono::seconds(1);
    o.shutdown_grace = std::chrono::seconds(2);
    o.io_threads = 2;
    o.worker_threads = 2;
    o.cert_check_interval = Duration(0);
    o.log = [](LogSeverity, std::string_view) {};
    return o;
  }

  void Start(ServerOptions o) {
    server_ = std::make_unique<Server>(std::move(o), handler_, registry_, Env::Default(),
                                       [this](const Request&, const Response& resp, Duration) {
                                         observed_++;
                                         last_status_ = resp.status;
                                         last_bytes_sent_ = resp.body_bytes_sent;
                                       });
    ASSERT_OK(server_->Start());
  }

  std::unique_ptr<TlsClient> Connect(const TlsClientOptions& o = {}) {
    auto c = TlsClient::Connect(server_->PublicAddress(), o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  bool Refused(const TlsClientOptions& o) {
    auto c = TlsClient::Connect(server_->PublicAddress(), o);
    return !c.ok();
  }

  std::string Metrics() { return registry_.RenderPrometheus(); }
  // The metrics text once it contains `needle` (or after 2 s, for the failure message).
  std::string MetricsWith(const std::string& needle) {
    WaitFor([&] { return Metrics().find(needle) != std::string::npos; });
    return Metrics();
  }

  std::string dir_, cert_path_, key_path_;
  TestHandler handler_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::atomic<int> observed_{0};
  std::atomic<int> last_status_{0};
  std::atomic<uint64_t> last_bytes_sent_{0};
};

TEST_F(ServerTest, KeepAliveGetWithSecurityHeaders) {
  Start(Options());
  EXPECT_THAT(server_->PublicAddress(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(server_->PublicAddress(), "127.0.0.1:0");
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Protocol(), "TLSv1.3");
  ASSERT_OK_AND_ASSIGN(HttpReply first, c->Get("/hello"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "hello");
  EXPECT_EQ(first.Header("connection"), "");
  ExpectSecurityHeaders(first);
  // Same connection, a blocking route this time (runs on the worker pool).
  ASSERT_OK_AND_ASSIGN(HttpReply second, c->Get("/blocking"));
  EXPECT_EQ(second.status, 200);
  EXPECT_NE(first.Header("x-request-id"), second.Header("x-request-id"));
  // HEAD: the length of the body, without it.
  ASSERT_OK(c->Write("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply head, c->Read(/*head_request=*/true));
  EXPECT_EQ(head.Header("content-length"), "5");
  EXPECT_TRUE(head.body.empty());
  ASSERT_OK_AND_ASSIGN(HttpReply third, c->Get("/hello"));
  EXPECT_EQ(third.body, "hello");
  EXPECT_TRUE(WaitFor([&] { return observed_.load() == 4; })) << observed_.load();
}

// Bodies of every size arrive whole, on one kept-alive connection. (Beast 1.81's ssl_stream
// ended a two-buffer gathered write of head and body after the head once the two passed 16 KiB.)
TEST_F(ServerTest, LargeBodiesArriveWhole) {
  Start(Options());
  auto c = Connect();
  ASSERT_TRUE(c);
  for (size_t n : {0u, 5u, 8192u, 8193u, 16000u, 16500u, 18950u, 65536u, 1u << 20}) {
    SCOPED_TRACE(n);
    ASSERT_OK_AND_ASSIGN(HttpReply reply, c->Get("/big/" + std::to_string(n)));
    EXPECT_EQ(reply.status, 200);
    ASSERT_EQ(reply.body.size(), n);
    for (size_t i = 0; i < n; i += 997) ASSERT_EQ(reply.body[i], static_cast<char>('a' + i % 26));
  }
}

// Chunked streamed answers (ResponseWriter::kChunked): whole when the stream succeeds, and
// without their last chunk (so a client sees the cut) when it fails after starting.
TEST_F(ServerTest, ChunkedStreamsEndWithTheLastChunkOnlyOnSuccess) {
  Start(Options());
  auto c = Connect();
  ASSERT_TRUE(c);
  for (size_t n : {0u, 10u, 40000u, 100001u}) {
    SCOPED_TRACE(n);
    ASSERT_OK_AND_ASSIGN(HttpReply reply, c->Get("/chunked/" + std::to_string(n)));
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.Header("transfer-encoding"), "chunked");
    EXPECT_EQ(reply.Header("content-length"), "");
    ASSERT_EQ(reply.body.size(), n);
    for (size_t i = 0; i < n; i += 991) ASSERT_EQ(reply.body[i], static_cast<char>('a' + i % 26));
  }
  auto d = Connect();
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->Get("/chunked-fail").ok());  // cut: no last chunk, the connection ends
}

TEST_F(ServerTest, HandlerCspIsKept) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/csp"));
  EXPECT_EQ(r.Header("content-security-policy"), "default-src 'self'");
  EXPECT_EQ(r.Header("strict-transport-security"), "max-age=63072000");
}

TEST_F(ServerTest, NotFoundCarriesSecurityHeaders) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/nope"));
  EXPECT_EQ(r.status, 404);
  ExpectSecurityHeaders(r);
  const std::string expected =
      "sicher_http_requests_total{listener=\"public\",route=\"unmatched\",method=\"GET\","
      "status=\"404\"} 1";
  EXPECT_THAT(MetricsWith(expected), HasSubstr(expected));
}

TEST_F(ServerTest, OversizedHeaderIs431AndCloses) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK(
      c->Write("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  EXPECT_THAT(r.body,
              HasSubstr("\"type\":\"https://sicher.dev/problems/request-header-too-large\""));
  EXPECT_THAT(r.body, Not(HasSubstr("aaaa")));  // never echoes the request
  EXPECT_EQ(r.Header("connection"), "close");
  ExpectSecurityHeaders(r);
  EXPECT_TRUE(c->WaitClosed());
}

// The header limit (16 KiB by default) covers the whole head, also when it spans several TLS
// records and every field on its own is small: many short fields, or a few big ones.
TEST_F(ServerTest, HeadOverLimitInManyFieldsIs431AndCloses) {
  Start(Options());
  const auto head_with = [](int fields, size_t value_bytes) {
    std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < fields; ++i) {
      head += "X-H" + std::to_string(i) + ": " + std::string(value_bytes, 'v') + "\r\n";
    }
    return head + "\r\n";
  };
  for (const std::string& head : {head_with(800, 30), head_with(3, 8000)}) {
    auto c = Connect();
    ASSERT_TRUE(c);
    ASSERT_OK(c->Write(head));
    ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
    EXPECT_EQ(r.status, 431) << head.size();
    EXPECT_EQ(r.Header("content-type"), "application/problem+json");
    EXPECT_EQ(r.Header("connection"), "close");
    ExpectSecurityHeaders(r);
    EXPECT_TRUE(c->WaitClosed());
  }
  // Just under the limit in several records is still fine.
  auto c = Connect();
  ASSERT_OK(c->Write(head_with(2, 7000)));
  ASSERT_OK_AND_ASSIGN(HttpReply ok, c->Read());
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ServerTest, BodyOverRouteLimitIs413BeforeTheBodyIsRead) {
  Start(Options());
  auto c = Connect();
  // A body within the limit is fine.
  ASSERT_OK(c->Write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"));
  ASSERT_OK_AND_ASSIGN(HttpReply ok, c->Read());
  EXPECT_EQ(ok.body, "10");
  // Over the limit: answered from the head alone, long before read_timeout.
  const auto start = Clock::now();
  ASSERT_OK(c->Write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("request-body-too-large"));
  ExpectSecurityHeaders(r);
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, ExpectContinue) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK(c->Write(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply cont, c->Read());
  EXPECT_EQ(cont.status, 100);
  ASSERT_OK(c->Write("abc"));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.body, "3");
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK(c->Write("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("https://sicher.dev/problems/bad-request"));
  ExpectSecurityHeaders(r);
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, SlowClientIsCutOffAtReadTimeout) {
  Start(Options());  // read_timeout 500 ms
  auto c = Connect();
  const auto start = Clock::now();
  ASSERT_OK(c->Write("GET /hello HTTP/1.1\r\n"));
  bool cut = false;
  // Dribble a header byte every 50 ms: each byte is "progress", but the head as a whole must
  // arrive within read_timeout.
  while (Clock::now() - start < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!c->Write("X").ok()) {
      cut = true;
      break;
    }
  }
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(cut);
  EXPECT_GE(elapsed, std::chrono::milliseconds(450));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
}

TEST_F(ServerTest, IdleConnectionWithoutRequestIsClosed) {
  Start(Options());
  auto c = Connect();
  // The first request must start within read_timeout of the handshake.
  EXPECT_TRUE(c->WaitClosed(1500));
}

TEST_F(ServerTest, IntermediateProfileProtocolsAndSuites) {
  Start(Options());
  TlsClientOptions tls11;
  tls11.min_version = TLS1_1_VERSION;
  tls11.max_version = TLS1_1_VERSION;
  tls11.security_level_0 = true;
  tls11.cipher_list = "DEFAULT:@SECLEVEL=0";
  EXPECT_TRUE(Refused(tls11));

  TlsClientOptions tls10 = tls11;
  tls10.min_version = tls10.max_version = TLS1_VERSION;
  EXPECT_TRUE(Refused(tls10));

  TlsClientOptions cbc;
  cbc.max_version = TLS1_2_VERSION;
  cbc.cipher_list = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA";
  EXPECT_TRUE(Refused(cbc));

  TlsClientOptions gcm;
  gcm.max_version = TLS1_2_VERSION;
  gcm.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
  auto c12 = Connect(gcm);
  ASSERT_TRUE(c12);
  EXPECT_EQ(c12->Protocol(), "TLSv1.2");
  EXPECT_EQ(c12->Cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  ASSERT_OK_AND_ASSIGN(HttpReply r, c12->Get("/hello"));
  EXPECT_EQ(r.status, 200);

  auto c13 = Connect();
  ASSERT_TRUE(c13);
  EXPECT_EQ(c13->Protocol(), "TLSv1.3");
  // In TLS 1.3 the client finishes first; a round trip makes sure the server has counted it.
  ASSERT_OK(c13->Get("/hello").status());

  MetricsWith("sicher_tls_handshake_failures_total{reason=\"protocol_version\"} 2");
  const std::string m =
      MetricsWith("sicher_tls_handshake_failures_total{reason=\"no_shared_cipher\"} 1");
  EXPECT_THAT(m, HasSubstr("sicher_tls_handshakes_total{protocol=\"TLSv1.2\"} 1"));
  EXPECT_THAT(m, HasSubstr("sicher_tls_handshakes_total{protocol=\"TLSv1.3\"} 1"));
  EXPECT_THAT(m, HasSubstr("sicher_tls_handshake_failures_total{reason=\"protocol_version\"} 2"));
  EXPECT_THAT(m, HasSubstr("sicher_tls_handshake_failures_total{reason=\"no_shared_cipher\"} 1"));
}

TEST_F(ServerTest, ModernProfileRefusesTls12) {
  ServerOptions o = Options();
  o.tls_profile = "modern";
  Start(o);
  TlsClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_TRUE(Refused(tls12));
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Protocol(), "TLSv1.3");
}

TEST_F(ServerTest, OldProfileAcceptsTls10) {
  WriteCert(7, /*rsa=*/true);  // the old profile's certificate type
  ServerOptions o = Options();
  o.tls_profile = "old";
  Start(o);
  TlsClientOptions tls10;
  tls10.min_version = tls10.max_version = TLS1_VERSION;
  tls10.security_level_0 = true;
  tls10.cipher_list = "ECDHE-RSA-AES128-SHA:@SECLEVEL=0";
  auto c = Connect(tls10);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Protocol(), "TLSv1");
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/hello"));
  EXPECT_EQ(r.status, 200);
}

TEST_F(ServerTest, AlpnSelectsOnlyHttp11) {
  Start(Options());
  TlsClientOptions both;
  both.alpn = {"h2", "http/1.1"};
  auto c = Connect(both);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Alpn(), "http/1.1");
  TlsClientOptions h2;
  h2.alpn = {"h2"};
  EXPECT_TRUE(Refused(h2));  // RFC 7301: no_application_protocol
  auto plain = Connect();    // no ALPN at all is fine
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->Alpn(), "");
}

TEST_F(ServerTest, ReportsTlsProfileGaps) {
  Start(Options());
  if (OPENSSL_VERSION_NUMBER < 0x30500000L) {
    EXPECT_THAT(server_->TlsProfileGaps(), Contains("group:X25519MLKEM768"));
    EXPECT_THAT(Metrics(), HasSubstr("sicher_tls_profile_gap{profile=\"intermediate\",item="
                                     "\"group:X25519MLKEM768\"} 1"));
  }
  EXPECT_EQ(server_->tls_profile().name, "intermediate");
}

TEST_F(ServerTest, SessionResumption) {
  Start(Options());
  auto first = Connect();
  ASSERT_TRUE(first);
  ASSERT_OK(first->Get("/hello").status());  // TLS 1.3 tickets arrive after the handshake
  SSL_SESSION* session = first->Session();
  ASSERT_NE(session, nullptr);
  TlsClientOptions resume;
  resume.resume = session;
  auto second = Connect(resume);
  SSL_SESSION_free(session);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->SessionReused());
}

TEST_F(ServerTest, CertificateReloadKeepsExistingConnections) {
  Start(Options());
  auto old_conn = Connect();
  ASSERT_TRUE(old_conn);
  EXPECT_EQ(old_conn->PeerSerialHex(), "01");
  EXPECT_EQ(server_->CertificateSerial(), "01");

  WriteCert(2);
  ASSERT_OK(server_->ReloadCertificates());
  EXPECT_EQ(server_->CertificateSerial(), "02");
  auto new_conn = Connect();
  ASSERT_TRUE(new_conn);
  EXPECT_EQ(new_conn->PeerSerialHex(), "02");
  // The connection made before the reload still works.
  ASSERT_OK_AND_ASSIGN(HttpReply r, old_conn->Get("/hello"));
  EXPECT_EQ(r.status, 200);

  // A broken replacement keeps the current certificate.
  testing::WriteFile(cert_path_, "not a certificate");
  EXPECT_FALSE(server_->ReloadCertificates().ok());
  EXPECT_EQ(server_->CertificateSerial(), "02");
  auto still = Connect();
  ASSERT_TRUE(still);
  EXPECT_EQ(still->PeerSerialHex(), "02");
}

TEST_F(ServerTest, CertificateReloadOnFileChange) {
  ServerOptions o = Options();
  o.cert_check_interval = std::chrono::milliseconds(50);
  Start(o);
  EXPECT_EQ(server_->CertificateSerial(), "01");
  WriteCert(3);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (server_->CertificateSerial() != "03" && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->CertificateSerial(), "03");
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequest) {
  Start(Options());
  auto busy = Connect();
  auto idle = Connect();
  ASSERT_TRUE(busy && idle);
  const std::string address = server_->PublicAddress();
  ASSERT_OK(busy->Write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the handler is running
  const auto start = Clock::now();
  server_->Shutdown();
  EXPECT_TRUE(idle->WaitClosed(1000));  // idle keep-alive connections close at once
  ASSERT_OK_AND_ASSIGN(HttpReply r, busy->Read());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow");
  EXPECT_EQ(r.Header("connection"), "close");
  server_->Wait();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_FALSE(TlsClient::Connect(address).ok());  // no longer accepting
}

TEST_F(ServerTest, ShutdownGraceBoundsAStuckRequest) {
  ServerOptions o = Options();
  o.shutdown_grace = std::chrono::milliseconds(300);
  Start(o);
  auto c = Connect();
  ASSERT_OK(c->Write("GET /gate HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (handler_.entered.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto start = Clock::now();
  server_->Shutdown();
  EXPECT_TRUE(c->WaitClosed(1500));  // closed when the grace period is over
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1200));
  handler_.OpenGate();  // let the worker finish so Wait can join it
  server_->Wait();
}

TEST_F(ServerTest, ConnectionCap) {
  ServerOptions o = Options();
  o.max_connections = 2;
  Start(o);
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(TlsClient::Connect(server_->PublicAddress()).ok());
  EXPECT_THAT(Metrics(), HasSubstr("sicher_connections_rejected_total 1"));
  EXPECT_THAT(Metrics(), HasSubstr("sicher_connections_active 2"));
  a.reset();
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  while (server_->ActiveConnections() > 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto c = Connect();  // room again
  ASSERT_TRUE(c);
  ASSERT_OK(c->Get("/hello").status());
}

TEST_F(ServerTest, FullWorkerQueueAnswers503) {
  ServerOptions o = Options();
  o.worker_threads = 1;
  o.worker_queue_limit = 1;
  Start(o);
  auto running = Connect();
  auto queued = Connect();
  auto refused = Connect();
  ASSERT_TRUE(running && queued && refused);
  ASSERT_OK(running->Write("GET /gate HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (handler_.entered.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_OK(queued->Write("GET /gate HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // it reaches the queue
  ASSERT_OK_AND_ASSIGN(HttpReply r, refused->Get("/gate"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_THAT(r.body, HasSubstr("https://sicher.dev/problems/overloaded"));
  ExpectSecurityHeaders(r);
  // The connection survives a 503 (the request was fine; the server was busy).
  ASSERT_OK_AND_ASSIGN(HttpReply again, refused->Get("/hello"));
  EXPECT_EQ(again.status, 200);
  handler_.OpenGate();
  ASSERT_OK_AND_ASSIGN(HttpReply a, running->Read());
  ASSERT_OK_AND_ASSIGN(HttpReply b, queued->Read());
  EXPECT_EQ(a.body, "gate");
  EXPECT_EQ(b.body, "gate");
}

TEST_F(ServerTest, RedirectListener) {
  ServerOptions o = Options();
  o.redirect_listen = "127.0.0.1:0";
  Start(o);
  const std::string port = server_->PublicAddress().substr(server_->PublicAddress().rfind(':') + 1);
  {
    ASSERT_OK_AND_ASSIGN(auto c, TcpClient::Connect(server_->RedirectAddress()));
    ASSERT_OK(c->Write("GET /x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"));
    ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.Header("location"), "https://example.com:" + port + "/x?y=1");
    ExpectSecurityHeaders(r);
    EXPECT_TRUE(c->WaitClosed());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto c, TcpClient::Connect(server_->RedirectAddress()));
    ASSERT_OK(c->Write("GET /a HTTP/1.1\r\nHost: evil.com/x\r\n\r\n"));
    ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
    EXPECT_EQ(r.Header("location"), "https://sicher.test:" + port + "/a");
  }
}

TEST_F(ServerTest, OperatorListenerIsSeparate) {
  Start(Options());
  ASSERT_NE(server_->OperatorAddress(), server_->PublicAddress());
  auto c = TlsClient::Connect(server_->OperatorAddress());
  ASSERT_OK(c.status());
  ASSERT_OK_AND_ASSIGN(HttpReply r, (*c)->Get("/hello"));
  EXPECT_EQ(r.status, 200);
  const std::string count =
      "sicher_http_request_duration_seconds_count{listener=\"operator\",route=\"/hello\"} 1";
  EXPECT_THAT(MetricsWith(count), HasSubstr(count));
  EXPECT_THAT(Metrics(), HasSubstr("sicher_http_requests_total{listener=\"operator\",route="
                                   "\"/hello\",method=\"GET\",status=\"200\"} 1"));
}

TEST_F(ServerTest, ClientIpFromTrustedProxyOnly) {
  {
    Start(Options());
    auto c = Connect();
    ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/ip", "X-Forwarded-For: 203.0.113.7\r\n"));
    EXPECT_EQ(r.body, "127.0.0.1");
  }
  server_.reset();
  ServerOptions o = Options();
  o.trusted_proxies = {"127.0.0.0/8"};
  Start(o);
  auto c = Connect();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/ip", "X-Forwarded-For: 203.0.113.7\r\n"));
  EXPECT_EQ(r.body, "203.0.113.7");
}

TEST_F(ServerTest, StartFailsCleanly) {
  ServerOptions bad_cert = Options();
  testing::WriteFile(dir_ + "/garbage.pem", "garbage");
  bad_cert.cert_file = dir_ + "/garbage.pem";
  Server a(bad_cert, handler_, registry_, Env::Default());
  EXPECT_EQ(a.Start().code(), StatusCode::kInvalidArgument);

  ServerOptions missing = Options();
  missing.key_file = dir_ + "/missing.pem";
  Server b(missing, handler_, registry_, Env::Default());
  EXPECT_FALSE(b.Start().ok());

  ServerOptions profile = Options();
  profile.tls_profile = "bogus";
  Server d(profile, handler_, registry_, Env::Default());
  EXPECT_EQ(d.Start().code(), StatusCode::kNotFound);

  Start(Options());
  ServerOptions taken = Options();
  taken.public_listen = server_->PublicAddress();
  Server e(taken, handler_, registry_, Env::Default());
  EXPECT_EQ(e.Start().code(), StatusCode::kUnavailable);

  ServerOptions bad_listen = Options();
  bad_listen.public_listen = "nonsense";
  Server f(bad_listen, handler_, registry_, Env::Default());
  EXPECT_EQ(f.Start().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Streaming request bodies and responses.

std::string Sha256Hex(std::string_view data) {
  unsigned char d[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
  std::string out;
  for (int i = 0; i < 32; ++i) out += fmt::format("{:02x}", d[i]);
  return out;
}

std::string Pattern(size_t n, uint32_t seed) {
  std::string d(n, '\0');
  for (char& ch : d) {
    seed = seed * 1664525 + 1013904223;
    ch = static_cast<char>(seed >> 24);
  }
  return d;
}

TEST_F(ServerTest, StreamedUploadWithContentLength) {
  Start(Options());
  auto c = Connect();
  ASSERT_TRUE(c);
  const std::string body = Pattern(5 << 20, 7);
  ASSERT_OK(c->Write(fmt::format(
      "POST /stream/upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.size())));
  ASSERT_OK(c->Write(body));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, fmt::format("{} {}", body.size(), Sha256Hex(body)));
  EXPECT_EQ(r.Header("connection"), "");
  EXPECT_EQ(handler_.declared_length.load(), body.size());
  ExpectSecurityHeaders(r);
  // The body was consumed exactly: the connection carries the next request.
  ASSERT_OK_AND_ASSIGN(HttpReply next, c->Get("/hello"));
  EXPECT_EQ(next.body, "hello");
}

TEST_F(ServerTest, StreamedUploadChunkedAndExpectContinue) {
  Start(Options());
  auto c = Connect();
  ASSERT_TRUE(c);
  const std::string body = Pattern(300 * 1024 + 17, 9);
  std::string wire =
      "POST /stream/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  size_t sizes[] = {1, 1000, 70000, 5, 65536};
  size_t off = 0;
  for (size_t i = 0; off < body.size(); ++i) {
    const size_t n = std::min(sizes[i % 5], body.size() - off);
    wire += fmt::format("{:x}\r\n", n) + body.substr(off, n) + "\r\n";
    off += n;
  }
  wire += "0\r\n\r\n";
  ASSERT_OK(c->Write(wire));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, fmt::format("{} {}", body.size(), Sha256Hex(body)));
  EXPECT_EQ(r.Header("connection"), "");

  // 100-continue is sent when the handler starts reading.
  ASSERT_OK(
      c->Write("POST /stream/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: "
               "100-continue\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply cont, c->Read());
  EXPECT_EQ(cont.status, 100);
  ASSERT_OK(c->Write("abc"));
  ASSERT_OK_AND_ASSIGN(HttpReply small, c->Read());
  EXPECT_EQ(small.body, "3 " + Sha256Hex("abc"));
}

TEST_F(ServerTest, StreamedBodyOverLimitWithContentLengthIs413BeforeHandler) {
  Start(Options());
  auto c = Connect();
  const auto start = Clock::now();
  ASSERT_OK(c->Write("POST /stream/small HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("request-body-too-large"));
  EXPECT_FALSE(handler_.WaitReadResult(std::chrono::milliseconds(50)).has_value());
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, StreamedChunkedBodyOverLimitFailsTheReadAndCloses) {
  Start(Options());
  auto c = Connect();
  const std::string chunk(600, 'x');
  ASSERT_OK(
      c->Write("POST /stream/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               fmt::format("{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n", chunk.size(), chunk,
                           chunk.size(), chunk)));
  auto result = handler_.WaitReadResult(std::chrono::seconds(1));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), StatusCode::kResourceExhausted) << result->ToString();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, StreamedBodyReadPartlyClosesTheConnection) {
  Start(Options());
  auto c = Connect();
  const std::string body = Pattern(100 * 1024, 3);
  ASSERT_OK(c->Write(fmt::format(
      "POST /stream/partial HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.size())));
  ASSERT_OK(c->Write(body));
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Read());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "10 " + Sha256Hex(std::string_view(body).substr(0, 10)));
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, StreamedBodyTooSlowFailsTheRead) {
  Start(Options());  // read_timeout 500 ms: 1000 declared bytes must arrive within it
  auto c = Connect();
  const auto start = Clock::now();
  ASSERT_OK(c->Write("POST /stream/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  std::optional<Status> result;
  while (!result && Clock::now() - start < std::chrono::seconds(2)) {
    (void)c->Write("y");  // a byte every 50 ms: progress, but far too slow
    result = handler_.WaitReadResult(std::chrono::milliseconds(50));
  }
  const auto elapsed = Clock::now() - start;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), StatusCode::kDeadlineExceeded) << result->ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(450));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
  EXPECT_TRUE(c->WaitClosed());
}

TEST_F(ServerTest, StreamedResponse) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/download/big"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), std::to_string(TestHandler::kDownloadBytes));
  EXPECT_EQ(r.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(r.Header("connection"), "");
  ASSERT_EQ(r.body.size(), TestHandler::kDownloadBytes);
  EXPECT_TRUE(r.body == TestHandler::DownloadData());
  ExpectSecurityHeaders(r);
  EXPECT_TRUE(WaitFor([&] { return observed_.load() == 1; }));
  EXPECT_EQ(last_status_.load(), 200);
  EXPECT_EQ(last_bytes_sent_.load(), TestHandler::kDownloadBytes);
  const std::string count =
      "sicher_http_requests_total{listener=\"public\",route=\"/download/{kind}\",method=\"GET\","
      "status=\"200\"} 1";
  EXPECT_THAT(MetricsWith(count), HasSubstr(count));

  // HEAD: the same head, no body; the connection stays usable.
  ASSERT_OK(c->Write("HEAD /download/big HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(HttpReply head, c->Read(/*head_request=*/true));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(TestHandler::kDownloadBytes));
  EXPECT_TRUE(head.body.empty());
  ExpectSecurityHeaders(head);
  ASSERT_OK_AND_ASSIGN(HttpReply next, c->Get("/hello"));
  EXPECT_EQ(next.body, "hello");
  EXPECT_TRUE(WaitFor([&] { return observed_.load() == 3; }));
}

TEST_F(ServerTest, StreamedResponseFallback) {
  Start(Options());
  auto c = Connect();
  ASSERT_OK_AND_ASSIGN(HttpReply r, c->Get("/download/fallback"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "conflict");
  ExpectSecurityHeaders(r);
  const std::string count =
      "sicher_http_requests_total{listener=\"public\",route=\"/download/{kind}\",method=\"GET\","
      "status=\"409\"} 1";
  EXPECT_THAT(MetricsWith(count), HasSubstr(count));
  ASSERT_OK_AND_ASSIGN(HttpReply next, c->Get("/hello"));
  EXPECT_EQ(next.body, "hello");
}

TEST_F(ServerTest, StreamedResponseCutShortClosesTheConnection) {
  Start(Options());
  for (const char* kind : {"short", "throw"}) {
    auto c = Connect();
    const auto start = Clock::now();
    ASSERT_OK(c->Write(fmt::format("GET /download/{} HTTP/1.1\r\nHost: x\r\n\r\n", kind)));
    auto r = c->Read();  // 1 MiB announced, 100 KiB sent, then the end of the connection
    EXPECT_FALSE(r.ok()) << kind;
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000)) << kind;
    EXPECT_TRUE(WaitFor([&] { return last_bytes_sent_.load() == 100 * 1024; })) << kind;
    last_bytes_sent_ = 0;
  }
}

}  // namespace
}  // namespace sicher::net
