#include "sicher/api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sicher::api {
namespace {

net::Request MakeRequest(std::string method, std::string path,
                         net::Listener listener = net::Listener::kPublic) {
  net::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.listener = listener;
  return r;
}

HandlerFn Echo(std::string tag) {
  return [tag](net::Request&, const PathParams& params) {
    net::Response r;
    r.body = tag + ":" + std::string(params.Get("id"));
    return r;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/v1/documents/{id}", {}, Echo("get"));
    router_.Add("DELETE", "/v1/documents/{id}", {}, Echo("delete"));
    router_.Add("GET", "/v1/me", {}, Echo("me"));
    router_.Add("GET", "/v1/{thing}", {}, Echo("thing"));
    router_.Add("POST", "/v1/accounts/{id}/documents",
                {.max_body_bytes = 1 << 20, .blocking = true}, Echo("upload"));
    router_.Add("GET", "/ops", {.on_public = false, .on_operator = true}, Echo("ops"));
  }
  Router router_;
};

TEST_F(RouterTest, MatchesParametersAndRecordsPattern) {
  auto req = MakeRequest("GET", "/v1/documents/doc%2042");
  const net::Response r = router_.Handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "get:doc 42");
  EXPECT_EQ(r.route, "/v1/documents/{id}");
}

TEST_F(RouterTest, LiteralBeatsParameter) {
  auto me = MakeRequest("GET", "/v1/me");
  EXPECT_EQ(router_.Handle(me).body, "me:");
  auto other = MakeRequest("GET", "/v1/other");
  EXPECT_EQ(router_.Handle(other).body, "thing:");
}

TEST_F(RouterTest, UnknownPathIs404Problem) {
  auto req = MakeRequest("GET", "/nope");
  const net::Response r = router_.Handle(req);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/problem+json");
  EXPECT_EQ(r.route, "unmatched");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "https://sicher.dev/problems/not-found");
  EXPECT_EQ(body["status"], 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto req = MakeRequest("PUT", "/v1/documents/7");
  const net::Response r = router_.Handle(req);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("Allow"), "DELETE, GET, HEAD");
}

TEST_F(RouterTest, HeadUsesGetRoute) {
  auto req = MakeRequest("HEAD", "/v1/documents/7");
  const net::Response r = router_.Handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "get:7");  // the server drops it, keeping its Content-Length
}

TEST_F(RouterTest, ListenerSeparation) {
  auto pub = MakeRequest("GET", "/ops", net::Listener::kPublic);
  EXPECT_EQ(router_.Handle(pub).status, 404);
  auto op = MakeRequest("GET", "/ops", net::Listener::kOperator);
  EXPECT_EQ(router_.Handle(op).body, "ops:");
}

TEST_F(RouterTest, ClassifyGivesBodyLimitBeforeTheBody) {
  const auto upload = router_.Classify(net::Listener::kPublic, "POST", "/v1/accounts/a1/documents");
  EXPECT_EQ(upload.max_body_bytes, 1u << 20);
  EXPECT_TRUE(upload.blocking);
  const auto unknown = router_.Classify(net::Listener::kPublic, "POST", "/unknown");
  EXPECT_EQ(unknown.max_body_bytes, kUnmatchedBodyBytes);
  EXPECT_FALSE(unknown.blocking);
}

TEST_F(RouterTest, MalformedPathsDoNotMatch) {
  for (const char* p : {"", "v1/me", "/v1//me", "/v1/documents/%zz"}) {
    auto req = MakeRequest("GET", p);
    EXPECT_EQ(router_.Handle(req).status, 404) << p;
  }
}

TEST(RouterSecretsTest, TokenParametersAreRedactedForLogs) {
  Router r;
  r.Add("POST", "/v1/invitations/{token}/accept", {}, Echo("accept"));
  r.Add("GET", "/v1/documents/{id}", {}, Echo("doc"));
  auto accept = MakeRequest("POST", "/v1/invitations/s3cr3t-t0ken/accept");
  const net::Response a = r.Handle(accept);
  EXPECT_EQ(a.log_path, "/v1/invitations/{token}/accept");
  auto doc = MakeRequest("GET", "/v1/documents/doc_1");
  EXPECT_EQ(r.Handle(doc).log_path, "");  // nothing secret: log the path as is
}

TEST(SplitPathTest, Segments) {
  std::vector<std::string_view> s;
  ASSERT_TRUE(SplitPath("/", &s));
  EXPECT_TRUE(s.empty());
  ASSERT_TRUE(SplitPath("/a/b/", &s));
  EXPECT_EQ(s, (std::vector<std::string_view>{"a", "b"}));
  EXPECT_FALSE(SplitPath("/a//b", &s));
}

TEST(RouterDeathTest, DuplicateRouteIsABug) {
  Router r;
  r.Add("GET", "/x", {}, Echo("a"));
  EXPECT_DEATH(r.Add("GET", "/x", {}, Echo("b")), "CHECK failed");
}

}  // namespace
}  // namespace sicher::api
