#include "sicher/net/server.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cmath>
#include <iostream>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sicher/base/thread_pool.h"
#include "sicher/net/client_ip.h"
#include "sicher/net/internal/http_codec.h"
#include "sicher/net/internal/responses.h"
#include "sicher/net/internal/ticket_keys.h"
#include "sicher/net/internal/tls_context.h"
#include "sicher/net/internal/worker_bridge.h"

namespace sicher::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using internal::ReadFailure;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxBodyRead = 64 * 1024;  // Beast's read size for bodies (http::async_read)
constexpr uint64_t kMinBodyBytesPerSecond = 64 * 1024;
// Response bodies up to this size are copied behind the head and sent in one write.
constexpr size_t kCoalesceBodyBytes = 8 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr auto kTlsCloseTimeout = std::chrono::seconds(1);
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr size_t kLingerMaxBytes = 256 * 1024;

// How a connection ends.
enum class CloseMode {
  kPeerGone,  // the peer closed, reset or timed out: just close the socket
  kGraceful,  // we end a healthy connection: TLS close_notify, then close
  kLinger,    // we end after an error answer: close_notify, then drain what the client still
              // sends (its unread body) for a moment so the answer is not lost to a TCP reset
};

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

Result<ListenAddress> ParseListen(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError(
        fmt::format("listen address \"{}\" is not host:port", text.substr(0, 100)));
  };
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return bad();
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad();
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p > 65535) return bad();
  out.port = static_cast<uint16_t>(p);
  if (out.host.empty() || out.host == "*") out.host = "0.0.0.0";
  if (out.host == "localhost") out.host = "127.0.0.1";
  return out;
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6()) return fmt::format("[{}]:{}", addr.to_string(), ep.port());
  return fmt::format("{}:{}", addr.to_string(), ep.port());
}

std::string_view MethodLabel(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "OTHER";
}

std::string_view SeverityName(LogSeverity s) {
  switch (s) {
    case LogSeverity::kInfo:
      return "info";
    case LogSeverity::kWarning:
      return "warning";
    case LogSeverity::kError:
      return "error";
  }
  return "info";
}

// Modification time and size of the certificate and key files, to notice a replacement.
struct FileStamp {
  Time cert_modified{};
  uint64_t cert_size = 0;
  Time key_modified{};
  uint64_t key_size = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler& handler, metrics::Registry& metrics, Env& env,
       RequestObserver observer)
      : options_(std::move(options)),
        handler_(handler),
        metrics_(metrics),
        env_(env),
        observer_(std::move(observer)) {
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    if (options_.io_threads == 0) options_.io_threads = cores;
    if (options_.worker_threads == 0) options_.worker_threads = 4 * cores;
    if (!options_.log) {
      options_.log = [](LogSeverity s, std::string_view m) {
        std::cerr << "sicher net " << SeverityName(s) << ": " << m << "\n";
      };
    }
    connections_active_ =
        &metrics_.GetGauge("sicher_connections_active", "Open client connections, all listeners.");
    connections_rejected_ =
        &metrics_.GetCounter("sicher_connections_rejected_total",
                             "Connections closed at accept because max_connections was reached.");
  }

  ~Impl() {
    if (started_) {
      Shutdown();
      Wait();
    }
    // I/O objects hold executors into the io_context: they go first. Then the io_context,
    // which destroys pending handlers (and the coroutine frames they own) while everything
    // those reference is still alive.
    cert_timer_.reset();
    acceptors_.clear();
    work_.reset();
    ioc_.reset();
  }

  Status Start();
  Status ReloadCertificates();
  void Shutdown();
  void Wait();

  std::string public_address_, operator_address_, redirect_address_;
  TlsProfile profile_;

  std::string CertificateSerial() const {
    std::lock_guard lock(tls_mu_);
    return cert_info_.serial_hex;
  }
  size_t ActiveConnections() const { return active_.load(); }

 private:
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(Impl& s, Listener l) : server(s), listener(l) {}
    ~Connection() { server.Unregister(this); }
    beast::tcp_stream& Tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    // Both run on the connection's strand.
    void CloseIfIdle() {
      if (idle) Tcp().cancel();
    }
    void ForceClose() { Tcp().close(); }

    Impl& server;
    const Listener listener;
    asio::any_io_executor executor;
    std::shared_ptr<ssl::context> tls_context;  // keeps the context of this handshake alive
    std::optional<TlsStream> tls;
    std::optional<beast::tcp_stream> plain;
    std::string peer_ip;
    bool peer_trusted = false;
    std::string tls_protocol;
    bool idle = true;         // waiting for a handshake or the next request (strand only)
    std::string head_buffer;  // the response head being written, reused across requests
    // Random bytes for request ids, drawn from Env.random 16 ids at a time.
    std::array<uint8_t, 256> id_pool{};
    size_t id_pool_used = sizeof(id_pool);
  };

  // I/O.
  asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor, Listener listener);
  asio::awaitable<void> RunTls(std::shared_ptr<Connection> c);
  asio::awaitable<void> RunPlain(std::shared_ptr<Connection> c);
  template <class Stream>
  asio::awaitable<CloseMode> ServeRequests(Connection& c, Stream& stream);
  // Reads until `parser` has a whole head (parsing what `buffer` already holds first), under
  // max_header_bytes for the whole head. kNone when the head is done, else why it is not.
  template <class Stream>
  asio::awaitable<ReadFailure> ReadHead(Stream& stream, beast::flat_buffer& buffer,
                                        internal::RequestParser& parser);
  template <class Stream>
  asio::awaitable<bool> WriteResponse(Connection& c, Stream& stream, const Request& request,
                                      Response& response, bool keep_alive);
  asio::awaitable<std::optional<Response>> RunOnWorker(Request& request);
  // Streaming (internal::WorkerBridge): runs the handler of a stream_body route (`head` is its
  // parsed head, the body still unread) and/or the stream of `response` on the worker pool,
  // serving the worker's body reads and response writes. nullopt: the connection may carry the
  // next request; otherwise how it ends.
  template <class Stream>
  asio::awaitable<std::optional<CloseMode>> ServeStreamed(Connection& c, Stream& stream,
                                                          beast::flat_buffer& buffer,
                                                          internal::RequestParser* head,
                                                          Request& request, Response& response,
                                                          bool keep_alive);
  asio::awaitable<void> WatchCertificates();
  asio::awaitable<void> DrainAndStop();

  Response SafeHandle(Request& request);
  Response SafeStream(const StreamFn& stream, internal::WorkerBridge& bridge);
  Request NewRequest(Connection& c);
  void Register(const std::shared_ptr<Connection>& c);
  void Unregister(Connection* c);
  template <class Fn>
  void ForEachConnection(Fn fn);
  Result<tcp::acceptor> Bind(std::string_view listen, std::string* bound);
  Result<FileStamp> StatFiles();
  void Log(LogSeverity s, std::string_view m) { options_.log(s, m); }

  // Metrics.
  void RecordRequest(Listener listener, const Response& response, std::string_view method,
                     Duration elapsed);
  void RecordHandshake(const boost::system::error_code& ec, std::string_view protocol);
  // The request counter and duration histogram of one listener, route, method and status.
  struct RequestSeries {
    metrics::Counter* requests = nullptr;
    metrics::Histogram* duration = nullptr;
  };
  RequestSeries SeriesFor(Listener l, std::string_view route, std::string_view method, int status);

  ServerOptions options_;
  Handler& handler_;
  metrics::Registry& metrics_;
  Env& env_;
  RequestObserver observer_;

  std::string hsts_;
  TrustedProxies trusted_;
  std::string redirect_host_;
  uint16_t public_port_ = 0;

  // TLS state: the context new handshakes use, and what it was built from.
  std::unique_ptr<internal::TicketKeyRing> tickets_;
  std::mutex reload_mu_;  // one reload at a time
  mutable std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_context_;
  internal::CertificateInfo cert_info_;
  FileStamp file_stamp_;

  // Metrics cache: series looked up once, then found under a shared lock.
  std::shared_mutex metrics_mu_;
  std::unordered_map<std::string, RequestSeries> request_series_;
  std::unordered_map<std::string, metrics::Counter*> handshake_counters_;
  metrics::Gauge* connections_active_ = nullptr;
  metrics::Counter* connections_rejected_ = nullptr;
  metrics::Counter* reloads_ok_ = nullptr;
  metrics::Counter* reloads_failed_ = nullptr;
  metrics::Gauge* cert_expiry_ = nullptr;

  // Connections.
  std::atomic<size_t> active_{0};
  std::mutex conns_mu_;
  std::unordered_set<Connection*> conns_;

  // Lifecycle. ioc_ is declared after everything a connection touches, and reset first.
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> io_stopped_{false};  // the I/O threads are stopping for good
  std::unique_ptr<ThreadPool> pool_;
  std::optional<asio::io_context> ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::optional<asio::steady_timer> cert_timer_;
  std::vector<std::thread> threads_;
  std::once_flag join_once_;
};

