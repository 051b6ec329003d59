#include "sicher/crypto/field.h"

#include "sicher/crypto/aead.h"

namespace sicher::crypto {
namespace {

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void AppendLengthPrefixed(std::string& out, std::string_view part) {
  AppendBigEndian(out, part.size(), 4);
  out.append(part);
}

}  // namespace

std::string FieldAad(std::string_view table, std::string_view column, std::string_view object_id,
                     uint64_t version) {
  std::string aad = "sicher-field-v1";
  AppendLengthPrefixed(aad, table);
  AppendLengthPrefixed(aad, column);
  AppendLengthPrefixed(aad, object_id);
  AppendBigEndian(aad, version, 8);
  return aad;
}

Result<std::string> SealField(const SecretBytes& dek, std::string_view plaintext,
                              std::string_view aad, Random& random) {
  return AeadSeal(dek, plaintext, aad, random);
}

Result<std::string> OpenField(const SecretBytes& dek, std::string_view sealed,
                              std::string_view aad) {
  return AeadOpen(dek, sealed, aad);
}

Result<SecretBytes> OpenSecretField(const SecretBytes& dek, std::string_view sealed,
                                    std::string_view aad) {
  return AeadOpenSecret(dek, sealed, aad);
}

}  // namespace sicher::crypto
