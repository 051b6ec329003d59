#pragma once
// Roles and the permission matrix: the one function that decides what a member may do in an
// account. Every handler that acts on an account asks Authorize() first; docs/design/auth.md
// prints the same matrix as a table (and permissions_test.cc checks the two agree).

#include <optional>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::auth {

enum class Role { kOwner, kAdmin, kMember };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

enum class Action {
  kAccountRead,        // account name and settings
  kAccountUpdate,      // settings such as "require 2FA for all members"
  kAccountDelete,      // request deletion of the whole account
  kOwnershipTransfer,  // hand ownership to another member
  kMembersList,        // see members and their roles
  kMembersInvite,      // invite someone (role limits: see AuthorizeRoleGrant)
  kMembersChangeRole,  // change a member's role
  kMembersRemove,      // remove a member (target limits: see AuthorizeMemberRemoval)
  kLoginsReadAll,      // every member's login history
  kAuditRead,          // the account's audit and access log, and its export
  kDocumentsUpload,    // upload and replace documents
  kDocumentsRead,      // list documents, read metadata and content
  kDocumentsDelete,    // delete documents
  kLinksManage,        // create, list and revoke publishing links
};
std::string_view ActionName(Action action);
inline constexpr Action kAllActions[] = {
    Action::kAccountRead,       Action::kAccountUpdate,   Action::kAccountDelete,
    Action::kOwnershipTransfer, Action::kMembersList,     Action::kMembersInvite,
    Action::kMembersChangeRole, Action::kMembersRemove,   Action::kLoginsReadAll,
    Action::kAuditRead,         Action::kDocumentsUpload, Action::kDocumentsRead,
    Action::kDocumentsDelete,   Action::kLinksManage};

// True when `role` may perform `action` at all.
bool Allowed(Role role, Action action);
// OK, or PermissionDenied naming the action (never the account's contents).
Status Authorize(Role role, Action action);
// May `actor` give someone `granted`? Owners grant admin and member; admins grant member only.
// Ownership itself moves only by kOwnershipTransfer.
Status AuthorizeRoleGrant(Role actor, Role granted);
// May `actor` remove a member holding `target`? Owners remove admins and members; admins
// remove members; nobody removes the owner (transfer ownership first). Anyone may leave
// (self-removal) except the owner.
Status AuthorizeMemberRemoval(Role actor, Role target, bool self);

}  // namespace sicher::auth
