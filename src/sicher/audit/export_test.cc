#include "sicher/audit/export.h"

#include <gtest/gtest.h>

#include <sstream>

#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::audit {
namespace {

TEST(CsvTest, HeaderAndQuoting) {
  EXPECT_TRUE(CsvHeader().starts_with("log_index,timestamp,event_id,action,outcome,"));
  EXPECT_TRUE(CsvHeader().ends_with(",request_id,details\r\n"));
  const nlohmann::json record = {
      {"@timestamp", "2026-11-27T00:00:00.000000Z"},
      {"event",
       {{"id", "aev_1"}, {"action", "document.read"}, {"outcome", "success"}, {"sequence", 3}}},
      {"user_agent", {{"original", "Agent, \"quoted\"\r\nnext line"}}},
      {"source", {{"ip", "=cmd|' /C calc'!A0"}}},
      {"sicher", {{"log_index", 9}, {"scope", "acc_1"}, {"details", {{"b", 1}, {"a", "x"}}}}}};
  const std::string row = CsvRow(record);
  EXPECT_TRUE(row.starts_with("9,2026-11-27T00:00:00.000000Z,aev_1,document.read,success,,3,,"))
      << row;
  // Quotes doubled, the field quoted because of the comma, quote and line break.
  EXPECT_NE(row.find("\"Agent, \"\"quoted\"\"\r\nnext line\""), std::string::npos) << row;
  // A formula is defused.
  EXPECT_NE(row.find(",'=cmd|' /C calc'!A0,"), std::string::npos) << row;
  // Details as canonical JSON, quoted (it holds commas and quotes).
  EXPECT_NE(row.find("\"{\"\"a\"\":\"\"x\"\",\"\"b\"\":1}\""), std::string::npos) << row;
  EXPECT_TRUE(row.ends_with("\r\n"));
}

TEST(ExportFormatTest, Parse) {
  EXPECT_EQ(*ParseExportFormat("csv"), ExportFormat::kCsv);
  EXPECT_EQ(*ParseExportFormat("jsonl"), ExportFormat::kJsonl);
  EXPECT_EQ(ParseExportFormat("xml").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseExportFormat("").status().code(), StatusCode::kInvalidArgument);
}

// An export of `n` events in one scope, with proofs against the tree of all of them, built
// without a database: the verifier sees exactly what the server writes.
struct Built {
  std::vector<std::string> lines;
  Checkpoint checkpoint;
};

Built Build(int n) {
  std::vector<std::string> records;
  MemoryTree tree;
  for (int i = 0; i < n; ++i) {
    const nlohmann::json r = {{"event", {{"id", "aev_" + std::to_string(i)}, {"sequence", i + 1}}},
                              {"sicher", {{"log_index", i}, {"scope", "acc_1"}}}};
    records.push_back(CanonicalJson(r));
    tree.Append(LeafHash(records.back()));
  }
  Built b;
  b.checkpoint.origin = "test";
  b.checkpoint.size = static_cast<uint64_t>(n);
  b.checkpoint.root_hash = *RootHash(tree, n);
  for (int i = 0; i < n; ++i) {
    nlohmann::json proof = nlohmann::json::array();
    const Result<std::vector<std::string>> hashes = InclusionProof(tree, i, n);
    for (const std::string& h : *hashes) proof.push_back(Base64Encode(h));
    std::string line = records[i];
    line.pop_back();
    line += ",\"tlog\":" + CanonicalJson({{"tree_size", n}, {"inclusion_proof", proof}}) + "}";
    b.lines.push_back(line);
  }
  return b;
}

ExportCheck Check(const std::vector<std::string>& lines, const Checkpoint& cp) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  std::istringstream in(text);
  return VerifyExport(in, {{cp.size, cp}});
}

std::string Joined(const ExportCheck& c) {
  std::string out;
  for (const std::string& p : c.problems) out += p + "\n";
  return out;
}

