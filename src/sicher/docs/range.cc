#include "sicher/docs/range.h"

#include <algorithm>

namespace sicher::docs {

std::optional<std::pair<uint64_t, uint64_t>> ResolveRange(const RangeSpec& range, uint64_t size) {
  if (size == 0) return std::nullopt;
  if (range.first) {
    if (range.suffix) return std::nullopt;
    const uint64_t first = *range.first;
    if (first >= size) return std::nullopt;
    uint64_t last = range.last.value_or(size - 1);
    if (last < first) return std::nullopt;
    last = std::min(last, size - 1);
    return std::make_pair(first, last - first + 1);
  }
  if (!range.suffix || *range.suffix == 0 || range.last) return std::nullopt;
  const uint64_t length = std::min(*range.suffix, size);
  return std::make_pair(size - length, length);
}

}  // namespace sicher::docs
