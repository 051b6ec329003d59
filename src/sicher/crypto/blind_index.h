#pragma once
// Blind index: a keyed, deterministic fingerprint of a personal value, so the database can find
// a row by e-mail without holding the e-mail in the clear (docs/design/keys.md).
//
//   BlindIndex(key, domain, value) = hex(HMAC-SHA256(key, domain || 0x00 || value))
//
// The domain ("email", ...) separates index spaces, so equal values in different columns get
// unrelated indexes. The caller normalises the value first (the e-mail lower-cased by the
// accounts code): the index matches bytes, not meanings. Without the key an index reveals
// nothing beyond equality; with it, an attacker can test guesses, so the key stays in the
// keyring. Normally reached through Keyring::BlindIndex.
//
// Thread-safe. Preconditions (CHECKed, domains are constants in code): `domain` is non-empty
// and contains no NUL byte; `key` is not empty.

#include <string>
#include <string_view>

#include "sicher/base/bytes.h"

namespace sicher::crypto {

// 64 lowercase hex characters.
std::string BlindIndex(const SecretBytes& key, std::string_view domain, std::string_view value);

}  // namespace sicher::crypto
