#pragma once
// Helpers shared by the AuthService implementation files. Private to auth/.

#include <string>
#include <string_view>

#include "sicher/base/clock.h"
#include "sicher/base/status.h"
#include "sicher/crypto/hash.h"
#include "sicher/store/store.h"

namespace sicher::auth::internal {

// Tokens are 256-bit random values: SHA-256 is the right way to store them (no salt or
// stretching needed), and makes a stolen database useless for logging in.
inline store::Blob TokenHash(std::string_view token) { return store::Blob{crypto::Sha256(token)}; }

// Names (people, accounts): 1 to 200 bytes, no control characters.
Status ValidateName(std::string_view what, std::string_view name);

}  // namespace sicher::auth::internal
