#pragma once
// JSON in and out for handlers (nlohmann-json).

#include <nlohmann/json.hpp>

#include "sicher/base/status.h"
#include "sicher/net/http.h"

namespace sicher::api {

// 2xx/4xx JSON answer with Content-Type application/json.
net::Response JsonResponse(int status, const nlohmann::json& body);

// Parses a request body as a JSON object. InvalidArgument (-> 400) when the Content-Type is
// not application/json, the body is not valid JSON, nests deeper than `max_depth`, or is not
// an object. Never throws.
Result<nlohmann::json> ParseJsonObject(const net::Request& request, int max_depth = 32);

}  // namespace sicher::api
