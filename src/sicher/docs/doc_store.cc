#include "sicher/docs/doc_store.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <future>

#include "sicher/base/ids.h"
#include "sicher/crypto/field.h"
#include "sicher/docs/internal/records.h"
#include "sicher/docs/internal/text.h"

namespace sicher::docs {

using store::Blob;
using store::Row;
using store::Txn;
using store::Value;

namespace {

constexpr std::string_view kNotFound = "document not found";
constexpr std::string_view kDamaged = "document is damaged";
constexpr std::string_view kTooLarge = "document exceeds the maximum size";
constexpr size_t kMaxTitleBytes = 1024;
constexpr size_t kMaxDescriptionBytes = 16 * 1024;
constexpr size_t kMaxContentTypeBytes = 255;
constexpr size_t kMaxUserAgentBytes = 512;
constexpr size_t kMaxShortTextBytes = 128;  // ip, device type, request id, ids
constexpr std::string_view kDefaultContentType = "application/octet-stream";
constexpr int kMaxListLimit = 100;

Status NotFound() { return NotFoundError(std::string(kNotFound)); }

Status ValidateNewDocument(const NewDocument& doc) {
  if (doc.title.empty() || doc.title.size() > kMaxTitleBytes || !internal::IsCleanUtf8(doc.title)) {
    return InvalidArgumentError("title must be 1 to 1024 bytes of UTF-8");
  }
  if (doc.description.size() > kMaxDescriptionBytes || !internal::IsCleanUtf8(doc.description)) {
    return InvalidArgumentError("description must be at most 16384 bytes of UTF-8");
  }
  if (doc.content_type.size() > kMaxContentTypeBytes) {
    return InvalidArgumentError("content type must be at most 255 characters");
  }
  for (char c : doc.content_type) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError("content type must be printable ASCII");
    }
  }
  return OkStatus();
}

// Reads until `buf` is full or the source ends. Returns the bytes read.
Result<size_t> Fill(ByteSource& source, std::string& buf) {
  size_t len = 0;
  while (len < buf.size()) {
    ASSIGN_OR_RETURN(size_t n, source.Read(std::span<char>(buf.data() + len, buf.size() - len)));
    if (n == 0) break;
    if (n > buf.size() - len) return InternalError("byte source returned more than asked for");
    len += n;
  }
  return len;
}

// Bounds the chunk writes handed to the store's writer at once (they carry a sealed chunk
// each), and collects the first error among them. Destruction waits for every write.
class InflightWindow {
 public:
  explicit InflightWindow(int max) : max_(max) {}
  ~InflightWindow() { (void)Drain(); }

  // Waits for a free slot; returns the first failed write's error, if any.
  Status Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return inflight_ < max_; });
    if (!first_error_.ok()) return first_error_;
    ++inflight_;
    return OkStatus();
  }
  // Called from the store's writer thread when a write is done. Notifies under the lock, so
  // the window cannot be destroyed between the decrement and the notification.
  void Release(const Status& s) {
    std::lock_guard lock(mu_);
    --inflight_;
    if (!s.ok() && first_error_.ok()) first_error_ = s;
    cv_.notify_all();
  }
  Status Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return inflight_ == 0; });
    return first_error_;
  }

 private:
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;
  Status first_error_;
};

// Registers an upload of (document, version) in this process, so the sweep leaves it alone.
class UploadRegistration {
 public:
  UploadRegistration(std::mutex& mu, std::set<std::pair<std::string, int64_t>>& uploads,
                     std::pair<std::string, int64_t> key)
      : mu_(mu), uploads_(uploads), key_(std::move(key)) {
    std::lock_guard lock(mu_);
    uploads_.insert(key_);
  }
  ~UploadRegistration() {
    std::lock_guard lock(mu_);
    uploads_.erase(key_);
  }
  UploadRegistration(const UploadRegistration&) = delete;
  UploadRegistration& operator=(const UploadRegistration&) = delete;

 private:
  std::mutex& mu_;
  std::set<std::pair<std::string, int64_t>>& uploads_;
  const std::pair<std::string, int64_t> key_;
};

// Cursor: base64url("<created_at>.<id>").
std::string EncodeCursor(int64_t created_at, std::string_view id) {
  return Base64UrlEncode(std::to_string(created_at) + "." + std::string(id));
}
bool DecodeCursor(std::string_view cursor, int64_t* created_at, std::string* id) {
  std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw) return false;
  const size_t dot = raw->find('.');
  if (dot == std::string::npos || dot == 0 || dot > 19) return false;
  int64_t v = 0;
  for (char c : raw->substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *created_at = v;
  *id = raw->substr(dot + 1);
  return IsValidId(*id, "doc");
}

}  // namespace

namespace internal {
std::string ETag(std::string_view document_id, uint64_t version) {
  return "\"" + std::string(document_id) + "-v" + std::to_string(version) + "\"";
}
}  // namespace internal

std::string_view ActorKindName(ActorKind kind) {
  switch (kind) {
    case ActorKind::kUser:
      return "user";
    case ActorKind::kLink:
      return "link";
    case ActorKind::kSystem:
      return "system";
  }
  return "system";
}

