#include "sicher/audit/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "sicher/audit/merkle.h"
#include "sicher/audit/record.h"
#include "sicher/base/bytes.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/hash.h"
#include "sicher/crypto/signing.h"

namespace sicher::audit {
namespace {

using store::Blob;
using store::Row;
using store::Txn;
using store::Value;

constexpr size_t kMaxUserAgentBytes = 512;
constexpr size_t kMaxFieldBytes = 256;

std::string Clean(std::string_view s, size_t max) { return std::string(TruncateUtf8(s, max)); }

// The lowest level of the Merkle tree stored in audit_nodes. Nodes of levels 1 to 3 (nearly 88%
// of all nodes) are not stored: each is the hash of at most 8 leaves, read in one range scan of
// audit_events when a root or a proof needs it. Databases written before keep their rows of
// levels 1-3; they are equal to the computed hashes and no longer read.
constexpr int kStoredNodeLevel = 4;

// The Merkle tree's perfect subtrees: level 0 in audit_events, levels 1-3 computed from the
// leaves, the rest in audit_nodes.
class TxnNodes final : public NodeReader {
 public:
  explicit TxnNodes(Txn& txn) : txn_(txn) {}
  Result<std::string> Node(int level, uint64_t index) override {
    if (level > 0 && level < kStoredNodeLevel) return FromLeaves(level, index);
    Result<std::optional<Row>> row =
        level == 0 ? txn_.QueryOne("SELECT leaf_hash FROM audit_events WHERE log_index = ?",
                                   {static_cast<int64_t>(index)})
                   : txn_.QueryOne("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?",
                                   {int64_t{level}, static_cast<int64_t>(index)});
    if (!row.ok()) return row.status();
    if (!row->has_value()) return Missing(level, index);
    return (**row).GetBlob(0);
  }

 private:
  static Status Missing(int level, uint64_t index) {
    return NotFoundError(fmt::format("audit tree node ({}, {}) is missing", level, index));
  }

  Result<std::string> FromLeaves(int level, uint64_t index) {
    const uint64_t count = uint64_t{1} << level;
    if (index > (std::numeric_limits<uint64_t>::max() >> level) - 1) return Missing(level, index);
    const uint64_t first = index << level;
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        txn_.Query("SELECT log_index, leaf_hash FROM audit_events "
                   "WHERE log_index >= ? AND log_index < ? ORDER BY log_index",
                   {static_cast<int64_t>(first), static_cast<int64_t>(first + count)}));
    if (rows.size() != count) return Missing(level, index);
    std::vector<std::string> hashes;
    hashes.reserve(count);
    for (const Row& r : rows) {
      if (static_cast<uint64_t>(r.GetInt(0)) != first + hashes.size()) return Missing(level, index);
      hashes.push_back(r.GetBlob(1));
    }
    for (size_t width = count; width > 1; width /= 2) {
      for (size_t i = 0; i < width / 2; ++i) {
        hashes[i] = NodeHash(hashes[2 * i], hashes[2 * i + 1]);
      }
    }
    return hashes[0];
  }

  Txn& txn_;
};

std::string PayloadOwner(std::string_view scope, uint64_t log_index) {
  return fmt::format("{}#{}", scope, log_index);
}

// [prefix, prefix-successor) for an action filter that ends in '.'; exact match otherwise.
void AddActionFilter(const std::string& action, std::string* sql, std::vector<Value>* args) {
  if (action.empty()) return;
  if (action.back() == '.') {
    std::string upper = action;
    upper.back() = '.' + 1;  // '/' sorts right after '.'
    *sql += " AND action >= ? AND action < ?";
    args->push_back(action);
    args->push_back(upper);
  } else {
    *sql += " AND action = ?";
    args->push_back(action);
  }
}

// Scope sequence numbers kept between batches; past this the cache starts again empty.
constexpr size_t kMaxCachedScopes = 4096;

}  // namespace

// The append side of the log: the tree's size and right edge and every scope's last sequence
// number, kept in memory between appends and written once per write batch, before its commit
// (store::BatchParticipant), instead of by every Append: one UPDATE of audit_tree, one upsert per
// scope and the batch's new Merkle nodes, rather than two counter updates, a sibling read and
// a node insert per event. docs/design/audit-log.md, "Appending".
//
// The state is exact as long as every append to the database goes through it. It is checked
// against the stored tree size at the first append of every batch and reloaded when they
// differ (another Log or process appended) or when a batch was rolled back; the appends of a
// closure the store rolls back are undone with it. Used under Log::append_mu_ (`mu`), which the
// store's callbacks take too.
class Log::Tail final : public store::BatchParticipant {
 public:
  using Hash = std::array<char, kMerkleHashBytes>;

  explicit Tail(std::mutex& mu) : mu_(mu) {}

