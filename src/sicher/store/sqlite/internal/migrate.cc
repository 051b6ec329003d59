#include "sicher/store/sqlite/internal/migrate.h"

#include <fmt/format.h>

#include <map>

#include "sicher/base/check.h"
#include "sicher/store/sqlite/internal/sqlite_txn.h"

namespace sicher::store::sqlite::internal {
namespace {

using Applied = std::map<int64_t, std::string>;  // version -> name

Result<Applied> ReadApplied(Txn& txn) {
  ASSIGN_OR_RETURN(std::optional<Row> exists,
                   txn.QueryOne("SELECT count(*) FROM sqlite_master WHERE type = ? AND name = ?",
                                {"table", "schema_migrations"}));
  Applied applied;
  if (!exists.has_value() || exists->GetInt(0) == 0) return applied;
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   txn.Query("SELECT version, name FROM schema_migrations ORDER BY version"));
  for (const Row& row : rows) applied.emplace(row.GetInt(0), row.GetText(1));
  return applied;
}

Status CheckKnown(const Applied& applied, std::span<const Migration> migrations) {
  std::map<int64_t, const Migration*> known;
  for (const Migration& m : migrations) known.emplace(m.version, &m);
  for (const auto& [version, name] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return FailedPreconditionError(fmt::format(
          "the database has schema migration {} ({}), which this sicher does not know; it was "
          "written by a newer version",
          version, name));
    }
    if (it->second->name != name) {
      return FailedPreconditionError(
          fmt::format("schema migration {} is '{}' in the database but '{}' in this sicher",
                      version, name, it->second->name));
    }
  }
  return OkStatus();
}

Status ApplyOne(Connection& conn, Txn& txn, const Migration& m,
                std::span<const Migration> migrations, Time now) {
  ASSIGN_OR_RETURN(const Applied applied, ReadApplied(txn));
  RETURN_IF_ERROR(CheckKnown(applied, migrations));
  if (applied.contains(m.version)) return OkStatus();  // another process was faster
  RETURN_IF_ERROR(conn.ExecInternal(m.sqlite_sql.c_str(), "run migration"));
  return txn.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                  {int64_t{m.version}, m.name, FormatRfc3339(now)});
}

}  // namespace

Status ApplyMigrations(Connection& conn, std::span<const Migration> migrations, Time now) {
  RETURN_IF_ERROR(ValidateMigrations(migrations));
  CHECK(!conn.InTransaction());
  SqliteTxn txn(conn, /*read_only=*/false);
  ASSIGN_OR_RETURN(const Applied applied, ReadApplied(txn));
  RETURN_IF_ERROR(CheckKnown(applied, migrations));
  for (const Migration& m : migrations) {
    if (applied.contains(m.version)) continue;
    const std::string context = fmt::format("migration {} ({})", m.version, m.name);
    RETURN_IF_ERROR(conn.ExecInternal("BEGIN IMMEDIATE", "begin").WithContext(context));
    Status s = ApplyOne(conn, txn, m, migrations, now);
    if (s.ok()) s = conn.ExecInternal("COMMIT", "commit");
    if (!s.ok()) {
      if (conn.InTransaction()) (void)conn.ExecInternal("ROLLBACK", "rollback");
      return s.WithContext(context);
    }
  }
  return OkStatus();
}

}  // namespace sicher::store::sqlite::internal
