#include "sicher/api/internal/routes.h"

#include <fmt/format.h>

#include <charconv>

#include "sicher/api/problem.h"

namespace sicher::api::internal {

using auth::Principal;
using auth::Realm;
using nlohmann::json;

Realm RealmOf(const net::Request& r) {
  return r.listener == net::Listener::kOperator ? Realm::kOperator : Realm::kUser;
}

auth::ClientInfo ClientOf(const net::Request& r) {
  return auth::ClientInfo{.ip = r.client_ip,
                          .user_agent = std::string(r.headers.Get("User-Agent")),
                          .ch_mobile = std::string(r.headers.Get("Sec-CH-UA-Mobile")),
                          .ch_platform = std::string(r.headers.Get("Sec-CH-UA-Platform")),
                          .request_id = r.request_id};
}

bool IsUnsafe(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

// A string member, or InvalidArgument naming it. Absent optional members give "".
Result<std::string> Field(const json& body, const char* name, bool required) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgumentError(fmt::format("{} is required", name));
    return std::string();
  }
  if (!it->is_string()) return InvalidArgumentError(fmt::format("{} must be a string", name));
  return it->get<std::string>();
}

net::Response Error(const Status& s) {
  net::Response r = ProblemFromStatus(s);
  if (r.status == 503) r.headers.Set("Retry-After", "1");
  return r;
}

net::Response NoContent() {
  net::Response r;
  r.status = 204;
  return r;
}

// Query parameter `name` (undecoded values are fine for cursors and numbers).
std::string QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string decoded;
      if (eq != std::string_view::npos && net::PercentDecode(pair.substr(eq + 1), &decoded)) {
        return decoded;
      }
      return "";
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

Result<int> LimitParam(const net::Request& r) {
  const std::string v = QueryParam(r.query, "limit");
  if (v.empty()) return 50;
  int limit = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
  if (ec != std::errc() || p != v.data() + v.size() || limit < 1 || limit > 200) {
    return InvalidArgumentError("limit must be an integer from 1 to 200");
  }
  return limit;
}

void Routes::Open(std::string_view method, std::string_view path, Where where, Anonymous fn,
                  RouteOptions options) {
  router_.Add(method, path, Place(options, where), std::move(fn));
}

void Routes::Authenticated(std::string_view method, std::string_view path, Where where,
                           bool enrol_ok, Authed fn, RouteOptions options) {
  router_.Add(method, path, Place(options, where),
              [self = shared_from_this(), enrol_ok, fn = std::move(fn)](net::Request& req,
                                                                        const PathParams& p) {
                Result<Principal> who = self->Authenticate(req);
                if (!who.ok()) return Error(who.status());
                if (who->enrol_only && !enrol_ok) {
                  return Error(PermissionDeniedError(
                      "an account you belong to requires two-factor authentication: enrol a "
                      "second factor first (POST /v1/me/mfa/totp)"));
                }
                net::Response resp = fn(req, p, *who);
                if (who->realm == Realm::kOperator && self->options_.operator_audit) {
                  self->options_.operator_audit(*who, req, resp.status);
                }
                return resp;
              });
}

RouteOptions Routes::Place(RouteOptions options, Where where) {
  options.on_public = (where & kPublic) != 0;
  options.on_operator = (where & kOperator) != 0;
  return options;
}

Result<Principal> Routes::Authenticate(const net::Request& req) {
  std::string_view token;
  bool via_cookie = false;
  const std::string_view authz = req.headers.Get("Authorization");
  if (authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
    token = authz.substr(7);
  } else if (!authz.empty()) {
    return UnauthenticatedError("unsupported Authorization scheme; use Bearer");
  } else {
    token = FindCookie(req.headers.Get("Cookie"), kSessionCookie);
    via_cookie = !token.empty();
  }
  if (token.empty()) return UnauthenticatedError("authentication required");
  return service_.Authenticate(RealmOf(req), token, via_cookie && IsUnsafe(req.method),
                               req.headers.Get("X-CSRF-Token"), ClientOf(req));
}

}  // namespace sicher::api::internal