  // The sealing contexts (AES-GCM key schedules) of the scopes this batch appended to, made
  // from their data_keys rows: kept for the batch only, so no key outlives its batch in memory
  // (a destroyed key's schedule is gone within milliseconds), and checked against the row for
  // every append (Log::Sealer).
  struct CachedSealer {
    std::string wrapped;  // the data_keys row it was made from
    uint64_t epoch = 0;   // keys::DataKeys::ChangeEpoch() when that row was last read
    crypto::AeadContext ctx;
  };
  std::map<std::string, CachedSealer, std::less<>> sealers;

  // Called by Append before anything else: joins `txn`'s batch (loading or checking the state
  // at the batch's first append) and starts the closure's undo record.
  Status Begin(Txn& txn) {
    if (txn.read_only()) return FailedPreconditionError("audit: appending needs a write");
    if (!in_batch_) {
      ASSIGN_OR_RETURN(const uint64_t stored, TreeSize(txn));
      if (!loaded_ || stored != size_) RETURN_IF_ERROR(Load(txn, stored));
      if (sequences_.size() > kMaxCachedScopes) sequences_.clear();  // none is dirty here
      txn.Enlist(*this);
      in_batch_ = true;
      stored_size_ = size_;
    }
    if (!in_closure_) {
      in_closure_ = true;
      closure_size_ = size_;
      closure_nodes_ = nodes_.size();
    }
    return OkStatus();
  }

  uint64_t size() const { return size_; }

  // The scope's next sequence number (not taken until Commit).
  Result<int64_t> NextSequence(Txn& txn, const std::string& scope) {
    auto it = sequences_.find(scope);
    if (it == sequences_.end()) {
      ASSIGN_OR_RETURN(
          std::optional<Row> row,
          txn.QueryOne("SELECT last_sequence FROM audit_scopes WHERE scope = ?", {scope}));
      const int64_t stored = row ? row->GetInt(0) : 0;
      it = sequences_.emplace(scope, Sequence{stored, stored, false}).first;
    }
    return it->second.current + 1;
  }

  // Event times never go backwards, even when the wall clock does (an NTP step, a resumed VM):
  // so the (at, log_index) order of queries and exports is the log's own order.
  int64_t EventTime(int64_t now_us) {
    last_at_us_ = std::max(last_at_us_, now_us);
    return last_at_us_;
  }

  // The nodes appending `leaf` as leaf number size() completes (see merkle.h AppendLeaf).
  Result<std::vector<NodeWrite>> Grow(std::string_view leaf) {
    EdgeReader edge(*this);
    return AppendLeaf(edge, size_, leaf);
  }

  // Takes the sequence number and the tree position once the event's row is written.
  void Commit(const std::string& scope, int64_t sequence, std::vector<NodeWrite> writes) {
    Sequence& q = sequences_.at(scope);
    sequence_undo_.emplace_back(scope, q.current);
    q.current = sequence;
    if (!q.dirty) {
      q.dirty = true;
      dirty_.push_back(scope);
    }
    const NodeWrite& top = writes.back();  // the node that now ends the right edge
    Hash& slot = edge_[static_cast<size_t>(top.level)];
    edge_undo_.emplace_back(top.level, slot);
    std::copy(top.hash.begin(), top.hash.end(), slot.begin());
    for (NodeWrite& w : writes) {
      if (w.level >= kStoredNodeLevel) nodes_.push_back(std::move(w));
    }
    ++size_;
  }

  void ClosureEnded(bool kept) override {
    std::lock_guard lock(mu_);
    // What a rolled-back closure read or created (the system scope's key) may be gone.
    if (!kept) sealers.clear();
    if (!in_closure_) return;
    if (!kept) {
      size_ = closure_size_;
      nodes_.resize(closure_nodes_);
      for (auto it = edge_undo_.rbegin(); it != edge_undo_.rend(); ++it) {
        edge_[static_cast<size_t>(it->first)] = it->second;
      }
      for (auto it = sequence_undo_.rbegin(); it != sequence_undo_.rend(); ++it) {
        sequences_.at(it->first).current = it->second;
      }
    }
    in_closure_ = false;
    edge_undo_.clear();
    sequence_undo_.clear();
  }

