#pragma once
// sicher's configuration: one TOML file plus environment overrides, read into a typed Config.
//
// Every key is described once, in the table returned by Keys(): its name, type, default,
// meaning and a validating setter. That table drives loading the file, the environment
// overrides, validation, and `sicher config defaults` (DefaultsToml()).
//
// Sources, later ones winning: the defaults; the TOML file (if a path is given); the environment
// (`SICHER_` + key upper-cased, dots as underscores: server.public_listen ->
// SICHER_SERVER_PUBLIC_LISTEN; SICHER_DATA also sets data.dir). The CLI's --data flag is applied
// by the caller, after LoadConfig.
//
// Errors: unknown keys in the file, values of the wrong type or out of range, and malformed
// syntax (host:port, CIDR, durations, sizes, cron, enums, database URL scheme) are reported all
// at once in one InvalidArgument Status, one problem per line, each naming the key (and, for the
// environment, the variable). Messages never echo database.url (it may hold a password).
// Unknown SICHER_* environment variables are not errors (see UnknownEnvironmentVariables).
//
// Thread-safety: all functions are thread-safe; a Config is a plain value.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sicher/base/env.h"
#include "sicher/base/status.h"
#include "sicher/config/values.h"

namespace sicher::config {

using std::chrono::milliseconds;

// Defaults below must equal the `default_toml` column of Keys() (a test checks).
struct ServerConfig {
  HostPort public_listen{"0.0.0.0", 8443};
  HostPort operator_listen{"127.0.0.1", 9443};
  std::optional<HostPort> redirect_listen;   // nullopt: no plain-HTTP redirect listener
  std::string tls_profile = "intermediate";  // "modern" | "intermediate" | "old"
  std::vector<std::string> trusted_proxies;  // canonical CIDRs, e.g. "10.0.0.0/8"
  std::string cert_file;                     // "": <data.dir>/tls/cert.pem (see CertFile())
  std::string key_file;                      // "": <data.dir>/tls/key.pem (see KeyFile())
  uint64_t max_header_bytes = 16 * kKiB;
  uint64_t max_body_bytes = 1 * kMiB;  // default per-route request body limit
  milliseconds read_timeout = std::chrono::seconds(10);
  milliseconds idle_timeout = std::chrono::seconds(60);
  milliseconds handshake_timeout = std::chrono::seconds(10);
  int64_t max_connections = 10000;
  milliseconds shutdown_grace = std::chrono::seconds(10);
  int64_t io_threads = 0;      // 0: number of cores
  int64_t worker_threads = 0;  // 0: four per core
  int64_t worker_queue = 1024;
  milliseconds cert_check_interval = std::chrono::seconds(5);  // 0: only SIGHUP reloads
  milliseconds ticket_key_rotation = std::chrono::hours(12);

  bool operator==(const ServerConfig&) const = default;
};

struct DatabaseConfig {
  std::string url;  // "": SQLite in the data directory; postgresql://... : PostgreSQL
  int64_t readers = 4;

  bool operator==(const DatabaseConfig&) const = default;
};

struct DataConfig {
  std::string dir = "./sicher-data";

  bool operator==(const DataConfig&) const = default;
};

// log.syslog.*: an optional RFC 5424 copy of some log categories (log/syslog_sink.h).
struct SyslogConfig {
  std::string address;              // "": off; "udp://host:port" | "tcp://host:port"
  std::string facility = "local0";  // log::ParseSyslogFacility
  std::string categories = "security,audit,access";  // log::ParseCategoryList
  int64_t queue_limit = 10000;
  uint64_t max_message_bytes = 2 * kKiB;
  std::string hostname;  // "": the system's host name

  bool operator==(const SyslogConfig&) const = default;
};

struct LogConfig {
  uint64_t max_file_bytes = 64 * kMiB;
  int64_t retention_files = 10;
  std::string stderr_level = "info";  // "debug" | "info" | "warn" | "error" (log::ParseLevel)
  SyslogConfig syslog;

  bool operator==(const LogConfig&) const = default;
};

struct HealthConfig {
  uint64_t min_free_bytes = 512 * kMiB;

  bool operator==(const HealthConfig&) const = default;
};

struct KeysConfig {
  std::string keyring_path;  // "": <data.dir>/keyring; SICHER_KEYRING overrides (see KeyringPath)

