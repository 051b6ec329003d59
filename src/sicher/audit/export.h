#pragma once
// Streamed export of the audit log (docs/design/audit-log.md section 5) and the offline check of
// an export against signed checkpoints (section 8). Memory does not depend on the export's
// size: events are read in pages of kExportPage, one read transaction each, and handed to the
// caller's writer as they are formatted.

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/audit/checkpoint.h"
#include "sicher/audit/log.h"
#include "sicher/base/status.h"
#include "sicher/store/store.h"

namespace sicher::audit {

inline constexpr size_t kExportPage = 1000;
// An export line longer than this is refused by the verifier (records are a few KiB at most).
inline constexpr size_t kMaxExportLineBytes = 1 << 20;

enum class ExportFormat { kCsv, kJsonl };
// "csv" / "jsonl"; InvalidArgument otherwise.
Result<ExportFormat> ParseExportFormat(std::string_view name);

struct ExportRequest {
  std::vector<std::string> scopes;
  Filter filter;
  ExportFormat format = ExportFormat::kJsonl;
  // JSON Lines only: make a checkpoint first, export only events inside it, and add each
  // event's inclusion proof (member "tlog").
  bool proofs = false;
};

struct ExportSummary {
  uint64_t events = 0;
  uint64_t unreadable = 0;  // events whose payload did not open (written as error lines)
  uint64_t tree_size = 0;   // the checkpoint's size when proofs were asked for
};

// Streams `request`'s events, oldest first, through `write`. A write error stops the export
// with that error.
Result<ExportSummary> Export(store::Store& store, Log& log, const ExportRequest& request,
                             const std::function<Status(std::string_view)>& write);

// The CSV header row and one event's row (RFC 4180, CRLF line ends). Cells that a spreadsheet
// would run as a formula (starting with = + - @ TAB CR) get a leading apostrophe.
std::string CsvHeader();
std::string CsvRow(const nlohmann::json& record);

struct ExportCheck {
  uint64_t lines = 0;
  uint64_t verified = 0;
  std::vector<std::string> problems;  // empty: every line checked out
};

// Checks every line of a JSON Lines export made with proofs: the record's leaf hash is included
// at its sicher.log_index in the tree of the checkpoint whose size the line names (which must
// be in `checkpoints`, already signature-checked), log indexes increase, and each scope's
// event.sequence has no gap. Problems name the event id and log index.
ExportCheck VerifyExport(std::istream& in, const std::map<uint64_t, Checkpoint>& checkpoints);

}  // namespace sicher::audit