  Status BeforeCommit(Txn& txn) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(InsertNodes(txn));
    if (size_ != stored_size_) {
      RETURN_IF_ERROR(
          txn.Exec("UPDATE audit_tree SET size = ? WHERE id = 1", {static_cast<int64_t>(size_)}));
      if (txn.ChangedRows() != 1) return InternalError("audit: audit_tree row is missing");
    }
    for (const std::string& scope : dirty_) {
      const Sequence& q = sequences_.at(scope);
      if (q.current == q.stored) continue;  // its appends were all rolled back
      RETURN_IF_ERROR(txn.Exec(
          "INSERT INTO audit_scopes (scope, last_sequence) VALUES (?, ?) ON CONFLICT (scope) "
          "DO UPDATE SET last_sequence = excluded.last_sequence",
          {scope, q.current}));
    }
    return OkStatus();
  }

  void BatchEnded(bool committed) override {
    std::lock_guard lock(mu_);
    sealers.clear();
    if (committed) {
      stored_size_ = size_;
      for (const std::string& scope : dirty_) {
        Sequence& q = sequences_.at(scope);
        q.stored = q.current;
        q.dirty = false;
      }
    } else {  // the database is back where the batch began: read it again
      loaded_ = false;
      sequences_.clear();
    }
    dirty_.clear();
    nodes_.clear();
    in_batch_ = false;
    in_closure_ = false;
    edge_undo_.clear();
    sequence_undo_.clear();
  }

 private:
  struct Sequence {
    int64_t stored = 0;   // in audit_scopes
    int64_t current = 0;  // including this batch's kept appends
    bool dirty = false;   // changed in this batch (listed in dirty_)
  };

  // The batch's new nodes of the stored levels (kStoredNodeLevel and up: a batch of 512
  // appends completes ~32 of them), up to kNodesPerInsert rows per statement. Row counts are
  // powers of two, so at most log2(kNodesPerInsert) + 1 statement texts exist.
  Status InsertNodes(Txn& txn) {
    constexpr size_t kNodesPerInsert = 64;
    std::vector<Value> args;
    for (size_t done = 0; done < nodes_.size();) {
      size_t rows = kNodesPerInsert;
      while (rows > nodes_.size() - done) rows /= 2;
      std::string sql = "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)";
      for (size_t i = 1; i < rows; ++i) sql += ", (?, ?, ?)";
      args.clear();
      for (size_t i = done; i < done + rows; ++i) {
        const NodeWrite& w = nodes_[i];
        args.push_back(int64_t{w.level});
        args.push_back(static_cast<int64_t>(w.index));
        args.push_back(Blob{w.hash});
      }
      RETURN_IF_ERROR(txn.Exec(sql, args));
      done += rows;
    }
    return OkStatus();
  }

  // The right edge as a NodeReader for AppendLeaf, which reads only these nodes.
  class EdgeReader final : public NodeReader {
   public:
    explicit EdgeReader(const Tail& tail) : tail_(tail) {}
    Result<std::string> Node(int level, uint64_t index) override {
      const uint64_t size = tail_.size_;
      if (level < 0 || level >= 64 || ((size >> level) & 1) == 0 || index != (size >> level) - 1) {
        return InternalError(
            fmt::format("audit: node ({}, {}) is not on the right edge", level, index));
      }
      const Hash& h = tail_.edge_[static_cast<size_t>(level)];
      return std::string(h.begin(), h.end());
    }

   private:
    const Tail& tail_;
  };

  // Reads the state of a stored tree of `size` leaves.
  Status Load(Txn& txn, uint64_t size) {
    loaded_ = false;
    TxnNodes nodes(txn);
    for (int level = 0; level < 64; ++level) {
      if (((size >> level) & 1) == 0) continue;
      ASSIGN_OR_RETURN(const std::string hash, nodes.Node(level, (size >> level) - 1));
      if (hash.size() != kMerkleHashBytes) return DataLossError("audit: a stored hash is damaged");
      std::copy(hash.begin(), hash.end(), edge_[static_cast<size_t>(level)].begin());
    }
    ASSIGN_OR_RETURN(std::optional<Row> last,
                     txn.QueryOne("SELECT at FROM audit_events ORDER BY log_index DESC LIMIT 1"));
    if (last) last_at_us_ = std::max(last_at_us_, last->GetInt(0));
    sequences_.clear();
    size_ = size;
    loaded_ = true;
    return OkStatus();
  }

  std::mutex& mu_;
  bool loaded_ = false;      // the fields below describe the database (plus this batch)
  bool in_batch_ = false;    // enlisted in the running batch
  bool in_closure_ = false;  // the running closure appended
  uint64_t size_ = 0;        // leaves, including this batch's kept appends
  uint64_t stored_size_ = 0;
  std::array<Hash, 64> edge_{};   // edge_[l]: the last complete node of level l, if bit l of size_
  int64_t last_at_us_ = 0;        // the newest event's time
  std::vector<NodeWrite> nodes_;  // completed in this batch, levels >= kStoredNodeLevel
  std::unordered_map<std::string, Sequence> sequences_;
  std::vector<std::string> dirty_;
  // Undo of the running closure's appends.
  uint64_t closure_size_ = 0;
  size_t closure_nodes_ = 0;
  std::vector<std::pair<int, Hash>> edge_undo_;
  std::vector<std::pair<std::string, int64_t>> sequence_undo_;
};

std::string DefaultOrigin(std::string_view public_key) {
  return "sicher-audit/" + HexEncode(crypto::Sha256(public_key).substr(0, 8));
}

