#pragma once
// HTTP byte ranges as the document store takes them: one range, parsed by the HTTP layer but
// not yet resolved against the document's size (which only the store knows, in the same
// snapshot as the content). Thread-safe (values and a pure function).

#include <cstdint>
#include <optional>
#include <utility>

namespace sicher::docs {

// bytes=first-[last] or bytes=-suffix.
struct RangeSpec {
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;    // inclusive; absent = to the end
  std::optional<uint64_t> suffix;  // the last `suffix` bytes (first and last absent)

  static RangeSpec From(uint64_t first, std::optional<uint64_t> last = std::nullopt) {
    return RangeSpec{first, last, std::nullopt};
  }
  static RangeSpec Suffix(uint64_t length) { return RangeSpec{std::nullopt, std::nullopt, length}; }
};

// RFC 9110 section 14.1.2: {first, length} with length > 0, or nullopt if the range is not
// satisfiable (first >= size, last < first, an empty suffix, any range of an empty document,
// or a spec with neither first nor suffix). `last` past the end is clamped; a suffix longer
// than the document means all of it.
std::optional<std::pair<uint64_t, uint64_t>> ResolveRange(const RangeSpec& range, uint64_t size);

}  // namespace sicher::docs
