#include "sicher/auth/service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "sicher/auth/schema.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/totp.h"
#include "sicher/net/geo/testing/mmdb_writer.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/store/testing/fault_store.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::auth {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kPassword[] = "correct horse battery staple";
constexpr char kDesktopUa[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";
constexpr char kPhoneUa[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

const net::UserAgentParser& Parser() {
  static const net::UserAgentParser* parser = net::UserAgentParser::Create().value().release();
  return *parser;
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_auth_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_OK_AND_ASSIGN(keyring_, crypto::Keyring::OpenOrCreate(env_, dir_ + "/keyring"));
    store::SqliteOptions so;
    so.path = dir_ + "/sicher.db";
    so.migrations = store::CoreMigrations();
    for (auto& m : AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : audit::AuditMigrations()) so.migrations.push_back(m);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenSqliteStore(so, env_, registry_));
    faults_ = std::make_unique<store::testing::FaultStore>(*store_);
    audit_ = std::make_unique<audit::Log>(*keyring_, env_);
    hasher_ = std::make_unique<PasswordHasher>(crypto::PasswordParams{}, 2, 16);
    Recreate();
    events_ = bus_.Subscribe<events::LoginAttempted>(
        [this](const events::LoginAttempted& e) { seen_.push_back(e); });
  }
  void TearDown() override {
    service_.reset();
    audit_.reset();
    faults_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  void Recreate() {
    service_ = std::make_unique<AuthService>(*faults_, *keyring_, *hasher_, Parser(), bus_, *audit_,
                                             env_, options_);
  }

  ClientInfo Client(const char* ua = kDesktopUa, std::string ip = "203.0.113.7") {
    ClientInfo c;
    c.ip = std::move(ip);
    c.user_agent = ua;
    c.request_id = "req-1";
    return c;
  }
  SignupResult SignUp(const std::string& email = "alice@example.com") {
    Result<SignupResult> r = service_->Signup(email, kPassword, "Alice", "Alice's team", Client());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SignupResult{};
  }
  Principal LogIn(const std::string& email = "alice@example.com", const char* ua = kDesktopUa) {
    Result<LoginOutcome> r = service_->Login(Realm::kUser, email, kPassword, Client(ua));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->kind, LoginOutcome::Kind::kSession);
    token_ = r->session.token;
    Result<Principal> who = service_->Authenticate(Realm::kUser, token_, false, "", Client(ua));
    EXPECT_TRUE(who.ok()) << who.status().ToString();
    return *who;
  }
  // Enrols TOTP for `who` and returns the secret.
  SecretBytes EnrolTotp(const Principal& who, std::vector<std::string>* codes = nullptr) {
    Result<TotpEnrolment> e = service_->BeginTotp(who, Client());
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    SecretBytes secret(std::string_view(*crypto::Base32Decode(e->secret_base32)));
    auto confirmed = service_->ConfirmTotp(
        who, crypto::TotpCode(secret, crypto::TotpTimeStep(clock_.Now())), Client());
    EXPECT_TRUE(confirmed.ok()) << confirmed.status().ToString();
    if (codes) *codes = *confirmed;
    return secret;
  }
  std::string CodeAt(const SecretBytes& secret, Time t) {
    return crypto::TotpCode(secret, crypto::TotpTimeStep(t));
  }

  testing::FakeClock clock_{Time(seconds(1'795'754'658))};
  PosixFileSystem fs_;
  SystemRandom random_;
  Env env_{clock_, fs_, random_};
  metrics::Registry registry_;
  events::Bus bus_;
  std::string dir_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::testing::FaultStore> faults_;  // what the service writes through
  std::unique_ptr<PasswordHasher> hasher_;
  AuthOptions options_;
  std::unique_ptr<audit::Log> audit_;
  std::unique_ptr<AuthService> service_;
  events::Subscription events_;
  std::vector<events::LoginAttempted> seen_;
  std::string token_;
};

TEST_F(AuthServiceTest, SignupNormalisesEmailAndRefusesDuplicates) {
  const SignupResult r = SignUp("Alice@Example.com");
  EXPECT_TRUE(IsValidId(r.user_id, "usr"));
  EXPECT_TRUE(IsValidId(r.account_id, "acc"));
  EXPECT_EQ(service_->Signup(" alice@EXAMPLE.com", kPassword, "A", "B", Client()).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->Signup("bob@example.com", "short", "Bob", "B", Client()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      service_->Signup("bob@example.com", "contortionist", "Bob", "B", Client()).status().code(),
      StatusCode::kInvalidArgument);  // too common
  options_.signup_open = false;
  Recreate();
  EXPECT_EQ(service_->Signup("carol@example.com", kPassword, "C", "C", Client()).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(AuthServiceTest, LoginCreatesSessionAndLogsDevice) {
  const SignupResult s = SignUp();
  const Principal who = LogIn();
  EXPECT_EQ(who.id, s.user_id);
  EXPECT_FALSE(who.enrol_only);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].outcome, "success");
  EXPECT_EQ(seen_[0].device_type, "desktop");
  EXPECT_EQ(seen_[0].browser, "Chrome");
  EXPECT_EQ(seen_[0].os, "Windows");
  EXPECT_EQ(seen_[0].client_ip, "203.0.113.7");
  EXPECT_TRUE(seen_[0].new_device);
  // Same device again: not new. A phone: new.
  clock_.Advance(seconds(1));
  LogIn();
  EXPECT_FALSE(seen_.back().new_device);
  clock_.Advance(seconds(1));
  LogIn("alice@example.com", kPhoneUa);
  EXPECT_TRUE(seen_.back().new_device);
  EXPECT_EQ(seen_.back().device_type, "mobile");

  ASSERT_OK_AND_ASSIGN(Page<LoginEventView> page, service_->MyLogins(who, "", 2));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].device_type, "mobile");  // newest first
  EXPECT_FALSE(page.next_cursor.empty());
  ASSERT_OK_AND_ASSIGN(Page<LoginEventView> rest, service_->MyLogins(who, page.next_cursor, 2));
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_TRUE(rest.next_cursor.empty());
  EXPECT_EQ(service_->MyLogins(who, "garbage", 2).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, WrongPasswordAndUnknownUserLookAlike) {
  SignUp();
  const Status wrong =
      service_->Login(Realm::kUser, "alice@example.com", "not the password!", Client()).status();
  const Status unknown =
      service_->Login(Realm::kUser, "nobody@example.com", "not the password!", Client()).status();
  EXPECT_EQ(wrong, unknown);
  EXPECT_EQ(wrong.code(), StatusCode::kUnauthenticated);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].reason, "wrong_password");
  EXPECT_EQ(seen_[1].reason, "unknown_user");
  EXPECT_TRUE(seen_[1].principal_id.empty());
}

TEST_F(AuthServiceTest, LockoutAndUnlockByTimeForKnownAndUnknownAddresses) {
  options_.throttle.lockout_threshold = 4;
  Recreate();
  SignUp();
  for (const char* email : {"alice@example.com", "ghost@example.com"}) {
    for (int i = 0; i < 4; ++i) {
      clock_.Advance(minutes(1));  // past the growing delay
      EXPECT_EQ(service_->Login(Realm::kUser, email, "wrong password!!", Client()).status().code(),
                StatusCode::kUnauthenticated);
    }
    clock_.Advance(minutes(1));
    // Even the right password is not checked while locked.
    ASSERT_OK_AND_ASSIGN(LoginOutcome locked,
                         service_->Login(Realm::kUser, email, kPassword, Client()));
    EXPECT_EQ(locked.kind, LoginOutcome::Kind::kThrottled);
    EXPECT_GT(locked.retry_after, minutes(10));
    EXPECT_EQ(seen_.back().reason, "locked");
  }
  clock_.Advance(minutes(16));
  ASSERT_OK_AND_ASSIGN(LoginOutcome ok,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  EXPECT_EQ(ok.kind, LoginOutcome::Kind::kSession);
}

TEST_F(AuthServiceTest, StaleThrottleStateIsForgotten) {
  for (int i = 0; i < 20; ++i) {
    (void)service_->Login(Realm::kUser, "spray" + std::to_string(i) + "@example.com",
                          "wrong password!!", Client("x", "192.0.2." + std::to_string(i)));
  }
  auto count = [this] {
    int64_t n = -1;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(auto row, txn.QueryOne("SELECT COUNT(*) FROM auth_throttle"));
      n = row->GetInt(0);
      return OkStatus();
    }));
    return n;
  };
  EXPECT_EQ(count(), 40);  // 20 addresses + 20 IPs
  clock_.Advance(options_.throttle.lockout_duration + seconds(1));
  (void)service_->Login(Realm::kUser, "last@example.com", "wrong password!!", Client());
  EXPECT_EQ(count(), 2);  // only the newest failure's address and IP remain
}

