#include "sicher/docs/schema.h"

namespace sicher::docs {

// Times are INTEGER microseconds since the Unix epoch (UTC). Columns ending in _sealed hold
// SealField ciphertext under the account's DEK; document_chunks.sealed holds the envelope's
// chunks (docs/design/document-envelope.md); token_hash is SHA-256 of a 256-bit link token.
// Foreign keys cascade from documents to versions to chunks, so no chunk outlives its version;
// the store still deletes chunks in batches first (a single cascade of a 2 GiB document would
// hold the writer for seconds). Events have no foreign key: they outlive what they describe.
std::vector<store::Migration> DocsMigrations() {
  return {store::Migration{
      .version = 200,
      .name = "docs",
      .sqlite_sql = R"sql(
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  state TEXT NOT NULL CHECK (state IN ('uploading', 'active', 'deleting')),
  current_version INTEGER NOT NULL,
  last_version INTEGER NOT NULL,
  title_sealed BLOB NOT NULL,
  description_sealed BLOB NOT NULL,
  content_type_sealed BLOB NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
) STRICT;
CREATE INDEX documents_by_account ON documents (account_id, created_at, id);
CREATE INDEX documents_by_state ON documents (state);
CREATE TABLE document_versions (
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('uploading', 'complete', 'dead')),
  format INTEGER NOT NULL,
  key_salt BLOB NOT NULL,
  header_tag BLOB,
  chunk_size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  touched_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (document_id, version)
) STRICT;
CREATE INDEX document_versions_by_state ON document_versions (state, touched_at);
CREATE TABLE document_chunks (
  document_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  PRIMARY KEY (document_id, version, idx),
  FOREIGN KEY (document_id, version) REFERENCES document_versions (document_id, version)
    ON DELETE CASCADE
) STRICT;
CREATE TABLE document_links (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  token_hash BLOB NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE INDEX document_links_by_document ON document_links (document_id, created_at);
CREATE TABLE document_events (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  account_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  reason TEXT NOT NULL,
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'link', 'system')),
  actor_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  request_id TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  link_id TEXT NOT NULL
) STRICT;
CREATE INDEX document_events_by_account ON document_events (account_id, at);
CREATE INDEX document_events_by_document ON document_events (document_id, at);
)sql",
      .postgres_sql = R"sql(
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  state TEXT NOT NULL CHECK (state IN ('uploading', 'active', 'deleting')),
  current_version BIGINT NOT NULL,
  last_version BIGINT NOT NULL,
  title_sealed BYTEA NOT NULL,
  description_sealed BYTEA NOT NULL,
  content_type_sealed BYTEA NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX documents_by_account ON documents (account_id, created_at, id);
CREATE INDEX documents_by_state ON documents (state);
CREATE TABLE document_versions (
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('uploading', 'complete', 'dead')),
  format BIGINT NOT NULL,
  key_salt BYTEA NOT NULL,
  header_tag BYTEA,
  chunk_size BIGINT NOT NULL,
  chunk_count BIGINT NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  touched_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (document_id, version)
);
CREATE INDEX document_versions_by_state ON document_versions (state, touched_at);
CREATE TABLE document_chunks (
  document_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  idx BIGINT NOT NULL,
  sealed BYTEA NOT NULL,
  PRIMARY KEY (document_id, version, idx),
  FOREIGN KEY (document_id, version) REFERENCES document_versions (document_id, version)
    ON DELETE CASCADE
);
CREATE TABLE document_links (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  token_hash BYTEA NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX document_links_by_document ON document_links (document_id, created_at);
CREATE TABLE document_events (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  account_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  reason TEXT NOT NULL,
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'link', 'system')),
  actor_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_type TEXT NOT NULL,
  request_id TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  link_id TEXT NOT NULL
);
CREATE INDEX document_events_by_account ON document_events (account_id, at);
CREATE INDEX document_events_by_document ON document_events (document_id, at);
)sql",
  }};
}

}  // namespace sicher::docs
