#pragma once
// Rewrites the PCRE-only syntax that uap-core's regexes could use into RE2 syntax with the same
// matches. Pure; thread-safe.
//
// Translated (outside character classes, honouring backslash escapes):
//   possessive quantifiers  x*+ x++ x?+ x{n,m}+  ->  x* x+ x? x{n,m}
//   atomic groups           (?>...)              ->  (?:...)
//   \Z (end, or before a final newline)          ->  \n?\z (consumes that newline)
// Possessive and atomic forms only forbid backtracking; RE2 never backtracks, so the greedy
// form matches the same strings in all but contrived cases. Anything else (backreferences,
// lookaround) is passed through unchanged for RE2 to reject; the caller counts those.
// uap-core 0.18.0 uses none of these, so for it the translation is the identity.

#include <string>
#include <string_view>

namespace sicher::net::internal {

std::string TranslatePcreForRe2(std::string_view pattern);

}  // namespace sicher::net::internal
