#include "sicher/api/router.h"

#include <algorithm>

#include "sicher/api/problem.h"
#include "sicher/base/check.h"

namespace sicher::api {
namespace {

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Path parameters that are credentials (invitation and link tokens) never reach a log.
bool IsSecretParam(std::string_view segment) { return segment == "{token}"; }

bool ListenerAllowed(const RouteOptions& o, net::Listener l) {
  return (l == net::Listener::kPublic && o.on_public) ||
         (l == net::Listener::kOperator && o.on_operator);
}

// Literal segments sort before parameters so that "/v1/me" is tried before "/v1/{x}".
bool MoreSpecific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const bool pa = IsParam(a[i]), pb = IsParam(b[i]);
    if (pa != pb) return !pa;
  }
  return false;
}

}  // namespace

std::string_view PathParams::Get(std::string_view name) const {
  for (const auto& [k, v] : params_) {
    if (k == name) return v;
  }
  return {};
}

bool SplitPath(std::string_view path, std::vector<std::string_view>* segments) {
  segments->clear();
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  if (path.empty()) return true;
  for (;;) {
    const size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    if (seg.empty()) {
      // A single trailing slash is tolerated only at the end ("/v1/me/").
      if (slash == std::string_view::npos) return true;
      return false;
    }
    segments->push_back(seg);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
    if (path.empty()) return true;
  }
}

void Router::Add(std::string_view method, std::string_view pattern, RouteOptions options,
                 HandlerFn fn) {
  std::vector<std::string_view> parts;
  CHECK(SplitPath(pattern, &parts));
  auto route = std::make_unique<Route>();
  route->pattern = std::string(pattern);
  for (auto p : parts) route->segments.emplace_back(p);
  route->options = options;
  route->fn = std::move(fn);
  for (const auto& seg : route->segments) route->has_secret_param |= IsSecretParam(seg);
  auto& list = routes_[std::string(method)];
  for (const auto& r : list) CHECK(r->pattern != route->pattern);
  list.push_back(std::move(route));
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return MoreSpecific(a->segments, b->segments);
  });
}

Router::Match Router::Find(net::Listener listener, std::string_view method,
                           std::string_view path) const {
  Match match;
  std::vector<std::string_view> parts;
  if (!SplitPath(path, &parts)) return match;
  const std::string_view lookup = method == "HEAD" ? std::string_view("GET") : method;
  for (const auto& [m, list] : routes_) {
    for (const auto& route : list) {
      if (!ListenerAllowed(route->options, listener)) continue;
      if (route->segments.size() != parts.size()) continue;
      PathParams params;
      bool ok = true;
      for (size_t i = 0; i < parts.size() && ok; ++i) {
        const std::string& seg = route->segments[i];
        if (IsParam(seg)) {
          std::string decoded;
          if (!net::PercentDecode(parts[i], &decoded)) {
            ok = false;
            break;
          }
          params.Add(seg.substr(1, seg.size() - 2), std::move(decoded));
        } else if (seg != parts[i]) {
          ok = false;
        }
      }
      if (!ok) continue;
      if (m == lookup) {
        if (match.route == nullptr) {
          match.route = route.get();
          match.params = std::move(params);
        }
      } else {
        match.allowed.push_back(m);
      }
      break;  // the first (most specific) match per method decides
    }
  }
  if (match.route != nullptr) match.allowed.clear();
  return match;
}

net::Handler::RouteInfo Router::Classify(net::Listener listener, std::string_view method,
                                         std::string_view path) const {
  const Match match = Find(listener, method, path);
  // Unknown paths still read a modest body, so that the client learns "404", not "413".
  if (match.route == nullptr)
    return RouteInfo{.max_body_bytes = kUnmatchedBodyBytes, .blocking = false};
  return RouteInfo{.max_body_bytes = match.route->options.max_body_bytes,
                   .blocking = match.route->options.blocking || match.route->options.stream_body,
                   .stream_body = match.route->options.stream_body};
}

net::Response Router::Handle(net::Request& request) {
  Match match = Find(request.listener, request.method, request.path);
  if (match.route == nullptr) {
    if (!match.allowed.empty()) {
      std::string allow;
      for (const auto& m : match.allowed) {
        allow += (allow.empty() ? "" : ", ") + m;
        if (m == "GET") allow += ", HEAD";
      }
      net::Response r = Problem(405, "method-not-allowed", "Method not allowed",
                                "this resource does not support the method");
      r.headers.Set("Allow", allow);
      r.route = "unmatched";
      return r;
    }
    net::Response r = Problem(404, "not-found", "Not found", "no such resource");
    r.route = "unmatched";
    return r;
  }
  net::Response response = match.route->fn(request, match.params);
  response.route = match.route->pattern;
  if (match.route->has_secret_param) response.log_path = RedactedPath(*match.route, request.path);
  return response;  // for HEAD the server sends the GET answer's headers without its body
}

std::string Router::RedactedPath(const Route& route, std::string_view path) {
  std::vector<std::string_view> parts;
  if (!SplitPath(path, &parts) || parts.size() != route.segments.size()) return route.pattern;
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += '/';
    out += IsSecretParam(route.segments[i]) ? std::string_view("{token}") : parts[i];
  }
  return out.empty() ? "/" : out;
}

}  // namespace sicher::api
