// AuthService: TOTP enrolment, recovery codes and the operator realm.

#include "sicher/auth/email.h"
#include "sicher/auth/internal/service_util.h"
#include "sicher/auth/service.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/password.h"
#include "sicher/crypto/qr.h"
#include "sicher/crypto/recovery_codes.h"
#include "sicher/crypto/totp.h"

namespace sicher::auth {
namespace {

using internal::TokenHash;
using store::Blob;
using store::Row;
using store::Txn;

// Seals a fresh TOTP secret for `principal_id` as a pending (unconfirmed) credential,
// replacing any earlier pending one. Returns the secret.
Result<SecretBytes> StorePendingSecret(Txn& txn, keys::DataKeys& keys, Random& random,
                                       const std::string& principal_id) {
  SecretBytes secret = crypto::NewTotpSecret(random);
  ASSIGN_OR_RETURN(SecretBytes dek, keys.Get(txn, principal_id));
  ASSIGN_OR_RETURN(std::string sealed,
                   keys.Seal(dek, "mfa_totp", "secret", principal_id, secret.view()));
  RETURN_IF_ERROR(
      txn.Exec("INSERT INTO mfa_totp (principal_id, secret_sealed, confirmed_at, last_step) "
               "VALUES (?, ?, NULL, NULL) ON CONFLICT (principal_id) DO UPDATE SET "
               "secret_sealed = excluded.secret_sealed, confirmed_at = NULL, last_step = NULL",
               {principal_id, Blob{std::move(sealed)}}));
  return secret;
}

// Opens the TOTP secret of `principal_id`: the confirmed one, or the pending one.
Result<std::optional<std::pair<SecretBytes, std::optional<int64_t>>>> LoadSecret(
    Txn& txn, keys::DataKeys& keys, const std::string& principal_id, bool confirmed) {
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne(confirmed ? "SELECT secret_sealed, last_step FROM mfa_totp "
                                            "WHERE principal_id = ? AND confirmed_at IS NOT NULL"
                                          : "SELECT secret_sealed, last_step FROM mfa_totp "
                                            "WHERE principal_id = ? AND confirmed_at IS NULL",
                                {principal_id}));
  using Out = std::optional<std::pair<SecretBytes, std::optional<int64_t>>>;
  if (!row) return Out();
  ASSIGN_OR_RETURN(SecretBytes dek, keys.Get(txn, principal_id));
  ASSIGN_OR_RETURN(std::string secret,
                   keys.Open(dek, "mfa_totp", "secret", principal_id, row->GetBlob(0)));
  SecretBytes bytes{std::string_view(secret)};
  SecureWipe(secret.data(), secret.size());
  return Out(std::make_pair(std::move(bytes), row->GetOptionalInt(1)));
}

}  // namespace

Result<std::vector<std::string>> AuthService::StoreRecoveryCodes(Txn& txn,
                                                                 const std::string& principal_id) {
  RETURN_IF_ERROR(txn.Exec("DELETE FROM recovery_codes WHERE principal_id = ?", {principal_id}));
  std::vector<std::string> codes = crypto::NewRecoveryCodes(env_.random);
  for (const std::string& code : codes) {
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO recovery_codes (principal_id, code_hash, used_at) VALUES (?, ?, NULL)",
        {principal_id, crypto::HashRecoveryCode(code)}));
  }
  return codes;
}

Result<TotpEnrolment> AuthService::BeginTotp(const Principal& who, const ClientInfo& client) {
  if (who.realm != Realm::kUser) {
    return FailedPreconditionError("operators enrol through their enrolment link");
  }
  TotpEnrolment out;
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> confirmed,
                     txn.QueryOne("SELECT 1 FROM mfa_totp WHERE principal_id = ? AND "
                                  "confirmed_at IS NOT NULL",
                                  {who.id}));
    if (confirmed) return FailedPreconditionError("two-factor authentication is already on");
    ASSIGN_OR_RETURN(std::string email, EmailOf(txn, who.id));
    ASSIGN_OR_RETURN(SecretBytes secret, StorePendingSecret(txn, keys_, env_.random, who.id));
    out.secret_base32 = crypto::Base32Encode(secret.view());
    out.otpauth_uri = crypto::OtpauthUri(options_.totp_issuer, email, secret);
    ASSIGN_OR_RETURN(out.qr_svg, crypto::QrSvg(out.otpauth_uri));
    audit::Event ev = ActorEvent("mfa.totp_enrolment_started", who, client);
    ev.target_type = "user";
    ev.target_id = who.id;
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return out;
}

