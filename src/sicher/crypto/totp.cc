#include "sicher/crypto/totp.h"

#include <oath.h>

#include <array>
#include <limits>

#include "sicher/base/check.h"

namespace sicher::crypto {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void InitOath() {
  static const bool ok = oath_init() == OATH_OK;
  CHECK(ok);
}

// Digits 6..8, as liboath supports.
std::array<char, 9> HotpCode(const SecretBytes& secret, uint64_t counter, unsigned digits) {
  InitOath();
  std::array<char, 9> out{};
  const int rc =
      oath_hotp_generate(reinterpret_cast<const char*>(secret.data()), secret.size(), counter,
                         digits, /*add_checksum=*/false, OATH_HOTP_DYNAMIC_TRUNCATION, out.data());
  CHECK(rc == OATH_OK);
  return out;
}

int Base32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

}  // namespace

SecretBytes NewTotpSecret(Random& random) {
  SecretBytes secret(kTotpSecretBytes);
  random.Fill(secret.span());
  return secret;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 0x1f]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  // Optional padding: strip it, then require that it was the right amount (or none).
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  const size_t padding = text.size() - end;
  text = text.substr(0, end);
  // Groups of 8 characters encode 5 bytes; a final group of 2, 4, 5 or 7 characters encodes
  // 1, 2, 3 or 4 bytes. 1, 3 and 6 characters cannot occur.
  const size_t tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) return std::nullopt;
  if (padding != 0 && (tail == 0 || padding != 8 - tail)) return std::nullopt;

  std::string out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : text) {
    const int value = Base32Value(ch);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Left-over bits must be zero, so that every byte string has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account_name,
                       const SecretBytes& secret) {
  CHECK(!secret.empty());
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) {
    uri += PercentEncode(issuer);
    uri += ':';
  }
  uri += PercentEncode(account_name);
  uri += "?secret=";
  uri += Base32Encode(secret.view());
  if (!issuer.empty()) {
    uri += "&issuer=";
    uri += PercentEncode(issuer);
  }
  uri += "&algorithm=SHA1&digits=6&period=30";
  return uri;
}

int64_t TotpTimeStep(Time now) {
  const int64_t seconds = UnixSeconds(now);
  // Floor division, so that times before the epoch fall into negative steps consistently.
  int64_t step = seconds / kTotpPeriodSeconds;
  if (seconds % kTotpPeriodSeconds < 0) --step;
  return step;
}

std::string TotpCode(const SecretBytes& secret, int64_t time_step) {
  CHECK(!secret.empty());
  CHECK(time_step >= 0);
  const auto code = HotpCode(secret, static_cast<uint64_t>(time_step), kTotpDigits);
  return std::string(code.data(), kTotpDigits);
}

std::optional<int64_t> VerifyTotp(const SecretBytes& secret, std::string_view code, Time now,
                                  std::optional<int64_t> last_accepted_step) {
  CHECK(!secret.empty());
  // Copy the input into a fixed 6-byte buffer whatever its shape, so the work below does not
  // depend on it. A malformed input becomes NULs, which no code (all digits) can equal.
  std::array<char, kTotpDigits> input{};
  unsigned well_formed = code.size() == kTotpDigits ? 1 : 0;
  for (size_t i = 0; i < input.size(); ++i) {
    const char c = i < code.size() ? code[i] : '\0';
    well_formed &= static_cast<unsigned>(c >= '0' && c <= '9');
    input[i] = c;
  }
  const uint64_t keep = 0 - static_cast<uint64_t>(well_formed);  // all ones or zero
  for (char& c : input) c = static_cast<char>(static_cast<uint64_t>(c) & keep);
  const std::string_view given(input.data(), input.size());

  const int64_t now_step = TotpTimeStep(now);
  const int64_t floor_step =
      last_accepted_step.has_value() ? *last_accepted_step : std::numeric_limits<int64_t>::min();
  int64_t matched = -1;
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    // Always compute and compare; a step < 0 (before 1970) only happens with a broken clock.
    const uint64_t counter = static_cast<uint64_t>(step < 0 ? 0 : step);
    auto candidate = HotpCode(secret, counter, kTotpDigits);
    const bool equal = ConstantTimeEquals(given, std::string_view(candidate.data(), kTotpDigits));
    SecureWipe(candidate.data(), candidate.size());
    const uint64_t ok =
        static_cast<uint64_t>(equal) & static_cast<uint64_t>(step >= 0 && step > floor_step);
    const uint64_t mask = 0 - ok;
    // Later steps overwrite earlier ones: the latest matching step wins.
    matched = static_cast<int64_t>((static_cast<uint64_t>(step) & mask) |
                                   (static_cast<uint64_t>(matched) & ~mask));
  }
  SecureWipe(input.data(), input.size());
  if (matched < 0) return std::nullopt;
  return matched;
}

}  // namespace sicher::crypto