Result<std::unique_ptr<NoteSigner>> LoadOrCreateSigner(Env& env, const std::string& path,
                                                       std::string origin) {
  std::optional<crypto::Ed25519PrivateKey> key;
  if (env.fs.Exists(path)) {
    ASSIGN_OR_RETURN(std::string pem, env.fs.ReadFile(path));
    Result<crypto::Ed25519PrivateKey> loaded = crypto::Ed25519PrivateKey::FromPem(pem);
    if (!loaded.ok()) return loaded.status().WithContext("audit signing key " + path);
    key.emplace(*std::move(loaded));
  } else {
    ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey fresh, crypto::Ed25519PrivateKey::Generate());
    ASSIGN_OR_RETURN(std::string pem, fresh.ToPem());
    RETURN_IF_ERROR(env.fs.WriteFileAtomic(path, pem, 0600).WithContext("audit signing key"));
    key.emplace(std::move(fresh));
  }
  if (origin.empty()) origin = DefaultOrigin(key->PublicKey());
  Result<NoteSigner> signer = NoteSigner::Create(std::move(origin), *std::move(key));
  if (!signer.ok()) return signer.status().WithContext("audit.origin");
  return std::make_unique<NoteSigner>(*std::move(signer));
}

std::string_view ActorTypeName(ActorType type) {
  switch (type) {
    case ActorType::kUser:
      return "user";
    case ActorType::kOperator:
      return "operator";
    case ActorType::kLink:
      return "link";
    case ActorType::kSystem:
      return "system";
  }
  return "system";
}

std::string CanonicalJson(const nlohmann::json& value) {
  // nlohmann's objects are std::maps (sorted keys), it writes no whitespace with indent -1, and
  // escapes exactly what RFC 8785 escapes (", \, control characters; \u00xx in lower case).
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string EncodeCursor(const Position& p) {
  return Base64UrlEncode(fmt::format("{}.{}", p.at_us, p.log_index));
}

std::optional<Position> DecodeCursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > 64) return std::nullopt;
  std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw) return std::nullopt;
  const size_t dot = raw->find('.');
  if (dot == std::string::npos) return std::nullopt;
  Position p;
  const char* b = raw->data();
  const char* e = raw->data() + raw->size();
  auto r1 = std::from_chars(b, b + dot, p.at_us);
  auto r2 = std::from_chars(b + dot + 1, e, p.log_index);
  if (r1.ec != std::errc() || r1.ptr != b + dot || r2.ec != std::errc() || r2.ptr != e ||
      p.log_index < 0) {
    return std::nullopt;
  }
  return p;
}

Log::Log(crypto::Keyring& keyring, Env& env)
    : keyring_(keyring),
      env_(env),
      random_(env.random),
      keys_(keyring, random_),
      tail_(std::make_unique<Tail>(append_mu_)) {}
Log::~Log() = default;

void Log::SetSigner(std::unique_ptr<NoteSigner> signer) { signer_ = std::move(signer); }

Result<crypto::AeadContext*> Log::Sealer(Txn& txn, const std::string& scope) {
  auto& sealers = tail_->sealers;
  // Read in this batch, and no key changed in this process since: the row is as it was (no
  // other process can write while the batch holds the write lock).
  const uint64_t epoch = keys::DataKeys::ChangeEpoch();
  if (auto it = sealers.find(scope); it != sealers.end() && it->second.epoch == epoch) {
    return &it->second.ctx;
  }
  Result<std::string> wrapped = keys_.GetWrapped(txn, scope);
  if (!wrapped.ok()) {
    sealers.erase(scope);  // destroyed by an earlier closure of this batch
    if (wrapped.status().code() != StatusCode::kNotFound || scope != kSystemScope) {
      return wrapped.status();
    }
    RETURN_IF_ERROR(keys_.Create(txn, scope, env_.clock.Now()).status());
    wrapped = keys_.GetWrapped(txn, scope);
    if (!wrapped.ok()) return wrapped.status();
  }
  auto it = sealers.find(scope);
  if (it == sealers.end() || it->second.wrapped != *wrapped) {
    ASSIGN_OR_RETURN(const SecretBytes dek, keys_.Unwrap(txn, scope, *wrapped));
    ASSIGN_OR_RETURN(crypto::AeadContext ctx, crypto::AeadContext::Create(dek));
    it = sealers.insert_or_assign(scope, Tail::CachedSealer{*std::move(wrapped), 0, std::move(ctx)})
             .first;
  }
  it->second.epoch = keys::DataKeys::ChangeEpoch();  // after any Create above
  return &it->second.ctx;
}

