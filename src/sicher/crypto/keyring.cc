#include "sicher/crypto/keyring.h"

#include <fmt/format.h>

#include <limits>
#include <map>
#include <mutex>

#include "sicher/base/check.h"
#include "sicher/crypto/aead.h"
#include "sicher/crypto/blind_index.h"
#include "sicher/crypto/hash.h"

namespace sicher::crypto {

namespace internal {
struct KeyringState {
  struct Kek {
    Time created{};
    SecretBytes key;
  };
  uint32_t current = 0;
  SecretBytes blind_index_key;
  std::map<uint32_t, Kek> keks;  // by version
};
}  // namespace internal

namespace {

using State = internal::KeyringState;

constexpr std::string_view kMagicPrefix = "sicher-keyring ";
constexpr std::string_view kMagicLine = "sicher-keyring 1";
constexpr std::string_view kDekAadLabel = "sicher-dek-v1";
constexpr uint8_t kWrappedDekFormat = 0x01;
constexpr size_t kKeyBytes = 32;
constexpr uint32_t kFileMode = 0600;
constexpr std::chrono::seconds kMissReloadInterval{1};

// Holds a string that contained key material and wipes it when it goes out of scope.
class WipedString {
 public:
  WipedString() = default;
  explicit WipedString(std::string s) : s_(std::move(s)) {}
  ~WipedString() { SecureWipe(s_.data(), s_.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  std::string& get() { return s_; }

 private:
  std::string s_;
};

SecretBytes RandomKey(Random& random) {
  SecretBytes key(kKeyBytes);
  random.Fill(key.span());
  return key;
}

// Strict decimal uint32 >= 1: digits only, no sign, no leading zero.
bool ParseVersion(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 10 || text[0] == '0') return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > std::numeric_limits<uint32_t>::max()) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

// Decodes base64 of exactly kKeyBytes into a SecretBytes; the decoded temporary is wiped.
bool ParseKey(std::string_view text, SecretBytes* out) {
  std::optional<std::string> decoded = Base64Decode(text);
  if (!decoded) return false;
  WipedString bytes(std::move(*decoded));
  if (bytes.get().size() != kKeyBytes) return false;
  *out = SecretBytes(bytes.get());
  return true;
}

// Splits `line` at single spaces. Returns false on empty fields (double or edge spaces).
bool SplitFields(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t start = 0;
  while (true) {
    const size_t space = line.find(' ', start);
    const std::string_view field = line.substr(start, space - start);
    if (field.empty()) return false;
    fields->push_back(field);
    if (space == std::string_view::npos) return true;
    start = space + 1;
  }
}

Result<std::unique_ptr<State>> Parse(std::string_view text, const std::string& path) {
  auto corrupt = [&](std::string_view what) {
    return DataLossError(fmt::format("keyring {} is corrupt: {}", path, what));
  };
  if (text.size() > kMaxKeyringFileBytes) return corrupt("file too large");
  if (text.empty()) return corrupt("file is empty");
  if (!text.starts_with(kMagicPrefix)) {
    return DataLossError(fmt::format("{} is not a sicher keyring", path));
  }
  if (text.back() != '\n') return corrupt("no final newline (truncated?)");

  // The trailer: "sha256 <hex>\n" over every byte before it.
  const std::string_view without_final_lf = text.substr(0, text.size() - 1);
  const size_t last_lf = without_final_lf.rfind('\n');
  if (last_lf == std::string_view::npos) return corrupt("missing checksum line (truncated?)");
  const std::string_view body = text.substr(0, last_lf + 1);
  const std::string_view trailer = without_final_lf.substr(last_lf + 1);
  if (!trailer.starts_with("sha256 ")) return corrupt("missing checksum line (truncated?)");
  const std::string expected = HexEncode(Sha256(body));
  if (!ConstantTimeEquals(trailer.substr(7), expected)) return corrupt("checksum mismatch");

  auto state = std::make_unique<State>();
  bool have_current = false;
  bool have_blind_index = false;
  std::vector<std::string_view> fields;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t lf = body.find('\n', pos);  // body ends with '\n'
    const std::string_view line = body.substr(pos, lf - pos);
    pos = lf + 1;
    ++line_no;
    auto bad = [&](std::string_view what) {
      return corrupt(fmt::format("line {}: {}", line_no, what));
    };
    if (!SplitFields(line, &fields)) return bad("malformed line");
    if (line_no == 1) {
      if (line != kMagicLine) {
        return DataLossError(fmt::format("keyring {}: unsupported format version", path));
      }
    } else if (line_no == 2) {
      if (fields.size() != 2 || fields[0] != "current" ||
          !ParseVersion(fields[1], &state->current)) {
        return bad("expected 'current <version>'");
      }
      have_current = true;
    } else if (line_no == 3) {
      if (fields.size() != 2 || fields[0] != "blind-index" ||
          !ParseKey(fields[1], &state->blind_index_key)) {
        return bad("expected 'blind-index <32-byte key in base64>'");
      }
      have_blind_index = true;
    } else {
      uint32_t version = 0;
      State::Kek kek;
      if (fields.size() != 4 || fields[0] != "kek" || !ParseVersion(fields[1], &version)) {
        return bad("expected 'kek <version> <created> <key>'");
      }
      if (!ParseRfc3339(fields[2], &kek.created)) return bad("bad creation time");
      if (!ParseKey(fields[3], &kek.key)) return bad("bad key (must be 32 bytes in base64)");
      if (!state->keks.empty() && version <= state->keks.rbegin()->first) {
        return bad("KEK versions must be ascending and unique");
      }
      if (state->keks.size() >= kMaxKekVersions) return bad("too many KEK versions");
      state->keks.emplace(version, std::move(kek));
    }
  }
  if (!have_current || !have_blind_index || state->keks.empty()) {
    return corrupt("incomplete (needs current, blind-index and at least one kek line)");
  }
  if (state->keks.rbegin()->first != state->current) {
    return corrupt("the current version must be the highest KEK version");
  }
  return state;
}

// The file text; the caller wipes it.
std::string Serialize(const State& state) {
  std::string out;
  out.reserve(128 + state.keks.size() * 96);
  out.append(kMagicLine).append("\n");
  out.append(fmt::format("current {}\n", state.current));
  {
    WipedString b64(Base64Encode(state.blind_index_key.view()));
    out.append("blind-index ").append(b64.get()).append("\n");
  }
  for (const auto& [version, kek] : state.keks) {
    WipedString b64(Base64Encode(kek.key.view()));
    out.append(fmt::format("kek {} {} ", version, FormatRfc3339(kek.created)));
    out.append(b64.get()).append("\n");
  }
  const std::string checksum = HexEncode(Sha256(out));
  out.append("sha256 ").append(checksum).append("\n");
  return out;
}

void AppendBigEndian32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::string DekAad(std::string_view account_id, uint32_t version) {
  std::string aad(kDekAadLabel);
  aad.append(account_id);
  AppendBigEndian32(aad, version);
  return aad;
}

Result<std::string> Wrap(const State::Kek& kek, uint32_t version, const SecretBytes& dek,
                         std::string_view account_id, Random& random) {
  if (dek.size() != kDataKeyBytes) {
    return InvalidArgumentError(fmt::format("a DEK must be {} bytes", kDataKeyBytes));
  }
  if (account_id.empty()) return InvalidArgumentError("wrapping a DEK needs an account id");
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(kek.key));
  std::string out;
  out.reserve(kWrappedDekBytes);
  out.push_back(static_cast<char>(kWrappedDekFormat));
  AppendBigEndian32(out, version);
  out.resize(kWrappedDekBytes);
  std::span<uint8_t> bytes = AsWritableBytes(out);
  const std::span<uint8_t> nonce = bytes.subspan(5, kAeadNonceBytes);
  random.Fill(nonce);
  const std::string aad = DekAad(account_id, version);
  RETURN_IF_ERROR(ctx.Seal(nonce, std::span<const uint8_t>(dek.data(), dek.size()), AsBytes(aad),
                           bytes.subspan(5 + kAeadNonceBytes)));
  return out;
}

}  // namespace

