#include "sicher/auth/service.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "sicher/auth/email.h"
#include "sicher/auth/internal/service_util.h"
#include "sicher/base/bytes.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/hash.h"
#include "sicher/crypto/password.h"
#include "sicher/crypto/qr.h"
#include "sicher/crypto/recovery_codes.h"
#include "sicher/crypto/totp.h"

namespace sicher::auth {
namespace {

using store::Blob;
using store::Row;
using store::Txn;
using store::Value;

constexpr std::string_view kInvalidLogin = "invalid email or password";
// Owner of the data key that seals the client fields of attempts by unknown addresses (the
// audit log's system scope uses the same key).
constexpr std::string_view kSystemKeyOwner = "system";
constexpr size_t kMaxUserAgentBytes = 512;
constexpr Duration kLastUsedGranularity = std::chrono::seconds(60);

using internal::TokenHash;
using internal::ValidateName;

// The audit action of a login record: the step for attempts, the session verb otherwise.
std::string_view LoginActionFor(std::string_view method, std::string_view reason) {
  if (method == "session") return reason == "logout" ? "session.logout" : "session.revoked";
  if (method == "totp") return "login.totp";
  if (method == "recovery_code") return "login.recovery_code";
  return "login.password";
}

std::string_view PrincipalTable(Realm realm) {
  return realm == Realm::kUser ? "users" : "operators";
}

Result<std::optional<ThrottleState>> LoadThrottle(Txn& txn, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT failures, window_start, last_failure_at, locked_until "
                                "FROM auth_throttle WHERE key = ?",
                                {key}));
  if (!row) return std::optional<ThrottleState>();
  ThrottleState s;
  s.failures = row->GetInt(0);
  s.window_start = FromMicros(row->GetInt(1));
  s.last_failure = FromMicros(row->GetInt(2));
  if (auto locked = row->GetOptionalInt(3)) s.locked_until = FromMicros(*locked);
  return std::optional<ThrottleState>(s);
}

Status SaveThrottle(Txn& txn, const std::string& key, const ThrottleState& s) {
  const Value locked = s.locked_until ? Value(Micros(*s.locked_until)) : Value(store::kNull);
  return txn.Exec(
      "INSERT INTO auth_throttle (key, failures, window_start, last_failure_at, locked_until) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
      "window_start = excluded.window_start, last_failure_at = excluded.last_failure_at, "
      "locked_until = excluded.locked_until",
      {key, s.failures, Micros(s.window_start), Micros(s.last_failure), locked});
}

Status ClearThrottle(Txn& txn, const std::string& key) {
  return txn.Exec("DELETE FROM auth_throttle WHERE key = ?", {key});
}

// Bounded state: counters whose window has passed and challenges that expired are deleted as
// part of the next failure or challenge, through indexes, so an attacker spraying addresses or
// IPs cannot grow these tables without limit.
Status ForgetStale(Txn& txn, Time now, Duration window) {
  const int64_t cutoff = Micros(now - window);
  RETURN_IF_ERROR(
      txn.Exec("DELETE FROM auth_throttle WHERE last_failure_at < ? AND (locked_until IS NULL OR "
               "locked_until < ?)",
               {cutoff, Micros(now)}));
  return txn.Exec("DELETE FROM mfa_challenges WHERE expires_at < ?", {Micros(now)});
}

std::string SubjectKey(Realm realm, std::string_view email_index) {
  return fmt::format("s:{}:{}", RealmName(realm), email_index);
}

std::string EncodeCursor(int64_t at, std::string_view id) {
  return Base64UrlEncode(fmt::format("{}:{}", at, id));
}

bool DecodeCursor(std::string_view cursor, int64_t* at, std::string* id) {
  std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw) return false;
  const size_t colon = raw->find(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    size_t used = 0;
    *at = std::stoll(raw->substr(0, colon), &used);
    if (used != colon) return false;
  } catch (...) {
    return false;
  }
  *id = raw->substr(colon + 1);
  return IsValidId(*id, "lev");
}

}  // namespace

std::string_view RealmName(Realm realm) { return realm == Realm::kUser ? "user" : "operator"; }

struct AuthService::Parsed {
  std::string user_agent;
  std::string device_type, os, browser, ua_parser;
  std::string ch_mobile, ch_platform;
  std::string country;
};

struct AuthService::LoginRecord {
  Realm realm = Realm::kUser;
  std::string principal_id;
  std::string subject_index;
  std::string outcome;
  std::string reason;
  std::string method;
  std::string session_id;
  bool new_device = false;
  int64_t suppressed_refusals = 0;  // throttled attempts from this address not recorded
};

AuthService::AuthService(store::Store& store, crypto::Keyring& keyring, PasswordHasher& hasher,
                         const net::UserAgentParser& ua_parser, events::Bus& bus, audit::Log& audit,
                         Env& env, AuthOptions options)
    : store_(store),
      keyring_(keyring),
      hasher_(hasher),
      ua_parser_(ua_parser),
      bus_(bus),
      audit_(audit),
      env_(env),
      options_(std::move(options)),
      keys_(keyring, env.random) {}

