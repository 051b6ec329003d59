#include "sicher/api/problem.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sicher::api {
namespace {

TEST(ProblemTest, Rfc9457Members) {
  const net::Response r = Problem(413, "payload-too-large", "Payload too large", "limit 1 KiB");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/problem+json");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "https://sicher.dev/problems/payload-too-large");
  EXPECT_EQ(body["title"], "Payload too large");
  EXPECT_EQ(body["status"], 413);
  EXPECT_EQ(body["detail"], "limit 1 KiB");
}

TEST(ProblemTest, StatusMapping) {
  const std::pair<Status, int> cases[] = {
      {InvalidArgumentError("x"), 400},   {UnauthenticatedError("x"), 401},
      {PermissionDeniedError("x"), 403},  {NotFoundError("x"), 404},
      {AlreadyExistsError("x"), 409},     {FailedPreconditionError("x"), 409},
      {ResourceExhaustedError("x"), 429}, {UnavailableError("x"), 503},
      {InternalError("x"), 500},          {DataLossError("x"), 500},
  };
  for (const auto& [status, http] : cases) {
    EXPECT_EQ(ProblemFromStatus(status).status, http) << status.ToString();
  }
}

TEST(ProblemTest, InternalDetailsAreWithheld) {
  const net::Response r = ProblemFromStatus(InternalError("sqlite: disk I/O at /var/x"));
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(r.body)["type"], "https://sicher.dev/problems/internal");
}

TEST(ProblemTest, InvalidUtf8DoesNotThrow) {
  const net::Response r = Problem(400, "invalid-request", "Invalid", "bad \xff byte");
  EXPECT_NO_THROW((void)nlohmann::json::parse(r.body));
}

}  // namespace
}  // namespace sicher::api
