#include "sicher/net/user_agent/internal/pcre_to_re2.h"

#include <cctype>

namespace sicher::net::internal {
namespace {

// Length of a counted repetition "{n}", "{n,}" or "{n,m}" at the start of `s`, else 0 (PCRE
// reads any other '{' as a literal).
size_t CountedRepetitionLength(std::string_view s) {
  size_t i = 1;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (digits() == 0) return 0;
  if (i < s.size() && s[i] == ',') {
    ++i;
    digits();
  }
  return i < s.size() && s[i] == '}' ? i + 1 : 0;
}

}  // namespace

std::string TranslatePcreForRe2(std::string_view pattern) {
  // What the previous token was, for telling quantifier modifiers from quantifiers.
  enum class Prev { kAtom, kQuantifier, kGroupOpen };
  std::string out;
  out.reserve(pattern.size());
  Prev prev = Prev::kAtom;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      out += next == 'Z' ? std::string_view("\\n?\\z") : std::string_view(&pattern[i - 1], 2);
      prev = Prev::kAtom;
      continue;
    }
    if (c == '[') {
      // Copy the class verbatim. A ']' right after '[' or '[^' is a member, not the end.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^') ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;
      while (j < pattern.size() && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      const size_t end = j < pattern.size() ? j + 1 : pattern.size();
      out.append(pattern.substr(i, end - i));
      i = end - 1;
      prev = Prev::kAtom;
      continue;
    }
    if (c == '{') {
      if (const size_t n = CountedRepetitionLength(pattern.substr(i)); n > 0) {
        out.append(pattern.substr(i, n));
        i += n - 1;
        prev = Prev::kQuantifier;
        continue;
      }
    }
    switch (c) {
      case '+':
        if (prev == Prev::kQuantifier) {
          prev = Prev::kAtom;  // possessive marker: drop it
          continue;
        }
        prev = Prev::kQuantifier;
        break;
      case '*':
        prev = Prev::kQuantifier;
        break;
      case '?':
        // "x??" is lazy (a modifier, not another quantifier); "(?" starts a group construct.
        prev = prev == Prev::kAtom ? Prev::kQuantifier : Prev::kAtom;
        break;
      case '(':
        if (pattern.substr(i, 3) == "(?>") {
          out += "(?:";
          i += 2;
          prev = Prev::kAtom;
          continue;
        }
        prev = Prev::kGroupOpen;
        break;
      default:
        prev = Prev::kAtom;
    }
    out += c;
  }
  return out;
}

}  // namespace sicher::net::internal