SecretBytes NewDataKey(Random& random) { return RandomKey(random); }

Keyring::Keyring(Env& env, std::string path, std::unique_ptr<State> state)
    : env_(env), path_(std::move(path)), state_(std::move(state)) {}

Keyring::~Keyring() = default;

Result<std::unique_ptr<Keyring>> Keyring::Open(Env& env, std::string path) {
  // ReadState needs a Keyring only for env_ and path_; build it empty and fill it.
  std::unique_ptr<Keyring> keyring(new Keyring(env, std::move(path), nullptr));
  ASSIGN_OR_RETURN(keyring->state_, keyring->ReadState());
  return keyring;
}

Result<std::unique_ptr<Keyring>> Keyring::OpenOrCreate(Env& env, std::string path) {
  if (env.fs.Exists(path)) return Open(env, std::move(path));
  RETURN_IF_ERROR(env.fs.CreateDirs(DirName(path), 0700)
                      .WithContext(fmt::format("creating the keyring directory for {}", path)));
  State state;
  state.current = 1;
  state.blind_index_key = RandomKey(env.random);
  state.keks.emplace(1, State::Kek{env.clock.Now(), RandomKey(env.random)});
  std::unique_ptr<Keyring> keyring(new Keyring(env, std::move(path), nullptr));
  RETURN_IF_ERROR(keyring->WriteState(state));
  // Read back what is on disk: it checks the write, and the file is the truth.
  ASSIGN_OR_RETURN(keyring->state_, keyring->ReadState());
  return keyring;
}