Result<PreparedEvent> Log::Prepare(const Event& e) const {
  const ActionInfo* info = FindAction(e.action);
  if (info == nullptr) {
    return InvalidArgumentError(fmt::format("audit: action '{}' is not in the catalog", e.action));
  }
  if (e.outcome != "success" && e.outcome != "failure" && e.outcome != "unknown") {
    return InvalidArgumentError("audit: outcome must be success, failure or unknown");
  }
  if (e.scope.empty() || e.scope.size() > kMaxFieldBytes) {
    return InvalidArgumentError("audit: an event needs a scope");
  }
  PreparedEvent p;
  p.info_ = info;
  p.scope_ = e.scope;
  p.actor_id_ = Clean(e.actor_id, kMaxFieldBytes);
  p.outcome_ = e.outcome == "success" ? "success" : e.outcome == "failure" ? "failure" : "unknown";
  p.ip_index_ = e.ip.empty() ? Value(store::kNull) : Value(keyring_.BlindIndex("audit_ip", e.ip));
  const std::string id = NewId(random_, "aev");
  const std::string reason = Clean(e.reason, kMaxFieldBytes);
  const std::string target_type = Clean(e.target_type, kMaxFieldBytes);
  const std::string target_id = Clean(e.target_id, kMaxFieldBytes);
  const std::string device_type = Clean(e.device_type, kMaxFieldBytes);
  const std::string account_id = Clean(e.account_id, 64);
  const std::string ip = Clean(e.ip, kMaxFieldBytes);
  const std::string country = Clean(e.country, 8);
  const std::string user_agent = Clean(e.user_agent, kMaxUserAgentBytes);
  const std::string request_id = Clean(e.request_id, kMaxFieldBytes);
  p.record_ = RecordTemplate::Render(RecordFields{
      .timestamp = {},  // the four position fields are filled in by Append
      .id = id,
      .action = info->name,
      .category = info->ecs_category,
      .outcome = p.outcome_,
      .reason = reason,
      .sequence = 0,
      .log_index = 0,
      .scope = {},
      .actor_type = ActorTypeName(e.actor_type),
      .actor_id = p.actor_id_,
      .target_type = target_type,
      .target_id = target_type.empty() ? std::string_view() : std::string_view(target_id),
      .device_type = device_type,
      .details = &e.details,
      .account_id = account_id,
      .ip = ip,
      .country = country,
      .user_agent = user_agent,
      .request_id = request_id,
      .actor_is_principal =
          e.actor_type == ActorType::kUser || e.actor_type == ActorType::kOperator});
  return p;
}

Status Log::Append(Txn& txn, const Event& e, Pending* pending) {
  ASSIGN_OR_RETURN(const PreparedEvent prepared, Prepare(e));
  return Append(txn, prepared, pending);
}

Status Log::Append(Txn& txn, const PreparedEvent& e, Pending* pending) {
  if (e.info_ == nullptr) return InvalidArgumentError("audit: the event was not prepared");
  std::lock_guard lock(append_mu_);
  Tail& tail = *tail_;
  RETURN_IF_ERROR(tail.Begin(txn));
  // The scope's key. A scope whose key is gone (a deleted user) cannot own new events; they go
  // to the system scope instead, so nothing is ever lost for want of a key.
  std::string scope = e.scope_;
  Result<crypto::AeadContext*> sealer = Sealer(txn, scope);
  if (!sealer.ok() && sealer.status().code() == StatusCode::kNotFound && scope != kSystemScope) {
    scope = std::string(kSystemScope);
    sealer = Sealer(txn, scope);
  }
  if (!sealer.ok()) return sealer.status();

  const uint64_t log_index = tail.size();
  ASSIGN_OR_RETURN(const int64_t sequence, tail.NextSequence(txn, scope));
  const Time at = FromMicros(tail.EventTime(Micros(env_.clock.Now())));
  std::string canonical = e.record_.Complete(FormatRfc3339(at), sequence, log_index, scope);
  const std::string leaf = LeafHash(canonical);
  ASSIGN_OR_RETURN(std::vector<NodeWrite> writes, tail.Grow(leaf));
  ASSIGN_OR_RETURN(std::string sealed, keys_.Seal(**sealer, "audit_events", "payload",
                                                  PayloadOwner(scope, log_index), canonical));
  RETURN_IF_ERROR(txn.Exec(
      "INSERT INTO audit_events (log_index, at, scope, sequence, action, actor_id, outcome, "
      "ip_index, payload, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {static_cast<int64_t>(log_index), Micros(at), scope, sequence, std::string(e.info_->name),
       e.actor_id_, std::string(e.outcome_), e.ip_index_, Blob{std::move(sealed)}, Blob{leaf}}));
  tail.Commit(scope, sequence, std::move(writes));
  if (pending != nullptr) {
    pending->push_back(Appended{e.info_, std::move(canonical)});
  }
  return OkStatus();
}

void Log::Publish(Pending& pending) {
  if (logger_ != nullptr) {
    for (const Appended& a : pending) {
      nlohmann::json line = nlohmann::json::parse(a.record, nullptr, /*allow_exceptions=*/false);
      if (line.is_discarded()) continue;
      logger_->Write(a.action->category, std::move(line));
    }
  }
  pending.clear();
}

