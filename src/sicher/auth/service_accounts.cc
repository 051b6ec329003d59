// AuthService: accounts, members, roles and invitations.

#include "sicher/auth/email.h"
#include "sicher/auth/internal/service_util.h"
#include "sicher/auth/service.h"
#include "sicher/base/ids.h"

namespace sicher::auth {
namespace {

using internal::FromMicros;
using internal::Micros;
using internal::TokenHash;
using store::Blob;
using store::Row;
using store::Txn;

Status RequireUser(const Principal& who) {
  if (who.realm != Realm::kUser) return PermissionDeniedError("operators are not members");
  if (who.enrol_only) {
    return PermissionDeniedError(
        "this account requires two-factor authentication: enrol a second factor first");
  }
  return OkStatus();
}

Result<Role> RoleInTxn(Txn& txn, std::string_view account_id, std::string_view user_id) {
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT role FROM memberships WHERE account_id = ? AND "
                                "user_id = ?",
                                {std::string(account_id), std::string(user_id)}));
  // Non-members learn nothing, not even that the account exists.
  if (!row) return NotFoundError("no such account");
  return ParseRole(row->GetText(0)).value_or(Role::kMember);
}

}  // namespace

Result<Role> AuthService::RoleIn(const Principal& who, std::string_view account_id) {
  RETURN_IF_ERROR(RequireUser(who));
  if (!IsValidId(account_id, "acc")) return NotFoundError("no such account");
  Role role = Role::kMember;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(role, RoleInTxn(txn, account_id, who.id));
    return OkStatus();
  }));
  return role;
}

Result<AccountView> AuthService::GetAccount(const Principal& who, std::string_view account_id) {
  ASSIGN_OR_RETURN(Role role, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(role, Action::kAccountRead));
  AccountView view;
  view.id = std::string(account_id);
  view.your_role = role;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(
        std::optional<Row> row,
        txn.QueryOne("SELECT name_sealed, require_mfa FROM accounts WHERE id = ?", {view.id}));
    if (!row) return NotFoundError("no such account");
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, view.id));
    ASSIGN_OR_RETURN(view.name, keys_.Open(dek, "accounts", "name", view.id, row->GetBlob(0)));
    view.require_mfa = row->GetInt(1) != 0;
    return OkStatus();
  }));
  return view;
}

Status AuthService::UpdateAccount(const Principal& who, std::string_view account_id,
                                  std::optional<std::string> name,
                                  std::optional<bool> require_mfa) {
  ASSIGN_OR_RETURN(Role role, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(role, Action::kAccountUpdate));
  if (name) RETURN_IF_ERROR(internal::ValidateName("name", *name));
  const std::string id(account_id);
  return store_.Write([&](Txn& txn) -> Status {
    if (name) {
      ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, id));
      ASSIGN_OR_RETURN(std::string sealed, keys_.Seal(dek, "accounts", "name", id, *name));
      RETURN_IF_ERROR(txn.Exec("UPDATE accounts SET name_sealed = ? WHERE id = ?",
                               {Blob{std::move(sealed)}, id}));
    }
    if (require_mfa) {
      RETURN_IF_ERROR(txn.Exec("UPDATE accounts SET require_mfa = ? WHERE id = ?",
                               {int64_t{*require_mfa ? 1 : 0}, id}));
    }
    return OkStatus();
  });
}

Result<std::vector<MemberView>> AuthService::ListMembers(const Principal& who,
                                                         std::string_view account_id) {
  ASSIGN_OR_RETURN(Role role, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(role, Action::kMembersList));
  std::vector<MemberView> out;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     txn.Query("SELECT m.user_id, m.role, u.email_sealed, u.name_sealed FROM "
                               "memberships m JOIN users u ON u.id = m.user_id WHERE "
                               "m.account_id = ? ORDER BY m.created_at, m.user_id",
                               {std::string(account_id)}));
    for (const Row& r : rows) {
      MemberView m;
      m.user_id = r.GetText(0);
      m.role = ParseRole(r.GetText(1)).value_or(Role::kMember);
      ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, m.user_id));
      ASSIGN_OR_RETURN(m.email, keys_.Open(dek, "users", "email", m.user_id, r.GetBlob(2)));
      ASSIGN_OR_RETURN(m.name, keys_.Open(dek, "users", "name", m.user_id, r.GetBlob(3)));
      out.push_back(std::move(m));
    }
    return OkStatus();
  }));
  return out;
}

