// The table of configuration keys: the one place a key is declared. Loading, environment
// overrides, validation and `sicher config defaults` all read it.

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "sicher/config/config.h"
#include "sicher/config/cron.h"

namespace sicher::config {
namespace {

using std::chrono::milliseconds;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Builders. `field` is a lambda from Config& to a reference to the member.

template <class F>
KeyInfo StringKey(std::string name, std::string def, std::string meaning, std::string type, F field,
                  std::function<Status(const std::string&)> validate = nullptr) {
  return {std::move(name),
          ValueKind::kString,
          std::move(type),
          Quote(def),
          std::move(meaning),
          [field, validate](const RawValue& v, Config& c) -> Status {
            const std::string& s = std::get<std::string>(v);
            if (validate) RETURN_IF_ERROR(validate(s));
            field(c) = s;
            return OkStatus();
          }};
}

template <class F>
KeyInfo EnumKey(std::string name, std::string def, std::string meaning,
                std::vector<std::string> values, F field) {
  std::string joined;
  for (const auto& v : values) joined += (joined.empty() ? "" : "|") + v;
  return StringKey(std::move(name), std::move(def), std::move(meaning), "one of " + joined, field,
                   [values, joined](const std::string& s) -> Status {
                     if (std::find(values.begin(), values.end(), s) != values.end()) {
                       return OkStatus();
                     }
                     return InvalidArgumentError(fmt::format("\"{}\" is not one of {}", s, joined));
                   });
}

template <class F>
KeyInfo IntKey(std::string name, int64_t def, std::string meaning, int64_t min, int64_t max,
               F field) {
  return {std::move(name),
          ValueKind::kInteger,
          fmt::format("integer {}..{}", min, max),
          std::to_string(def),
          std::move(meaning),
          [field, min, max](const RawValue& v, Config& c) -> Status {
            const int64_t n = std::get<int64_t>(v);
            if (n < min || n > max) {
              return OutOfRangeError(fmt::format("{} is out of range {}..{}", n, min, max));
            }
            field(c) = n;
            return OkStatus();
          }};
}

template <class F>
KeyInfo DurationKey(std::string name, std::string def, std::string meaning, milliseconds min,
                    milliseconds max, F field) {
  return {std::move(name),
          ValueKind::kString,
          fmt::format("duration {}..{}", FormatDuration(min), FormatDuration(max)),
          Quote(def),
          std::move(meaning),
          [field, min, max](const RawValue& v, Config& c) -> Status {
            ASSIGN_OR_RETURN(milliseconds d, ParseDuration(std::get<std::string>(v)));
            if (d < min || d > max) {
              return OutOfRangeError(fmt::format("{} is out of range {}..{}", FormatDuration(d),
                                                 FormatDuration(min), FormatDuration(max)));
            }
            field(c) = d;
            return OkStatus();
          }};
}

template <class F>
KeyInfo SizeKey(std::string name, std::string def, std::string meaning, uint64_t min, uint64_t max,
                F field) {
  return {std::move(name),
          ValueKind::kSize,
          fmt::format("size {}..{}", FormatSize(min), FormatSize(max)),
          Quote(def),
          std::move(meaning),
          [field, min, max](const RawValue& v, Config& c) -> Status {
            ASSIGN_OR_RETURN(uint64_t n, ParseSize(std::get<std::string>(v)));
            if (n < min || n > max) {
              return OutOfRangeError(fmt::format("{} is out of range {}..{}", FormatSize(n),
                                                 FormatSize(min), FormatSize(max)));
            }
            field(c) = n;
            return OkStatus();
          }};
}

template <class F>
KeyInfo ListenKey(std::string name, std::string def, std::string meaning, F field) {
  return {std::move(name),
          ValueKind::kString,
          "host:port",
          Quote(def),
          std::move(meaning),
          [field](const RawValue& v, Config& c) -> Status {
            ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(std::get<std::string>(v)));
            field(c) = std::move(hp);
            return OkStatus();
          }};
}

// log.syslog.*: the same rules as log/syslog_sink.h's parsers (config does not depend on log).
constexpr const char* kSyslogFacilities[] = {"local0", "local1", "local2",   "local3", "local4",
                                             "local5", "local6", "local7",   "user",   "mail",
                                             "daemon", "auth",   "syslog",   "lpr",    "news",
                                             "uucp",   "cron",   "authpriv", "ftp"};

Status ValidateSyslogAddress(const std::string& s) {
  if (s.empty()) return OkStatus();
  const std::string_view scheme = std::string_view(s).substr(0, 6);
  if (scheme != "udp://" && scheme != "tcp://") {
    return InvalidArgumentError(
        fmt::format("\"{}\" must be empty (off), udp://HOST:PORT or tcp://HOST:PORT, e.g. "
                    "udp://127.0.0.1:514{}",
                    s, scheme == "tls://" ? " (TLS is not supported: use a local relay)" : ""));
  }
  Result<HostPort> hp = ParseHostPort(std::string_view(s).substr(6));
  if (!hp.ok()) return InvalidArgumentError(fmt::format("\"{}\": {}", s, hp.status().message()));
  if (hp->port == 0) return InvalidArgumentError(fmt::format("\"{}\": port must be 1..65535", s));
  return OkStatus();
}

Status ValidateLogCategories(const std::string& s) {
  static const std::set<std::string, std::less<>> kNames = {"security", "audit", "access",
                                                            "availability", "app"};
  size_t count = 0;
  for (size_t start = 0; start <= s.size();) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string_view item = std::string_view(s).substr(start, comma - start);
    start = comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (kNames.count(item) == 0) {
      return InvalidArgumentError(fmt::format(
          "unknown log category \"{}\" (expected security, audit, access, availability, app)",
          item));
    }
    ++count;
  }
  if (count == 0) return InvalidArgumentError("must name at least one log category");
  return OkStatus();
}

