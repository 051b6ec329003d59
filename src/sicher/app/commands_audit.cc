// `sicher audit export` and `sicher audit verify` (docs/design/audit-log.md sections 5 and 8).

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "sicher/app/commands.h"
#include "sicher/app/internal/existing.h"
#include "sicher/app/services.h"
#include "sicher/audit/export.h"
#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::app {
namespace {

using internal::LoadCommandConfig;
using internal::Opened;
using internal::OpenExisting;

constexpr size_t kMaxSmallFile = 64 * 1024;

Result<std::string> ReadSmallFile(Env& env, const std::string& path) {
  ASSIGN_OR_RETURN(FileInfo info, env.fs.Stat(path));
  if (info.size > kMaxSmallFile) {
    return InvalidArgumentError(fmt::format("{} is larger than {} bytes", path, kMaxSmallFile));
  }
  return env.fs.ReadFile(path);
}

}  // namespace

int RunAuditExport(const CommandFlags& flags, const AuditExportFlags& a, std::ostream& out,
                   std::ostream& err) {
  Env& env = Env::Default();
  auto fail = [&err](const Status& s) {
    err << "sicher: audit export: " << s.message() << std::endl;
    return 1;
  };
  audit::ExportRequest request;
  Result<audit::ExportFormat> format = audit::ParseExportFormat(a.format);
  if (!format.ok()) return fail(format.status());
  request.format = *format;
  request.proofs = a.proofs;
  if (request.proofs && request.format != audit::ExportFormat::kJsonl) {
    return fail(InvalidArgumentError("--proofs needs --format jsonl"));
  }
  for (auto [text, slot] :
       {std::pair{&a.from, &request.filter.from}, std::pair{&a.to, &request.filter.to}}) {
    if (text->empty()) continue;
    Time t;
    if (!ParseRfc3339(*text, &t)) {
      return fail(InvalidArgumentError("--from/--to must be RFC 3339 times"));
    }
    *slot = t;
  }
  Result<config::Config> cfg = LoadCommandConfig(flags, env);
  if (!cfg.ok()) return fail(cfg.status());
  Result<std::unique_ptr<Opened>> opened = OpenExisting(flags, env, *cfg, request.proofs);
  if (!opened.ok()) return fail(opened.status());
  Opened& o = **opened;

  // The account and its current members' personal events, as its owner would see them.
  request.scopes.push_back(a.account_id);
  Status s = o.store->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> account,
                     txn.QueryOne("SELECT 1 FROM accounts WHERE id = ?", {a.account_id}));
    if (!account) return NotFoundError("no account " + a.account_id);
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT user_id FROM memberships WHERE account_id = ? ORDER BY "
                               "user_id",
                               {a.account_id}));
    for (const store::Row& r : rows) request.scopes.push_back(r.GetText(0));
    return OkStatus();
  });
  if (!s.ok()) return fail(s);

  audit::Event ev;
  ev.action = "audit.exported";
  ev.scope = a.account_id;
  ev.account_id = a.account_id;
  ev.actor_type = audit::ActorType::kSystem;
  ev.actor_id = "cli";
  ev.target_type = "audit_log";
  ev.target_id = a.account_id;
  ev.details = {{"format", a.format}, {"proofs", a.proofs}, {"via", "sicher audit export"}};
  if (!a.from.empty()) ev.details["from"] = a.from;
  if (!a.to.empty()) ev.details["to"] = a.to;
  audit::Pending pending;
  s = o.store->Write([&](store::Txn& txn) { return o.log->Append(txn, ev, &pending); });
  if (!s.ok()) return fail(s);

  Result<audit::ExportSummary> done =
      audit::Export(*o.store, *o.log, request, [&out](std::string_view chunk) -> Status {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        return out ? OkStatus() : UnavailableError("cannot write to standard output");
      });
  if (!done.ok()) return fail(done.status());
  out.flush();
  err << "sicher: exported " << done->events << " events";
  if (request.proofs) err << " with inclusion proofs against tree size " << done->tree_size;
  if (done->unreadable > 0) err << "; " << done->unreadable << " could not be read";
  err << std::endl;
  return done->unreadable > 0 ? 1 : 0;
}

