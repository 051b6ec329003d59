#pragma once
// Personal fields (e-mail, names, document titles and descriptions, TOTP secrets) sealed under
// the account's DEK with AES-256-GCM. Format and AAD convention: docs/design/keys.md section 5.
//
// Always build the AAD with FieldAad, so that a sealed value opens only in the table, column,
// row and version it was written for. Failure as in aead.h: InvalidArgument for a key that is
// not 32 bytes, DataLoss("authentication failed") for tampering or a value moved elsewhere.
// Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"

namespace sicher::crypto {

// "sicher-field-v1" || u32be(len) || table || u32be(len) || column || u32be(len) || object_id
// || u64be(version). `version` is 0 for fields that are not versioned.
std::string FieldAad(std::string_view table, std::string_view column, std::string_view object_id,
                     uint64_t version = 0);

// AeadSeal under the DEK: format || nonce || ciphertext || tag (plaintext.size() + 29 bytes).
Result<std::string> SealField(const SecretBytes& dek, std::string_view plaintext,
                              std::string_view aad, Random& random);
Result<std::string> OpenField(const SecretBytes& dek, std::string_view sealed,
                              std::string_view aad);
// OpenField into a wiped buffer, for secrets such as TOTP seeds.
Result<SecretBytes> OpenSecretField(const SecretBytes& dek, std::string_view sealed,
                                    std::string_view aad);

}  // namespace sicher::crypto
