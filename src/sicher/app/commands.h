#pragma once
// CLI commands that act on a data directory without serving it.

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sicher::app {

struct CommandFlags {
  std::optional<std::string> config_path;
  std::optional<std::string> data_dir;
  std::map<std::string, std::string> environ;
};

// `sicher operator add EMAIL`: creates an operator and prints the one-time enrolment token
// and how to use it. Safe while `sicher serve` runs on the same data directory. Returns the
// exit code; errors are one line on `err`.
int RunOperatorAdd(const CommandFlags& flags, const std::string& email, std::ostream& out,
                   std::ostream& err);

// `sicher keys rotate`: adds a KEK version to the keyring, re-wraps every data key under it in
// small batches and drops the KEK versions nothing uses any more (docs/design/keys.md section
// 6). Safe while `sicher serve` runs on the same data directory: the server picks up the new
// version from the keyring file without a restart. Never creates a keyring or a database.
// Prints one progress line per step on `out`; returns the exit code; errors are one line on
// `err`.
int RunKeysRotate(const CommandFlags& flags, std::ostream& out, std::ostream& err);

struct AuditExportFlags {
  std::string account_id;
  std::string from, to;  // RFC 3339, optional
  std::string format;    // csv | jsonl
  bool proofs = false;
};

// `sicher audit export`: the account's audit events (and its members' personal events), oldest
// first, to `out`, exactly as GET /v1/accounts/{id}/audit-events/export writes them. Recorded as
// an audit.exported event (actor system "cli"). Never creates a keyring or a database.
int RunAuditExport(const CommandFlags& flags, const AuditExportFlags& audit, std::ostream& out,
                   std::ostream& err);

struct AuditVerifyFlags {
  std::vector<std::string> checkpoints;  // files, one or two
  std::string export_file;               // optional: a JSON Lines export made with proofs
  std::string key;                       // verifier key, or a file holding one; "": local
  std::string consistency_proof;         // optional: JSON of GET /v1/audit/consistency
};

// `sicher audit verify`: checks the checkpoints' signatures, their consistency (two of them),
// and either an export's inclusion proofs or, without --export, every event stored in the local
// data directory (docs/design/audit-log.md section 8). Prints what was checked and each problem;
// exit code 0 only when everything checked out.
int RunAuditVerify(const CommandFlags& flags, const AuditVerifyFlags& verify, std::ostream& out,
                   std::ostream& err);

}  // namespace sicher::app