Result<std::vector<std::string>> AuthService::ConfirmTotp(const Principal& who,
                                                          std::string_view code,
                                                          const ClientInfo& client) {
  std::vector<std::string> codes;
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(auto secret, LoadSecret(txn, keys_, who.id, /*confirmed=*/false));
    if (!secret) return FailedPreconditionError("no enrolment in progress; start one first");
    const std::optional<int64_t> step = crypto::VerifyTotp(secret->first, code, now, std::nullopt);
    if (!step) return InvalidArgumentError("the code is not valid; check the device's clock");
    RETURN_IF_ERROR(
        txn.Exec("UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE principal_id = ?",
                 {Micros(now), *step, who.id}));
    ASSIGN_OR_RETURN(codes, StoreRecoveryCodes(txn, who.id));
    // A session that could only enrol becomes a full one.
    RETURN_IF_ERROR(
        txn.Exec("UPDATE sessions SET scope = 'full' WHERE principal_id = ? AND scope = "
                 "'enrol_mfa'",
                 {who.id}));
    audit::Event ev = ActorEvent("mfa.totp_enabled", who, client);
    ev.target_type = "user";
    ev.target_id = who.id;
    ev.details = {{"recovery_codes_issued", codes.size()}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return codes;
}

Status AuthService::VerifyPasswordAndCode(const Principal& who, std::string_view password,
                                          std::string_view code) {
  if (password.empty() || password.size() > 1024 || code.empty() || code.size() > 16) {
    return PermissionDeniedError("password or code is wrong");
  }
  ASSIGN_OR_RETURN(std::string hash, PasswordHashOf(who));
  ASSIGN_OR_RETURN(bool ok, hasher_.Verify(hash, password));
  if (!ok) return PermissionDeniedError("password or code is wrong");
  return store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(auto current, LoadSecret(txn, keys_, who.id, /*confirmed=*/true));
    if (!current) return FailedPreconditionError("two-factor authentication is not on");
    const std::optional<int64_t> step =
        crypto::VerifyTotp(current->first, code, Now(), current->second);
    if (!step) return PermissionDeniedError("password or code is wrong");
    return txn.Exec("UPDATE mfa_totp SET last_step = ? WHERE principal_id = ?", {*step, who.id});
  });
}

Status AuthService::DisableTotp(const Principal& who, std::string_view password,
                                std::string_view code, const ClientInfo& client) {
  if (who.realm == Realm::kOperator) {
    return FailedPreconditionError("operators cannot turn two-factor authentication off");
  }
  RETURN_IF_ERROR(VerifyPasswordAndCode(who, password, code));
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(txn.Exec("DELETE FROM mfa_totp WHERE principal_id = ?", {who.id}));
    RETURN_IF_ERROR(txn.Exec("DELETE FROM recovery_codes WHERE principal_id = ?", {who.id}));
    audit::Event ev = ActorEvent("mfa.totp_disabled", who, client);
    ev.target_type = "user";
    ev.target_id = who.id;
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
}

