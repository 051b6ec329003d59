#include "sicher/store/migration.h"

#include <fmt/format.h>

namespace sicher::store {

std::vector<Migration> CoreMigrations() {
  std::vector<Migration> m;
  m.push_back(Migration{
      .version = 1,
      .name = "core",
      .sqlite_sql = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
) STRICT;
CREATE TABLE heartbeat (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  at TEXT NOT NULL
) STRICT;
)sql",
      .postgres_sql = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
);
CREATE TABLE heartbeat (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  at TEXT NOT NULL
);
)sql",
  });
  return m;
}

Status ValidateMigrations(std::span<const Migration> migrations) {
  if (migrations.empty() || migrations.front().version != 1 || migrations.front().name != "core") {
    return InvalidArgumentError("migrations must begin with CoreMigrations()");
  }
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return InvalidArgumentError(
          fmt::format("migration {} ({}): versions must be positive and strictly ascending",
                      m.version, m.name));
    }
    if (m.name.empty() || m.sqlite_sql.empty()) {
      return InvalidArgumentError(
          fmt::format("migration {}: name and sqlite_sql must not be empty", m.version));
    }
    previous = m.version;
  }
  return OkStatus();
}

}  // namespace sicher::store
