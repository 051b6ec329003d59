#pragma once
// SHA-256 and HMAC-SHA-256. Thread-safe (SHA-256 keeps one reusable context per thread).

#include <initializer_list>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"

namespace sicher::crypto {

// The 32-byte digest, raw.
std::string Sha256(std::string_view data);
// The digest of the parts' concatenation, without concatenating them.
std::string Sha256(std::initializer_list<std::string_view> parts);
std::string Sha256Hex(std::string_view data);
// The 32-byte MAC, raw.
std::string HmacSha256(const SecretBytes& key, std::string_view data);

}  // namespace sicher::crypto