// ---------------------------------------------------------------------------------------------
// Start-up and certificates.

Result<tcp::acceptor> Server::Impl::Bind(std::string_view listen, std::string* bound) {
  ASSIGN_OR_RETURN(ListenAddress addr, ParseListen(listen));
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(addr.host, ec);
  if (ec) {
    return InvalidArgumentError(
        fmt::format("listen address \"{}\": host must be an IP address", listen.substr(0, 100)));
  }
  tcp::acceptor acceptor(asio::make_strand(*ioc_));
  const tcp::endpoint endpoint(ip, addr.port);
  const auto fail = [&](std::string_view what) {
    return UnavailableError(fmt::format("{} {}: {}", what, FormatEndpoint(endpoint), ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec)) return fail("setsockopt");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");
  *bound = FormatEndpoint(local);
  return acceptor;
}

Result<FileStamp> Server::Impl::StatFiles() {
  ASSIGN_OR_RETURN(FileInfo cert, env_.fs.Stat(options_.cert_file));
  ASSIGN_OR_RETURN(FileInfo key, env_.fs.Stat(options_.key_file));
  return FileStamp{cert.modified, cert.size, key.modified, key.size};
}

Status Server::Impl::ReloadCertificates() {
  if (!started_.load() || !tickets_) return FailedPreconditionError("server not started");
  std::lock_guard reload_lock(reload_mu_);
  const auto attempt = [&]() -> Status {
    ASSIGN_OR_RETURN(FileStamp stamp, StatFiles());
    ASSIGN_OR_RETURN(std::string cert_pem, env_.fs.ReadFile(options_.cert_file));
    SecretBytes key_pem;
    {
      auto key = env_.fs.ReadFile(options_.key_file);
      if (!key.ok()) return key.status();
      key_pem = SecretBytes(*key);
      SecureWipe(key->data(), key->size());
    }
    internal::CertificateInfo info;
    auto ctx = internal::BuildServerContext(profile_, cert_pem, key_pem, *tickets_, &info);
    if (!ctx.ok()) {
      return ctx.status().WithContext(
          fmt::format("certificate {} / key {}", options_.cert_file, options_.key_file));
    }
    const auto lifetime =
        std::chrono::duration_cast<std::chrono::hours>(info.not_after - info.not_before);
    if (lifetime > std::chrono::hours(24) * profile_.maximum_certificate_lifespan_days) {
      Log(LogSeverity::kWarning,
          fmt::format("certificate lifetime {} days exceeds the {} profile's maximum of {} days",
                      lifetime.count() / 24, profile_.name,
                      profile_.maximum_certificate_lifespan_days));
    }
    if (std::find(profile_.certificate_types.begin(), profile_.certificate_types.end(),
                  info.key_type) == profile_.certificate_types.end()) {
      Log(LogSeverity::kWarning,
          fmt::format("certificate key type {} is not one the {} profile names", info.key_type,
                      profile_.name));
    }
    {
      std::lock_guard lock(tls_mu_);
      tls_context_ = std::move(ctx).value();
      cert_info_ = info;
      file_stamp_ = stamp;
    }
    cert_expiry_->Set(UnixSeconds(info.not_after));
    return OkStatus();
  };
  Status s = attempt();
  if (s.ok()) {
    reloads_ok_->Inc();
    Log(LogSeverity::kInfo, fmt::format("certificate loaded, serial {}", CertificateSerial()));
  } else {
    reloads_failed_->Inc();
    Log(LogSeverity::kError,
        fmt::format("certificate not (re)loaded, keeping the current one: {}", s.ToString()));
  }
  return s;
}

Status Server::Impl::Start() {
  if (started_.exchange(true)) return FailedPreconditionError("Server::Start called twice");
  const auto fail = [&](Status s) {
    started_ = false;
    acceptors_.clear();
    ioc_.reset();
    return s;
  };
  if (options_.public_listen.empty()) return fail(InvalidArgumentError("public_listen is empty"));
  if (options_.cert_file.empty() || options_.key_file.empty()) {
    return fail(InvalidArgumentError("cert_file and key_file are required"));
  }
  if (options_.max_header_bytes < 1024) {
    return fail(InvalidArgumentError("max_header_bytes must be at least 1024"));
  }
  if (options_.max_connections == 0) return fail(InvalidArgumentError("max_connections is 0"));
  if (options_.read_timeout.count() <= 0 || options_.idle_timeout.count() <= 0 ||
      options_.handshake_timeout.count() <= 0 || options_.ticket_key_rotation.count() <= 0) {
    return fail(InvalidArgumentError("timeouts must be positive"));
  }

  auto profile = LoadTlsProfile(options_.tls_profile);
  if (!profile.ok()) return fail(profile.status());
  profile_ = std::move(profile).value();
  hsts_ = profile_.HstsHeaderValue();
  for (const auto& gap : profile_.unsupported) {
    Log(LogSeverity::kWarning, fmt::format("TLS profile {} (Mozilla guideline {}): cannot offer {}",
                                           profile_.name, profile_.guideline_version, gap));
    metrics_
        .GetGauge("sicher_tls_profile_gap",
                  "1 for each item of the TLS profile that this build cannot offer.",
                  {{"profile", profile_.name}, {"item", gap}})
        .Set(1);
  }
  auto trusted = TrustedProxies::Parse(options_.trusted_proxies);
  if (!trusted.ok()) return fail(trusted.status().WithContext("trusted_proxies"));
  trusted_ = std::move(trusted).value();

  reloads_ok_ = &metrics_.GetCounter("sicher_tls_certificate_reloads_total",
                                     "Certificate loads and reloads.", {{"outcome", "success"}});
  reloads_failed_ =
      &metrics_.GetCounter("sicher_tls_certificate_reloads_total", "Certificate loads and reloads.",
                           {{"outcome", "failure"}});
  cert_expiry_ = &metrics_.GetGauge("sicher_tls_certificate_expiry_timestamp_seconds",
                                    "notAfter of the certificate new handshakes get.");
  // Previous ticket keys decrypt for about a day (the session lifetime).
  const auto day = std::chrono::duration_cast<Duration>(std::chrono::hours(24));
  const size_t keep = std::clamp<size_t>(
      static_cast<size_t>(std::ceil(static_cast<double>(day.count()) /
                                    static_cast<double>(options_.ticket_key_rotation.count()))),
      1, 16);
  tickets_ = std::make_unique<internal::TicketKeyRing>(env_.clock, env_.random,
                                                       options_.ticket_key_rotation, keep);
  if (Status s = ReloadCertificates(); !s.ok()) return fail(s);

  ioc_.emplace(static_cast<int>(options_.io_threads));
  auto bind = [&](std::string_view listen, Listener l, std::string* bound) -> Status {
    ASSIGN_OR_RETURN(tcp::acceptor acceptor, Bind(listen, bound));
    acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(acceptor)));
    (void)l;
    return OkStatus();
  };
  std::vector<Listener> kinds;
  if (Status s = bind(options_.public_listen, Listener::kPublic, &public_address_); !s.ok()) {
    return fail(s);
  }
  kinds.push_back(Listener::kPublic);
  if (!options_.operator_listen.empty()) {
    if (Status s = bind(options_.operator_listen, Listener::kOperator, &operator_address_);
        !s.ok()) {
      return fail(s);
    }
    kinds.push_back(Listener::kOperator);
  }
  if (options_.redirect_listen && !options_.redirect_listen->empty()) {
    if (Status s = bind(*options_.redirect_listen, Listener::kRedirect, &redirect_address_);
        !s.ok()) {
      return fail(s);
    }
    kinds.push_back(Listener::kRedirect);
  }
  boost::system::error_code ec;
  public_port_ = acceptors_[0]->local_endpoint(ec).port();
  redirect_host_ = options_.public_host;
  if (redirect_host_.empty()) {
    auto addr = ParseListen(options_.public_listen);
    const auto ip = asio::ip::make_address(addr->host, ec);
    redirect_host_ = ec || ip.is_unspecified() ? "localhost"
                     : ip.is_v6()              ? fmt::format("[{}]", addr->host)
                                               : addr->host;
  }

  pool_ = std::make_unique<ThreadPool>(options_.worker_threads, options_.worker_queue_limit);
  work_.emplace(ioc_->get_executor());
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(acceptors_[i]->get_executor(), AcceptLoop(*acceptors_[i], kinds[i]),
                   asio::detached);
  }
  if (options_.cert_check_interval.count() > 0) {
    cert_timer_.emplace(asio::make_strand(*ioc_));
    asio::co_spawn(cert_timer_->get_executor(), WatchCertificates(), asio::detached);
  }
  for (size_t i = 0; i < options_.io_threads; ++i) {
    threads_.emplace_back([this] { ioc_->run(); });
  }
  Log(LogSeverity::kInfo,
      fmt::format("listening: public https://{}{}{}; TLS profile {} (Mozilla guideline {})",
                  public_address_,
                  operator_address_.empty() ? "" : ", operator https://" + operator_address_,
                  redirect_address_.empty() ? "" : ", redirect http://" + redirect_address_,
                  profile_.name, profile_.guideline_version));
  return OkStatus();
}

