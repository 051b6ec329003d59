#pragma once
// Per-owner data-encryption keys (DEKs), the personal fields sealed under them, and the KEK
// rotation that re-wraps them.
//
// Every user, account and operator gets its own random 256-bit DEK at creation, stored in
// `data_keys` only wrapped by the keyring's current KEK (docs/design/keys.md). Personal fields
// (e-mail addresses, names, TOTP secrets, later document titles) are AES-256-GCM under the
// owner's DEK with AAD = "table.column:owner-id", so a sealed value cannot be moved to another
// row or column. Destroying the DEK row (crypto-shredding) makes every such field unreadable
// at once. E-mail lookups go through a keyed blind index (HMAC-SHA-256 with the keyring's
// index key), never the plaintext.
//
// Rotation (keys.md section 6, `sicher keys rotate`, RotateKeks below) runs in a second process
// while the server keeps serving. Two things keep the server's Keyring, loaded at start, in
// step with it without a restart:
//   - the fence: key_state.min_kek_version (migration 101). Create reads it in its own write
//     transaction; if the keyring's current version is older it calls Keyring::Reload() and, if
//     the file still lacks that version, fails Unavailable (retryable). So no DEK is ever
//     inserted under a KEK version that a running rotation has already swept past.
//   - Get: a row re-wrapped under a version newer than the keyring knows makes UnwrapDek re-read
//     the file (rate-limited); if that was rate-limited and the database's fence vouches for the
//     version, Get forces a Reload() and retries once.
//
// Thread-safe: holds no state of its own beyond borrowed references; the Txn passed to each
// call confines it to its transaction. The static functions take their own transactions.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/env.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"
#include "sicher/crypto/aead.h"
#include "sicher/crypto/keyring.h"
#include "sicher/events/bus.h"
#include "sicher/store/store.h"

namespace sicher::keys {

struct RewrapOptions {
  // Rows re-wrapped per write transaction (>= 1): short transactions keep the server's writes
  // flowing while a large table is re-wrapped.
  int batch_size = 100;
  // Optional: runs first inside every batch's write transaction; an error stops the re-wrap
  // with that error (the rotation renews and checks its lease here).
  std::function<Status(store::Txn&)> in_batch;
};

class DataKeys {
 public:
  // Borrows both; they must outlive this object.
  DataKeys(crypto::Keyring& keyring, Random& random) : keyring_(keyring), random_(random) {}

  // Makes a new DEK for `owner_id`, stores it wrapped under the current KEK, returns it.
  // AlreadyExists if present. `txn` must be a write transaction. Honours the rotation fence:
  // if key_state.min_kek_version is newer than the keyring's current version, reloads the
  // keyring file first; Unavailable (retry) if the file does not have that version either.
  Result<SecretBytes> Create(store::Txn& txn, std::string_view owner_id, Time now);
  // The owner's DEK. NotFound when it was destroyed (the owner's data is gone); NotFound
  // ("KEK version N is not in the keyring") if its KEK was dropped; DataLoss if tampered with.
  Result<SecretBytes> Get(store::Txn& txn, std::string_view owner_id);
  // Get in two steps, for a caller that keeps a key derived from a DEK for a while (the audit
  // log's sealing contexts, for one write batch): GetWrapped reads the row (NotFound once
  // destroyed), and only a changed row (a new key, a KEK rotation) needs Unwrap, which handles
  // rotation as Get does. See ChangeEpoch for when the row need not be read again.
  Result<std::string> GetWrapped(store::Txn& txn, std::string_view owner_id);
  // Counts every change this process makes to data_keys (a key created, destroyed or
  // re-wrapped; counted before the statement runs, so whether or not it commits). A cache of
  // what a row held may skip reading it again only while this is unchanged AND it holds the
  // database's write lock (inside one write batch: no other process can change a row then),
  // and must drop what it learned in a closure that was rolled back.
  static uint64_t ChangeEpoch() { return change_epoch_.load(); }
  Result<SecretBytes> Unwrap(store::Txn& txn, std::string_view owner_id, std::string_view wrapped);
  // Crypto-shredding without the bool: DestroyOwnerKey, OK if it was already gone.
  Status Destroy(store::Txn& txn, std::string_view owner_id);

