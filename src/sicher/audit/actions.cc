#include "sicher/audit/actions.h"

#include <algorithm>
#include <array>

namespace sicher::audit {
namespace {

using log::Category;

constexpr auto kActions = std::to_array<ActionInfo>({
    {"account.created", Category::kAudit, "iam"},
    {"account.ownership_transferred", Category::kAudit, "iam"},
    {"account.updated", Category::kAudit, "iam"},
    {"audit.exported", Category::kAccess, "iam"},
    {"audit.read", Category::kAccess, "iam"},
    {"document.delete", Category::kAudit, "file"},
    {"document.link_create", Category::kAudit, "file"},
    {"document.link_revoke", Category::kAudit, "file"},
    {"document.link_use", Category::kAccess, "file"},
    {"document.list", Category::kAccess, "file"},
    {"document.metadata_read", Category::kAccess, "file"},
    {"document.read", Category::kAccess, "file"},
    {"document.replace", Category::kAudit, "file"},
    {"document.tamper_detected", Category::kSecurity, "file"},
    {"document.upload", Category::kAudit, "file"},
    {"invitation.accepted", Category::kAudit, "iam"},
    {"keys.rotated", Category::kAudit, "configuration"},
    {"login.password", Category::kSecurity, "authentication"},
    {"login.recovery_code", Category::kSecurity, "authentication"},
    {"login.totp", Category::kSecurity, "authentication"},
    {"member.invited", Category::kAudit, "iam"},
    {"member.removed", Category::kAudit, "iam"},
    {"member.role_changed", Category::kAudit, "iam"},
    {"mfa.recovery_codes_regenerated", Category::kSecurity, "authentication"},
    {"mfa.totp_disabled", Category::kSecurity, "authentication"},
    {"mfa.totp_enabled", Category::kSecurity, "authentication"},
    {"mfa.totp_enrolment_started", Category::kSecurity, "authentication"},
    {"operator.added", Category::kSecurity, "iam"},
    {"operator.enrolled", Category::kSecurity, "iam"},
    {"operator.enrolment_started", Category::kSecurity, "iam"},
    {"operator.request", Category::kAudit, "web"},
    {"password.changed", Category::kSecurity, "authentication"},
    {"session.logout", Category::kSecurity, "session"},
    {"session.revoked", Category::kSecurity, "session"},
});

constexpr bool Sorted() {
  for (size_t i = 1; i < kActions.size(); ++i) {
    if (!(kActions[i - 1].name < kActions[i].name)) return false;
  }
  return true;
}
static_assert(Sorted(), "kActions must be sorted by name and unique");

}  // namespace

std::span<const ActionInfo> AllActions() { return kActions; }

const ActionInfo* FindAction(std::string_view name) {
  auto it = std::lower_bound(kActions.begin(), kActions.end(), name,
                             [](const ActionInfo& a, std::string_view n) { return a.name < n; });
  return it != kActions.end() && it->name == name ? &*it : nullptr;
}

}  // namespace sicher::audit
