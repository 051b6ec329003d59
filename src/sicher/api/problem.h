#pragma once
// RFC 9457 problem details and the one mapping from Status to HTTP.
//
// Every error a client sees is `application/problem+json` with a stable `type` URI
// (https://sicher.dev/problems/<slug>), a `title` that names the kind of error, the `status`,
// and a `detail` meant for the client. Details never carry secrets, tokens or document
// contents: callers pass Status messages, which follow the same rule.

#include <string_view>

#include "sicher/base/status.h"
#include "sicher/net/http.h"

namespace sicher::api {

inline constexpr std::string_view kProblemTypeBase = "https://sicher.dev/problems/";

// A problem response: type = kProblemTypeBase + slug.
net::Response Problem(int status, std::string_view slug, std::string_view title,
                      std::string_view detail);

// Maps a non-OK Status to its HTTP status and problem type (the only place that does this):
//   INVALID_ARGUMENT 400 invalid-request     UNAUTHENTICATED 401 unauthenticated
//   PERMISSION_DENIED 403 forbidden          NOT_FOUND 404 not-found
//   ALREADY_EXISTS 409 conflict              FAILED_PRECONDITION / ABORTED 409 conflict
//   OUT_OF_RANGE 416 range-not-satisfiable   RESOURCE_EXHAUSTED 429 too-many-requests
//   UNAVAILABLE 503 unavailable              DEADLINE_EXCEEDED 504 timeout
//   UNIMPLEMENTED 501 not-implemented        anything else 500 internal (detail withheld)
net::Response ProblemFromStatus(const Status& status);
int HttpStatusFor(StatusCode code);

}  // namespace sicher::api