AuthService::Parsed AuthService::ParseClient(const ClientInfo& client, bool with_country) const {
  Parsed p;
  p.user_agent = std::string(TruncateUtf8(client.user_agent, kMaxUserAgentBytes));
  const net::ParsedUserAgent ua =
      ua_parser_.Parse(p.user_agent, net::ParseClientHints(client.ch_mobile, client.ch_platform));
  p.device_type = std::string(net::DeviceTypeName(ua.device_type));
  p.os = ua.os;
  p.browser = ua.browser;
  p.ua_parser = "uap-core " + std::string(ua_parser_.uap_core_version());
  p.ch_mobile = std::string(TruncateUtf8(client.ch_mobile, 16));
  p.ch_platform = std::string(TruncateUtf8(client.ch_platform, 64));
  if (with_country && geo_ != nullptr) p.country = geo_->CountryIsoCode(client.ip);
  return p;
}

Status AuthService::RecordLogin(Txn& txn, const LoginRecord& r, const ClientInfo& client,
                                const Parsed& p, LoginNote* note) {
  events::LoginAttempted* out = &note->login;
  const std::string id = NewId(env_.random, "lev");
  auto opt = [](const std::string& v) { return v.empty() ? Value(store::kNull) : Value(v); };
  ASSIGN_OR_RETURN(std::string client_sealed,
                   SealClient(txn, r.principal_id, "login_events", id, client.ip, p.user_agent));
  RETURN_IF_ERROR(txn.Exec(
      "INSERT INTO login_events (id, at, realm, principal_id, subject_index, outcome, reason, "
      "method, client_ip, user_agent, device_type, os, browser, ua_parser, ch_mobile, "
      "ch_platform, session_id, new_device, request_id, country, client_sealed) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, Micros(Now()), std::string(RealmName(r.realm)), opt(r.principal_id),
       opt(r.subject_index), r.outcome, r.reason, r.method, p.device_type, p.os, p.browser,
       p.ua_parser, opt(p.ch_mobile), opt(p.ch_platform), opt(r.session_id),
       int64_t{r.new_device ? 1 : 0}, client.request_id, opt(p.country), Blob{client_sealed}}));
  *out = events::LoginAttempted{.id = id,
                                .realm = std::string(RealmName(r.realm)),
                                .principal_id = r.principal_id,
                                .outcome = r.outcome,
                                .reason = r.reason,
                                .method = r.method,
                                .client_ip = client.ip,
                                .user_agent = p.user_agent,
                                .device_type = p.device_type,
                                .os = p.os,
                                .browser = p.browser,
                                .session_id = r.session_id,
                                .new_device = r.new_device,
                                .request_id = client.request_id};
  audit::Event ev = ClientEvent(LoginActionFor(r.method, r.reason), client, p);
  ev.country = p.country;
  ev.scope = r.principal_id.empty() ? std::string(audit::kSystemScope) : r.principal_id;
  ev.actor_type = r.realm == Realm::kUser ? audit::ActorType::kUser : audit::ActorType::kOperator;
  ev.actor_id = r.principal_id;
  ev.target_type = r.realm == Realm::kUser ? "user" : "operator";
  ev.target_id = r.principal_id;
  ev.outcome = r.outcome;
  ev.reason = r.reason;
  ev.details = {{"realm", RealmName(r.realm)}, {"method", r.method}, {"login_event_id", id},
                {"new_device", r.new_device},  {"os", p.os},         {"browser", p.browser},
                {"ua_parser", p.ua_parser}};
  if (!r.session_id.empty()) ev.details["session_id"] = r.session_id;
  if (r.suppressed_refusals > 0) ev.details["suppressed_refusals"] = r.suppressed_refusals;
  if (!p.ch_mobile.empty()) ev.details["ch_mobile"] = p.ch_mobile;
  if (!p.ch_platform.empty()) ev.details["ch_platform"] = p.ch_platform;
  return audit_.Append(txn, ev, &note->audit);
}