int RunAuditVerify(const CommandFlags& flags, const AuditVerifyFlags& v, std::ostream& out,
                   std::ostream& err) {
  Env& env = Env::Default();
  auto fail = [&err](const Status& s) {
    err << "sicher: audit verify: " << s.message() << std::endl;
    return 1;
  };
  if (v.checkpoints.empty() || v.checkpoints.size() > 2) {
    return fail(InvalidArgumentError("give one or two --checkpoint files"));
  }
  // Two checkpoints, their consistency proof and the key are a complete offline check (what a
  // witness that kept the checkpoints it saw has): without --export it then needs the local data
  // directory only when one was named, to check the stored events as well.
  const bool local_named = flags.data_dir || flags.config_path ||
                           flags.environ.count("SICHER_DATA") > 0 ||
                           flags.environ.count("SICHER_DATA_DIR") > 0;
  const bool consistency_offline = v.export_file.empty() && v.checkpoints.size() == 2 &&
                                   !v.consistency_proof.empty() && !v.key.empty() && !local_named;
  const bool need_local =
      !consistency_offline && (v.key.empty() || v.export_file.empty() ||
                               (v.checkpoints.size() == 2 && v.consistency_proof.empty()));
  std::unique_ptr<Opened> local;
  if (need_local) {
    Result<config::Config> cfg = LoadCommandConfig(flags, env);
    if (!cfg.ok()) return fail(cfg.status());
    Result<std::unique_ptr<Opened>> opened = OpenExisting(flags, env, *cfg, v.key.empty());
    if (!opened.ok()) {
      return fail(opened.status().WithContext(
          "this check needs the local data directory (give --key, --export and "
          "--consistency-proof to verify offline)"));
    }
    local = *std::move(opened);
  }

  // The verifier key.
  std::string vkey = v.key;
  if (vkey.empty()) {
    vkey = local->log->signer()->VerifierKey();
  } else if (env.fs.Exists(vkey)) {
    Result<std::string> text = ReadSmallFile(env, vkey);
    if (!text.ok()) return fail(text.status());
    vkey = text->substr(0, text->find('\n'));
  }
  Result<audit::NoteVerifier> verifier = audit::NoteVerifier::Parse(vkey);
  if (!verifier.ok()) return fail(verifier.status().WithContext("verifier key"));

  int problems = 0;
  std::map<uint64_t, audit::Checkpoint> checkpoints;
  for (const std::string& path : v.checkpoints) {
    Result<std::string> note = ReadSmallFile(env, path);
    if (!note.ok()) return fail(note.status());
    Result<audit::Checkpoint> cp = verifier->VerifyCheckpoint(*note);
    if (!cp.ok()) {
      out << "FAIL checkpoint " << path << ": " << cp.status().message() << "\n";
      ++problems;
      continue;
    }
    out << "ok   checkpoint " << path << ": " << cp->origin << ", size " << cp->size << ", root "
        << Base64Encode(cp->root_hash) << ", signed by " << verifier->name() << "\n";
    if (cp->origin != verifier->name()) {
      out << "FAIL checkpoint " << path << ": origin " << cp->origin
          << " is not the log the key names (" << verifier->name() << ")\n";
      ++problems;
      continue;
    }
    if (auto same = checkpoints.find(cp->size);
        same != checkpoints.end() && same->second.root_hash != cp->root_hash) {
      out << "FAIL checkpoint " << path << ": another signed checkpoint of size " << cp->size
          << " has a different root: the log was forked (two histories shown)\n";
      ++problems;
      continue;
    }
    checkpoints[cp->size] = *cp;
  }
  if (problems > 0) {
    out << "audit verify: " << problems << " problem(s)" << std::endl;
    return 1;
  }

  if (checkpoints.size() == 2) {
    const audit::Checkpoint& a = checkpoints.begin()->second;
    const audit::Checkpoint& b = checkpoints.rbegin()->second;
    std::vector<std::string> proof;
    Status got;
    if (!v.consistency_proof.empty()) {
      Result<std::string> text = ReadSmallFile(env, v.consistency_proof);
      if (!text.ok()) return fail(text.status());
      nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_discarded() || !j.contains("consistency_proof") ||
          !j["consistency_proof"].is_array()) {
        return fail(InvalidArgumentError(v.consistency_proof + " is not a consistency proof"));
      }
      for (const auto& h : j["consistency_proof"]) {
        std::optional<std::string> raw =
            h.is_string() ? Base64Decode(h.get<std::string>()) : std::nullopt;
        if (!raw) return fail(InvalidArgumentError("malformed hash in " + v.consistency_proof));
        proof.push_back(*std::move(raw));
      }
    } else {
      got = local->store->Read([&](store::Txn& txn) -> Status {
        ASSIGN_OR_RETURN(proof, audit::Log::ConsistencyProof(txn, a.size, b.size));
        return OkStatus();
      });
    }
    Status s =
        got.ok() ? audit::VerifyConsistency(a.size, b.size, proof, a.root_hash, b.root_hash) : got;
    if (s.ok()) {
      out << "ok   tree of size " << b.size << " extends tree of size " << a.size
          << " (append-only)\n";
    } else {
      out << "FAIL consistency " << a.size << " -> " << b.size << ": " << s.message() << "\n";
      ++problems;
    }
  }

  if (!v.export_file.empty()) {
    std::ifstream in(v.export_file, std::ios::binary);
    if (!in) return fail(NotFoundError("cannot open " + v.export_file));
    const audit::ExportCheck check = audit::VerifyExport(in, checkpoints);
    for (const std::string& p : check.problems) out << "FAIL " << p << "\n";
    problems += static_cast<int>(check.problems.size());
    out << (check.problems.empty() ? "ok   " : "FAIL ") << "export " << v.export_file << ": "
        << check.verified << " of " << check.lines << " lines proven in the log\n";
  } else if (local == nullptr) {
    out << "--   stored events not checked (no --export and no local data directory named)\n";
  } else {
    const audit::Checkpoint& latest = checkpoints.rbegin()->second;
    Result<audit::VerifyReport> report = local->log->VerifyStore(*local->store, latest);
    if (!report.ok()) return fail(report.status());
    for (const std::string& p : report->problems) out << "FAIL " << p << "\n";
    problems += static_cast<int>(report->problems.size());
    out << (report->problems.empty() ? "ok   " : "FAIL ")
        << "stored events: " << report->events_checked << " checked against size " << latest.size
        << " (" << report->purged << " purged, leaf hash only)\n";
  }
  if (problems > 0) {
    out << "audit verify: " << problems << " problem(s)" << std::endl;
    return 1;
  }
  out << "audit verify: everything checked out" << std::endl;
  return 0;
}

}  // namespace sicher::app
