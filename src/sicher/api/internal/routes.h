#pragma once
// Plumbing shared by the api/ route files: authentication of a request (Bearer or cookie +
// CSRF), the enrolment-only rule, operator auditing, JSON field access, query parameters and
// the Status -> problem answer. Private to api/.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sicher/api/auth_handlers.h"
#include "sicher/api/router.h"
#include "sicher/auth/service.h"

namespace sicher::api::internal {

auth::Realm RealmOf(const net::Request& r);
auth::ClientInfo ClientOf(const net::Request& r);
bool IsUnsafe(std::string_view method);
// A string member, or InvalidArgument naming it. Absent optional members give "".
Result<std::string> Field(const nlohmann::json& body, const char* name, bool required = true);
// The problem answer for `s`; 503s carry Retry-After.
net::Response Error(const Status& s);
net::Response NoContent();
// Query parameter `name`, percent-decoded; "" when absent or malformed.
std::string QueryParam(std::string_view query, std::string_view name);
// ?limit=, 1..200, default 50.
Result<int> LimitParam(const net::Request& r);

// Adds routes that need a session. Lives as long as the handlers that capture it.
class Routes : public std::enable_shared_from_this<Routes> {
 public:
  Routes(Router& router, auth::AuthService& service, AuthRoutesOptions options)
      : router_(router), service_(service), options_(std::move(options)) {}

  using Anonymous = std::function<net::Response(net::Request&, const PathParams&)>;
  using Authed =
      std::function<net::Response(net::Request&, const PathParams&, const auth::Principal&)>;

  enum Where { kPublic = 1, kOperator = 2, kBoth = 3 };

  void Open(std::string_view method, std::string_view path, Where where, Anonymous fn,
            RouteOptions options = Defaults());
  // `enrol_ok`: an enrolment-only session (account requires 2FA) may call it.
  void Authenticated(std::string_view method, std::string_view path, Where where, bool enrol_ok,
                     Authed fn, RouteOptions options = Defaults());

  static RouteOptions Defaults() { return RouteOptions{.max_body_bytes = 16 * 1024}; }
  auth::AuthService& service() { return service_; }

 private:
  static RouteOptions Place(RouteOptions options, Where where);
  Result<auth::Principal> Authenticate(const net::Request& req);

  Router& router_;
  auth::AuthService& service_;
  AuthRoutesOptions options_;
};

}  // namespace sicher::api::internal