Result<std::string> AuthService::SealClient(Txn& txn, const std::string& owner,
                                            std::string_view table, const std::string& row_id,
                                            std::string_view ip, std::string_view user_agent) {
  const std::string key_owner = owner.empty() ? std::string(kSystemKeyOwner) : owner;
  Result<SecretBytes> dek = keys_.Get(txn, key_owner);
  if (!dek.ok() && dek.status().code() == StatusCode::kNotFound && owner.empty()) {
    dek = keys_.Create(txn, key_owner, Now());
  }
  if (!dek.ok()) return dek.status();
  const nlohmann::json client = {{"ip", ip}, {"user_agent", user_agent}};
  return keys_.Seal(*dek, table, "client_sealed", row_id,
                    client.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<std::pair<std::string, std::string>> AuthService::OpenClient(Txn& txn,
                                                                    const std::string& owner,
                                                                    std::string_view table,
                                                                    const std::string& row_id,
                                                                    std::string_view sealed) {
  const std::string key_owner = owner.empty() ? std::string(kSystemKeyOwner) : owner;
  Result<SecretBytes> dek = keys_.Get(txn, key_owner);
  // A deleted owner's key is gone: the address and agent are gone with it.
  if (!dek.ok() && dek.status().code() == StatusCode::kNotFound) {
    return std::pair<std::string, std::string>{};
  }
  if (!dek.ok()) return dek.status();
  ASSIGN_OR_RETURN(std::string plain, keys_.Open(*dek, table, "client_sealed", row_id, sealed));
  const nlohmann::json j = nlohmann::json::parse(plain, nullptr, false);
  if (!j.is_object() || !j.contains("ip") || !j["ip"].is_string() || !j.contains("user_agent") ||
      !j["user_agent"].is_string()) {
    return DataLossError("a sealed client record is malformed");
  }
  return std::pair<std::string, std::string>{j["ip"].get<std::string>(),
                                             j["user_agent"].get<std::string>()};
}

void AuthService::PublishLogin(LoginNote& note) {
  audit_.Publish(note.audit);
  bus_.Publish(note.login);
}

audit::Event AuthService::ClientEvent(std::string_view action, const ClientInfo& client,
                                      const Parsed& p) const {
  audit::Event ev;
  ev.action = action;
  ev.ip = client.ip;
  ev.user_agent = p.user_agent;
  ev.device_type = p.device_type;
  ev.request_id = client.request_id;
  return ev;
}

audit::Event AuthService::ActorEvent(std::string_view action, const Principal& who,
                                     const ClientInfo& client) const {
  audit::Event ev = ClientEvent(action, client, ParseClient(client, /*with_country=*/false));
  ev.scope = who.id;
  ev.actor_type = who.realm == Realm::kUser ? audit::ActorType::kUser : audit::ActorType::kOperator;
  ev.actor_id = who.id;
  return ev;
}

std::string AuthService::CsrfToken(std::string_view session_id) const {
  return keyring_.BlindIndex("csrf", session_id);
}

Result<NewSession> AuthService::CreateSession(Txn& txn, const std::string& principal_id,
                                              Realm realm, bool enrol_only,
                                              const ClientInfo& client, const Parsed& p, Time now) {
  NewSession s;
  s.session_id = NewId(env_.random, "ses");
  s.token = NewToken(env_.random, 32);
  s.csrf_token = CsrfToken(s.session_id);
  s.expires_at = now + options_.session_lifetime;
  s.lifetime = options_.session_lifetime;
  s.enrol_only = enrol_only;
  ASSIGN_OR_RETURN(std::string client_sealed, SealClient(txn, principal_id, "sessions",
                                                         s.session_id, client.ip, p.user_agent));
  RETURN_IF_ERROR(
      txn.Exec("INSERT INTO sessions (id, token_hash, principal_id, realm, scope, created_at, "
               "last_used_at, expires_at, client_ip, user_agent, device_type, os, browser, "
               "client_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?)",
               {s.session_id, TokenHash(s.token), principal_id, std::string(RealmName(realm)),
                std::string(enrol_only ? "enrol_mfa" : "full"), Micros(now), Micros(now),
                Micros(s.expires_at), p.device_type, p.os, p.browser, Blob{client_sealed}}));
  return s;
}

Result<bool> AuthService::IsNewDevice(Txn& txn, const std::string& principal_id, const Parsed& p,
                                      Time now) {
  const std::string key = p.device_type + "|" + p.browser + "|" + p.os;
  RETURN_IF_ERROR(
      txn.Exec("INSERT INTO user_devices (principal_id, device_key, first_seen) VALUES (?, ?, ?) "
               "ON CONFLICT (principal_id, device_key) DO NOTHING",
               {principal_id, key, Micros(now)}));
  return txn.ChangedRows() == 1;
}

Result<bool> AuthService::RequiresMfa(Txn& txn, const std::string& user_id) {
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne("SELECT 1 FROM memberships m JOIN accounts a ON a.id = "
                                "m.account_id WHERE m.user_id = ? AND a.require_mfa = 1 LIMIT 1",
                                {user_id}));
  return row.has_value();
}

Result<std::string> AuthService::EmailOf(Txn& txn, const std::string& principal_id) {
  const bool user = principal_id.starts_with("usr_");
  ASSIGN_OR_RETURN(std::optional<Row> row,
                   txn.QueryOne(user ? "SELECT email_sealed FROM users WHERE id = ?"
                                     : "SELECT email_sealed FROM operators WHERE id = ?",
                                {principal_id}));
  if (!row) return NotFoundError("no such user");
  ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, principal_id));
  return keys_.Open(dek, user ? "users" : "operators", "email", principal_id, row->GetBlob(0));
}

// ---------------------------------------------------------------------------------------------
// Sign-up and login

