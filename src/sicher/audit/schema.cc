#include "sicher/audit/log.h"

namespace sicher::audit {

// docs/design/audit-log.md section 2. `payload` is the record sealed under the scope's DEK
// (NULL once purged); `leaf_hash` is SHA-256(0x00 || record) and is never cleared. The counters
// live in rows so that a rolled-back append gives its numbers back.
std::vector<store::Migration> AuditMigrations() {
  return {store::Migration{
      .version = 300,
      .name = "audit",
      .sqlite_sql = R"sql(
CREATE TABLE audit_events (
  log_index INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  scope TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  action TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
  ip_index TEXT,
  payload BLOB,
  leaf_hash BLOB NOT NULL
) STRICT;
CREATE INDEX audit_events_by_scope ON audit_events (scope, at, log_index);
CREATE INDEX audit_events_by_actor ON audit_events (scope, actor_id, at, log_index);
CREATE TABLE audit_scopes (
  scope TEXT PRIMARY KEY,
  last_sequence INTEGER NOT NULL
) STRICT;
CREATE TABLE audit_tree (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  purged_below INTEGER NOT NULL
) STRICT;
INSERT INTO audit_tree (id, size, purged_below) VALUES (1, 0, 0);
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  size INTEGER PRIMARY KEY,
  root_hash BLOB NOT NULL,
  note TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql",
      .postgres_sql = R"sql(
CREATE TABLE audit_events (
  log_index BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  scope TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  action TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
  ip_index TEXT,
  payload BYTEA,
  leaf_hash BYTEA NOT NULL
);
CREATE INDEX audit_events_by_scope ON audit_events (scope, at, log_index);
CREATE INDEX audit_events_by_actor ON audit_events (scope, actor_id, at, log_index);
CREATE TABLE audit_scopes (
  scope TEXT PRIMARY KEY,
  last_sequence BIGINT NOT NULL
);
CREATE TABLE audit_tree (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  size BIGINT NOT NULL,
  purged_below BIGINT NOT NULL
);
INSERT INTO audit_tree (id, size, purged_below) VALUES (1, 0, 0);
CREATE TABLE audit_nodes (
  level BIGINT NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
  size BIGINT PRIMARY KEY,
  root_hash BYTEA NOT NULL,
  note TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql",
  }};
}

}  // namespace sicher::audit
