#pragma once
// Signed checkpoints of the audit log's Merkle tree: C2SP tlog-checkpoint
// (c2sp.org/tlog-checkpoint) bodies in C2SP signed notes (c2sp.org/signed-note) with Ed25519
// signatures (signature type 0x01), byte-compatible with golang.org/x/mod/sumdb/note, so Go
// witnesses and verifiers accept them.
//
//   body (the signed text)       note
//   -------------------------    -----------------------------------------------------------
//   <origin>\n                   <body>
//   <tree size, decimal>\n       \n
//   <base64 root hash>\n         — <key name> <base64(4-byte key id || 64-byte signature)>\n
//   [<extension line>\n ...]     [more signature lines, from other keys]
//
// The dash is U+2014 EM DASH followed by a space. The key id is the first four bytes (big-endian)
// of SHA-256(key name || "\n" || 0x01 || 32-byte public key). A verifier key is written
// "<name>+<8 lowercase hex key id>+<base64(0x01 || public key)>".
//
// Size bounds, so a hostile note cannot cost much: a note over kMaxNoteBytes, a body of more than
// kMaxCheckpointLines lines, or more than kMaxNoteSignatures signature lines is refused.
//
// Failure: malformed input (a note, body or verifier key that breaks the format) is
// InvalidArgument, with a message starting "malformed note", "malformed checkpoint" or
// "malformed verifier key"; a note with no signature line by the verifier's key, or whose
// signature by that key does not verify, is Unauthenticated ("no signature by <name>+<key id>",
// "signature invalid: ..."). Messages never echo note contents.
//
// Thread-safety: NoteSigner and NoteVerifier are immutable after creation; their const methods
// may be called from several threads at once.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"
#include "sicher/crypto/signing.h"

namespace sicher::audit {

inline constexpr size_t kMaxNoteBytes = size_t{64} * 1024;
inline constexpr size_t kMaxCheckpointLines = 100;
inline constexpr size_t kMaxNoteSignatures = 100;

struct Checkpoint {
  std::string origin;                   // non-empty, one line
  uint64_t size = 0;                    // number of leaves
  std::string root_hash;                // 32 raw bytes: RootHash() of the first `size` leaves
  std::vector<std::string> extensions;  // opaque non-empty lines; usually none

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The checkpoint's note text, ending in "\n". The checkpoint must be valid (ValidateCheckpoint);
// an invalid one is a bug and crashes.
std::string CheckpointBody(const Checkpoint& checkpoint);

// OK if CheckpointBody(checkpoint) would parse back to `checkpoint`: origin and extensions are
// non-empty single lines of UTF-8 without control characters, the root is 32 bytes, and the body
// stays within kMaxCheckpointLines lines. InvalidArgument saying which rule is broken otherwise.
Status ValidateCheckpoint(const Checkpoint& checkpoint);

// Parses a checkpoint body strictly: at least three lines, each ending in "\n", none empty; a
// non-empty origin; a decimal size with no sign, spaces or leading zeros that fits in 64 bits; a
// canonical, padded standard-base64 root of exactly 32 bytes; at most kMaxCheckpointLines lines.
// InvalidArgument("malformed checkpoint: ...") otherwise.
Result<Checkpoint> ParseCheckpointBody(std::string_view body);

// Signs note texts with one Ed25519 key under one key name (for a checkpoint, conventionally the
// log's origin). Movable, not copyable.
class NoteSigner {
 public:
  // InvalidArgument if `name` is not a valid key name: non-empty UTF-8 with no Unicode space and
  // no '+'.
  static Result<NoteSigner> Create(std::string name, crypto::Ed25519PrivateKey key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // "<name>+<key id>+<base64(0x01 || public key)>": what verifiers are configured with.
  std::string VerifierKey() const;

  // The whole signed note: `body`, a blank line, and this key's signature line. `body` must be a
  // valid note text (non-empty, ending in "\n", UTF-8 without control characters other than
  // newline) and the note must stay within kMaxNoteBytes; InvalidArgument otherwise. Internal if
  // signing fails.
  Result<std::string> Sign(std::string_view body) const;

 private:
  NoteSigner(std::string name, crypto::Ed25519PrivateKey key, uint32_t key_id);

  std::string name_;
  crypto::Ed25519PrivateKey key_;
  uint32_t key_id_;
};

// Verifies notes signed by one Ed25519 key. Copyable.
class NoteVerifier {
 public:
  // Parses "<name>+<8 lowercase hex key id>+<base64(0x01 || 32-byte public key)>". The key id must
  // match the name and key. InvalidArgument("malformed verifier key: ...") otherwise.
  static Result<NoteVerifier> Parse(std::string_view verifier_key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  const std::string& public_key() const { return public_key_; }  // 32 raw bytes

  // Checks the note's format and verifies every signature line by this key (same name and key
  // id; lines by other keys are ignored, as the spec requires). Returns the signed text, ending
  // in "\n". Errors as described at the top of this file.
  Result<std::string> VerifyNote(std::string_view note) const;

  // VerifyNote, then ParseCheckpointBody on the verified text. The caller still decides whether
  // the origin is the log it expects.
  Result<Checkpoint> VerifyCheckpoint(std::string_view note) const;

 private:
  NoteVerifier(std::string name, uint32_t key_id, std::string public_key);

  std::string name_;
  uint32_t key_id_;
  std::string public_key_;
};

}  // namespace sicher::audit
