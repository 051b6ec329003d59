#include "sicher/api/auth_handlers.h"

#include <fmt/format.h>

#include <charconv>

#include "sicher/api/internal/routes.h"
#include "sicher/api/json.h"
#include "sicher/api/problem.h"

namespace sicher::api {
namespace {

using auth::Principal;
using auth::Realm;
using internal::ClientOf;
using internal::Error;
using internal::Field;
using internal::LimitParam;
using internal::NoContent;
using internal::QueryParam;
using internal::RealmOf;
using internal::Routes;
using nlohmann::json;

std::string Rfc3339(Time t) { return FormatRfc3339(t); }

std::string SessionCookie(const auth::NewSession& s) {
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(s.lifetime);
  return fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}", kSessionCookie,
                     s.token, max_age.count());
}

std::string ExpiredCookie() {
  return fmt::format("{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", kSessionCookie);
}

net::Response LoginResponse(const auth::LoginOutcome& out) {
  switch (out.kind) {
    case auth::LoginOutcome::Kind::kThrottled: {
      net::Response r = Problem(429, "too-many-requests", "Too many failed attempts",
                                "too many failed attempts; try again later");
      const auto secs = std::chrono::ceil<std::chrono::seconds>(out.retry_after).count();
      r.headers.Set("Retry-After", std::to_string(std::max<int64_t>(secs, 1)));
      return r;
    }
    case auth::LoginOutcome::Kind::kMfaRequired:
      return JsonResponse(200, {{"mfa_required", true}, {"challenge", out.challenge}});
    case auth::LoginOutcome::Kind::kSession: {
      net::Response r = JsonResponse(200, {{"token", out.session.token},
                                           {"csrf_token", out.session.csrf_token},
                                           {"session_id", out.session.session_id},
                                           {"user_id", out.principal_id},
                                           {"expires_at", Rfc3339(out.session.expires_at)},
                                           {"mfa_enrolment_required", out.session.enrol_only}});
      r.headers.Set("Set-Cookie", SessionCookie(out.session));
      return r;
    }
  }
  return ProblemFromStatus(InternalError("unknown login outcome"));
}

json LoginEventJson(const auth::LoginEventView& e) {
  json j = {{"id", e.id},
            {"@timestamp", Rfc3339(e.at)},
            {"event",
             {{"category", {"authentication"}},
              {"action", e.reason == "logout" ? "logout" : "login"},
              {"outcome", e.outcome},
              {"reason", e.reason}}},
            {"realm", e.realm},
            {"auth_method", e.method},
            {"source", {{"ip", e.client_ip}}},
            {"user_agent", {{"original", e.user_agent}, {"parser", e.ua_parser}}},
            {"device", {{"type", e.device_type}, {"os", e.os}, {"browser", e.browser}}},
            {"user", {{"id", e.principal_id}}},
            {"http", {{"request", {{"id", e.request_id}}}}},
            {"new_device", e.new_device}};
  if (!e.session_id.empty()) j["session"] = {{"id", e.session_id}};
  if (!e.country.empty()) j["source"]["geo"] = {{"country_iso_code", e.country}};
  if (!e.ch_mobile.empty() || !e.ch_platform.empty()) {
    j["client_hints"] = {{"mobile", e.ch_mobile}, {"platform", e.ch_platform}};
  }
  return j;
}

net::Response LoginPage(const Result<auth::Page<auth::LoginEventView>>& page) {
  if (!page.ok()) return Error(page.status());
  json items = json::array();
  for (const auto& e : page->items) items.push_back(LoginEventJson(e));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}});
}

json TotpJson(const auth::TotpEnrolment& e) {
  return {{"secret", e.secret_base32}, {"otpauth_uri", e.otpauth_uri}, {"qr_svg", e.qr_svg}};
}

}  // namespace

std::string_view FindCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

