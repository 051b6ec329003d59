#pragma once
// The device type rules documented at the top of user_agent.h, as one pure function.
// Thread-safe (its regexes are compiled once, on first use, and RE2 matching is thread-safe).

#include <string_view>

#include "sicher/net/user_agent/user_agent.h"

namespace sicher::net::internal {

// `parsed` holds the uap-core results (its device_type is ignored), with the OS already taken
// from hints.platform when the User-Agent gave none; `user_agent` is the truncated raw string.
DeviceType DeriveDeviceType(const ParsedUserAgent& parsed, std::string_view user_agent,
                            const ClientHints& hints);

}  // namespace sicher::net::internal