asio::awaitable<void> Server::Impl::WatchCertificates() {
  while (!stopping_.load()) {
    cert_timer_->expires_after(options_.cert_check_interval);
    auto [ec] = co_await cert_timer_->async_wait(kNoThrow);
    if (ec || stopping_.load()) co_return;
    auto stamp = StatFiles();
    if (!stamp.ok()) continue;  // a file is being replaced; look again next time
    bool changed;
    {
      std::lock_guard lock(tls_mu_);
      changed = !(*stamp == file_stamp_);
    }
    if (changed) {
      // Failures are logged and counted; the next change is tried again.
      (void)ReloadCertificates();
      std::lock_guard lock(tls_mu_);
      file_stamp_ = *stamp;  // do not retry the same broken files every interval
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shutdown.

template <class Fn>
void Server::Impl::ForEachConnection(Fn fn) {
  std::lock_guard lock(conns_mu_);
  for (Connection* c : conns_) {
    asio::post(c->executor, [weak = c->weak_from_this(), fn] {
      if (auto conn = weak.lock()) fn(*conn);
    });
  }
}

void Server::Impl::Shutdown() {
  if (!started_.load() || stopping_.exchange(true)) return;
  Log(LogSeverity::kInfo, "shutting down: no new connections, finishing requests in flight");
  for (auto& acceptor : acceptors_) {
    asio::post(acceptor->get_executor(), [a = acceptor.get()] {
      boost::system::error_code ignored;
      a->close(ignored);
    });
  }
  if (cert_timer_) asio::post(cert_timer_->get_executor(), [this] { cert_timer_->cancel(); });
  ForEachConnection([](Connection& c) { c.CloseIfIdle(); });
  asio::co_spawn(asio::make_strand(*ioc_), DrainAndStop(), asio::detached);
}

asio::awaitable<void> Server::Impl::DrainAndStop() {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
  while (active_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kNoThrow);
  }
  if (active_.load() > 0) {
    Log(LogSeverity::kWarning,
        fmt::format("shutdown grace over: closing {} connection(s)", active_.load()));
    ForEachConnection([](Connection& c) { c.ForceClose(); });
    const auto unwind = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (active_.load() > 0 && std::chrono::steady_clock::now() < unwind) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(kNoThrow);
    }
  }
  work_.reset();
  io_stopped_ = true;  // workers waiting for a connection (WorkerBridge) give up
  ioc_->stop();
}

void Server::Impl::Wait() {
  if (!started_.load()) return;
  std::call_once(join_once_, [this] {
    for (auto& t : threads_) t.join();
    // Finish handler calls still running; their completions land in the stopped io_context
    // and are destroyed with it.
    if (pool_) pool_->Shutdown();
    Log(LogSeverity::kInfo, "stopped");
  });
}

// ---------------------------------------------------------------------------------------------
// Connections.

void Server::Impl::Register(const std::shared_ptr<Connection>& c) {
  active_.fetch_add(1);
  connections_active_->Add(1);
  std::lock_guard lock(conns_mu_);
  conns_.insert(c.get());
}

void Server::Impl::Unregister(Connection* c) {
  {
    std::lock_guard lock(conns_mu_);
    conns_.erase(c);
  }
  connections_active_->Add(-1);
  active_.fetch_sub(1);
}

asio::awaitable<void> Server::Impl::AcceptLoop(tcp::acceptor& acceptor, Listener listener) {
  for (;;) {
    // Named, not a temporary inside the co_await: GCC 12 destroys some temporaries of a
    // co_await full-expression twice (found by ASan as a double release of the strand).
    const auto strand = asio::make_strand(*ioc_);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kNoThrow);
    if (stopping_.load() || ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      Log(LogSeverity::kWarning,
          fmt::format("accept on {}: {}", ListenerName(listener), ec.message()));
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    if (active_.load() >= options_.max_connections) {
      connections_rejected_->Inc();
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    auto c = std::make_shared<Connection>(*this, listener);
    c->executor = socket.get_executor();
    const auto peer = socket.remote_endpoint(opt_ec);
    if (auto ip = ParseIpAddress(opt_ec ? "" : peer.address().to_string())) {
      c->peer_ip = ip->ToString();
      c->peer_trusted = trusted_.Contains(*ip);
    }
    Register(c);
    if (listener == Listener::kRedirect) {
      c->plain.emplace(std::move(socket));
      const auto executor = c->executor;  // read before c is moved into the coroutine
      asio::co_spawn(executor, RunPlain(std::move(c)), asio::detached);
    } else {
      {
        std::lock_guard lock(tls_mu_);
        c->tls_context = tls_context_;
      }
      c->tls.emplace(std::move(socket), *c->tls_context);
      const auto executor = c->executor;
      asio::co_spawn(executor, RunTls(std::move(c)), asio::detached);
    }
  }
}

asio::awaitable<void> Server::Impl::RunTls(std::shared_ptr<Connection> c) {
  try {
    TlsStream& stream = *c->tls;
    beast::tcp_stream& tcp = c->Tcp();
    tcp.expires_after(options_.handshake_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (ec) {
      RecordHandshake(ec, {});
      co_return;
    }
    c->tls_protocol = SSL_get_version(stream.native_handle());
    RecordHandshake({}, c->tls_protocol);
    const CloseMode mode = co_await ServeRequests(*c, stream);
    if (mode != CloseMode::kPeerGone && tcp.socket().is_open()) {
      if (mode == CloseMode::kGraceful) {
        // Send close_notify without waiting for the client's (as nginx does): pretend it came.
        SSL_set_shutdown(stream.native_handle(), SSL_RECEIVED_SHUTDOWN);
      }
      // kLinger waits for the client's close_notify, which also discards a body it is still
      // sending, so that the error answer is not lost to a TCP reset.
      tcp.expires_after(mode == CloseMode::kLinger ? kLingerTimeout : kTlsCloseTimeout);
      co_await stream.async_shutdown(kNoThrow);
    }
  } catch (const std::exception& e) {
    Log(LogSeverity::kError, fmt::format("connection ended by an exception: {}", e.what()));
  }
}

asio::awaitable<void> Server::Impl::RunPlain(std::shared_ptr<Connection> c) {
  try {
    beast::tcp_stream& tcp = *c->plain;
    const CloseMode mode = co_await ServeRequests(*c, tcp);
    if (mode != CloseMode::kPeerGone && tcp.socket().is_open()) {
      boost::system::error_code ignored;
      tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
      tcp.expires_after(kLingerTimeout);
      std::array<char, 4096> sink;
      size_t drained = 0;
      while (drained < kLingerMaxBytes) {
        auto [ec, n] = co_await tcp.async_read_some(asio::buffer(sink), kNoThrow);
        if (ec) break;
        drained += n;
      }
    }
  } catch (const std::exception& e) {
    Log(LogSeverity::kError, fmt::format("connection ended by an exception: {}", e.what()));
  }
}

Request Server::Impl::NewRequest(Connection& c) {
  static constexpr size_t kIdBytes = 16;
  static constexpr char kHex[] = "0123456789abcdef";
  if (c.id_pool_used + kIdBytes > c.id_pool.size()) {
    env_.random.Fill(std::span<uint8_t>(c.id_pool));  // one getrandom per 16 requests
    c.id_pool_used = 0;
  }
  Request r;
  r.listener = c.listener;
  r.peer_ip = c.peer_ip;
  r.client_ip = c.peer_ip;
  r.request_id.resize(2 * kIdBytes);
  for (size_t i = 0; i < kIdBytes; ++i) {
    const uint8_t b = c.id_pool[c.id_pool_used + i];
    r.request_id[2 * i] = kHex[b >> 4];
    r.request_id[2 * i + 1] = kHex[b & 0xF];
  }
  c.id_pool_used += kIdBytes;
  r.tls_protocol = c.tls_protocol;
  r.received = env_.clock.MonoNow();
  return r;
}

template <class Stream>
asio::awaitable<ReadFailure> Server::Impl::ReadHead(Stream& stream, beast::flat_buffer& buffer,
                                                    internal::RequestParser& parser) {
  internal::HeadReader head(parser, options_.max_header_bytes);
  for (;;) {
    if (buffer.size() > 0) {
      size_t used = 0;
      const ReadFailure f = head.Put(buffer.data(), &used);
      buffer.consume(used);
      if (f != ReadFailure::kNone || head.done()) co_return f;
    }
    // HeadReader refuses a head before its unparsed bytes fill the buffer; if they ever did,
    // that is still a head too large (431), not a body (413).
    const size_t room = std::min(kReadChunk, buffer.max_size() - buffer.size());
    if (room == 0) co_return ReadFailure::kHeaderTooLarge;
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(room), kNoThrow);
    if (ec) {
      // A peer that closes (or a TLS error) mid-head is gone; a timeout too. Nothing to answer.
      co_return ec == beast::error::timeout ? ReadFailure::kTimeout : ReadFailure::kClosed;
    }
    buffer.commit(n);
  }
}

template <class Stream>
asio::awaitable<CloseMode> Server::Impl::ServeRequests(Connection& c, Stream& stream) {
  beast::tcp_stream& tcp = c.Tcp();
  // Bounded: a head never needs more than max_header_bytes plus one read (HeadReader), a body
  // is consumed as it arrives (Beast reads it in pieces of up to 64 KiB).
  beast::flat_buffer buffer(options_.max_header_bytes + kMaxBodyRead);
  bool first = true;
  for (;;) {
    // Wait for the first bytes of the next request: the idle timeout between requests.
    if (buffer.size() == 0) {
      if (stopping_.load()) co_return CloseMode::kGraceful;
      c.idle = true;
      tcp.expires_after(first ? options_.read_timeout : options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
      c.idle = false;
      if (ec == asio::error::operation_aborted && stopping_.load()) co_return CloseMode::kGraceful;
      if (ec) co_return CloseMode::kPeerGone;
      buffer.commit(n);
    }
    first = false;

    // The head, all of it within read_timeout however slowly it arrives.
    internal::RequestParser parser;
    internal::InitParser(parser, options_.max_header_bytes);
    tcp.expires_after(options_.read_timeout);
    const ReadFailure head_failure = co_await ReadHead(stream, buffer, parser);
    Request request = NewRequest(c);
    const auto answer_error = [&](ReadFailure f) -> asio::awaitable<CloseMode> {
      Response answer;
      switch (f) {
        case ReadFailure::kHeaderTooLarge:
          answer = internal::HeaderTooLarge();
          break;
        case ReadFailure::kBodyTooLarge:
          answer = internal::PayloadTooLarge();
          break;
        case ReadFailure::kBadRequest:
          answer = internal::BadRequest();
          break;
        case ReadFailure::kNone:
        case ReadFailure::kClosed:
        case ReadFailure::kTimeout:
          co_return CloseMode::kPeerGone;  // nothing to answer: the socket is gone or timed out
      }
      co_await WriteResponse(c, stream, request, answer, false);
      co_return CloseMode::kLinger;
    };
    if (head_failure != ReadFailure::kNone) co_return co_await answer_error(head_failure);
    if (auto f = internal::FillRequestHead(parser, &request); f != ReadFailure::kNone) {
      co_return co_await answer_error(f);
    }
    if (c.peer_trusted) request.client_ip = ResolveClientIp(c.peer_ip, request.headers, trusted_);

    if (c.listener == Listener::kRedirect) {
      Response redirect = internal::RedirectToHttps(request.headers.Get("Host"), request.target,
                                                    redirect_host_, public_port_);
      co_await WriteResponse(c, stream, request, redirect, false);
      co_return CloseMode::kLinger;
    }

    // The route decides the body limit before a byte of the body is read.
    const Handler::RouteInfo route = handler_.Classify(c.listener, request.method, request.path);
    if (auto f = internal::ApplyBodyLimit(parser, route.max_body_bytes); f != ReadFailure::kNone) {
      co_return co_await answer_error(f);
    }
    if (route.stream_body) {
      // The handler reads the body itself, piece by piece, while it runs.
      Response streamed;
      const std::optional<CloseMode> end =
          co_await ServeStreamed(c, stream, buffer, &parser, request, streamed, false);
      if (end) co_return *end;
      continue;
    }
    if (!parser.is_done()) {
      if (internal::WantsContinue(parser)) {
        tcp.expires_after(options_.read_timeout);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
        if (ec) co_return CloseMode::kPeerGone;
      }
      const uint64_t declared = parser.content_length().value_or(route.max_body_bytes);
      tcp.expires_after(options_.read_timeout +
                        std::chrono::seconds(declared / kMinBodyBytesPerSecond));
      auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (body_ec) {
        co_return co_await answer_error(
            internal::ClassifyReadError(body_ec, internal::ReadPhase::kBody));
      }
    }
    request.body = std::move(parser.get().body());
    bool keep_alive = parser.get().keep_alive();

    Response response;
    if (route.blocking) {
      std::optional<Response> r = co_await RunOnWorker(request);
      response = r ? std::move(*r) : internal::Overloaded();
    } else {
      response = SafeHandle(request);
    }
    keep_alive = keep_alive && !stopping_.load();
    if (response.stream) {
      const std::optional<CloseMode> end =
          co_await ServeStreamed(c, stream, buffer, nullptr, request, response, keep_alive);
      if (end) co_return *end;
      continue;
    }
    if (!co_await WriteResponse(c, stream, request, response, keep_alive)) {
      co_return CloseMode::kPeerGone;
    }
    if (!keep_alive) co_return CloseMode::kGraceful;
  }
}

template <class Stream>
asio::awaitable<bool> Server::Impl::WriteResponse(Connection& c, Stream& stream,
                                                  const Request& request, Response& response,
                                                  bool keep_alive) {
  internal::AddSecurityHeaders(response, hsts_, request.request_id);
  // The head is serialised by hand (the same bytes as Beast's serializer, see http_codec.h).
  // A small body is copied behind it so that head and body leave in one write and one TLS
  // record. A large one is written on its own after the head: never as a two-buffer gathered
  // write (std::array of 2 buffers), which through Beast 1.81's ssl_stream completed after the
  // first buffer, reporting success, once the two passed 16 KiB: the body was silently lost
  // (server_test LargeBodiesArriveWhole).
  const bool send_body = request.method != "HEAD" && !internal::StatusHasNoBody(response.status);
  c.head_buffer.clear();
  internal::AppendResponseHead(response, keep_alive, request.method == "HEAD", &c.head_buffer);
  const bool body_apart = send_body && response.body.size() > kCoalesceBodyBytes;
  if (send_body && !body_apart) c.head_buffer.append(response.body);
  c.Tcp().expires_after(options_.read_timeout +
                        std::chrono::seconds(response.body.size() / kMinBodyBytesPerSecond));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(c.head_buffer), kNoThrow);
  if (!ec && body_apart) {
    auto [body_ec, body_n] =
        co_await asio::async_write(stream, asio::buffer(response.body), kNoThrow);
    ec = body_ec;
  }
  response.body_bytes_sent = (ec || !send_body) ? 0 : response.body.size();
  response.body.clear();
  const Duration elapsed =
      std::chrono::duration_cast<Duration>(env_.clock.MonoNow() - request.received);
  RecordRequest(c.listener, response, request.method, elapsed);
  if (observer_) observer_(request, response, elapsed);
  co_return !ec;
}

template <class Stream>
asio::awaitable<std::optional<CloseMode>> Server::Impl::ServeStreamed(
    Connection& c, Stream& stream, beast::flat_buffer& buffer, internal::RequestParser* head,
    Request& request, Response& response, bool keep_alive) {
  using Op = internal::WorkerBridge::Op;
  using Clock = std::chrono::steady_clock;
  beast::tcp_stream& tcp = c.Tcp();
  const auto executor = co_await asio::this_coro::executor;
  auto bridge = std::make_shared<internal::WorkerBridge>(executor, &io_stopped_);
  asio::steady_timer wake(executor);
  bridge->Attach(&wake);
  struct DetachOnExit {
    internal::WorkerBridge& bridge;
    ~DetachOnExit() { bridge.Detach(); }
  } detach{*bridge};

  // The request body (stream_body routes): parsed straight into the bridge's buffer. Its time
  // budget is today's rule, read_timeout plus a second per 64 KiB of the declared length (or,
  // for a chunked body, of the bytes received so far), spent only while waiting for the client:
  // the handler's own time between reads is not charged.
  std::optional<http::request_parser<http::buffer_body>> body;
  std::optional<uint64_t> declared;
  bool send_continue = false;
  Status body_error;
  uint64_t received = 0;
  Clock::duration read_spent{};
  if (head != nullptr) {
    send_continue = internal::WantsContinue(*head);
    if (const auto n = head->content_length()) declared = *n;
    body.emplace(std::move(*head));  // the head is parsed, the body not started: allowed
    keep_alive = body->get().keep_alive();
  }
  const auto read_body = [&](std::span<char> out) -> asio::awaitable<Result<size_t>> {
    if (!body) co_return FailedPreconditionError("this request has no streamed body");
    if (!body_error.ok()) co_return body_error;
    if (body->is_done()) co_return size_t{0};
    if (send_continue) {
      send_continue = false;
      tcp.expires_after(options_.read_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
      if (ec) {
        body_error = CancelledError("the client went away");
        co_return body_error;
      }
    }
    size_t got = 0;
    while (got == 0 && !body->is_done()) {
      const auto allowed =
          options_.read_timeout +
          std::chrono::seconds(declared.value_or(received) / kMinBodyBytesPerSecond);
      const auto left = allowed - read_spent;
      if (left <= Clock::duration::zero()) {
        tcp.close();  // as a Beast timeout does
        body_error = DeadlineExceededError("the request body arrived too slowly");
        co_return body_error;
      }
      body->get().body().data = out.data() + got;
      body->get().body().size = out.size() - got;
      tcp.expires_after(std::chrono::duration_cast<Clock::duration>(left));
      const auto began = Clock::now();
      auto [ec, n] = co_await http::async_read_some(stream, buffer, *body, kNoThrow);
      read_spent += Clock::now() - began;
      got = out.size() - body->get().body().size;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        switch (internal::ClassifyReadError(ec, internal::ReadPhase::kBody)) {
          case ReadFailure::kTimeout:
            body_error = DeadlineExceededError("the request body arrived too slowly");
            break;
          case ReadFailure::kBodyTooLarge:
            body_error = ResourceExhaustedError("the request body is over the route's limit");
            break;
          case ReadFailure::kBadRequest:
          case ReadFailure::kHeaderTooLarge:
            body_error = InvalidArgumentError("malformed request body framing");
            break;
          case ReadFailure::kNone:
          case ReadFailure::kClosed:
            body_error = CancelledError("the client went away");
            break;
        }
        if (got == 0) co_return body_error;
        break;  // hand over what arrived; the error comes with the next read
      }
    }
    received += got;
    co_return got;
  };

  // The streamed response, once the stream has started it.
  Response sent;  // status and headers as sent, for metrics and the observer
  bool started = false;
  bool send_body = false;
  bool write_failed = false;  // a write failed or overran: the response is broken
  bool peer_gone = false;     // the socket failed
  uint64_t announced = 0;
  uint64_t written = 0;
  bool chunked = false;  // Transfer-Encoding: chunked (ResponseWriter::kChunked)

  // The work: the handler (stream_body routes), then the stream of its response, if any.
  Response fallback;  // what the stream returned without starting
  bool streamed = false;
  internal::WorkerBridge* const b = bridge.get();
  const std::optional<uint64_t> length = declared;
  const bool handle = head != nullptr;
  const bool queued = pool_->TrySubmit(
      [this, bridge, b, &request, &response, &fallback, &streamed, length, handle] {
        if (handle) {
          internal::BridgeBodyReader reader(*b, length);
          request.body_reader = &reader;
          response = SafeHandle(request);
          request.body_reader = nullptr;
        }
        if (response.stream) {
          fallback = SafeStream(response.stream, *b);
          streamed = true;
        }
        bridge->Finish();
      });

  // Serve the worker until it is done.
  while (queued) {
    const Op op = bridge->Take();
    if (op == Op::kNone) {
      if (bridge->finished()) break;
      wake.expires_at(asio::steady_timer::time_point::max());
      co_await wake.async_wait(kNoThrow);
      continue;
    }
    if (op == Op::kRead) {
      bridge->CompleteRead(co_await read_body(bridge->read_buffer()));
    } else if (op == Op::kStart) {
      const bool head_request = request.method == "HEAD";
      sent.status = bridge->start_status();
      sent.headers = std::move(bridge->start_headers());
      internal::AddSecurityHeaders(sent, hsts_, request.request_id);
      const bool no_body = internal::StatusHasNoBody(sent.status);
      send_body = !head_request && !no_body;
      chunked = !no_body && bridge->start_length() == ResponseWriter::kChunked;
      announced = no_body || chunked ? 0 : bridge->start_length();
      keep_alive = keep_alive && (!body || body->is_done()) && !stopping_.load();
      c.head_buffer.clear();
      internal::AppendResponseHead(sent, keep_alive, head_request, &c.head_buffer,
                                   chunked ? ResponseWriter::kChunked : announced);
      tcp.expires_after(options_.read_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(c.head_buffer), kNoThrow);
      started = true;
      if (ec) write_failed = peer_gone = true;
      bridge->CompleteStart(ec ? UnavailableError("the client went away") : OkStatus(), send_body);
    } else if (op == Op::kWrite) {
      const std::string_view data = bridge->write_data();
      Status result;
      if (write_failed) {
        result = UnavailableError("the response already failed");
      } else if (chunked) {
        if (!data.empty() && send_body) {
          // One chunk, framed in one buffer (a copy of at most kBridgeBufferBytes): no gathered
          // write through Beast's ssl_stream (see WriteResponse).
          c.head_buffer.clear();
          fmt::format_to(std::back_inserter(c.head_buffer), "{:x}\r\n", data.size());
          c.head_buffer.append(data);
          c.head_buffer.append("\r\n");
          tcp.expires_after(options_.read_timeout +
                            std::chrono::seconds(data.size() / kMinBodyBytesPerSecond));
          auto [ec, n] = co_await asio::async_write(stream, asio::buffer(c.head_buffer), kNoThrow);
          if (!ec) written += data.size();
          if (ec) {
            write_failed = peer_gone = true;
            result = ec == beast::error::timeout ? DeadlineExceededError("the client is too slow")
                                                 : UnavailableError("the client went away");
          }
        }
      } else if (data.size() > announced - written) {
        write_failed = true;
        result = FailedPreconditionError("more bytes than the announced Content-Length");
      } else {
        tcp.expires_after(options_.read_timeout +
                          std::chrono::seconds(data.size() / kMinBodyBytesPerSecond));
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data), kNoThrow);
        written += n;
        if (ec) {
          write_failed = peer_gone = true;
          result = ec == beast::error::timeout ? DeadlineExceededError("the client is too slow")
                                               : UnavailableError("the client went away");
        }
      }
      bridge->CompleteWrite(std::move(result));
    }
  }

  const bool body_complete = !body || body->is_done();
  // The handler left part of the body unread: the connection ends after the answer, but first
  // the rest of a modest body is read and dropped (up to kLingerMaxBytes, within
  // kLingerTimeout), so that the client, still sending, does not get a reset instead of it.
  const auto drain_body = [&]() -> asio::awaitable<CloseMode> {
    if (body_complete) co_return CloseMode::kGraceful;
    if (!body_error.ok()) co_return CloseMode::kLinger;
    if (send_continue) co_return CloseMode::kGraceful;  // 100-continue unsent: no body comes
    std::array<char, 16 * 1024> sink;
    size_t drained = 0;
    tcp.expires_after(kLingerTimeout);
    while (!body->is_done() && drained < kLingerMaxBytes) {
      body->get().body().data = sink.data();
      body->get().body().size = sink.size();
      auto [ec, n] = co_await http::async_read_some(stream, buffer, *body, kNoThrow);
      drained += sink.size() - body->get().body().size;
      if (ec && ec != http::error::need_buffer) co_return CloseMode::kPeerGone;
    }
    co_return body->is_done() ? CloseMode::kGraceful : CloseMode::kLinger;
  };
  if (started && chunked && send_body && !write_failed && !bridge->stream_failed()) {
    // The last chunk: only a stream that finished well says its body is complete.
    tcp.expires_after(options_.read_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), kNoThrow);
    if (ec) write_failed = peer_gone = true;
  }
  if (started) {
    const Duration elapsed =
        std::chrono::duration_cast<Duration>(env_.clock.MonoNow() - request.received);
    sent.route = response.route;
    sent.log_path = response.log_path;
    sent.body_bytes_sent = written;
    RecordRequest(c.listener, sent, request.method, elapsed);
    if (observer_) observer_(request, sent, elapsed);
    // A truncated or failed response ends the connection: the client sees it cut short.
    if (peer_gone) co_return CloseMode::kPeerGone;
    if (write_failed || bridge->stream_failed() ||
        (send_body && !chunked && written != announced)) {
      co_return CloseMode::kGraceful;
    }
    if (!keep_alive) co_return co_await drain_body();
    co_return std::nullopt;
  }
  Response* answer = &response;
  if (!queued) {
    response = internal::Overloaded();
  } else if (streamed) {
    if (fallback.route.empty()) fallback.route = response.route;
    if (fallback.log_path.empty()) fallback.log_path = response.log_path;
    answer = &fallback;
  }
  answer->stream = nullptr;
  keep_alive = keep_alive && body_complete && !stopping_.load();
  if (!co_await WriteResponse(c, stream, request, *answer, keep_alive)) {
    co_return CloseMode::kPeerGone;
  }
  if (!keep_alive) co_return co_await drain_body();
  co_return std::nullopt;
}

