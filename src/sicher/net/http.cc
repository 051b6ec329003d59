#include "sicher/net/http.h"

#include <strings.h>

#include <algorithm>

namespace sicher::net {
namespace {
bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string_view ListenerName(Listener l) {
  switch (l) {
    case Listener::kPublic:
      return "public";
    case Listener::kOperator:
      return "operator";
    case Listener::kRedirect:
      return "redirect";
  }
  return "unknown";
}

std::string_view Headers::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (IEquals(f.name, name)) return f.value;
  }
  return {};
}

bool Headers::Has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const Field& f) { return IEquals(f.name, name); });
}

void Headers::Set(std::string_view name, std::string_view value) {
  Remove(name);
  Add(name, value);
}

void Headers::Add(std::string_view name, std::string_view value) {
  fields_.push_back({std::string(name), std::string(value)});
}

void Headers::Remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return IEquals(f.name, name); }),
                fields_.end());
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexDigit(in[i + 1]);
    const int lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi << 4 | lo);
    if (c == '\0') return false;
    out->push_back(c);
    i += 2;
  }
  return true;
}

}  // namespace sicher::net
