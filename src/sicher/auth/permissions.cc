#include "sicher/auth/permissions.h"

#include <string>

namespace sicher::auth {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kMember:
      return "member";
  }
  return "member";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "owner") return Role::kOwner;
  if (name == "admin") return Role::kAdmin;
  if (name == "member") return Role::kMember;
  return std::nullopt;
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kAccountRead:
      return "account.read";
    case Action::kAccountUpdate:
      return "account.update";
    case Action::kAccountDelete:
      return "account.delete";
    case Action::kOwnershipTransfer:
      return "account.transfer_ownership";
    case Action::kMembersList:
      return "members.list";
    case Action::kMembersInvite:
      return "members.invite";
    case Action::kMembersChangeRole:
      return "members.change_role";
    case Action::kMembersRemove:
      return "members.remove";
    case Action::kLoginsReadAll:
      return "logins.read_all";
    case Action::kAuditRead:
      return "audit.read";
    case Action::kDocumentsUpload:
      return "documents.upload";
    case Action::kDocumentsRead:
      return "documents.read";
    case Action::kDocumentsDelete:
      return "documents.delete";
    case Action::kLinksManage:
      return "links.manage";
  }
  return "unknown";
}

bool Allowed(Role role, Action action) {
  switch (action) {
    // Everyone in the account.
    case Action::kAccountRead:
    case Action::kMembersList:
    case Action::kDocumentsUpload:
    case Action::kDocumentsRead:
      return true;
    // Owners and admins.
    case Action::kAccountUpdate:
    case Action::kMembersInvite:
    case Action::kMembersRemove:
    case Action::kLoginsReadAll:
    case Action::kAuditRead:
    case Action::kDocumentsDelete:
    case Action::kLinksManage:
      return role == Role::kOwner || role == Role::kAdmin;
    // The owner alone.
    case Action::kAccountDelete:
    case Action::kOwnershipTransfer:
    case Action::kMembersChangeRole:
      return role == Role::kOwner;
  }
  return false;
}

Status Authorize(Role role, Action action) {
  if (Allowed(role, action)) return OkStatus();
  return PermissionDeniedError("your role (" + std::string(RoleName(role)) + ") may not " +
                               std::string(ActionName(action)));
}

Status AuthorizeRoleGrant(Role actor, Role granted) {
  if (granted == Role::kOwner) {
    return PermissionDeniedError("ownership moves only by transfer");
  }
  if (actor == Role::kOwner) return OkStatus();
  if (actor == Role::kAdmin && granted == Role::kMember) return OkStatus();
  return PermissionDeniedError("your role (" + std::string(RoleName(actor)) + ") may not grant " +
                               std::string(RoleName(granted)));
}

Status AuthorizeMemberRemoval(Role actor, Role target, bool self) {
  if (target == Role::kOwner) {
    return FailedPreconditionError("the owner cannot be removed; transfer ownership first");
  }
  if (self) return OkStatus();
  if (actor == Role::kOwner) return OkStatus();
  if (actor == Role::kAdmin && target == Role::kMember) return OkStatus();
  return PermissionDeniedError("your role (" + std::string(RoleName(actor)) +
                               ") may not remove a " + std::string(RoleName(target)));
}

}  // namespace sicher::auth