TEST_F(AuthServiceTest, SessionsExpireAndCanBeRevoked) {
  SignUp();
  const Principal first = LogIn();
  const std::string first_token = token_;
  const Principal second = LogIn();
  ASSERT_OK_AND_ASSIGN(auto sessions, service_->ListSessions(second));
  ASSERT_EQ(sessions.size(), 2u);
  ASSERT_OK(service_->RevokeSession(second, first.session_id, Client()));
  EXPECT_EQ(service_->Authenticate(Realm::kUser, first_token, false, "", Client()).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(seen_.back().reason, "session_revoked");
  EXPECT_EQ(service_->RevokeSession(second, first.session_id, Client()).code(),
            StatusCode::kNotFound);

  // Idle timeout.
  clock_.Advance(options_.session_idle_timeout);
  EXPECT_FALSE(service_->Authenticate(Realm::kUser, token_, false, "", Client()).ok());
  // Absolute lifetime, even when used every few minutes.
  LogIn();
  for (Duration used{}; used < options_.session_lifetime; used += minutes(30)) {
    ASSERT_OK(service_->Authenticate(Realm::kUser, token_, false, "", Client()).status());
    clock_.Advance(minutes(30));
  }
  EXPECT_FALSE(service_->Authenticate(Realm::kUser, token_, false, "", Client()).ok());
  // The operator realm does not accept a user token.
  LogIn();
  EXPECT_FALSE(service_->Authenticate(Realm::kOperator, token_, false, "", Client()).ok());
}

TEST_F(AuthServiceTest, CsrfTokenRequiredWhenAsked) {
  SignUp();
  const Principal who = LogIn();
  EXPECT_EQ(service_->Authenticate(Realm::kUser, token_, true, "", Client()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Authenticate(Realm::kUser, token_, true, "nope", Client()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_OK(
      service_
          ->Authenticate(Realm::kUser, token_, true, service_->CsrfToken(who.session_id), Client())
          .status());
}

TEST_F(AuthServiceTest, PasswordChangeRevokesOtherSessions) {
  SignUp();
  LogIn();
  const std::string other = token_;
  const Principal current = LogIn();
  EXPECT_EQ(
      service_->ChangePassword(current, "wrong current pw", "a brand new passphrase", Client())
          .code(),
      StatusCode::kPermissionDenied);
  ASSERT_OK(service_->ChangePassword(current, kPassword, "a brand new passphrase", Client()));
  EXPECT_FALSE(service_->Authenticate(Realm::kUser, other, false, "", Client()).ok());
  EXPECT_OK(service_->Authenticate(Realm::kUser, token_, false, "", Client()).status());
  EXPECT_OK(service_->Login(Realm::kUser, "alice@example.com", "a brand new passphrase", Client())
                .status());
}

TEST_F(AuthServiceTest, TotpLoginRefusesReplayAndRecoveryCodesWorkOnce) {
  SignUp();
  const Principal who = LogIn();
  std::vector<std::string> codes;
  const SecretBytes secret = EnrolTotp(who, &codes);
  ASSERT_EQ(codes.size(), 10u);
  ASSERT_OK_AND_ASSIGN(MeView me, service_->Me(who));
  EXPECT_TRUE(me.totp_enabled);

  clock_.Advance(seconds(60));
  ASSERT_OK_AND_ASSIGN(LoginOutcome step1,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  ASSERT_EQ(step1.kind, LoginOutcome::Kind::kMfaRequired);
  EXPECT_EQ(seen_.back().reason, "mfa_required");
  EXPECT_EQ(
      service_->LoginMfa(Realm::kUser, step1.challenge, "000000", "", Client()).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(seen_.back().reason, "mfa_failed");
  const std::string code = CodeAt(secret, clock_.Now());
  ASSERT_OK_AND_ASSIGN(LoginOutcome step2,
                       service_->LoginMfa(Realm::kUser, step1.challenge, code, "", Client()));
  EXPECT_EQ(step2.kind, LoginOutcome::Kind::kSession);
  // The challenge is single-use, and the same code is never accepted twice.
  EXPECT_FALSE(service_->LoginMfa(Realm::kUser, step1.challenge, code, "", Client()).ok());
  ASSERT_OK_AND_ASSIGN(LoginOutcome again,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  EXPECT_EQ(service_->LoginMfa(Realm::kUser, again.challenge, code, "", Client()).status().code(),
            StatusCode::kUnauthenticated);
  // A recovery code works once.
  ASSERT_OK_AND_ASSIGN(LoginOutcome third,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  ASSERT_OK(service_->LoginMfa(Realm::kUser, third.challenge, "", codes[3], Client()).status());
  EXPECT_EQ(seen_.back().reason, "recovery_code_used");
  ASSERT_OK_AND_ASSIGN(LoginOutcome fourth,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  EXPECT_FALSE(service_->LoginMfa(Realm::kUser, fourth.challenge, "", codes[3], Client()).ok());
  // Challenges expire.
  ASSERT_OK_AND_ASSIGN(LoginOutcome fifth,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  clock_.Advance(options_.mfa_challenge_ttl + seconds(1));
  EXPECT_FALSE(service_->LoginMfa(Realm::kUser, fifth.challenge, "", codes[4], Client()).ok());
}

TEST_F(AuthServiceTest, DisablingTotpNeedsPasswordAndCode) {
  SignUp();
  const Principal who = LogIn();
  const SecretBytes secret = EnrolTotp(who);
  clock_.Advance(seconds(30));
  EXPECT_EQ(
      service_->DisableTotp(who, "wrong password!!", CodeAt(secret, clock_.Now()), Client()).code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->DisableTotp(who, kPassword, "123456", Client()).code(),
            StatusCode::kPermissionDenied);
  ASSERT_OK(service_->DisableTotp(who, kPassword, CodeAt(secret, clock_.Now()), Client()));
  ASSERT_OK_AND_ASSIGN(LoginOutcome plain,
                       service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
  EXPECT_EQ(plain.kind, LoginOutcome::Kind::kSession);
}

TEST_F(AuthServiceTest, AccountRequiringTwoFactorAllowsOnlyEnrolment) {
  const SignupResult s = SignUp();
  const Principal owner = LogIn();
  ASSERT_OK(service_->UpdateAccount(owner, s.account_id, std::nullopt, true, Client()));
  const Principal limited = LogIn();
  EXPECT_TRUE(limited.enrol_only);
  EXPECT_EQ(seen_.back().reason, "mfa_enrolment_required");
  EXPECT_EQ(service_->GetAccount(limited, s.account_id).status().code(),
            StatusCode::kPermissionDenied);
  EnrolTotp(limited);
  ASSERT_OK_AND_ASSIGN(Principal full,
                       service_->Authenticate(Realm::kUser, token_, false, "", Client()));
  EXPECT_FALSE(full.enrol_only);
  ASSERT_OK_AND_ASSIGN(AccountView account, service_->GetAccount(full, s.account_id));
  EXPECT_TRUE(account.require_mfa);
  EXPECT_EQ(account.name, "Alice's team");
}

TEST_F(AuthServiceTest, MembersInvitationsRolesAndAccountLogins) {
  const SignupResult a = SignUp("alice@example.com");
  const Principal alice = LogIn("alice@example.com");
  const SignupResult b = SignUp("bob@example.com");
  const Principal bob = LogIn("bob@example.com");
  clock_.Advance(seconds(1));  // memberships list in joining order
  // Bob is not a member of Alice's account: it does not exist for him.
  EXPECT_EQ(service_->GetAccount(bob, a.account_id).status().code(), StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(Invitation inv, service_->Invite(alice, a.account_id, "Bob@example.com",
                                                        Role::kMember, Client()));
  const SignupResult c = SignUp("carol@example.com");
  const Principal carol = LogIn("carol@example.com");
  EXPECT_EQ(service_->AcceptInvitation(carol, inv.token, Client()).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(std::string joined, service_->AcceptInvitation(bob, inv.token, Client()));
  EXPECT_EQ(joined, a.account_id);
  EXPECT_FALSE(service_->AcceptInvitation(bob, inv.token, Client()).ok());  // single use

  ASSERT_OK_AND_ASSIGN(auto members, service_->ListMembers(bob, a.account_id));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].email, "alice@example.com");
  EXPECT_EQ(members[0].role, Role::kOwner);
  EXPECT_EQ(members[1].name, "Alice");  // SignUp names everyone Alice

  // Members see only their own logins; owners see all members'.
  EXPECT_EQ(service_->AccountLogins(bob, a.account_id, "", 50).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(auto all, service_->AccountLogins(alice, a.account_id, "", 50));
  std::set<std::string> who;
  for (const auto& e : all.items) who.insert(e.principal_id);
  EXPECT_EQ(who, (std::set<std::string>{a.user_id, b.user_id}));

  // Roles: only the owner changes them; the owner cannot be demoted or removed.
  EXPECT_EQ(service_->ChangeRole(bob, a.account_id, bob.id, Role::kAdmin, Client()).code(),
            StatusCode::kPermissionDenied);
  ASSERT_OK(service_->ChangeRole(alice, a.account_id, bob.id, Role::kAdmin, Client()));
  EXPECT_FALSE(service_->RemoveMember(bob, a.account_id, alice.id, Client()).ok());
  ASSERT_OK(service_->TransferOwnership(alice, a.account_id, bob.id, Client()));
  ASSERT_OK_AND_ASSIGN(Role alice_role, service_->RoleIn(alice, a.account_id));
  EXPECT_EQ(alice_role, Role::kAdmin);
  ASSERT_OK(service_->RemoveMember(bob, a.account_id, alice.id, Client()));
  EXPECT_EQ(service_->RoleIn(alice, a.account_id).status().code(), StatusCode::kNotFound);
  (void)c;
}

TEST_F(AuthServiceTest, OperatorsMustEnrolTotpBeforeAnySession) {
  ASSERT_OK_AND_ASSIGN(std::string token, service_->AddOperator("ops@example.com"));
  EXPECT_EQ(service_->AddOperator("OPS@example.com").status().code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(TotpEnrolment e,
                       service_->BeginOperatorEnrolment(token, kPassword, Client()));
  // Password set, TOTP not confirmed: no session.
  EXPECT_EQ(
      service_->Login(Realm::kOperator, "ops@example.com", kPassword, Client()).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(seen_.back().reason, "mfa_not_enrolled");
  const SecretBytes secret(std::string_view(*crypto::Base32Decode(e.secret_base32)));
  ASSERT_OK_AND_ASSIGN(auto codes, service_->ConfirmOperatorEnrolment(
                                       token, CodeAt(secret, clock_.Now()), Client()));
  EXPECT_EQ(codes.size(), 10u);
  EXPECT_FALSE(service_->BeginOperatorEnrolment(token, kPassword, Client()).ok());  // link used up
  // Operators cannot log in as users, and always need the second factor.
  EXPECT_FALSE(service_->Login(Realm::kUser, "ops@example.com", kPassword, Client()).ok());
  clock_.Advance(seconds(30));
  ASSERT_OK_AND_ASSIGN(LoginOutcome step1,
                       service_->Login(Realm::kOperator, "ops@example.com", kPassword, Client()));
  ASSERT_EQ(step1.kind, LoginOutcome::Kind::kMfaRequired);
  ASSERT_OK_AND_ASSIGN(LoginOutcome step2,
                       service_->LoginMfa(Realm::kOperator, step1.challenge,
                                          CodeAt(secret, clock_.Now()), "", Client()));
  ASSERT_OK_AND_ASSIGN(Principal op, service_->Authenticate(Realm::kOperator, step2.session.token,
                                                            false, "", Client()));
  EXPECT_TRUE(op.id.starts_with("opr_"));
  EXPECT_EQ(service_->DisableTotp(op, kPassword, "000000", Client()).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(AuthServiceTest, PersonalDataIsNotStoredInPlaintext) {
  ASSERT_OK(service_
                ->Signup("canary-3f9a1c@example.com", kPassword, "Canary Name 7b2e",
                         "Canary Team 51d0", Client())
                .status());
  const Principal who = LogIn("canary-3f9a1c@example.com");
  EnrolTotp(who);
  // The client's address and User-Agent: in login records, sessions, throttle keys and the
  // audit log, sealed or blind-indexed only.
  constexpr char kCanaryUa[] = "Mozilla/5.0 (X11; Linux x86_64) ua-canary-5e1f";
  clock_.Advance(seconds(1));
  ASSERT_OK_AND_ASSIGN(LoginOutcome canary_login,
                       service_->Login(Realm::kUser, "canary-3f9a1c@example.com", kPassword,
                                       Client(kCanaryUa, "198.51.100.77")));
  EXPECT_FALSE(service_
                   ->Login(Realm::kUser, "canary-3f9a1c@example.com", "wrong password!!",
                           Client(kCanaryUa, "198.51.100.77"))
                   .ok());
  ASSERT_OK_AND_ASSIGN(Page<LoginEventView> logins, service_->MyLogins(who, "", 10));
  // Still readable by their owner.
  EXPECT_EQ(std::count_if(logins.items.begin(), logins.items.end(),
                          [&](const LoginEventView& v) {
                            return v.client_ip == "198.51.100.77" && v.user_agent == kCanaryUa;
                          }),
            2);
  // A session used from the canary client (the minute's touch re-seals its last address).
  clock_.Advance(seconds(61));
  ASSERT_OK(
      service_->Authenticate(Realm::kUser, token_, false, "", Client(kCanaryUa, "198.51.100.77"))
          .status());
  ASSERT_OK_AND_ASSIGN(std::vector<SessionView> sessions, service_->ListSessions(who));
  EXPECT_TRUE(std::any_of(sessions.begin(), sessions.end(), [&](const SessionView& v) {
    return v.client_ip == "198.51.100.77" && v.user_agent == kCanaryUa;
  }));
  store_.reset();  // checkpoint and close, so the main file holds everything
  for (const char* file : {"/sicher.db", "/sicher.db-wal", "/keyring"}) {
    std::ifstream in(dir_ + file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    for (const char* canary : {"canary-3f9a1c", "Canary Name 7b2e", "Canary Team 51d0",
                               "198.51.100.77", "ua-canary-5e1f"}) {
      EXPECT_EQ(content.str().find(canary), std::string::npos) << canary << " in " << file;
    }
  }
}

}  // namespace
}  // namespace sicher::auth

namespace sicher::auth {
namespace {

// Audit events with `action`, as committed.
int64_t EventCount(store::Store& store, std::string_view action) {
  int64_t n = -1;
  EXPECT_OK(store.Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(
        std::optional<store::Row> row,
        txn.QueryOne("SELECT COUNT(*) FROM audit_events WHERE action = ?", {std::string(action)}));
    n = row->GetInt(0);
    return OkStatus();
  }));
  return n;
}

// Every state change commits with exactly one audit event, in the same transaction: a failure
// injected into the event's insert undoes the change, a failure injected into the change leaves
// no event, and without failures there is exactly one.
TEST_F(AuthServiceTest, EachChangeAndItsAuditEventCommitTogether) {
  const SignupResult alice_ids = SignUp("alice@example.com");
  SignUp("bob@example.com");
  const Principal alice = LogIn("alice@example.com");
  const Principal bob = LogIn("bob@example.com");
  const std::string acc = alice_ids.account_id;
  ASSERT_OK_AND_ASSIGN(Invitation inv,
                       service_->Invite(alice, acc, "bob@example.com", Role::kMember, Client()));
  ASSERT_OK(service_->AcceptInvitation(bob, inv.token, Client()).status());

  struct Case {
    std::string_view action;
    std::string change_sql;  // a statement of the change itself
    std::function<Status()> run;
    std::function<bool()> changed;
  };
  auto role_of_bob = [&] { return service_->RoleIn(bob, acc).value_or(Role::kOwner); };
  auto require_mfa = [&] { return service_->GetAccount(alice, acc)->require_mfa; };
  int64_t invitations_seen = 1;
  const std::vector<Case> cases = {
      {"member.role_changed", "UPDATE memberships SET role",
       [&] { return service_->ChangeRole(alice, acc, bob.id, Role::kAdmin, Client()); },
       [&] { return role_of_bob() == Role::kAdmin; }},
      {"account.updated", "UPDATE accounts SET require_mfa",
       [&] { return service_->UpdateAccount(alice, acc, std::nullopt, true, Client()); },
       [&] { return require_mfa(); }},
      {"member.invited", "INSERT INTO invitations",
       [&] {
         return service_->Invite(alice, acc, "carol@example.com", Role::kMember, Client()).status();
       },
       [&] {
         int64_t n = 0;
         EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
           ASSIGN_OR_RETURN(std::optional<store::Row> r,
                            txn.QueryOne("SELECT COUNT(*) FROM invitations"));
           n = r->GetInt(0);
           return OkStatus();
         }));
         return n > invitations_seen;
       }},
      {"session.logout", "UPDATE sessions SET revoked_at",
       [&] { return service_->Logout(bob, Client()); },
       [&] { return service_->ListSessions(bob)->empty(); }},
      {"member.removed", "DELETE FROM memberships",
       [&] { return service_->RemoveMember(alice, acc, bob.id, Client()); },
       [&] { return !service_->RoleIn(bob, acc).ok(); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.action));
    const int64_t before = EventCount(*store_, c.action);
    // The event's insert fails: the change is rolled back with it.
    faults_->FailStatementsContaining("INSERT INTO audit_events");
    EXPECT_FALSE(c.run().ok());
    EXPECT_FALSE(c.changed());
    EXPECT_EQ(EventCount(*store_, c.action), before);
    // The change fails: no event.
    faults_->FailStatementsContaining(c.change_sql);
    EXPECT_FALSE(c.run().ok());
    EXPECT_FALSE(c.changed());
    EXPECT_EQ(EventCount(*store_, c.action), before);
    // Both succeed: exactly one event.
    faults_->FailStatementsContaining("");
    EXPECT_OK(c.run());
    EXPECT_TRUE(c.changed());
    EXPECT_EQ(EventCount(*store_, c.action), before + 1);
  }
  EXPECT_GT(faults_->injected(), 0);
}

TEST_F(AuthServiceTest, LoginAttemptsAreAuditedWithTheirLoginRecord) {
  SignUp("alice@example.com");
  // The password check passes but the commit of its records fails: no session, no event.
  faults_->FailStatementsContaining("INSERT INTO audit_events");
  EXPECT_FALSE(service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()).ok());
  faults_->FailStatementsContaining("");
  EXPECT_EQ(EventCount(*store_, "login.password"), 0);
  int64_t sessions = -1;
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> r, txn.QueryOne("SELECT COUNT(*) FROM sessions"));
    sessions = r->GetInt(0);
    return OkStatus();
  }));
  EXPECT_EQ(sessions, 0);
  // One event per attempt, whatever the outcome, in the user's own scope (or system).
  LogIn("alice@example.com");
  EXPECT_FALSE(
      service_->Login(Realm::kUser, "alice@example.com", "wrong password!!", Client()).ok());
  EXPECT_FALSE(
      service_->Login(Realm::kUser, "nobody@example.com", "wrong password!!", Client()).ok());
  EXPECT_EQ(EventCount(*store_, "login.password"), 3);
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT scope, outcome FROM audit_events WHERE action = "
                               "'login.password' ORDER BY log_index"));
    EXPECT_TRUE(rows[0].GetText(0).starts_with("usr_"));
    EXPECT_EQ(rows[0].GetText(1), "success");
    EXPECT_EQ(rows[1].GetText(0), rows[0].GetText(0));
    EXPECT_EQ(rows[1].GetText(1), "failure");
    EXPECT_EQ(rows[2].GetText(0), "system");  // unknown address: nobody's scope
    EXPECT_EQ(rows[2].GetText(1), "failure");
    return OkStatus();
  }));
}

}  // namespace
}  // namespace sicher::auth

