#include "sicher/net/internal/http_codec.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
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
bool IsFramingField(std::string_view name) {
  for (std::string_view framing : {"Content-Length", "Transfer-Encoding", "Connection"}) {
    if (name.size() == framing.size() &&
        strncasecmp(name.data(), framing.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
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

ReadFailure ClassifyReadError(const boost::system::error_code& ec, ReadPhase phase) {
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
    case http::error::buffer_overflow:
      return phase == ReadPhase::kHead ? ReadFailure::kHeaderTooLarge : ReadFailure::kBodyTooLarge;
    case http::error::body_limit:
      return ReadFailure::kBodyTooLarge;
    default:
      return ReadFailure::kBadRequest;
  }
}

ReadFailure HeadReader::Put(boost::asio::const_buffer in, size_t* used) {
  boost::system::error_code ec;
  *used = parser_.put(in, ec);
  consumed_ += *used;
  if (ec == http::error::need_more) {
    // Incomplete, so the head is longer than all the bytes seen so far.
    const size_t pending = in.size() - *used;
    return consumed_ + pending >= max_header_bytes_ ? ReadFailure::kHeaderTooLarge
                                                    : ReadFailure::kNone;
  }
  if (ec) return ClassifyReadError(ec, ReadPhase::kHead);
  // Not eager: put() stops at the end of the head.
  return consumed_ > max_header_bytes_ ? ReadFailure::kHeaderTooLarge : ReadFailure::kNone;
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
    Request* out, size_t read_chunk) {
  RequestParser parser;
  InitParser(parser, max_header_bytes);
  HeadReader head(parser, max_header_bytes);
  boost::system::error_code ec;
  // Feed the head as a connection's read loop does: [begin, received) is its buffer, and each
  // "read" adds up to read_chunk bytes.
  if (read_chunk == 0) read_chunk = bytes.size();
  size_t begin = 0;
  size_t received = 0;
  while (!head.done()) {
    if (received == bytes.size()) return ReadFailure::kClosed;  // incomplete: would time out
    received += std::min(read_chunk, bytes.size() - received);
    size_t used = 0;
    const ReadFailure f =
        head.Put(boost::asio::const_buffer(bytes.data() + begin, received - begin), &used);
    if (f != ReadFailure::kNone) return f;
    begin += used;
  }
  boost::asio::const_buffer in(bytes.data() + begin, bytes.size() - begin);
  if (auto f = FillRequestHead(parser, out); f != ReadFailure::kNone) return f;
  const uint64_t limit = body_limit_for(out->method, out->path);
  if (auto f = ApplyBodyLimit(parser, limit); f != ReadFailure::kNone) return f;
  parser.eager(true);
  while (!parser.is_done()) {
    if (in.size() == 0) {
      parser.put_eof(ec);
      if (ec) return ClassifyReadError(ec, ReadPhase::kBody);
      break;
    }
    const size_t used = parser.put(in, ec);
    if (ec == http::error::need_more) {
      if (used == 0) return ReadFailure::kClosed;
      ec = {};
    }
    if (ec) return ClassifyReadError(ec, ReadPhase::kBody);
    in += used;
  }
  out->body = std::move(parser.get().body());
  return ReadFailure::kNone;
}

bool StatusHasNoBody(int s) { return (s >= 100 && s < 200) || s == 204 || s == 304; }

void AppendResponseHead(const Response& response, bool keep_alive, bool head_request,
                        std::string* out, std::optional<uint64_t> content_length) {
  (void)head_request;  // a HEAD answer carries the GET answer's Content-Length
  const int status = response.status;
  const std::string_view reason =
      http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  const fmt::format_int code(status);
  out->append("HTTP/1.1 ").append(code.data(), code.size()).append(" ");
  out->append(reason.data(), reason.size()).append("\r\n");
  for (const auto& f : response.headers.fields()) {
    if (!ValidFieldName(f.name) || !ValidFieldValue(f.value)) continue;
    if (IsFramingField(f.name)) continue;
    out->append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (!StatusHasNoBody(status) && content_length == ResponseWriter::kChunked) {
    out->append("Transfer-Encoding: chunked\r\n");
  } else if (!StatusHasNoBody(status)) {
    const fmt::format_int length(content_length.value_or(response.body.size()));
    out->append("Content-Length: ").append(length.data(), length.size()).append("\r\n");
  }
  if (!keep_alive) out->append("Connection: close\r\n");
  out->append("\r\n");
}

BeastResponse ToBeastResponse(Response&& response, bool keep_alive, bool head_request) {
  BeastResponse res;
  res.version(11);
  res.result(static_cast<unsigned>(response.status));
  for (auto& f : response.headers.fields()) {
    // A field that could split the response (CR, LF, NUL) or is not a token is a handler bug;
    // it is dropped rather than sent.
    if (!ValidFieldName(f.name) || !ValidFieldValue(f.value)) continue;
    if (IsFramingField(f.name)) continue;  // set below
    res.insert(f.name, f.value);
  }
  if (StatusHasNoBody(response.status)) {
    res.erase(http::field::content_length);
  } else {
    res.content_length(response.body.size());
    if (!head_request) res.body() = std::move(response.body);
  }
  res.keep_alive(keep_alive);
  return res;
}

}  // namespace sicher::net::internal
