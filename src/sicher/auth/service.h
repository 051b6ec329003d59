#pragma once
// AuthService: users, accounts and memberships, sign-up, login with password and TOTP,
// sessions, recovery codes, invitations, operators, and the login history (CLAIMS C3, C14).
//
// Every method takes plain values and returns a Result, so it is tested without HTTP; api/
// maps it to routes. Every state change commits in one store transaction together with its
// login event (when it has one); events go to the bus only after the commit.
//
// Login results never reveal whether an e-mail address has an account: an unknown address
// costs one Argon2id verification against a dummy hash, is throttled and locked exactly like
// a known one, and gets the same answer ("invalid email or password").
//
// Thread-safe; borrows everything passed to the constructor. Methods block on the store and
// on the password-hashing pool: call them from worker threads, never from an I/O thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/audit/log.h"
#include "sicher/auth/password_hasher.h"
#include "sicher/auth/permissions.h"
#include "sicher/auth/throttle.h"
#include "sicher/base/env.h"
#include "sicher/events/bus.h"
#include "sicher/events/events.h"
#include "sicher/keys/data_keys.h"
#include "sicher/net/geo/geo.h"
#include "sicher/net/user_agent/user_agent.h"
#include "sicher/store/store.h"

namespace sicher::auth {

enum class Realm { kUser, kOperator };
std::string_view RealmName(Realm realm);

struct AuthOptions {
  bool signup_open = true;
  Duration session_idle_timeout = std::chrono::hours(1);
  Duration session_lifetime = std::chrono::hours(12);
  ThrottlePolicy throttle;
  Duration mfa_challenge_ttl = std::chrono::minutes(5);
  Duration invitation_ttl = std::chrono::hours(24 * 7);
  std::string totp_issuer = "sicher";
  int max_mfa_failures_per_challenge = 5;
};

// Who is asking, as the HTTP layer saw it.
struct ClientInfo {
  std::string ip;
  std::string user_agent;
  std::string ch_mobile;    // Sec-CH-UA-Mobile, as sent
  std::string ch_platform;  // Sec-CH-UA-Platform, as sent
  std::string request_id;
};

struct NewSession {
  std::string session_id;
  std::string token;       // the bearer token / cookie value; shown once, stored hashed
  std::string csrf_token;  // required in X-CSRF-Token for state-changing cookie requests
  Time expires_at{};
  Duration lifetime{};      // expires_at - creation: the cookie's Max-Age
  bool enrol_only = false;  // may only enrol a second factor (account requires 2FA)
};

struct LoginOutcome {
  enum class Kind { kSession, kMfaRequired, kThrottled };
  Kind kind = Kind::kSession;
  NewSession session;        // kSession
  std::string challenge;     // kMfaRequired: single use, expires after mfa_challenge_ttl
  Duration retry_after{};    // kThrottled
  std::string principal_id;  // kSession
};

// An authenticated request.
struct Principal {
  std::string id;  // "usr_..." or "opr_..."
  Realm realm = Realm::kUser;
  std::string session_id;
  bool enrol_only = false;
};

struct SignupResult {
  std::string user_id;
  std::string account_id;
};

struct TotpEnrolment {
  std::string secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;
};

struct SessionView {
  std::string id;
  Time created_at{}, last_used_at{}, expires_at{};
  std::string client_ip, user_agent, device_type, os, browser;
  bool current = false;
};

struct LoginEventView {
  std::string id;
  Time at{};
  std::string realm, principal_id, outcome, reason, method;
  std::string client_ip, user_agent, device_type, os, browser, ua_parser;
  std::string ch_mobile, ch_platform, session_id, request_id;
  std::string country;  // ISO 3166-1 alpha-2, "" when unknown or no database is configured
  bool new_device = false;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty: no more
};

struct MeView {
  std::string id, email, name;
  bool totp_enabled = false;
  struct Membership {
    std::string account_id;
    Role role;
  };
  std::vector<Membership> memberships;
};

struct AccountView {
  std::string id, name;
  bool require_mfa = false;
  Role your_role = Role::kMember;
};

struct MemberView {
  std::string user_id, email, name;
  Role role = Role::kMember;
};

struct Invitation {
  std::string id;
  std::string token;  // shown once; the link is /v1/invitations/{token}/accept
  Time expires_at{};
};

class AuthService {
 public:
  AuthService(store::Store& store, crypto::Keyring& keyring, PasswordHasher& hasher,
              const net::UserAgentParser& ua_parser, events::Bus& bus, audit::Log& audit, Env& env,
              AuthOptions options);

