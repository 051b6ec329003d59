#pragma once
// Request-head parsing and response serialisation shared by the server's connections and the
// request-parser fuzz target. Private to net/ (it includes Beast; never include it from a
// header outside net/).
//
// Pure functions over Beast messages; thread-safe.

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
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

// Which part of a request was being read when an error happened.
enum class ReadPhase { kHead, kBody };

// Maps an error from reading the head or body to a failure. A buffer overflow (the connection's
// read buffer is full of unparsed bytes) is kHeaderTooLarge while reading the head and
// kBodyTooLarge while reading the body.
ReadFailure ClassifyReadError(const boost::system::error_code& ec, ReadPhase phase);

// Feeds a request head to a parser piece by piece, as reads deliver it, and enforces
// `max_header_bytes` on the whole head: request line, fields and the empty line.
//
// Beast's own header_limit (Boost 1.81) does not do this: basic_parser::put() compares it only
// with the bytes offered to that one call, and every call consumes the complete fields it saw.
// A head that arrives in several reads (any head over one TLS record, 16 KiB) was therefore
// never limited as a whole: 800 short fields or three 8,000-byte fields passed a 16 KiB limit.
// HeadReader counts the bytes the parser consumed across calls:
//   - head complete after `consumed` bytes: too large when consumed > max_header_bytes;
//   - head incomplete after `consumed` bytes with `pending` more buffered: too large when
//     consumed + pending >= max_header_bytes (the head is longer than everything seen).
// So a head of at most max_header_bytes is accepted and anything longer is refused, however it
// is split, and a connection never buffers more than max_header_bytes of head plus one read.
//
// Borrows the parser (prepared with InitParser and the same limit). Not thread-safe.
class HeadReader {
 public:
  HeadReader(RequestParser& parser, size_t max_header_bytes)
      : parser_(parser), max_header_bytes_(max_header_bytes) {}

  // Offers the buffered bytes `in` to the parser; `*used` is set to the bytes it consumed
  // (remove them from the buffer). Returns kNone when the head is complete (done() is true) or
  // more bytes are needed; kHeaderTooLarge or kBadRequest otherwise (the connection answers and
  // closes). Call only while !done().
  ReadFailure Put(boost::asio::const_buffer in, size_t* used);

  bool done() const { return parser_.is_header_done(); }
  // Head bytes consumed so far (the whole head once done()).
  size_t consumed() const { return consumed_; }

 private:
  RequestParser& parser_;
  const size_t max_header_bytes_;
  size_t consumed_ = 0;
};

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
// `max_header_bytes` (through HeadReader), route limit from `body_limit_for(method, path)`, then
// the body, then Request construction. The head is offered as reads would deliver it: the bytes
// received so far grow by at most `read_chunk` bytes at a time (0: all at once). Used by the
// fuzz target and tests. Never throws.
ReadFailure ParseRequestBuffer(
    std::string_view bytes, size_t max_header_bytes,
    const std::function<uint64_t(std::string_view method, std::string_view path)>& body_limit_for,
    Request* out, size_t read_chunk = 0);

// Converts a finished Response (security headers already added) to a Beast message:
// HTTP/1.1, "Connection: close" unless `keep_alive`, Content-Length set (no body for HEAD,
// 1xx, 204 and 304). Moves the body out of `response` (status, headers and route stay).
// A header field whose name is not a token or whose value holds CR, LF or another control
// character is a handler bug; it is dropped, never sent (no response splitting). So are
// Content-Length, Transfer-Encoding and Connection from the handler (the server sets them).
// The reference for AppendResponseHead, which the server uses.
BeastResponse ToBeastResponse(Response&& response, bool keep_alive, bool head_request);

// The bytes Beast would send for ToBeastResponse(response, keep_alive, head_request) before the
// body, built straight into `out` (appended) without a Beast message: the status line, the
// valid fields in order, Content-Length (none for 1xx, 204, 304), "Connection: close" unless
// `keep_alive`, and the empty line. The connection sends these and then `response.body` (unless
// head_request or a status without a body), saving a field-by-field copy per response. Fields a
// handler sets for the framing itself (Content-Length, Transfer-Encoding, Connection) are
// dropped: the server owns the framing. A test checks the bytes against Beast's serializer.
// `content_length`, when set, is announced instead of response.body.size() (a streaming
// response, whose body is not in `response`); ResponseWriter::kChunked announces
// Transfer-Encoding: chunked instead of a length.
void AppendResponseHead(const Response& response, bool keep_alive, bool head_request,
                        std::string* out, std::optional<uint64_t> content_length = std::nullopt);
// True when `status` has no body (1xx, 204, 304): AppendResponseHead sends no Content-Length,
// and the connection sends no body.
bool StatusHasNoBody(int status);

}  // namespace sicher::net::internal