Result<std::unique_ptr<DocStore>> DocStore::Create(store::Store& store, crypto::Keyring& keyring,
                                                   events::Bus& bus, audit::Log& audit, Env& env,
                                                   DocStoreOptions options) {
  if (options.chunk_size < 4096 || options.chunk_size > (16u << 20)) {
    return InvalidArgumentError("docs: chunk_size must be 4 KiB to 16 MiB");
  }
  if (options.max_document_bytes == 0) {
    return InvalidArgumentError("docs: max_document_bytes must be positive");
  }
  if (options.max_inflight_chunks < 1 || options.max_inflight_chunks > 64) {
    return InvalidArgumentError("docs: max_inflight_chunks must be 1 to 64");
  }
  if (options.purge_batch_chunks < 1) {
    return InvalidArgumentError("docs: purge_batch_chunks must be at least 1");
  }
  return std::unique_ptr<DocStore>(new DocStore(store, keyring, bus, audit, env, options));
}

DocStore::DocStore(store::Store& store, crypto::Keyring& keyring, events::Bus& bus,
                   audit::Log& audit, Env& env, DocStoreOptions options)
    : store_(store),
      bus_(bus),
      audit_(audit),
      env_(env),
      options_(options),
      keys_(keyring, env.random) {}

// --- access records ----------------------------------------------------------------------------

Result<audit::PreparedEvent> DocStore::Stamp(Event& e) {
  const AccessContext& ctx = *e.ctx;
  e.id = NewId(env_.random, "dac");
  e.at = env_.clock.Now();
  audit::Event ev;
  ev.action = e.action;
  ev.scope = ctx.account_id;
  ev.account_id = ctx.account_id;
  switch (ctx.actor_kind) {
    case ActorKind::kUser:
      ev.actor_type = audit::ActorType::kUser;
      break;
    case ActorKind::kLink:
      ev.actor_type = audit::ActorType::kLink;
      break;
    case ActorKind::kSystem:
      ev.actor_type = audit::ActorType::kSystem;
      break;
  }
  ev.actor_id = ctx.actor_id;
  if (!e.document_id.empty()) {
    ev.target_type = "document";
    ev.target_id = e.document_id;
  } else if (!e.link_id.empty()) {
    ev.target_type = "link";
    ev.target_id = e.link_id;
  }
  ev.outcome = e.success ? "success" : "failure";
  ev.reason = e.reason;
  ev.ip = ctx.request.client_ip;
  ev.user_agent = ctx.request.user_agent;
  ev.device_type = ctx.request.device_type;
  ev.request_id = ctx.request.request_id;
  ev.details = {{"access_record_id", e.id}};
  if (e.version > 0) ev.details["version"] = e.version;
  if (e.bytes > 0) ev.details["bytes"] = e.bytes;
  if (!e.link_id.empty()) ev.details["link_id"] = e.link_id;
  return audit_.Prepare(ev);
}

Status DocStore::Record(Txn& txn, Event& e) {
  ASSIGN_OR_RETURN(const audit::PreparedEvent prepared, Stamp(e));
  return Record(txn, e, prepared);
}

Status DocStore::Record(Txn& txn, Event& e, const audit::PreparedEvent& prepared) {
  const AccessContext& ctx = *e.ctx;
  RETURN_IF_ERROR(txn.Exec(
      "INSERT INTO document_events (id, at, account_id, document_id, version, action, outcome, "
      "reason, actor_kind, actor_id, client_ip, user_agent, device_type, request_id, bytes, "
      "link_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {e.id, Micros(e.at), internal::CleanUtf8(ctx.account_id, kMaxShortTextBytes), e.document_id,
       e.version, std::string(e.action), std::string(e.success ? "success" : "failure"), e.reason,
       std::string(ActorKindName(ctx.actor_kind)),
       internal::CleanUtf8(ctx.actor_id, kMaxShortTextBytes),
       internal::CleanUtf8(ctx.request.client_ip, kMaxShortTextBytes),
       internal::CleanUtf8(ctx.request.user_agent, kMaxUserAgentBytes),
       internal::CleanUtf8(ctx.request.device_type, kMaxShortTextBytes),
       internal::CleanUtf8(ctx.request.request_id, kMaxShortTextBytes),
       static_cast<int64_t>(e.bytes), e.link_id}));
  return audit_.Append(txn, prepared, &e.audit);
}

void DocStore::PublishEvent(Event& e) {
  audit_.Publish(e.audit);
  const AccessContext& ctx = *e.ctx;
  events::DocumentAccessed out;
  out.id = e.id;
  out.at = e.at;
  out.account_id = ctx.account_id;
  out.document_id = e.document_id;
  out.version = static_cast<uint64_t>(e.version);
  out.action = std::string(e.action);
  out.outcome = e.success ? "success" : "failure";
  out.reason = e.reason;
  out.actor_kind = std::string(ActorKindName(ctx.actor_kind));
  out.actor_id = ctx.actor_id;
  out.link_id = e.link_id;
  out.client_ip = ctx.request.client_ip;
  out.user_agent = internal::CleanUtf8(ctx.request.user_agent, kMaxUserAgentBytes);
  out.device_type = ctx.request.device_type;
  out.request_id = ctx.request.request_id;
  out.bytes = e.bytes;
  bus_.Publish(out);
}