std::vector<KeyInfo> BuildKeys() {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  std::vector<KeyInfo> keys;

  // [server]
  keys.push_back(ListenKey(
      "server.public_listen", "0.0.0.0:8443",
      "Address of the public HTTPS listener (accounts, readers, /livez, /readyz). Use [::]:8443 "
      "for IPv6; port 0 lets the kernel pick a free port.",
      [](Config& c) -> HostPort& { return c.server.public_listen; }));
  keys.push_back(ListenKey(
      "server.operator_listen", "127.0.0.1:9443",
      "Address of the operator HTTPS listener (operator console, /metrics; 2FA sessions only). "
      "Keep it on loopback or a management network.",
      [](Config& c) -> HostPort& { return c.server.operator_listen; }));
  keys.push_back(
      KeyInfo{"server.redirect_listen", ValueKind::kString, "host:port or empty", Quote(""),
              "Address of an optional plain-HTTP listener that only redirects to HTTPS, e.g. "
              "\"0.0.0.0:8080\". Empty: no such listener.",
              [](const RawValue& v, Config& c) -> Status {
                const std::string& s = std::get<std::string>(v);
                if (s.empty()) {
                  c.server.redirect_listen.reset();
                  return OkStatus();
                }
                ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(s));
                c.server.redirect_listen = std::move(hp);
                return OkStatus();
              }});
  keys.push_back(EnumKey(
      "server.tls_profile", "intermediate",
      "TLS settings from the Mozilla Server Side TLS guidelines: modern (TLS 1.3 only), "
      "intermediate (TLS 1.2 and 1.3, recommended), old (down to TLS 1.0, for ancient clients).",
      {"modern", "intermediate", "old"},
      [](Config& c) -> std::string& { return c.server.tls_profile; }));
  keys.push_back(KeyInfo{
      "server.trusted_proxies", ValueKind::kStringArray, "array of CIDR networks", "[]",
      "Reverse proxies and load balancers whose X-Forwarded-For / Forwarded headers are "
      "believed, as CIDR networks (e.g. [\"10.0.0.0/8\", \"::1\"]). Empty: the client address is "
      "always the socket peer.",
      [](const RawValue& v, Config& c) -> Status {
        std::vector<std::string> out;
        for (const std::string& item : std::get<std::vector<std::string>>(v)) {
          ASSIGN_OR_RETURN(std::string cidr, ParseCidr(item));
          out.push_back(std::move(cidr));
        }
        c.server.trusted_proxies = std::move(out);
        return OkStatus();
      }});
  keys.push_back(StringKey(
      "server.cert_file", "",
      "PEM certificate chain for both HTTPS listeners. Empty: <data.dir>/tls/cert.pem, a "
      "self-signed ECDSA P-256 certificate for localhost created at first start. Reloaded on "
      "SIGHUP and when the file changes.",
      "path", [](Config& c) -> std::string& { return c.server.cert_file; }));
  keys.push_back(StringKey(
      "server.key_file", "",
      "PEM private key for server.cert_file; set both or neither. Empty: <data.dir>/tls/key.pem.",
      "path", [](Config& c) -> std::string& { return c.server.key_file; }));
  keys.push_back(SizeKey("server.max_header_bytes", "16KiB",
                         "Largest request line plus headers; larger requests get 431 and the "
                         "connection is closed.",
                         1 * kKiB, 1 * kMiB,
                         [](Config& c) -> uint64_t& { return c.server.max_header_bytes; }));
  keys.push_back(SizeKey("server.max_body_bytes", "1MiB",
                         "Default largest request body; routes that take uploads set their own "
                         "limit. Larger bodies get 413.",
                         1, 64 * kGiB,
                         [](Config& c) -> uint64_t& { return c.server.max_body_bytes; }));
  keys.push_back(DurationKey(
      "server.read_timeout", "10s",
      "Longest time to receive a whole request head once it has started (a body gets this plus "
      "one second per 64 KiB it declares); slower clients are disconnected.",
      milliseconds(100), hours(1),
      [](Config& c) -> milliseconds& { return c.server.read_timeout; }));
  keys.push_back(DurationKey("server.idle_timeout", "60s",
                             "How long a keep-alive connection may wait for its next request.",
                             seconds(1), hours(24),
                             [](Config& c) -> milliseconds& { return c.server.idle_timeout; }));
  keys.push_back(
      DurationKey("server.handshake_timeout", "10s",
                  "Longest time a client may take to finish the TLS handshake.", milliseconds(100),
                  hours(1), [](Config& c) -> milliseconds& { return c.server.handshake_timeout; }));
  keys.push_back(IntKey("server.max_connections", 10000,
                        "Most simultaneous connections across all listeners; more are refused "
                        "until some close.",
                        1, 1'000'000,
                        [](Config& c) -> int64_t& { return c.server.max_connections; }));
  keys.push_back(DurationKey(
      "server.shutdown_grace", "10s",
      "On SIGTERM, how long in-flight requests may take to finish before connections are closed.",
      milliseconds(0), hours(1),
      [](Config& c) -> milliseconds& { return c.server.shutdown_grace; }));
  keys.push_back(IntKey("server.io_threads", 0,
                        "Network threads (TLS and HTTP parsing). 0: the number of CPU cores.", 0,
                        1024, [](Config& c) -> int64_t& { return c.server.io_threads; }));
  keys.push_back(IntKey("server.worker_threads", 0,
                        "Threads for handlers that wait on the database or stream documents "
                        "(password hashing has its own pool, auth.hash_threads). 0: four per CPU "
                        "core.",
                        0, 4096, [](Config& c) -> int64_t& { return c.server.worker_threads; }));
  keys.push_back(IntKey("server.worker_queue", 1024,
                        "Most tasks waiting for a worker thread; beyond it requests get 503 "
                        "instead of queueing without bound.",
                        1, 1'000'000, [](Config& c) -> int64_t& { return c.server.worker_queue; }));
  keys.push_back(DurationKey(
      "server.cert_check_interval", "5s",
      "How often the certificate and key files' modification times are checked for a reload. "
      "0: only SIGHUP reloads.",
      milliseconds(0), hours(24),
      [](Config& c) -> milliseconds& { return c.server.cert_check_interval; }));
  keys.push_back(DurationKey(
      "server.ticket_key_rotation", "12h",
      "How often the key that encrypts TLS session tickets is replaced.", minutes(1), hours(24 * 7),
      [](Config& c) -> milliseconds& { return c.server.ticket_key_rotation; }));

  // [database]
  keys.push_back(StringKey(
      "database.url", "",
      "Empty: SQLite in the data directory. A libpq URL (postgresql://user@host1,host2/db?"
      "target_session_attrs=read-write, multi-host allowed) selects PostgreSQL. Prefer a "
      "password file (PGPASSFILE) to a password in this URL.",
      "empty or postgresql:// URL", [](Config& c) -> std::string& { return c.database.url; },
      [](const std::string& s) -> Status {
        // Never echo the URL: it may contain a password.
        if (s.empty() || s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0) {
          return OkStatus();
        }
        return InvalidArgumentError(
            "must be empty (SQLite) or a URL starting with postgresql:// or postgres://");
      }));
  keys.push_back(IntKey("database.readers", 4,
                        "Read-only database connections in the reader pool (SQLite) or per "
                        "process (PostgreSQL).",
                        1, 64, [](Config& c) -> int64_t& { return c.database.readers; }));

  // [data]
  keys.push_back(StringKey(
      "data.dir", "./sicher-data",
      "Directory for the SQLite database, the key file, TLS files and logs; created at first "
      "start. Also set by --data DIR and SICHER_DATA.",
      "path", [](Config& c) -> std::string& { return c.data.dir; },
      [](const std::string& s) -> Status {
        if (s.empty()) return InvalidArgumentError("must not be empty");
        return OkStatus();
      }));

  // [log]
  keys.push_back(SizeKey("log.max_file_bytes", "64MiB",
                         "Size at which a log file (security, access, audit, availability, app) "
                         "is rotated to <name>.log.1.",
                         4 * kKiB, 1 * kTiB,
                         [](Config& c) -> uint64_t& { return c.log.max_file_bytes; }));
  keys.push_back(IntKey("log.retention_files", 10,
                        "Rotated files kept per log (<name>.log.1 .. .N); older ones are deleted.",
                        0, 1000, [](Config& c) -> int64_t& { return c.log.retention_files; }));
  keys.push_back(EnumKey("log.stderr_level", "info",
                         "Lowest level of application messages also printed to stderr.",
                         {"debug", "info", "warn", "error"},
                         [](Config& c) -> std::string& { return c.log.stderr_level; }));
  keys.push_back(StringKey(
      "log.syslog.address", "",
      "Also send the log categories in log.syslog.categories to a syslog receiver, as RFC 5424 "
      "messages whose text is the JSON line: udp://HOST:PORT (RFC 5426, one message per "
      "datagram) or tcp://HOST:PORT (RFC 6587 octet counting; reconnects with backoff). No "
      "TLS: use a local relay for that. Never slows logging: lines that do not fit the queue "
      "are dropped and counted (sicher_syslog_dropped_total). Empty: off.",
      "empty, udp://host:port or tcp://host:port",
      [](Config& c) -> std::string& { return c.log.syslog.address; }, ValidateSyslogAddress));
  keys.push_back(StringKey(
      "log.syslog.facility", "local0",
      "Syslog facility of the messages: local0 .. local7, user, daemon, auth, authpriv, syslog, "
      "mail, lpr, news, uucp, cron or ftp. The severity comes from the category: security "
      "notice, audit/access/availability info, app by its level.",
      "syslog facility name", [](Config& c) -> std::string& { return c.log.syslog.facility; },
      [](const std::string& s) -> Status {
        for (const char* name : kSyslogFacilities) {
          if (s == name) return OkStatus();
        }
        return InvalidArgumentError(fmt::format(
            "\"{}\" is not a syslog facility (local0..local7, user, daemon, auth, authpriv, "
            "syslog, mail, lpr, news, uucp, cron, ftp)",
            s));
      }));
  keys.push_back(StringKey(
      "log.syslog.categories", "security,audit,access",
      "Comma-separated log categories sent to syslog: security, audit, access, availability, "
      "app.",
      "comma-separated categories",
      [](Config& c) -> std::string& { return c.log.syslog.categories; }, ValidateLogCategories));
  keys.push_back(IntKey("log.syslog.queue_limit", 10000,
                        "Messages that may wait for the syslog receiver (in memory); when the "
                        "queue is full, new ones are dropped and counted.",
                        1, 1'000'000,
                        [](Config& c) -> int64_t& { return c.log.syslog.queue_limit; }));
  keys.push_back(SizeKey("log.syslog.max_message_bytes", "2KiB",
                         "Longest syslog message, header included; the JSON text of longer ones "
                         "is cut (and counted in sicher_syslog_truncated_total). 2 KiB is what "
                         "every receiver must accept; raise it if yours takes more.",
                         480, 60 * kKiB,
                         [](Config& c) -> uint64_t& { return c.log.syslog.max_message_bytes; }));
  keys.push_back(StringKey(
      "log.syslog.hostname", "",
      "HOSTNAME field of the syslog messages. Empty: the system's host name.", "text",
      [](Config& c) -> std::string& { return c.log.syslog.hostname; },
      [](const std::string& s) -> Status {
        for (char ch : s) {
          if (static_cast<unsigned char>(ch) < 33 || static_cast<unsigned char>(ch) > 126) {
            return InvalidArgumentError("may hold only printable ASCII without spaces");
          }
        }
        if (s.size() > 255) return InvalidArgumentError("must be at most 255 characters");
        return OkStatus();
      }));

  // [health]
  keys.push_back(SizeKey("health.min_free_bytes", "512MiB",
                         "/readyz reports not ready when the data directory's file system has "
                         "less free space than this.",
                         0, 1024 * kTiB,
                         [](Config& c) -> uint64_t& { return c.health.min_free_bytes; }));

  // [keys]
  keys.push_back(StringKey(
      "keys.keyring_path", "",
      "The keyring file holding the key-encryption keys (mode 0600, outside the database). "
      "Empty: <data.dir>/keyring, created at first start. The environment variable "
      "SICHER_KEYRING (e.g. a mounted secret) overrides both.",
      "path", [](Config& c) -> std::string& { return c.keys.keyring_path; },
      [](const std::string&) { return OkStatus(); }));

  // [auth]
  keys.push_back(EnumKey("auth.signup", "open",
                         "Whether anyone may create a user and an account with POST /v1/signup "
                         "(open) or only invited users may join (closed).",
                         {"open", "closed"},
                         [](Config& c) -> std::string& { return c.auth.signup; }));
  keys.push_back(DurationKey(
      "auth.session_idle_timeout", "1h", "A session not used for this long ends.", minutes(1),
      hours(24 * 30), [](Config& c) -> milliseconds& { return c.auth.session_idle_timeout; }));
  keys.push_back(DurationKey("auth.session_lifetime", "12h",
                             "A session ends this long after login, however active.", minutes(5),
                             hours(24 * 90),
                             [](Config& c) -> milliseconds& { return c.auth.session_lifetime; }));
  keys.push_back(SizeKey("auth.argon2_memory", "19MiB",
                         "Argon2id memory cost per password hash (OWASP minimum: 19 MiB). "
                         "Stored hashes with other parameters are upgraded at the next login.",
                         19 * kMiB, 4 * kGiB,
                         [](Config& c) -> uint64_t& { return c.auth.argon2_memory_bytes; }));
  keys.push_back(IntKey("auth.argon2_iterations", 2,
                        "Argon2id time cost (passes over memory; OWASP minimum with 19 MiB: 2).", 2,
                        64, [](Config& c) -> int64_t& { return c.auth.argon2_iterations; }));
  keys.push_back(IntKey("auth.hash_threads", 0, "Threads that hash passwords. 0: one per core.", 0,
                        256, [](Config& c) -> int64_t& { return c.auth.hash_threads; }));
  keys.push_back(IntKey("auth.hash_queue", 64,
                        "Password hashes that may wait for a thread; beyond this, logins get 503 "
                        "with Retry-After instead of stalling the server.",
                        1, 100000, [](Config& c) -> int64_t& { return c.auth.hash_queue; }));
  keys.push_back(IntKey("auth.lockout_threshold", 10,
                        "Consecutive failed logins for one e-mail address after which it is locked "
                        "for auth.lockout_duration (whether or not the address has an account).",
                        3, 1000, [](Config& c) -> int64_t& { return c.auth.lockout_threshold; }));
  keys.push_back(DurationKey(
      "auth.lockout_duration", "15m", "How long a locked e-mail address stays locked.", minutes(1),
      hours(24), [](Config& c) -> milliseconds& { return c.auth.lockout_duration; }));
  keys.push_back(IntKey("auth.ip_failure_limit", 100,
                        "Failed logins from one IP address within auth.lockout_duration after "
                        "which that address gets 429 until the window passes.",
                        5, 1000000, [](Config& c) -> int64_t& { return c.auth.ip_failure_limit; }));
  keys.push_back(IntKey("auth.signup_ip_limit", 20,
                        "Sign-ups from one IP address within auth.lockout_duration; beyond this, "
                        "POST /v1/signup gets 429 until the window passes.",
                        1, 1000000, [](Config& c) -> int64_t& { return c.auth.signup_ip_limit; }));
  keys.push_back(DurationKey(
      "auth.mfa_challenge_ttl", "5m",
      "How long the challenge between password and second factor stays valid.", seconds(30),
      minutes(30), [](Config& c) -> milliseconds& { return c.auth.mfa_challenge_ttl; }));
  keys.push_back(DurationKey(
      "auth.invitation_ttl", "7d", "How long an invitation link stays valid.", minutes(10),
      hours(24 * 30), [](Config& c) -> milliseconds& { return c.auth.invitation_ttl; }));
  keys.push_back(StringKey(
      "auth.totp_issuer", "sicher", "Issuer name shown in authenticator apps.", "text",
      [](Config& c) -> std::string& { return c.auth.totp_issuer; },
      [](const std::string& s) -> Status {
        if (s.empty() || s.size() > 64 || s.find(':') != std::string::npos) {
          return InvalidArgumentError("must be 1 to 64 characters without ':'");
        }
        return OkStatus();
      }));

  // [audit]
  keys.push_back(StringKey(
      "audit.origin", "",
      "The origin line of the audit log's signed checkpoints (C2SP tlog-checkpoint), and the "
      "signing key's name: a unique name for this log, e.g. example.com/sicher/audit. Empty: "
      "sicher-audit/ followed by 16 hex digits of the signing key's hash.",
      "text", [](Config& c) -> std::string& { return c.audit.origin; },
      [](const std::string& s) -> Status {
        if (s.size() > 128) return InvalidArgumentError("must be at most 128 characters");
        for (char ch : s) {
          if (ch <= ' ' || ch == '+' || ch > '~') {
            return InvalidArgumentError("must be printable ASCII without spaces or '+'");
          }
        }
        return OkStatus();
      }));
  keys.push_back(StringKey(
      "audit.signing_key_path", "",
      "The Ed25519 key (PKCS#8 PEM, mode 0600) that signs audit checkpoints. Empty: "
      "<data.dir>/audit-signing.pem, created at first start. Keep a copy: checkpoints signed by "
      "it can only be verified with its public key (GET /v1/audit/key).",
      "path", [](Config& c) -> std::string& { return c.audit.signing_key_path; },
      [](const std::string&) { return OkStatus(); }));
  keys.push_back(DurationKey(
      "audit.checkpoint_interval", "60s",
      "How often a signed checkpoint of the audit log is made while the log grows.", seconds(1),
      hours(1), [](Config& c) -> milliseconds& { return c.audit.checkpoint_interval; }));
  keys.push_back(IntKey("audit.retention_days", 400,
                        "Audit events older than this lose their payload (their leaf hashes stay, "
                        "so the log remains verifiable).",
                        1, 36500, [](Config& c) -> int64_t& { return c.audit.retention_days; }));

  // [docs]
  keys.push_back(SizeKey("docs.max_document_bytes", "2GiB",
                         "Largest document (or replacement) accepted; larger uploads get 413 "
                         "before their body is read when they declare their length.",
                         1, 64 * kGiB,
                         [](Config& c) -> uint64_t& { return c.docs.max_document_bytes; }));
  keys.push_back(SizeKey("docs.chunk_size", "1MiB",
                         "Plaintext bytes per encrypted chunk of new document versions (the unit "
                         "of streaming and of Range reads).",
                         4 * kKiB, 16 * kMiB,
                         [](Config& c) -> uint64_t& { return c.docs.chunk_size; }));

  // [geo]
  keys.push_back(StringKey(
      "geo.database_path", "",
      "Optional MaxMind DB (.mmdb) file that gives the country of each login in the login log, "
      "e.g. /var/lib/GeoIP/GeoLite2-Country.mmdb (MaxMind GeoLite2/GeoIP2 Country or City, kept "
      "current by geoipupdate) or DB-IP's free IP-to-Country Lite .mmdb; any MMDB with "
      "country.iso_code works. Read when `sicher serve` starts: a missing or unreadable file "
      "stops the start (`config check` does not open it). A new file is used after a restart. "
      "Empty: no country is recorded.",
      "path or empty", [](Config& c) -> std::string& { return c.geo.database_path; }));

  // [backup]
  keys.push_back(StringKey(
      "backup.schedule", "0 2 * * *",
      "When backups run: a 5-field cron schedule in UTC (minute hour day-of-month month "
      "day-of-week), or @daily, @hourly, ...",
      "cron schedule", [](Config& c) -> std::string& { return c.backup.schedule; },
      [](const std::string& s) -> Status { return ParseCron(s).status(); }));
  keys.push_back(IntKey("backup.retention_days", 7,
                        "Days a backup is kept before it is deleted. At most 7: sicher promises "
                        "that deleted data leaves every backup within 7 days.",
                        1, 7, [](Config& c) -> int64_t& { return c.backup.retention_days; }));
  keys.push_back(KeyInfo{
      "backup.sites", ValueKind::kSiteArray, "array of tables {name, path}", "[]",
      "Backup destinations, one [[backup.sites]] table each with a unique name (letters, digits, "
      "'.', '_', '-') and a path (a directory, typically a mount of another machine or site).",
      [](const RawValue& v, Config& c) -> Status {
        const auto& sites = std::get<std::vector<BackupSite>>(v);
        std::set<std::string> names;
        for (size_t i = 0; i < sites.size(); ++i) {
          const BackupSite& site = sites[i];
          if (site.name.empty())
            return InvalidArgumentError(fmt::format("[{}]: name is missing", i));
          if (site.path.empty()) {
            return InvalidArgumentError(fmt::format("[{}] \"{}\": path is missing", i, site.name));
          }
          for (char ch : site.name) {
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' &&
                ch != '-') {
              return InvalidArgumentError(
                  fmt::format("[{}]: name \"{}\" may hold only letters, digits, '.', '_' and '-'",
                              i, site.name));
            }
          }
          if (!names.insert(site.name).second) {
            return InvalidArgumentError(
                fmt::format("[{}]: name \"{}\" is used twice", i, site.name));
          }
        }
        c.backup.sites = sites;
        return OkStatus();
      }});
  return keys;
}

}  // namespace

std::string KeyInfo::EnvName() const {
  std::string out = "SICHER_";
  for (char c : name) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

const std::vector<KeyInfo>& Keys() {
  static const std::vector<KeyInfo>* const kKeys = new std::vector<KeyInfo>(BuildKeys());
  return *kKeys;
}

const KeyInfo* FindKey(std::string_view name) {
  for (const KeyInfo& key : Keys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

std::string CertFile(const Config& config) {
  return config.server.cert_file.empty() ? JoinPath(JoinPath(config.data.dir, "tls"), "cert.pem")
                                         : config.server.cert_file;
}

std::string KeyFile(const Config& config) {
  return config.server.key_file.empty() ? JoinPath(JoinPath(config.data.dir, "tls"), "key.pem")
                                        : config.server.key_file;
}

std::string KeyringPath(const Config& config, const std::map<std::string, std::string>& environ) {
  if (auto it = environ.find("SICHER_KEYRING"); it != environ.end() && !it->second.empty()) {
    return it->second;
  }
  return config.keys.keyring_path.empty() ? JoinPath(config.data.dir, "keyring")
                                          : config.keys.keyring_path;
}

}  // namespace sicher::config
