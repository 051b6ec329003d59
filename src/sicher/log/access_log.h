#pragma once
// The one access-log line per HTTP request, as ECS fields. Pure functions; thread-safe.
//
//   {"@timestamp":"2026-01-01T00:00:00.000000Z",
//    "event":{"action":"http_request","category":["web"],"dataset":"sicher.access",
//             "duration":<ns>,"kind":"event","outcome":"success"|"failure"|"unknown"},
//    "http":{"request":{"id","method"},"response":{"body":{"bytes"},"status_code"}},
//    "sicher":{"listener","route"}, "source":{"ip"}, "url":{"path"},
//    "user_agent":{"original"}}
//
// `path` keeps only the path: anything from the first '?' or '#' is cut, because query strings
// may carry tokens. The user agent is truncated to 512 bytes on a UTF-8 character boundary.
// Empty client_ip, user_agent, request_id or route are left out. Outcome: status < 400 is
// success, 4xx and 5xx failure, 0 (no response sent) unknown.
//
// Two ways to build it, with the same result:
//   - AppendAccessLogLine writes the finished line (the form above, keys in this order) with no
//     json value and no allocation beyond the output buffer. This is the request path's form
//     (Logger::WriteAccess).
//   - AccessLogLine returns the fields as a json value, without "@timestamp" and
//     "event.dataset", which Logger::Write adds. It is the readable specification of the line;
//     a test checks that both produce the same bytes.

#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sicher/base/bytes.h"  // TruncateUtf8
#include "sicher/base/clock.h"

namespace sicher::log {

inline constexpr size_t kMaxUserAgentBytes = 512;

// The fields of one access-log line. Views: the caller keeps the strings alive for the call.
struct AccessLogEntry {
  std::string_view method;      // "GET"
  std::string_view path;        // cut at '?' or '#'
  int status = 0;               // 0: no response was sent
  int64_t duration_ns = 0;      // event.duration
  std::string_view client_ip;   // source.ip
  std::string_view user_agent;  // user_agent.original, truncated
  std::string_view request_id;  // http.request.id
  std::string_view listener;    // sicher.listener: "public", "operator", "redirect"
  std::string_view route;       // sicher.route: the router's pattern
  uint64_t bytes_sent = 0;      // http.response.body.bytes
};

// Appends the access-log line for `entry`, stamped `timestamp`, to `out` (no newline): exactly
// the text Logger::Write(Category::kAccess, AccessLogLine(...)) writes at that time: keys in
// sorted order, strings escaped as nlohmann::json dumps them (", \, control characters; other
// UTF-8 as is) and invalid UTF-8 replaced with U+FFFD.
void AppendAccessLogLine(Time timestamp, const AccessLogEntry& entry, fmt::memory_buffer& out);

nlohmann::json AccessLogLine(std::string_view method, std::string_view path, int status,
                             int64_t duration_ns, std::string_view client_ip,
                             std::string_view user_agent, std::string_view request_id,
                             std::string_view listener, std::string_view route,
                             uint64_t bytes_sent);

// Appends `text` as a JSON string (quotes included), escaped as nlohmann::json's
// dump(-1, ' ', false, error_handler_t::replace) does. Exposed for tests.
void AppendJsonString(std::string_view text, fmt::memory_buffer& out);

// Appends `t` as FormatRfc3339 (base/clock.h) does, "2026-11-27T04:44:18.123456Z", reusing the
// date and time of the previous call on this thread when the second is the same.
void AppendRfc3339(Time t, fmt::memory_buffer& out);

}  // namespace sicher::log
