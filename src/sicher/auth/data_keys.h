#pragma once
// Per-owner data-encryption keys (DEKs) and the personal fields sealed under them.
//
// Every user, account and operator gets its own random 256-bit DEK at creation, stored in
// `data_keys` only wrapped by the keyring's current KEK (docs/design/keys.md). Personal fields
// (e-mail addresses, names, TOTP secrets, later document titles) are AES-256-GCM under the
// owner's DEK with AAD = "table.column:owner-id", so a sealed value cannot be moved to another
// row or column. Destroying the DEK row (crypto-shredding) makes every such field unreadable
// at once. E-mail lookups go through a keyed blind index (HMAC-SHA-256 with the keyring's
// index key), never the plaintext.
//
// Thread-safe: holds no state of its own beyond borrowed references; the Txn passed to each
// call confines it to its transaction.

#include <string>
#include <string_view>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"
#include "sicher/crypto/keyring.h"
#include "sicher/store/store.h"

namespace sicher::auth {

class DataKeys {
 public:
  // Borrows both; they must outlive this object.
  DataKeys(crypto::Keyring& keyring, Random& random) : keyring_(keyring), random_(random) {}

  // Makes a new DEK for `owner_id`, stores it wrapped, returns it. AlreadyExists if present.
  Result<SecretBytes> Create(store::Txn& txn, std::string_view owner_id, Time now);
  // The owner's DEK. NotFound when it was destroyed (the owner's data is gone).
  Result<SecretBytes> Get(store::Txn& txn, std::string_view owner_id);
  // Crypto-shredding: deletes the wrapped DEK. OK if it was already gone.
  Status Destroy(store::Txn& txn, std::string_view owner_id);

  // Seals / opens one field of `owner_id`'s row in `table`.`column`.
  Result<std::string> Seal(const SecretBytes& dek, std::string_view table, std::string_view column,
                           std::string_view owner_id, std::string_view plaintext);
  Result<std::string> Open(const SecretBytes& dek, std::string_view table, std::string_view column,
                           std::string_view owner_id, std::string_view sealed);

  // Blind index of a normalised e-mail address.
  std::string EmailIndex(std::string_view normalized_email) const;

 private:
  crypto::Keyring& keyring_;
  Random& random_;
};

}  // namespace sicher::auth
