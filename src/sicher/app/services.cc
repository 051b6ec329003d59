#include "sicher/app/services.h"

#include <thread>

#include "sicher/auth/schema.h"
#include "sicher/docs/schema.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::app {

auth::AuthOptions AuthOptionsFrom(const config::Config& cfg) {
  auth::AuthOptions o;
  o.signup_open = cfg.auth.signup == "open";
  o.session_idle_timeout = cfg.auth.session_idle_timeout;
  o.session_lifetime = cfg.auth.session_lifetime;
  o.throttle.lockout_threshold = cfg.auth.lockout_threshold;
  o.throttle.lockout_duration = cfg.auth.lockout_duration;
  o.throttle.ip_failure_limit = cfg.auth.ip_failure_limit;
  o.throttle.signup_ip_limit = cfg.auth.signup_ip_limit;
  o.mfa_challenge_ttl = cfg.auth.mfa_challenge_ttl;
  o.invitation_ttl = cfg.auth.invitation_ttl;
  o.totp_issuer = cfg.auth.totp_issuer;
  return o;
}

std::vector<store::Migration> AllMigrations() {
  std::vector<store::Migration> all = store::CoreMigrations();
  for (store::Migration& m : auth::AuthMigrations()) all.push_back(std::move(m));
  for (store::Migration& m : docs::DocsMigrations()) all.push_back(std::move(m));
  for (store::Migration& m : audit::AuditMigrations()) all.push_back(std::move(m));
  return all;
}

std::string AuditSigningKeyPath(const config::Config& cfg, const DataDir& dir) {
  return cfg.audit.signing_key_path.empty() ? JoinPath(dir.root, "audit-signing.pem")
                                            : cfg.audit.signing_key_path;
}

Result<std::unique_ptr<Services>> Services::Open(Env& env, const config::Config& cfg,
                                                 const DataDir& dir,
                                                 const std::map<std::string, std::string>& environ,
                                                 metrics::Registry& registry, events::Bus& bus) {
  if (!cfg.database.url.empty()) {
    return UnimplementedError(
        "database.url selects PostgreSQL, which this build does not support yet; leave it "
        "empty for the embedded SQLite store");
  }
  auto s = std::make_unique<Services>();
  // Destroyed in reverse: docs and auth before the store and keyring they borrow.
  const std::string keyring_path = config::KeyringPath(cfg, environ);
  Result<std::unique_ptr<crypto::Keyring>> keyring =
      crypto::Keyring::OpenOrCreate(env, keyring_path);
  if (!keyring.ok()) return keyring.status().WithContext("keyring " + keyring_path);
  s->keyring = *std::move(keyring);

  store::SqliteOptions so;
  so.path = dir.DatabasePath();
  so.reader_count = static_cast<int>(cfg.database.readers);
  so.migrations = AllMigrations();
  Result<std::unique_ptr<store::Store>> opened = store::OpenSqliteStore(so, env, registry);
  if (!opened.ok()) return opened.status().WithContext("database");
  s->store = *std::move(opened);

  s->audit = std::make_unique<audit::Log>(*s->keyring, env);
  Result<std::unique_ptr<audit::NoteSigner>> signer =
      audit::LoadOrCreateSigner(env, AuditSigningKeyPath(cfg, dir), cfg.audit.origin);
  if (!signer.ok()) return signer.status();
  s->audit->SetSigner(*std::move(signer));

  Result<std::unique_ptr<net::UserAgentParser>> parser = net::UserAgentParser::Create();
  if (!parser.ok()) return parser.status().WithContext("user-agent parser");
  s->ua_parser = *std::move(parser);

  // The country lookup is optional, but a configured database that cannot be opened stops the
  // start: a login log silently without countries would be a broken promise.
  if (!cfg.geo.database_path.empty()) {
    Result<std::unique_ptr<net::GeoLookup>> geo = net::GeoLookup::Open(cfg.geo.database_path);
    if (!geo.ok()) return geo.status().WithContext("geo.database_path");
    s->geo = *std::move(geo);
  }

  crypto::PasswordParams params;
  params.memory_bytes = cfg.auth.argon2_memory_bytes;
  params.iterations = static_cast<uint32_t>(cfg.auth.argon2_iterations);
  RETURN_IF_ERROR(crypto::ValidatePasswordParams(params).WithContext("auth.argon2_*"));
  const size_t threads = cfg.auth.hash_threads > 0
                             ? static_cast<size_t>(cfg.auth.hash_threads)
                             : std::max<size_t>(1, std::thread::hardware_concurrency());
  s->hasher = std::make_unique<auth::PasswordHasher>(params, threads,
                                                     static_cast<size_t>(cfg.auth.hash_queue));
  s->auth = std::make_unique<auth::AuthService>(*s->store, *s->keyring, *s->hasher, *s->ua_parser,
                                                bus, *s->audit, env, AuthOptionsFrom(cfg));
  s->auth->SetGeoLookup(s->geo.get());
  Result<std::unique_ptr<docs::DocStore>> doc_store = docs::DocStore::Create(
      *s->store, *s->keyring, bus, *s->audit, env,
      docs::DocStoreOptions{.chunk_size = static_cast<uint32_t>(cfg.docs.chunk_size),
                            .max_document_bytes = cfg.docs.max_document_bytes});
  if (!doc_store.ok()) return doc_store.status().WithContext("document store");
  s->docs = *std::move(doc_store);
  return s;
}

}  // namespace sicher::app