Status DocStore::RecordNow(Event e) {
  // Everything about the event is known before the write: prepared here, not on the writer.
  ASSIGN_OR_RETURN(const audit::PreparedEvent prepared, Stamp(e));
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) { return Record(txn, e, prepared); }));
  PublishEvent(e);
  return OkStatus();
}

Status DocStore::TamperDetected(const AccessContext& ctx, const std::string& document_id,
                                int64_t version, std::string_view reason) {
  Event e{.ctx = &ctx,
          .action = actions::kTamperDetected,
          .success = false,
          .reason = std::string(reason),
          .document_id = document_id,
          .version = version};
  // The damage is the answer; a failure to record it must not hide it.
  (void)RecordNow(std::move(e));
  return DataLossError(std::string(kDamaged));
}

// --- loading -----------------------------------------------------------------------------------

Result<Row> DocStore::LoadActive(Txn& txn, const AccessContext& ctx, std::string_view document_id) {
  if (!IsValidId(document_id, "doc")) return NotFound();
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT " + std::string(internal::kMetaColumns) +
                                    ", d.state FROM documents d WHERE d.id = ?",
                                {std::string(document_id)}));
  if (!row || row->GetText(1) != ctx.account_id || row->GetText(10) != "active") {
    return NotFound();
  }
  return std::move(*row);
}

Result<DocumentMeta> DocStore::MetaFromRow(const SecretBytes& dek, const Row& row) {
  DocumentMeta m;
  m.id = row.GetText(0);
  m.account_id = row.GetText(1);
  m.version = static_cast<uint64_t>(row.GetInt(2));
  const auto open = [&](std::string_view column, size_t i) -> Result<std::string> {
    return crypto::OpenField(dek, row.GetBlob(i),
                             crypto::FieldAad(internal::kDocumentsTable, column, m.id));
  };
  ASSIGN_OR_RETURN(m.title, open(internal::kTitleColumn, 3));
  ASSIGN_OR_RETURN(m.description, open(internal::kDescriptionColumn, 4));
  ASSIGN_OR_RETURN(m.content_type, open(internal::kContentTypeColumn, 5));
  m.size = static_cast<uint64_t>(row.GetInt(6));
  m.created_at = FromMicros(row.GetInt(7));
  m.updated_at = FromMicros(row.GetInt(8));
  m.created_by = row.GetText(9);
  m.etag = internal::ETag(m.id, m.version);
  return m;
}

// --- upload ------------------------------------------------------------------------------------

Result<DocumentMeta> DocStore::Upload(const AccessContext& ctx, const NewDocument& doc,
                                      ByteSource& source) {
  if (!IsValidId(ctx.account_id, "acc")) return NotFoundError("account not found");
  RETURN_IF_ERROR(ValidateNewDocument(doc));
  if (doc.declared_size && *doc.declared_size > options_.max_document_bytes) {
    (void)RecordNow(Event{.ctx = &ctx,
                          .action = actions::kUpload,
                          .success = false,
                          .reason = "too_large",
                          .bytes = *doc.declared_size});
    return ResourceExhaustedError(std::string(kTooLarge));
  }

  const std::string document_id = NewId(env_.random, "doc");
  const std::string key_salt = NewKeySalt(env_.random);
  const std::string content_type =
      doc.content_type.empty() ? std::string(kDefaultContentType) : doc.content_type;
  SecretBytes dek;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(dek, keys_.Get(txn, ctx.account_id));
    const auto seal = [&](std::string_view column, std::string_view value) {
      return crypto::SealField(dek, value,
                               crypto::FieldAad(internal::kDocumentsTable, column, document_id),
                               env_.random);
    };
    ASSIGN_OR_RETURN(std::string title, seal(internal::kTitleColumn, doc.title));
    ASSIGN_OR_RETURN(std::string description, seal(internal::kDescriptionColumn, doc.description));
    ASSIGN_OR_RETURN(std::string type, seal(internal::kContentTypeColumn, content_type));
    const int64_t now = Micros(env_.clock.Now());
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO documents (id, account_id, state, current_version, last_version, "
        "title_sealed, description_sealed, content_type_sealed, size, created_at, updated_at, "
        "created_by) VALUES (?, ?, 'uploading', 0, 1, ?, ?, ?, 0, ?, ?, ?)",
        {document_id, ctx.account_id, Blob{std::move(title)}, Blob{std::move(description)},
         Blob{std::move(type)}, now, now, ctx.actor_id}));
    return txn.Exec(
        "INSERT INTO document_versions (document_id, version, state, format, key_salt, "
        "chunk_size, chunk_count, size, created_at, touched_at, created_by) "
        "VALUES (?, 1, 'uploading', ?, ?, ?, 0, 0, ?, ?, ?)",
        {document_id, kEnvelopeFormat, Blob{key_salt}, int64_t{options_.chunk_size}, now, now,
         ctx.actor_id});
  }));
  return StreamAndPublish(ctx, actions::kUpload, document_id, 1, key_salt, dek,
                          /*first_upload=*/true, source, doc.declared_size);
}

