#pragma once
// DocStore: the encrypted, streaming document store and its publishing links (issue 4, CLAIMS
// C8). Envelope format, tables, life cycle and access records:
// docs/design/document-envelope.md.
//
// What it promises:
//  - Content is cut into chunks (DocStoreOptions::chunk_size) sealed with AES-256-GCM under a
//    per-version key derived from the account's DEK; titles, descriptions and content types are
//    sealed fields. No plaintext of either reaches the database.
//  - Upload and Read stream: memory per call is O(chunk_size) (a few chunks in flight), never
//    O(document).
//  - A document becomes visible only when its upload is complete (one transaction publishes
//    the version, the document row and the access record). A failed upload leaves nothing
//    behind; a crash mid-upload leaves an invisible version that CleanupIncomplete removes.
//  - A reader gets exactly the uploaded bytes or DataLoss("document is damaged"); every chunk
//    is verified before any byte of it is handed to the sink. (Bytes of earlier, verified
//    chunks may already have been sent when a later chunk fails: inherent in streaming.)
//  - Every upload, replacement, read, metadata read, list, deletion, link creation, revocation
//    and link use is a row in document_events, committed with the change it describes (for
//    reads: before the first content byte), then published as events::DocumentAccessed.
//
// Authorisation is the caller's job (auth::Authorize with Action::kDocuments* / kLinksManage):
// an AccessContext says which account the caller acts in, and every method checks that the
// document or link belongs to that account. A document of another account, a deleted one, one
// still uploading, or a malformed id is NotFound("document not found"), all alike.
//
// Errors: InvalidArgument for bad titles, content types, cursors, expiry times or a body
// shorter/longer than declared; ResourceExhausted("document exceeds the maximum size") past
// max_document_bytes (HTTP 413); NotFound as above; OutOfRange for an unsatisfiable range (HTTP
// 416, after ByteSink::Start); DataLoss("document is damaged") when anything fails
// authentication; Aborted when the document was replaced or deleted during a read, or an
// upload's version was swept; the source's or sink's own error; the store's errors. Messages
// never carry titles, content, tokens or key bytes.
//
// Thread-safe: any number of calls may run concurrently. Borrows the Store, Keyring, Bus and
// Env, which must outlive it; no call may be in progress when it is destroyed.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sicher/audit/log.h"
#include "sicher/base/clock.h"
#include "sicher/base/env.h"
#include "sicher/base/status.h"
#include "sicher/crypto/keyring.h"
#include "sicher/docs/byte_stream.h"
#include "sicher/docs/envelope.h"
#include "sicher/docs/range.h"
#include "sicher/events/bus.h"
#include "sicher/events/events.h"
#include "sicher/keys/data_keys.h"
#include "sicher/store/store.h"

