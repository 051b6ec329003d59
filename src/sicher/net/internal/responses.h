#pragma once
// The server's own answers and the headers every answer carries. Private to net/.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "sicher/net/http.h"

namespace sicher::net::internal {

// The Content-Security-Policy sent when the handler set none: nothing may load, frame or submit.
inline constexpr std::string_view kDefaultCsp =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// Adds the headers every response carries (HSTS `hsts_value`, nosniff, Referrer-Policy,
// X-Frame-Options, Server, X-Request-Id), plus the default CSP and "Cache-Control: no-store"
// when the handler set neither. Overwrites what a handler must not choose (HSTS, nosniff,
// X-Frame-Options, Server, X-Request-Id); keeps its own CSP, Cache-Control and
// Referrer-Policy.
void AddSecurityHeaders(Response& response, std::string_view hsts_value,
                        std::string_view request_id);

// A server-generated RFC 9457 problem: status, "application/problem+json", body with
// type "https://sicher.dev/problems/<slug>", title, status and detail. `detail` must be a fixed
// sentence: never request content.
Response ProblemResponse(int status, std::string_view slug, std::string_view title,
                         std::string_view detail);

// The problem answers the server itself sends.
Response BadRequest();           // 400 bad-request
Response PayloadTooLarge();      // 413 request-body-too-large
Response HeaderTooLarge();       // 431 request-header-too-large
Response Overloaded();           // 503 overloaded, with Retry-After: 1
Response InternalServerError();  // 500 internal-error (the handler threw)
Response ShuttingDown();         // 503 shutting-down, with Retry-After: 1

// The redirect listener's answer: 301 to https://<host>:<port><target>. `host` is taken from
// the request's Host header when it is a valid host name, IPv4 or bracketed IPv6 literal (any
// port is dropped); otherwise `fallback_host` is used. A target that is not origin-form ("/...")
// becomes "/".
Response RedirectToHttps(std::string_view host_header, std::string_view target,
                         std::string_view fallback_host, uint16_t https_port);

// True for a syntactically valid Host header value (reg-name, IPv4 or "[IPv6]", optional
// ":port"). On success `*host` is the host without the port.
bool ParseHostHeader(std::string_view value, std::string* host);

}  // namespace sicher::net::internal
