#pragma once
// The pinned uap-core data, embedded at build time by src/sicher/net/user_agent/CMakeLists.txt
// from third_party/npm/node_modules/uap-core (installed by scripts/install-deps).

#include <cstddef>
#include <string_view>

namespace sicher::net::internal {

// regexes.yaml, as bytes (it is UTF-8), NUL-terminated.
extern const unsigned char kUapCoreRegexesYaml[];
extern const size_t kUapCoreRegexesYamlSize;  // without the NUL
extern const char kUapCoreVersion[];  // "version" from uap-core's package.json, e.g. "0.18.0"

// kUapCoreRegexesYaml as text.
inline std::string_view UapCoreRegexesYaml() {
  return std::string_view(reinterpret_cast<const char*>(kUapCoreRegexesYaml),
                          kUapCoreRegexesYamlSize);
}

}  // namespace sicher::net::internal