namespace sicher::docs {

// Access record actions (document_events.action, DocumentAccessed::action).
namespace actions {
inline constexpr std::string_view kUpload = "document.upload";
inline constexpr std::string_view kReplace = "document.replace";
inline constexpr std::string_view kRead = "document.read";
inline constexpr std::string_view kMetadataRead = "document.metadata_read";
inline constexpr std::string_view kList = "document.list";
inline constexpr std::string_view kDelete = "document.delete";
inline constexpr std::string_view kLinkCreate = "document.link_create";
inline constexpr std::string_view kLinkRevoke = "document.link_revoke";
inline constexpr std::string_view kLinkUse = "document.link_use";
inline constexpr std::string_view kTamperDetected = "document.tamper_detected";
}  // namespace actions

enum class ActorKind { kUser, kLink, kSystem };
std::string_view ActorKindName(ActorKind kind);  // "user", "link", "system"

// Facts about the request, copied into access records. The user agent is cut at 512 bytes and
// any invalid UTF-8 replaced.
struct RequestInfo {
  std::string client_ip;
  std::string user_agent;
  std::string device_type;  // desktop, mobile, tablet, bot, other
  std::string request_id;
};

// Who is acting, in which account. The caller has authenticated the actor and authorised the
// action for this account; DocStore checks that the objects touched belong to `account_id`.
struct AccessContext {
  std::string account_id{};  // "acc_..."
  ActorKind actor_kind = ActorKind::kUser;
  std::string actor_id{};  // "usr_..." for users, "lnk_..." for links, "" for the system
  RequestInfo request{};
};

struct DocumentMeta {
  std::string id;  // "doc_..."
  std::string account_id;
  std::string title;
  std::string description;
  std::string content_type;
  uint64_t size = 0;     // bytes of the current version
  uint64_t version = 0;  // current version, 1 for a first upload
  std::string etag;      // strong, quoted: "\"doc_...-v1\""; changes with every version
  Time created_at{};
  Time updated_at{};
  std::string created_by;
};

struct DocumentPage {
  std::vector<DocumentMeta> items;  // newest first
  std::string next_cursor;          // "" when there are no more
};

// The metadata of an upload.
struct NewDocument {
  std::string title;         // required, 1..1024 bytes of UTF-8
  std::string content_type;  // "" means application/octet-stream; <= 255 printable ASCII
  std::string description;   // optional, <= 16 KiB of UTF-8
  // The body length if known in advance (Content-Length): a larger value than the maximum is
  // refused before anything is written; a body of a different length is InvalidArgument.
  std::optional<uint64_t> declared_size;
};

struct LinkInfo {
  std::string id;  // "lnk_..."
  std::string document_id;
  std::string created_by;
  Time created_at{};
  std::optional<Time> expires_at;
  std::optional<Time> revoked_at;
  bool active = false;  // neither revoked nor expired at the time of the call
};

struct CreatedLink {
  LinkInfo link;
  std::string token;  // 256 random bits, base64url (43 chars); shown once, stored only hashed
};

// What a valid link token opens.
struct LinkTarget {
  std::string link_id;
  std::string account_id;
  std::string document_id;
  // The context for the Read / Get that serves the link: actor kind link, actor id the link.
  AccessContext Context(RequestInfo request) const {
    return AccessContext{account_id, ActorKind::kLink, link_id, std::move(request)};
  }
};

struct DocStoreOptions {
  uint32_t chunk_size = 1 << 20;                    // 4 KiB .. 16 MiB
  uint64_t max_document_bytes = uint64_t{2} << 30;  // > 0
  int max_inflight_chunks = 4;                      // chunk writes queued at once, 1 .. 64
  int purge_batch_chunks = 64;                      // chunks deleted per transaction, >= 1
};

struct CleanupStats {
  int64_t versions_removed = 0;   // incomplete (crashed) or dead versions purged
  int64_t documents_removed = 0;  // never-published or deleted documents purged
};

class DocStore {
 public:
  // InvalidArgument for options out of bounds. The store must have been opened with
  // AuthMigrations() and DocsMigrations().
  static Result<std::unique_ptr<DocStore>> Create(store::Store& store, crypto::Keyring& keyring,
                                                  events::Bus& bus, audit::Log& audit, Env& env,
                                                  DocStoreOptions options = {});

  DocStore(const DocStore&) = delete;
  DocStore& operator=(const DocStore&) = delete;

  const DocStoreOptions& options() const { return options_; }

  // Reads `source` to its end into a new document of ctx.account_id (actor: the uploader).
  // Returns the published document's metadata. On any error nothing of it remains and a
  // failed document.upload record is kept.
  Result<DocumentMeta> Upload(const AccessContext& ctx, const NewDocument& doc, ByteSource& source);

  // Uploads a new version of an existing document; publishing it deletes the previous version
  // (in the same transaction for up to purge_batch_chunks chunks, the rest right after).
  // `declared_size` as in NewDocument. Title, description and links are kept.
  Result<DocumentMeta> Replace(const AccessContext& ctx, std::string_view document_id,
                               ByteSource& source,
                               std::optional<uint64_t> declared_size = std::nullopt);

  // The account's documents, newest first, `limit` (1..100) per page; `cursor` is "" or a
  // previous page's next_cursor (InvalidArgument if malformed). Records one document.list.
  Result<DocumentPage> List(const AccessContext& ctx, std::string_view cursor, int limit);

  // The account a live document belongs to, for routes that name only the document; the
  // caller then checks the actor's role in that account. NotFound for malformed ids, unknown
  // and deleted documents. Records nothing (it reveals nothing beyond existence, which the
  // caller's 404-for-non-members hides).
  Result<std::string> AccountOf(std::string_view document_id);

  // One document's metadata. Records document.metadata_read.
  Result<DocumentMeta> Get(const AccessContext& ctx, std::string_view document_id);

  // Streams the current version (or `range` of it) to `sink`: sink.Start(info) once, then the
  // bytes in order. Opens only the chunks the range needs (a full read verifies every chunk,
  // so a truncated document fails). Records document.read (bytes = the length to be sent)
  // before the first content byte; on an authentication failure records
  // document.tamper_detected in its own transaction and returns DataLoss.
  Status Read(const AccessContext& ctx, std::string_view document_id,
              std::optional<RangeSpec> range, ByteSink& sink);

  // Deletes the document, every version, chunk and link. It is invisible from the first
  // commit on (which also records document.delete); the chunks follow in batches.
  Status Delete(const AccessContext& ctx, std::string_view document_id);

