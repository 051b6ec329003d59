#pragma once
// Keyring: the versioned key-encryption keys (KEKs) and the blind-index key, held in a 0600 file
// outside the database, and the operations that need them: wrapping account DEKs and computing
// blind indexes. File format, rotation protocol and nonce policy: docs/design/keys.md.
//
// The file is the truth; a Keyring is its in-memory copy. Every mutation (AddVersion,
// DropVersion) re-reads the file, applies the change and writes the whole file atomically
// (WriteFileAtomic, mode 0600) before it returns, so `sicher keys rotate` (a separate process)
// and a running server can share one file. A server learns about a KEK version created after it
// started by Reload(), which UnwrapDek also calls by itself (at most once per second) when it
// meets a version newer than any it knows. Only one process may mutate the file at a time (the
// rotation takes a lock in the database); creation happens once, at first start.
//
// Ownership: keys live in SecretBytes inside the Keyring and are wiped when dropped, reloaded
// or destroyed; they never leave it except as the DEKs the caller unwraps. The Keyring borrows
// `env`, which must outlive it.
//
// Thread-safe: readers (WrapDek, UnwrapDek, BlindIndex, versions) share a std::shared_mutex;
// Reload, AddVersion and DropVersion take it exclusively.
//
// Failure: NotFound when the file or a KEK version is missing; FailedPrecondition when the file
// is readable by group or others (it is refused, not tightened: see keys.md) or an operation is
// not allowed (dropping the current version); DataLoss when the file is corrupt or truncated, or
// a wrapped key is malformed, tampered with, or presented for another account. No message ever
// contains key bytes.

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/env.h"
#include "sicher/base/random.h"
#include "sicher/base/status.h"

namespace sicher::crypto {

inline constexpr size_t kDataKeyBytes = 32;
// Format byte (0x01) || KEK version (4, big-endian) || nonce (12) || ciphertext (32) || tag (16).
inline constexpr size_t kWrappedDekBytes = 1 + 4 + 12 + kDataKeyBytes + 16;
// The largest keyring file Open accepts; anything bigger is DataLoss.
inline constexpr size_t kMaxKeyringFileBytes = 1 << 20;
inline constexpr size_t kMaxKekVersions = 1024;

// A fresh random 256-bit data-encryption key.
SecretBytes NewDataKey(Random& random);

namespace internal {
struct KeyringState;  // keyring.cc: the parsed file
}  // namespace internal

struct KekInfo {
  uint32_t version = 0;
  Time created{};
  bool current = false;
};

class Keyring {
 public:
  // Loads an existing keyring. NotFound if `path` does not exist; FailedPrecondition if it has
  // any group/other permission bit; DataLoss if it is corrupt.
  static Result<std::unique_ptr<Keyring>> Open(Env& env, std::string path);

  // Open, or, if `path` does not exist, create its directory (0700) and a new keyring with KEK
  // version 1 and a blind-index key, written atomically with mode 0600. For the first start of
  // `sicher serve` only: every other caller uses Open, so a lost keyring is never silently
  // replaced by a new one.
  static Result<std::unique_ptr<Keyring>> OpenOrCreate(Env& env, std::string path);

  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;
  ~Keyring();

  const std::string& path() const { return path_; }
  // The version that WrapDek uses; always the highest in the ring.
  uint32_t current_version() const;
  // All versions in the ring, ascending.
  std::vector<uint32_t> versions() const;
  std::vector<KekInfo> keks() const;

  // Wraps a 32-byte DEK for `account_id` (non-empty) under the current KEK with a fresh random
  // nonce: kWrappedDekBytes bytes (keys.md section 4). InvalidArgument on a wrong DEK size or an
  // empty account id.
  Result<std::string> WrapDek(const SecretBytes& dek, std::string_view account_id) const;

  // Unwraps with whichever KEK version the header names. If that version is newer than every
  // version loaded, re-reads the file first (rate-limited). NotFound("KEK version N is not in
  // the keyring") if it is not there; DataLoss if malformed, tampered with, or wrapped for
  // another account id.
  Result<SecretBytes> UnwrapDek(std::string_view wrapped, std::string_view account_id) const;

  // Rotation step 3: unwraps (any version) and wraps again under the current KEK. Errors as
  // UnwrapDek.
  Result<std::string> RewrapDek(std::string_view wrapped, std::string_view account_id) const;

  // The KEK version in a wrapped DEK's header, without any key. DataLoss if malformed.
  static Result<uint32_t> WrappedKekVersion(std::string_view wrapped);

  // Rotation step 1: re-reads the file, adds version max+1 with a fresh random KEK, makes it
  // current and persists the file before returning the new version. On any error the file and
  // this Keyring are unchanged. ResourceExhausted past kMaxKekVersions.
  Result<uint32_t> AddVersion();

  // Rotation step 4: re-reads the file and removes `version` from it and from memory (its key is
  // wiped). FailedPrecondition for the current version; NotFound if absent. The caller must have
  // checked that no wrapped DEK uses it any more.
  Status DropVersion(uint32_t version);

  // Replaces the in-memory keys with the file's. On error (missing, loose mode, corrupt) the
  // keys already loaded are kept and the error is returned.
  Status Reload();

  // hex(HMAC-SHA256(blind-index key, domain || 0x00 || value)): see blind_index.h.
  std::string BlindIndex(std::string_view domain, std::string_view value) const;

 private:
  using State = internal::KeyringState;

  Keyring(Env& env, std::string path, std::unique_ptr<State> state);
  // Reads and parses the file at path_ (mode and size checked).
  Result<std::unique_ptr<State>> ReadState() const;
  Status WriteState(const State& state) const;
  // UnwrapDek's refresh when it meets an unknown newer version; rate-limited.
  void MaybeReloadFor(uint32_t version) const;

  Env& env_;
  const std::string path_;

  // The file is the truth and state_ its cached copy, so reloading it from a const method (as
  // UnwrapDek does) does not change the logical state of the Keyring.
  mutable std::shared_mutex mu_;
  mutable std::unique_ptr<State> state_;    // guarded by mu_
  mutable bool reloaded_for_miss_ = false;  // guarded by mu_
  mutable MonoTime last_miss_reload_{};     // guarded by mu_
};

}  // namespace sicher::crypto
