#include "sicher/api/audit_handlers.h"

#include <fmt/format.h>

#include <charconv>

#include "sicher/api/internal/routes.h"
#include "sicher/api/json.h"
#include "sicher/audit/export.h"
#include "sicher/base/bytes.h"

namespace sicher::api {
namespace {

using auth::Action;
using auth::Principal;
using auth::Role;
using internal::ClientOf;
using internal::Error;
using internal::QueryParam;
using internal::Routes;
using nlohmann::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 500;

Result<std::optional<uint64_t>> UintParam(const net::Request& req, std::string_view name) {
  const std::string v = QueryParam(req.query, name);
  if (v.empty()) return std::optional<uint64_t>();
  uint64_t out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.size() > 19) {
    return InvalidArgumentError(fmt::format("{} must be a non-negative integer", name));
  }
  return std::optional<uint64_t>(out);
}

Result<std::optional<Time>> TimeParam(const net::Request& req, std::string_view name) {
  const std::string v = QueryParam(req.query, name);
  if (v.empty()) return std::optional<Time>();
  Time t;
  if (v.size() > 64 || !ParseRfc3339(v, &t)) {
    return InvalidArgumentError(fmt::format("{} must be an RFC 3339 time", name));
  }
  return std::optional<Time>(t);
}

// The filter of a query or export request; InvalidArgument names the bad parameter.
Result<audit::Filter> FilterOf(const net::Request& req) {
  audit::Filter f;
  ASSIGN_OR_RETURN(f.from, TimeParam(req, "from"));
  ASSIGN_OR_RETURN(f.to, TimeParam(req, "to"));
  if (f.from && f.to && *f.to <= *f.from) return InvalidArgumentError("to must be after from");
  f.action = QueryParam(req.query, "action");
  f.actor_id = QueryParam(req.query, "actor");
  f.outcome = QueryParam(req.query, "outcome");
  f.ip = QueryParam(req.query, "ip");
  if (f.action.size() > 64 || f.actor_id.size() > 64 || f.ip.size() > 64) {
    return InvalidArgumentError("action, actor and ip are at most 64 characters");
  }
  if (!f.outcome.empty() && f.outcome != "success" && f.outcome != "failure" &&
      f.outcome != "unknown") {
    return InvalidArgumentError("outcome must be success, failure or unknown");
  }
  return f;
}

// Who may read what: the scopes a principal's query covers in `account_id`.
struct Access {
  std::vector<std::string> scopes;
  Role role = Role::kMember;
};

Result<Access> AccessFor(auth::AuthService& auth, const Principal& who,
                         const std::string& account_id) {
  if (who.realm != auth::Realm::kUser) return NotFoundError("no such account");
  ASSIGN_OR_RETURN(Role role, auth.RoleIn(who, account_id));
  Access a;
  a.role = role;
  if (auth::Authorize(role, Action::kAuditRead).ok()) {
    a.scopes.push_back(account_id);
    ASSIGN_OR_RETURN(std::vector<std::string> members, auth.MemberIds(account_id));
    for (std::string& m : members) a.scopes.push_back(std::move(m));
  } else {
    a.scopes.push_back(who.id);  // a member: their own logins, sessions and 2FA changes
  }
  return a;
}

// Commits the audit.read / audit.exported event before anything is answered.
Status RecordRead(audit::Log& log, store::Store& store, std::string_view action,
                  const Principal& who, const net::Request& req, const std::string& account_id,
                  json details) {
  const auth::ClientInfo client = ClientOf(req);
  audit::Event ev;
  ev.action = action;
  ev.scope = account_id;
  ev.account_id = account_id;
  ev.actor_type = audit::ActorType::kUser;
  ev.actor_id = who.id;
  ev.target_type = "audit_log";
  ev.target_id = account_id;
  ev.ip = client.ip;
  ev.user_agent = client.user_agent;
  ev.request_id = client.request_id;
  ev.details = std::move(details);
  audit::Pending pending;
  RETURN_IF_ERROR(store.Write([&](store::Txn& txn) { return log.Append(txn, ev, &pending); }));
  log.Publish(pending);
  return OkStatus();
}

json FilterJson(const audit::Filter& f) {
  json j = json::object();
  if (f.from) j["from"] = FormatRfc3339(*f.from);
  if (f.to) j["to"] = FormatRfc3339(*f.to);
  if (!f.action.empty()) j["action"] = f.action;
  if (!f.actor_id.empty()) j["actor"] = f.actor_id;
  if (!f.outcome.empty()) j["outcome"] = f.outcome;
  if (!f.ip.empty()) j["ip_filter"] = true;  // the address itself stays out of the details
  return j;
}

net::Response TextResponse(int status, std::string body) {
  net::Response r;
  r.status = status;
  r.headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.headers.Set("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

std::vector<std::string> Base64All(const std::vector<std::string>& hashes) {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const std::string& h : hashes) out.push_back(Base64Encode(h));
  return out;
}

}  // namespace

void RegisterAuditRoutes(Router& router, auth::AuthService& auth, audit::Log& log,
                         store::Store& store) {
  auto routes = std::make_shared<Routes>(router, auth, AuthRoutesOptions{});
  auth::AuthService* a = &auth;
  audit::Log* l = &log;
  store::Store* st = &store;

  routes->Authenticated(
      "GET", "/v1/accounts/{id}/audit-events", Routes::kPublic, false,
      [a, l, st](net::Request& req, const PathParams& p, const Principal& who) {
        const std::string account_id(p.Get("id"));
        Result<Access> access = AccessFor(*a, who, account_id);
        if (!access.ok()) return Error(access.status());
        Result<audit::Filter> filter = FilterOf(req);
        if (!filter.ok()) return Error(filter.status());
        Result<std::optional<uint64_t>> limit = UintParam(req, "limit");
        if (!limit.ok()) return Error(limit.status());
        const uint64_t n = limit->value_or(kDefaultLimit);
        if (n < 1 || n > kMaxLimit) {
          return Error(InvalidArgumentError(fmt::format("limit must be 1 to {}", kMaxLimit)));
        }
        std::optional<audit::Position> after;
        if (const std::string c = QueryParam(req.query, "cursor"); !c.empty()) {
          after = audit::DecodeCursor(c);
          if (!after) return Error(InvalidArgumentError("cursor is not valid"));
        }
        if (Status s = RecordRead(*l, *st, "audit.read", who, req, account_id, FilterJson(*filter));
            !s.ok()) {
          return Error(s);
        }
        std::vector<audit::StoredEvent> page;
        Status s = st->Read([&](store::Txn& txn) -> Status {
          ASSIGN_OR_RETURN(
              page, l->Page(txn, access->scopes, *filter, after, n, audit::Order::kNewestFirst));
          return OkStatus();
        });
        if (!s.ok()) return Error(s);
        json items = json::array();
        for (const audit::StoredEvent& ev : page) {
          if (!ev.status.ok()) {
            items.push_back({{"sicher",
                              {{"log_index", ev.log_index},
                               {"scope", ev.scope},
                               {"error", std::string(ev.status.message())}}}});
            continue;
          }
          items.push_back(json::parse(ev.record, nullptr, false));
        }
        json next = nullptr;
        if (page.size() == n) {
          next =
              audit::EncodeCursor({page.back().at_us, static_cast<int64_t>(page.back().log_index)});
        }
        return JsonResponse(200, {{"items", std::move(items)}, {"next_cursor", next}});
      });

  routes->Authenticated(
      "GET", "/v1/accounts/{id}/audit-events/export", Routes::kPublic, false,
      [a, l, st](net::Request& req, const PathParams& p, const Principal& who) {
        const std::string account_id(p.Get("id"));
        Result<Access> access = AccessFor(*a, who, account_id);
        if (!access.ok()) return Error(access.status());
        audit::ExportRequest request;
        Result<audit::ExportFormat> format =
            audit::ParseExportFormat(QueryParam(req.query, "format"));
        if (!format.ok()) return Error(format.status());
        request.format = *format;
        Result<audit::Filter> filter = FilterOf(req);
        if (!filter.ok()) return Error(filter.status());
        request.filter = *filter;
        const std::string proofs = QueryParam(req.query, "proofs");
        if (!proofs.empty() && proofs != "true" && proofs != "false") {
          return Error(InvalidArgumentError("proofs must be true or false"));
        }
        request.proofs = proofs == "true";
        // A verifiable export is the whole log of a time range: with events filtered out, its
        // per-scope sequence numbers would show gaps and it could not be checked as complete.
        if (request.proofs && (!filter->action.empty() || !filter->actor_id.empty() ||
                               !filter->outcome.empty() || !filter->ip.empty())) {
          return Error(InvalidArgumentError(
              "proofs=true takes only from and to (action, actor, outcome and ip filters would "
              "leave gaps a verifier reports)"));
        }
        if (request.proofs && request.format != audit::ExportFormat::kJsonl) {
          return Error(InvalidArgumentError("proofs are only available with format=jsonl"));
        }
        request.scopes = access->scopes;
        json details = FilterJson(request.filter);
        details["format"] = request.format == audit::ExportFormat::kCsv ? "csv" : "jsonl";
        details["proofs"] = request.proofs;
        if (Status s = RecordRead(*l, *st, "audit.exported", who, req, account_id, details);
            !s.ok()) {
          return Error(s);
        }
        net::Response r;
        r.stream = [l, st, request = std::move(request),
                    account_id](net::ResponseWriter& writer) -> net::Response {
          net::Headers h;
          const bool csv = request.format == audit::ExportFormat::kCsv;
          h.Set("Content-Type", csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
          h.Set("Content-Disposition", fmt::format("attachment; filename=\"audit-{}.{}\"",
                                                   account_id, csv ? "csv" : "jsonl"));
          h.Set("Cache-Control", "no-store");
          bool started = false;
          Result<audit::ExportSummary> done =
              audit::Export(*st, *l, request, [&](std::string_view chunk) -> Status {
                if (!started) {
                  RETURN_IF_ERROR(writer.Start(200, h, net::ResponseWriter::kChunked));
                  started = true;
                }
                return writer.Write(chunk);
              });
          if (!done.ok()) return Error(done.status());  // cuts the body if it had started
          if (!started) {
            // Nothing to export: an empty body (or only the CSV header, which Export wrote).
            if (Status s = writer.Start(200, h, net::ResponseWriter::kChunked); !s.ok()) {
              return Error(s);
            }
          }
          return net::Response{};
        };
        return r;
      });

  routes->Open("GET", "/v1/audit/checkpoint", Routes::kBoth,
               [st](net::Request& req, const PathParams&) {
                 Result<std::optional<uint64_t>> size = UintParam(req, "size");
                 if (!size.ok()) return Error(size.status());
                 Result<audit::StoredCheckpoint> cp = NotFoundError("no checkpoint yet");
                 Status s = st->Read([&](store::Txn& txn) -> Status {
                   cp = audit::Log::GetCheckpoint(txn, *size);
                   return OkStatus();
                 });
                 if (!s.ok()) return Error(s);
                 if (!cp.ok()) return Error(cp.status());
                 return TextResponse(200, cp->note);
               });

  routes->Open("GET", "/v1/audit/key", Routes::kBoth, [l](net::Request&, const PathParams&) {
    if (l->signer() == nullptr) return Error(UnavailableError("no checkpoint signing key"));
    return TextResponse(200, l->signer()->VerifierKey() + "\n");
  });

  routes->Authenticated(
      "GET", "/v1/audit/proof", Routes::kBoth, false,
      [st](net::Request& req, const PathParams&, const Principal&) {
        Result<std::optional<uint64_t>> leaf = UintParam(req, "leaf");
        if (!leaf.ok()) return Error(leaf.status());
        if (!*leaf) return Error(InvalidArgumentError("leaf is required"));
        Result<std::optional<uint64_t>> size = UintParam(req, "size");
        if (!size.ok()) return Error(size.status());
        json out;
        Status s = st->Read([&](store::Txn& txn) -> Status {
          ASSIGN_OR_RETURN(audit::StoredCheckpoint cp, audit::Log::GetCheckpoint(txn, *size));
          if (**leaf >= cp.size) {
            return FailedPreconditionError(fmt::format(
                "leaf {} is not in the checkpoint of size {} yet; checkpoints follow within "
                "audit.checkpoint_interval",
                **leaf, cp.size));
          }
          ASSIGN_OR_RETURN(audit::InclusionProofView v,
                           audit::Log::InclusionProof(txn, **leaf, cp.size));
          out = {{"log_index", v.log_index},
                 {"tree_size", v.tree_size},
                 {"leaf_hash", Base64Encode(v.leaf_hash)},
                 {"inclusion_proof", Base64All(v.proof)},
                 {"checkpoint", cp.note}};
          return OkStatus();
        });
        if (!s.ok()) return Error(s);
        return JsonResponse(200, out);
      });

  routes->Authenticated(
      "GET", "/v1/audit/consistency", Routes::kBoth, false,
      [st](net::Request& req, const PathParams&, const Principal&) {
        Result<std::optional<uint64_t>> from = UintParam(req, "from");
        Result<std::optional<uint64_t>> to = UintParam(req, "to");
        if (!from.ok()) return Error(from.status());
        if (!to.ok()) return Error(to.status());
        if (!*from || !*to) return Error(InvalidArgumentError("from and to are required"));
        json out;
        Status s = st->Read([&](store::Txn& txn) -> Status {
          ASSIGN_OR_RETURN(std::vector<std::string> proof,
                           audit::Log::ConsistencyProof(txn, **from, **to));
          out = {{"from", **from}, {"to", **to}, {"consistency_proof", Base64All(proof)}};
          return OkStatus();
        });
        if (!s.ok()) return Error(s);
        return JsonResponse(200, out);
      });
}

}  // namespace sicher::api
