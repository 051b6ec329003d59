#include "sicher/net/user_agent/internal/device_type.h"

#include <re2/re2.h>

namespace sicher::net::internal {
namespace {

bool Matches(std::string_view text, const RE2& re) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

// Browser (uap-core user agent) families of crawlers, link previewers and headless browsers
// that uap-core's device section does not already call "Spider".
const RE2& BotFamily() {
  static const RE2 re(
      "(?i)bot|spider|crawl|slurp|scraper|fetcher|preview|archiver|indexer|HeadlessChrome");
  return re;
}

// Smart TVs, streaming sticks and game consoles: not a desktop, phone or tablet.
const RE2& TvOrConsole() {
  static const RE2 re(
      "(?i)smart-?tv|googletv|android tv|\\bTV\\b|bravia|web0s|netcast|tizen.{0,20}tv|"
      "\\bCrKey\\b|\\baft[a-z]\\b|roku|playstation|xbox|nintendo");
  return re;
}

// Device families, brands and models of tablets.
const RE2& TabletDevice() {
  static const RE2 re(
      "(?i)\\biPad|kindle|\\bKF[A-Z]{2,6}\\b|galaxy tab|\\bSM-[TXP]\\d|\\bGT-P\\d|\\bGT-N[58]\\d|"
      "nexus (?:7|9|10)\\b|xoom|playbook|mediapad|matepad|mi ?pad|\\bTab\\b|tablet|\\bLenovo TB|"
      "\\bTB-?[A-Z]?\\d{3}");
  return re;
}

// Firefox for Android tablets: "Mozilla/5.0 (Android 9; Tablet; rv:68.0) ...".
const RE2& TabletToken() {
  static const RE2 re("\\bTablet\\b");
  return re;
}

// Operating systems of phones (and phone-like handhelds). Android and iOS are handled apart.
const RE2& MobileOs() {
  static const RE2 re(
      "^(?:Windows Phone|Windows Mobile|Windows CE|BlackBerry OS|Symbian|KaiOS|Firefox OS|"
      "Sailfish|Ubuntu Touch|Bada|MeeGo|Maemo|webOS|Palm OS|Nokia Series 40|Series 60|"
      "HarmonyOS)");
  return re;
}

const RE2& DesktopOs() {
  static const RE2 re(
      "^(?:Windows|Mac OS X|Mac OS|macOS|Linux|Ubuntu|Kubuntu|Xubuntu|Lubuntu|Fedora|Debian|"
      "Red Hat|CentOS|SUSE|openSUSE|Linux Mint|Mint|Arch Linux|Gentoo|Slackware|Mandriva|"
      "Chrome OS|Chromium OS|FreeBSD|OpenBSD|NetBSD|DragonFly BSD|Solaris|SunOS|Haiku|BeOS|"
      "OS/2)\\b");
  return re;
}

bool Contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

}  // namespace

DeviceType DeriveDeviceType(const ParsedUserAgent& parsed, std::string_view user_agent,
                            const ClientHints& hints) {
  // 1. Bots.
  if (parsed.device_family == "Spider" || Matches(parsed.browser, BotFamily())) {
    return DeviceType::kBot;
  }
  // 2. Nothing to go on, or a TV / console.
  if (IsBlank(user_agent) || Matches(user_agent, TvOrConsole())) return DeviceType::kOther;
  // 3. Chromium's own form-factor bit.
  if (hints.mobile == true) return DeviceType::kMobile;

  // "Mobi" is the token browsers put in phone User-Agents ("Mobile", "Mobi", "Opera Mobi").
  const bool mobi_token = Contains(user_agent, "Mobi");
  const bool is_browser = Contains(user_agent, "Mozilla/") || Contains(user_agent, "Opera/");
  const bool android = parsed.os == "Android";

  // 4. Tablets.
  if (Matches(parsed.device_family, TabletDevice()) ||
      Matches(parsed.device_brand, TabletDevice()) ||  // e.g. "Generic_Android_Tablet"
      Matches(parsed.device_model, TabletDevice()) || parsed.os == "BlackBerry Tablet OS" ||
      Matches(user_agent, TabletToken()) || (android && is_browser && !mobi_token)) {
    return DeviceType::kTablet;
  }
  // 5. Phones. Native Android apps (okhttp, Dalvik) carry no "Mobile": phones are the default.
  if (parsed.device_family.starts_with("iPhone") || parsed.device_family.starts_with("iPod") ||
      parsed.device_family == "Generic Smartphone" ||
      parsed.device_family == "Generic Feature Phone" || parsed.os == "iOS" || android ||
      Matches(parsed.os, MobileOs()) || mobi_token) {
    return DeviceType::kMobile;
  }
  // 6. Desktops: a desktop OS, seen by a browser (not a command-line tool or library).
  if (is_browser && Matches(parsed.os, DesktopOs())) return DeviceType::kDesktop;
  // 7. The rest.
  return DeviceType::kOther;
}

}  // namespace sicher::net::internal
