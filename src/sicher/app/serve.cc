#include "sicher/app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "sicher/api/health.h"
#include "sicher/api/router.h"
#include "sicher/app/data_dir.h"
#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/config/config.h"
#include "sicher/events/bus.h"
#include "sicher/events/events.h"
#include "sicher/log/access_log.h"
#include "sicher/log/logger.h"
#include "sicher/net/server.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::app {
namespace {

// An exclusive advisory lock on DIR/lock for the life of the process, so that two `sicher
// serve` never share one embedded database. The kernel drops it when the process dies.
class DataDirLock {
 public:
  static Result<DataDirLock> Acquire(const std::string& dir) {
    const std::string path = JoinPath(dir, "lock");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("open " + path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return FailedPreconditionError("data directory " + dir +
                                     " is in use by another sicher process");
    }
    return DataDirLock(fd);
  }
  DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DataDirLock& operator=(DataDirLock&&) = delete;
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

net::ServerOptions ToServerOptions(const config::Config& c, log::Logger& logger) {
  net::ServerOptions o;
  o.public_listen = c.server.public_listen.ToString();
  o.operator_listen = c.server.operator_listen.ToString();
  if (c.server.redirect_listen) o.redirect_listen = c.server.redirect_listen->ToString();
  o.tls_profile = c.server.tls_profile;
  o.cert_file = config::CertFile(c);
  o.key_file = config::KeyFile(c);
  o.trusted_proxies = c.server.trusted_proxies;
  o.max_header_bytes = c.server.max_header_bytes;
  o.read_timeout = c.server.read_timeout;
  o.idle_timeout = c.server.idle_timeout;
  o.handshake_timeout = c.server.handshake_timeout;
  o.max_connections = static_cast<size_t>(c.server.max_connections);
  o.shutdown_grace = c.server.shutdown_grace;
  o.io_threads = static_cast<size_t>(c.server.io_threads);
  o.worker_threads = static_cast<size_t>(c.server.worker_threads);
  o.worker_queue_limit = static_cast<size_t>(c.server.worker_queue);
  o.cert_check_interval = c.server.cert_check_interval;
  o.ticket_key_rotation = c.server.ticket_key_rotation;
  o.log = [&logger](net::LogSeverity severity, std::string_view message) {
    const log::Level level = severity == net::LogSeverity::kError     ? log::Level::kError
                             : severity == net::LogSeverity::kWarning ? log::Level::kWarn
                                                                      : log::Level::kInfo;
    logger.App(level, message, {{"log", {{"logger", "net"}}}});
  };
  return o;
}

std::string Url(std::string_view scheme, const std::string& address) {
  return std::string(scheme) + "://" + address + "/";
}

}  // namespace

int RunServe(const ServeFlags& flags, std::ostream& out, std::ostream& err) {
  // Signals first, before any thread starts, so every thread inherits the mask and only the
  // sigwait below ever sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that disappears mid-write must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [&err](const Status& s) {
    err << "sicher: " << s.message() << std::endl;
    return 1;
  };

  Env& env = Env::Default();
  Result<config::Config> loaded = config::LoadConfig(env, flags.config_path, flags.environ);
  if (!loaded.ok()) return fail(loaded.status());
  config::Config cfg = *std::move(loaded);
  if (flags.data_dir) cfg.data.dir = *flags.data_dir;

  Result<DataDir> dir = PrepareDataDir(env, cfg.data.dir);
  if (!dir.ok()) return fail(dir.status());
  Result<DataDirLock> lock = DataDirLock::Acquire(dir->root);
  if (!lock.ok()) return fail(lock.status());

  Result<log::Level> level = log::ParseLevel(cfg.log.stderr_level);
  if (!level.ok()) return fail(level.status());
  Result<std::unique_ptr<log::Logger>> opened_logger =
      log::Logger::Open(env, {.dir = dir->LogDir(),
                              .max_file_bytes = cfg.log.max_file_bytes,
                              .retention_files = static_cast<int>(cfg.log.retention_files),
                              .stderr_level = *level});
  if (!opened_logger.ok()) return fail(opened_logger.status());
  log::Logger& logger = **opened_logger;

  if (cfg.server.cert_file.empty()) {
    Result<CertificateSetup> cert = EnsureSelfSignedCertificate(env, *dir);
    if (!cert.ok()) return fail(cert.status().WithContext("self-signed certificate"));
    if (cert->created) {
      logger.App(log::Level::kInfo, "created a self-signed certificate",
                 {{"tls", {{"server", {{"hash", {{"sha256", cert->fingerprint}}}}}}}});
    }
  }

