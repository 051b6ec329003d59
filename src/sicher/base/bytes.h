#pragma once
// Byte helpers: hex, base64 (RFC 4648, standard and URL-safe), constant-time comparison and
// SecretBytes, a move-only buffer that wipes itself on destruction.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sicher {

std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // no padding
std::optional<std::string> Base64UrlDecode(std::string_view text);

// `text` cut to at most `max_bytes`, never inside a UTF-8 sequence (the cut backs up over
// continuation bytes). Returns a view into `text`.
std::string_view TruncateUtf8(std::string_view text, size_t max_bytes);

// Compares in time that depends only on the lengths, never on where the bytes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Overwrites memory in a way the compiler may not elide.
void SecureWipe(void* data, size_t size);

// Move-only owner of secret bytes (keys, tokens). Wiped when destroyed or moved from.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : data_(size) {}
  explicit SecretBytes(std::string_view bytes) : data_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Clear(); }
  SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  std::span<uint8_t> span() { return data_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }
  void Clear();

 private:
  std::vector<uint8_t> data_;
};

}  // namespace sicher
