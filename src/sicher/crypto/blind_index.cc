#include "sicher/crypto/blind_index.h"

#include "sicher/base/check.h"
#include "sicher/crypto/hash.h"

namespace sicher::crypto {

std::string BlindIndex(const SecretBytes& key, std::string_view domain, std::string_view value) {
  CHECK(!key.empty());
  CHECK(!domain.empty() && domain.find('\0') == std::string_view::npos);
  std::string message;
  message.reserve(domain.size() + 1 + value.size());
  message.append(domain);
  message.push_back('\0');
  message.append(value);
  std::string index = HexEncode(HmacSha256(key, message));
  SecureWipe(message.data(), message.size());  // it held the personal value
  return index;
}

}  // namespace sicher::crypto
