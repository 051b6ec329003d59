#include "sicher/api/problem.h"

#include <nlohmann/json.hpp>

namespace sicher::api {

net::Response Problem(int status, std::string_view slug, std::string_view title,
                      std::string_view detail) {
  nlohmann::json body = {
      {"type", std::string(kProblemTypeBase) + std::string(slug)},
      {"title", title},
      {"status", status},
  };
  if (!detail.empty()) body["detail"] = detail;
  net::Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/problem+json");
  // Replace invalid UTF-8 rather than fail: details may quote a client's malformed input.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kOutOfRange:
      return 416;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

net::Response ProblemFromStatus(const Status& status) {
  const int http = HttpStatusFor(status.code());
  switch (http) {
    case 400:
      return Problem(400, "invalid-request", "Invalid request", status.message());
    case 401:
      return Problem(401, "unauthenticated", "Authentication required", status.message());
    case 403:
      return Problem(403, "forbidden", "Forbidden", status.message());
    case 404:
      return Problem(404, "not-found", "Not found", status.message());
    case 409:
      return Problem(409, "conflict", "Conflict", status.message());
    case 416:
      return Problem(416, "range-not-satisfiable", "Range not satisfiable", status.message());
    case 429:
      return Problem(429, "too-many-requests", "Too many requests", status.message());
    case 501:
      return Problem(501, "not-implemented", "Not implemented", status.message());
    case 503:
      return Problem(503, "unavailable", "Service unavailable", status.message());
    case 504:
      return Problem(504, "timeout", "Timed out", status.message());
    default:
      // Internal errors may describe the server's insides: keep them in the logs.
      return Problem(500, "internal", "Internal error", "");
  }
}

}  // namespace sicher::api
