#pragma once
// Identifiers for rows that clients see: a short type prefix and 128 random bits in lowercase
// base32 ("usr_3kq9...": 4 + 26 characters). Random rather than sequential, so an id reveals
// neither how many objects exist nor when one was made, and cannot be guessed.

#include <string>
#include <string_view>

#include "sicher/base/random.h"

namespace sicher {

// `prefix` + "_" + 26 base32 characters.
std::string NewId(Random& random, std::string_view prefix);
// True if `id` has the shape NewId(…, prefix) produces. Use before a lookup to turn garbage
// into a clean 404 without touching the database.
bool IsValidId(std::string_view id, std::string_view prefix);
// `bytes` random bytes as unpadded base64url: tokens for links, sessions, challenges.
std::string NewToken(Random& random, size_t bytes = 32);

}  // namespace sicher