Result<DocumentMeta> DocStore::Replace(const AccessContext& ctx, std::string_view document_id,
                                       ByteSource& source, std::optional<uint64_t> declared_size) {
  if (declared_size && *declared_size > options_.max_document_bytes) {
    (void)RecordNow(Event{
        .ctx = &ctx,
        .action = actions::kReplace,
        .success = false,
        .reason = "too_large",
        .document_id = IsValidId(document_id, "doc") ? std::string(document_id) : std::string(),
        .bytes = *declared_size});
    return ResourceExhaustedError(std::string(kTooLarge));
  }
  const std::string id(document_id);
  const std::string key_salt = NewKeySalt(env_.random);
  SecretBytes dek;
  int64_t version = 0;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(LoadActive(txn, ctx, id).status());
    ASSIGN_OR_RETURN(dek, keys_.Get(txn, ctx.account_id));
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("UPDATE documents SET last_version = last_version + 1 "
                                  "WHERE id = ? RETURNING last_version",
                                  {id}));
    if (!row) return NotFound();
    version = row->GetInt(0);
    const int64_t now = Micros(env_.clock.Now());
    return txn.Exec(
        "INSERT INTO document_versions (document_id, version, state, format, key_salt, "
        "chunk_size, chunk_count, size, created_at, touched_at, created_by) "
        "VALUES (?, ?, 'uploading', ?, ?, ?, 0, 0, ?, ?, ?)",
        {id, version, kEnvelopeFormat, Blob{key_salt}, int64_t{options_.chunk_size}, now, now,
         ctx.actor_id});
  }));
  return StreamAndPublish(ctx, actions::kReplace, id, version, key_salt, dek,
                          /*first_upload=*/false, source, declared_size);
}

Result<DocumentMeta> DocStore::StreamAndPublish(const AccessContext& ctx, std::string_view action,
                                                const std::string& document_id, int64_t version,
                                                const std::string& key_salt, const SecretBytes& dek,
                                                bool first_upload, ByteSource& source,
                                                std::optional<uint64_t> declared_size) {
  UploadRegistration registration(uploads_mu_, uploads_, {document_id, version});
  const VersionBinding binding{ctx.account_id, document_id, static_cast<uint64_t>(version)};
  std::string reason = "store_error";
  VersionHeader header;
  std::string tag;
  Status s = [&]() -> Status {
    ASSIGN_OR_RETURN(VersionCipher cipher, VersionCipher::Create(dek, key_salt, binding));
    ASSIGN_OR_RETURN(header,
                     WriteChunks(document_id, version, cipher, source, declared_size, &reason));
    reason = "store_error";
    ASSIGN_OR_RETURN(tag, cipher.HeaderTag(header));
    return OkStatus();
  }();
  if (!s.ok()) {
    AbortUpload(ctx, action, document_id, version, first_upload, reason, header.size);
    return s;
  }

  // Publish: one transaction makes the version readable, the document visible (or points it at
  // the new version), retires the old version and records the access.
  Event event{.ctx = &ctx,
              .action = action,
              .document_id = document_id,
              .version = version,
              .bytes = header.size};
  DocumentMeta meta;
  std::vector<std::pair<int64_t, int64_t>> retired;  // (version, chunk_count) still to purge
  s = store_.Write([&](Txn& txn) -> Status {
    retired.clear();
    const int64_t now = Micros(env_.clock.Now());
    ASSIGN_OR_RETURN(
        std::optional<Row> doc,
        txn.QueryOne("SELECT account_id, state FROM documents WHERE id = ?", {document_id}));
    const std::string expected_state = first_upload ? "uploading" : "active";
    if (!doc || doc->GetText(0) != ctx.account_id || doc->GetText(1) != expected_state) {
      return AbortedError("the document was deleted during the upload");
    }
    ASSIGN_OR_RETURN(
        std::optional<Row> v,
        txn.QueryOne("SELECT state, (SELECT COUNT(*) FROM document_chunks c WHERE "
                     "c.document_id = v.document_id AND c.version = v.version) "
                     "FROM document_versions v WHERE v.document_id = ? AND v.version = ?",
                     {document_id, version}));
    if (!v || v->GetText(0) != "uploading") {
      return AbortedError("the upload was cancelled");
    }
    if (static_cast<uint64_t>(v->GetInt(1)) != header.chunk_count) {
      return InternalError("upload lost chunks before it was published");
    }
    if (!first_upload) {
      ASSIGN_OR_RETURN(std::vector<Row> old,
                       txn.Query("SELECT version, chunk_count FROM document_versions WHERE "
                                 "document_id = ? AND state = 'complete' AND version <> ?",
                                 {document_id, version}));
      RETURN_IF_ERROR(
          txn.Exec("UPDATE document_versions SET state = 'dead', touched_at = ? "
                   "WHERE document_id = ? AND state = 'complete' AND version <> ?",
                   {now, document_id, version}));
      for (const Row& r : old) {
        RETURN_IF_ERROR(
            txn.Exec("DELETE FROM document_chunks WHERE document_id = ? AND "
                     "version = ? AND idx < ?",
                     {document_id, r.GetInt(0), int64_t{options_.purge_batch_chunks}}));
        if (r.GetInt(1) <= options_.purge_batch_chunks) {
          RETURN_IF_ERROR(
              txn.Exec("DELETE FROM document_versions WHERE document_id = ? AND version = ?",
                       {document_id, r.GetInt(0)}));
        } else {
          retired.emplace_back(r.GetInt(0), r.GetInt(1));
        }
      }
    }
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE document_versions SET state = 'complete', header_tag = ?, chunk_count = ?, "
        "size = ?, touched_at = ? WHERE document_id = ? AND version = ?",
        {Blob{tag}, static_cast<int64_t>(header.chunk_count), static_cast<int64_t>(header.size),
         now, document_id, version}));
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE documents SET state = 'active', current_version = ?, size = ?, updated_at = ? "
        "WHERE id = ?",
        {version, static_cast<int64_t>(header.size), now, document_id}));
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT " + std::string(internal::kMetaColumns) +
                                      " FROM documents d WHERE d.id = ?",
                                  {document_id}));
    if (!row) return InternalError("published document vanished");
    ASSIGN_OR_RETURN(meta, MetaFromRow(dek, *row));
    return Record(txn, event);
  });
  if (!s.ok()) {
    AbortUpload(ctx, action, document_id, version, first_upload,
                s.code() == StatusCode::kAborted ? "cancelled" : "store_error", header.size);
    return s;
  }
  PublishEvent(event);
  // Old versions too large for the publishing transaction: the rest of their chunks now, in
  // batches (the sweep finishes the job if this fails).
  for (const auto& [old_version, count] : retired) {
    (void)PurgeVersion(document_id, old_version);
  }
  return meta;
}

