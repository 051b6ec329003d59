#include "sicher/crypto/password.h"

#include <sodium.h>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "sicher/base/bytes.h"
#include "sicher/base/check.h"
#include "sicher/base/random.h"
#include "sicher/crypto/common_passwords.h"

namespace sicher::crypto {
namespace {

// OWASP Password Storage Cheat Sheet, Argon2id: equally strong configurations, all p=1.
struct OwaspRow {
  uint64_t memory_kib;
  uint32_t iterations;
};
constexpr std::array<OwaspRow, 5> kOwaspArgon2id = {{
    {47104, 1},
    {19456, 2},
    {12288, 3},
    {9216, 4},
    {7168, 5},
}};
constexpr uint64_t kMaxMemoryBytes = uint64_t{4} << 30;
constexpr uint32_t kMaxIterations = 100;

void InitSodium() {
  // sodium_init is itself thread-safe and idempotent; the static makes it once per process.
  static const bool ok = sodium_init() >= 0;
  CHECK(ok);
}

// libsodium reads PHC strings as NUL-terminated C strings of less than crypto_pwhash_STRBYTES.
// Copies `phc` into such a buffer; false when it cannot be one (too long, embedded NUL).
bool ToPhcBuffer(std::string_view phc, std::array<char, crypto_pwhash_STRBYTES>& out) {
  if (phc.empty() || phc.size() >= out.size()) return false;
  if (phc.find('\0') != std::string_view::npos) return false;
  out.fill('\0');
  phc.copy(out.data(), phc.size());
  return true;
}

}  // namespace

Status ValidatePasswordParams(const PasswordParams& params) {
  if (params.parallelism != 1) {
    return InvalidArgumentError(
        "argon2id parallelism must be 1 (libsodium implements a single lane)");
  }
  if (params.memory_bytes % 1024 != 0) {
    return InvalidArgumentError("argon2id memory must be a multiple of 1 KiB");
  }
  if (params.memory_bytes > kMaxMemoryBytes) {
    return InvalidArgumentError("argon2id memory must be at most 4 GiB");
  }
  if (params.iterations > kMaxIterations) {
    return InvalidArgumentError("argon2id iterations must be at most 100");
  }
  const uint64_t memory_kib = params.memory_bytes / 1024;
  for (const OwaspRow& row : kOwaspArgon2id) {
    if (memory_kib >= row.memory_kib && params.iterations >= row.iterations) return OkStatus();
  }
  return InvalidArgumentError(
      "argon2id parameters are below the OWASP minimum (at least m=19 MiB with t=2, or an "
      "equivalent row: m=46 MiB t=1, m=12 MiB t=3, m=9 MiB t=4, m=7 MiB t=5)");
}

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params) {
  RETURN_IF_ERROR(ValidatePasswordParams(params));
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgumentError("password must be at most 1024 bytes");
  }
  InitSodium();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), params.iterations,
                            static_cast<size_t>(params.memory_bytes),
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhaustedError("argon2id hashing failed (out of memory?)");
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view phc, std::string_view password) {
  if (password.size() > kMaxPasswordBytes) return false;
  std::array<char, crypto_pwhash_STRBYTES> buffer;
  if (!ToPhcBuffer(phc, buffer)) return false;
  InitSodium();
  return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view phc, const PasswordParams& params) {
  // Exactly what HashPassword(_, params) produces: the parameter prefix, then a 16-byte salt
  // and a 32-byte hash in unpadded base64. (libsodium's own check below compares only the
  // algorithm, m and t; it ignores the lane count and the salt and hash lengths.)
  const std::string prefix = "$argon2id$v=19$m=" + std::to_string(params.memory_bytes / 1024) +
                             ",t=" + std::to_string(params.iterations) +
                             ",p=" + std::to_string(params.parallelism) + "$";
  if (!phc.starts_with(prefix)) return true;
  const std::string_view rest = phc.substr(prefix.size());
  constexpr size_t kSaltChars = 22, kHashChars = 43;  // ceil(16 * 4 / 3), ceil(32 * 4 / 3)
  if (rest.size() != kSaltChars + 1 + kHashChars || rest[kSaltChars] != '$') return true;
  for (size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
    if (i != kSaltChars && !b64) return true;
  }
  std::array<char, crypto_pwhash_STRBYTES> buffer;
  if (!ToPhcBuffer(phc, buffer)) return true;
  InitSodium();
  return crypto_pwhash_str_needs_rehash(buffer.data(), params.iterations,
                                        static_cast<size_t>(params.memory_bytes)) != 0;
}

const std::string& DummyPasswordHash(const PasswordParams& params) {
  static std::mutex mu;
  // Node-based: references to values stay valid while other entries are added.
  static auto* hashes = new std::map<std::tuple<uint64_t, uint32_t, uint32_t>, std::string>();
  const auto key = std::make_tuple(params.memory_bytes, params.iterations, params.parallelism);
  std::lock_guard lock(mu);
  auto it = hashes->find(key);
  if (it == hashes->end()) {
    SystemRandom random;
    const std::string password = random.Hex(16);  // 128 bits: nobody will ever match it
    Result<std::string> hash = HashPassword(password, params);
    CHECK_OK(hash);
    it = hashes->emplace(key, std::move(hash).value()).first;
  }
  return it->second;
}

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return InvalidArgumentError("password must be at least 12 characters");
  }
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgumentError("password must be at most 1024 bytes");
  }
  if (IsCommonPassword(password)) return InvalidArgumentError("this password is too common");
  return OkStatus();
}

}  // namespace sicher::crypto