Result<std::vector<std::string>> AuthService::RegenerateRecoveryCodes(const Principal& who,
                                                                      std::string_view password,
                                                                      std::string_view code,
                                                                      const ClientInfo& client) {
  RETURN_IF_ERROR(VerifyPasswordAndCode(who, password, code));
  std::vector<std::string> codes;
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(codes, StoreRecoveryCodes(txn, who.id));
    audit::Event ev = ActorEvent("mfa.recovery_codes_regenerated", who, client);
    ev.target_type = who.realm == Realm::kUser ? "user" : "operator";
    ev.target_id = who.id;
    ev.details = {{"recovery_codes_issued", codes.size()}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Operators

Result<std::string> AuthService::AddOperator(std::string_view email) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeEmail(email));
  const std::string index = keys_.EmailIndex(norm);
  const std::string id = NewId(env_.random, "opr");
  const std::string token = NewToken(env_.random, 32);
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<Row> existing,
                     txn.QueryOne("SELECT 1 FROM operators WHERE email_index = ?", {index}));
    if (existing) return AlreadyExistsError("an operator with this email address exists");
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Create(txn, id, now));
    ASSIGN_OR_RETURN(std::string sealed, keys_.Seal(dek, "operators", "email", id, norm));
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO operators (id, email_index, email_sealed, password_hash, enrol_token_hash, "
        "enrol_expires_at, created_at, enrolled_at) VALUES (?, ?, ?, NULL, ?, ?, ?, NULL)",
        {id, index, Blob{std::move(sealed)}, TokenHash(token),
         Micros(now + options_.invitation_ttl), Micros(now)}));
    audit::Event ev;
    ev.action = "operator.added";
    ev.scope = std::string(audit::kSystemScope);
    ev.actor_type = audit::ActorType::kSystem;
    ev.actor_id = "cli";
    ev.target_type = "operator";
    ev.target_id = id;
    ev.details = {{"enrolment_expires_at", FormatRfc3339(now + options_.invitation_ttl)}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return token;
}

namespace {
Result<std::string> OperatorForToken(Txn& txn, std::string_view token, Time now) {
  if (token.empty() || token.size() > 128) {
    return UnauthenticatedError("the enrolment link is invalid or expired");
  }
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT id, enrol_expires_at FROM operators WHERE "
                                "enrol_token_hash = ? AND enrolled_at IS NULL",
                                {TokenHash(token)}));
  if (!row || row->IsNull(1) || FromMicros(row->GetInt(1)) <= now) {
    return UnauthenticatedError("the enrolment link is invalid or expired");
  }
  return row->GetText(0);
}
}  // namespace

Result<TotpEnrolment> AuthService::BeginOperatorEnrolment(std::string_view token,
                                                          std::string_view password,
                                                          const ClientInfo& client) {
  RETURN_IF_ERROR(crypto::CheckPasswordPolicy(password));
  ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(password));
  TotpEnrolment out;
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::string id, OperatorForToken(txn, token, Now()));
    RETURN_IF_ERROR(txn.Exec("UPDATE operators SET password_hash = ? WHERE id = ?", {hash, id}));
    ASSIGN_OR_RETURN(std::string email, EmailOf(txn, id));
    ASSIGN_OR_RETURN(SecretBytes secret, StorePendingSecret(txn, keys_, env_.random, id));
    out.secret_base32 = crypto::Base32Encode(secret.view());
    out.otpauth_uri = crypto::OtpauthUri(options_.totp_issuer + " operator", email, secret);
    ASSIGN_OR_RETURN(out.qr_svg, crypto::QrSvg(out.otpauth_uri));
    audit::Event ev = ActorEvent("operator.enrolment_started",
                                 Principal{.id = id, .realm = Realm::kOperator}, client);
    ev.target_type = "operator";
    ev.target_id = id;
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return out;
}

Result<std::vector<std::string>> AuthService::ConfirmOperatorEnrolment(std::string_view token,
                                                                       std::string_view code,
                                                                       const ClientInfo& client) {
  std::vector<std::string> codes;
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::string id, OperatorForToken(txn, token, now));
    ASSIGN_OR_RETURN(auto secret, LoadSecret(txn, keys_, id, /*confirmed=*/false));
    if (!secret) return FailedPreconditionError("set a password first");
    const std::optional<int64_t> step = crypto::VerifyTotp(secret->first, code, now, std::nullopt);
    if (!step) return InvalidArgumentError("the code is not valid; check the device's clock");
    RETURN_IF_ERROR(
        txn.Exec("UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE principal_id = ?",
                 {Micros(now), *step, id}));
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE operators SET enrolled_at = ?, enrol_token_hash = NULL, enrol_expires_at = NULL "
        "WHERE id = ?",
        {Micros(now), id}));
    ASSIGN_OR_RETURN(codes, StoreRecoveryCodes(txn, id));
    audit::Event ev =
        ActorEvent("operator.enrolled", Principal{.id = id, .realm = Realm::kOperator}, client);
    ev.target_type = "operator";
    ev.target_id = id;
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return codes;
}

}  // namespace sicher::auth