Result<VersionHeader> DocStore::WriteChunks(const std::string& document_id, int64_t version,
                                            VersionCipher& cipher, ByteSource& source,
                                            std::optional<uint64_t> declared_size,
                                            std::string* reason) {
  const uint32_t chunk_size = options_.chunk_size;
  const uint64_t limit =
      std::min(options_.max_document_bytes, declared_size.value_or(options_.max_document_bytes));
  // Two plaintext buffers: the chunk being sealed and the one after it (read ahead to learn
  // whether this one is the last).
  std::string current(chunk_size, '\0');
  std::string next(chunk_size, '\0');
  const auto read = [&](std::string& buf, uint64_t total) -> Result<size_t> {
    Result<size_t> n = Fill(source, buf);
    if (!n.ok()) {
      *reason = "source_error";
      return n.status();
    }
    if (total + *n > limit) {
      if (declared_size && total + *n <= options_.max_document_bytes) {
        *reason = "length_mismatch";
        return InvalidArgumentError("body is longer than its declared size");
      }
      *reason = "too_large";
      return ResourceExhaustedError(std::string(kTooLarge));
    }
    return n;
  };

  InflightWindow window(options_.max_inflight_chunks);  // declared last: drained first
  ASSIGN_OR_RETURN(size_t current_len, read(current, 0));
  uint64_t total = current_len;
  for (uint64_t index = 0;; ++index) {
    size_t next_len = 0;
    if (current_len == chunk_size) {
      ASSIGN_OR_RETURN(next_len, read(next, total));
      total += next_len;
    }
    const bool last = next_len == 0;

    // The sealed chunk travels to the writer thread inside its statement's parameters.
    auto params = std::make_shared<std::vector<Value>>();
    params->reserve(4);
    std::string sealed(current_len + kChunkOverhead, '\0');
    RETURN_IF_ERROR(cipher.SealChunk(
        index, last, crypto::AsBytes(std::string_view(current).substr(0, current_len)),
        crypto::AsWritableBytes(sealed)));
    params->push_back(document_id);
    params->push_back(version);
    params->push_back(static_cast<int64_t>(index));
    params->push_back(Blob{std::move(sealed)});
    if (Status s = window.Acquire(); !s.ok()) {
      *reason = "store_error";
      return s;
    }
    const int64_t now = Micros(env_.clock.Now());
    store_.WriteAsync(
        [params, now](Txn& txn) -> Status {
          const std::vector<Value>& p = *params;
          // Only while the version is still being uploaded: a sweep or a delete that marked it
          // dead stops the upload here.
          RETURN_IF_ERROR(
              txn.Exec("UPDATE document_versions SET touched_at = ? WHERE document_id = ? AND "
                       "version = ? AND state = 'uploading'",
                       {now, p[0], p[1]}));
          if (txn.ChangedRows() == 0) return AbortedError("the upload was cancelled");
          return txn.Exec(
              "INSERT INTO document_chunks (document_id, version, idx, sealed) "
              "VALUES (?, ?, ?, ?)",
              p);
        },
        [&window](Status s) { window.Release(s); });
    if (last) {
      if (Status s = window.Drain(); !s.ok()) {
        *reason = s.code() == StatusCode::kAborted ? "cancelled" : "store_error";
        return s;
      }
      if (declared_size && total != *declared_size) {
        *reason = "length_mismatch";
        return InvalidArgumentError("body is shorter than its declared size");
      }
      SecureWipe(current.data(), current.size());
      SecureWipe(next.data(), next.size());
      return VersionHeader{total, chunk_size, index + 1};
    }
    std::swap(current, next);
    current_len = next_len;
  }
}

