#include <string>
#include <string_view>

#include "sicher/audit/log.h"

namespace sicher::audit {
namespace {

// audit_events' indexes and append-only guards (SQLite): created by migrations 300 and 301, and
// again by 303, which rebuilds the table.
constexpr std::string_view kEventIndexes = R"sql(
CREATE INDEX audit_events_by_scope ON audit_events (scope, at, log_index);
CREATE INDEX audit_events_by_actor ON audit_events (scope, actor_id, at, log_index);
)sql";
constexpr std::string_view kEventGuards = R"sql(
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_rewrite
BEFORE UPDATE OF log_index, at, scope, sequence, action, actor_id, outcome, leaf_hash
ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_purge_only BEFORE UPDATE OF payload, ip_index ON audit_events
WHEN NEW.payload IS NOT NULL OR NEW.ip_index IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an audit payload can only be purged'); END;
)sql";

}  // namespace

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
)sql" + std::string(kEventIndexes) +
                            R"sql(CREATE TABLE audit_scopes (
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
          },
          // Append-only, enforced by the database itself: no code path (and no mistaken
          // maintenance statement) can delete or rewrite an event, a tree node or a checkpoint;
          // an event's payload and IP index can only be cleared (the two purges). Someone with
          // write access to the file can drop these triggers; the Merkle tree and the signed
          // checkpoints are what catch that.
          store::Migration{
              .version = 301,
              .name = "audit_append_only",
              .sqlite_sql = "\n" + std::string(kEventGuards) +
                            R"sql(CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are kept as signed'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are kept as signed'); END;
)sql",
              .postgres_sql = R"sql(
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events'
     AND NEW.log_index = OLD.log_index AND NEW.at = OLD.at AND NEW.scope = OLD.scope
     AND NEW.sequence = OLD.sequence AND NEW.action = OLD.action
     AND NEW.actor_id = OLD.actor_id AND NEW.outcome = OLD.outcome
     AND NEW.leaf_hash = OLD.leaf_hash AND NEW.payload IS NULL AND NEW.ip_index IS NULL THEN
    RETURN NEW;  -- a purge
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
)sql",
          },
          // The counters only grow, and nothing deletes them: a rewound tree size or scope
          // sequence would make later appends collide or reuse numbers. (With the store's
          // recursive_triggers, INSERT OR REPLACE cannot slip past the DELETE guards either.)
          store::Migration{
              .version = 302,
              .name = "audit_counters_only_grow",
              .sqlite_sql = R"sql(
CREATE TRIGGER audit_tree_only_grows
BEFORE UPDATE ON audit_tree
WHEN NEW.id <> OLD.id OR NEW.size < OLD.size OR NEW.purged_below < OLD.purged_below
BEGIN SELECT RAISE(ABORT, 'the audit tree only grows'); END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'the audit tree only grows'); END;
CREATE TRIGGER audit_scopes_only_grow
BEFORE UPDATE ON audit_scopes
WHEN NEW.scope <> OLD.scope OR NEW.last_sequence <= OLD.last_sequence
BEGIN SELECT RAISE(ABORT, 'audit sequences only grow'); END;
CREATE TRIGGER audit_scopes_no_delete BEFORE DELETE ON audit_scopes
BEGIN SELECT RAISE(ABORT, 'audit sequences only grow'); END;
)sql",
              .postgres_sql = R"sql(
CREATE FUNCTION audit_counters_only_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_tree' AND NEW.id = OLD.id
     AND NEW.size >= OLD.size AND NEW.purged_below >= OLD.purged_below THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_scopes' AND NEW.scope = OLD.scope
     AND NEW.last_sequence > OLD.last_sequence THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% only grows', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER audit_tree_only_grows BEFORE UPDATE OR DELETE ON audit_tree
  FOR EACH ROW EXECUTE FUNCTION audit_counters_only_grow();
CREATE TRIGGER audit_scopes_only_grow BEFORE UPDATE OR DELETE ON audit_scopes
  FOR EACH ROW EXECUTE FUNCTION audit_counters_only_grow();
)sql",
          },
          // The outcome CHECK as comparisons: SQLite evaluates `x IN (a, b, c)` by building a
          // temporary b-tree of the list, once per inserted row, which was a tenth of an
          // append's time. SQLite cannot change a constraint in place, so the table is rebuilt
          // (https://www.sqlite.org/lang_altertable.html#otheralter): its indexes and its
          // append-only triggers go with the old table and are created again. The implicit
          // DELETE of DROP TABLE fires no triggers (they are dropped first).
          store::Migration{
              .version = 303,
              .name = "audit_outcome_check",
              .sqlite_sql = R"sql(
CREATE TABLE audit_events_v2 (
  log_index INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  scope TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  action TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  outcome TEXT NOT NULL
    CHECK (outcome = 'success' OR outcome = 'failure' OR outcome = 'unknown'),
  ip_index TEXT,
  payload BLOB,
  leaf_hash BLOB NOT NULL
) STRICT;
INSERT INTO audit_events_v2 (log_index, at, scope, sequence, action, actor_id, outcome,
                             ip_index, payload, leaf_hash)
  SELECT log_index, at, scope, sequence, action, actor_id, outcome, ip_index, payload, leaf_hash
  FROM audit_events ORDER BY log_index;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
)sql" + std::string(kEventIndexes) +
                            std::string(kEventGuards),
              // PostgreSQL checks an IN list without building anything per row.
              .postgres_sql = "SELECT 1",
          }};
}

}  // namespace sicher::audit
