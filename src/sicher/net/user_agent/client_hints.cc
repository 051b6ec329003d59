// ParseClientHints (declared in user_agent.h): Sec-CH-UA-Mobile and Sec-CH-UA-Platform, which
// are RFC 8941 structured-field items (a boolean and a string).

#include <string>
#include <string_view>

#include "sicher/net/user_agent/user_agent.h"

namespace sicher::net {
namespace {

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 8941 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE, printable ASCII.
std::optional<std::string> ParseSfString(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c < 0x20 || c > 0x7e) return std::nullopt;
    if (c == '"') return std::nullopt;  // an unescaped quote before the end
    if (c == '\\') {
      if (i + 2 >= s.size()) return std::nullopt;
      c = s[++i];
      if (c != '"' && c != '\\') return std::nullopt;
    }
    out += c;
  }
  return out;
}

}  // namespace

ClientHints ParseClientHints(std::string_view mobile, std::string_view platform) {
  ClientHints hints;
  mobile = TrimOws(mobile);
  if (mobile == "?1") {
    hints.mobile = true;
  } else if (mobile == "?0") {
    hints.mobile = false;
  }
  if (std::optional<std::string> p = ParseSfString(TrimOws(platform));
      p.has_value() && p->size() <= kMaxPlatformHintBytes) {
    hints.platform = std::move(*p);
  }
  return hints;
}

}  // namespace sicher::net
