#include "sicher/app/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "sicher/app/internal/existing.h"
#include "sicher/app/services.h"
#include "sicher/audit/log.h"
#include "sicher/auth/schema.h"
#include "sicher/keys/data_keys.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::app {
namespace internal {

Result<config::Config> LoadCommandConfig(const CommandFlags& flags, Env& env) {
  ASSIGN_OR_RETURN(config::Config cfg, config::LoadConfig(env, flags.config_path, flags.environ));
  if (flags.data_dir) cfg.data.dir = *flags.data_dir;
  return cfg;
}

Result<std::unique_ptr<Opened>> OpenExisting(const CommandFlags& flags, Env& env,
                                             const config::Config& cfg, bool need_signer) {
  if (!cfg.database.url.empty()) {
    return UnimplementedError("database.url selects PostgreSQL, which this build does not support");
  }
  const DataDir dir{cfg.data.dir};
  if (!env.fs.Exists(dir.DatabasePath())) {
    return NotFoundError("no database at " + dir.DatabasePath() +
                         "; is --data right? (`sicher serve` creates it on first start)");
  }
  auto o = std::make_unique<Opened>();
  ASSIGN_OR_RETURN(o->keyring, crypto::Keyring::Open(env, config::KeyringPath(cfg, flags.environ)));
  store::SqliteOptions so;
  so.path = dir.DatabasePath();
  so.reader_count = 1;
  so.migrations = AllMigrations();
  Result<std::unique_ptr<store::Store>> store = store::OpenSqliteStore(so, env, o->registry);
  if (!store.ok()) return store.status().WithContext("database");
  o->store = *std::move(store);
  o->log = std::make_unique<audit::Log>(*o->keyring, env);
  if (need_signer) {
    const std::string key_path = AuditSigningKeyPath(cfg, dir);
    if (!env.fs.Exists(key_path)) {
      return NotFoundError("no audit signing key at " + key_path +
                           " (`sicher serve` creates it on first start)");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<audit::NoteSigner> signer,
                     audit::LoadOrCreateSigner(env, key_path, cfg.audit.origin));
    o->log->SetSigner(std::move(signer));
  }
  return o;
}

}  // namespace internal

int RunOperatorAdd(const CommandFlags& flags, const std::string& email, std::ostream& out,
                   std::ostream& err) {
  Env& env = Env::Default();
  auto fail = [&err](const Status& s) {
    err << "sicher: " << s.message() << std::endl;
    return 1;
  };
  Result<config::Config> cfg = internal::LoadCommandConfig(flags, env);
  if (!cfg.ok()) return fail(cfg.status());
  Result<DataDir> dir = PrepareDataDir(env, cfg->data.dir);
  if (!dir.ok()) return fail(dir.status());
  metrics::Registry registry;
  events::Bus bus;
  Result<std::unique_ptr<Services>> services =
      Services::Open(env, *cfg, *dir, flags.environ, registry, bus);
  if (!services.ok()) return fail(services.status());
  Result<std::string> token = (*services)->auth->AddOperator(email);
  if (!token.ok()) return fail(token.status());
  out << "sicher: operator " << email << " created.\n"
      << "One-time enrolment token (valid " << cfg->auth.invitation_ttl.count() / 3'600'000
      << " h, shown only now):\n\n  " << *token << "\n\n"
      << "Enrol on the operator listener (https://" << cfg->server.operator_listen.ToString()
      << "/):\n"
      << "  1. POST /v1/operator/enrol {\"token\": TOKEN, \"password\": ...}  -> TOTP secret "
         "and QR code\n"
      << "  2. POST /v1/operator/enrol/confirm {\"token\": TOKEN, \"code\": ...} -> recovery "
         "codes\n"
      << "No operator session exists before step 2." << std::endl;
  return 0;
}

int RunKeysRotate(const CommandFlags& flags, std::ostream& out, std::ostream& err) {
  Env& env = Env::Default();
  auto fail = [&err](const Status& s) {
    err << "sicher: keys rotate: " << s.message() << std::endl;
    return 1;
  };
  Result<config::Config> cfg = internal::LoadCommandConfig(flags, env);
  if (!cfg.ok()) return fail(cfg.status());
  // The rotation replaces the keyring file (write, rename): run by another user (root), the
  // new file would belong to that user and the server could no longer read it. Checked before
  // anything is opened.
  const std::string keyring_path = config::KeyringPath(*cfg, flags.environ);
  struct stat st {};
  if (::stat(keyring_path.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
    return fail(FailedPreconditionError(
        "keyring " + keyring_path + " belongs to uid " + std::to_string(st.st_uid) +
        "; run `sicher keys rotate` as that user (the service user), not as uid " +
        std::to_string(::geteuid())));
  }
  Result<std::unique_ptr<internal::Opened>> opened =
      internal::OpenExisting(flags, env, *cfg, /*need_signer=*/false);
  if (!opened.ok()) return fail(opened.status());
  internal::Opened& o = **opened;

  Result<keys::RotationReport> report =
      keys::RotateKeks(*o.store, *o.keyring, env,
                       [&out](const std::string& line) { out << "sicher: " << line << std::endl; });
  if (!report.ok()) return fail(report.status());
  int64_t total = 0;
  for (const auto& [version, count] : report->keys_by_version) total += count;
  // The rotation as one audit event (server-wide, actor the command line).
  audit::Event ev;
  ev.action = "keys.rotated";
  ev.scope = std::string(audit::kSystemScope);
  ev.actor_type = audit::ActorType::kSystem;
  ev.actor_id = "cli";
  ev.target_type = "keyring";
  ev.details = {{"new_kek_version", report->new_version}, {"data_keys", total}};
  if (Status s = o.store->Write([&](store::Txn& txn) { return o.log->Append(txn, ev, nullptr); });
      !s.ok()) {
    return fail(s.WithContext("rotation done, but its audit event was not recorded"));
  }
  out << "sicher: key rotation complete: KEK version " << report->new_version << " is current, "
      << total << " data keys" << std::endl;
  return 0;
}

}  // namespace sicher::app
