#pragma once
// The catalog of audit actions: every `event.action` sicher may emit, with the log file its
// records go to. docs/audit-events.md describes each one; actions_test.cc fails when the two
// disagree, and Log::Append refuses an action that is not listed here, so no code path can
// emit an undocumented action.

#include <span>
#include <string_view>

#include "sicher/log/logger.h"

namespace sicher::audit {

struct ActionInfo {
  std::string_view name;          // dotted: "<object>.<verb>"
  log::Category category;         // security (authentication), access (reads), audit (changes)
  std::string_view ecs_category;  // ECS event.category value
};

// All actions, sorted by name.
std::span<const ActionInfo> AllActions();
// nullptr when `name` is not in the catalog.
const ActionInfo* FindAction(std::string_view name);

}  // namespace sicher::audit