Result<std::string> Log::OpenRecord(Txn& txn, KeyCache& keys, const std::string& scope,
                                    uint64_t log_index, std::string_view sealed) {
  auto it = keys.find(scope);
  if (it == keys.end()) {
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, scope));
    it = keys.emplace(scope, std::move(dek)).first;
  }
  Result<std::string> plain =
      keys_.Open(it->second, "audit_events", "payload", PayloadOwner(scope, log_index), sealed);
  if (!plain.ok()) {
    return DataLossError(fmt::format("payload of event {} failed authentication", log_index));
  }
  return plain;
}

Result<std::vector<StoredEvent>> Log::Page(Txn& txn, std::span<const std::string> scopes,
                                           const Filter& f, std::optional<Position> after,
                                           size_t limit, Order order) {
  const bool desc = order == Order::kNewestFirst;
  std::vector<StoredEvent> merged;
  for (const std::string& scope : scopes) {
    std::string sql =
        "SELECT log_index, at, scope FROM audit_events "
        "WHERE scope = ? AND payload IS NOT NULL";
    std::vector<Value> args{scope};
    if (!f.actor_id.empty()) {
      sql += " AND actor_id = ?";
      args.push_back(f.actor_id);
    }
    if (f.from) {
      sql += " AND at >= ?";
      args.push_back(Micros(*f.from));
    }
    if (f.to) {
      sql += " AND at < ?";
      args.push_back(Micros(*f.to));
    }
    if (after) {
      sql += desc ? " AND (at, log_index) < (?, ?)" : " AND (at, log_index) > (?, ?)";
      args.push_back(after->at_us);
      args.push_back(after->log_index);
    }
    if (f.below_log_index) {
      sql += " AND log_index < ?";
      args.push_back(static_cast<int64_t>(*f.below_log_index));
    }
    AddActionFilter(f.action, &sql, &args);
    if (!f.outcome.empty()) {
      sql += " AND outcome = ?";
      args.push_back(f.outcome);
    }
    if (!f.ip.empty()) {
      sql += " AND ip_index = ?";
      args.push_back(keyring_.BlindIndex("audit_ip", f.ip));
    }
    sql += desc ? " ORDER BY at DESC, log_index DESC LIMIT ?" : " ORDER BY at, log_index LIMIT ?";
    args.push_back(static_cast<int64_t>(limit));
    ASSIGN_OR_RETURN(std::vector<Row> rows, txn.Query(sql, args));
    for (Row& r : rows) {
      StoredEvent ev;
      ev.log_index = static_cast<uint64_t>(r.GetInt(0));
      ev.at_us = r.GetInt(1);
      ev.scope = r.GetText(2);
      merged.push_back(std::move(ev));
    }
  }
  auto before = [desc](const StoredEvent& a, const StoredEvent& b) {
    if (a.at_us != b.at_us) return desc ? a.at_us > b.at_us : a.at_us < b.at_us;
    return desc ? a.log_index > b.log_index : a.log_index < b.log_index;
  };
  std::sort(merged.begin(), merged.end(), before);
  if (merged.size() > limit) merged.resize(limit);
  KeyCache keys;
  // Only now the payloads, of the events kept: with many scopes (an account's members) the
  // first phase may have found scopes x limit candidates, each a few dozen bytes.
  for (StoredEvent& ev : merged) {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT sequence, payload, leaf_hash FROM audit_events WHERE "
                                  "log_index = ? AND payload IS NOT NULL",
                                  {static_cast<int64_t>(ev.log_index)}));
    if (!row) {  // purged between the two reads (a Write's purge cannot: same snapshot)
      ev.status = NotFoundError("purged");
      continue;
    }
    ev.sequence = row->GetInt(0);
    ev.leaf_hash = row->GetBlob(2);
    Result<std::string> plain = OpenRecord(txn, keys, ev.scope, ev.log_index, row->GetBlob(1));
    if (plain.ok()) {
      ev.record = *std::move(plain);
    } else {
      ev.record.clear();
      ev.status = plain.status();
    }
  }
  return merged;
}

Result<uint64_t> Log::TreeSize(Txn& txn) {
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT size FROM audit_tree WHERE id = 1"));
  if (!row) return InternalError("audit: audit_tree row is missing");
  return static_cast<uint64_t>(row->GetInt(0));
}

