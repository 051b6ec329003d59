// audit_fill: appends N synthetic `document.read` events to one account of an existing data
// directory, for tests and measurements that need a big audit log (tests/integration/
// test_audit_export_memory.py exports a million of them).
//
//   audit_fill --data DIR --account acc_... --events N [--actor usr_...] [--batch 5000]
//
// The directory must have been created by `sicher serve` (database, keyring) and the server must
// not be running. The database and keyring are opened exactly as `sicher audit export` opens
// them (config defaults plus SICHER_* from the environment, data.dir = DIR; every subsystem's
// migrations). Events go through audit::Log::Append, `--batch` per write transaction, so they
// are real events: sealed under the account's data key, leaves of the Merkle tree, with their
// per-scope sequence numbers. Progress goes to stderr; the last line on stdout is
// "appended N events; tree size M".

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "sicher/app/data_dir.h"
#include "sicher/app/services.h"
#include "sicher/audit/log.h"
#include "sicher/base/env.h"
#include "sicher/base/ids.h"
#include "sicher/base/metrics.h"
#include "sicher/config/config.h"
#include "sicher/crypto/keyring.h"
#include "sicher/store/sqlite/sqlite_store.h"

extern char** environ;

namespace sicher {
namespace {

int Usage(const char* why) {
  std::fprintf(stderr,
               "audit_fill: %s\nusage: audit_fill --data DIR --account ACC_ID --events N "
               "[--actor USR_ID] [--batch 5000]\n",
               why);
  return 2;
}

bool ParseCount(const char* text, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') return false;
  *out = v;
  return true;
}

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "audit_fill: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 1;
}

int Run(int argc, char** argv) {
  std::string data_dir, account_id, actor_id;
  uint64_t events = 0;
  uint64_t batch = 5000;
  bool have_events = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--help" || arg == "-h") {
      Usage("append synthetic document.read audit events to an account");
      return 0;
    }
    if (value == nullptr) return Usage(("missing value for " + arg).c_str());
    ++i;
    if (arg == "--data") {
      data_dir = value;
    } else if (arg == "--account") {
      account_id = value;
    } else if (arg == "--actor") {
      actor_id = value;
    } else if (arg == "--events") {
      if (!ParseCount(value, &events)) return Usage("--events must be a non-negative integer");
      have_events = true;
    } else if (arg == "--batch") {
      if (!ParseCount(value, &batch) || batch == 0 || batch > 1000000) {
        return Usage("--batch must be 1 to 1000000");
      }
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (data_dir.empty() || account_id.empty() || !have_events) {
    return Usage("--data, --account and --events are required");
  }
  if (!IsValidId(account_id, "acc")) return Usage("--account must be an account id (acc_...)");

  std::map<std::string, std::string> env_vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env_vars.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }

  Env& env = Env::Default();
  Result<config::Config> cfg = config::LoadConfig(env, std::nullopt, env_vars);
  if (!cfg.ok()) return Fail("configuration", cfg.status());
  cfg->data.dir = data_dir;
  const app::DataDir dir{data_dir};
  if (!env.fs.Exists(dir.DatabasePath())) {
    return Fail("data directory",
                NotFoundError("no database at " + dir.DatabasePath() +
                              " (start `sicher serve --data DIR` once to create it)"));
  }
  Result<std::unique_ptr<crypto::Keyring>> keyring =
      crypto::Keyring::Open(env, config::KeyringPath(*cfg, env_vars));
  if (!keyring.ok()) return Fail("keyring", keyring.status());
  metrics::Registry registry;
  store::SqliteOptions so;
  so.path = dir.DatabasePath();
  so.reader_count = 1;
  so.migrations = app::AllMigrations();
  Result<std::unique_ptr<store::Store>> opened = store::OpenSqliteStore(so, env, registry);
  if (!opened.ok()) return Fail("database", opened.status());
  std::unique_ptr<store::Store> store = *std::move(opened);
  audit::Log log(**keyring, env);

  // The account must exist (else Append would file the events under the system scope), and
  // the default actor is its owner.
  Status s = store->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> account,
                     txn.QueryOne("SELECT 1 FROM accounts WHERE id = ?", {account_id}));
    if (!account) return NotFoundError("no account " + account_id);
    if (actor_id.empty()) {
      ASSIGN_OR_RETURN(std::optional<store::Row> owner,
                       txn.QueryOne("SELECT user_id FROM memberships WHERE account_id = ? AND "
                                    "role = 'owner'",
                                    {account_id}));
      if (owner) actor_id = owner->GetText(0);
    }
    return OkStatus();
  });
  if (!s.ok()) return Fail("account", s);

  const auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  uint64_t next_report = 0;
  while (done < events) {
    const uint64_t n = std::min<uint64_t>(batch, events - done);
    s = store->Write([&](store::Txn& txn) -> Status {
      for (uint64_t i = 0; i < n; ++i) {
        audit::Event ev;
        ev.action = "document.read";
        ev.scope = account_id;
        ev.account_id = account_id;
        ev.actor_type = actor_id.empty() ? audit::ActorType::kSystem : audit::ActorType::kUser;
        ev.actor_id = actor_id;
        ev.target_type = "document";
        ev.target_id = "doc_auditfill" + std::to_string((done + i) % 1000);
        ev.ip = "192.0.2." + std::to_string(1 + (done + i) % 254);
        ev.user_agent = "audit_fill/1 (synthetic)";
        ev.device_type = "other";
        ev.request_id = "audit-fill-" + std::to_string(done + i);
        ev.details = {{"synthetic", true}, {"n", done + i}};
        RETURN_IF_ERROR(log.Append(txn, ev, nullptr));
      }
      return OkStatus();
    });
    if (!s.ok()) return Fail("append", s);
    done += n;
    if (done >= next_report || done == events) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "audit_fill: %llu / %llu events (%.0f/s)\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(events),
                   secs > 0 ? static_cast<double>(done) / secs : 0.0);
      next_report = done + std::max<uint64_t>(batch, events / 20);
    }
  }
  uint64_t size = 0;
  s = store->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(size, audit::Log::TreeSize(txn));
    return OkStatus();
  });
  if (!s.ok()) return Fail("tree size", s);
  std::printf("appended %llu events; tree size %llu\n", static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(size));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace sicher

int main(int argc, char** argv) { return sicher::Run(argc, argv); }