Response Server::Impl::SafeStream(const StreamFn& stream, internal::WorkerBridge& bridge) {
  internal::BridgeResponseWriter writer(bridge);
  try {
    Response r = stream(writer);
    if (writer.started() && r.status >= 400) bridge.MarkStreamFailed();
    return r;
  } catch (const std::exception& e) {
    Log(LogSeverity::kError, fmt::format("response stream threw: {}", e.what()));
  } catch (...) {
    Log(LogSeverity::kError, "response stream threw a non-exception");
  }
  bridge.MarkStreamFailed();
  return internal::InternalServerError();
}

Response Server::Impl::SafeHandle(Request& request) {
  try {
    return handler_.Handle(request);
  } catch (const std::exception& e) {
    Log(LogSeverity::kError, fmt::format("handler threw: {}", e.what()));
  } catch (...) {
    Log(LogSeverity::kError, "handler threw a non-exception");
  }
  return internal::InternalServerError();
}

asio::awaitable<std::optional<Response>> Server::Impl::RunOnWorker(Request& request) {
  auto executor = co_await asio::this_coro::executor;
  // The initiation is a named local, not a temporary of the co_await (see AcceptLoop).
  auto initiation = [this, &request, executor](auto handler) {
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    const bool queued = pool_->TrySubmit([this, &request, executor, shared] {
      Response r = SafeHandle(request);
      asio::post(executor, [shared, r = std::move(r)]() mutable {
        std::move (*shared)(std::optional<Response>(std::move(r)));
      });
    });
    if (!queued) {
      asio::post(executor, [shared] { std::move (*shared)(std::optional<Response>()); });
    }
  };
  std::optional<Response> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::optional<Response>)>(
          initiation, asio::use_awaitable);
  co_return result;
}