  bool operator==(const KeysConfig&) const = default;
};

struct AuthConfig {
  std::string signup = "open";  // "open" | "closed"
  milliseconds session_idle_timeout = std::chrono::hours(1);
  milliseconds session_lifetime = std::chrono::hours(12);
  uint64_t argon2_memory_bytes = 19 * kMiB;
  int64_t argon2_iterations = 2;
  int64_t hash_threads = 0;  // 0: number of cores
  int64_t hash_queue = 64;
  int64_t lockout_threshold = 10;
  milliseconds lockout_duration = std::chrono::minutes(15);
  int64_t ip_failure_limit = 100;
  int64_t signup_ip_limit = 20;
  milliseconds mfa_challenge_ttl = std::chrono::minutes(5);
  milliseconds invitation_ttl = std::chrono::hours(24 * 7);
  std::string totp_issuer = "sicher";

  bool operator==(const AuthConfig&) const = default;
};

struct DocsConfig {
  uint64_t max_document_bytes = 2 * kGiB;
  uint64_t chunk_size = 1 * kMiB;

  bool operator==(const DocsConfig&) const = default;
};

struct BackupSite {
  std::string name;
  std::string path;

  bool operator==(const BackupSite&) const = default;
};

struct BackupConfig {
  std::string schedule = "0 2 * * *";  // validated by ParseCron (cron.h)
  int64_t retention_days = 7;          // 1..7: backups are deleted within 7 days
  std::vector<BackupSite> sites;

  bool operator==(const BackupConfig&) const = default;
};

struct AuditConfig {
  std::string origin;            // "": sicher-audit/<16 hex of SHA-256(public key)>
  std::string signing_key_path;  // "": <data.dir>/audit-signing.pem, created at first start
  milliseconds checkpoint_interval = std::chrono::seconds(60);
  int64_t retention_days = 400;

  bool operator==(const AuditConfig&) const = default;
};

struct GeoConfig {
  std::string database_path;  // "": no country lookup; else a MaxMind DB (.mmdb) file

  bool operator==(const GeoConfig&) const = default;
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  DataConfig data;
  LogConfig log;
  HealthConfig health;
  KeysConfig keys;
  AuthConfig auth;
  DocsConfig docs;
  BackupConfig backup;
  AuditConfig audit;
  GeoConfig geo;

  bool operator==(const Config&) const = default;
};

// The certificate and key files in use: the configured ones, or the defaults in the data
// directory (created, self-signed, at first start).
std::string CertFile(const Config& config);
std::string KeyFile(const Config& config);
// The keyring file: $SICHER_KEYRING if set, else keys.keyring_path, else <data.dir>/keyring.
std::string KeyringPath(const Config& config, const std::map<std::string, std::string>& environ);

// How a key's value is written in TOML.
enum class ValueKind {
  kString,       // "text"
  kSize,         // "64KiB" or an integer number of bytes
  kInteger,      // 42
  kStringArray,  // ["a", "b"]; environment: comma-separated
  kSiteArray,    // [[backup.sites]] tables; environment: "name=path,name=path"
};

// A value as read from the file or the environment, before validation.
using RawValue =
    std::variant<std::string, int64_t, std::vector<std::string>, std::vector<BackupSite>>;

struct KeyInfo {
  std::string name;  // "server.read_timeout"
  ValueKind kind;
  std::string type;          // for people: "duration", "size", "host:port", "integer 1..64", ...
  std::string default_toml;  // the default as a TOML value: "\"10s\"", "4", "[]"
  std::string meaning;       // what it does, for `sicher config defaults`
  // Validates `value` and stores it in `config`. The error says why, without the key name.
  std::function<Status(const RawValue& value, Config& config)> apply;

  // "SICHER_SERVER_READ_TIMEOUT".
  std::string EnvName() const;
};

// Every key, in the order `config defaults` prints them (grouped by section).
const std::vector<KeyInfo>& Keys();
// The key named `name`, or nullptr.
const KeyInfo* FindKey(std::string_view name);

// Reads `path` (if given) through env.fs, then applies `environ` overrides.
Result<Config> LoadConfig(Env& env, std::optional<std::string> path,
                          const std::map<std::string, std::string>& environ);
// The same from TOML text; `source` names it in errors (a file name).
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source,
                           const std::map<std::string, std::string>& environ);
// Validates a file alone (no environment): OK, or every problem in one InvalidArgument.
Status CheckConfigFile(Env& env, const std::string& path);

// A commented TOML document with every key set to its default, its meaning and its environment
// variable. It passes CheckConfigFile.
std::string DefaultsToml();

// SICHER_* variables in `environ` that match no key (and are not SICHER_DATA): likely typos the
// caller may warn about.
std::vector<std::string> UnknownEnvironmentVariables(
    const std::map<std::string, std::string>& environ);

}  // namespace sicher::config
