#include "sicher/crypto/recovery_codes.h"

#include <array>

#include "sicher/base/bytes.h"
#include "sicher/base/check.h"
#include "sicher/crypto/hash.h"

namespace sicher::crypto {
namespace {

constexpr std::string_view kCrockfordLower = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr int kCodeChars = 12;
constexpr int kGroupChars = 4;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::vector<std::string> NewRecoveryCodes(Random& random, int n) {
  CHECK(n >= 1);
  std::vector<std::string> codes;
  codes.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::array<uint8_t, 8> bytes{};
    random.Fill(bytes);
    uint64_t bits = 0;
    for (const uint8_t b : bytes) bits = (bits << 8) | b;
    SecureWipe(bytes.data(), bytes.size());
    std::string code;
    code.reserve(kCodeChars + kCodeChars / kGroupChars - 1);
    for (int c = 0; c < kCodeChars; ++c) {
      if (c > 0 && c % kGroupChars == 0) code.push_back('-');
      code.push_back(kCrockfordLower[bits & 0x1f]);  // 32 symbols: no modulo bias
      bits >>= 5;
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c == '-' || IsAsciiSpace(c)) continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == 'o') c = '0';
    if (c == 'i' || c == 'l') c = '1';
    out.push_back(c);
  }
  return out;
}

std::string HashRecoveryCode(std::string_view code) {
  std::string normalized = NormalizeRecoveryCode(code);
  std::string hash = Sha256Hex(normalized);
  SecureWipe(normalized.data(), normalized.size());
  return hash;
}

bool RecoveryCodeMatches(std::string_view hash, std::string_view code) {
  return ConstantTimeEquals(hash, HashRecoveryCode(code));
}

}  // namespace sicher::crypto