  // Optional: the country of each login's address goes into its record (geo.database_path).
  // Set before the first request; borrowed.
  void SetGeoLookup(const net::GeoLookup* geo) { geo_ = geo; }

  // Sign-up: a user and an account they own. PermissionDenied when sign-up is closed;
  // InvalidArgument for a bad e-mail, name or password (policy); AlreadyExists when the
  // e-mail address has a user.
  Result<SignupResult> Signup(std::string_view email, std::string_view password,
                              std::string_view name, std::string_view account_name,
                              const ClientInfo& client);

  // Password step. Unauthenticated("invalid email or password") for a wrong password or an
  // unknown address; kThrottled while the address or IP must wait; kMfaRequired when the
  // principal has TOTP (operators always). Unavailable when password hashing is saturated.
  Result<LoginOutcome> Login(Realm realm, std::string_view email, std::string_view password,
                             const ClientInfo& client);
  // Second step: exactly one of `code` (TOTP) or `recovery_code`.
  Result<LoginOutcome> LoginMfa(Realm realm, std::string_view challenge, std::string_view code,
                                std::string_view recovery_code, const ClientInfo& client);

  // Resolves a session token. Unauthenticated for an unknown, revoked, idle-expired or
  // expired session, or one of another realm. `csrf_token` is checked when `require_csrf`.
  Result<Principal> Authenticate(Realm realm, std::string_view token, bool require_csrf,
                                 std::string_view csrf_token, const ClientInfo& client);
  std::string CsrfToken(std::string_view session_id) const;

  Status Logout(const Principal& who, const ClientInfo& client);
  Result<std::vector<SessionView>> ListSessions(const Principal& who);
  Status RevokeSession(const Principal& who, std::string_view session_id, const ClientInfo& client);
  Status ChangePassword(const Principal& who, std::string_view current_password,
                        std::string_view new_password, const ClientInfo& client);
  Result<MeView> Me(const Principal& who);

  // TOTP enrolment and management.
  Result<TotpEnrolment> BeginTotp(const Principal& who, const ClientInfo& client);
  Result<std::vector<std::string>> ConfirmTotp(const Principal& who, std::string_view code,
                                               const ClientInfo& client);
  Status DisableTotp(const Principal& who, std::string_view password, std::string_view code,
                     const ClientInfo& client);
  Result<std::vector<std::string>> RegenerateRecoveryCodes(const Principal& who,
                                                           std::string_view password,
                                                           std::string_view code,
                                                           const ClientInfo& client);

  // Login history, newest first. `limit` 1..200.
  Result<Page<LoginEventView>> MyLogins(const Principal& who, std::string_view cursor, int limit);
  Result<Page<LoginEventView>> AccountLogins(const Principal& who, std::string_view account_id,
                                             std::string_view cursor, int limit);

  // Accounts and members.
  Result<Role> RoleIn(const Principal& who, std::string_view account_id);
  Result<AccountView> GetAccount(const Principal& who, std::string_view account_id);
  Status UpdateAccount(const Principal& who, std::string_view account_id,
                       std::optional<std::string> name, std::optional<bool> require_mfa,
                       const ClientInfo& client);
  Result<std::vector<MemberView>> ListMembers(const Principal& who, std::string_view account_id);
  Result<Invitation> Invite(const Principal& who, std::string_view account_id,
                            std::string_view email, Role role, const ClientInfo& client);
  Result<std::string> AcceptInvitation(const Principal& who, std::string_view token,
                                       const ClientInfo& client);
  Status ChangeRole(const Principal& who, std::string_view account_id, std::string_view user_id,
                    Role role, const ClientInfo& client);
  Status RemoveMember(const Principal& who, std::string_view account_id, std::string_view user_id,
                      const ClientInfo& client);
  Status TransferOwnership(const Principal& who, std::string_view account_id,
                           std::string_view new_owner_id, const ClientInfo& client);
  // The ids of the account's current members (for the audit log's merged view).
  Result<std::vector<std::string>> MemberIds(std::string_view account_id);