Result<SignupResult> AuthService::Signup(std::string_view email, std::string_view password,
                                         std::string_view name, std::string_view account_name,
                                         const ClientInfo& client) {
  if (!options_.signup_open) return PermissionDeniedError("sign-up is closed on this server");
  ASSIGN_OR_RETURN(std::string norm, NormalizeEmail(email));
  RETURN_IF_ERROR(ValidateName("name", name));
  RETURN_IF_ERROR(ValidateName("account_name", account_name));
  RETURN_IF_ERROR(crypto::CheckPasswordPolicy(password));
  // Per-IP sign-up budget: every attempt that gets as far as hashing is charged first, in its
  // own committed write, whatever happens next (a taken address, a failed insert), so the
  // Argon2id work one address can cause is bounded.
  ThrottlePolicy signup_policy = options_.throttle;
  signup_policy.ip_failure_limit = options_.throttle.signup_ip_limit;
  const std::string ip_key = "signup-ip:" + keyring_.BlindIndex("throttle_ip", client.ip);
  Duration wait{};
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<ThrottleState> ip, LoadThrottle(txn, ip_key));
    wait = IpWait(ip, signup_policy, now);
    if (wait > Duration::zero()) return OkStatus();
    return SaveThrottle(txn, ip_key, IpFailure(ip, signup_policy, now));
  }));
  if (wait > Duration::zero()) {
    return ResourceExhaustedError(fmt::format(
        "too many sign-ups from this address; retry in {} s",
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(wait).count())));
  }
  ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(password));
  const std::string index = keys_.EmailIndex(norm);
  SignupResult out{NewId(env_.random, "usr"), NewId(env_.random, "acc")};
  const Time now = Now();
  audit::Pending pending;
  Status s = store_.Write([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> existing,
                     txn.QueryOne("SELECT 1 FROM users WHERE email_index = ?", {index}));
    if (existing) return AlreadyExistsError("a user with this email address already exists");
    ASSIGN_OR_RETURN(SecretBytes user_dek, keys_.Create(txn, out.user_id, now));
    ASSIGN_OR_RETURN(SecretBytes account_dek, keys_.Create(txn, out.account_id, now));
    ASSIGN_OR_RETURN(std::string email_sealed,
                     keys_.Seal(user_dek, "users", "email", out.user_id, norm));
    ASSIGN_OR_RETURN(std::string name_sealed,
                     keys_.Seal(user_dek, "users", "name", out.user_id, name));
    ASSIGN_OR_RETURN(std::string account_sealed,
                     keys_.Seal(account_dek, "accounts", "name", out.account_id, account_name));
    RETURN_IF_ERROR(
        txn.Exec("INSERT INTO users (id, email_index, email_sealed, name_sealed, password_hash, "
                 "created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 {out.user_id, index, Blob{email_sealed}, Blob{name_sealed}, hash, Micros(now),
                  Micros(now)}));
    RETURN_IF_ERROR(txn.Exec(
        "INSERT INTO accounts (id, name_sealed, require_mfa, created_at) VALUES (?, ?, 0, ?)",
        {out.account_id, Blob{account_sealed}, Micros(now)}));
    RETURN_IF_ERROR(
        txn.Exec("INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, "
                 "'owner', ?)",
                 {out.account_id, out.user_id, Micros(now)}));
    audit::Event ev = ActorEvent("account.created", Principal{.id = out.user_id}, client);
    ev.scope = out.account_id;
    ev.account_id = out.account_id;
    ev.target_type = "account";
    ev.target_id = out.account_id;
    ev.details = {{"signup", true}, {"owner", out.user_id}};
    return audit_.Append(txn, ev, &pending);
  });
  if (s.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a user with this email address already exists");
  }
  RETURN_IF_ERROR(s);
  audit_.Publish(pending);
  return out;
}

