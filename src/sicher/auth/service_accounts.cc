// AuthService: accounts, members, roles and invitations.

#include "sicher/auth/email.h"
#include "sicher/auth/internal/service_util.h"
#include "sicher/auth/service.h"
#include "sicher/base/ids.h"

namespace sicher::auth {
namespace {

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

// An account-scoped audit event by `who`.
audit::Event AccountEvent(audit::Event ev, std::string_view account_id) {
  ev.scope = std::string(account_id);
  ev.account_id = std::string(account_id);
  return ev;
}

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
                                  std::optional<std::string> name, std::optional<bool> require_mfa,
                                  const ClientInfo& client) {
  ASSIGN_OR_RETURN(Role role, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(role, Action::kAccountUpdate));
  if (name) RETURN_IF_ERROR(internal::ValidateName("name", *name));
  const std::string id(account_id);
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    audit::Event ev = AccountEvent(ActorEvent("account.updated", who, client), id);
    ev.target_type = "account";
    ev.target_id = id;
    nlohmann::json changes = nlohmann::json::object();
    if (name) {
      // The name is personal data: the log says that it changed, not what to.
      changes["name"] = {{"changed", true}};
      ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, id));
      ASSIGN_OR_RETURN(std::string sealed, keys_.Seal(dek, "accounts", "name", id, *name));
      RETURN_IF_ERROR(txn.Exec("UPDATE accounts SET name_sealed = ? WHERE id = ?",
                               {Blob{std::move(sealed)}, id}));
    }
    if (require_mfa) {
      ASSIGN_OR_RETURN(std::optional<Row> before,
                       txn.QueryOne("SELECT require_mfa FROM accounts WHERE id = ?", {id}));
      if (!before) return NotFoundError("no such account");
      changes["require_mfa"] = {{"from", before->GetInt(0) != 0}, {"to", *require_mfa}};
      RETURN_IF_ERROR(txn.Exec("UPDATE accounts SET require_mfa = ? WHERE id = ?",
                               {int64_t{*require_mfa ? 1 : 0}, id}));
    }
    ev.details = {{"changes", std::move(changes)}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
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
                                       std::string_view email, Role role,
                                       const ClientInfo& client) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kMembersInvite));
  RETURN_IF_ERROR(AuthorizeRoleGrant(actor, role));
  ASSIGN_OR_RETURN(std::string norm, NormalizeEmail(email));
  const std::string index = keys_.EmailIndex(norm);
  Invitation inv;
  inv.id = NewId(env_.random, "inv");
  inv.token = NewToken(env_.random, 32);
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<Row> member,
                     txn.QueryOne("SELECT 1 FROM memberships m JOIN users u ON u.id = "
                                  "m.user_id WHERE m.account_id = ? AND u.email_index = ?",
                                  {std::string(account_id), index}));
    if (member) return AlreadyExistsError("this person is already a member");
    inv.expires_at = now + options_.invitation_ttl;
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO invitations (id, token_hash, account_id, email_index, role, invited_by, "
        "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {inv.id, TokenHash(inv.token), std::string(account_id), index, std::string(RoleName(role)),
         who.id, Micros(now), Micros(inv.expires_at)}));
    audit::Event ev = AccountEvent(ActorEvent("member.invited", who, client), account_id);
    ev.target_type = "invitation";
    ev.target_id = inv.id;
    ev.details = {{"role", RoleName(role)}, {"expires_at", FormatRfc3339(inv.expires_at)}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return inv;
}

Result<std::string> AuthService::AcceptInvitation(const Principal& who, std::string_view token,
                                                  const ClientInfo& client) {
  RETURN_IF_ERROR(RequireUser(who));
  if (token.empty() || token.size() > 128) {
    return NotFoundError("the invitation is invalid or expired");
  }
  std::string account_id;
  audit::Pending pending;
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
    RETURN_IF_ERROR(txn.Exec("UPDATE invitations SET accepted_at = ? WHERE id = ?",
                             {Micros(now), inv->GetText(0)}));
    audit::Event ev = AccountEvent(ActorEvent("invitation.accepted", who, client), account_id);
    ev.target_type = "invitation";
    ev.target_id = inv->GetText(0);
    ev.details = {{"role", inv->GetText(3)}, {"user_id", who.id}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return account_id;
}

Status AuthService::ChangeRole(const Principal& who, std::string_view account_id,
                               std::string_view user_id, Role role, const ClientInfo& client) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kMembersChangeRole));
  RETURN_IF_ERROR(AuthorizeRoleGrant(actor, role));
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, user_id));
    if (target == Role::kOwner) {
      return FailedPreconditionError("the owner's role changes only by transferring ownership");
    }
    RETURN_IF_ERROR(
        txn.Exec("UPDATE memberships SET role = ? WHERE account_id = ? AND user_id = ?",
                 {std::string(RoleName(role)), std::string(account_id), std::string(user_id)}));
    audit::Event ev = AccountEvent(ActorEvent("member.role_changed", who, client), account_id);
    ev.target_type = "user";
    ev.target_id = std::string(user_id);
    ev.details = {{"changes", {{"role", {{"from", RoleName(target)}, {"to", RoleName(role)}}}}}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
}

Status AuthService::RemoveMember(const Principal& who, std::string_view account_id,
                                 std::string_view user_id, const ClientInfo& client) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  const bool self = user_id == who.id;
  if (!self) RETURN_IF_ERROR(Authorize(actor, Action::kMembersRemove));
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, user_id));
    RETURN_IF_ERROR(AuthorizeMemberRemoval(actor, target, self));
    RETURN_IF_ERROR(txn.Exec("DELETE FROM memberships WHERE account_id = ? AND user_id = ?",
                             {std::string(account_id), std::string(user_id)}));
    audit::Event ev = AccountEvent(ActorEvent("member.removed", who, client), account_id);
    ev.target_type = "user";
    ev.target_id = std::string(user_id);
    ev.details = {{"role", RoleName(target)}, {"left_by_themselves", self}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
}

Status AuthService::TransferOwnership(const Principal& who, std::string_view account_id,
                                      std::string_view new_owner_id, const ClientInfo& client) {
  ASSIGN_OR_RETURN(Role actor, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(actor, Action::kOwnershipTransfer));
  if (new_owner_id == who.id) return InvalidArgumentError("you already own this account");
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(Role target, RoleInTxn(txn, account_id, new_owner_id));
    // Demote first: at most one owner per account is a unique index.
    RETURN_IF_ERROR(
        txn.Exec("UPDATE memberships SET role = 'admin' WHERE account_id = ? AND user_id = ?",
                 {std::string(account_id), who.id}));
    RETURN_IF_ERROR(
        txn.Exec("UPDATE memberships SET role = 'owner' WHERE account_id = ? AND user_id = ?",
                 {std::string(account_id), std::string(new_owner_id)}));
    audit::Event ev =
        AccountEvent(ActorEvent("account.ownership_transferred", who, client), account_id);
    ev.target_type = "user";
    ev.target_id = std::string(new_owner_id);
    ev.details = {{"changes", {{"owner", {{"from", who.id}, {"to", std::string(new_owner_id)}}}}},
                  {"previous_role_of_new_owner", RoleName(target)}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
}

Result<std::vector<std::string>> AuthService::MemberIds(std::string_view account_id) {
  std::vector<std::string> out;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     txn.Query("SELECT user_id FROM memberships WHERE account_id = ? ORDER BY "
                               "user_id",
                               {std::string(account_id)}));
    for (const Row& r : rows) out.push_back(r.GetText(0));
    return OkStatus();
  }));
  return out;
}

}  // namespace sicher::auth
