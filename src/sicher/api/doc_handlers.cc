#include "sicher/api/doc_handlers.h"

#include <fmt/format.h>

#include <charconv>

#include "sicher/api/internal/routes.h"
#include "sicher/api/json.h"
#include "sicher/api/problem.h"

namespace sicher::api {
namespace {

using auth::Action;
using auth::Principal;
using internal::Error;
using internal::LimitParam;
using internal::NoContent;
using internal::QueryParam;
using internal::Routes;
using nlohmann::json;

constexpr size_t kReadPiece = 256 * 1024;

// The request body as a docs::ByteSource.
class BodySource final : public docs::ByteSource {
 public:
  explicit BodySource(net::BodyReader* reader) : reader_(reader) {}
  Result<size_t> Read(std::span<char> out) override {
    if (reader_ == nullptr) return size_t{0};
    return reader_->Read(out);
  }

 private:
  net::BodyReader* reader_;
};

// Document bytes onto the response: Start decides 200 / 206 / 416 and the headers.
class ResponseSink final : public docs::ByteSink {
 public:
  ResponseSink(net::ResponseWriter& writer, bool inline_for_readers)
      : writer_(writer), inline_(inline_for_readers) {}

  Status Start(const docs::ContentInfo& info) override {
    net::Headers h;
    h.Set("ETag", info.etag);
    h.Set("Accept-Ranges", "bytes");
    h.Set("Cache-Control", "private, no-store");
    if (!info.satisfiable) {
      h.Set("Content-Range", fmt::format("bytes */{}", info.total_size));
      return writer_.Start(416, h, 0);
    }
    h.Set("Content-Type",
          info.content_type.empty() ? "application/octet-stream" : info.content_type);
    if (inline_) {
      // Readers see the document, but it runs no script and cannot reach anything.
      h.Set("Content-Disposition", "inline");
      h.Set("Content-Security-Policy",
            "sandbox; default-src 'none'; img-src 'self' data:; "
            "style-src 'unsafe-inline'; frame-ancestors 'none'");
    } else {
      h.Set("Content-Disposition", "attachment");
    }
    if (info.partial) {
      h.Set("Content-Range", fmt::format("bytes {}-{}/{}", info.first, info.first + info.length - 1,
                                         info.total_size));
    }
    return writer_.Start(info.partial ? 206 : 200, h, info.length);
  }
  Status Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), kReadPiece);
      RETURN_IF_ERROR(writer_.Write(bytes.substr(0, n)));
      bytes.remove_prefix(n);
    }
    return OkStatus();
  }

 private:
  net::ResponseWriter& writer_;
  bool inline_;
};

json MetaJson(const docs::DocumentMeta& m) {
  return {{"id", m.id},
          {"account_id", m.account_id},
          {"title", m.title},
          {"description", m.description},
          {"content_type", m.content_type},
          {"size", m.size},
          {"version", m.version},
          {"etag", m.etag},
          {"created_at", FormatRfc3339(m.created_at)},
          {"updated_at", FormatRfc3339(m.updated_at)},
          {"created_by", m.created_by}};
}

json LinkJson(const docs::LinkInfo& l) {
  json j = {{"id", l.id},
            {"document_id", l.document_id},
            {"created_by", l.created_by},
            {"created_at", FormatRfc3339(l.created_at)},
            {"active", l.active}};
  j["expires_at"] = l.expires_at ? json(FormatRfc3339(*l.expires_at)) : json(nullptr);
  j["revoked_at"] = l.revoked_at ? json(FormatRfc3339(*l.revoked_at)) : json(nullptr);
  return j;
}

// Maps docs/ errors onto HTTP, with the document-specific problem types.
net::Response DocError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return Problem(413, "payload-too-large", "Document too large", s.message());
    case StatusCode::kDataLoss:
      return Problem(500, "document-damaged", "Document damaged",
                     "the stored document failed its integrity check; the incident is recorded");
    default:
      return Error(s);
  }
}

class DocRoutes {
 public:
  DocRoutes(auth::AuthService& auth, docs::DocStore& store, const net::UserAgentParser& ua,
            DocRoutesOptions options)
      : auth_(auth), store_(store), ua_(ua), options_(options) {}

  docs::RequestInfo Info(const net::Request& r) const {
    const std::string_view agent = r.headers.Get("User-Agent");
    const net::ParsedUserAgent parsed = ua_.Parse(agent);
    return docs::RequestInfo{.client_ip = r.client_ip,
                             .user_agent = std::string(agent),
                             .device_type = std::string(net::DeviceTypeName(parsed.device_type)),
                             .request_id = r.request_id};
  }

