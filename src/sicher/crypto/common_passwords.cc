#include "sicher/crypto/common_passwords.h"

#include <algorithm>
#include <array>
#include <span>

#include "sicher/base/bytes.h"

namespace sicher::crypto {
namespace internal {
// Defined in the generated common_passwords_data.cc: lower-case, unique, sorted by bytes.
extern const std::string_view kCommonPasswordList[];
}  // namespace internal

namespace {

std::span<const std::string_view> List() {
  return {internal::kCommonPasswordList, kCommonPasswordsCount};
}

size_t LongestEntry() {
  static const size_t longest = [] {
    size_t n = 0;
    for (std::string_view p : List()) n = std::max(n, p.size());
    return n;
  }();
  return longest;
}

}  // namespace

bool IsCommonPassword(std::string_view password) {
  if (password.empty() || password.size() > LongestEntry()) return false;
  // The candidate is a password: keep the lower-cased copy on the stack and wipe it.
  std::array<char, 256> buffer{};
  if (password.size() > buffer.size()) return false;  // longer than any entry in practice
  for (size_t i = 0; i < password.size(); ++i) {
    const char c = password[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view lower(buffer.data(), password.size());
  const auto list = List();
  const bool found = std::binary_search(list.begin(), list.end(), lower);
  SecureWipe(buffer.data(), buffer.size());
  return found;
}

}  // namespace sicher::crypto
