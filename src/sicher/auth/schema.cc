#include "sicher/auth/schema.h"

namespace sicher::auth {

// Times are INTEGER microseconds since the Unix epoch (UTC). Columns ending in _sealed hold
// AES-256-GCM ciphertext under the owner's data key (docs/design/keys.md); _index columns hold
// keyed HMAC blind indexes; _hash columns hold SHA-256 of high-entropy tokens or Argon2id PHC
// strings for passwords.
std::vector<store::Migration> AuthMigrations() {
  return {store::Migration{
              .version = 100,
              .name = "auth",
              .sqlite_sql = R"sql(
CREATE TABLE data_keys (
  owner_id TEXT PRIMARY KEY,
  kek_version INTEGER NOT NULL,
  wrapped_dek BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email_index TEXT NOT NULL UNIQUE,
  email_sealed BLOB NOT NULL,
  name_sealed BLOB NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL
) STRICT;
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name_sealed BLOB NOT NULL,
  require_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1)),
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE memberships (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, user_id)
) STRICT;
CREATE UNIQUE INDEX memberships_one_owner ON memberships (account_id) WHERE role = 'owner';
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  email_index TEXT NOT NULL UNIQUE,
  email_sealed BLOB NOT NULL,
  password_hash TEXT,
  enrol_token_hash BLOB UNIQUE,
  enrol_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  enrolled_at INTEGER
) STRICT;
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE,
  principal_id TEXT NOT NULL,
  realm TEXT NOT NULL CHECK (realm IN ('user', 'operator')),
  scope TEXT NOT NULL CHECK (scope IN ('full', 'enrol_mfa')),
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  os TEXT NOT NULL,
  browser TEXT NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_by_principal ON sessions (principal_id);
CREATE TABLE mfa_totp (
  principal_id TEXT PRIMARY KEY,
  secret_sealed BLOB NOT NULL,
  confirmed_at INTEGER,
  last_step INTEGER
) STRICT;
CREATE TABLE recovery_codes (
  principal_id TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (principal_id, code_hash)
) STRICT;
CREATE TABLE mfa_challenges (
  token_hash BLOB PRIMARY KEY,
  principal_id TEXT NOT NULL,
  realm TEXT NOT NULL CHECK (realm IN ('user', 'operator')),
  email_index TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER
) STRICT;
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE TABLE auth_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  locked_until INTEGER
) STRICT;
CREATE INDEX auth_throttle_by_last_failure ON auth_throttle (last_failure_at);
CREATE TABLE login_events (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  realm TEXT NOT NULL,
  principal_id TEXT,
  subject_index TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
  reason TEXT NOT NULL,
  method TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  os TEXT NOT NULL,
  browser TEXT NOT NULL,
  ua_parser TEXT NOT NULL,
  ch_mobile TEXT,
  ch_platform TEXT,
  session_id TEXT,
  new_device INTEGER NOT NULL DEFAULT 0,
  request_id TEXT NOT NULL
) STRICT;
CREATE INDEX login_events_by_principal ON login_events (principal_id, at);
CREATE INDEX login_events_by_time ON login_events (at);
CREATE TABLE user_devices (
  principal_id TEXT NOT NULL,
  device_key TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (principal_id, device_key)
) STRICT;
CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  email_index TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  invited_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  accepted_at INTEGER,
  revoked_at INTEGER
) STRICT;
)sql",
              .postgres_sql = R"sql(
CREATE TABLE data_keys (
  owner_id TEXT PRIMARY KEY,
  kek_version BIGINT NOT NULL,
  wrapped_dek BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email_index TEXT NOT NULL UNIQUE,
  email_sealed BYTEA NOT NULL,
  name_sealed BYTEA NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL
);
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name_sealed BYTEA NOT NULL,
  require_mfa BIGINT NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1)),
  created_at BIGINT NOT NULL
);
CREATE TABLE memberships (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, user_id)
);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (account_id) WHERE role = 'owner';
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  email_index TEXT NOT NULL UNIQUE,
  email_sealed BYTEA NOT NULL,
  password_hash TEXT,
  enrol_token_hash BYTEA UNIQUE,
  enrol_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  enrolled_at BIGINT
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  token_hash BYTEA NOT NULL UNIQUE,
  principal_id TEXT NOT NULL,
  realm TEXT NOT NULL CHECK (realm IN ('user', 'operator')),
  scope TEXT NOT NULL CHECK (scope IN ('full', 'enrol_mfa')),
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  os TEXT NOT NULL,
  browser TEXT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX sessions_by_principal ON sessions (principal_id);
