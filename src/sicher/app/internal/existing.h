#pragma once
// What the CLI commands that act on a data directory share (commands.cc, commands_audit.cc):
// the configuration as the flags amend it, and the directory's database, keyring and audit log
// opened without creating anything. Private to app/.

#include <memory>

#include "sicher/app/commands.h"
#include "sicher/audit/log.h"
#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/config/config.h"
#include "sicher/crypto/keyring.h"
#include "sicher/store/store.h"

namespace sicher::app::internal {

// The configuration file and environment of `flags`, with --data applied.
Result<config::Config> LoadCommandConfig(const CommandFlags& flags, Env& env);

struct Opened {
  metrics::Registry registry;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<audit::Log> log;
};

// Opens the existing database (every migration applied), keyring and audit log. A missing
// database or keyring is an error, never a fresh one: a new keyring would make every data key
// unreadable. `need_signer`: also the audit checkpoint signing key, which must exist.
Result<std::unique_ptr<Opened>> OpenExisting(const CommandFlags& flags, Env& env,
                                             const config::Config& cfg, bool need_signer);

}  // namespace sicher::app::internal
