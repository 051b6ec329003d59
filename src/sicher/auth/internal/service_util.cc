#include "sicher/auth/internal/service_util.h"

#include <fmt/format.h>

namespace sicher::auth::internal {

Status ValidateName(std::string_view what, std::string_view name) {
  constexpr size_t kMaxNameBytes = 200;
  if (name.empty()) return InvalidArgumentError(std::string(what) + " is required");
  if (name.size() > kMaxNameBytes) {
    return InvalidArgumentError(fmt::format("{} is longer than {} bytes", what, kMaxNameBytes));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgumentError(std::string(what) + " contains control characters");
    }
  }
  return OkStatus();
}

}  // namespace sicher::auth::internal