  // The context for acting on `account_id`, after checking the caller may do `action` there.
  Result<docs::AccessContext> Context(const net::Request& r, const Principal& who,
                                      std::string_view account_id, Action action) {
    ASSIGN_OR_RETURN(auth::Role role, auth_.RoleIn(who, account_id));
    RETURN_IF_ERROR(auth::Authorize(role, action));
    return docs::AccessContext{std::string(account_id), docs::ActorKind::kUser, who.id, Info(r)};
  }
  Result<docs::AccessContext> ContextForDocument(const net::Request& r, const Principal& who,
                                                 std::string_view document_id, Action action) {
    ASSIGN_OR_RETURN(std::string account, store_.AccountOf(document_id));
    return Context(r, who, account, action);
  }

  uint64_t max_bytes() const { return options_.max_document_bytes; }
  docs::DocStore& store() { return store_; }

 private:
  auth::AuthService& auth_;
  docs::DocStore& store_;
  const net::UserAgentParser& ua_;
  DocRoutesOptions options_;
};

std::optional<uint64_t> DeclaredSize(const net::Request& r) {
  if (r.body_reader != nullptr) return r.body_reader->content_length();
  return r.body.size();
}

net::Response StreamContent(docs::DocStore& store, docs::AccessContext ctx, std::string document_id,
                            std::optional<docs::RangeSpec> range, bool inline_for_readers) {
  net::Response r;
  r.stream = [&store, ctx = std::move(ctx), document_id = std::move(document_id), range,
              inline_for_readers](net::ResponseWriter& writer) {
    ResponseSink sink(writer, inline_for_readers);
    const Status s = store.Read(ctx, document_id, range, sink);
    if (s.ok() || s.code() == StatusCode::kOutOfRange) return net::Response{};
    return DocError(s);  // sent only if nothing was started; else the connection is cut
  };
  return r;
}

}  // namespace

std::optional<docs::RangeSpec> ParseRangeHeader(std::string_view v) {
  if (!v.starts_with("bytes=")) return std::nullopt;
  v.remove_prefix(6);
  if (v.find(',') != std::string_view::npos) return std::nullopt;
  const size_t dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t a = 0, b = 0;
  if (dash == 0) {
    if (!number(v.substr(1), &b)) return std::nullopt;
    return docs::RangeSpec::Suffix(b);
  }
  if (!number(v.substr(0, dash), &a)) return std::nullopt;
  if (dash + 1 == v.size()) return docs::RangeSpec::From(a);
  if (!number(v.substr(dash + 1), &b) || b < a) return std::nullopt;
  return docs::RangeSpec::From(a, b);
}

