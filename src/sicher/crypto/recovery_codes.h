#pragma once
// Single-use recovery codes for a lost second factor: shown once at enrolment, stored hashed,
// each one consumed on use (deleting its hash is the caller's job).
//
// Format: 12 characters in groups of four, "k7q2-m9xd-p4tz", from Crockford's Base32 alphabet
// in lower case ("0123456789abcdefghjkmnpqrstvwxyz": no i, l, o, u, so nothing can be misread
// as another symbol). Each character carries 5 uniform bits: 60 bits per code.
//
// Why SHA-256 and not Argon2: a slow hash protects low-entropy secrets that people choose.
// These codes are uniformly random with 60 bits, so guessing one code of one user from a
// stolen database takes ~2^56 SHA-256 evaluations (10 codes per user), and the code is only
// a second factor: it is useless without the password. Argon2 would add ~50 ms and 19 MiB to
// every recovery attempt for little gain. The hash is unsalted, so a stolen database with N
// codes in total lets an attacker find *some* code of *some* user in about 2^60/N work; that
// user's password is still needed to use it.
//
// All functions are thread-safe. Codes never appear in a Status or a log line.

#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/random.h"

namespace sicher::crypto {

inline constexpr int kRecoveryCodeCount = 10;

// `n` fresh codes (n >= 1), formatted for display. Duplicates are possible in principle
// (probability ~n^2 / 2^61) and harmless.
std::vector<std::string> NewRecoveryCodes(Random& random, int n = kRecoveryCodeCount);

// The canonical form of a typed code: ASCII whitespace and '-' removed, lower-cased, and
// Crockford's reading rules applied to the letters the alphabet leaves out ('o' -> '0',
// 'i' and 'l' -> '1'), so "K7Q2 M9XD P4TZ" and "k7q2-m9xd-p4tz" are the same code.
std::string NormalizeRecoveryCode(std::string_view code);

// Lower-case hex SHA-256 of NormalizeRecoveryCode(code): what is stored.
std::string HashRecoveryCode(std::string_view code);

// True when `code`, normalized, hashes to `hash`. The hash comparison is constant-time.
bool RecoveryCodeMatches(std::string_view hash, std::string_view code);

}  // namespace sicher::crypto
