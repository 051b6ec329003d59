#pragma once
// Test-only: a minimal MaxMind DB writer, so tests need no data file (geo_test, and auth's
// login-log tests that check the country). Header-only.

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sicher/base/check.h"

namespace sicher::net::mmdb_testing {

// A minimal MaxMind DB writer (format 2.0, https://maxmind.github.io/MaxMind-DB/), so that the
// tests need no data file: a binary search tree of 24-, 28- or 32-bit records, 16 zero bytes,
// the data section, then "\xAB\xCD\xEFMaxMind.com" and the metadata map. GeoLookup reads the
// result through the real libmaxminddb, which proves the two agree on the format.

// Data section types.
constexpr int kString = 2;
constexpr int kUint16 = 5;
constexpr int kUint32 = 6;
constexpr int kMap = 7;
constexpr int kUint64 = 9;
constexpr int kArray = 11;

// The control byte(s) of a field: type in the top 3 bits (0 plus an extra byte for types above
// 7), then the size, extended by 1 to 3 bytes from 29 on.
inline std::string Control(int type, size_t size) {
  std::string out;
  uint8_t first = type <= 7 ? static_cast<uint8_t>(type << 5) : 0;
  std::string size_bytes;
  if (size < 29) {
    first |= static_cast<uint8_t>(size);
  } else if (size < 29 + 256) {
    first |= 29;
    size_bytes += static_cast<char>(size - 29);
  } else if (size < 285 + 65536) {
    first |= 30;
    const size_t n = size - 285;
    size_bytes += static_cast<char>(n >> 8);
    size_bytes += static_cast<char>(n & 0xff);
  } else {
    first |= 31;
    const size_t n = size - 65821;
    size_bytes += static_cast<char>(n >> 16);
    size_bytes += static_cast<char>((n >> 8) & 0xff);
    size_bytes += static_cast<char>(n & 0xff);
  }
  out += static_cast<char>(first);
  if (type > 7) out += static_cast<char>(type - 7);
  return out + size_bytes;
}

inline std::string Str(std::string_view s) { return Control(kString, s.size()) + std::string(s); }

// An unsigned integer of `type` (kUint16/32/64) in the fewest big-endian bytes.
inline std::string Uint(int type, uint64_t v) {
  std::string bytes;
  for (; v != 0; v >>= 8) bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
  return Control(type, bytes.size()) + bytes;
}

// A map; values are already encoded.
inline std::string Map(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = Control(kMap, entries.size());
  for (const auto& [key, value] : entries) out += Str(key) + value;
  return out;
}

inline std::string Array(const std::vector<std::string>& items) {
  std::string out = Control(kArray, items.size());
  for (const std::string& item : items) out += item;
  return out;
}

// A GeoIP2-Country-style record.
inline std::string Country(std::string_view iso) {
  return Map({{"country", Map({{"iso_code", Str(iso)},
                               {"names", Map({{"en", Str("Somewhere")}})},
                               {"geoname_id", Uint(kUint32, 2921044)}})}});
}

class MmdbWriter {
 public:
  // `ip_version` 4 or 6; `record_size` 24, 28 or 32. IPv4 networks in an IPv6 database go
  // under ::/96, as MaxMind's databases put them.
  MmdbWriter(int ip_version, int record_size)
      : ip_version_(ip_version), record_size_(record_size), nodes_(1) {}

  // Maps `cidr` ("192.0.2.0/24", "2001:db8::/32") to the encoded `data`. A network inserted
  // after a larger one that contains it overrides that part of it.
  void Insert(std::string_view cidr, std::string data) {
    const uint32_t index = static_cast<uint32_t>(data_offsets_.size());
    data_offsets_.push_back(data_.size());
    data_ += data;
    Set(cidr, {Slot::kData, index});
  }
  // Corrupt records, for robustness tests.
  void InsertPointerPastEnd(std::string_view cidr) { Set(cidr, {Slot::kPastEnd, 0}); }
  void InsertPointerIntoSeparator(std::string_view cidr) { Set(cidr, {Slot::kSeparator, 0}); }
  void InsertLoopToRoot(std::string_view cidr) { Set(cidr, {Slot::kNode, 0}); }

