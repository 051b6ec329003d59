#include "sicher/audit/export.h"

#include <fmt/format.h>

#include <array>

#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"

namespace sicher::audit {
namespace {

// The CSV columns: a header name and the record path it comes from.
struct Column {
  std::string_view header;
  std::array<std::string_view, 3> path;
};
constexpr std::array<Column, 18> kColumns = {{
    {"log_index", {"sicher", "log_index", ""}},
    {"timestamp", {"@timestamp", "", ""}},
    {"event_id", {"event", "id", ""}},
    {"action", {"event", "action", ""}},
    {"outcome", {"event", "outcome", ""}},
    {"reason", {"event", "reason", ""}},
    {"sequence", {"event", "sequence", ""}},
    {"account_id", {"organization", "id", ""}},
    {"scope", {"sicher", "scope", ""}},
    {"actor_type", {"sicher", "actor", "type"}},
    {"actor_id", {"sicher", "actor", "id"}},
    {"target_type", {"sicher", "target", "type"}},
    {"target_id", {"sicher", "target", "id"}},
    {"source_ip", {"source", "ip", ""}},
    {"user_agent", {"user_agent", "original", ""}},
    {"device_type", {"sicher", "device_type", ""}},
    {"request_id", {"http", "request", "id"}},
    {"details", {"sicher", "details", ""}},
}};

void AppendCsvCell(std::string_view value, std::string* out) {
  std::string cell;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    cell = "'";
  }
  cell += value;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) {
    *out += cell;
    return;
  }
  *out += '"';
  for (char c : cell) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}

std::string CellText(const nlohmann::json& record, const Column& col) {
  const nlohmann::json* node = &record;
  for (std::string_view key : col.path) {
    if (key.empty()) break;
    if (!node->is_object()) return "";
    auto it = node->find(std::string(key));
    if (it == node->end()) return "";
    node = &*it;
  }
  if (node->is_string()) return node->get<std::string>();
  if (node->is_null()) return "";
  return CanonicalJson(*node);
}

std::string ErrorLine(const StoredEvent& ev) {
  return CanonicalJson({{"sicher",
                         {{"log_index", ev.log_index},
                          {"scope", ev.scope},
                          {"error", std::string(ev.status.message())}}}}) +
         "\n";
}

// Checks one export line; true when its inclusion proof verified. Problems go to `problem`.
bool CheckLine(const std::string& line, uint64_t n,
               const std::map<uint64_t, Checkpoint>& checkpoints, int64_t& last_index,
               std::map<std::string, int64_t>& last_sequence,
               const std::function<void(std::string)>& problem) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    problem(fmt::format("line {}: not a JSON object", n));
    return false;
  }
  const nlohmann::json sicher = j.value("sicher", nlohmann::json::object());
  const std::string id =
      j.contains("event") && j["event"].is_object() ? j["event"].value("id", "") : "";
  if (!sicher.is_object() || !sicher.contains("log_index") ||
      !sicher["log_index"].is_number_unsigned()) {
    problem(fmt::format("line {}: no sicher.log_index", n));
    return false;
  }
  const uint64_t index = sicher["log_index"].get<uint64_t>();
  const std::string name = id.empty() ? fmt::format("event at log index {}", index)
                                      : fmt::format("event {} (log index {})", id, index);
  if (sicher.contains("error")) {
    problem(fmt::format("line {}: {}: the server could not read it: {}", n, name,
                        sicher["error"].is_string() ? sicher["error"].get<std::string>() : ""));
    return false;
  }
  if (static_cast<int64_t>(index) <= last_index) {
    problem(fmt::format("line {}: {} is out of order (after log index {})", n, name, last_index));
  }
  last_index = std::max<int64_t>(last_index, static_cast<int64_t>(index));
  const std::string scope = sicher.value("scope", "");
  const int64_t seq = j.contains("event") && j["event"].is_object() &&
                              j["event"].contains("sequence") &&
                              j["event"]["sequence"].is_number_integer()
                          ? j["event"]["sequence"].get<int64_t>()
                          : 0;
  if (auto it = last_sequence.find(scope); it != last_sequence.end() && seq != it->second + 1) {
    problem(
        fmt::format("line {}: {}: scope {} jumps from sequence {} to {}: {} event(s) "
                    "missing or purged before it",
                    n, name, scope, it->second, seq, seq - it->second - 1));
  }
  last_sequence[scope] = seq;

  if (!j.contains("tlog") || !j["tlog"].is_object()) {
    problem(fmt::format("line {}: {} has no inclusion proof (export with proofs)", n, name));
    return false;
  }
  const nlohmann::json tlog = j["tlog"];
  j.erase("tlog");
  const uint64_t size = tlog.value("tree_size", uint64_t{0});
  auto cp = checkpoints.find(size);
  if (cp == checkpoints.end()) {
    problem(
        fmt::format("line {}: {} is proven against tree size {}, but no checkpoint of "
                    "that size was given",
                    n, name, size));
    return false;
  }
  std::vector<std::string> proof;
  bool bad = !tlog.contains("inclusion_proof") || !tlog["inclusion_proof"].is_array();
  if (!bad) {
    for (const auto& h : tlog["inclusion_proof"]) {
      std::optional<std::string> raw =
          h.is_string() ? Base64Decode(h.get<std::string>()) : std::nullopt;
      if (!raw || raw->size() != 32) {
        bad = true;
        break;
      }
      proof.push_back(*std::move(raw));
    }
  }
  if (bad) {
    problem(fmt::format("line {}: {}: malformed inclusion proof", n, name));
    return false;
  }
  const Status s =
      VerifyInclusion(LeafHash(CanonicalJson(j)), index, size, proof, cp->second.root_hash);
  if (!s.ok()) {
    problem(
        fmt::format("line {}: {} is not in the log as exported (modified, or not at this "
                    "position): {}",
                    n, name, s.message()));
    return false;
  }
  return true;
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "jsonl") return ExportFormat::kJsonl;
  return InvalidArgumentError("format must be csv or jsonl");
}

