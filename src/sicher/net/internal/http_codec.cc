#include "sicher/net/internal/http_codec.h"

#include <strings.h>

#include <boost/beast/core/error.hpp>

namespace sicher::net::internal {

namespace http = beast_http;

namespace {
bool ValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    if (!token) return false;
  }
  return true;
}
bool ValidFieldValue(std::string_view value) {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}
}  // namespace

void InitParser(RequestParser& parser, size_t max_header_bytes) {
  parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
  parser.body_limit(boost::none);
  // Not eager: the body must not be parsed before the route's limit is applied.
  parser.eager(false);
}

ReadFailure ClassifyReadError(const boost::system::error_code& ec) {
  if (!ec) return ReadFailure::kNone;
  if (ec == boost::beast::error::timeout) return ReadFailure::kTimeout;
  if (ec.category() != http::make_error_code(http::error::end_of_stream).category()) {
    return ReadFailure::kClosed;  // socket and TLS errors, cancellation
  }
  switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:
      return ReadFailure::kClosed;
    case http::error::header_limit:
      return ReadFailure::kHeaderTooLarge;
    case http::error::body_limit:
    case http::error::buffer_overflow:
      return ReadFailure::kBodyTooLarge;
    default:
      return ReadFailure::kBadRequest;
  }
}

ReadFailure FillRequestHead(const RequestParser& parser, Request* out) {
  const auto& msg = parser.get();
  if (msg.version() != 11 && msg.version() != 10) return ReadFailure::kBadRequest;
  const std::string_view method = msg.method_string();
  const std::string_view target = msg.target();
  if (method.empty() || target.empty() || target.front() != '/') return ReadFailure::kBadRequest;
  out->method.assign(method.data(), method.size());
  out->target.assign(target.data(), target.size());
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) {
    out->query.assign(target.data() + q + 1, target.size() - q - 1);
  } else {
    out->query.clear();
  }
  if (!PercentDecode(raw_path, &out->path)) return ReadFailure::kBadRequest;
  for (const auto& field : msg) {
    const std::string_view name = field.name_string();
    const std::string_view value = field.value();
    out->headers.Add(name, value);
  }
  return ReadFailure::kNone;
}

ReadFailure ApplyBodyLimit(RequestParser& parser, uint64_t max_body_bytes) {
  if (const auto length = parser.content_length(); length && *length > max_body_bytes) {
    return ReadFailure::kBodyTooLarge;
  }
  parser.body_limit(max_body_bytes);
  return ReadFailure::kNone;
}

bool WantsContinue(const RequestParser& parser) {
  if (parser.is_done()) return false;
  const auto it = parser.get().find(http::field::expect);
  if (it == parser.get().end()) return false;
  const std::string_view v = it->value();
  return v.size() == 12 && strncasecmp(v.data(), "100-continue", 12) == 0;
}

ReadFailure ParseRequestBuffer(
    std::string_view bytes, size_t max_header_bytes,
    const std::function<uint64_t(std::string_view method, std::string_view path)>& body_limit_for,
    Request* out) {
  RequestParser parser;
  InitParser(parser, max_header_bytes);
  boost::system::error_code ec;
  boost::asio::const_buffer in(bytes.data(), bytes.size());
  // Feed the head as a connection's read loop would: put() until the header is done.
  while (!parser.is_header_done()) {
    if (in.size() == 0) return ReadFailure::kClosed;  // incomplete: the peer would time out
    const size_t used = parser.put(in, ec);
    if (ec == http::error::need_more) {
      // With the whole input available this means the head is incomplete.
      return ReadFailure::kClosed;
    }
    if (ec) return ClassifyReadError(ec);
    in += used;
  }
  if (auto f = FillRequestHead(parser, out); f != ReadFailure::kNone) return f;
  const uint64_t limit = body_limit_for(out->method, out->path);
  if (auto f = ApplyBodyLimit(parser, limit); f != ReadFailure::kNone) return f;
  parser.eager(true);
  while (!parser.is_done()) {
    if (in.size() == 0) {
      parser.put_eof(ec);
      if (ec) return ClassifyReadError(ec);
      break;
    }
    const size_t used = parser.put(in, ec);
    if (ec == http::error::need_more) {
      if (used == 0) return ReadFailure::kClosed;
      ec = {};
    }
    if (ec) return ClassifyReadError(ec);
    in += used;
  }
  out->body = std::move(parser.get().body());
  return ReadFailure::kNone;
}

BeastResponse ToBeastResponse(Response&& response, bool keep_alive, bool head_request) {
  BeastResponse res;
  res.version(11);
  res.result(static_cast<unsigned>(response.status));
  for (auto& f : response.headers.fields()) {
    // A field that could split the response (CR, LF, NUL) or is not a token is a handler bug;
    // it is dropped rather than sent.
    if (!ValidFieldName(f.name) || !ValidFieldValue(f.value)) continue;
    res.insert(f.name, f.value);
  }
  const int s = response.status;
  const bool no_body = (s >= 100 && s < 200) || s == 204 || s == 304;
  if (no_body) {
    res.erase(http::field::content_length);
  } else {
    res.content_length(response.body.size());
    if (!head_request) res.body() = std::move(response.body);
  }
  res.keep_alive(keep_alive);
  return res;
}

}  // namespace sicher::net::internal
