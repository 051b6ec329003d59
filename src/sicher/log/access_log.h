#pragma once
// AccessLogLine: the one access-log line per HTTP request, as ECS fields, ready for
// Logger::Write(Category::kAccess, ...). Pure function; thread-safe.
//
//   {"event":{"category":["web"],"kind":"event","action":"http_request",
//             "outcome":"success"|"failure"|"unknown","duration":<ns>},
//    "http":{"request":{"id","method"},"response":{"status_code","body":{"bytes"}}},
//    "url":{"path"}, "source":{"ip"}, "user_agent":{"original"},
//    "sicher":{"listener","route"}}
//
// `path` keeps only the path: anything from the first '?' or '#' is cut, because query strings
// may carry tokens. The user agent is truncated to 512 bytes on a UTF-8 character boundary.
// Empty client_ip, user_agent or route are left out. Outcome: status < 400 is success, 4xx and
// 5xx failure, 0 (no response sent) unknown.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

namespace sicher::log {

inline constexpr size_t kMaxUserAgentBytes = 512;

nlohmann::json AccessLogLine(std::string_view method, std::string_view path, int status,
                             int64_t duration_ns, std::string_view client_ip,
                             std::string_view user_agent, std::string_view request_id,
                             std::string_view listener, std::string_view route,
                             uint64_t bytes_sent);

// `text` cut to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace sicher::log