Result<Invitation> AuthService::Invite(const Principal& who, std::string_view account_id,
                                       std::string_view email, Role role) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kMembersInvite));
  RETURN_IF_ERROR(AuthorizeRoleGrant(actor, role));
  ASSIGN_OR_RETURN(std::string norm, NormalizeEmail(email));
  const std::string index = keys_.EmailIndex(norm);
  Invitation inv;
  inv.id = NewId(env_.random, "inv");
  inv.token = NewToken(env_.random, 32);
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<Row> member,
                     txn.QueryOne("SELECT 1 FROM memberships m JOIN users u ON u.id = "
                                  "m.user_id WHERE m.account_id = ? AND u.email_index = ?",
                                  {std::string(account_id), index}));
    if (member) return AlreadyExistsError("this person is already a member");
    inv.expires_at = now + options_.invitation_ttl;
    return txn.Exec(
        "INSERT INTO invitations (id, token_hash, account_id, email_index, role, invited_by, "
        "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {inv.id, TokenHash(inv.token), std::string(account_id), index, std::string(RoleName(role)),
         who.id, Micros(now), Micros(inv.expires_at)});
  }));
  return inv;
}

Result<std::string> AuthService::AcceptInvitation(const Principal& who, std::string_view token) {
  RETURN_IF_ERROR(RequireUser(who));
  if (token.empty() || token.size() > 128) {
    return NotFoundError("the invitation is invalid or expired");
  }
  std::string account_id;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<Row> inv,
                     txn.QueryOne("SELECT id, account_id, email_index, role, expires_at FROM "
                                  "invitations WHERE token_hash = ? AND accepted_at IS NULL AND "
                                  "revoked_at IS NULL",
                                  {TokenHash(token)}));
    if (!inv || FromMicros(inv->GetInt(4)) <= now) {
      return NotFoundError("the invitation is invalid or expired");
    }
    ASSIGN_OR_RETURN(std::optional<Row> user,
                     txn.QueryOne("SELECT email_index FROM users WHERE id = ?", {who.id}));
    if (!user || user->GetText(0) != inv->GetText(2)) {
      return PermissionDeniedError("this invitation is for another email address");
    }
    account_id = inv->GetText(1);
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account_id, user_id) DO NOTHING",
        {account_id, who.id, inv->GetText(3), Micros(now)}));
    return txn.Exec("UPDATE invitations SET accepted_at = ? WHERE id = ?",
                    {Micros(now), inv->GetText(0)});
  }));
  return account_id;
}

Status AuthService::ChangeRole(const Principal& who, std::string_view account_id,
                               std::string_view user_id, Role role) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kMembersChangeRole));
  RETURN_IF_ERROR(AuthorizeRoleGrant(actor, role));
  return store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, user_id));
    if (target == Role::kOwner) {
      return FailedPreconditionError("the owner's role changes only by transferring ownership");
    }
    return txn.Exec("UPDATE memberships SET role = ? WHERE account_id = ? AND user_id = ?",
                    {std::string(RoleName(role)), std::string(account_id), std::string(user_id)});
  });
}

Status AuthService::RemoveMember(const Principal& who, std::string_view account_id,
                                 std::string_view user_id) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  const bool self = user_id == who.id;
  if (!self) RETURN_IF_ERROR(Authorize(actor, Action::kMembersRemove));
  return store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, user_id));
    RETURN_IF_ERROR(AuthorizeMemberRemoval(actor, target, self));
    return txn.Exec("DELETE FROM memberships WHERE account_id = ? AND user_id = ?",
                    {std::string(account_id), std::string(user_id)});
  });
}

Status AuthService::TransferOwnership(const Principal& who, std::string_view account_id,
                                      std::string_view new_owner_id) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kOwnershipTransfer));
  if (new_owner_id == who.id) return InvalidArgumentError("you already own this account");
  return store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, new_owner_id));
    (void)target;
    // Demote first: at most one owner per account is a unique index.
    RETURN_IF_ERROR(
        txn.Exec("UPDATE memberships SET role = 'admin' WHERE account_id = ? AND user_id = ?",
                 {std::string(account_id), who.id}));
    return txn.Exec("UPDATE memberships SET role = 'owner' WHERE account_id = ? AND user_id = ?",
                    {std::string(account_id), std::string(new_owner_id)});
  });
}

}  // namespace sicher::auth
