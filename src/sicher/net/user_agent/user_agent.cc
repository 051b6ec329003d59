#include "sicher/net/user_agent/user_agent.h"

#include <mutex>
#include <utility>
#include <vector>

#include "sicher/net/user_agent/internal/device_type.h"
#include "sicher/net/user_agent/internal/lru_cache.h"
#include "sicher/net/user_agent/internal/uap_core_data.h"
#include "sicher/net/user_agent/internal/uap_section.h"
#include "sicher/net/user_agent/internal/uap_yaml.h"

namespace sicher::net {
namespace {

using internal::UapSection;

constexpr std::string_view kOther = "Other";

// "major[.minor[.patch...]]" from fields [first, last]: stops at the first empty one.
std::string JoinVersion(const std::vector<std::string>& fields, size_t first, size_t last) {
  std::string version;
  for (size_t i = first; i <= last && !fields[i].empty(); ++i) {
    if (i > first) version += '.';
    version += fields[i];
  }
  return version;
}

// Unambiguous cache key: the hints first (fixed layout, platform length-prefixed), then the
// User-Agent, which may contain any byte.
std::string CacheKey(std::string_view user_agent, const ClientHints& hints) {
  std::string key;
  key.reserve(2 + hints.platform.size() + user_agent.size());
  key += hints.mobile.has_value() ? (*hints.mobile ? '1' : '0') : '-';
  key += static_cast<char>(hints.platform.size());
  key += hints.platform;
  key += user_agent;
  return key;
}

}  // namespace

std::string_view DeviceTypeName(DeviceType type) {
  switch (type) {
    case DeviceType::kDesktop:
      return "desktop";
    case DeviceType::kMobile:
      return "mobile";
    case DeviceType::kTablet:
      return "tablet";
    case DeviceType::kBot:
      return "bot";
    case DeviceType::kOther:
      return "other";
  }
  return "other";
}

class UserAgentParser::Impl {
 public:
  Impl(internal::UapRegexes regexes, size_t cache_entries)
      : user_agent_(std::move(regexes.user_agent), internal::UserAgentFields()),
        os_(std::move(regexes.os), internal::OsFields()),
        device_(std::move(regexes.device), internal::DeviceFields()),
        cache_(cache_entries) {}

  ParsedUserAgent Parse(std::string_view user_agent, const ClientHints& hints) const {
    user_agent = user_agent.substr(0, kMaxUserAgentBytes);
    // A caller-built ClientHints may carry any platform; keep the key (and the input) bounded.
    const ClientHints bounded_hints =
        hints.platform.size() <= kMaxPlatformHintBytes ? hints : ClientHints{hints.mobile, {}};
    const std::string key = CacheKey(user_agent, bounded_hints);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (std::optional<ParsedUserAgent> hit = cache_.Get(key)) return *std::move(hit);
    }
    // Parse outside the lock: two threads may both parse a new UA; both store the same value.
    ParsedUserAgent parsed = ParseUncached(user_agent, bounded_hints);
    std::lock_guard<std::mutex> lock(mu_);
    cache_.Put(key, parsed);
    return parsed;
  }

  size_t regex_count() const {
    return user_agent_.compiled_count() + os_.compiled_count() + device_.compiled_count();
  }
  size_t failed_regex_count() const {
    return user_agent_.failed_count() + os_.failed_count() + device_.failed_count();
  }

 private:
  ParsedUserAgent ParseUncached(std::string_view user_agent, const ClientHints& hints) const {
    using internal::kDeviceBrand, internal::kDeviceFamily, internal::kDeviceModel;
    using internal::kOsFamily, internal::kOsMajor, internal::kOsPatchMinor;
    using internal::kUaFamily, internal::kUaMajor, internal::kUaPatchMinor;
    ParsedUserAgent parsed;
    parsed.browser = kOther;
    parsed.os = kOther;
    parsed.device_family = kOther;
    if (auto f = user_agent_.Match(user_agent); f.has_value()) {
      if (!(*f)[kUaFamily].empty()) parsed.browser = (*f)[kUaFamily];
      parsed.browser_version = JoinVersion(*f, kUaMajor, kUaPatchMinor);
    }
    if (auto f = os_.Match(user_agent); f.has_value()) {
      if (!(*f)[kOsFamily].empty()) parsed.os = (*f)[kOsFamily];
      parsed.os_version = JoinVersion(*f, kOsMajor, kOsPatchMinor);
    }
    if (parsed.os == kOther && !hints.platform.empty()) parsed.os = hints.platform;
    if (auto f = device_.Match(user_agent); f.has_value()) {
      if (!(*f)[kDeviceFamily].empty()) parsed.device_family = (*f)[kDeviceFamily];
      parsed.device_brand = (*f)[kDeviceBrand];
      parsed.device_model = (*f)[kDeviceModel];
    }
    parsed.device_type = internal::DeriveDeviceType(parsed, user_agent, hints);
    return parsed;
  }

  const UapSection user_agent_;
  const UapSection os_;
  const UapSection device_;
  mutable std::mutex mu_;
  mutable internal::LruCache<ParsedUserAgent> cache_;  // guarded by mu_
};

Result<std::unique_ptr<UserAgentParser>> UserAgentParser::Create(size_t cache_entries) {
  ASSIGN_OR_RETURN(internal::UapRegexes regexes,
                   internal::ParseUapRegexes(internal::UapCoreRegexesYaml()));
  if (regexes.user_agent.empty() && regexes.os.empty() && regexes.device.empty()) {
    return DataLossError("uap-core regexes: no parsers");
  }
  auto impl = std::make_unique<Impl>(std::move(regexes), cache_entries);
  return std::unique_ptr<UserAgentParser>(new UserAgentParser(std::move(impl)));
}

UserAgentParser::UserAgentParser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UserAgentParser::~UserAgentParser() = default;

ParsedUserAgent UserAgentParser::Parse(std::string_view user_agent,
                                       const ClientHints& hints) const {
  return impl_->Parse(user_agent, hints);
}

std::string_view UserAgentParser::uap_core_version() const { return internal::kUapCoreVersion; }
size_t UserAgentParser::regex_count() const { return impl_->regex_count(); }
size_t UserAgentParser::failed_regex_count() const { return impl_->failed_regex_count(); }

}  // namespace sicher::net
