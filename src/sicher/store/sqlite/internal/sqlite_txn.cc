#include "sicher/store/sqlite/internal/sqlite_txn.h"

#include <fmt/format.h>

#include <algorithm>

#include "sicher/base/check.h"
#include "sicher/store/sqlite/internal/errors.h"

namespace sicher::store::sqlite::internal {

bool IsPortableText(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    p += len;
  }
  return true;
}

void SqliteTxn::Enlist(BatchParticipant& participant) {
  CHECK(participants_ != nullptr);  // a Read, or BeforeCommit: no batch to join
  if (std::find(participants_->begin(), participants_->end(), &participant) ==
      participants_->end()) {
    participants_->push_back(&participant);
  }
}

namespace {

// Resets and unbinds a cached statement when the call ends, however it ends.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

Status Bind(sqlite3_stmt* stmt, int index, const Value& value, sqlite3* db) {
  int rc = SQLITE_OK;
  if (std::holds_alternative<std::monostate>(value)) {
    rc = sqlite3_bind_null(stmt, index);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    rc = sqlite3_bind_int64(stmt, index, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    rc = sqlite3_bind_double(stmt, index, *d);
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    if (!IsPortableText(*s)) {
      return InvalidArgumentError(fmt::format(
          "parameter {}: TEXT must be valid UTF-8 without NUL; bind bytes as a Blob", index));
    }
    // SQLITE_STATIC: the Value outlives the statement's use (reset before returning).
    rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
  } else {
    const std::string& bytes = std::get<Blob>(value).bytes;
    // data() is never null, so an empty Blob binds as an empty BLOB, not as NULL.
    rc = sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) return SqliteError(rc, db, fmt::format("bind parameter {}", index));
  return OkStatus();
}

Value Column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return sqlite3_column_int64(stmt, i);
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt, i));
      return Blob{data == nullptr ? std::string() : std::string(data, size)};
    }
    default:
      return kNull;
  }
}

}  // namespace

Status SqliteTxn::Run(std::string_view sql, Params params, std::vector<Row>* rows) {
  sqlite3* db = conn_.db();
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn_.Prepare(sql));
  StatementReset reset(stmt);

  const int expected = sqlite3_bind_parameter_count(stmt);
  if (static_cast<size_t>(expected) != params.size()) {
    return InvalidArgumentError(
        fmt::format("statement has {} placeholders but {} values", expected, params.size()));
  }
  for (int i = 0; i < expected; ++i) {
    RETURN_IF_ERROR(Bind(stmt, i + 1, params.values()[static_cast<size_t>(i)], db));
  }

  const int columns = sqlite3_column_count(stmt);
  while (true) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if ((rc & 0xff) == SQLITE_READONLY && read_only_) {
        return FailedPreconditionError("a modifying statement inside Read");
      }
      return SqliteError(rc, db, "execute statement");
    }
    if (rows != nullptr) {
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(columns));
      for (int i = 0; i < columns; ++i) values.push_back(Column(stmt, i));
      rows->emplace_back(std::move(values));
    }
  }
  if (!sqlite3_stmt_readonly(stmt)) {
    changed_rows_ = sqlite3_changes64(db);
    last_insert_id_ = sqlite3_last_insert_rowid(db);
  }
  return OkStatus();
}

Status SqliteTxn::Exec(std::string_view sql, Params params) { return Run(sql, params, nullptr); }

Result<std::vector<Row>> SqliteTxn::Query(std::string_view sql, Params params) {
  std::vector<Row> rows;
  RETURN_IF_ERROR(Run(sql, params, &rows));
  return rows;
}

Result<std::optional<Row>> SqliteTxn::QueryOne(std::string_view sql, Params params) {
  std::vector<Row> rows;
  RETURN_IF_ERROR(Run(sql, params, &rows));
  if (rows.size() > 1) return InternalError("QueryOne: the statement returned several rows");
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

}  // namespace sicher::store::sqlite::internal
