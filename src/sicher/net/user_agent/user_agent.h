#pragma once
// User-Agent parsing for the login log (CLAIMS.md C3): browser, OS and device from the pinned
// uap-core regexes (npm `uap-core`, embedded into the library at build time), plus a coarse
// device type that uap-core does not provide.
//
// Every regex is compiled with RE2, which matches in time linear in the input, so an
// attacker-chosen User-Agent cannot cause catastrophic backtracking; the input is further
// truncated to kMaxUserAgentBytes before matching.
//
// Device type rules (uap-core gives device family/brand/model only), first rule that applies
// wins (implemented in internal/device_type.cc):
//   1. bot     - uap-core's device family is "Spider", or the browser family looks like a bot
//                (contains bot, spider, crawl, slurp, scraper, fetcher, preview, archiver,
//                indexer, or is HeadlessChrome).
//   2. other   - the (truncated) User-Agent is empty or only whitespace, whatever the hints say;
//                or it names a TV, streaming stick or game console (SmartTV, Android TV,
//                BRAVIA, Web0S, CrKey, Roku, PlayStation, Xbox, Nintendo, ...).
//   3. mobile  - the client hint Sec-CH-UA-Mobile is "?1" (Chromium sets it from the form
//                factor, including for its "reduced" User-Agent that hides the device).
//   4. tablet  - device family/brand/model is a known tablet (iPad, Kindle/KF*, Galaxy Tab or
//                Samsung SM-T/SM-X/SM-P/GT-P, Nexus 7/9/10, Xoom, PlayBook, MediaPad, MatePad,
//                "Tab"/"Tablet", uap-core's "Generic_Android_Tablet", ...), the OS is
//                "BlackBerry Tablet OS", the User-Agent has a "Tablet" token, or the OS is
//                Android and a browser User-Agent ("Mozilla/...") has no "Mobi" token (Google's
//                rule for telling Android tablets from phones).
//   5. mobile  - device family iPhone/iPod or uap-core's generic smartphone/feature phone; iOS;
//                any other Android (native apps such as Dalvik/okhttp send no "Mobile"); a
//                phone OS (Windows Phone/Mobile/CE, BlackBerry OS, Symbian, KaiOS, Firefox OS,
//                Sailfish, ...); or a "Mobi" token ("Mobile", "Opera Mobi") with any OS.
//   6. desktop - a browser User-Agent ("Mozilla/" or "Opera/") on a desktop OS: Windows,
//                Mac OS X, Linux and its distributions (Ubuntu, Fedora, Debian, ...), Chrome OS,
//                the BSDs, Solaris. The OS comes from the User-Agent, else from
//                Sec-CH-UA-Platform.
//   7. other   - everything else: command-line tools and libraries (curl, Wget,
//                python-requests), unknown strings.
// Known limits: iPadOS 13+ Safari sends a Mac User-Agent and is reported as desktop; an
// Android tablet whose browser sends "Mobile" is reported as mobile, and an Android TV box
// that names no TV is reported as a tablet.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::net {

// User-Agents are truncated to this many bytes before matching (and before caching), the same
// bound the login log uses for the raw string.
inline constexpr size_t kMaxUserAgentBytes = 512;

enum class DeviceType { kDesktop, kMobile, kTablet, kBot, kOther };

// "desktop", "mobile", "tablet", "bot", "other".
std::string_view DeviceTypeName(DeviceType type);

// What a User-Agent says, with uap-core's names ("Chrome", "Mac OS X", "iPhone", "Spider").
// Families are never empty: "Other" when nothing matched. Versions are
// "major[.minor[.patch[.patch_minor]]]" as far as known (empty when unknown), joined with '.'
// (uap-core's parts may carry suffixes: "4.0.b4"). Brand and model are empty when unknown.
struct ParsedUserAgent {
  std::string browser;          // uap-core user agent family, e.g. "Firefox"
  std::string browser_version;  // e.g. "120.0.6099.144"
  std::string os;               // uap-core OS family, e.g. "Windows"; see Parse() for hints
  std::string os_version;       // e.g. "10"
  std::string device_family;    // e.g. "iPhone", "Samsung SM-T510", "Spider", "Other"
  std::string device_brand;     // e.g. "Apple", "Samsung"
  std::string device_model;     // e.g. "iPhone", "SM-T510"
  DeviceType device_type = DeviceType::kOther;

  friend bool operator==(const ParsedUserAgent&, const ParsedUserAgent&) = default;
};

// User-Agent Client Hints a browser may send (Chromium): Sec-CH-UA-Mobile and
// Sec-CH-UA-Platform. Absent or malformed hints are simply unknown.
struct ClientHints {
  std::optional<bool> mobile;  // Sec-CH-UA-Mobile: ?1 -> true, ?0 -> false
  std::string platform;        // Sec-CH-UA-Platform, unquoted, e.g. "Windows", "Android"

  friend bool operator==(const ClientHints&, const ClientHints&) = default;
};

// Longest platform hint kept; longer values are treated as absent.
inline constexpr size_t kMaxPlatformHintBytes = 64;

// Parses the raw header values (pass "" for a header that was not sent). `mobile` must be the
// structured-field boolean "?1" or "?0" (surrounding spaces allowed); `platform` a quoted
// structured-field string such as "\"Windows\"" (escapes \" and \\ allowed, printable ASCII
// only, at most kMaxPlatformHintBytes once unquoted). Anything else leaves the field unknown.
// Pure; never fails.
ClientHints ParseClientHints(std::string_view mobile, std::string_view platform);

// Thread-safe: Parse() may be called from any number of threads at once.
class UserAgentParser {
 public:
  // Compiles every regex of the embedded uap-core regexes.yaml with RE2 (`regex_flag: 'i'` as
  // case-insensitive; PCRE-only syntax is translated first, see internal/pcre_to_re2.h). A
  // regex RE2 still rejects is skipped and counted in failed_regex_count() rather than failing
  // the whole parser. Keeps up to `cache_entries` parse results in an LRU cache (0 disables
  // it). Returns DataLoss if the embedded YAML is malformed or has no parsers at all. Slow
  // (about 0.35 s of CPU in a release build, more in debug) and holds tens of MB of compiled
  // regexes: create one at start-up and share it.
  static Result<std::unique_ptr<UserAgentParser>> Create(size_t cache_entries = 4096);

  ~UserAgentParser();
  UserAgentParser(const UserAgentParser&) = delete;
  UserAgentParser& operator=(const UserAgentParser&) = delete;

  // Parses the first kMaxUserAgentBytes of `user_agent` with uap-core semantics: in each of the
  // three sections the first matching regex wins, its replacement templates have $1..$9
  // substituted (an unmatched group is empty) and are trimmed; families default to "Other".
  // When the User-Agent yields OS "Other", a non-empty hints.platform is used as the OS. The
  // device type follows the rules at the top of this file. Never fails; any input is safe.
  // Results are cached by (truncated User-Agent, hints).
  ParsedUserAgent Parse(std::string_view user_agent, const ClientHints& hints = {}) const;

  // The uap-core version the regexes come from, e.g. "0.18.0" (record it next to results).
  std::string_view uap_core_version() const;

  // Regexes compiled, and regexes skipped because RE2 rejected them (0 for uap-core 0.18.0).
  size_t regex_count() const;
  size_t failed_regex_count() const;

 private:
  class Impl;
  explicit UserAgentParser(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace sicher::net
