#pragma once
// Test-only schema shared by store_crash_writer and store_crash_test.

#include <vector>

#include "sicher/store/migration.h"

namespace sicher::store::testing {

inline std::vector<Migration> CrashTestMigrations() {
  std::vector<Migration> m = CoreMigrations();
  m.push_back(Migration{
      .version = 1000,
      .name = "crash_rows",
      .sqlite_sql = "CREATE TABLE crash_rows (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, "
                    "seq INTEGER NOT NULL, payload BLOB NOT NULL) STRICT;",
      .postgres_sql = "CREATE TABLE crash_rows (id BIGSERIAL PRIMARY KEY, writer BIGINT NOT "
                      "NULL, seq BIGINT NOT NULL, payload BYTEA NOT NULL);",
  });
  return m;
}

}  // namespace sicher::store::testing
