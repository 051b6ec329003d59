#include "sicher/auth/email.h"

namespace sicher::auth {

Result<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && (email.front() == ' ' || email.front() == '\t')) email.remove_prefix(1);
  while (!email.empty() && (email.back() == ' ' || email.back() == '\t')) email.remove_suffix(1);
  if (email.empty()) return InvalidArgumentError("email is required");
  if (email.size() > 254) return InvalidArgumentError("email is too long");
  std::string out;
  out.reserve(email.size());
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return InvalidArgumentError("email contains white space");
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const size_t at = out.find('@');
  if (at == std::string::npos || out.find('@', at + 1) != std::string::npos) {
    return InvalidArgumentError("email must contain exactly one @");
  }
  if (at == 0 || at > 64) return InvalidArgumentError("email has an invalid local part");
  const std::string_view domain = std::string_view(out).substr(at + 1);
  const size_t dot = domain.find('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || domain.back() == '.') {
    return InvalidArgumentError("email has an invalid domain");
  }
  return out;
}

}  // namespace sicher::auth