Result<std::unique_ptr<State>> Keyring::ReadState() const {
  Result<FileInfo> info = env_.fs.Stat(path_);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) {
      return NotFoundError(fmt::format("keyring {} does not exist", path_));
    }
    return info.status().WithContext(fmt::format("keyring {}", path_));
  }
  if (info->is_directory) return FailedPreconditionError(fmt::format("{} is a directory", path_));
  if ((info->mode & 077) != 0) {
    return FailedPreconditionError(
        fmt::format("keyring {} is accessible by group or others (mode {:04o}); chmod 600 it "
                    "and check who may have read it",
                    path_, info->mode & 07777));
  }
  if (info->size > kMaxKeyringFileBytes) {
    return DataLossError(fmt::format("keyring {} is corrupt: file too large", path_));
  }
  Result<std::string> read = env_.fs.ReadFile(path_);
  if (!read.ok()) return read.status().WithContext(fmt::format("reading keyring {}", path_));
  WipedString text(std::move(read).value());
  return Parse(text.get(), path_);
}

Status Keyring::WriteState(const State& state) const {
  WipedString text(Serialize(state));
  return env_.fs.WriteFileAtomic(path_, text.get(), kFileMode)
      .WithContext(fmt::format("writing keyring {}", path_));
}

uint32_t Keyring::current_version() const {
  std::shared_lock lock(mu_);
  return state_->current;
}

std::vector<uint32_t> Keyring::versions() const {
  std::shared_lock lock(mu_);
  std::vector<uint32_t> out;
  for (const auto& entry : state_->keks) out.push_back(entry.first);
  return out;
}

std::vector<KekInfo> Keyring::keks() const {
  std::shared_lock lock(mu_);
  std::vector<KekInfo> out;
  for (const auto& [version, kek] : state_->keks) {
    out.push_back({version, kek.created, version == state_->current});
  }
  return out;
}

Result<std::string> Keyring::WrapDek(const SecretBytes& dek, std::string_view account_id) const {
  std::shared_lock lock(mu_);
  const uint32_t version = state_->current;
  const auto it = state_->keks.find(version);
  CHECK(it != state_->keks.end());  // Parse and AddVersion keep the current version in the ring
  return Wrap(it->second, version, dek, account_id, env_.random);
}