TEST(VerifyExportTest, AnUntouchedExportVerifies) {
  const Built b = Build(23);
  const ExportCheck c = Check(b.lines, b.checkpoint);
  EXPECT_TRUE(c.problems.empty()) << Joined(c);
  EXPECT_EQ(c.verified, 23u);
  EXPECT_EQ(c.lines, 23u);
}

TEST(VerifyExportTest, AModifiedEventIsNamed) {
  Built b = Build(23);
  const size_t at = b.lines[5].find("acc_1");
  b.lines[5].replace(at, 5, "acc_2");
  const ExportCheck c = Check(b.lines, b.checkpoint);
  // Its proof fails, and (having moved it to another scope) acc_1 now misses a sequence number.
  ASSERT_EQ(c.problems.size(), 2u) << Joined(c);
  EXPECT_NE(c.problems[0].find("event aev_5 (log index 5) is not in the log"), std::string::npos)
      << Joined(c);
  EXPECT_NE(c.problems[1].find("aev_6"), std::string::npos) << Joined(c);
  EXPECT_EQ(c.verified, 22u);
}

TEST(VerifyExportTest, ARemovedEventShowsAsASequenceGap) {
  Built b = Build(23);
  b.lines.erase(b.lines.begin() + 9);
  const ExportCheck c = Check(b.lines, b.checkpoint);
  ASSERT_EQ(c.problems.size(), 1u) << Joined(c);
  EXPECT_NE(c.problems[0].find("aev_10"), std::string::npos) << Joined(c);
  EXPECT_NE(c.problems[0].find("jumps from sequence 9 to 11"), std::string::npos) << Joined(c);
}

TEST(VerifyExportTest, ReorderedEventsAreNamed) {
  Built b = Build(23);
  std::swap(b.lines[3], b.lines[4]);
  const ExportCheck c = Check(b.lines, b.checkpoint);
  EXPECT_NE(Joined(c).find("aev_3 (log index 3) is out of order"), std::string::npos) << Joined(c);
}

TEST(VerifyExportTest, AMovedLogIndexFailsItsProof) {
  Built b = Build(8);
  // Claim event 2 sits at index 3: its record changes, so its leaf is in no proof.
  const size_t at = b.lines[2].find("\"log_index\":2");
  b.lines[2].replace(at, 13, "\"log_index\":3");
  const ExportCheck c = Check(b.lines, b.checkpoint);
  EXPECT_NE(Joined(c).find("aev_2 (log index 3) is not in the log"), std::string::npos)
      << Joined(c);
}

TEST(VerifyExportTest, UnknownCheckpointMissingProofAndJunkAreReported) {
  Built b = Build(4);
  Checkpoint other = b.checkpoint;
  other.size = 99;
  ExportCheck c = Check(b.lines, other);
  EXPECT_EQ(c.problems.size(), 4u);
  EXPECT_NE(Joined(c).find("no checkpoint of that size"), std::string::npos);

  std::vector<std::string> lines = b.lines;
  nlohmann::json j = nlohmann::json::parse(lines[1]);
  j.erase("tlog");
  lines[1] = j.dump();
  lines.push_back("not json");
  lines.push_back(R"({"event":{"id":5},"sicher":{"log_index":1,"scope":7}})");
  lines.push_back(
      "{\"sicher\":{\"log_index\":9,\"scope\":\"acc_1\",\"error\":\"payload failed\"}}");
  c = Check(lines, b.checkpoint);
  const std::string all = Joined(c);
  EXPECT_NE(all.find("aev_1 (log index 1) has no inclusion proof"), std::string::npos) << all;
  EXPECT_NE(all.find("line 5: not a JSON object"), std::string::npos) << all;
  EXPECT_NE(all.find("line 6: malformed record"), std::string::npos) << all;
  EXPECT_NE(all.find("line 7: event at log index 9: the server could not read it"),
            std::string::npos)
      << all;

  // A forged root: every proof fails.
  Checkpoint forged = b.checkpoint;
  forged.root_hash[0] ^= 1;
  EXPECT_EQ(Check(b.lines, forged).problems.size(), 4u);
}

}  // namespace
}  // namespace sicher::audit
