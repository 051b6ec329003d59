#include "sicher/base/ids.h"

#include "sicher/base/bytes.h"

namespace sicher {
namespace {
constexpr char kBase32[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lowercase
constexpr size_t kIdChars = 26;
}  // namespace

std::string NewId(Random& random, std::string_view prefix) {
  uint8_t bytes[17] = {};
  random.Fill(std::span<uint8_t>(bytes, 16));
  std::string out(prefix);
  out += '_';
  // 26 characters x 5 bits = 130 bits: the top two bits of the first character are zero.
  uint32_t acc = 0;
  int bits = 2;  // leading zero bits
  size_t i = 0;
  while (out.size() < prefix.size() + 1 + kIdChars) {
    if (bits < 5) {
      acc = (acc << 8) | bytes[i++];
      bits += 8;
    }
    out += kBase32[(acc >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}

bool IsValidId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + kIdChars) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
  for (char c : id.substr(prefix.size() + 1)) {
    if (std::string_view(kBase32).find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string NewToken(Random& random, size_t bytes) {
  std::string raw(bytes, '\0');
  random.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(raw.data()), raw.size()));
  std::string token = Base64UrlEncode(raw);
  SecureWipe(raw.data(), raw.size());
  return token;
}

}  // namespace sicher
