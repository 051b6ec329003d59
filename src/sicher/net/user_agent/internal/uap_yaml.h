#pragma once
// Reads uap-core's regexes.yaml into three ordered rule lists, one per section. Pure;
// thread-safe. yaml-cpp appears only in uap_yaml.cc.

#include <string_view>
#include <vector>

#include "sicher/base/status.h"
#include "sicher/net/user_agent/internal/uap_section.h"

namespace sicher::net::internal {

// Field order of each section's UapRule::replacements and UapSection::Match() result.
enum UserAgentField { kUaFamily, kUaMajor, kUaMinor, kUaPatch, kUaPatchMinor };
enum OsField { kOsFamily, kOsMajor, kOsMinor, kOsPatch, kOsPatchMinor };
enum DeviceField { kDeviceFamily, kDeviceBrand, kDeviceModel };

// uap-core's specification: which replacement key fills each field, and from which capture
// group when the rule has no such key (brand has no default). The user agent's patch_minor
// (group 5, no replacement key in 0.18.0) follows the reference implementations and the
// project's own test data, which go beyond the written specification there.
std::vector<UapField> UserAgentFields();
std::vector<UapField> OsFields();
std::vector<UapField> DeviceFields();

struct UapRegexes {
  std::vector<UapRule> user_agent;  // user_agent_parsers
  std::vector<UapRule> os;          // os_parsers
  std::vector<UapRule> device;      // device_parsers
};

// Returns DataLoss, naming the section and rule index, if `yaml` does not parse, a section is
// missing or not a list, or a rule has no string `regex`. Unknown keys are ignored; a
// `regex_flag` other than 'i' is ignored.
Result<UapRegexes> ParseUapRegexes(std::string_view yaml);

}  // namespace sicher::net::internal
