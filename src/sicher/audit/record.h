#pragma once
// The audit record (docs/design/audit-log.md section 1) rendered as canonical JSON: the bytes
// that are hashed into the Merkle tree and sealed. Two renderers that must agree byte for byte:
// RecordTree builds an nlohmann tree (the reference; what a verifier re-canonicalises), and
// RenderRecord writes the same text directly with the access log's JSON string writer
// (log::AppendJsonString), because it runs for every event on the store's single writer
// thread. record_test.cc holds them equal, invalid UTF-8 included.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sicher::audit {

// The fields of one record, already cut to their limits. Empty strings are absent fields.
struct RecordFields {
  std::string_view timestamp;  // RFC 3339
  std::string_view id, action, category, outcome, reason;
  int64_t sequence = 0;
  uint64_t log_index = 0;
  std::string_view scope, actor_type, actor_id, target_type, target_id, device_type;
  const nlohmann::json* details = nullptr;  // an object; null or empty: absent
  std::string_view account_id, ip, country, user_agent, request_id;
  bool actor_is_principal = false;  // user.id = actor_id (a user or an operator acted)
};

nlohmann::json RecordTree(const RecordFields& f);
// CanonicalJson(RecordTree(f)), written directly (invalid UTF-8 becomes U+FFFD there too):
// RecordTemplate::Render(f) completed with f's own position fields.
std::string RenderRecord(const RecordFields& f);

// A record rendered before the event has its place in the log: everything but the four
// position fields (@timestamp, event.sequence, sicher.log_index, sicher.scope; the scope can
// still change to the system scope when the event's scope has lost its key). Render ignores
// those four fields of `f`; Complete(t, s, i, c) returns exactly RenderRecord of `f` with them
// set to t, s, i, c, at the cost of a few copies. A value type.
class RecordTemplate {
 public:
  static RecordTemplate Render(const RecordFields& f);
  std::string Complete(std::string_view timestamp, int64_t sequence, uint64_t log_index,
                       std::string_view scope) const;

 private:
  std::string text_;
  std::array<size_t, 4> cuts_{};  // where each position field goes, in text_
};

}  // namespace sicher::audit
