#include "sicher/docs/internal/text.h"

#include <algorithm>

namespace sicher::docs::internal {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 if there is none (or it is NUL).
size_t SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool IsCleanUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string CleanUtf8(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    const size_t take = n == 0 ? 1 : n;
    if (out.size() + take > max) break;
    if (n == 0) {
      out += '?';
    } else {
      out.append(s.substr(i, n));
    }
    i += take;
  }
  return out;
}

}  // namespace sicher::docs::internal
