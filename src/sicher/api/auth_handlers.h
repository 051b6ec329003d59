#pragma once
// HTTP routes of auth/: sign-up, login, sessions, TOTP, accounts, members, invitations, login
// history and operator enrolment. Paths and bodies: docs/openapi.yaml and
// docs/design/auth.md.
//
// Authentication: `Authorization: Bearer <token>` or the `__Host-sicher_session` cookie. A
// cookie-authenticated request that changes state must carry `X-CSRF-Token`. The public
// listener serves the user realm, the operator listener the operator realm; a token of one
// realm is worthless on the other.

#include <functional>

#include "sicher/api/router.h"
#include "sicher/auth/service.h"

namespace sicher::api {

struct AuthRoutesOptions {
  // Called after every request an operator made on the operator listener (C14: every operator
  // request is audited), with the operator's id and the status answered.
  std::function<void(const auth::Principal&, const net::Request&, int status)> operator_audit;
};

// Adds the routes. `service` must outlive `router`.
void RegisterAuthRoutes(Router& router, auth::AuthService& service, AuthRoutesOptions options);

// The session cookie's name.
inline constexpr std::string_view kSessionCookie = "__Host-sicher_session";

// The value of cookie `name` in a Cookie header, or empty.
std::string_view FindCookie(std::string_view cookie_header, std::string_view name);

}  // namespace sicher::api
