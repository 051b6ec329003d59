#include "sicher/log/access_log.h"

#include <string>

namespace sicher::log {

std::string_view TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes (10xxxxxx) so the cut falls before a lead byte.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

nlohmann::json AccessLogLine(std::string_view method, std::string_view path, int status,
                             int64_t duration_ns, std::string_view client_ip,
                             std::string_view user_agent, std::string_view request_id,
                             std::string_view listener, std::string_view route,
                             uint64_t bytes_sent) {
  using nlohmann::json;
  const size_t cut = path.find_first_of("?#");
  const std::string_view clean_path = cut == std::string_view::npos ? path : path.substr(0, cut);
  const char* outcome = status == 0 ? "unknown" : status < 400 ? "success" : "failure";

  json line = json::object();
  line["event"] = {{"category", json::array({"web"})},
                   {"kind", "event"},
                   {"action", "http_request"},
                   {"outcome", outcome},
                   {"duration", duration_ns}};
  json request = {{"method", std::string(method)}};
  if (!request_id.empty()) request["id"] = std::string(request_id);
  line["http"] = {{"request", std::move(request)},
                  {"response", {{"status_code", status}, {"body", {{"bytes", bytes_sent}}}}}};
  line["url"] = {{"path", std::string(clean_path)}};
  if (!client_ip.empty()) line["source"] = {{"ip", std::string(client_ip)}};
  if (!user_agent.empty()) {
    line["user_agent"] = {{"original", std::string(TruncateUtf8(user_agent, kMaxUserAgentBytes))}};
  }
  json sicher = {{"listener", std::string(listener)}};
  if (!route.empty()) sicher["route"] = std::string(route);
  line["sicher"] = std::move(sicher);
  return line;
}

}  // namespace sicher::log