Result<uint32_t> Keyring::WrappedKekVersion(std::string_view wrapped) {
  if (wrapped.size() != kWrappedDekBytes || static_cast<uint8_t>(wrapped[0]) != kWrappedDekFormat) {
    return DataLossError("malformed wrapped key");
  }
  uint32_t version = 0;
  for (size_t i = 1; i <= 4; ++i) version = (version << 8) | static_cast<uint8_t>(wrapped[i]);
  return version;
}

void Keyring::MaybeReloadFor(uint32_t version) const {
  std::unique_lock lock(mu_);
  if (state_->keks.contains(version)) return;  // another thread reloaded meanwhile
  const MonoTime now = env_.clock.MonoNow();
  if (reloaded_for_miss_ && now - last_miss_reload_ < kMissReloadInterval) return;
  reloaded_for_miss_ = true;
  last_miss_reload_ = now;
  Result<std::unique_ptr<State>> fresh = ReadState();
  if (fresh.ok()) state_ = std::move(fresh).value();
}

Result<SecretBytes> Keyring::UnwrapDek(std::string_view wrapped,
                                       std::string_view account_id) const {
  ASSIGN_OR_RETURN(const uint32_t version, WrappedKekVersion(wrapped));
  bool newer = false;
  {
    std::shared_lock lock(mu_);
    newer = version > state_->current;
  }
  if (newer) MaybeReloadFor(version);

  std::shared_lock lock(mu_);
  auto it = state_->keks.find(version);
  if (it == state_->keks.end()) {
    return NotFoundError(fmt::format("KEK version {} is not in the keyring", version));
  }
  ASSIGN_OR_RETURN(AeadContext ctx, AeadContext::Create(it->second.key));
  lock.unlock();  // ctx holds its own copy of the key schedule

  const std::span<const uint8_t> bytes = AsBytes(wrapped);
  const std::string aad = DekAad(account_id, version);
  SecretBytes dek(kDataKeyBytes);
  const Status s = ctx.Open(bytes.subspan(5, kAeadNonceBytes), bytes.subspan(5 + kAeadNonceBytes),
                            AsBytes(aad), dek.span());
  if (!s.ok()) {
    if (s.code() == StatusCode::kDataLoss)
      return DataLossError("wrapped key failed authentication");
    return s;
  }
  return dek;
}

Result<std::string> Keyring::RewrapDek(std::string_view wrapped,
                                       std::string_view account_id) const {
  ASSIGN_OR_RETURN(SecretBytes dek, UnwrapDek(wrapped, account_id));
  return WrapDek(dek, account_id);
}

Result<uint32_t> Keyring::AddVersion() {
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<State> next, ReadState());
  if (next->keks.size() >= kMaxKekVersions) {
    return ResourceExhaustedError(
        fmt::format("keyring {} already holds {} KEK versions; drop unused ones first", path_,
                    kMaxKekVersions));
  }
  const uint32_t highest = next->keks.rbegin()->first;
  if (highest == std::numeric_limits<uint32_t>::max()) {
    return ResourceExhaustedError("KEK version numbers are exhausted");
  }
  const uint32_t version = highest + 1;
  next->keks.emplace(version, State::Kek{env_.clock.Now(), RandomKey(env_.random)});
  next->current = version;
  RETURN_IF_ERROR(WriteState(*next));
  state_ = std::move(next);
  return version;
}

Status Keyring::DropVersion(uint32_t version) {
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<State> next, ReadState());
  if (version == next->current) {
    return FailedPreconditionError(
        fmt::format("KEK version {} is the current version and cannot be dropped", version));
  }
  if (next->keks.erase(version) == 0) {
    return NotFoundError(fmt::format("KEK version {} is not in the keyring", version));
  }
  RETURN_IF_ERROR(WriteState(*next));
  state_ = std::move(next);
  return OkStatus();
}

Status Keyring::Reload() {
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(state_, ReadState());
  return OkStatus();
}

std::string Keyring::BlindIndex(std::string_view domain, std::string_view value) const {
  std::shared_lock lock(mu_);
  return crypto::BlindIndex(state_->blind_index_key, domain, value);
}

}  // namespace sicher::crypto