void DocStore::AbortUpload(const AccessContext& ctx, std::string_view action,
                           const std::string& document_id, int64_t version, bool first_upload,
                           std::string_view reason, uint64_t bytes) {
  Event event{.ctx = &ctx,
              .action = action,
              .success = false,
              .reason = std::string(reason),
              .document_id = document_id,
              .version = version,
              .bytes = bytes};
  Status s = store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(
        txn.Exec("UPDATE document_versions SET state = 'dead', touched_at = ? "
                 "WHERE document_id = ? AND version = ?",
                 {Micros(env_.clock.Now()), document_id, version}));
    return Record(txn, event);
  });
  if (!s.ok()) return;  // the store is failing: the sweep removes the version later
  PublishEvent(event);
  (void)PurgeVersion(document_id, version, [&](Txn& txn) -> Status {
    if (!first_upload) return OkStatus();
    return txn.Exec(
        "DELETE FROM documents WHERE id = ? AND state = 'uploading' AND NOT EXISTS (SELECT 1 "
        "FROM document_versions v WHERE v.document_id = documents.id)",
        {document_id});
  });
}

Status DocStore::PurgeVersion(const std::string& document_id, int64_t version,
                              const store::TxnFn& last) {
  const int64_t batch = options_.purge_batch_chunks;
  for (bool done = false; !done;) {
    RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Row> row,
                       txn.QueryOne("SELECT MIN(idx) FROM document_chunks WHERE document_id = ? "
                                    "AND version = ?",
                                    {document_id, version}));
      if (row && !row->IsNull(0)) {
        const int64_t first = row->GetInt(0);
        return txn.Exec(
            "DELETE FROM document_chunks WHERE document_id = ? AND version = ? AND idx >= ? "
            "AND idx < ?",
            {document_id, version, first, first + batch});
      }
      done = true;
      RETURN_IF_ERROR(txn.Exec(
          "DELETE FROM document_versions WHERE document_id = ? AND version = ? AND state = "
          "'dead'",
          {document_id, version}));
      return last ? last(txn) : OkStatus();
    }));
  }
  return OkStatus();
}

// --- reading -----------------------------------------------------------------------------------

struct DocStore::LoadedVersion {
  int64_t version = 0;
  VersionHeader header;
  std::string content_type;
  std::optional<VersionCipher> cipher;
  std::string damage;  // non-empty: the reason the document is damaged
};

Result<std::string> DocStore::AccountOf(std::string_view document_id) {
  if (!IsValidId(document_id, "doc")) return NotFound();
  std::string account;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT account_id FROM documents WHERE id = ? AND state = "
                                  "'active'",
                                  {std::string(document_id)}));
    if (!row) return NotFound();
    account = row->GetText(0);
    return OkStatus();
  }));
  return account;
}

Result<DocumentMeta> DocStore::Get(const AccessContext& ctx, std::string_view document_id) {
  DocumentMeta meta;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Row row, LoadActive(txn, ctx, document_id));
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, ctx.account_id));
    ASSIGN_OR_RETURN(meta, MetaFromRow(dek, row));
    return OkStatus();
  }));
  RETURN_IF_ERROR(RecordNow(Event{.ctx = &ctx,
                                  .action = actions::kMetadataRead,
                                  .document_id = meta.id,
                                  .version = static_cast<int64_t>(meta.version)}));
  return meta;
}

Result<DocumentPage> DocStore::List(const AccessContext& ctx, std::string_view cursor, int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be 1 to 100");
  }
  int64_t after_created = 0;
  std::string after_id;
  if (!cursor.empty() && !DecodeCursor(cursor, &after_created, &after_id)) {
    return InvalidArgumentError("malformed cursor");
  }
  if (!IsValidId(ctx.account_id, "acc")) return NotFoundError("account not found");
  DocumentPage page;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    page.items.clear();
    const std::string base = "SELECT " + std::string(internal::kMetaColumns) +
                             " FROM documents d WHERE d.account_id = ? AND d.state = 'active'";
    const std::string order = " ORDER BY d.created_at DESC, d.id DESC LIMIT ?";
    Result<std::vector<Row>> rows =
        cursor.empty()
            ? txn.Query(base + order, {ctx.account_id, int64_t{limit + 1}})
            : txn.Query(
                  base + " AND (d.created_at < ? OR (d.created_at = ? AND d.id < ?))" + order,
                  {ctx.account_id, after_created, after_created, after_id, int64_t{limit + 1}});
    RETURN_IF_ERROR(rows.status());
    if (rows->empty()) return OkStatus();
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, ctx.account_id));
    for (const Row& row : *rows) {
      if (page.items.size() == static_cast<size_t>(limit)) {
        const DocumentMeta& tail = page.items.back();
        page.next_cursor = EncodeCursor(Micros(tail.created_at), tail.id);
        break;
      }
      ASSIGN_OR_RETURN(DocumentMeta meta, MetaFromRow(dek, row));
      page.items.push_back(std::move(meta));
    }
    return OkStatus();
  }));
  RETURN_IF_ERROR(RecordNow(Event{.ctx = &ctx, .action = actions::kList}));
  return page;
}

