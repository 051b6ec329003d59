#pragma once
// Request-head parsing and response serialisation shared by the server's connections and the
// request-parser fuzz target. Private to net/ (it includes Beast; never include it from a
// header outside net/).
//
// Pure functions over Beast messages; thread-safe.

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <string_view>

#include "sicher/net/http.h"

namespace sicher::net::internal {

namespace beast_http = boost::beast::http;
using RequestParser = beast_http::request_parser<beast_http::string_body>;
using BeastResponse = beast_http::response<beast_http::string_body>;

// Why reading a request stopped. Every failure closes the connection; kBadRequest,
// kHeaderTooLarge and kBodyTooLarge are answered (400, 431, 413) first.
enum class ReadFailure {
  kNone,
  kClosed,          // the peer closed or reset, or the server cancelled the read
  kTimeout,         // read_timeout / idle_timeout passed (the socket is already closed)
  kBadRequest,      // malformed HTTP or target
  kHeaderTooLarge,  // request line + fields over the header limit
  kBodyTooLarge,    // body over the route's limit
};

// Prepares a fresh parser: header limit `max_header_bytes`; no body limit yet (Beast would
// otherwise refuse a large Content-Length while still reading the head, before the route is
// known).
void InitParser(RequestParser& parser, size_t max_header_bytes);

// Maps an error from reading the head or body to a failure.
ReadFailure ClassifyReadError(const boost::system::error_code& ec);

// Fills method, target, path (percent-decoded), query and headers of `out` from a parsed head.
// Returns kBadRequest for a target that is not origin-form ("/path?query"), a path that does
// not decode, or a request that is neither HTTP/1.0 nor HTTP/1.1; kNone otherwise.
ReadFailure FillRequestHead(const RequestParser& parser, Request* out);

// Applies the route's body limit once the head is parsed. Returns kBodyTooLarge when the
// declared Content-Length is over `max_body_bytes` (so the body is never read), kNone otherwise;
// a chunked body is then limited as it is read.
ReadFailure ApplyBodyLimit(RequestParser& parser, uint64_t max_body_bytes);

// True when the request asked for "Expect: 100-continue" and has a body still to read.
bool WantsContinue(const RequestParser& parser);

// Parses one complete request from `bytes` exactly as a connection does: head under
// `max_header_bytes`, route limit from `body_limit_for(method, path)`, then the body, then
// Request construction. Used by the fuzz target and tests. Never throws.
ReadFailure ParseRequestBuffer(
    std::string_view bytes, size_t max_header_bytes,
    const std::function<uint64_t(std::string_view method, std::string_view path)>& body_limit_for,
    Request* out);

// Converts a finished Response (security headers already added) to a Beast message:
// HTTP/1.1, "Connection: close" unless `keep_alive`, Content-Length set (no body for HEAD,
// 1xx, 204 and 304). Moves the body out of `response` (status, headers and route stay).
// A header field whose name is not a token or whose value holds CR, LF or another control
// character is a handler bug; it is dropped, never sent (no response splitting).
BeastResponse ToBeastResponse(Response&& response, bool keep_alive, bool head_request);

}  // namespace sicher::net::internal