Result<LoginOutcome> AuthService::Login(Realm realm, std::string_view email,
                                        std::string_view password, const ClientInfo& client) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeEmail(email));
  if (password.empty()) return InvalidArgumentError("password is required");
  if (password.size() > 1024) return InvalidArgumentError("password is longer than 1024 bytes");
  const std::string index = keys_.EmailIndex(norm);
  const std::string subject_key = SubjectKey(realm, index);
  const std::string ip_key = "ip:" + keyring_.BlindIndex("throttle_ip", client.ip);
  const Parsed parsed = ParseClient(client);
  const std::string table(PrincipalTable(realm));

  std::string principal_id, hash;
  Duration wait{};
  bool locked = false;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<ThrottleState> subject, LoadThrottle(txn, subject_key));
    ASSIGN_OR_RETURN(std::optional<ThrottleState> ip, LoadThrottle(txn, ip_key));
    const Time now = Now();
    locked = subject && subject->locked_until && *subject->locked_until > now;
    wait =
        std::max(SubjectWait(subject, options_.throttle, now), IpWait(ip, options_.throttle, now));
    ASSIGN_OR_RETURN(
        std::optional<Row> row,
        txn.QueryOne("SELECT id, password_hash FROM " + table + " WHERE email_index = ?", {index}));
    if (row && !row->IsNull(1)) {
      principal_id = row->GetText(0);
      hash = row->GetText(1);
    }
    return OkStatus();
  }));

  LoginNote event;
  if (wait > Duration::zero()) {
    // Sampled per client address: see RefusalSampler.
    int64_t suppressed = 0;
    if (refusals_.ShouldRecord(ip_key, Now(), &suppressed)) {
      LoginRecord record{
          realm,      principal_id, index, "failure", locked ? "locked" : "throttled",
          "password", "",           false};
      record.suppressed_refusals = suppressed;
      RETURN_IF_ERROR(
          store_.Write([&](Txn& txn) { return RecordLogin(txn, record, client, parsed, &event); }));
      PublishLogin(event);
    }
    LoginOutcome out;
    out.kind = LoginOutcome::Kind::kThrottled;
    out.retry_after = std::max<Duration>(wait, std::chrono::seconds(1));
    return out;
  }

  bool ok = false;
  if (!hash.empty()) {
    ASSIGN_OR_RETURN(ok, hasher_.Verify(hash, password));
  } else {
    RETURN_IF_ERROR(hasher_.VerifyDummy(password));
  }

  if (!ok) {
    RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      const Time now = Now();
      RETURN_IF_ERROR(ForgetStale(txn, now, options_.throttle.lockout_duration));
      ASSIGN_OR_RETURN(std::optional<ThrottleState> subject, LoadThrottle(txn, subject_key));
      RETURN_IF_ERROR(
          SaveThrottle(txn, subject_key, SubjectFailure(subject, options_.throttle, now)));
      ASSIGN_OR_RETURN(std::optional<ThrottleState> ip, LoadThrottle(txn, ip_key));
      RETURN_IF_ERROR(SaveThrottle(txn, ip_key, IpFailure(ip, options_.throttle, now)));
      return RecordLogin(
          txn,
          {realm, principal_id, index, "failure",
           principal_id.empty() ? "unknown_user" : "wrong_password", "password", "", false},
          client, parsed, &event);
    }));
    PublishLogin(event);
    return UnauthenticatedError(std::string(kInvalidLogin));
  }

  std::string new_hash;
  if (hasher_.NeedsRehash(hash)) {
    Result<std::string> rehashed = hasher_.Hash(password);
    if (rehashed.ok()) new_hash = *std::move(rehashed);  // else: keep the old one this time
  }

  LoginOutcome out;
  bool refused = false;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    RETURN_IF_ERROR(ClearThrottle(txn, subject_key));
    if (!new_hash.empty()) {
      RETURN_IF_ERROR(txn.Exec("UPDATE " + table + " SET password_hash = ? WHERE id = ?",
                               {new_hash, principal_id}));
    }
    ASSIGN_OR_RETURN(std::optional<Row> totp,
                     txn.QueryOne("SELECT 1 FROM mfa_totp WHERE principal_id = ? AND "
                                  "confirmed_at IS NOT NULL",
                                  {principal_id}));
    if (!totp && realm == Realm::kOperator) {
      refused = true;  // operators must have finished enrolment; no session without 2FA
      return RecordLogin(
          txn, {realm, principal_id, index, "failure", "mfa_not_enrolled", "password", "", false},
          client, parsed, &event);
    }
    if (totp) {
      out.kind = LoginOutcome::Kind::kMfaRequired;
      out.challenge = NewToken(env_.random, 32);
      RETURN_IF_ERROR(
          txn.Exec("INSERT INTO mfa_challenges (token_hash, principal_id, realm, email_index, "
                   "expires_at, failures) VALUES (?, ?, ?, ?, ?, 0)",
                   {TokenHash(out.challenge), principal_id, std::string(RealmName(realm)), index,
                    Micros(now + options_.mfa_challenge_ttl)}));
      return RecordLogin(
          txn, {realm, principal_id, index, "unknown", "mfa_required", "password", "", false},
          client, parsed, &event);
    }
    ASSIGN_OR_RETURN(const bool enrol_only, RequiresMfa(txn, principal_id));
    ASSIGN_OR_RETURN(out.session,
                     CreateSession(txn, principal_id, realm, enrol_only, client, parsed, now));
    out.principal_id = principal_id;
    ASSIGN_OR_RETURN(const bool new_device, IsNewDevice(txn, principal_id, parsed, now));
    return RecordLogin(
        txn,
        {realm, principal_id, index, "success", enrol_only ? "mfa_enrolment_required" : "ok",
         "password", out.session.session_id, new_device},
        client, parsed, &event);
  }));
  PublishLogin(event);
  if (refused) return UnauthenticatedError(std::string(kInvalidLogin));
  return out;
}

