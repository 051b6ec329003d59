// tls_handshake_client: measures full (never resumed) TLS handshakes per second.
//
// Each of N threads loops for D seconds: TCP connect, full TLS handshake, one
// "GET PATH HTTP/1.1" with "Connection: close", read the response to EOF, close. The
// client never stores or offers a session (no session cache, SSL_OP_NO_TICKET, no
// SSL_set_session), and every connection is checked with SSL_session_reused() == 0, so the
// number is full handshakes even if the server would resume. wrk with
// "Connection: close" silently resumes sessions, which is why this exists.
//
// The server certificate is not verified: verification is client CPU, the same for any
// server, and the benchmark is about server cost.
//
// Output (stdout, key=value per line) is read by bench/lib.sh:
//   handshakes_per_sec=2410.3  ok=12052  failed=0  reused=0  protocol=TLSv1.3 ...
// Exit status 1 when any handshake failed, was resumed, or the answer was not HTTP 200.
//
// Deliberately outside src/: a standalone load generator that links OpenSSL directly.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/livez";
  std::string sni = "localhost";
  int threads = 4;
  double duration_s = 5.0;
  std::string tls = "any";  // any | 1.2 | 1.3
  std::string ciphers;      // TLS <= 1.2 list
  std::string groups;       // e.g. X25519
};

struct Counters {
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  std::atomic<long> reused{0};
  std::atomic<long> bad_status{0};
  std::mutex mu;
  std::string protocol;
  std::string cipher;
  std::string group;
  std::string first_error;
};

void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --port P [--host 127.0.0.1] [--path /livez] [--sni localhost]\n"
               "          [--threads 4] [--duration 5] [--tls any|1.2|1.3]\n"
               "          [--ciphers LIST] [--groups LIST]\n",
               argv0);
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        Usage(argv[0]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = std::atoi(next());
    else if (a == "--path")
      o.path = next();
    else if (a == "--sni")
      o.sni = next();
    else if (a == "--threads")
      o.threads = std::atoi(next());
    else if (a == "--duration")
      o.duration_s = std::atof(next());
    else if (a == "--tls")
      o.tls = next();
    else if (a == "--ciphers")
      o.ciphers = next();
    else if (a == "--groups")
      o.groups = next();
    else if (a == "--help" || a == "-h") {
      Usage(argv[0]);
      std::exit(0);
    } else {
      Usage(argv[0]);
      return false;
    }
  }
  return o.port > 0 && o.threads > 0 && o.duration_s > 0;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

SSL_CTX* MakeContext(const Options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (o.tls == "1.2") {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  } else if (o.tls == "1.3") {
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1) {
    std::fprintf(stderr, "bad --ciphers: %s\n", OpenSslError().c_str());
    return nullptr;
  }
  if (!o.groups.empty() && SSL_CTX_set1_groups_list(ctx, o.groups.c_str()) != 1) {
    std::fprintf(stderr, "bad --groups: %s\n", OpenSslError().c_str());
    return nullptr;
  }
  return ctx;
}

int Connect(const sockaddr_storage& addr, socklen_t len) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The server closes first (Connection: close), so TIME_WAIT stays on its side and the
  // client does not run out of ephemeral ports.
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Fail(Counters& c, const std::string& why) {
  c.failed.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.first_error.empty()) c.first_error = why;
}

// One connection; the outcome goes to the counters. record: keep what was negotiated.
void OneConnection(SSL_CTX* ctx, const Options& o, const sockaddr_storage& addr, socklen_t len,
                   const std::string& request, Counters& c, bool record) {
  int fd = Connect(addr, len);
  if (fd < 0) {
    Fail(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, o.sni.c_str());
  if (SSL_connect(ssl) != 1) {
    Fail(c, "handshake: " + OpenSslError());
    SSL_free(ssl);
    ::close(fd);
    return;
  }
  if (SSL_session_reused(ssl) != 0) c.reused.fetch_add(1, std::memory_order_relaxed);
  if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    Fail(c, "write: " + OpenSslError());
    SSL_free(ssl);
    ::close(fd);
    return;
  }
  std::string response;
  char buf[4096];
  for (;;) {
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) break;  // close_notify, EOF or reset: the answer is judged below
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > (1u << 20)) break;
  }
  if (response.rfind("HTTP/1.1 200", 0) != 0) {
    c.bad_status.fetch_add(1, std::memory_order_relaxed);
    Fail(c, "answer: " + response.substr(0, response.find('\r')));
  } else {
    c.ok.fetch_add(1, std::memory_order_relaxed);
  }
  if (record) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.protocol = SSL_get_version(ssl);
    c.cipher = SSL_get_cipher_name(ssl);
    int nid = SSL_get_negotiated_group(ssl);
    const char* g = nid != 0 ? OBJ_nid2sn(nid) : nullptr;
    c.group = g != nullptr ? g : "?";
  }
  SSL_shutdown(ssl);  // send our close_notify; do not wait for the peer's
  SSL_free(ssl);
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    Usage(argv[0]);
    return 2;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  if (getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    std::fprintf(stderr, "cannot resolve %s\n", o.host.c_str());
    return 2;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  socklen_t len = res->ai_addrlen;
  freeaddrinfo(res);

  SSL_CTX* ctx = MakeContext(o);
  if (ctx == nullptr) return 2;
  const std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.sni +
                              "\r\nUser-Agent: tls_handshake_client\r\nConnection: close\r\n\r\n";

  Counters c;
  // Warm-up connection (also records what was negotiated); not counted.
  OneConnection(ctx, o, addr, len, request, c, true);
  if (c.failed.load() != 0) {
    std::fprintf(stderr, "first connection failed: %s\n", c.first_error.c_str());
    return 1;
  }
  c.ok = 0;

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration_s));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&] {
      while (Clock::now() < deadline) OneConnection(ctx, o, addr, len, request, c, false);
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  SSL_CTX_free(ctx);

  const long ok = c.ok.load();
  std::printf("handshakes_per_sec=%.1f\n", static_cast<double>(ok) / elapsed);
  std::printf("ok=%ld\nfailed=%ld\nreused=%ld\nbad_status=%ld\nseconds=%.2f\nthreads=%d\n", ok,
              c.failed.load(), c.reused.load(), c.bad_status.load(), elapsed, o.threads);
  std::printf("protocol=%s\ncipher=%s\ngroup=%s\n", c.protocol.c_str(), c.cipher.c_str(),
              c.group.c_str());
  if (!c.first_error.empty()) std::printf("first_error=%s\n", c.first_error.c_str());
  return (c.failed.load() == 0 && c.reused.load() == 0) ? 0 : 1;
}