namespace sicher::auth {
namespace {

// With geo.database_path set, each login record carries the country of its address, in the
// login history and in the audit record (source.geo.country_iso_code).
TEST_F(AuthServiceTest, LoginRecordsCarryTheCountryFromAMaxMindDatabase) {
  using namespace net::mmdb_testing;  // NOLINT: the writer's helpers
  MmdbWriter writer(6, 24);
  writer.Insert("192.0.2.0/24", Country("DE"));
  writer.Insert("2001:db8::/32", Country("NL"));
  const std::string path = dir_ + "/country.mmdb";
  {
    std::ofstream f(path, std::ios::binary);
    f << writer.Build("GeoLite2-Country", 1700000000);
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<net::GeoLookup> geo, net::GeoLookup::Open(path));
  service_->SetGeoLookup(geo.get());
  SignUp("alice@example.com");
  ASSERT_OK(
      service_
          ->Login(Realm::kUser, "alice@example.com", kPassword, Client(kDesktopUa, "192.0.2.10"))
          .status());
  clock_.Advance(seconds(1));
  ASSERT_OK(
      service_
          ->Login(Realm::kUser, "alice@example.com", kPassword, Client(kDesktopUa, "2001:db8::7"))
          .status());
  clock_.Advance(seconds(1));  // distinct times: the history is ordered by time
  const Principal who = LogIn("alice@example.com");  // from 203.0.113.7: not in the database
  ASSERT_OK_AND_ASSIGN(Page<LoginEventView> page, service_->MyLogins(who, "", 10));
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_EQ(page.items[0].country, "");
  EXPECT_EQ(page.items[1].country, "NL");
  EXPECT_EQ(page.items[2].country, "DE");
  // The audit record has the same country, in ECS's field.
  std::vector<std::string> countries;
  const std::vector<std::string> scopes = {who.id};
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<audit::StoredEvent> events,
                     audit_->Page(txn, scopes, {.action = "login.password"}, std::nullopt, 10,
                                  audit::Order::kOldestFirst));
    for (const audit::StoredEvent& e : events) {
      const nlohmann::json j = nlohmann::json::parse(e.record);
      countries.push_back(j["source"].contains("geo")
                              ? j["source"]["geo"]["country_iso_code"].get<std::string>()
                              : "");
    }
    return OkStatus();
  }));
  EXPECT_EQ(countries, (std::vector<std::string>{"DE", "NL", ""}));
  service_->SetGeoLookup(nullptr);
}

}  // namespace
}  // namespace sicher::auth