Result<std::optional<Row>> DocStore::FetchChunk(const std::string& document_id, int64_t version,
                                                uint64_t index, bool* changed) {
  std::optional<Row> out;
  *changed = false;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> v,
                     txn.QueryOne("SELECT state FROM document_versions WHERE document_id = ? "
                                  "AND version = ?",
                                  {document_id, version}));
    if (!v || v->GetText(0) != "complete") {
      *changed = true;
      return OkStatus();
    }
    ASSIGN_OR_RETURN(out, txn.QueryOne("SELECT sealed FROM document_chunks WHERE document_id = ? "
                                       "AND version = ? AND idx = ?",
                                       {document_id, version, static_cast<int64_t>(index)}));
    return OkStatus();
  }));
  return out;
}

Status DocStore::Read(const AccessContext& ctx, std::string_view document_id,
                      std::optional<RangeSpec> range, ByteSink& sink) {
  const std::string id(document_id);
  LoadedVersion lv;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    if (!IsValidId(id, "doc")) return NotFound();
    ASSIGN_OR_RETURN(
        std::optional<Row> row,
        txn.QueryOne(
            "SELECT d.account_id, d.state, d.current_version, d.content_type_sealed, v.state, "
            "v.format, v.key_salt, v.header_tag, v.chunk_size, v.chunk_count, v.size "
            "FROM documents d LEFT JOIN document_versions v ON v.document_id = d.id AND "
            "v.version = d.current_version WHERE d.id = ?",
            {id}));
    if (!row || row->GetText(0) != ctx.account_id || row->GetText(1) != "active") {
      return NotFound();
    }
    lv.version = row->GetInt(2);
    if (row->IsNull(4) || row->GetText(4) != "complete" || row->IsNull(7)) {
      lv.damage = "version_missing";
      return OkStatus();
    }
    if (row->GetInt(5) != kEnvelopeFormat) {
      lv.damage = "unknown_format";
      return OkStatus();
    }
    const int64_t chunk_size = row->GetInt(8), chunk_count = row->GetInt(9), size = row->GetInt(10);
    if (chunk_size <= 0 || chunk_size > (int64_t{1} << 32) - 1 || chunk_count <= 0 || size < 0) {
      lv.damage = "header_failed_authentication";
      return OkStatus();
    }
    lv.header = VersionHeader{static_cast<uint64_t>(size), static_cast<uint32_t>(chunk_size),
                              static_cast<uint64_t>(chunk_count)};
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, ctx.account_id));
    Result<std::string> type = crypto::OpenField(
        dek, row->GetBlob(3),
        crypto::FieldAad(internal::kDocumentsTable, internal::kContentTypeColumn, id));
    if (!type.ok()) {
      lv.damage = "metadata_failed_authentication";
      return OkStatus();
    }
    lv.content_type = std::move(*type);
    Result<VersionCipher> cipher = VersionCipher::Create(
        dek, row->GetBlob(6), {ctx.account_id, id, static_cast<uint64_t>(lv.version)});
    if (!cipher.ok()) {
      lv.damage = "header_failed_authentication";  // a salt of the wrong length
      return OkStatus();
    }
    lv.cipher.emplace(std::move(*cipher));
    if (!IsConsistent(lv.header) || !lv.cipher->VerifyHeader(lv.header, row->GetBlob(7)).ok()) {
      lv.damage = "header_failed_authentication";
    }
    return OkStatus();
  }));
  if (!lv.damage.empty()) return TamperDetected(ctx, id, lv.version, lv.damage);

  const VersionHeader& h = lv.header;
  ContentInfo info;
  info.document_id = id;
  info.version = static_cast<uint64_t>(lv.version);
  info.etag = internal::ETag(id, info.version);
  info.content_type = lv.content_type;
  info.total_size = h.size;
  info.length = h.size;
  if (range) {
    std::optional<std::pair<uint64_t, uint64_t>> resolved = ResolveRange(*range, h.size);
    if (resolved) {
      info.first = resolved->first;
      info.length = resolved->second;
      info.partial = true;
    } else {
      info.length = 0;
      info.satisfiable = false;
    }
  }
  RETURN_IF_ERROR(sink.Start(info));
  if (!info.satisfiable) return OutOfRangeError("range not satisfiable");
  // The record is committed before the first content byte leaves.
  RETURN_IF_ERROR(RecordNow(Event{.ctx = &ctx,
                                  .action = actions::kRead,
                                  .document_id = id,
                                  .version = lv.version,
                                  .bytes = info.length}));

  // Chunks to open: those the range touches; a full read opens every chunk (the empty
  // document's single empty chunk too), so a dropped last chunk is always noticed.
  uint64_t first_chunk = 0, last_chunk = h.chunk_count - 1;
  if (info.partial) {
    first_chunk = info.first / h.chunk_size;
    last_chunk = (info.first + info.length - 1) / h.chunk_size;
  }
  const uint64_t end = info.first + info.length;
  // The next chunk is fetched on another thread while this one is opened and delivered
  // (memory: two sealed chunks and one plaintext chunk).
  struct Fetched {
    Result<std::optional<Row>> row = std::optional<Row>();
    bool changed = false;
  };
  const auto fetch = [this, &id, version = lv.version](uint64_t index) {
    Fetched f;
    f.row = FetchChunk(id, version, index, &f.changed);
    return f;
  };
  std::string plain;
  std::future<Fetched> next = std::async(std::launch::deferred, fetch, first_chunk);
  for (uint64_t index = first_chunk; index <= last_chunk; ++index) {
    Fetched current = next.get();
    if (index < last_chunk) next = std::async(std::launch::async, fetch, index + 1);
    RETURN_IF_ERROR(current.row.status());
    if (current.changed) {
      return AbortedError("the document was replaced or deleted during the read");
    }
    const std::optional<Row>& chunk = *current.row;
    if (!chunk) return TamperDetected(ctx, id, lv.version, "chunk_missing");
    const std::string& sealed = chunk->GetBlob(0);
    const uint64_t expected = ChunkPlaintextSize(h, index);
    if (sealed.size() != expected + kChunkOverhead) {
      return TamperDetected(ctx, id, lv.version, "chunk_failed_authentication");
    }
    plain.resize(expected);
    if (!lv.cipher
             ->OpenChunk(index, index + 1 == h.chunk_count, crypto::AsBytes(sealed),
                         crypto::AsWritableBytes(plain))
             .ok()) {
      return TamperDetected(ctx, id, lv.version, "chunk_failed_authentication");
    }
    const uint64_t chunk_start = index * h.chunk_size;
    const uint64_t from = std::max(info.first, chunk_start) - chunk_start;
    const uint64_t to = std::min(end, chunk_start + expected) - chunk_start;
    if (to > from) {
      Status s = sink.Write(std::string_view(plain).substr(from, to - from));
      if (!s.ok()) {
        SecureWipe(plain.data(), plain.size());
        return s;
      }
    }
  }
  SecureWipe(plain.data(), plain.size());
  return OkStatus();
}

