#include "sicher/api/auth_handlers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "sicher/auth/schema.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::api {
namespace {

using nlohmann::json;

TEST(FindCookieTest, PicksTheNamedCookie) {
  EXPECT_EQ(FindCookie("a=1; __Host-sicher_session=tok; b=2", kSessionCookie), "tok");
  EXPECT_EQ(FindCookie("__Host-sicher_session=tok", kSessionCookie), "tok");
  EXPECT_EQ(FindCookie("x__Host-sicher_session=no; y=1", kSessionCookie), "");
  EXPECT_EQ(FindCookie("", kSessionCookie), "");
}

class AuthRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_api_auth_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Env& env = Env::Default();
    ASSERT_OK_AND_ASSIGN(keyring_, crypto::Keyring::OpenOrCreate(env, dir_ + "/keyring"));
    store::SqliteOptions so;
    so.path = dir_ + "/db";
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : audit::AuditMigrations()) so.migrations.push_back(m);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenSqliteStore(so, env, registry_));
    audit_ = std::make_unique<audit::Log>(*keyring_, env);
    ASSERT_OK_AND_ASSIGN(parser_, net::UserAgentParser::Create(64));
    hasher_ = std::make_unique<auth::PasswordHasher>(crypto::PasswordParams{}, 2, 16);
    service_ = std::make_unique<auth::AuthService>(*store_, *keyring_, *hasher_, *parser_, bus_,
                                                   *audit_, env, auth::AuthOptions{});
    RegisterAuthRoutes(router_, *service_,
                       {.operator_audit = [this](const auth::Principal& p, const net::Request&,
                                                 int) { audited_.push_back(p.id); }});
  }
  void TearDown() override {
    service_.reset();
    audit_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  net::Response Call(std::string method, std::string path, const json& body = nullptr,
                     std::vector<std::pair<std::string, std::string>> headers = {},
                     net::Listener listener = net::Listener::kPublic) {
    net::Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.listener = listener;
    r.client_ip = "198.51.100.4";
    r.request_id = "req";
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers.Set("Content-Type", "application/json");
    }
    for (auto& [k, v] : headers) r.headers.Set(k, v);
    return router_.Handle(r);
  }
  static std::string ProblemType(const net::Response& r) {
    return json::parse(r.body).value("type", "");
  }

  std::string dir_;
  metrics::Registry registry_;
  events::Bus bus_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<net::UserAgentParser> parser_;
  std::unique_ptr<auth::PasswordHasher> hasher_;
  std::unique_ptr<audit::Log> audit_;
  std::unique_ptr<auth::AuthService> service_;
  Router router_;
  std::vector<std::string> audited_;
};

TEST_F(AuthRoutesTest, SignupLoginCookieAndCsrf) {
  const json signup = {{"email", "a@example.com"},
                       {"password", "correct horse battery"},
                       {"name", "A"},
                       {"account_name", "T"}};
  const net::Response created = Call("POST", "/v1/signup", signup);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Call("POST", "/v1/signup", signup).status, 409);
  EXPECT_EQ(Call("POST", "/v1/signup", {{"email", "b@example.com"}}).status, 400);

  const net::Response login = Call(
      "POST", "/v1/login", {{"email", "a@example.com"}, {"password", "correct horse battery"}});
  ASSERT_EQ(login.status, 200) << login.body;
  const json body = json::parse(login.body);
  const std::string token = body["token"];
  const std::string csrf = body["csrf_token"];
  EXPECT_EQ(login.headers.Get("Set-Cookie"),
            "__Host-sicher_session=" + token +
                "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=43200");

  const std::string cookie = "__Host-sicher_session=" + token;
  EXPECT_EQ(Call("GET", "/v1/me", nullptr, {{"Cookie", cookie}}).status, 200);
  const net::Response no_csrf = Call("POST", "/v1/me/mfa/totp", nullptr, {{"Cookie", cookie}});
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(ProblemType(no_csrf), "https://sicher.dev/problems/forbidden");
  EXPECT_EQ(
      Call("POST", "/v1/me/mfa/totp", nullptr, {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status,
      200);
  EXPECT_EQ(Call("POST", "/v1/me/mfa/totp", nullptr, {{"Authorization", "Bearer " + token}}).status,
            200);  // bearer: no ambient credential, no CSRF token needed

  // No credentials, a bad scheme, a wrong token.
  EXPECT_EQ(Call("GET", "/v1/me").status, 401);
  EXPECT_EQ(Call("GET", "/v1/me", nullptr, {{"Authorization", "Basic eDp5"}}).status, 401);
  EXPECT_EQ(Call("GET", "/v1/me", nullptr, {{"Authorization", "Bearer nope"}}).status, 401);
  // A user token means nothing on the operator listener.
  EXPECT_EQ(Call("GET", "/v1/me", nullptr, {{"Authorization", "Bearer " + token}},
                 net::Listener::kOperator)
                .status,
            401);

  const net::Response logout =
      Call("POST", "/v1/logout", nullptr, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(logout.status, 204);
  EXPECT_EQ(logout.headers.Get("Set-Cookie"),
            "__Host-sicher_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(Call("GET", "/v1/me", nullptr, {{"Authorization", "Bearer " + token}}).status, 401);
}

TEST_F(AuthRoutesTest, BadInputIsProblemJsonAndChangesNothing) {
  const net::Response wrong_type = Call("POST", "/v1/login", json::array({1, 2}));
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(wrong_type.headers.Get("Content-Type"), "application/problem+json");
  const net::Response not_string = Call("POST", "/v1/login", {{"email", 5}, {"password", "x"}});
  EXPECT_EQ(not_string.status, 400);
  EXPECT_NE(json::parse(not_string.body)["detail"].get<std::string>().find("email"),
            std::string::npos);
  const net::Response limit =
      Call("GET", "/v1/me/logins", nullptr, {{"Authorization", "Bearer x"}});
  EXPECT_EQ(limit.status, 401);  // authentication is checked before parameters
}

TEST_F(AuthRoutesTest, OperatorRequestsAreAudited) {
  ASSERT_OK_AND_ASSIGN(std::string token, service_->AddOperator("ops@example.com"));
  const net::Response enrol =
      Call("POST", "/v1/operator/enrol", {{"token", token}, {"password", "correct horse battery"}},
           {}, net::Listener::kOperator);
  ASSERT_EQ(enrol.status, 200) << enrol.body;
  EXPECT_NE(json::parse(enrol.body)["qr_svg"].get<std::string>().find("<svg"), std::string::npos);
  // Enrolment exists only on the operator listener.
  EXPECT_EQ(Call("POST", "/v1/operator/enrol", {{"token", token}, {"password", "x"}}).status, 404);
  EXPECT_TRUE(audited_.empty());  // no operator session yet, nothing to attribute
}

}  // namespace
}  // namespace sicher::api