void RegisterDocRoutes(Router& router, auth::AuthService& auth, docs::DocStore& store,
                       const net::UserAgentParser& ua_parser, DocRoutesOptions options) {
  auto routes = std::make_shared<Routes>(router, auth, AuthRoutesOptions{});
  auto docs = std::make_shared<DocRoutes>(auth, store, ua_parser, options);
  const RouteOptions upload{.max_body_bytes = options.max_document_bytes, .stream_body = true};

  auto do_upload = [docs](net::Request& req, const PathParams& p, const Principal& who) {
    Result<docs::AccessContext> ctx =
        docs->Context(req, who, p.Get("id"), Action::kDocumentsUpload);
    if (!ctx.ok()) return DocError(ctx.status());
    docs::NewDocument doc{.title = QueryParam(req.query, "title"),
                          .content_type = std::string(req.headers.Get("Content-Type")),
                          .description = QueryParam(req.query, "description"),
                          .declared_size = DeclaredSize(req)};
    if (doc.title.empty())
      return Error(InvalidArgumentError("the title query parameter is required"));
    BodySource source(req.body_reader);
    Result<docs::DocumentMeta> meta = docs->store().Upload(*ctx, doc, source);
    if (!meta.ok()) return DocError(meta.status());
    net::Response r = JsonResponse(201, MetaJson(*meta));
    r.headers.Set("Location", "/v1/documents/" + meta->id);
    return r;
  };
  routes->Authenticated("POST", "/v1/accounts/{id}/documents", Routes::kPublic, false, do_upload,
                        upload);

  routes->Authenticated(
      "GET", "/v1/accounts/{id}/documents", Routes::kPublic, false,
      [docs](net::Request& req, const PathParams& p, const Principal& who) {
        Result<docs::AccessContext> ctx =
            docs->Context(req, who, p.Get("id"), Action::kDocumentsRead);
        if (!ctx.ok()) return DocError(ctx.status());
        Result<int> limit = LimitParam(req);
        if (!limit.ok()) return Error(limit.status());
        Result<docs::DocumentPage> page =
            docs->store().List(*ctx, QueryParam(req.query, "cursor"), std::min(*limit, 100));
        if (!page.ok()) return DocError(page.status());
        json items = json::array();
        for (const auto& m : page->items) items.push_back(MetaJson(m));
        return JsonResponse(
            200,
            {{"items", items},
             {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}});
      });

  routes->Authenticated("GET", "/v1/documents/{id}", Routes::kPublic, false,
                        [docs](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<docs::AccessContext> ctx = docs->ContextForDocument(
                              req, who, p.Get("id"), Action::kDocumentsRead);
                          if (!ctx.ok()) return DocError(ctx.status());
                          Result<docs::DocumentMeta> meta = docs->store().Get(*ctx, p.Get("id"));
                          if (!meta.ok()) return DocError(meta.status());
                          net::Response r = JsonResponse(200, MetaJson(*meta));
                          r.headers.Set("ETag", meta->etag);
                          return r;
                        });

  routes->Authenticated(
      "GET", "/v1/documents/{id}/content", Routes::kPublic, false,
      [docs](net::Request& req, const PathParams& p, const Principal& who) {
        Result<docs::AccessContext> ctx =
            docs->ContextForDocument(req, who, p.Get("id"), Action::kDocumentsRead);
        if (!ctx.ok()) return DocError(ctx.status());
        return StreamContent(docs->store(), *std::move(ctx), std::string(p.Get("id")),
                             ParseRangeHeader(req.headers.Get("Range")),
                             /*inline_for_readers=*/false);
      });

  routes->Authenticated(
      "PUT", "/v1/documents/{id}/content", Routes::kPublic, false,
      [docs](net::Request& req, const PathParams& p, const Principal& who) {
        Result<docs::AccessContext> ctx =
            docs->ContextForDocument(req, who, p.Get("id"), Action::kDocumentsUpload);
        if (!ctx.ok()) return DocError(ctx.status());
        BodySource source(req.body_reader);
        Result<docs::DocumentMeta> meta =
            docs->store().Replace(*ctx, p.Get("id"), source, DeclaredSize(req));
        return meta.ok() ? JsonResponse(200, MetaJson(*meta)) : DocError(meta.status());
      },
      upload);

  routes->Authenticated("DELETE", "/v1/documents/{id}", Routes::kPublic, false,
                        [docs](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<docs::AccessContext> ctx = docs->ContextForDocument(
                              req, who, p.Get("id"), Action::kDocumentsDelete);
                          if (!ctx.ok()) return DocError(ctx.status());
                          const Status s = docs->store().Delete(*ctx, p.Get("id"));
                          return s.ok() ? NoContent() : DocError(s);
                        });

  routes->Authenticated(
      "POST", "/v1/documents/{id}/links", Routes::kPublic, false,
      [docs](net::Request& req, const PathParams& p, const Principal& who) {
        Result<docs::AccessContext> ctx =
            docs->ContextForDocument(req, who, p.Get("id"), Action::kLinksManage);
        if (!ctx.ok()) return DocError(ctx.status());
        std::optional<Time> expires;
        if (!req.body.empty()) {
          Result<json> body = ParseJsonObject(req);
          if (!body.ok()) return Error(body.status());
          if (auto it = body->find("expires_at"); it != body->end() && !it->is_null()) {
            Time t;
            if (!it->is_string() || !ParseRfc3339(it->get<std::string>(), &t)) {
              return Error(InvalidArgumentError("expires_at must be an RFC 3339 time"));
            }
            expires = t;
          }
        }
        Result<docs::CreatedLink> link = docs->store().CreateLink(*ctx, p.Get("id"), expires);
        if (!link.ok()) return DocError(link.status());
        json j = LinkJson(link->link);
        j["token"] = link->token;
        j["url_path"] = "/p/" + link->token;
        return JsonResponse(201, j);
      });

  routes->Authenticated("GET", "/v1/documents/{id}/links", Routes::kPublic, false,
                        [docs](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<docs::AccessContext> ctx =
                              docs->ContextForDocument(req, who, p.Get("id"), Action::kLinksManage);
                          if (!ctx.ok()) return DocError(ctx.status());
                          Result<std::vector<docs::LinkInfo>> links =
                              docs->store().ListLinks(*ctx, p.Get("id"));
                          if (!links.ok()) return DocError(links.status());
                          json items = json::array();
                          for (const auto& l : *links) items.push_back(LinkJson(l));
                          return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
                        });

  routes->Authenticated("DELETE", "/v1/documents/{id}/links/{link}", Routes::kPublic, false,
                        [docs](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<docs::AccessContext> ctx =
                              docs->ContextForDocument(req, who, p.Get("id"), Action::kLinksManage);
                          if (!ctx.ok()) return DocError(ctx.status());
                          const Status s = docs->store().RevokeLink(*ctx, p.Get("link"));
                          return s.ok() ? NoContent() : DocError(s);
                        });

  // Readers: the token is the only credential.
  routes->Open("GET", "/p/{token}", Routes::kPublic,
               [docs](net::Request& req, const PathParams& p) {
                 const docs::RequestInfo info = docs->Info(req);
                 Result<docs::LinkTarget> target = docs->store().ResolveLink(p.Get("token"), info);
                 if (!target.ok()) return DocError(target.status());
                 return StreamContent(docs->store(), target->Context(info), target->document_id,
                                      ParseRangeHeader(req.headers.Get("Range")),
                                      /*inline_for_readers=*/true);
               });
}

}  // namespace sicher::api
