#pragma once
// SqliteTxn: the Txn handed to closures, running statements on one Connection.
// Private to store/sqlite. Not thread-safe; lives for one closure.

#include "sicher/store/sqlite/internal/connection.h"
#include "sicher/store/store.h"

namespace sicher::store::sqlite::internal {

class SqliteTxn final : public Txn {
 public:
  SqliteTxn(Connection& conn, bool read_only) : conn_(conn), read_only_(read_only) {}

  Status Exec(std::string_view sql, Params params) override;
  Result<std::vector<Row>> Query(std::string_view sql, Params params) override;
  Result<std::optional<Row>> QueryOne(std::string_view sql, Params params) override;
  int64_t LastInsertId() const override { return last_insert_id_; }
  int64_t ChangedRows() const override { return changed_rows_; }
  bool read_only() const override { return read_only_; }

 private:
  // Runs one statement to completion, appending its rows to `rows` unless it is null.
  Status Run(std::string_view sql, Params params, std::vector<Row>* rows);

  Connection& conn_;
  const bool read_only_;
  int64_t last_insert_id_ = 0;
  int64_t changed_rows_ = 0;
};

// True if `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without NUL.
bool IsPortableText(std::string_view text);

}  // namespace sicher::store::sqlite::internal
