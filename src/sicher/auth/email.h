#pragma once
// E-mail addresses as identifiers: normalised so that one person cannot sign up twice by
// changing case or adding spaces.

#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::auth {

// Trims surrounding white space and lower-cases ASCII letters. InvalidArgument unless the
// result is at most 254 bytes, has exactly one '@' with a non-empty local part (at most 64
// bytes) and a domain containing a dot, and contains no white space or control characters.
Result<std::string> NormalizeEmail(std::string_view email);

}  // namespace sicher::auth
