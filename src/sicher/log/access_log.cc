#include "sicher/log/access_log.h"

#include <ctime>
#include <string>

#include "sicher/base/bytes.h"

namespace sicher::log {
namespace {

void Append(fmt::memory_buffer& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

template <class Int>
void AppendInt(fmt::memory_buffer& out, Int v) {
  const fmt::format_int f(v);
  out.append(f.data(), f.data() + f.size());
}

// Bytes that JSON strings carry as they are: printable ASCII except '"' and '\'.
bool IsPlain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Length of the well-formed UTF-8 sequence at the start of `s` (Unicode table 3-7), or 0 if
// none starts there; then `*prefix` is the length of its longest valid prefix (the "maximal
// subpart" that one U+FFFD replaces), at least 1.
size_t Utf8SequenceLength(std::string_view s, size_t* prefix) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *prefix = 1;
    return 0;
  }
  size_t i = 1;
  for (; i < need && i < s.size(); ++i) {
    const unsigned char c = b(i);
    const bool ok = i == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) break;
  }
  if (i == need) return need;
  *prefix = i;
  return 0;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

void AppendJsonString(std::string_view text, fmt::memory_buffer& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // The common case: a run of plain ASCII, copied at once.
    size_t run = i;
    while (run < text.size() && IsPlain(static_cast<unsigned char>(text[run]))) ++run;
    if (run > i) {
      out.append(text.data() + i, text.data() + run);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back('\\');
      switch (c) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '\b':
          out.push_back('b');
          break;
        case '\t':
          out.push_back('t');
          break;
        case '\n':
          out.push_back('n');
          break;
        case '\f':
          out.push_back('f');
          break;
        case '\r':
          out.push_back('r');
          break;
        default: {
          const char u[] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(u, u + sizeof u);
        }
      }
      ++i;
      continue;
    }
    size_t prefix = 0;
    if (const size_t n = Utf8SequenceLength(text.substr(i), &prefix); n > 0) {
      out.append(text.data() + i, text.data() + i + n);
      i += n;
    } else {
      Append(out, kReplacement);
      i += prefix;
    }
  }
  out.push_back('"');
}

void AppendRfc3339(Time t, fmt::memory_buffer& out) {
  // "2026-11-27T04:44:18" is the same for a whole second: format it (gmtime_r takes a global
  // lock in glibc) once per second per thread.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[32];
  thread_local size_t cached_size = 0;
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const int64_t second = secs.time_since_epoch().count();
  const auto micros = (t - secs).count();
  if (second != cached_second) {
    const std::time_t tt = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    const auto r = fmt::format_to_n(cached, sizeof cached, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                    tm.tm_min, tm.tm_sec);
    cached_size = std::min(r.size, sizeof cached);
    cached_second = second;
  }
  out.append(cached, cached + cached_size);
  fmt::format_to(std::back_inserter(out), ".{:06}Z", micros);
}

void AppendAccessLogLine(Time timestamp, const AccessLogEntry& e, fmt::memory_buffer& out) {
  const size_t cut = e.path.find_first_of("?#");
  const std::string_view path = cut == std::string_view::npos ? e.path : e.path.substr(0, cut);
  const std::string_view outcome = e.status == 0    ? "unknown"
                                   : e.status < 400 ? "success"
                                                    : "failure";

  // Keys in sorted order, as a std::map-backed json value dumps them.
  Append(out, "{\"@timestamp\":\"");
  AppendRfc3339(timestamp, out);
  Append(out,
         "\",\"event\":{\"action\":\"http_request\",\"category\":[\"web\"],"
         "\"dataset\":\"sicher.access\",\"duration\":");
  AppendInt(out, e.duration_ns);
  Append(out, ",\"kind\":\"event\",\"outcome\":\"");
  Append(out, outcome);
  Append(out, "\"},\"http\":{\"request\":{");
  if (!e.request_id.empty()) {
    Append(out, "\"id\":");
    AppendJsonString(e.request_id, out);
    out.push_back(',');
  }
  Append(out, "\"method\":");
  AppendJsonString(e.method, out);
  Append(out, "},\"response\":{\"body\":{\"bytes\":");
  AppendInt(out, e.bytes_sent);
  Append(out, "},\"status_code\":");
  AppendInt(out, e.status);
  Append(out, "}},\"sicher\":{\"listener\":");
  AppendJsonString(e.listener, out);
  if (!e.route.empty()) {
    Append(out, ",\"route\":");
    AppendJsonString(e.route, out);
  }
  out.push_back('}');
  if (!e.client_ip.empty()) {
    Append(out, ",\"source\":{\"ip\":");
    AppendJsonString(e.client_ip, out);
    out.push_back('}');
  }
  Append(out, ",\"url\":{\"path\":");
  AppendJsonString(path, out);
  out.push_back('}');
  if (!e.user_agent.empty()) {
    Append(out, ",\"user_agent\":{\"original\":");
    AppendJsonString(TruncateUtf8(e.user_agent, kMaxUserAgentBytes), out);
    out.push_back('}');
  }
  out.push_back('}');
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
