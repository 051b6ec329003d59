#pragma once
// The audit log (docs/design/audit-log.md): one append-only table of events, each committed in
// the transaction of the change it describes, its record sealed under its scope's data key, and
// every event a leaf of one RFC 6962 Merkle tree with signed checkpoints.
//
// Writing, from any subsystem:
//
//   audit::Pending pending;
//   Status s = store.Write([&](store::Txn& txn) -> Status {
//     ... the change ...
//     return audit.Append(txn, {.action = "member.role_changed", .scope = account_id, ...},
//                         &pending);
//   });
//   if (s.ok()) audit.Publish(pending);   // log files, syslog; only after the commit
//
// Append refuses an action that is not in the catalog (actions.h). If the closure fails after
// Append, the store rolls the event back with the change (and the leaf index with it: the
// counters are rows in the same transaction), so the tree stays dense and gap-free.
//
// Reading: Page (query and export pages, newest or oldest first, several scopes merged),
// checkpoints, inclusion and consistency proofs, purges, and VerifyStore (the server-side check
// of every stored event against a checkpoint).
//
// Thread-safe: its only mutable state is the newest event's time (under a mutex) and the
// optional sink and signer, set before use. One Log per store. Borrows the keyring and Env,
// which must outlive it.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/audit/actions.h"
#include "sicher/audit/checkpoint.h"
#include "sicher/audit/record.h"
#include "sicher/base/env.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"
#include "sicher/crypto/aead.h"
#include "sicher/crypto/keyring.h"
#include "sicher/keys/data_keys.h"
#include "sicher/log/logger.h"
#include "sicher/store/migration.h"
#include "sicher/store/store.h"

namespace sicher::audit {

// Migration 300: audit_events, audit_scopes, audit_tree, audit_nodes, audit_checkpoints.
std::vector<store::Migration> AuditMigrations();

// Events that belong to no account, user or operator (server-wide key operations, sign-in
// attempts for unknown addresses) are sealed under the key of this scope.
inline constexpr std::string_view kSystemScope = "system";

// The checkpoint signer: the Ed25519 key in `path` (PKCS#8 PEM), created with mode 0600 when the
// file does not exist. `origin` names the log and the key; empty: DefaultOrigin.
Result<std::unique_ptr<NoteSigner>> LoadOrCreateSigner(Env& env, const std::string& path,
                                                       std::string origin);
// "sicher-audit/" + the first 8 bytes of SHA-256(public key) in hex.
std::string DefaultOrigin(std::string_view public_key);

enum class ActorType { kUser, kOperator, kLink, kSystem };
std::string_view ActorTypeName(ActorType type);  // "user", "operator", "link", "system"

struct Event {
  std::string_view action;  // from the catalog (actions.h)
  std::string scope;        // whose key seals it and who may read it: acc_, usr_, opr_ or system
  std::string account_id;   // organization.id, when the event belongs to an account
  ActorType actor_type = ActorType::kSystem;
  std::string actor_id;
  std::string target_type;
  std::string target_id;
  std::string_view outcome = "success";  // success, failure or unknown
  std::string reason;                    // machine code, e.g. "wrong_password"
  std::string ip;
  std::string country;     // source.geo.country_iso_code, when known
  std::string user_agent;  // cut at 512 bytes
  std::string device_type;
  std::string request_id;
  // Action-specific, never a secret, a token, a personal field's value or document content.
  nlohmann::json details = nlohmann::json::object();
};

// An event made ready before its write transaction (Log::Prepare): checked, its fields cut to
// their limits, its id drawn, its IP blind-indexed and its record rendered except for its place
// in the log. Appending it then does only what depends on that place, on the store's writer
// thread, which every write in the process waits for. A value type; append it once (its event
// id was drawn by Prepare).
class PreparedEvent {
 private:
  friend class Log;
  const ActionInfo* info_ = nullptr;
  std::string scope_;
  std::string actor_id_;
  std::string_view outcome_;
  store::Value ip_index_;
  RecordTemplate record_;
};

// An event appended in a transaction that is not yet known to have committed.
struct Appended {
  const ActionInfo* action = nullptr;
  std::string record;  // canonical JSON
};
using Pending = std::vector<Appended>;

// The canonical JSON text (RFC 8785 for sicher's value types): sorted keys, no whitespace.
// Invalid UTF-8 in strings is replaced with U+FFFD.
std::string CanonicalJson(const nlohmann::json& value);

// A stored event as read back.
struct StoredEvent {
  uint64_t log_index = 0;
  int64_t at_us = 0;
  std::string scope;
  int64_t sequence = 0;
  std::string leaf_hash;
  std::string record;  // canonical JSON; empty when `status` is not OK
  Status status;       // DataLoss when the payload did not open (tampered or moved)
};

struct Filter {
  std::optional<Time> from;  // inclusive
  std::optional<Time> to;    // exclusive
  std::string action;        // exact name, or a prefix ending in '.'
  std::string actor_id;
  std::string outcome;
  std::string ip;
  std::optional<uint64_t> below_log_index;  // only events with log_index < this (export)
};

// A position between two events in (at, log_index) order: the cursor of pagination.
struct Position {
  int64_t at_us = 0;
  int64_t log_index = 0;
};
std::string EncodeCursor(const Position& p);
std::optional<Position> DecodeCursor(std::string_view cursor);

enum class Order { kNewestFirst, kOldestFirst };

struct StoredCheckpoint {
  uint64_t size = 0;
  std::string root_hash;  // raw 32 bytes
  std::string note;       // the signed note text
  Time created_at{};
};

struct InclusionProofView {
  uint64_t log_index = 0;
  uint64_t tree_size = 0;
  std::string leaf_hash;
  std::vector<std::string> proof;
};

struct VerifyReport {
  uint64_t events_checked = 0;
  uint64_t purged = 0;
  std::vector<std::string> problems;  // empty: everything checked out
};

class Log {
 public:
  Log(crypto::Keyring& keyring, Env& env);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Optional: after Publish, records go to the category files (and through them to syslog).
  void SetLogger(log::Logger* logger) { logger_ = logger; }
  // Required for checkpoints.
  void SetSigner(std::unique_ptr<NoteSigner> signer);
  const NoteSigner* signer() const { return signer_.get(); }