// ---------------------------------------------------------------------------------------------
// Metrics.

Server::Impl::RequestSeries Server::Impl::SeriesFor(Listener l, std::string_view route,
                                                    std::string_view method, int status) {
  // One key and one lookup per request for both series. The key is built in a thread-local
  // string, so a hit allocates nothing.
  thread_local std::string key;
  key.clear();
  key.append(ListenerName(l)).push_back('\0');
  key.append(route).push_back('\0');
  key.append(method).push_back('\0');
  const fmt::format_int status_text(status);
  key.append(status_text.data(), status_text.size());
  {
    std::shared_lock lock(metrics_mu_);
    if (auto it = request_series_.find(key); it != request_series_.end()) return it->second;
  }
  RequestSeries series;
  series.requests = &metrics_.GetCounter(
      "sicher_http_requests_total", "HTTP requests answered, by listener, route, method, status.",
      {{"listener", std::string(ListenerName(l))},
       {"route", std::string(route)},
       {"method", std::string(method)},
       {"status", std::to_string(status)}});
  series.duration = &metrics_.GetHistogram(
      "sicher_http_request_duration_seconds",
      "Time from a complete request head to the end of the response write.",
      {{"listener", std::string(ListenerName(l))}, {"route", std::string(route)}},
      metrics::LatencyBuckets());
  std::unique_lock lock(metrics_mu_);
  request_series_.emplace(key, series);
  return series;
}