Result<StoredCheckpoint> Log::MakeCheckpoint(store::Store& store) {
  if (!signer_) return FailedPreconditionError("audit: no checkpoint signing key");
  StoredCheckpoint out;
  RETURN_IF_ERROR(store.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(const uint64_t size, TreeSize(txn));
    if (size == 0) return FailedPreconditionError("audit: the log is empty");
    Result<StoredCheckpoint> last = GetCheckpoint(txn, std::nullopt);
    if (last.ok() && last->size == size) {
      out = *std::move(last);
      return OkStatus();
    }
    TxnNodes nodes(txn);
    ASSIGN_OR_RETURN(std::string root, RootHash(nodes, size));
    Checkpoint cp{.origin = signer_->name(), .size = size, .root_hash = root, .extensions = {}};
    ASSIGN_OR_RETURN(std::string note, signer_->Sign(CheckpointBody(cp)));
    out = StoredCheckpoint{size, root, note, env_.clock.Now()};
    return txn.Exec(
        "INSERT INTO audit_checkpoints (size, root_hash, note, created_at) VALUES (?, ?, ?, ?)",
        {static_cast<int64_t>(size), Blob{root}, note, Micros(out.created_at)});
  }));
  return out;
}

Result<StoredCheckpoint> Log::GetCheckpoint(Txn& txn, std::optional<uint64_t> size) {
  Result<std::optional<Row>> row =
      size ? txn.QueryOne(
                 "SELECT size, root_hash, note, created_at FROM audit_checkpoints "
                 "WHERE size = ?",
                 {static_cast<int64_t>(*size)})
           : txn.QueryOne(
                 "SELECT size, root_hash, note, created_at FROM audit_checkpoints "
                 "ORDER BY size DESC LIMIT 1");
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return NotFoundError(size ? fmt::format("no checkpoint of size {}", *size)
                              : std::string("no checkpoint yet"));
  }
  const Row& r = **row;
  return StoredCheckpoint{static_cast<uint64_t>(r.GetInt(0)), r.GetBlob(1), r.GetText(2),
                          FromMicros(r.GetInt(3))};
}

Result<InclusionProofView> Log::InclusionProof(Txn& txn, uint64_t log_index, uint64_t tree_size) {
  ASSIGN_OR_RETURN(const uint64_t size, TreeSize(txn));
  if (tree_size > size) return InvalidArgumentError("size is larger than the tree");
  if (log_index >= tree_size) return InvalidArgumentError("leaf must be below size");
  TxnNodes nodes(txn);
  InclusionProofView v{log_index, tree_size, {}, {}};
  ASSIGN_OR_RETURN(v.leaf_hash, nodes.Node(0, log_index));
  ASSIGN_OR_RETURN(v.proof, audit::InclusionProof(nodes, log_index, tree_size));
  return v;
}

Result<std::vector<std::string>> Log::ConsistencyProof(Txn& txn, uint64_t size1, uint64_t size2) {
  ASSIGN_OR_RETURN(const uint64_t size, TreeSize(txn));
  if (size2 > size) return InvalidArgumentError("size is larger than the tree");
  if (size1 == 0 || size1 > size2) return InvalidArgumentError("need 0 < from <= to");
  TxnNodes nodes(txn);
  return audit::ConsistencyProof(nodes, size1, size2);
}

Result<int64_t> Log::PurgeScope(store::Store& store, std::string_view scope, int batch) {
  int64_t total = 0;
  for (;;) {
    int64_t changed = 0;
    RETURN_IF_ERROR(store.Write([&](Txn& txn) -> Status {
      RETURN_IF_ERROR(txn.Exec(
          "UPDATE audit_events SET payload = NULL, ip_index = NULL WHERE log_index IN "
          "(SELECT log_index FROM audit_events WHERE scope = ? AND payload IS NOT NULL LIMIT ?)",
          {std::string(scope), int64_t{batch}}));
      changed = txn.ChangedRows();
      return OkStatus();
    }));
    total += changed;
    if (changed < batch) return total;
  }
}

Result<int64_t> Log::PurgeExpired(store::Store& store, Time cutoff, int batch) {
  int64_t total = 0;
  for (;;) {
    bool done = false;
    int64_t changed = 0;
    RETURN_IF_ERROR(store.Write([&](Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Row> mark,
                       txn.QueryOne("SELECT purged_below FROM audit_tree WHERE id = 1"));
      const int64_t from = mark->GetInt(0);
      ASSIGN_OR_RETURN(std::vector<Row> rows,
                       txn.Query("SELECT log_index, at FROM audit_events WHERE log_index >= ? "
                                 "ORDER BY log_index LIMIT ?",
                                 {from, int64_t{batch}}));
      int64_t end = from;
      for (const Row& r : rows) {
        if (r.GetInt(1) >= Micros(cutoff)) {
          done = true;
          break;
        }
        end = r.GetInt(0) + 1;
      }
      if (rows.size() < static_cast<size_t>(batch)) done = true;
      if (end == from) return OkStatus();
      RETURN_IF_ERROR(txn.Exec(
          "UPDATE audit_events SET payload = NULL, ip_index = NULL WHERE log_index >= ? AND "
          "log_index < ? AND payload IS NOT NULL",
          {from, end}));
      changed = txn.ChangedRows();
      return txn.Exec("UPDATE audit_tree SET purged_below = ? WHERE id = 1", {end});
    }));
    total += changed;
    if (done) return total;
  }
}