// --- deletion and the sweep --------------------------------------------------------------------

Status DocStore::Delete(const AccessContext& ctx, std::string_view document_id) {
  const std::string id(document_id);
  Event event{.ctx = &ctx, .action = actions::kDelete, .document_id = id};
  std::vector<int64_t> versions;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Row row, LoadActive(txn, ctx, id));
    event.version = row.GetInt(2);
    event.bytes = static_cast<uint64_t>(row.GetInt(6));
    const int64_t now = Micros(env_.clock.Now());
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        txn.Query("SELECT version FROM document_versions WHERE document_id = ?", {id}));
    versions.clear();
    for (const Row& r : rows) versions.push_back(r.GetInt(0));
    RETURN_IF_ERROR(txn.Exec("UPDATE documents SET state = 'deleting', updated_at = ? WHERE id = ?",
                             {now, id}));
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE document_versions SET state = 'dead', touched_at = ? WHERE document_id = ?",
        {now, id}));
    RETURN_IF_ERROR(txn.Exec("DELETE FROM document_links WHERE document_id = ?", {id}));
    RETURN_IF_ERROR(
        txn.Exec("DELETE FROM document_chunks WHERE document_id = ? AND version = ? AND idx < ?",
                 {id, event.version, int64_t{options_.purge_batch_chunks}}));
    return Record(txn, event);
  }));
  PublishEvent(event);
  // The document is gone for every reader; now the bytes. A failure here leaves dead rows that
  // the sweep removes, so the delete itself has succeeded.
  for (int64_t v : versions) {
    if (!PurgeVersion(id, v).ok()) return OkStatus();
  }
  (void)store_.Write([&](Txn& txn) -> Status {
    return txn.Exec(
        "DELETE FROM documents WHERE id = ? AND state = 'deleting' AND NOT EXISTS (SELECT 1 "
        "FROM document_versions v WHERE v.document_id = documents.id)",
        {id});
  });
  return OkStatus();
}

Result<CleanupStats> DocStore::CleanupIncomplete(Time older_than) {
  CleanupStats stats;
  std::vector<std::pair<std::string, int64_t>> candidates;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     txn.Query("SELECT document_id, version FROM document_versions WHERE "
                               "state = 'dead' OR (state = 'uploading' AND touched_at < ?)",
                               {Micros(older_than)}));
    candidates.clear();
    for (const Row& r : rows) candidates.emplace_back(r.GetText(0), r.GetInt(1));
    return OkStatus();
  }));
  for (const auto& key : candidates) {
    {
      std::lock_guard lock(uploads_mu_);
      if (uploads_.count(key) > 0) continue;  // still being written (or aborted) here
    }
    bool claimed = false;
    RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      // Re-checked in the writer: the upload may have written a chunk since the snapshot.
      RETURN_IF_ERROR(txn.Exec(
          "UPDATE document_versions SET state = 'dead' WHERE document_id = ? AND version = ? "
          "AND (state = 'dead' OR (state = 'uploading' AND touched_at < ?))",
          {key.first, key.second, Micros(older_than)}));
      claimed = txn.ChangedRows() > 0;
      return OkStatus();
    }));
    if (!claimed) continue;
    RETURN_IF_ERROR(PurgeVersion(key.first, key.second));
    ++stats.versions_removed;
  }
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(txn.Exec(
        "DELETE FROM documents WHERE state IN ('uploading', 'deleting') AND updated_at < ? AND "
        "NOT EXISTS (SELECT 1 FROM document_versions v WHERE v.document_id = documents.id)",
        {Micros(env_.clock.Now())}));
    stats.documents_removed = txn.ChangedRows();
    return OkStatus();
  }));
  return stats;
}

}  // namespace sicher::docs
