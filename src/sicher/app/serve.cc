#include "sicher/app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <condition_variable>
#include <iostream>
#include <stop_token>
#include <thread>

#include "sicher/api/audit_handlers.h"
#include "sicher/api/auth_handlers.h"
#include "sicher/api/doc_handlers.h"
#include "sicher/api/health.h"
#include "sicher/api/router.h"
#include "sicher/app/data_dir.h"
#include "sicher/app/services.h"
#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/config/config.h"
#include "sicher/events/bus.h"
#include "sicher/events/events.h"
#include "sicher/log/access_log.h"
#include "sicher/log/logger.h"
#include "sicher/log/syslog_sink.h"
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

// The syslog copy of the logs (log.syslog.*), or nullptr when log.syslog.address is empty.
Result<std::unique_ptr<log::SyslogSink>> OpenSyslog(const config::SyslogConfig& c,
                                                    metrics::Registry& registry,
                                                    log::Logger& logger) {
  if (c.address.empty()) return std::unique_ptr<log::SyslogSink>();
  log::SyslogOptions o;
  ASSIGN_OR_RETURN(o.address, log::ParseSyslogAddress(c.address));
  ASSIGN_OR_RETURN(o.facility, log::ParseSyslogFacility(c.facility));
  ASSIGN_OR_RETURN(o.categories, log::ParseCategoryList(c.categories));
  o.queue_limit = static_cast<size_t>(c.queue_limit);
  o.max_message_bytes = static_cast<size_t>(c.max_message_bytes);
  o.hostname = c.hostname;
  o.report = [&logger](std::string_view line) {
    logger.App(log::Level::kWarn, line, {{"log", {{"logger", "syslog"}}}});
  };
  return log::SyslogSink::Open(registry, std::move(o));
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

  metrics::Registry registry;
  Result<std::unique_ptr<log::SyslogSink>> syslog = OpenSyslog(cfg.log.syslog, registry, logger);
  if (!syslog.ok()) return fail(syslog.status().WithContext("log.syslog"));
  log::ScopedForwarder syslog_forwarding(logger, syslog->get());  // detached before the sink goes
  events::Bus bus;
  Result<std::unique_ptr<Services>> opened =
      Services::Open(env, cfg, *dir, flags.environ, registry, bus);
  if (!opened.ok()) return fail(opened.status());
  Services& services = **opened;
  store::Store& store = *services.store;
  events::Subscription access_log =
      bus.Subscribe<events::RequestCompleted>([&logger](const events::RequestCompleted& e) {
        logger.WriteAccess({.method = e.method,
                            .path = e.path,
                            .status = e.status,
                            .duration_ns = e.duration.count(),
                            .client_ip = e.client_ip,
                            .user_agent = e.user_agent,
                            .request_id = e.request_id,
                            .listener = e.listener,
                            .route = e.route,
                            .bytes_sent = e.bytes_sent});
      });

  // Audit events reach the category log files (security, access, audit) after their commit.
  services.audit->SetLogger(&logger);

  api::Router router;
  api::RegisterHealthRoutes(router,
                            {.database_writable = [&store] { return store.CheckWritable(); },
                             .fs = &env.fs,
                             .clock = &env.clock,
                             .data_dir = dir->root,
                             .min_free_bytes = cfg.health.min_free_bytes},
                            registry);
  api::RegisterAuthRoutes(
      router, *services.auth,
      {.operator_audit = [&services, &logger](const auth::Principal& who, const net::Request& req,
                                              int status) {
        audit::Event ev;
        ev.action = "operator.request";
        ev.scope = who.id;
        ev.actor_type = audit::ActorType::kOperator;
        ev.actor_id = who.id;
        ev.outcome = status < 400 ? "success" : "failure";
        ev.ip = req.client_ip;
        ev.user_agent = std::string(req.headers.Get("User-Agent"));
        ev.request_id = req.request_id;
        ev.details = {{"method", req.method},
                      {"path", req.path},
                      {"status", status},
                      {"session_id", who.session_id}};
        audit::Pending pending;
        const Status s = services.store->Write(
            [&](store::Txn& txn) { return services.audit->Append(txn, ev, &pending); });
        if (s.ok()) {
          services.audit->Publish(pending);
        } else {
          logger.App(log::Level::kError, "could not record an operator request",
                     {{"error", {{"message", s.message()}}}});
        }
      }});
  api::RegisterAuditRoutes(router, *services.auth, *services.audit, *services.store);

  api::RegisterDocRoutes(router, *services.auth, *services.docs, *services.ua_parser,
                         {.max_document_bytes = cfg.docs.max_document_bytes});

  // Uploads cut off by a crash or a lost client leave an incomplete version behind; sweep them
  // at start and every hour (an hour's grace, so no upload in progress is touched).
  std::mutex sweep_mu;
  std::condition_variable_any sweep_cv;
  // Audit checkpoints every audit.checkpoint_interval while the log grows; retention hourly.
  std::jthread checkpointer([&](std::stop_token stop) {
    MonoTime next_purge{};
    for (;;) {
      Result<audit::StoredCheckpoint> cp = services.audit->MakeCheckpoint(store);
      if (!cp.ok() && cp.status().code() != StatusCode::kFailedPrecondition) {
        logger.App(log::Level::kWarn, "audit checkpoint failed",
                   {{"error", {{"message", cp.status().message()}}}});
      }
      if (env.clock.MonoNow() >= next_purge) {
        next_purge = env.clock.MonoNow() + std::chrono::hours(1);
        Result<int64_t> purged = audit::Log::PurgeExpired(
            store, env.clock.Now() - std::chrono::hours(24) * cfg.audit.retention_days);
        if (!purged.ok()) {
          logger.App(log::Level::kWarn, "audit retention purge failed",
                     {{"error", {{"message", purged.status().message()}}}});
        } else if (*purged > 0) {
          logger.App(log::Level::kInfo, "purged audit payloads past retention",
                     {{"sicher", {{"events", *purged}}}});
        }
      }
      std::unique_lock lock(sweep_mu);
      if (sweep_cv.wait_for(lock, stop, cfg.audit.checkpoint_interval, [] { return false; })) {
        return;
      }
      if (stop.stop_requested()) return;
    }
  });
  std::jthread sweeper([&](std::stop_token stop) {
    for (;;) {
      Result<docs::CleanupStats> swept =
          services.docs->CleanupIncomplete(env.clock.Now() - std::chrono::hours(1));
      if (!swept.ok()) {
        logger.App(log::Level::kWarn, "incomplete-upload sweep failed",
                   {{"error", {{"message", swept.status().message()}}}});
      } else if (swept->versions_removed > 0 || swept->documents_removed > 0) {
        logger.App(
            log::Level::kInfo, "removed incomplete uploads",
            {{"sicher",
              {{"versions", swept->versions_removed}, {"documents", swept->documents_removed}}}});
      }
      std::unique_lock lock(sweep_mu);
      if (sweep_cv.wait_for(lock, stop, std::chrono::hours(1), [] { return false; })) return;
      if (stop.stop_requested()) return;
    }
  });

  net::RequestObserver observer = [&bus](const net::Request& req, const net::Response& resp,
                                         Duration elapsed) {
    // One event per I/O thread, reused: assign() into strings that already have the capacity
    // allocates nothing per request. Delivery is synchronous, so no subscriber sees it change.
    thread_local events::RequestCompleted e;
    e.request_id.assign(req.request_id);
    e.listener.assign(net::ListenerName(req.listener));
    e.method.assign(req.method);
    e.route.assign(resp.route);
    e.path.assign(resp.log_path.empty() ? req.path : resp.log_path);  // never a token
    e.status = resp.status;
    e.duration = elapsed;
    e.client_ip.assign(req.client_ip);
    e.user_agent.assign(req.headers.Get("User-Agent"));
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