Result<LoginOutcome> AuthService::LoginMfa(Realm realm, std::string_view challenge,
                                           std::string_view code, std::string_view recovery_code,
                                           const ClientInfo& client) {
  if (code.empty() == recovery_code.empty()) {
    return InvalidArgumentError("send exactly one of code and recovery_code");
  }
  if (challenge.empty() || challenge.size() > 128 || code.size() > 16 ||
      recovery_code.size() > 64) {
    return UnauthenticatedError("invalid or expired challenge");
  }
  const Parsed parsed = ParseClient(client);
  enum class Result_ { kOk, kBadChallenge, kThrottled, kBadCode } result = Result_::kOk;
  LoginOutcome out;
  LoginNote event;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT principal_id, email_index, expires_at, used_at FROM "
                                  "mfa_challenges WHERE token_hash = ? AND realm = ?",
                                  {TokenHash(challenge), std::string(RealmName(realm))}));
    const std::string method = code.empty() ? "recovery_code" : "totp";
    if (!row || !row->IsNull(3) || FromMicros(row->GetInt(2)) <= now) {
      result = Result_::kBadChallenge;
      return RecordLogin(txn,
                         {realm, row ? row->GetText(0) : "", row ? row->GetText(1) : "", "failure",
                          "mfa_challenge_invalid", method, "", false},
                         client, parsed, &event);
    }
    const std::string principal_id = row->GetText(0);
    const std::string index = row->GetText(1);
    const std::string subject_key = SubjectKey(realm, index);
    ASSIGN_OR_RETURN(std::optional<ThrottleState> subject, LoadThrottle(txn, subject_key));
    if (const Duration wait = SubjectWait(subject, options_.throttle, now);
        wait > Duration::zero()) {
      result = Result_::kThrottled;
      out.retry_after = std::max<Duration>(wait, std::chrono::seconds(1));
      return RecordLogin(txn, {realm, principal_id, index, "failure", "locked", method, "", false},
                         client, parsed, &event);
    }

    bool ok = false;
    if (!code.empty()) {
      ASSIGN_OR_RETURN(std::optional<Row> totp,
                       txn.QueryOne("SELECT secret_sealed, last_step FROM mfa_totp WHERE "
                                    "principal_id = ? AND confirmed_at IS NOT NULL",
                                    {principal_id}));
      if (totp) {
        ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, principal_id));
        ASSIGN_OR_RETURN(std::string secret,
                         keys_.Open(dek, "mfa_totp", "secret", principal_id, totp->GetBlob(0)));
        const SecretBytes secret_bytes{std::string_view(secret)};
        SecureWipe(secret.data(), secret.size());
        if (std::optional<int64_t> step =
                crypto::VerifyTotp(secret_bytes, code, now, totp->GetOptionalInt(1))) {
          RETURN_IF_ERROR(txn.Exec("UPDATE mfa_totp SET last_step = ? WHERE principal_id = ?",
                                   {*step, principal_id}));
          ok = true;
        }
      }
    } else {
      RETURN_IF_ERROR(txn.Exec(
          "UPDATE recovery_codes SET used_at = ? WHERE principal_id = ? AND code_hash = ? AND "
          "used_at IS NULL",
          {Micros(now), principal_id, crypto::HashRecoveryCode(recovery_code)}));
      ok = txn.ChangedRows() == 1;
    }

    if (!ok) {
      result = Result_::kBadCode;
      RETURN_IF_ERROR(txn.Exec(
          "UPDATE mfa_challenges SET failures = failures + 1, used_at = CASE WHEN failures + 1 "
          ">= ? THEN ? ELSE used_at END WHERE token_hash = ?",
          {int64_t{options_.max_mfa_failures_per_challenge}, Micros(now), TokenHash(challenge)}));
      RETURN_IF_ERROR(
          SaveThrottle(txn, subject_key, SubjectFailure(subject, options_.throttle, now)));
      return RecordLogin(txn,
                         {realm, principal_id, index, "failure", "mfa_failed", method, "", false},
                         client, parsed, &event);
    }
    RETURN_IF_ERROR(txn.Exec("UPDATE mfa_challenges SET used_at = ? WHERE token_hash = ?",
                             {Micros(now), TokenHash(challenge)}));
    RETURN_IF_ERROR(ClearThrottle(txn, subject_key));
    ASSIGN_OR_RETURN(out.session,
                     CreateSession(txn, principal_id, realm, false, client, parsed, now));
    out.principal_id = principal_id;
    ASSIGN_OR_RETURN(const bool new_device, IsNewDevice(txn, principal_id, parsed, now));
    return RecordLogin(
        txn,
        {realm, principal_id, index, "success", code.empty() ? "recovery_code_used" : "ok", method,
         out.session.session_id, new_device},
        client, parsed, &event);
  }));
  PublishLogin(event);
  switch (result) {
    case Result_::kOk:
      return out;
    case Result_::kThrottled:
      out.kind = LoginOutcome::Kind::kThrottled;
      return out;
    case Result_::kBadChallenge:
      return UnauthenticatedError("invalid or expired challenge; log in again");
    case Result_::kBadCode:
      return UnauthenticatedError("invalid code");
  }
  return InternalError("unreachable");
}

// ---------------------------------------------------------------------------------------------
// Sessions

Result<Principal> AuthService::Authenticate(Realm realm, std::string_view token, bool require_csrf,
                                            std::string_view csrf_token, const ClientInfo& client) {
  if (token.empty() || token.size() > 256) return UnauthenticatedError("authentication required");
  Principal who;
  bool touch = false;
  const Time now = Now();
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT id, principal_id, realm, scope, last_used_at, "
                                  "expires_at, revoked_at FROM sessions WHERE token_hash = ?",
                                  {TokenHash(token)}));
    if (!row || row->GetText(2) != RealmName(realm) || !row->IsNull(6) ||
        FromMicros(row->GetInt(5)) <= now ||
        now - FromMicros(row->GetInt(4)) >= options_.session_idle_timeout) {
      return UnauthenticatedError("invalid or expired session");
    }
    who.session_id = row->GetText(0);
    who.id = row->GetText(1);
    who.realm = realm;
    who.enrol_only = row->GetText(3) == "enrol_mfa";
    touch = now - FromMicros(row->GetInt(4)) >= kLastUsedGranularity;
    return OkStatus();
  }));
  if (require_csrf && !ConstantTimeEquals(csrf_token, CsrfToken(who.session_id))) {
    return PermissionDeniedError("missing or invalid CSRF token (send X-CSRF-Token)");
  }
  if (touch) {
    // Best effort: a failed update only makes the idle timer a minute less precise.
    const std::string user_agent(TruncateUtf8(client.user_agent, kMaxUserAgentBytes));
    (void)store_.Write([&](Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::string sealed,
                       SealClient(txn, who.id, "sessions", who.session_id, client.ip, user_agent));
      return txn.Exec(
          "UPDATE sessions SET last_used_at = ?, client_ip = '', user_agent = '', "
          "client_sealed = ? WHERE id = ?",
          {Micros(now), Blob{sealed}, who.session_id});
    });
  }
  return who;
}

