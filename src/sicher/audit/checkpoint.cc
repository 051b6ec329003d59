#include "sicher/audit/checkpoint.h"

#include <optional>
#include <utility>

#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"
#include "sicher/base/check.h"
#include "sicher/crypto/hash.h"

namespace sicher::audit {
namespace {

// Signature type 0x01: Ed25519 (c2sp.org/signed-note).
constexpr char kEd25519Type = '\x01';
// U+2014 EM DASH and a space: how every signature line starts.
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";

Status MalformedNote(std::string_view detail) {
  return InvalidArgumentError("malformed note: " + std::string(detail));
}
Status MalformedCheckpoint(std::string_view detail) {
  return InvalidArgumentError("malformed checkpoint: " + std::string(detail));
}
Status MalformedVerifierKey(std::string_view detail) {
  return InvalidArgumentError("malformed verifier key: " + std::string(detail));
}

// Decodes the UTF-8 sequence at s[*i] into *code_point and advances *i. Strict: false for
// overlong forms, surrogates, code points past U+10FFFF and truncated or stray bytes.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* code_point) {
  const auto c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    *code_point = c;
    ++*i;
    return true;
  }
  size_t continuation = 0;  // bytes after the lead byte
  uint32_t min = 0;         // the smallest code point that needs this many
  if ((c & 0xE0) == 0xC0) {
    continuation = 1;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    continuation = 2;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    continuation = 3;
    min = 0x10000;
  } else {
    return false;
  }
  uint32_t cp = c & (0x3Fu >> continuation);
  if (s.size() - *i <= continuation) return false;
  for (size_t k = 1; k <= continuation; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *code_point = cp;
  *i += continuation + 1;
  return true;
}

// Go's unicode.IsSpace, which golang.org/x/mod/sumdb/note uses to validate key names.
bool IsUnicodeSpace(uint32_t c) {
  if (c == ' ' || (c >= '\t' && c <= '\r')) return true;
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || c == 0x2028 || c == 0x2029 || c == 0x202F ||
      c == 0x205F || c == 0x3000) {
    return true;
  }
  return c >= 0x2000 && c <= 0x200A;
}

// Why `text` is not allowed in a signed note (valid UTF-8, no control characters but newline),
// or nullopt if it is.
std::optional<std::string> TextProblem(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    uint32_t c = 0;
    if (!NextCodePoint(text, &i, &c)) return "not valid UTF-8";
    if (c < 0x20 && c != '\n') return "contains a control character";
  }
  return std::nullopt;
}

// Key names (c2sp.org/signed-note): non-empty, no Unicode spaces, no '+'. Control characters
// are refused too: a note may not contain them.
bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  size_t i = 0;
  while (i < name.size()) {
    uint32_t c = 0;
    if (!NextCodePoint(name, &i, &c)) return false;
    if (c < 0x20 || c == '+' || IsUnicodeSpace(c)) return false;
  }
  return true;
}

uint32_t KeyId(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input += '\n';
  input += kEd25519Type;
  input.append(public_key);
  const std::string digest = crypto::Sha256(input);
  uint32_t id = 0;
  for (int k = 0; k < 4; ++k) id = (id << 8) | static_cast<unsigned char>(digest[k]);
  return id;
}

