#pragma once
// TOTP (RFC 6238) as authenticator apps implement it: HMAC-SHA-1 (through liboath), 6 digits,
// 30-second steps counted from the Unix epoch, secrets of 20 bytes (160 bits, RFC 4226's
// recommendation), shared as RFC 4648 Base32 in an otpauth:// URI.
//
// Replay protection is the caller's part of the contract: store the step returned by
// VerifyTotp with the credential (in the same transaction that accepts the login) and pass it
// back next time; a code is then never accepted twice, nor any code older than one accepted.
//
// All functions are thread-safe. Secrets and codes never appear in a Status or a log line; the
// otpauth URI contains the secret in clear.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/random.h"

namespace sicher::crypto {

inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpPeriodSeconds = 30;
inline constexpr size_t kTotpSecretBytes = 20;

// A fresh random secret of kTotpSecretBytes.
SecretBytes NewTotpSecret(Random& random);

// RFC 4648 Base32, upper-case, without padding (as otpauth URIs carry it).
std::string Base32Encode(std::string_view bytes);
// Inverse of Base32Encode. Accepts upper and lower case and optional trailing '=' padding;
// nullopt on any other character, an impossible length, or non-zero trailing bits.
std::optional<std::string> Base32Decode(std::string_view text);

// "otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6
// &period=30". Issuer and account name are percent-encoded (everything but RFC 3986 unreserved
// characters, so a ':' inside either cannot split the label). With an empty issuer the label is
// the account name alone and there is no issuer parameter. Contains the secret: show it to
// the enrolling user only; never log or store it. Precondition: `secret` is not empty.
std::string OtpauthUri(std::string_view issuer, std::string_view account_name,
                       const SecretBytes& secret);

// The TOTP time step of `now`: floor(unix seconds / 30).
int64_t TotpTimeStep(Time now);

// The 6-digit code (with leading zeros) for `time_step`. Preconditions (CHECK): `secret` is
// not empty and time_step >= 0.
std::string TotpCode(const SecretBytes& secret, int64_t time_step);

// Checks `code` against the steps now-1, now and now+1 (one step of clock drift either way),
// accepting only a step greater than `last_accepted_step` (nullopt: no code accepted yet).
// Returns the matched step (the latest, should one code match two steps), which the caller
// must store as the new last accepted step; nullopt otherwise. A wrong code, a malformed one
// (anything but exactly six ASCII digits) and a correct but replayed or outdated one are all
// the same nullopt, and all take the same time: the three candidate codes are always computed
// and compared in constant time. Precondition (CHECK): `secret` is not empty.
std::optional<int64_t> VerifyTotp(const SecretBytes& secret, std::string_view code, Time now,
                                  std::optional<int64_t> last_accepted_step);

}  // namespace sicher::crypto
