#pragma once
// HKDF-SHA256 (RFC 5869) over OpenSSL 3, for deriving subkeys from a DEK (for instance one key
// per document version in the document envelope; docs/design/keys.md section 8). SHA-256 and
// HMAC-SHA256 themselves are in hash.h.
//
// Thread-safe.

#include <cstddef>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/status.h"

namespace sicher::crypto {

// HKDF-SHA256 (extract then expand) of `ikm` (non-empty) into `length` bytes. InvalidArgument if
// `ikm` is empty or `length` is 0 or more than 255 * 32; Internal if OpenSSL fails. The output is
// wiped on release.
Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::string_view salt, std::string_view info,
                               size_t length);

}  // namespace sicher::crypto
