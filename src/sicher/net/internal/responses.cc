#include "sicher/net/internal/responses.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sicher/net/client_ip.h"

namespace sicher::net::internal {
namespace {

bool IsRegNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

}  // namespace

void AddSecurityHeaders(Response& r, std::string_view hsts_value, std::string_view request_id) {
  Headers& h = r.headers;
  h.Set("Strict-Transport-Security", hsts_value);
  h.Set("X-Content-Type-Options", "nosniff");
  h.Set("X-Frame-Options", "DENY");
  if (!h.Has("Referrer-Policy")) h.Add("Referrer-Policy", "no-referrer");
  if (!h.Has("Content-Security-Policy")) h.Add("Content-Security-Policy", kDefaultCsp);
  if (!h.Has("Cache-Control")) h.Add("Cache-Control", "no-store");
  h.Set("X-Request-Id", request_id);
  h.Set("Server", "sicher");
}

Response ProblemResponse(int status, std::string_view slug, std::string_view title,
                         std::string_view detail) {
  Response r;
  r.status = status;
  nlohmann::json body = {
      {"type", fmt::format("https://sicher.dev/problems/{}", slug)},
      {"title", std::string(title)},
      {"status", status},
      {"detail", std::string(detail)},
  };
  r.body = body.dump();
  r.headers.Set("Content-Type", "application/problem+json");
  return r;
}

Response BadRequest() {
  return ProblemResponse(400, "bad-request", "Bad Request",
                         "The request is not valid HTTP/1.1 or its target is malformed.");
}

Response PayloadTooLarge() {
  return ProblemResponse(413, "request-body-too-large", "Content Too Large",
                         "The request body is larger than this route accepts.");
}

Response HeaderTooLarge() {
  return ProblemResponse(431, "request-header-too-large", "Request Header Fields Too Large",
                         "The request line and header fields are larger than the server accepts.");
}

Response Overloaded() {
  Response r = ProblemResponse(503, "overloaded", "Service Unavailable",
                               "The server is busy; retry the request later.");
  r.headers.Set("Retry-After", "1");
  return r;
}

Response ShuttingDown() {
  Response r = ProblemResponse(503, "shutting-down", "Service Unavailable",
                               "The server is shutting down; retry the request.");
  r.headers.Set("Retry-After", "1");
  return r;
}

Response InternalServerError() {
  return ProblemResponse(500, "internal-error", "Internal Server Error",
                         "The server failed to produce a response.");
}

bool ParseHostHeader(std::string_view value, std::string* host) {
  if (value.empty() || value.size() > 255) return false;
  std::string_view h = value;
  std::string_view port;
  if (h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view inner = h.substr(1, close - 1);
    auto ip = ParseIpAddress(inner);
    if (!ip || inner.find(':') == std::string_view::npos) return false;
    port = h.substr(close + 1);
    h = h.substr(0, close + 1);
    if (!port.empty()) {
      if (port.front() != ':') return false;
      port.remove_prefix(1);
    }
  } else {
    const size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      port = h.substr(colon + 1);
      h = h.substr(0, colon);
      if (port.empty()) return false;
    }
    if (h.empty() || !std::all_of(h.begin(), h.end(), IsRegNameChar)) return false;
    if (h.front() == '.' || h.front() == '-' || h.find("..") != std::string_view::npos) {
      return false;
    }
  }
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *host = std::string(h);
  return true;
}

Response RedirectToHttps(std::string_view host_header, std::string_view target,
                         std::string_view fallback_host, uint16_t https_port) {
  std::string host;
  if (!ParseHostHeader(host_header, &host)) host = std::string(fallback_host);
  // Origin-form only, and no characters that could split the Location header.
  const bool origin_form =
      !target.empty() && target.front() == '/' && (target.size() < 2 || target[1] != '/') &&
      std::all_of(target.begin(), target.end(),
                  [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; });
  Response r;
  r.status = 301;
  r.headers.Set("Location", fmt::format("https://{}:{}{}", host, https_port,
                                        origin_form ? target : std::string_view("/")));
  r.route = "redirect";
  return r;
}

}  // namespace sicher::net::internal