  std::string Build(std::string_view database_type, uint64_t build_epoch,
                    uint64_t format_major = 2) const {
    const uint64_t node_count = nodes_.size();
    std::string out;
    for (const Node& node : nodes_) {
      const uint64_t left = Value(node.child[0], node_count);
      const uint64_t right = Value(node.child[1], node_count);
      switch (record_size_) {
        case 24:
          Append(out, left, 3);
          Append(out, right, 3);
          break;
        case 28:
          Append(out, left & 0xffffff, 3);
          out += static_cast<char>(((left >> 24) << 4) | (right >> 24));
          Append(out, right & 0xffffff, 3);
          break;
        case 32:
          Append(out, left, 4);
          Append(out, right, 4);
          break;
        default:
          CHECK(false);
      }
    }
    out += std::string(16, '\0');
    out += data_;
    out += "\xAB\xCD\xEFMaxMind.com";
    out += Map({
        {"binary_format_major_version", Uint(kUint16, format_major)},
        {"binary_format_minor_version", Uint(kUint16, 0)},
        {"build_epoch", Uint(kUint64, build_epoch)},
        {"database_type", Str(database_type)},
        {"description", Map({{"en", Str("sicher test database")}})},
        {"ip_version", Uint(kUint16, ip_version_)},
        {"languages", Array({Str("en")})},
        {"node_count", Uint(kUint32, node_count)},
        {"record_size", Uint(kUint16, record_size_)},
    });
    return out;
  }

 private:
  struct Slot {
    enum Kind { kEmpty, kNode, kData, kPastEnd, kSeparator } kind = kEmpty;
    uint32_t value = 0;  // node number or index into data_offsets_
  };
  struct Node {
    std::array<Slot, 2> child;
  };

  uint64_t Value(const Slot& slot, uint64_t node_count) const {
    switch (slot.kind) {
      case Slot::kEmpty:
        return node_count;
      case Slot::kNode:
        return slot.value;
      case Slot::kData:
        return node_count + 16 + data_offsets_[slot.value];
      case Slot::kPastEnd:
        return node_count + 16 + data_.size() + 1000;
      case Slot::kSeparator:
        return node_count + 3;
    }
    return node_count;
  }

  static void Append(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  }

  void Set(std::string_view cidr, Slot leaf) {
    const size_t slash = cidr.find('/');
    CHECK(slash != std::string_view::npos);
    const std::string addr(cidr.substr(0, slash));
    int prefix = std::stoi(std::string(cidr.substr(slash + 1)));
    std::array<uint8_t, 16> bits{};
    int width;
    if (addr.find(':') != std::string::npos) {
      CHECK(ip_version_ == 6);
      CHECK(inet_pton(AF_INET6, addr.c_str(), bits.data()) == 1);
      width = 128;
    } else {
      const size_t at = ip_version_ == 6 ? 12 : 0;
      CHECK(inet_pton(AF_INET, addr.c_str(), bits.data() + at) == 1);
      if (ip_version_ == 6) prefix += 96;
      width = ip_version_ == 6 ? 128 : 32;
    }
    CHECK(prefix >= 1 && prefix <= width);
    const auto bit = [&](int i) { return (bits[i / 8] >> (7 - i % 8)) & 1; };
    uint32_t node = 0;
    for (int i = 0; i < prefix - 1; ++i) {
      const Slot slot = nodes_[node].child[bit(i)];
      if (slot.kind == Slot::kNode && slot.value != 0) {
        node = slot.value;
        continue;
      }
      // Split: a leaf here now covers both halves of the new node.
      const uint32_t next = static_cast<uint32_t>(nodes_.size());
      const Slot inherited = slot.kind == Slot::kNode ? Slot{} : slot;
      nodes_.push_back(Node{{inherited, inherited}});
      nodes_[node].child[bit(i)] = {Slot::kNode, next};
      node = next;
    }
    nodes_[node].child[bit(prefix - 1)] = leaf;
  }

  int ip_version_;
  int record_size_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::string data_;
  std::vector<size_t> data_offsets_;
};

}  // namespace sicher::net::mmdb_testing