  // Creates a publishing link; `expires_at`, if given, must be in the future.
  Result<CreatedLink> CreateLink(const AccessContext& ctx, std::string_view document_id,
                                 std::optional<Time> expires_at);
  // The document's links (active, expired and revoked), newest first.
  Result<std::vector<LinkInfo>> ListLinks(const AccessContext& ctx, std::string_view document_id);
  // Revokes a link of ctx.account_id. OK (and no new record) if it was already revoked.
  Status RevokeLink(const AccessContext& ctx, std::string_view link_id);
  // Looks a token up by its SHA-256. NotFound("link not found") for malformed, unknown, revoked
  // or expired tokens and for documents no longer active. Records document.link_use (outcome
  // failure for a revoked or expired link, whose account is known).
  Result<LinkTarget> ResolveLink(std::string_view token, const RequestInfo& request);

  // The sweep: purges versions still uploading whose last chunk write is older than
  // `older_than` (a crashed upload; uploads running in this process are skipped), every dead
  // version, and documents left in 'uploading' or 'deleting'. Run at start and periodically.
  Result<CleanupStats> CleanupIncomplete(Time older_than);

 private:
  // One access record being written (document_events row and DocumentAccessed).
  struct Event {
    const AccessContext* ctx = nullptr;
    std::string_view action{};
    bool success = true;
    std::string reason{};  // machine code for failures
    std::string document_id{};
    int64_t version = 0;
    uint64_t bytes = 0;
    std::string link_id{};
    std::string id{};        // set by Record
    Time at{};               // set by Record
    audit::Pending audit{};  // set by Record, published by PublishEvent
  };
  // The current version of a readable document, loaded in one snapshot.
  struct LoadedVersion;

  DocStore(store::Store& store, crypto::Keyring& keyring, events::Bus& bus, audit::Log& audit,
           Env& env, DocStoreOptions options);

  // The shared tail of Upload and Replace: streams `source` into (document, version), then
  // publishes it. On failure cleans up and records the failure.
  Result<DocumentMeta> StreamAndPublish(const AccessContext& ctx, std::string_view action,
                                        const std::string& document_id, int64_t version,
                                        const std::string& key_salt, const SecretBytes& dek,
                                        bool first_upload, ByteSource& source,
                                        std::optional<uint64_t> declared_size);
  // Seals `source` into chunks of (document, version), at most max_inflight_chunks writes in
  // flight. Returns the header to publish; `reason` gets a failure code.
  Result<VersionHeader> WriteChunks(const std::string& document_id, int64_t version,
                                    VersionCipher& cipher, ByteSource& source,
                                    std::optional<uint64_t> declared_size, std::string* reason);
  // Deletes a dead version's chunks in batches (purge_batch_chunks per transaction), then its
  // row; `last`, if set, runs in that final transaction.
  Status PurgeVersion(const std::string& document_id, int64_t version,
                      const store::TxnFn& last = nullptr);
  // Marks a failed upload's version dead (recording the failure), then purges it, and the
  // document row too if this was the first upload.
  void AbortUpload(const AccessContext& ctx, std::string_view action,
                   const std::string& document_id, int64_t version, bool first_upload,
                   std::string_view reason, uint64_t bytes);
  // Loads the document's row, checking account and state: NotFound unless it is active and
  // belongs to ctx.account_id.
  Result<store::Row> LoadActive(store::Txn& txn, const AccessContext& ctx,
                                std::string_view document_id);
  Result<DocumentMeta> MetaFromRow(const SecretBytes& dek, const store::Row& row);
  // Inserts `e` (filling id and time); publish it after the commit with PublishEvent.
  Status Record(store::Txn& txn, Event& e);
  // Record in two steps: Stamp gives `e` its id and time and prepares its audit event (any
  // thread); Record(txn, e, prepared) writes the access record and appends the event.
  Result<audit::PreparedEvent> Stamp(Event& e);
  Status Record(store::Txn& txn, Event& e, const audit::PreparedEvent& prepared);
  void PublishEvent(Event& e);
  // Records and publishes `e` in its own transaction.
  Status RecordNow(Event e);
  // Records document.tamper_detected and returns DataLoss("document is damaged").
  Status TamperDetected(const AccessContext& ctx, const std::string& document_id, int64_t version,
                        std::string_view reason);
  // Fetches one sealed chunk; `changed` is set (and no row returned) when its version is no
  // longer readable.
  Result<std::optional<store::Row>> FetchChunk(const std::string& document_id, int64_t version,
                                               uint64_t index, bool* changed);

  store::Store& store_;
  events::Bus& bus_;
  audit::Log& audit_;
  Env& env_;
  const DocStoreOptions options_;
  keys::DataKeys keys_;

  std::mutex uploads_mu_;
  std::set<std::pair<std::string, int64_t>> uploads_;  // (document, version) being written here
};

}  // namespace sicher::docs