Status AuthService::Logout(const Principal& who, const ClientInfo& client) {
  const Parsed parsed = ParseClient(client);
  LoginNote event;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(txn.Exec("UPDATE sessions SET revoked_at = ? WHERE id = ?",
                             {Micros(Now()), who.session_id}));
    return RecordLogin(
        txn, {who.realm, who.id, "", "success", "logout", "session", who.session_id, false}, client,
        parsed, &event);
  }));
  PublishLogin(event);
  return OkStatus();
}

Result<std::vector<SessionView>> AuthService::ListSessions(const Principal& who) {
  std::vector<SessionView> out;
  const Time now = Now();
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        txn.Query(
            "SELECT id, created_at, last_used_at, expires_at, client_ip, user_agent, "
            "device_type, os, browser, client_sealed FROM sessions WHERE principal_id = ? AND "
            "revoked_at IS NULL AND expires_at > ? ORDER BY last_used_at DESC, id",
            {who.id, Micros(now)}));
    for (const Row& r : rows) {
      SessionView v;
      v.id = r.GetText(0);
      v.created_at = FromMicros(r.GetInt(1));
      v.last_used_at = FromMicros(r.GetInt(2));
      v.expires_at = FromMicros(r.GetInt(3));
      if (now - v.last_used_at >= options_.session_idle_timeout) continue;
      v.client_ip = r.GetText(4);
      v.user_agent = r.GetText(5);
      if (!r.IsNull(9)) {
        ASSIGN_OR_RETURN(std::tie(v.client_ip, v.user_agent),
                         OpenClient(txn, who.id, "sessions", v.id, r.GetBlob(9)));
      }
      v.device_type = r.GetText(6);
      v.os = r.GetText(7);
      v.browser = r.GetText(8);
      v.current = v.id == who.session_id;
      out.push_back(std::move(v));
    }
    return OkStatus();
  }));
  return out;
}

Status AuthService::RevokeSession(const Principal& who, std::string_view session_id,
                                  const ClientInfo& client) {
  if (!IsValidId(session_id, "ses")) return NotFoundError("no such session");
  const Parsed parsed = ParseClient(client);
  LoginNote event;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND principal_id = ? AND revoked_at "
        "IS NULL",
        {Micros(Now()), std::string(session_id), who.id}));
    if (txn.ChangedRows() != 1) return NotFoundError("no such session");
    return RecordLogin(txn,
                       {who.realm, who.id, "", "success", "session_revoked", "session",
                        std::string(session_id), false},
                       client, parsed, &event);
  }));
  PublishLogin(event);
  return OkStatus();
}

Result<std::string> AuthService::PasswordHashOf(const Principal& who) {
  std::string hash;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     txn.QueryOne("SELECT password_hash FROM " +
                                      std::string(PrincipalTable(who.realm)) + " WHERE id = ?",
                                  {who.id}));
    if (!row || row->IsNull(0)) return NotFoundError("no such user");
    hash = row->GetText(0);
    return OkStatus();
  }));
  return hash;
}

Status AuthService::ChangePassword(const Principal& who, std::string_view current_password,
                                   std::string_view new_password, const ClientInfo& client) {
  if (current_password.size() > 1024) return PermissionDeniedError("the current password is wrong");
  RETURN_IF_ERROR(crypto::CheckPasswordPolicy(new_password));
  ASSIGN_OR_RETURN(std::string hash, PasswordHashOf(who));
  ASSIGN_OR_RETURN(bool ok, hasher_.Verify(hash, current_password));
  if (!ok) return PermissionDeniedError("the current password is wrong");
  ASSIGN_OR_RETURN(std::string new_hash, hasher_.Hash(new_password));
  audit::Pending pending;
  RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    const Time now = Now();
    if (who.realm == Realm::kUser) {
      RETURN_IF_ERROR(
          txn.Exec("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                   {new_hash, Micros(now), who.id}));
    } else {
      RETURN_IF_ERROR(
          txn.Exec("UPDATE operators SET password_hash = ? WHERE id = ?", {new_hash, who.id}));
    }
    // Every other session ends: whoever knew the old password is out.
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE sessions SET revoked_at = ? WHERE principal_id = ? AND id <> ? AND revoked_at "
        "IS NULL",
        {Micros(now), who.id, who.session_id}));
    audit::Event ev = ActorEvent("password.changed", who, client);
    ev.target_type = who.realm == Realm::kUser ? "user" : "operator";
    ev.target_id = who.id;
    ev.details = {{"other_sessions_revoked", txn.ChangedRows()}};
    return audit_.Append(txn, ev, &pending);
  }));
  audit_.Publish(pending);
  return OkStatus();
}

