// DocStore: publishing links (create, list, revoke, resolve). The rest is in doc_store.cc.

#include "sicher/base/ids.h"
#include "sicher/crypto/hash.h"
#include "sicher/docs/doc_store.h"
#include "sicher/docs/internal/records.h"

namespace sicher::docs {

using store::Blob;
using store::Row;
using store::Txn;
using store::Value;

namespace {

constexpr std::string_view kLinkNotFound = "link not found";
constexpr size_t kTokenBytes = 32;
constexpr size_t kTokenChars = 43;  // base64url of 32 bytes, unpadded

bool IsTokenShaped(std::string_view token) {
  if (token.size() != kTokenChars) return false;
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<Time> OptionalTime(const Row& row, size_t i) {
  std::optional<int64_t> v = row.GetOptionalInt(i);
  if (!v) return std::nullopt;
  return FromMicros(*v);
}

// Columns: id, document_id, created_by, created_at, expires_at, revoked_at.
LinkInfo LinkFromRow(const Row& row, Time now) {
  LinkInfo l;
  l.id = row.GetText(0);
  l.document_id = row.GetText(1);
  l.created_by = row.GetText(2);
  l.created_at = FromMicros(row.GetInt(3));
  l.expires_at = OptionalTime(row, 4);
  l.revoked_at = OptionalTime(row, 5);
  l.active = !l.revoked_at && (!l.expires_at || *l.expires_at > now);
  return l;
}

}  // namespace

Result<CreatedLink> DocStore::CreateLink(const AccessContext& ctx, std::string_view document_id,
                                         std::optional<Time> expires_at) {
  const Time now = env_.clock.Now();
  if (expires_at && *expires_at <= now) {
    return InvalidArgumentError("expiry must be in the future");
  }
  CreatedLink out;
  out.token = NewToken(env_.random, kTokenBytes);
  out.link.id = NewId(env_.random, "lnk");
  out.link.document_id = std::string(document_id);
  out.link.created_by = ctx.actor_id;
  out.link.created_at = now;
  out.link.expires_at = expires_at;
  out.link.active = true;
  Event event{.ctx = &ctx,
              .action = actions::kLinkCreate,
              .document_id = out.link.document_id,
              .link_id = out.link.id};
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Row row, LoadActive(txn, ctx, document_id));
    event.version = row.GetInt(2);
    RETURN_IF_ERROR(
        txn.Exec("INSERT INTO document_links (id, account_id, document_id, token_hash, created_by, "
                 "created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                 {out.link.id, ctx.account_id, out.link.document_id,
                  Blob{crypto::Sha256(out.token)}, ctx.actor_id, Micros(now),
                  expires_at ? Value(Micros(*expires_at)) : Value(store::kNull)}));
    return Record(txn, event);
  }));
  PublishEvent(event);
  return out;
}

Result<std::vector<LinkInfo>> DocStore::ListLinks(const AccessContext& ctx,
                                                  std::string_view document_id) {
  const Time now = env_.clock.Now();
  std::vector<LinkInfo> links;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(LoadActive(txn, ctx, document_id).status());
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     txn.Query("SELECT id, document_id, created_by, created_at, expires_at, "
                               "revoked_at FROM document_links WHERE document_id = ? AND "
                               "account_id = ? ORDER BY created_at DESC, id DESC",
                               {std::string(document_id), ctx.account_id}));
    links.clear();
    for (const Row& r : rows) links.push_back(LinkFromRow(r, now));
    return OkStatus();
  }));
  return links;
}

Status DocStore::RevokeLink(const AccessContext& ctx, std::string_view link_id) {
  if (!IsValidId(link_id, "lnk")) return NotFoundError(std::string(kLinkNotFound));
  Event event{.ctx = &ctx, .action = actions::kLinkRevoke, .link_id = std::string(link_id)};
  bool changed = false;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT l.account_id, l.document_id, l.revoked_at, "
                                  "d.current_version FROM document_links l JOIN documents d ON "
                                  "d.id = l.document_id WHERE l.id = ?",
                                  {std::string(link_id)}));
    if (!row || row->GetText(0) != ctx.account_id) {
      return NotFoundError(std::string(kLinkNotFound));
    }
    changed = row->IsNull(2);
    if (!changed) return OkStatus();
    event.document_id = row->GetText(1);
    event.version = row->GetInt(3);
    RETURN_IF_ERROR(txn.Exec("UPDATE document_links SET revoked_at = ? WHERE id = ?",
                             {Micros(env_.clock.Now()), std::string(link_id)}));
    return Record(txn, event);
  }));
  if (changed) PublishEvent(event);
  return OkStatus();
}

Result<LinkTarget> DocStore::ResolveLink(std::string_view token, const RequestInfo& request) {
  if (!IsTokenShaped(token)) return NotFoundError(std::string(kLinkNotFound));
  const std::string token_hash = crypto::Sha256(token);
  const Time now = env_.clock.Now();
  LinkTarget target;
  AccessContext ctx{.actor_kind = ActorKind::kLink, .request = request};
  Event event{.ctx = &ctx, .action = actions::kLinkUse};
  bool found = false;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(
        std::optional<Row> row,
        txn.QueryOne("SELECT l.id, l.account_id, l.document_id, l.expires_at, l.revoked_at, "
                     "d.state, d.current_version FROM document_links l JOIN documents d ON "
                     "d.id = l.document_id WHERE l.token_hash = ?",
                     {Blob{token_hash}}));
    if (!row || row->GetText(5) != "active") return OkStatus();  // nothing to attribute
    found = true;
    target = LinkTarget{row->GetText(0), row->GetText(1), row->GetText(2)};
    ctx.account_id = target.account_id;
    ctx.actor_id = target.link_id;
    event.document_id = target.document_id;
    event.version = row->GetInt(6);
    event.link_id = target.link_id;
    if (!row->IsNull(4)) {
      event.success = false;
      event.reason = "revoked";
    } else if (std::optional<Time> expires = OptionalTime(*row, 3); expires && *expires <= now) {
      event.success = false;
      event.reason = "expired";
    }
    return Record(txn, event);
  }));
  if (!found) return NotFoundError(std::string(kLinkNotFound));
  PublishEvent(event);
  if (!event.success) return NotFoundError(std::string(kLinkNotFound));
  return target;
}

}  // namespace sicher::docs