void RegisterAuthRoutes(Router& router, auth::AuthService& service, AuthRoutesOptions options) {
  // The Routes object lives as long as the router's handlers that capture it.
  auto routes = std::make_shared<Routes>(router, service, std::move(options));
  auth::AuthService* s = &service;
  using R = Routes;

  routes->Open("POST", "/v1/signup", R::kPublic, [s](net::Request& req, const PathParams&) {
    Result<json> body = ParseJsonObject(req);
    if (!body.ok()) return Error(body.status());
    Result<std::string> email = Field(*body, "email"), password = Field(*body, "password"),
                        name = Field(*body, "name"), account = Field(*body, "account_name");
    for (const Result<std::string>* f : {&email, &password, &name, &account}) {
      if (!f->ok()) return Error(f->status());
    }
    Result<auth::SignupResult> r = s->Signup(*email, *password, *name, *account, ClientOf(req));
    if (!r.ok()) return Error(r.status());
    return JsonResponse(201, {{"user_id", r->user_id}, {"account_id", r->account_id}});
  });

  routes->Open("POST", "/v1/login", R::kBoth, [s](net::Request& req, const PathParams&) {
    Result<json> body = ParseJsonObject(req);
    if (!body.ok()) return Error(body.status());
    Result<std::string> email = Field(*body, "email"), password = Field(*body, "password");
    if (!email.ok()) return Error(email.status());
    if (!password.ok()) return Error(password.status());
    Result<auth::LoginOutcome> out = s->Login(RealmOf(req), *email, *password, ClientOf(req));
    if (!out.ok()) return Error(out.status());
    return LoginResponse(*out);
  });

  routes->Open("POST", "/v1/login/mfa", R::kBoth, [s](net::Request& req, const PathParams&) {
    Result<json> body = ParseJsonObject(req);
    if (!body.ok()) return Error(body.status());
    Result<std::string> challenge = Field(*body, "challenge"), code = Field(*body, "code", false),
                        recovery = Field(*body, "recovery_code", false);
    for (const Result<std::string>* f : {&challenge, &code, &recovery}) {
      if (!f->ok()) return Error(f->status());
    }
    Result<auth::LoginOutcome> out =
        s->LoginMfa(RealmOf(req), *challenge, *code, *recovery, ClientOf(req));
    if (!out.ok()) return Error(out.status());
    return LoginResponse(*out);
  });

  routes->Authenticated("POST", "/v1/logout", R::kBoth, true,
                        [s](net::Request& req, const PathParams&, const Principal& who) {
                          Status st = s->Logout(who, ClientOf(req));
                          if (!st.ok()) return Error(st);
                          net::Response r = NoContent();
                          r.headers.Set("Set-Cookie", ExpiredCookie());
                          return r;
                        });

  routes->Authenticated(
      "GET", "/v1/me", R::kBoth, true, [s](net::Request&, const PathParams&, const Principal& who) {
        Result<auth::MeView> me = s->Me(who);
        if (!me.ok()) return Error(me.status());
        json memberships = json::array();
        for (const auto& m : me->memberships) {
          memberships.push_back(
              {{"account_id", m.account_id}, {"role", std::string(auth::RoleName(m.role))}});
        }
        return JsonResponse(
            200, {{"id", me->id},
                  {"email", me->email},
                  {"name", me->name},
                  {"realm", std::string(auth::RealmName(who.realm))},
                  {"mfa", {{"totp", me->totp_enabled}}},
                  {"memberships", memberships},
                  {"session", {{"id", who.session_id}, {"mfa_enrolment_required", who.enrol_only}}},
                  {"csrf_token", s->CsrfToken(who.session_id)}});
      });

  routes->Authenticated(
      "GET", "/v1/me/logins", R::kBoth, true,
      [s](net::Request& req, const PathParams&, const Principal& who) {
        Result<int> limit = LimitParam(req);
        if (!limit.ok()) return Error(limit.status());
        return LoginPage(s->MyLogins(who, QueryParam(req.query, "cursor"), *limit));
      });

  routes->Authenticated(
      "GET", "/v1/me/sessions", R::kBoth, true,
      [s](net::Request&, const PathParams&, const Principal& who) {
        Result<std::vector<auth::SessionView>> list = s->ListSessions(who);
        if (!list.ok()) return Error(list.status());
        json items = json::array();
        for (const auto& v : *list) {
          items.push_back(
              {{"id", v.id},
               {"created_at", Rfc3339(v.created_at)},
               {"last_used_at", Rfc3339(v.last_used_at)},
               {"expires_at", Rfc3339(v.expires_at)},
               {"source", {{"ip", v.client_ip}}},
               {"user_agent", {{"original", v.user_agent}}},
               {"device", {{"type", v.device_type}, {"os", v.os}, {"browser", v.browser}}},
               {"current", v.current}});
        }
        return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
      });

  routes->Authenticated("DELETE", "/v1/me/sessions/{id}", R::kBoth, true,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Status st = s->RevokeSession(who, p.Get("id"), ClientOf(req));
                          return st.ok() ? NoContent() : Error(st);
                        });

  routes->Authenticated("POST", "/v1/me/password", R::kBoth, false,
                        [s](net::Request& req, const PathParams&, const Principal& who) {
                          Result<json> body = ParseJsonObject(req);
                          if (!body.ok()) return Error(body.status());
                          Result<std::string> current = Field(*body, "current_password"),
                                              next = Field(*body, "new_password");
                          if (!current.ok()) return Error(current.status());
                          if (!next.ok()) return Error(next.status());
                          Status st = s->ChangePassword(who, *current, *next, ClientOf(req));
                          return st.ok() ? NoContent() : Error(st);
                        });

  routes->Authenticated("POST", "/v1/me/mfa/totp", R::kPublic, true,
                        [s](net::Request& req, const PathParams&, const Principal& who) {
                          Result<auth::TotpEnrolment> e = s->BeginTotp(who, ClientOf(req));
                          return e.ok() ? JsonResponse(200, TotpJson(*e)) : Error(e.status());
                        });

  routes->Authenticated("POST", "/v1/me/mfa/totp/confirm", R::kPublic, true,
                        [s](net::Request& req, const PathParams&, const Principal& who) {
                          Result<json> body = ParseJsonObject(req);
                          if (!body.ok()) return Error(body.status());
                          Result<std::string> code = Field(*body, "code");
                          if (!code.ok()) return Error(code.status());
                          Result<std::vector<std::string>> codes =
                              s->ConfirmTotp(who, *code, ClientOf(req));
                          if (!codes.ok()) return Error(codes.status());
                          return JsonResponse(200, {{"recovery_codes", *codes}});
                        });

  auto password_and_code = [](net::Request& req, std::string* password,
                              std::string* code) -> Status {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(req));
    ASSIGN_OR_RETURN(*password, Field(body, "password"));
    ASSIGN_OR_RETURN(*code, Field(body, "code"));
    return OkStatus();
  };

  routes->Authenticated(
      "DELETE", "/v1/me/mfa/totp", R::kPublic, false,
      [s, password_and_code](net::Request& req, const PathParams&, const Principal& who) {
        std::string password, code;
        Status st = password_and_code(req, &password, &code);
        if (st.ok()) st = s->DisableTotp(who, password, code, ClientOf(req));
        return st.ok() ? NoContent() : Error(st);
      });

  routes->Authenticated(
      "POST", "/v1/me/mfa/recovery-codes", R::kBoth, false,
      [s, password_and_code](net::Request& req, const PathParams&, const Principal& who) {
        std::string password, code;
        Status st = password_and_code(req, &password, &code);
        if (!st.ok()) return Error(st);
        Result<std::vector<std::string>> codes =
            s->RegenerateRecoveryCodes(who, password, code, ClientOf(req));
        if (!codes.ok()) return Error(codes.status());
        return JsonResponse(200, {{"recovery_codes", *codes}});
      });

  auto account_json = [](const auth::AccountView& a) {
    return json{{"id", a.id},
                {"name", a.name},
                {"require_mfa", a.require_mfa},
                {"your_role", std::string(auth::RoleName(a.your_role))}};
  };

  routes->Authenticated(
      "GET", "/v1/accounts/{id}", R::kPublic, false,
      [s, account_json](net::Request&, const PathParams& p, const Principal& who) {
        Result<auth::AccountView> a = s->GetAccount(who, p.Get("id"));
        return a.ok() ? JsonResponse(200, account_json(*a)) : Error(a.status());
      });

  routes->Authenticated(
      "PATCH", "/v1/accounts/{id}", R::kPublic, false,
      [s, account_json](net::Request& req, const PathParams& p, const Principal& who) {
        Result<json> body = ParseJsonObject(req);
        if (!body.ok()) return Error(body.status());
        std::optional<std::string> name;
        std::optional<bool> require_mfa;
        for (const auto& [key, value] : body->items()) {
          if (key == "name" && value.is_string()) {
            name = value.get<std::string>();
          } else if (key == "require_mfa" && value.is_boolean()) {
            require_mfa = value.get<bool>();
          } else {
            return Error(InvalidArgumentError(
                fmt::format("unknown or mistyped field {}; allowed: name (string), require_mfa "
                            "(boolean)",
                            json(key).dump())));
          }
        }
        Status st = s->UpdateAccount(who, p.Get("id"), name, require_mfa, ClientOf(req));
        if (!st.ok()) return Error(st);
        Result<auth::AccountView> a = s->GetAccount(who, p.Get("id"));
        return a.ok() ? JsonResponse(200, account_json(*a)) : Error(a.status());
      });

  routes->Authenticated("GET", "/v1/accounts/{id}/members", R::kPublic, false,
                        [s](net::Request&, const PathParams& p, const Principal& who) {
                          Result<std::vector<auth::MemberView>> members =
                              s->ListMembers(who, p.Get("id"));
                          if (!members.ok()) return Error(members.status());
                          json items = json::array();
                          for (const auto& m : *members) {
                            items.push_back({{"user_id", m.user_id},
                                             {"email", m.email},
                                             {"name", m.name},
                                             {"role", std::string(auth::RoleName(m.role))}});
                          }
                          return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
                        });

  routes->Authenticated(
      "POST", "/v1/accounts/{id}/members", R::kPublic, false,
      [s](net::Request& req, const PathParams& p, const Principal& who) {
        Result<json> body = ParseJsonObject(req);
        if (!body.ok()) return Error(body.status());
        Result<std::string> email = Field(*body, "email"), role = Field(*body, "role", false);
        if (!email.ok()) return Error(email.status());
        if (!role.ok()) return Error(role.status());
        const std::optional<auth::Role> parsed =
            role->empty() ? std::optional(auth::Role::kMember) : auth::ParseRole(*role);
        if (!parsed) return Error(InvalidArgumentError("role must be admin or member"));
        Result<auth::Invitation> inv = s->Invite(who, p.Get("id"), *email, *parsed, ClientOf(req));
        if (!inv.ok()) return Error(inv.status());
        return JsonResponse(201, {{"invitation_id", inv->id},
                                  {"token", inv->token},
                                  {"accept_path", "/v1/invitations/" + inv->token + "/accept"},
                                  {"expires_at", Rfc3339(inv->expires_at)}});
      });

  routes->Authenticated("PATCH", "/v1/accounts/{id}/members/{user}", R::kPublic, false,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<json> body = ParseJsonObject(req);
                          if (!body.ok()) return Error(body.status());
                          Result<std::string> role = Field(*body, "role");
                          if (!role.ok()) return Error(role.status());
                          const std::optional<auth::Role> parsed = auth::ParseRole(*role);
                          if (!parsed)
                            return Error(InvalidArgumentError("role must be admin or member"));
                          Status st = s->ChangeRole(who, p.Get("id"), p.Get("user"), *parsed,
                                                    ClientOf(req));
                          return st.ok() ? NoContent() : Error(st);
                        });

  routes->Authenticated("DELETE", "/v1/accounts/{id}/members/{user}", R::kPublic, false,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Status st =
                              s->RemoveMember(who, p.Get("id"), p.Get("user"), ClientOf(req));
                          return st.ok() ? NoContent() : Error(st);
                        });

  routes->Authenticated("POST", "/v1/accounts/{id}/owner", R::kPublic, false,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<json> body = ParseJsonObject(req);
                          if (!body.ok()) return Error(body.status());
                          Result<std::string> user = Field(*body, "user_id");
                          if (!user.ok()) return Error(user.status());
                          Status st = s->TransferOwnership(who, p.Get("id"), *user, ClientOf(req));
                          return st.ok() ? NoContent() : Error(st);
                        });

  routes->Authenticated("GET", "/v1/accounts/{id}/logins", R::kPublic, false,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<int> limit = LimitParam(req);
                          if (!limit.ok()) return Error(limit.status());
                          return LoginPage(s->AccountLogins(
                              who, p.Get("id"), QueryParam(req.query, "cursor"), *limit));
                        });

  routes->Authenticated("POST", "/v1/invitations/{token}/accept", R::kPublic, false,
                        [s](net::Request& req, const PathParams& p, const Principal& who) {
                          Result<std::string> account =
                              s->AcceptInvitation(who, p.Get("token"), ClientOf(req));
                          if (!account.ok()) return Error(account.status());
                          return JsonResponse(200, {{"account_id", *account}});
                        });

  // Operator enrolment (operator listener only, no session yet: the link's token is the proof).
  routes->Open(
      "POST", "/v1/operator/enrol", R::kOperator, [s](net::Request& req, const PathParams&) {
        Result<json> body = ParseJsonObject(req);
        if (!body.ok()) return Error(body.status());
        Result<std::string> token = Field(*body, "token"), password = Field(*body, "password");
        if (!token.ok()) return Error(token.status());
        if (!password.ok()) return Error(password.status());
        Result<auth::TotpEnrolment> e = s->BeginOperatorEnrolment(*token, *password, ClientOf(req));
        return e.ok() ? JsonResponse(200, TotpJson(*e)) : Error(e.status());
      });

  routes->Open("POST", "/v1/operator/enrol/confirm", R::kOperator,
               [s](net::Request& req, const PathParams&) {
                 Result<json> body = ParseJsonObject(req);
                 if (!body.ok()) return Error(body.status());
                 Result<std::string> token = Field(*body, "token"), code = Field(*body, "code");
                 if (!token.ok()) return Error(token.status());
                 if (!code.ok()) return Error(code.status());
                 Result<std::vector<std::string>> codes =
                     s->ConfirmOperatorEnrolment(*token, *code, ClientOf(req));
                 if (!codes.ok()) return Error(codes.status());
                 return JsonResponse(200, {{"recovery_codes", *codes}});
               });
}

}  // namespace sicher::api