Result<MeView> AuthService::Me(const Principal& who) {
  MeView me;
  me.id = who.id;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(SecretBytes dek, keys_.Get(txn, who.id));
    if (who.realm == Realm::kUser) {
      ASSIGN_OR_RETURN(
          std::optional<Row> row,
          txn.QueryOne("SELECT email_sealed, name_sealed FROM users WHERE id = ?", {who.id}));
      if (!row) return NotFoundError("no such user");
      ASSIGN_OR_RETURN(me.email, keys_.Open(dek, "users", "email", who.id, row->GetBlob(0)));
      ASSIGN_OR_RETURN(me.name, keys_.Open(dek, "users", "name", who.id, row->GetBlob(1)));
      ASSIGN_OR_RETURN(std::vector<Row> memberships,
                       txn.Query("SELECT account_id, role FROM memberships WHERE user_id = ? "
                                 "ORDER BY created_at, account_id",
                                 {who.id}));
      for (const Row& m : memberships) {
        me.memberships.push_back({m.GetText(0), ParseRole(m.GetText(1)).value_or(Role::kMember)});
      }
    } else {
      ASSIGN_OR_RETURN(me.email, EmailOf(txn, who.id));
    }
    ASSIGN_OR_RETURN(std::optional<Row> totp,
                     txn.QueryOne("SELECT 1 FROM mfa_totp WHERE principal_id = ? AND "
                                  "confirmed_at IS NOT NULL",
                                  {who.id}));
    me.totp_enabled = totp.has_value();
    return OkStatus();
  }));
  return me;
}

// ---------------------------------------------------------------------------------------------
// Login history

Result<Page<LoginEventView>> AuthService::QueryLogins(std::string_view where,
                                                      std::vector<Value> args,
                                                      std::string_view cursor, int limit) {
  if (limit < 1 || limit > 200) return InvalidArgumentError("limit must be 1 to 200");
  std::string sql =
      "SELECT id, at, realm, principal_id, outcome, reason, method, client_ip, user_agent, "
      "device_type, os, browser, ua_parser, ch_mobile, ch_platform, session_id, request_id, "
      "new_device, country, client_sealed FROM login_events WHERE " +
      std::string(where);
  if (!cursor.empty()) {
    int64_t at = 0;
    std::string id;
    if (!DecodeCursor(cursor, &at, &id)) return InvalidArgumentError("invalid cursor");
    sql += " AND (at < ? OR (at = ? AND id < ?))";
    args.push_back(at);
    args.push_back(at);
    args.push_back(id);
  }
  sql += " ORDER BY at DESC, id DESC LIMIT ?";
  args.push_back(int64_t{limit} + 1);
  Page<LoginEventView> page;
  RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows, txn.Query(sql, args));
    for (const Row& r : rows) {
      if (page.items.size() == static_cast<size_t>(limit)) {
        const LoginEventView& last = page.items.back();
        page.next_cursor = EncodeCursor(Micros(last.at), last.id);
        break;
      }
      LoginEventView v;
      v.id = r.GetText(0);
      v.at = FromMicros(r.GetInt(1));
      v.realm = r.GetText(2);
      v.principal_id = r.GetOptionalText(3).value_or("");
      v.outcome = r.GetText(4);
      v.reason = r.GetText(5);
      v.method = r.GetText(6);
      v.client_ip = r.GetText(7);
      v.user_agent = r.GetText(8);
      v.device_type = r.GetText(9);
      v.os = r.GetText(10);
      v.browser = r.GetText(11);
      v.ua_parser = r.GetText(12);
      v.ch_mobile = r.GetOptionalText(13).value_or("");
      v.ch_platform = r.GetOptionalText(14).value_or("");
      v.session_id = r.GetOptionalText(15).value_or("");
      v.request_id = r.GetText(16);
      v.new_device = r.GetInt(17) != 0;
      v.country = r.GetOptionalText(18).value_or("");
      if (!r.IsNull(19)) {
        ASSIGN_OR_RETURN(std::tie(v.client_ip, v.user_agent),
                         OpenClient(txn, v.principal_id, "login_events", v.id, r.GetBlob(19)));
      }
      page.items.push_back(std::move(v));
    }
    return OkStatus();
  }));
  return page;
}

Result<Page<LoginEventView>> AuthService::MyLogins(const Principal& who, std::string_view cursor,
                                                   int limit) {
  return QueryLogins("principal_id = ?", {who.id}, cursor, limit);
}

Result<Page<LoginEventView>> AuthService::AccountLogins(const Principal& who,
                                                        std::string_view account_id,
                                                        std::string_view cursor, int limit) {
  ASSIGN_OR_RETURN(Role role, RoleIn(who, account_id));
  RETURN_IF_ERROR(Authorize(role, Action::kLoginsReadAll));
  return QueryLogins("principal_id IN (SELECT user_id FROM memberships WHERE account_id = ?)",
                     {std::string(account_id)}, cursor, limit);
}

}  // namespace sicher::auth
