#pragma once
// SqliteTxn: the Txn handed to closures, running statements on one Connection.
// Private to store/sqlite. Not thread-safe; lives for one closure.

#include <vector>

#include "sicher/store/sqlite/internal/connection.h"
#include "sicher/store/store.h"

namespace sicher::store::sqlite::internal {

class SqliteTxn final : public Txn {
 public:
  // `participants`: the write batch's enlisted participants (null in a Read and in
  // BeforeCommit, where Enlist is a bug).
  SqliteTxn(Connection& conn, bool read_only,
            std::vector<BatchParticipant*>* participants = nullptr)
      : conn_(conn), read_only_(read_only), participants_(participants) {}

  Status Exec(std::string_view sql, Params params) override;
  Result<std::vector<Row>> Query(std::string_view sql, Params params) override;
  Result<std::optional<Row>> QueryOne(std::string_view sql, Params params) override;
  int64_t LastInsertId() const override { return last_insert_id_; }
  int64_t ChangedRows() const override { return changed_rows_; }
  bool read_only() const override { return read_only_; }
  void Enlist(BatchParticipant& participant) override;

 private:
  // Runs one statement to completion, appending its rows to `rows` unless it is null.
  Status Run(std::string_view sql, Params params, std::vector<Row>* rows);

  Connection& conn_;
  const bool read_only_;
  std::vector<BatchParticipant*>* const participants_;
  int64_t last_insert_id_ = 0;
  int64_t changed_rows_ = 0;
};

// True if `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without NUL.
bool IsPortableText(std::string_view text);

}  // namespace sicher::store::sqlite::internal
