#pragma once
// Text helpers private to docs/: validation of client-supplied metadata and the clean-up of
// request facts before they become TEXT columns (which must be valid UTF-8 without NUL).

#include <cstddef>
#include <string>
#include <string_view>

namespace sicher::docs::internal {

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
// without NUL bytes.
bool IsCleanUtf8(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8, and every NUL, replaced by '?',
// then cut at a character boundary to at most `max` bytes.
std::string CleanUtf8(std::string_view s, size_t max);

}  // namespace sicher::docs::internal