CREATE TABLE mfa_totp (
  principal_id TEXT PRIMARY KEY,
  secret_sealed BYTEA NOT NULL,
  confirmed_at BIGINT,
  last_step BIGINT
);
CREATE TABLE recovery_codes (
  principal_id TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (principal_id, code_hash)
);
CREATE TABLE mfa_challenges (
  token_hash BYTEA PRIMARY KEY,
  principal_id TEXT NOT NULL,
  realm TEXT NOT NULL CHECK (realm IN ('user', 'operator')),
  email_index TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  failures BIGINT NOT NULL DEFAULT 0,
  used_at BIGINT
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE TABLE auth_throttle (
  key TEXT PRIMARY KEY,
  failures BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  last_failure_at BIGINT NOT NULL,
  locked_until BIGINT
);
CREATE INDEX auth_throttle_by_last_failure ON auth_throttle (last_failure_at);
CREATE TABLE login_events (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  realm TEXT NOT NULL,
  principal_id TEXT,
  subject_index TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
  reason TEXT NOT NULL,
  method TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  os TEXT NOT NULL,
  browser TEXT NOT NULL,
  ua_parser TEXT NOT NULL,
  ch_mobile TEXT,
  ch_platform TEXT,
  session_id TEXT,
  new_device BIGINT NOT NULL DEFAULT 0,
  request_id TEXT NOT NULL
);
CREATE INDEX login_events_by_principal ON login_events (principal_id, at);
CREATE INDEX login_events_by_time ON login_events (at);
CREATE TABLE user_devices (
  principal_id TEXT NOT NULL,
  device_key TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  PRIMARY KEY (principal_id, device_key)
);
CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  token_hash BYTEA NOT NULL UNIQUE,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  email_index TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  invited_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  accepted_at BIGINT,
  revoked_at BIGINT
);
)sql",
          },
          // Key rotation (docs/design/keys.md section 6). key_state is one row: the fence
          // min_kek_version (DataKeys::Create refuses to wrap a new DEK under an older KEK) and
          // the lease of the one `sicher keys rotate` allowed at a time. 0 = no rotation yet.
          store::Migration{
              .version = 101,
              .name = "key_rotation",
              .sqlite_sql = R"sql(
CREATE TABLE key_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  min_kek_version INTEGER NOT NULL CHECK (min_kek_version >= 0),
  rotation_holder TEXT,
  rotation_expires_at INTEGER
) STRICT;
INSERT INTO key_state (id, min_kek_version) VALUES (1, 0);
CREATE INDEX data_keys_by_kek_version ON data_keys (kek_version);
)sql",
              .postgres_sql = R"sql(
CREATE TABLE key_state (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  min_kek_version BIGINT NOT NULL CHECK (min_kek_version >= 0),
  rotation_holder TEXT,
  rotation_expires_at BIGINT
);
INSERT INTO key_state (id, min_kek_version) VALUES (1, 0);
CREATE INDEX data_keys_by_kek_version ON data_keys (kek_version);
)sql",
          },
          // The country of a login's IP address (ISO 3166-1 alpha-2) from geo.database_path;
          // NULL when no database is configured or the address is not in it.
          store::Migration{
              .version = 102,
              .name = "login_country",
              .sqlite_sql = "ALTER TABLE login_events ADD COLUMN country TEXT;",
              .postgres_sql = "ALTER TABLE login_events ADD COLUMN country TEXT;",
          },
          // The client's IP address and User-Agent, sealed (AuthService::SealClient): rows
          // written from now on keep client_ip and user_agent empty. Earlier rows keep their
          // clear values until they age out.
          store::Migration{
              .version = 103,
              .name = "sealed_client_fields",
              .sqlite_sql = "ALTER TABLE login_events ADD COLUMN client_sealed BLOB; "
                            "ALTER TABLE sessions ADD COLUMN client_sealed BLOB;",
              .postgres_sql = "ALTER TABLE login_events ADD COLUMN client_sealed BYTEA; "
                              "ALTER TABLE sessions ADD COLUMN client_sealed BYTEA;",
          }};
}

}  // namespace sicher::auth