  // Crypto-shredding: one operation, its own audit event.
  //
  // Deletes `owner_id`'s wrapped DEK inside the caller's transaction, so the shred commits
  // atomically with whatever else the caller deletes (the caller decides the transaction).
  // Every byte sealed under that DEK (fields, document chunks, backups' copies of them once
  // the backups holding the wrapped DEK expire) becomes unreadable at once; SQLite's
  // secure_delete zeroes the freed page. Returns whether a key existed. It cannot publish by
  // itself (the transaction may still roll back): after a commit in which it returned true,
  // the caller publishes events::DataKeyDestroyed{owner_id, reason} — PublishDestroyed does it.
  static Result<bool> DestroyOwnerKey(store::Txn& txn, std::string_view owner_id);
  // The audit event of a committed DestroyOwnerKey that returned true.
  static void PublishDestroyed(events::Bus& bus, std::string_view owner_id,
                               std::string_view reason);
  // The whole operation in its own write transaction: DestroyOwnerKey, commit, then (if a key
  // existed) PublishDestroyed. Returns whether a key existed.
  static Result<bool> ShredOwnerKey(store::Store& store, events::Bus& bus,
                                    std::string_view owner_id, std::string_view reason);

  // Seals / opens one field of `owner_id`'s row in `table`.`column`.
  Result<std::string> Seal(const SecretBytes& dek, std::string_view table, std::string_view column,
                           std::string_view owner_id, std::string_view plaintext);
  // Seal with a context made once for the DEK (crypto::AeadContext::Create(dek)): the same
  // output as Seal.
  Result<std::string> Seal(crypto::AeadContext& ctx, std::string_view table,
                           std::string_view column, std::string_view owner_id,
                           std::string_view plaintext);
  Result<std::string> Open(const SecretBytes& dek, std::string_view table, std::string_view column,
                           std::string_view owner_id, std::string_view sealed);

  // Blind index of a normalised e-mail address.
  std::string EmailIndex(std::string_view normalized_email) const;

  // --- Rotation (keys.md section 6) ---------------------------------------------------------

  // Rotation step 3: re-wraps, under `keyring`'s current version, every DEK wrapped under an
  // older one. Online: each batch is read in a read transaction, re-wrapped outside any
  // transaction, and written in its own short write transaction with compare-and-set
  // (UPDATE ... WHERE owner_id = ? AND kek_version = ? AND wrapped_dek = ?), so a concurrent
  // Create or Destroy is never clobbered (a destroyed key stays destroyed). Repeats until no
  // row is older (Aborted if rows keep changing under it for several passes). Returns the
  // number of rows re-wrapped. A row that does not unwrap (DataLoss, or NotFound for a KEK
  // already missing) stops it with that error, naming the owner id: rotation then drops nothing.
  static Result<int64_t> RewrapAll(store::Store& store, const crypto::Keyring& keyring,
                                   const RewrapOptions& options = {});
  // Number of wrapped DEKs per KEK version (versions with none are absent).
  static Result<std::map<uint32_t, int64_t>> CountByVersion(store::Store& store);
  static Result<std::map<uint32_t, int64_t>> CountByVersion(store::Txn& txn);
  // key_state.min_kek_version: the fence. 0 before the first rotation.
  static Result<uint32_t> MinKekVersion(store::Txn& txn);

 private:
  crypto::Keyring& keyring_;
  Random& random_;
  static std::atomic<uint64_t> change_epoch_;
};

struct RotationOptions {
  RewrapOptions rewrap;
  // How long a rotation's lock lasts without being renewed (it is renewed by every batch). A
  // rotation that crashed blocks the next one until then.
  Duration lease = std::chrono::minutes(10);
  // Wait between the last re-wrap and dropping old KEKs, so that a read transaction that began
  // before its row was re-wrapped (store transactions are short) has ended before the server
  // can lose the old KEK on its next reload.
  Duration drop_grace = std::chrono::seconds(2);
};

struct RotationReport {
  uint32_t new_version = 0;
  int64_t rewrapped = 0;
  std::vector<uint32_t> dropped;
  std::map<uint32_t, int64_t> keys_by_version;  // after the re-wrap
};

// `sicher keys rotate`: takes the rotation lease in key_state (FailedPrecondition if another
// rotation holds it), then (a) keyring.AddVersion() (the file is written first), (b) raises the
// fence key_state.min_kek_version to the new version, (c) RewrapAll, (d) CountByVersion and
// keyring.DropVersion for every older version no row uses (after drop_grace), and releases the
// lease. `progress` (may be empty) receives one line per step: "added KEK version 2",
// "re-wrapped 5 data keys", "dropped KEK version 1". Safe to re-run after a crash at any point.
// `keyring` must be opened with Keyring::Open (never created) by the caller.
Result<RotationReport> RotateKeks(store::Store& store, crypto::Keyring& keyring, Env& env,
                                  const std::function<void(const std::string&)>& progress,
                                  const RotationOptions& options = {});

}  // namespace sicher::keys