std::string KeyIdHex(uint32_t id) {
  std::string bytes(4, '\0');
  for (int k = 0; k < 4; ++k) bytes[k] = static_cast<char>(id >> (24 - 8 * k));
  return HexEncode(bytes);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Splits `text`, which ends in '\n', into its lines (without the newlines). Stops early and
// returns false once there are more than `max_lines`.
bool SplitLines(std::string_view text, size_t max_lines, std::vector<std::string_view>* lines) {
  while (!text.empty()) {
    if (lines->size() == max_lines) return false;
    const size_t end = text.find('\n');
    lines->push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return true;
}

// The decimal tree size: digits only, no leading zeros (except "0"), at most 2^64 - 1.
std::optional<uint64_t> ParseSize(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string BodyOf(const Checkpoint& checkpoint) {
  std::string body = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     Base64Encode(checkpoint.root_hash) + "\n";
  for (const std::string& line : checkpoint.extensions) body += line + "\n";
  return body;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Checkpoint bodies.

Result<Checkpoint> ParseCheckpointBody(std::string_view body) {
  if (body.size() > kMaxNoteBytes) return MalformedCheckpoint("larger than 64 KiB");
  if (body.empty() || body.back() != '\n') return MalformedCheckpoint("does not end in a newline");
  if (std::optional<std::string> problem = TextProblem(body)) return MalformedCheckpoint(*problem);
  std::vector<std::string_view> lines;
  if (!SplitLines(body, kMaxCheckpointLines, &lines)) {
    return MalformedCheckpoint("more than " + std::to_string(kMaxCheckpointLines) + " lines");
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) return MalformedCheckpoint("line " + std::to_string(i + 1) + " is empty");
  }
  if (lines.size() < 3) {
    return MalformedCheckpoint("fewer than three lines (origin, tree size, root hash)");
  }

  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  std::optional<uint64_t> size = ParseSize(lines[1]);
  if (!size) {
    return MalformedCheckpoint(
        "line 2 is not a tree size (decimal digits, no leading zeros, at most 2^64 - 1)");
  }
  checkpoint.size = *size;
  // Base64Decode accepts only padded, canonical standard base64 (no URL-safe alphabet, no stray
  // bits), so each root hash has exactly one accepted spelling.
  std::optional<std::string> root = Base64Decode(lines[2]);
  if (!root || root->size() != kMerkleHashBytes) {
    return MalformedCheckpoint("line 3 is not a base64 32-byte root hash");
  }
  checkpoint.root_hash = std::move(*root);
  for (size_t i = 3; i < lines.size(); ++i) checkpoint.extensions.emplace_back(lines[i]);
  return checkpoint;
}

Status ValidateCheckpoint(const Checkpoint& checkpoint) {
  // Newlines inside a field would still parse, as different lines: refuse them first.
  if (checkpoint.origin.find('\n') != std::string::npos) {
    return InvalidArgumentError("checkpoint origin contains a newline");
  }
  for (const std::string& line : checkpoint.extensions) {
    if (line.find('\n') != std::string::npos) {
      return InvalidArgumentError("checkpoint extension line contains a newline");
    }
  }
  if (checkpoint.root_hash.size() != kMerkleHashBytes) {
    return InvalidArgumentError("checkpoint root hash is " +
                                std::to_string(checkpoint.root_hash.size()) + " bytes, not 32");
  }
  // Everything else is exactly what the parser enforces.
  return ParseCheckpointBody(BodyOf(checkpoint)).status();
}

std::string CheckpointBody(const Checkpoint& checkpoint) {
  CHECK_OK(ValidateCheckpoint(checkpoint));
  return BodyOf(checkpoint);
}

// ---------------------------------------------------------------------------------------------
// Signing.

NoteSigner::NoteSigner(std::string name, crypto::Ed25519PrivateKey key, uint32_t key_id)
    : name_(std::move(name)), key_(std::move(key)), key_id_(key_id) {}

Result<NoteSigner> NoteSigner::Create(std::string name, crypto::Ed25519PrivateKey key) {
  if (!IsValidKeyName(name)) {
    return InvalidArgumentError(
        "invalid note key name: must be non-empty UTF-8 without spaces, '+' or control "
        "characters");
  }
  const uint32_t key_id = KeyId(name, key.PublicKey());
  return NoteSigner(std::move(name), std::move(key), key_id);
}

std::string NoteSigner::VerifierKey() const {
  return name_ + "+" + KeyIdHex(key_id_) + "+" +
         Base64Encode(std::string(1, kEd25519Type) + key_.PublicKey());
}

Result<std::string> NoteSigner::Sign(std::string_view body) const {
  if (body.empty() || body.back() != '\n') {
    return InvalidArgumentError("note text must end in a newline");
  }
  if (std::optional<std::string> problem = TextProblem(body)) {
    return InvalidArgumentError("note text " + *problem);
  }
  ASSIGN_OR_RETURN(std::string signature, key_.Sign(body));
  std::string blob(4, '\0');
  for (int k = 0; k < 4; ++k) blob[k] = static_cast<char>(key_id_ >> (24 - 8 * k));
  blob += signature;

  std::string note(body);
  note += '\n';
  note += kSignaturePrefix;
  note += name_;
  note += ' ';
  note += Base64Encode(blob);
  note += '\n';
  if (note.size() > kMaxNoteBytes) {
    return InvalidArgumentError("signed note would be larger than 64 KiB");
  }
  return note;
}

// ---------------------------------------------------------------------------------------------
// Verifying.

NoteVerifier::NoteVerifier(std::string name, uint32_t key_id, std::string public_key)
    : name_(std::move(name)), key_id_(key_id), public_key_(std::move(public_key)) {}

Result<NoteVerifier> NoteVerifier::Parse(std::string_view verifier_key) {
  // The base64 key may itself contain '+', so split at the first two only.
  const size_t plus1 = verifier_key.find('+');
  if (plus1 == std::string_view::npos) {
    return MalformedVerifierKey("expected <name>+<key id>+<key>");
  }
  const std::string_view name = verifier_key.substr(0, plus1);
  std::string_view rest = verifier_key.substr(plus1 + 1);
  const size_t plus2 = rest.find('+');
  if (plus2 == std::string_view::npos) {
    return MalformedVerifierKey("expected <name>+<key id>+<key>");
  }
  const std::string_view id_hex = rest.substr(0, plus2);
  const std::string_view key_base64 = rest.substr(plus2 + 1);

  if (!IsValidKeyName(name)) return MalformedVerifierKey("invalid key name");
  if (id_hex.size() != 8 || !IsLowerHex(id_hex)) {
    return MalformedVerifierKey("key id is not 8 lowercase hex digits");
  }
  std::optional<std::string> key = Base64Decode(key_base64);
  if (!key || key->empty()) return MalformedVerifierKey("key is not base64");
  if ((*key)[0] != kEd25519Type) {
    return MalformedVerifierKey("unsupported signature type (only Ed25519, 0x01)");
  }
  if (key->size() != 1 + crypto::kEd25519PublicKeyBytes) {
    return MalformedVerifierKey("Ed25519 public key is not 32 bytes");
  }
  std::string public_key = key->substr(1);
  const uint32_t key_id = KeyId(name, public_key);
  if (KeyIdHex(key_id) != id_hex) {
    return MalformedVerifierKey("key id does not match the name and key");
  }
  return NoteVerifier(std::string(name), key_id, std::move(public_key));
}

Result<std::string> NoteVerifier::VerifyNote(std::string_view note) const {
  if (note.size() > kMaxNoteBytes) return MalformedNote("larger than 64 KiB");
  if (std::optional<std::string> problem = TextProblem(note)) return MalformedNote(*problem);
  if (note.empty() || note.back() != '\n') return MalformedNote("does not end in a newline");
  // The text ends at the last blank line: it may contain blank lines itself, signature lines
  // cannot.
  const size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) {
    return MalformedNote("no blank line between the text and the signatures");
  }
  const std::string_view text = note.substr(0, blank + 1);
  std::vector<std::string_view> lines;
  if (!SplitLines(note.substr(blank + 2), kMaxNoteSignatures, &lines)) {
    return MalformedNote("more than " + std::to_string(kMaxNoteSignatures) + " signatures");
  }
  if (lines.empty()) return MalformedNote("no signature lines");

  // Check every line's format before verifying anything, so a malformed note is reported as
  // such whoever signed it.
  std::vector<std::string> ours;  // signatures by this key, without the key id
  for (std::string_view line : lines) {
    if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
      return MalformedNote("a line after the blank line is not a signature line");
    }
    line.remove_prefix(kSignaturePrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return MalformedNote("signature line has no signature");
    const std::string_view name = line.substr(0, space);
    if (!IsValidKeyName(name)) return MalformedNote("signature line has an invalid key name");
    std::optional<std::string> blob = Base64Decode(line.substr(space + 1));
    if (!blob || blob->size() < 5) {
      return MalformedNote("signature line's signature is not base64 of a key id and signature");
    }
    uint32_t id = 0;
    for (int k = 0; k < 4; ++k) id = (id << 8) | static_cast<unsigned char>((*blob)[k]);
    if (name == name_ && id == key_id_) ours.push_back(blob->substr(4));
  }

  const std::string key = name_ + "+" + KeyIdHex(key_id_);
  if (ours.empty()) return UnauthenticatedError("no signature by " + key);
  for (const std::string& signature : ours) {
    if (!crypto::VerifyEd25519(public_key_, text, signature).ok()) {
      return UnauthenticatedError("signature invalid: the signature by " + key +
                                  " does not verify");
    }
  }
  return std::string(text);
}

Result<Checkpoint> NoteVerifier::VerifyCheckpoint(std::string_view note) const {
  ASSIGN_OR_RETURN(std::string text, VerifyNote(note));
  return ParseCheckpointBody(text);
}

}  // namespace sicher::audit