  // Appends `event` inside `txn` (a write transaction). `pending` (may be null) receives the
  // record for Publish. InvalidArgument for an action outside the catalog or a bad outcome.
  // The event row is written at once; the tree size, the scope's sequence counter and the new
  // Merkle nodes are kept in memory and written once per write batch, before its commit
  // (store::BatchParticipant), so a checkpoint made inside the same batch does not include it
  // yet. A Log appends to one store, whose writes must be serialised (the SQLite store's
  // single writer).
  Status Append(store::Txn& txn, const Event& event, Pending* pending);
  // The same in two steps: Prepare on any thread (thread-safe; InvalidArgument as Append),
  // before the write, and Append of the result inside it. A caller whose event does not depend
  // on what its transaction reads should prepare outside the closure: the closure runs on the
  // store's single writer thread.
  Result<PreparedEvent> Prepare(const Event& event) const;
  Status Append(store::Txn& txn, const PreparedEvent& event, Pending* pending);
  // Writes committed events to their category log files. Clears `pending`.
  void Publish(Pending& pending);

  // One page of `scopes`' events matching `filter`, strictly after `after` in `order`, at most
  // `limit`. Purged events are skipped. Must run in a Read (or Write) transaction.
  Result<std::vector<StoredEvent>> Page(store::Txn& txn, std::span<const std::string> scopes,
                                        const Filter& filter, std::optional<Position> after,
                                        size_t limit, Order order);

  // Tree size (number of events ever appended).
  static Result<uint64_t> TreeSize(store::Txn& txn);

  // Signs and stores a checkpoint of the current tree if it has grown since the last one (or
  // there is none); returns the latest checkpoint either way. FailedPrecondition without a
  // signer or with an empty tree.
  Result<StoredCheckpoint> MakeCheckpoint(store::Store& store);
  // The checkpoint of exactly `size`, or the latest when nullopt. NotFound when none.
  static Result<StoredCheckpoint> GetCheckpoint(store::Txn& txn, std::optional<uint64_t> size);

  static Result<InclusionProofView> InclusionProof(store::Txn& txn, uint64_t log_index,
                                                   uint64_t tree_size);
  static Result<std::vector<std::string>> ConsistencyProof(store::Txn& txn, uint64_t size1,
                                                           uint64_t size2);

  // Purges (clears payload and IP index, keeps the leaf hash) every event of `scope`, in
  // batches of `batch` per transaction. Returns the number purged.
  static Result<int64_t> PurgeScope(store::Store& store, std::string_view scope, int batch = 1000);
  // Purges events older than `cutoff`, from the retention watermark on. Returns the number.
  static Result<int64_t> PurgeExpired(store::Store& store, Time cutoff, int batch = 1000);

  // Checks every stored event below `checkpoint.size` (payload opens with its own log index and
  // hashes to its leaf hash; no index missing) and that the stored leaves rebuild the
  // checkpoint's root. Problems name the log index and, when readable, the event id.
  Result<VerifyReport> VerifyStore(store::Store& store, const Checkpoint& checkpoint);

 private:
  // Scope keys already unwrapped in one read transaction: a page or a verification window
  // opens many events of few scopes.
  using KeyCache = std::map<std::string, SecretBytes, std::less<>>;
  Result<std::string> OpenRecord(store::Txn& txn, KeyCache& keys, const std::string& scope,
                                 uint64_t log_index, std::string_view sealed);

  // The scope's sealing context (its DEK's key schedule), kept for the rest of the write batch.
  // The data_keys row is read again whenever this process changed any key since it was last
  // read (keys::DataKeys::ChangeEpoch), and the cache is dropped with a rolled-back closure, so
  // a key destroyed earlier in the batch is never used. Creates the system scope's key if
  // missing.
  Result<crypto::AeadContext*> Sealer(store::Txn& txn, const std::string& scope);

  class Tail;

  crypto::Keyring& keyring_;
  Env& env_;
  // env_.random in 4 KiB draws: event ids, sealing nonces. Thread-safe (Prepare is const).
  mutable BufferedRandom random_;
  keys::DataKeys keys_;
  log::Logger* logger_ = nullptr;
  std::unique_ptr<NoteSigner> signer_;

  std::mutex append_mu_;  // guards tail_ (in practice: the store's writer thread)
  std::unique_ptr<Tail> tail_;
};

}  // namespace sicher::audit
