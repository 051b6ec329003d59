#pragma once
// Country lookup for the login log (CLAIMS.md C3): the ISO 3166-1 alpha-2 country of an IP
// address, from a MaxMind DB (MMDB) file read with libmaxminddb. Optional: sicher runs without
// one (config key geo.database_path, empty by default) and then logs no country.
//
// Any MMDB whose records carry `country.iso_code` or `registered_country.iso_code` works:
// MaxMind's GeoLite2-Country / GeoIP2-Country (and -City), DB-IP's free "IP to Country Lite".
// sicher does not download or update the file; geoipupdate or a cron job replaces it (by
// rename, so the mapped old file stays valid) and a restart picks up the new one.
//
// The file is read from the real file system, not through Env: libmaxminddb maps it itself
// (MMDB_MODE_MMAP). libmaxminddb appears only in this folder's .cc files.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::net {

// Longest text CountryIsoCode() parses; longer input is not an address ("" at once).
inline constexpr size_t kMaxIpTextBytes = 64;

// Thread-safe: after Open(), every method may be called from any number of threads at once
// (lookups only read the mapped file).
class GeoLookup {
 public:
  // Opens and maps the MMDB file at `path` and checks its metadata. Errors name the path:
  // NotFound if it does not exist; PermissionDenied if it cannot be read; InvalidArgument if it
  // is not a regular file or not a MaxMind DB (libmaxminddb's reason is included);
  // ResourceExhausted if it cannot be mapped for lack of memory.
  static Result<std::unique_ptr<GeoLookup>> Open(const std::string& path);

  ~GeoLookup();
  GeoLookup(const GeoLookup&) = delete;
  GeoLookup& operator=(const GeoLookup&) = delete;

  // The country of `ip`, a bare address as net::IpAddress::ToString() writes it ("192.0.2.1",
  // "2001:db8::1", "::ffff:192.0.2.1"; no port, brackets or zone id), as two upper-case letters
  // ("DE"): the record's country.iso_code, else its registered_country.iso_code.
  //
  // Returns "" when:
  //   - `ip` is not an address (strict inet_pton syntax, at most kMaxIpTextBytes, no NUL);
  //   - the address is not globally routable, whatever the database says: IPv4 0/8, 10/8,
  //     100.64/10 (carrier-grade NAT), 127/8, 169.254/16, 172.16/12, 192.168/16, 224/4
  //     (multicast) and 240/4 (reserved, broadcast); IPv6 ::/96 (unspecified, loopback,
  //     deprecated IPv4-compatible), fc00::/7 (unique local), fe80::/10 (link-local),
  //     ff00::/8 (multicast);
  //   - the database has no record for it (an IPv6 address in an IPv4-only database, too);
  //   - the record has no iso_code, or one that is not two ASCII letters.
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as the IPv4 address, whether or
  // not the database aliases ::ffff:0:0/96. Never throws and never fails: a lookup error
  // (e.g. a corrupt file) also gives "". Bounded work: at most 128 tree steps and two map
  // lookups in the record.
  std::string CountryIsoCode(std::string_view ip) const;

  // Metadata, for logs: e.g. "GeoLite2-Country", "DBIP-Country-Lite".
  std::string database_type() const;
  // When the database was built, in seconds since the Unix epoch.
  uint64_t build_epoch() const;

 private:
  struct Db;
  explicit GeoLookup(std::unique_ptr<Db> db);

  std::unique_ptr<Db> db_;
};

}  // namespace sicher::net