Result<VerifyReport> Log::VerifyStore(store::Store& store, const Checkpoint& checkpoint) {
  VerifyReport report;
  // The root is rebuilt with a frontier of perfect subtrees (O(log n) hashes), not a whole tree
  // in memory: frontier[i] is the hash of a perfect subtree of 2^heights[i] leaves, heights
  // strictly decreasing from the left.
  std::vector<std::string> frontier;
  std::vector<int> heights;
  auto add_leaf = [&](std::string hash) {
    int height = 0;
    while (!heights.empty() && heights.back() == height) {
      hash = NodeHash(frontier.back(), hash);
      frontier.pop_back();
      heights.pop_back();
      ++height;
    }
    frontier.push_back(std::move(hash));
    heights.push_back(height);
  };
  auto missing = [&](int64_t index) {
    report.problems.push_back(fmt::format("event at log index {} is missing", index));
    add_leaf(std::string(32, '\0'));
  };
  constexpr int64_t kBatch = 2000;
  int64_t next = 0;
  const int64_t end = static_cast<int64_t>(checkpoint.size);
  while (next < end) {
    const int64_t window_end = std::min(end, next + kBatch);
    RETURN_IF_ERROR(store.Read([&](Txn& txn) -> Status {
      KeyCache keys;
      ASSIGN_OR_RETURN(
          std::vector<Row> rows,
          txn.Query("SELECT log_index, scope, payload, leaf_hash, at, sequence, action, actor_id, "
                    "outcome FROM audit_events WHERE log_index >= ? AND log_index < ? "
                    "ORDER BY log_index",
                    {next, window_end}));
      for (const Row& r : rows) {
        const int64_t index = r.GetInt(0);
        for (; next < index; ++next) missing(next);
        const std::string& leaf = r.GetBlob(3);
        add_leaf(leaf);
        ++report.events_checked;
        ++next;
        if (r.IsNull(2)) {
          ++report.purged;
          continue;
        }
        Result<std::string> record =
            OpenRecord(txn, keys, r.GetText(1), static_cast<uint64_t>(index), r.GetBlob(2));
        if (!record.ok()) {
          report.problems.push_back(
              fmt::format("event at log index {}: payload does not open under scope {} at this "
                          "index (modified or moved)",
                          index, r.GetText(1)));
          continue;
        }
        const nlohmann::json j = nlohmann::json::parse(*record, nullptr, false);
        if (!j.is_object()) {
          report.problems.push_back(
              fmt::format("event at log index {}: its record is not a JSON object", index));
          continue;
        }
        const nlohmann::json* ev =
            j.is_object() && j.contains("event") && j["event"].is_object() ? &j["event"] : nullptr;
        const std::string id = ev != nullptr ? ev->value("id", "") : "";
        if (!ConstantTimeEquals(LeafHash(*record), leaf)) {
          report.problems.push_back(fmt::format(
              "event {} at log index {}: record does not match its leaf hash", id, index));
          continue;
        }
        // The clear columns serve filters and retention; they must say what the record says,
        // or an edit could hide an event from a query or push it past the retention cutoff.
        std::vector<std::string> differ;
        if (j.value("@timestamp", "") != FormatRfc3339(FromMicros(r.GetInt(4)))) {
          differ.push_back("at");
        }
        if (ev == nullptr || ev->value("sequence", int64_t{-1}) != r.GetInt(5)) {
          differ.push_back("sequence");
        }
        if (ev == nullptr || ev->value("action", "") != r.GetText(6)) differ.push_back("action");
        const nlohmann::json actor = j.contains("sicher")
                                         ? j["sicher"].value("actor", nlohmann::json::object())
                                         : nlohmann::json::object();
        if (actor.value("id", "") != r.GetText(7)) differ.push_back("actor_id");
        if (ev == nullptr || ev->value("outcome", "") != r.GetText(8)) {
          differ.push_back("outcome");
        }
        if (!differ.empty()) {
          std::string cols;
          for (const std::string& d : differ) cols += (cols.empty() ? "" : ", ") + d;
          report.problems.push_back(
              fmt::format("event {} at log index {}: stored column(s) {} differ from its record "
                          "(edited to hide it from filters or move it in time)",
                          id, index, cols));
        }
      }
      for (; next < window_end; ++next) missing(next);
      return OkStatus();
    }));
  }
  std::string root = frontier.empty() ? EmptyRootHash() : frontier.back();
  for (size_t i = frontier.size(); i-- > 1;) root = NodeHash(frontier[i - 1], root);
  if (root != checkpoint.root_hash) {
    report.problems.push_back(fmt::format(
        "the stored events do not rebuild the checkpoint's root hash at size {}", checkpoint.size));
  }
  return report;
}

}  // namespace sicher::audit
