#include "sicher/auth/data_keys.h"

#include "sicher/crypto/aead.h"

namespace sicher::auth {
namespace {
std::string FieldAad(std::string_view table, std::string_view column, std::string_view owner) {
  std::string aad(table);
  aad += '.';
  aad += column;
  aad += ':';
  aad += owner;
  return aad;
}
}  // namespace

Result<SecretBytes> DataKeys::Create(store::Txn& txn, std::string_view owner_id, Time now) {
  SecretBytes dek = crypto::NewDataKey(random_);
  ASSIGN_OR_RETURN(std::string wrapped, keyring_.WrapDek(dek, owner_id));
  ASSIGN_OR_RETURN(uint32_t version, crypto::Keyring::WrappedKekVersion(wrapped));
  RETURN_IF_ERROR(txn.Exec(
      "INSERT INTO data_keys (owner_id, kek_version, wrapped_dek, created_at) VALUES (?, ?, ?, ?)",
      {std::string(owner_id), int64_t{version}, store::Blob{std::move(wrapped)},
       int64_t{now.time_since_epoch().count()}}));
  return dek;
}

Result<SecretBytes> DataKeys::Get(store::Txn& txn, std::string_view owner_id) {
  ASSIGN_OR_RETURN(std::optional<store::Row> row,
                   txn.QueryOne("SELECT wrapped_dek FROM data_keys WHERE owner_id = ?",
                                {std::string(owner_id)}));
  if (!row) return NotFoundError("the data key of this owner no longer exists");
  return keyring_.UnwrapDek(row->GetBlob(0), owner_id);
}

Status DataKeys::Destroy(store::Txn& txn, std::string_view owner_id) {
  return txn.Exec("DELETE FROM data_keys WHERE owner_id = ?", {std::string(owner_id)});
}

Result<std::string> DataKeys::Seal(const SecretBytes& dek, std::string_view table,
                                   std::string_view column, std::string_view owner_id,
                                   std::string_view plaintext) {
  return crypto::AeadSeal(dek, plaintext, FieldAad(table, column, owner_id), random_);
}

Result<std::string> DataKeys::Open(const SecretBytes& dek, std::string_view table,
                                   std::string_view column, std::string_view owner_id,
                                   std::string_view sealed) {
  return crypto::AeadOpen(dek, sealed, FieldAad(table, column, owner_id));
}

std::string DataKeys::EmailIndex(std::string_view normalized_email) const {
  return keyring_.BlindIndex("email", normalized_email);
}

}  // namespace sicher::auth