namespace sicher::auth {
namespace {

TEST_F(AuthServiceTest, SignupsPerIpAreLimited) {
  options_.throttle.signup_ip_limit = 2;
  Recreate();
  SignUp("a1@example.com");
  SignUp("a2@example.com");
  Result<SignupResult> third =
      service_->Signup("a3@example.com", kPassword, "A", "A's team", Client());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(EventCount(*store_, "account.created"), 2);
  // Failed attempts count too (each one cost a hash): a taken address spends the budget.
  options_.throttle.signup_ip_limit = 3;
  Recreate();
  EXPECT_EQ(
      service_->Signup("a1@example.com", kPassword, "A", "A's team", Client()).status().code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(
      service_->Signup("a1@example.com", kPassword, "A", "A's team", Client()).status().code(),
      StatusCode::kResourceExhausted);
  options_.throttle.signup_ip_limit = 2;
  Recreate();
  // Another address is not affected; the window passing lifts the limit.
  EXPECT_OK(
      service_
          ->Signup("b1@example.com", kPassword, "B", "B's team", Client(kDesktopUa, "198.51.100.9"))
          .status());
  clock_.Advance(options_.throttle.lockout_duration);
  EXPECT_OK(service_->Signup("a3@example.com", kPassword, "A", "A's team", Client()).status());
}

}  // namespace
}  // namespace sicher::auth

namespace sicher::auth {
namespace {

// Refusals of a throttled address cost it nothing, so they are sampled: a flood of them adds a
// few records, each saying how many it stands for, not one row each.
TEST_F(AuthServiceTest, ThrottledRefusalsAreSampledNotEachRecorded) {
  options_.throttle.lockout_threshold = 3;
  Recreate();
  SignUp("alice@example.com");
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(
        service_->Login(Realm::kUser, "alice@example.com", "wrong password!!", Client()).ok());
  }
  const int64_t before = EventCount(*store_, "login.password");
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(LoginOutcome out,
                         service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()));
    EXPECT_EQ(out.kind, LoginOutcome::Kind::kThrottled);
  }
  EXPECT_EQ(EventCount(*store_, "login.password"), before + 1);
  clock_.Advance(seconds(10));
  ASSERT_OK(service_->Login(Realm::kUser, "alice@example.com", kPassword, Client()).status());
  EXPECT_EQ(EventCount(*store_, "login.password"), before + 2);
  std::string user_scope;
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> r,
                     txn.QueryOne("SELECT scope FROM audit_events WHERE action = "
                                  "'login.password' ORDER BY log_index DESC LIMIT 1"));
    user_scope = r->GetText(0);
    return OkStatus();
  }));
  std::vector<audit::StoredEvent> last;
  const std::vector<std::string> scope = {user_scope};
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(last, audit_->Page(txn, scope, {.action = "login.password"}, std::nullopt, 1,
                                        audit::Order::kNewestFirst));
    return OkStatus();
  }));
  ASSERT_EQ(last.size(), 1u);
  const nlohmann::json j = nlohmann::json::parse(last[0].record);
  EXPECT_EQ(j["sicher"]["details"]["suppressed_refusals"], 199);
}

}  // namespace
}  // namespace sicher::auth