  if (!cfg.database.url.empty()) {
    return fail(UnimplementedError(
        "database.url selects PostgreSQL, which this build does not support yet; leave it "
        "empty for the embedded SQLite store"));
  }

  metrics::Registry registry;
  store::SqliteOptions store_options;
  store_options.path = dir->DatabasePath();
  store_options.reader_count = static_cast<int>(cfg.database.readers);
  Result<std::unique_ptr<store::Store>> opened_store =
      store::OpenSqliteStore(store_options, env, registry);
  if (!opened_store.ok()) return fail(opened_store.status().WithContext("database"));
  store::Store& store = **opened_store;

  events::Bus bus;
  events::Subscription access_log =
      bus.Subscribe<events::RequestCompleted>([&logger](const events::RequestCompleted& e) {
        logger.Write(
            log::Category::kAccess,
            log::AccessLogLine(e.method, e.path, e.status, e.duration.count(), e.client_ip,
                               e.user_agent, e.request_id, e.listener, e.route, e.bytes_sent));
      });

  api::Router router;
  api::RegisterHealthRoutes(router,
                            {.database_writable = [&store] { return store.CheckWritable(); },
                             .fs = &env.fs,
                             .clock = &env.clock,
                             .data_dir = dir->root,
                             .min_free_bytes = cfg.health.min_free_bytes},
                            registry);

  net::RequestObserver observer = [&bus](const net::Request& req, const net::Response& resp,
                                         Duration elapsed) {
    events::RequestCompleted e;
    e.request_id = req.request_id;
    e.listener = std::string(net::ListenerName(req.listener));
    e.method = req.method;
    e.route = resp.route;
    e.path = req.path;
    e.status = resp.status;
    e.duration = elapsed;
    e.client_ip = req.client_ip;
    e.user_agent = std::string(req.headers.Get("User-Agent"));
    e.bytes_sent = resp.body_bytes_sent;
    bus.Publish(e);
  };

  net::Server server(ToServerOptions(cfg, logger), router, registry, env, observer);
  if (Status s = server.Start(); !s.ok()) return fail(s);

  // net/ has logged each gap; subscribers (the TLS self-audit, later) learn of them here.
  for (const std::string& gap : server.TlsProfileGaps()) {
    bus.Publish(events::TlsProfileGap{cfg.server.tls_profile, gap, "not supported by OpenSSL"});
  }

  events::ServerStarted started;
  started.addresses.push_back(Url("https", server.PublicAddress()));
  out << "sicher: public " << started.addresses.back() << "\n";
  if (!server.OperatorAddress().empty()) {
    started.addresses.push_back(Url("https", server.OperatorAddress()));
    out << "sicher: operator " << started.addresses.back() << "\n";
  }
  if (!server.RedirectAddress().empty()) {
    started.addresses.push_back(Url("http", server.RedirectAddress()));
    out << "sicher: redirect " << started.addresses.back() << "\n";
  }
  out << "sicher: ready" << std::endl;
  bus.Publish(started);
  logger.Write(log::Category::kAvailability,
               {{"event", {{"action", "service-started"}, {"outcome", "success"}}},
                {"url", {{"full", started.addresses}}},
                {"message", "sicher serve started"}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      const Status s = server.ReloadCertificates();
      bus.Publish(events::CertificateReloaded{server.CertificateSerial(), "", s.ok(),
                                              s.ok() ? "" : s.message()});
      logger.Write(
          log::Category::kSecurity,
          {{"event",
            {{"action", "certificate-reload"}, {"outcome", s.ok() ? "success" : "failure"}}},
           {"tls", {{"server", {{"x509", {{"serial_number", server.CertificateSerial()}}}}}}},
           {"message", s.ok() ? "certificate reloaded" : s.message()}});
      continue;
    }
    break;  // SIGINT or SIGTERM
  }

  bus.Publish(events::ServerStopping{});
  logger.Write(log::Category::kAvailability,
               {{"event", {{"action", "service-stopping"}, {"outcome", "success"}}},
                {"message", "graceful shutdown"}});
  server.Shutdown();
  server.Wait();
  (void)logger.Sync();
  return 0;
}

}  // namespace sicher::app