void Server::Impl::RecordRequest(Listener listener, const Response& response,
                                 std::string_view method, Duration elapsed) {
  const std::string_view route =
      response.route.empty() ? std::string_view("unmatched") : std::string_view(response.route);
  const RequestSeries series = SeriesFor(listener, route, MethodLabel(method), response.status);
  series.requests->Inc();
  series.duration->Observe(static_cast<double>(elapsed.count()) / 1e6);
}

void Server::Impl::RecordHandshake(const boost::system::error_code& ec, std::string_view protocol) {
  const bool failed = static_cast<bool>(ec);
  const std::string_view label = failed ? internal::HandshakeFailureReason(ec) : protocol;
  thread_local std::string key;
  key.assign(failed ? "f" : "s").append(label);
  {
    std::shared_lock lock(metrics_mu_);
    if (auto it = handshake_counters_.find(key); it != handshake_counters_.end()) {
      it->second->Inc();
      return;
    }
  }
  metrics::Counter& counter =
      failed ? metrics_.GetCounter("sicher_tls_handshake_failures_total",
                                   "TLS handshakes that failed, by reason.",
                                   {{"reason", std::string(label)}})
             : metrics_.GetCounter("sicher_tls_handshakes_total",
                                   "Completed TLS handshakes, by protocol version.",
                                   {{"protocol", std::string(label)}});
  counter.Inc();
  std::unique_lock lock(metrics_mu_);
  handshake_counters_.emplace(key, &counter);
}

// ---------------------------------------------------------------------------------------------
// Server.

Server::Server(ServerOptions options, Handler& handler, metrics::Registry& metrics, Env& env,
               RequestObserver observer)
    : impl_(
          std::make_unique<Impl>(std::move(options), handler, metrics, env, std::move(observer))) {}

Server::~Server() = default;

Status Server::Start() { return impl_->Start(); }
std::string Server::PublicAddress() const { return impl_->public_address_; }
std::string Server::OperatorAddress() const { return impl_->operator_address_; }
std::string Server::RedirectAddress() const { return impl_->redirect_address_; }
Status Server::ReloadCertificates() { return impl_->ReloadCertificates(); }
void Server::Shutdown() { impl_->Shutdown(); }
void Server::Wait() { impl_->Wait(); }
const TlsProfile& Server::tls_profile() const { return impl_->profile_; }
const std::vector<std::string>& Server::TlsProfileGaps() const {
  return impl_->profile_.unsupported;
}
std::string Server::CertificateSerial() const { return impl_->CertificateSerial(); }
size_t Server::ActiveConnections() const { return impl_->ActiveConnections(); }

}  // namespace sicher::net
