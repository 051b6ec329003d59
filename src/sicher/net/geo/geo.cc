#include "sicher/net/geo/geo.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sicher::net {
namespace {

// True for IPv4 addresses (network byte order in `a`) that are not globally routable.
bool IsNonPublic4(const uint8_t a[4]) {
  return a[0] == 0 ||                             // 0.0.0.0/8 "this network"
         a[0] == 10 ||                            // 10.0.0.0/8
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||  // 100.64.0.0/10 carrier-grade NAT
         a[0] == 127 ||                           // 127.0.0.0/8 loopback
         (a[0] == 169 && a[1] == 254) ||          // 169.254.0.0/16 link-local
         (a[0] == 172 && (a[1] & 0xf0) == 16) ||  // 172.16.0.0/12
         (a[0] == 192 && a[1] == 168) ||          // 192.168.0.0/16
         a[0] >= 224;                             // 224/4 multicast, 240/4 reserved + broadcast
}

// True for IPv6 addresses (not IPv4-mapped) that are not globally routable.
bool IsNonPublic6(const uint8_t a[16]) {
  static constexpr uint8_t kZero[12] = {};
  return std::memcmp(a, kZero, sizeof(kZero)) == 0 ||  // ::/96: ::, ::1, IPv4-compatible
         (a[0] & 0xfe) == 0xfc ||                      // fc00::/7 unique local
         (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||    // fe80::/10 link-local
         a[0] == 0xff;                                 // ff00::/8 multicast
}

// The record's `first.iso_code` as two upper-case letters, or "".
std::string IsoCodeAt(MMDB_entry_s entry, const char* first) {
  MMDB_entry_data_s data;
  const int status = MMDB_get_value(&entry, &data, first, "iso_code", nullptr);
  if (status != MMDB_SUCCESS || !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING ||
      data.data_size != 2) {
    return "";
  }
  std::string code(data.utf8_string, 2);
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return "";
  }
  return code;
}

}  // namespace

struct GeoLookup::Db {
  MMDB_s mmdb{};
  bool opened = false;  // MMDB_open cleans up after itself on failure: close only on success
  ~Db() {
    if (opened) MMDB_close(&mmdb);
  }
};

GeoLookup::GeoLookup(std::unique_ptr<Db> db) : db_(std::move(db)) {}
GeoLookup::~GeoLookup() = default;

Result<std::unique_ptr<GeoLookup>> GeoLookup::Open(const std::string& path) {
  const std::string what = fmt::format("geo database {}", path);
  if (path.empty()) return InvalidArgumentError("geo database: the path is empty");
  if (path.find('\0') != std::string::npos) {
    return InvalidArgumentError(what + ": the path contains a NUL byte");
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(what, errno);
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(what + ": not a regular file");

  auto db = std::make_unique<Db>();
  errno = 0;
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
  if (status != MMDB_SUCCESS) {
    const int err = errno;  // MMDB_open keeps the errno of a failed open() or mmap()
    switch (status) {
      case MMDB_FILE_OPEN_ERROR:
      case MMDB_IO_ERROR:
        return ErrnoError(what, err != 0 ? err : EIO);
      case MMDB_OUT_OF_MEMORY_ERROR:
        return ResourceExhaustedError(what + ": out of memory");
      default:
        return InvalidArgumentError(
            fmt::format("{}: not a MaxMind DB (.mmdb) file: {}", what, MMDB_strerror(status)));
    }
  }
  db->opened = true;
  return std::unique_ptr<GeoLookup>(new GeoLookup(std::move(db)));
}

std::string GeoLookup::CountryIsoCode(std::string_view ip) const {
  if (ip.empty() || ip.size() > kMaxIpTextBytes || ip.find('\0') != std::string_view::npos) {
    return "";
  }
  char text[kMaxIpTextBytes + 1];
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';

  sockaddr_storage storage{};
  if (ip.find(':') == std::string_view::npos) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    if (inet_pton(AF_INET, text, &sin->sin_addr) != 1) return "";
    sin->sin_family = AF_INET;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) return "";
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      in_addr v4;
      std::memcpy(&v4, sin6->sin6_addr.s6_addr + 12, sizeof(v4));
      storage = {};
      auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
      sin->sin_family = AF_INET;
      sin->sin_addr = v4;
    } else {
      sin6->sin6_family = AF_INET6;
    }
  }

  if (storage.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
    if (IsNonPublic4(reinterpret_cast<const uint8_t*>(&sin->sin_addr))) return "";
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    if (IsNonPublic6(sin6->sin6_addr.s6_addr)) return "";
  }

  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s result =
      MMDB_lookup_sockaddr(&db_->mmdb, reinterpret_cast<const sockaddr*>(&storage), &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !result.found_entry) return "";
  std::string code = IsoCodeAt(result.entry, "country");
  if (code.empty()) code = IsoCodeAt(result.entry, "registered_country");
  return code;
}

std::string GeoLookup::database_type() const {
  const char* type = db_->mmdb.metadata.database_type;
  return type != nullptr ? std::string(type) : std::string();
}

uint64_t GeoLookup::build_epoch() const { return db_->mmdb.metadata.build_epoch; }

}  // namespace sicher::net