std::string CsvHeader() {
  std::string out;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    if (i > 0) out += ',';
    out += kColumns[i].header;
  }
  out += "\r\n";
  return out;
}

std::string CsvRow(const nlohmann::json& record) {
  std::string out;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    if (i > 0) out += ',';
    AppendCsvCell(CellText(record, kColumns[i]), &out);
  }
  out += "\r\n";
  return out;
}

Result<ExportSummary> Export(store::Store& store, Log& log, const ExportRequest& request,
                             const std::function<Status(std::string_view)>& write) {
  if (request.proofs && request.format != ExportFormat::kJsonl) {
    return InvalidArgumentError("proofs are only available in JSON Lines exports");
  }
  ExportSummary summary;
  Filter filter = request.filter;
  if (request.proofs) {
    ASSIGN_OR_RETURN(StoredCheckpoint cp, log.MakeCheckpoint(store));
    summary.tree_size = cp.size;
    filter.below_log_index = cp.size;
  }
  if (request.format == ExportFormat::kCsv) RETURN_IF_ERROR(write(CsvHeader()));

  std::optional<Position> after;
  std::string chunk;
  for (;;) {
    std::vector<StoredEvent> page;
    chunk.clear();
    RETURN_IF_ERROR(store.Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(
          page, log.Page(txn, request.scopes, filter, after, kExportPage, Order::kOldestFirst));
      for (const StoredEvent& ev : page) {
        if (!ev.status.ok()) {
          ++summary.unreadable;
          if (request.format == ExportFormat::kJsonl) chunk += ErrorLine(ev);
          continue;
        }
        ++summary.events;
        if (request.format == ExportFormat::kCsv) {
          chunk += CsvRow(nlohmann::json::parse(ev.record, nullptr, false));
          continue;
        }
        if (!request.proofs) {
          chunk += ev.record;
          chunk += '\n';
          continue;
        }
        ASSIGN_OR_RETURN(InclusionProofView proof,
                         Log::InclusionProof(txn, ev.log_index, summary.tree_size));
        nlohmann::json hashes = nlohmann::json::array();
        for (const std::string& h : proof.proof) hashes.push_back(Base64Encode(h));
        const nlohmann::json tlog = {{"tree_size", summary.tree_size},
                                     {"inclusion_proof", std::move(hashes)}};
        // The record is an object: splice the member in before its closing brace.
        chunk.append(ev.record, 0, ev.record.size() - 1);
        chunk += ",\"tlog\":";
        chunk += CanonicalJson(tlog);
        chunk += "}\n";
      }
      return OkStatus();
    }));
    if (!chunk.empty()) RETURN_IF_ERROR(write(chunk));
    if (page.size() < kExportPage) return summary;
    after = Position{page.back().at_us, static_cast<int64_t>(page.back().log_index)};
  }
}

ExportCheck VerifyExport(std::istream& in, const std::map<uint64_t, Checkpoint>& checkpoints) {
  ExportCheck check;
  std::map<std::string, int64_t> last_sequence;  // per scope
  int64_t last_index = -1;
  std::string line;
  const std::function<void(std::string)> problem = [&](std::string text) {
    if (check.problems.size() < 1000) check.problems.push_back(std::move(text));
  };
  while (true) {
    line.clear();
    // Bounded read of one line.
    char c;
    bool any = false;
    bool too_long = false;
    while (in.get(c)) {
      any = true;
      if (c == '\n') break;
      if (line.size() >= kMaxExportLineBytes) {
        too_long = true;
        continue;
      }
      line += c;
    }
    if (!any) break;
    ++check.lines;
    const uint64_t n = check.lines;
    if (too_long) {
      problem(fmt::format("line {}: longer than {} bytes", n, kMaxExportLineBytes));
      continue;
    }
    if (line.empty()) continue;
    // A crafted line (a field of the wrong type) must become a problem, never an abort.
    try {
      if (CheckLine(line, n, checkpoints, last_index, last_sequence, problem)) ++check.verified;
    } catch (const nlohmann::json::exception& e) {
      problem(fmt::format("line {}: malformed record ({})", n, e.what()));
    }
  }
  return check;
}

}  // namespace sicher::audit
