#pragma once
// The long-lived objects behind `sicher serve` and the CLI commands that act on the data
// directory (`sicher operator add`): keyring, store (with every subsystem's migrations),
// user-agent parser, password hasher and the auth service. Built in dependency order,
// destroyed in reverse.

#include <map>
#include <memory>
#include <string>

#include "sicher/app/data_dir.h"
#include "sicher/audit/log.h"
#include "sicher/auth/password_hasher.h"
#include "sicher/auth/service.h"
#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/config/config.h"
#include "sicher/crypto/keyring.h"
#include "sicher/docs/doc_store.h"
#include "sicher/events/bus.h"
#include "sicher/net/user_agent/user_agent.h"
#include "sicher/store/migration.h"
#include "sicher/store/store.h"

namespace sicher::app {

struct Services {
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<audit::Log> audit;  // with its checkpoint signer
  std::unique_ptr<net::UserAgentParser> ua_parser;
  std::unique_ptr<net::GeoLookup> geo;  // null unless geo.database_path is set
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<docs::DocStore> docs;

  // Opens everything. The keyring is created on first use (serve's first start). Errors name
  // what failed (never key material).
  static Result<std::unique_ptr<Services>> Open(Env& env, const config::Config& cfg,
                                                const DataDir& dir,
                                                const std::map<std::string, std::string>& environ,
                                                metrics::Registry& registry, events::Bus& bus);
};

auth::AuthOptions AuthOptionsFrom(const config::Config& cfg);

// The audit checkpoint signing key's file: audit.signing_key_path or <data.dir>/audit-signing.pem.
std::string AuditSigningKeyPath(const config::Config& cfg, const DataDir& dir);

// Every subsystem's schema migrations, in order: whatever opens the database (serve, CLI
// commands) must know all of them, or it refuses a database a sibling command created.
std::vector<store::Migration> AllMigrations();

}  // namespace sicher::app
