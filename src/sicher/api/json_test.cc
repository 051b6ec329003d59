#include "sicher/api/json.h"

#include <gtest/gtest.h>

namespace sicher::api {
namespace {

net::Request JsonRequest(std::string body, std::string type = "application/json") {
  net::Request r;
  r.headers.Set("Content-Type", type);
  r.body = std::move(body);
  return r;
}

TEST(JsonTest, ParsesObjects) {
  auto r = ParseJsonObject(JsonRequest(R"({"email":"a@b.c"})", "application/json; charset=utf-8"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["email"], "a@b.c");
}

TEST(JsonTest, RejectsWrongTypeBadJsonNonObjectAndDeepNesting) {
  EXPECT_EQ(ParseJsonObject(JsonRequest("{}", "text/plain")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject(JsonRequest("{")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject(JsonRequest("[1]")).status().code(), StatusCode::kInvalidArgument);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_EQ(ParseJsonObject(JsonRequest("{\"a\":" + deep + "}")).status().message(),
            "JSON nests too deeply");
}

TEST(JsonTest, ResponseHasJsonType) {
  const net::Response r = JsonResponse(201, {{"id", 1}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"id":1})");
}

}  // namespace
}  // namespace sicher::api
