#pragma once
// Server: sicher's HTTPS front door. Two TLS listeners (public, operator) and an optional
// plain-HTTP listener that only redirects to HTTPS; HTTP/1.1 with keep-alive; one C++20
// coroutine per connection; the TLS profile from tls_profile.h; limits, timeouts, security
// headers and metrics; certificate reload without dropping connections; graceful shutdown.
//
// The server never knows routes: it asks the Handler (http.h) to classify each request once
// its head is read (body limit, inline or on the worker pool) and to produce the response.
// Handlers that are `blocking` run on a bounded worker pool; when its queue is full the client
// gets 503 with Retry-After.
//
// Ownership: the Server borrows the Handler, the metrics Registry and the Env; all three must
// outlive it. The RequestObserver is copied.
//
// Thread-safety: Start is called once, from one thread. After Start, ReloadCertificates,
// Shutdown, Wait and every accessor may be called from any thread (Shutdown and
// ReloadCertificates are meant for the application's signal-handling thread). The Handler and
// the RequestObserver are called concurrently from I/O and worker threads.
//
// Failure: Start returns an error Status (never throws) on a bad option, an unknown TLS
// profile, an unreadable or mismatched certificate/key, or a bind failure; nothing is left
// running then. Errors on a connection close that connection only. This header includes no
// Beast, Asio or OpenSSL header.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/base/status.h"
#include "sicher/net/http.h"
#include "sicher/net/tls_profile.h"

namespace sicher::net {

enum class LogSeverity { kInfo, kWarning, kError };
// Operational messages from the server (start-up, TLS gaps, reloads, accept errors). Messages
// never contain request content, keys or bodies. Called from any thread; must be thread-safe.
using ServerLog = std::function<void(LogSeverity severity, std::string_view message)>;

// Called once per answered request, after the response is written (or failed to be written),
// with the time from the complete request head to the end of the write. Also called for the
// server's own error answers (400, 413, 431, 503); for a request rejected before its head
// parsed, `request` has an empty method and target. By then `response.body` has been moved
// into the write (status, headers with the security headers and X-Request-Id, and route are
// intact). The app wires this to the access log. Called from I/O threads: keep it cheap and
// thread-safe; it must not throw.
using RequestObserver =
    std::function<void(const Request& request, const Response& response, Duration elapsed)>;

struct ServerOptions {
  // "host:port" or "[v6]:port"; port 0 picks a free port. An empty string disables the
  // listener (the public one is required).
  std::string public_listen = "0.0.0.0:8443";
  std::string operator_listen = "127.0.0.1:9443";
  // Plain-HTTP listener that answers every request with 301 to the public HTTPS port.
  std::optional<std::string> redirect_listen;
  // Host name used in redirects when a request's Host header is missing or invalid. Empty: the
  // public listen host, or "localhost" when that is a wildcard address.
  std::string public_host;

  std::string tls_profile = "intermediate";  // see TlsProfileNames()
  std::string cert_file;                     // PEM chain, leaf first
  std::string key_file;                      // PEM private key (unencrypted; mode 0600)
  // CIDRs whose X-Forwarded-For / Forwarded headers are believed (client_ip.h).
  std::vector<std::string> trusted_proxies;

  // Limits.
  size_t max_header_bytes = 16 * 1024;  // request line + fields; more -> 431 and close
  // Bound on reading one whole request head (slow clients are cut off, not each byte), and on
  // writing a response. A body gets this plus one second per 64 KiB it declares.
  Duration read_timeout = std::chrono::seconds(10);
  Duration idle_timeout = std::chrono::seconds(60);       // keep-alive wait for the next request
  Duration handshake_timeout = std::chrono::seconds(10);  // TCP accept to finished TLS handshake
  size_t max_connections = 10000;  // beyond this, new connections are accepted and closed
  Duration shutdown_grace =
      std::chrono::seconds(10);  // how long Shutdown lets in-flight requests finish

  // Threads.
  size_t io_threads = 0;             // 0: one per core
  size_t worker_threads = 0;         // 0: 4 per core
  size_t worker_queue_limit = 1024;  // waiting blocking requests; beyond -> 503

  // Certificate files are re-read when their modification time or size changes (checked this
  // often; 0 disables the check). ReloadCertificates does the same on demand.
  Duration cert_check_interval = std::chrono::seconds(5);
  // Session-ticket keys: a new key this often; the previous keys decrypt for one more day.
  Duration ticket_key_rotation = std::chrono::hours(12);

  ServerLog log;  // empty: messages go to stderr
};

class Server {
 public:
  Server(ServerOptions options, Handler& handler, metrics::Registry& metrics, Env& env,
         RequestObserver observer = {});
  // Shuts down (gracefully, within shutdown_grace) and waits, if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS profile and certificate, binds every listener and starts the I/O and worker
  // threads. Returns an error and leaves nothing running on failure. Call once.
  Status Start();

  // The bound addresses, e.g. "127.0.0.1:40123" (the real port when 0 was asked for); empty
  // for a disabled listener or before Start.
  std::string PublicAddress() const;
  std::string OperatorAddress() const;
  std::string RedirectAddress() const;

  // Re-reads cert_file and key_file. On success new handshakes use the new certificate;
  // connections already established continue on the old one. On failure the old certificate
  // stays in use and the error is returned (and logged). Safe from any thread.
  Status ReloadCertificates();

  // Graceful shutdown: stop accepting, close idle keep-alive connections, let requests in
  // flight finish (their responses say "Connection: close") for up to shutdown_grace, then close
  // whatever is left and stop the threads. Returns at once; Wait() blocks until done.
  // Idempotent; safe from any thread, including a handler.
  void Shutdown();
  // Blocks until the server has stopped after Shutdown. Must not be called from a handler.
  void Wait();

  // The profile in effect (after Start), and what of it the linked OpenSSL cannot offer, e.g.
  // {"group:X25519MLKEM768", "feature:ocsp_staple"}. Each gap is also the metric
  // sicher_tls_profile_gap{profile=...,item=...} 1.
  const TlsProfile& tls_profile() const;
  const std::vector<std::string>& TlsProfileGaps() const;
  // Serial number (hex) of the certificate new handshakes get.
  std::string CertificateSerial() const;
  // Connections open right now (all listeners).
  size_t ActiveConnections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sicher::net
