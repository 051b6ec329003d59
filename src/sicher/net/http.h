#pragma once
// Plain HTTP message types shared by the server (net/) and the application (api/). No Beast
// types appear here, so handlers are plain functions from Request to Response, testable
// without sockets.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/status.h"

namespace sicher::net {

enum class Listener { kPublic, kOperator, kRedirect };
std::string_view ListenerName(Listener l);

// Header fields in arrival order. Names compare case-insensitively.
class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };
  // First value of `name`, or empty view when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Replaces every field called `name` with one field.
  void Set(std::string_view name, std::string_view value);
  void Add(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  // Makes room for `n` fields in all, so that adding up to that many does not reallocate.
  void Reserve(size_t n) { fields_.reserve(n); }
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

// Streaming request bodies (routes whose RouteInfo::stream_body is set): the handler reads the
// body piece by piece on its worker thread instead of receiving it whole in Request::body, so
// a 2 GiB upload costs O(buffer) memory. Borrowed: valid only during Handle().
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to out.size() bytes of the body; 0 at its end. Blocks the calling worker thread
  // while the connection receives. Errors: DeadlineExceeded (client too slow), Cancelled (client
  // gone or server stopping), InvalidArgument (malformed body framing), ResourceExhausted (a
  // chunked body grew over the route's max_body_bytes).
  virtual Result<size_t> Read(std::span<char> out) = 0;
  // The declared Content-Length, when the client sent one.
  virtual std::optional<uint64_t> content_length() const = 0;
};

// Streaming responses: a handler that returns a Response with `stream` set has the server call
// it on a worker thread with a ResponseWriter. The stream starts the response itself (so it can
// still decide the status, e.g. 206 or 416, after opening its data) and writes the body in
// pieces. Borrowed: valid only during the stream function.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and headers (the server adds its security headers and request id)
  // announcing exactly `content_length` body bytes, or, with kChunked, a body of unknown length
  // sent with chunked transfer coding (each Write one chunk; the last chunk follows when the
  // stream function returns a success, never after a failure, so a client can tell a complete
  // body from a cut one). Once, before any Write.
  static constexpr uint64_t kChunked = ~uint64_t{0};
  virtual Status Start(int status, const Headers& headers, uint64_t content_length) = 0;
  // Sends body bytes; blocks until the connection has taken them (bounded buffering). Errors
  // when the client is gone or too slow.
  virtual Status Write(std::string_view data) = 0;
  virtual bool started() const = 0;
};

struct Response;
// Runs on a worker thread. If it returns without having called Start, the server sends the
// Response it returns instead (e.g. a problem). If it fails after Start (returns a status of
// 400 or more, or throws), or writes fewer bytes than announced, the server closes the
// connection: the client sees a truncated body, never a wrong one.
using StreamFn = std::function<Response(ResponseWriter&)>;

struct Request {
  std::string method;  // "GET"
  std::string target;  // as sent: "/v1/x?y=1"
  std::string path;    // percent-decoded path: "/v1/x"
  std::string query;   // raw query without '?': "y=1"
  Headers headers;
  std::string body;
  Listener listener = Listener::kPublic;
  std::string peer_ip;    // the socket peer
  std::string client_ip;  // peer_ip, or the forwarded client when the peer is a trusted proxy
  std::string request_id;
  std::string tls_protocol;  // "TLSv1.3"
  MonoTime received{};
  // Set instead of `body` for routes with RouteInfo::stream_body.
  BodyReader* body_reader = nullptr;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Set by the router: the route pattern ("/v1/documents/{id}") for metrics and access logs,
  // so that ids never become label values.
  std::string route;
  // Set by the router when the path carries a credential (an invitation or link token): the
  // path to log instead of Request::path, with the secret replaced by its parameter name.
  std::string log_path;
  // Set by the server after the write: body bytes sent (0 for HEAD). The body itself has been
  // handed to the socket by then, so observers read this instead of body.size().
  uint64_t body_bytes_sent = 0;
  // A streaming answer (see StreamFn); `status`, `headers` and `body` are then ignored.
  StreamFn stream;
};

// What the server needs from the application. Implemented by the api layer; the server never
// knows the routes. Implementations must be thread-safe.
class Handler {
 public:
  struct RouteInfo {
    // Bodies longer than this are refused with 413 before they are read.
    uint64_t max_body_bytes = 64 * 1024;
    // True: run on the bounded worker pool (database work, hashing). False: run inline on the
    // I/O thread (cheap answers such as /livez).
    bool blocking = true;
    // True: the body is not read before Handle(); the handler reads it through
    // Request::body_reader, up to max_body_bytes. Implies blocking.
    bool stream_body = false;
  };
  virtual ~Handler() = default;
  // Called once the request head is parsed, before the body is read.
  virtual RouteInfo Classify(Listener listener, std::string_view method,
                             std::string_view path) const = 0;
  // Produces the response. Must not throw.
  virtual Response Handle(Request& request) = 0;
};

// Decodes %XX escapes; returns false on a malformed escape or an encoded NUL.
bool PercentDecode(std::string_view in, std::string* out);

}  // namespace sicher::net
