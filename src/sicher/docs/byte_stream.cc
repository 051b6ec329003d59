#include "sicher/docs/byte_stream.h"

#include <algorithm>
#include <cstring>

namespace sicher::docs {

Result<size_t> StringSource::Read(std::span<char> out) {
  const size_t n = std::min(out.size(), data_.size());
  if (n > 0) std::memcpy(out.data(), data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

}  // namespace sicher::docs