  // Operators (CLI: `sicher operator add`). Returns the one-time enrolment token.
  Result<std::string> AddOperator(std::string_view email);
  // Enrolment on the operator listener: set a password and get the TOTP secret, then confirm
  // with a code to receive recovery codes. No operator session exists before that.
  Result<TotpEnrolment> BeginOperatorEnrolment(std::string_view token, std::string_view password,
                                               const ClientInfo& client);
  Result<std::vector<std::string>> ConfirmOperatorEnrolment(std::string_view token,
                                                            std::string_view code,
                                                            const ClientInfo& client);

 private:
  struct Parsed;
  struct LoginRecord;
  // A login event and its audit record, published together after the commit.
  struct LoginNote {
    events::LoginAttempted login;
    audit::Pending audit;
  };
  // `with_country`: also the country of the address (login records only; a database lookup).
  Parsed ParseClient(const ClientInfo& client, bool with_country = true) const;
  // Inserts the login event row and its audit event, and fills `note` for PublishLogin after
  // the commit.
  Status RecordLogin(store::Txn& txn, const LoginRecord& record, const ClientInfo& client,
                     const Parsed& parsed, LoginNote* note);
  void PublishLogin(LoginNote& note);
  // The client's IP address and User-Agent of a login record or session, sealed under the
  // principal's data key (the server's "system" key for an unknown principal) and bound to
  // the row: personal data, never stored in clear (CLAIMS C8).
  Result<std::string> SealClient(store::Txn& txn, const std::string& owner, std::string_view table,
                                 const std::string& row_id, std::string_view ip,
                                 std::string_view user_agent);
  // {ip, user_agent}; empty when the owner's key was destroyed.
  Result<std::pair<std::string, std::string>> OpenClient(store::Txn& txn, const std::string& owner,
                                                         std::string_view table,
                                                         const std::string& row_id,
                                                         std::string_view sealed);
  // An audit event with the request's source fields; ActorEvent adds `who` as actor and scope.
  audit::Event ClientEvent(std::string_view action, const ClientInfo& client,
                           const Parsed& parsed) const;
  audit::Event ActorEvent(std::string_view action, const Principal& who,
                          const ClientInfo& client) const;
  Result<NewSession> CreateSession(store::Txn& txn, const std::string& principal_id, Realm realm,
                                   bool enrol_only, const ClientInfo& client, const Parsed& parsed,
                                   Time now);
  Result<bool> IsNewDevice(store::Txn& txn, const std::string& principal_id, const Parsed& parsed,
                           Time now);
  Result<bool> RequiresMfa(store::Txn& txn, const std::string& user_id);
  Result<std::string> PasswordHashOf(const Principal& who);
  Status VerifyPasswordAndCode(const Principal& who, std::string_view password,
                               std::string_view code);
  Result<std::vector<std::string>> StoreRecoveryCodes(store::Txn& txn,
                                                      const std::string& principal_id);
  Result<Page<LoginEventView>> QueryLogins(std::string_view where, std::vector<store::Value> args,
                                           std::string_view cursor, int limit);
  Result<std::string> EmailOf(store::Txn& txn, const std::string& principal_id);
  Time Now() const { return env_.clock.Now(); }

  store::Store& store_;
  crypto::Keyring& keyring_;
  PasswordHasher& hasher_;
  const net::UserAgentParser& ua_parser_;
  const net::GeoLookup* geo_ = nullptr;
  events::Bus& bus_;
  audit::Log& audit_;
  Env& env_;
  AuthOptions options_;
  keys::DataKeys keys_;
  RefusalSampler refusals_{std::chrono::seconds(10), 10000};
};

}  // namespace sicher::auth
