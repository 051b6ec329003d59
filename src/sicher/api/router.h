#pragma once
// Router: maps (listener, method, path) to a handler function and implements net::Handler.
//
// Patterns are literal segments and `{name}` parameters that match one non-empty segment:
// "/v1/documents/{id}/content". Literal segments win over parameters at the same position, so
// "/v1/me" beats "/v1/{x}". An unknown path answers 404, a known path with another method 405
// with an `Allow` header; both as problem+json. HEAD is answered by the GET route; the server
// sends its headers (with the GET body's Content-Length) and no body.
//
// A parameter named `{token}` is a credential (invitation, publishing link): responses to such
// routes carry `log_path` with the token replaced by "{token}", and logs use that.
//
// Routes are added before the server starts; afterwards the router is read-only and
// thread-safe. Handlers must be thread-safe and must not throw.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/net/http.h"

namespace sicher::api {

class PathParams {
 public:
  // The value of `{name}`, percent-decoded; empty if the route has no such parameter.
  std::string_view Get(std::string_view name) const;
  void Add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

using HandlerFn = std::function<net::Response(net::Request&, const PathParams&)>;

struct RouteOptions {
  uint64_t max_body_bytes = 64 * 1024;
  bool blocking = true;      // false only for answers that never wait (no database, no hashing)
  bool stream_body = false;  // the handler reads the body through Request::body_reader
  bool on_public = true;
  bool on_operator = false;
};

// Body limit for requests that match no route: enough to answer 404/405 rather than 413.
inline constexpr uint64_t kUnmatchedBodyBytes = 64 * 1024;

class Router final : public net::Handler {
 public:
  // Registers `fn` for `method` and `pattern`. CHECK-fails on a malformed or duplicate route
  // (a bug in the wiring, not an outside input).
  void Add(std::string_view method, std::string_view pattern, RouteOptions options, HandlerFn fn);

  RouteInfo Classify(net::Listener listener, std::string_view method,
                     std::string_view path) const override;
  net::Response Handle(net::Request& request) override;

 private:
  struct Route {
    std::string pattern;
    std::vector<std::string> segments;
    RouteOptions options;
    HandlerFn fn;
    bool has_secret_param = false;
  };
  // `path` with every secret parameter ({token}) replaced by its name.
  static std::string RedactedPath(const Route& route, std::string_view path);
  struct Match {
    const Route* route = nullptr;
    std::vector<std::string> allowed;  // methods of the pattern that matched the path
    PathParams params;
  };
  Match Find(net::Listener listener, std::string_view method, std::string_view path) const;

  // method -> routes, checked in registration order after sorting literal-first.
  std::map<std::string, std::vector<std::unique_ptr<Route>>, std::less<>> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}; "/" into {}. Returns false for an empty interior
// segment ("/a//b") or a path not starting with '/'.
bool SplitPath(std::string_view path, std::vector<std::string_view>* segments);

}  // namespace sicher::api
