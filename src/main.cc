// sicher: the server and the operator's command line in one binary.
//
// Every command answers --help. Errors are one line on stderr and a non-zero exit code.

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "sicher/app/commands.h"
#include "sicher/app/serve.h"
#include "sicher/base/env.h"
#include "sicher/config/config.h"

extern char** environ;

namespace {

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) out.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sicher: secure, self-hosted document publishing", "sicher"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sicher 0.1.0");

  sicher::app::ServeFlags serve_flags;
  std::string config_path;
  std::string data_dir;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the HTTPS service. The first start creates the data directory with a SQLite "
      "database, logs and a self-signed certificate; SIGHUP reloads the certificate, SIGTERM "
      "shuts down gracefully.");
  serve->add_option("--config", config_path, "TOML configuration file")->check(CLI::ExistingFile);
  serve->add_option("--data", data_dir,
                    "data directory (default ./sicher-data; also SICHER_DATA or data.dir)");

  CLI::App* config = app.add_subcommand("config", "Inspect and validate configuration");
  config->require_subcommand(1);
  config->add_subcommand("defaults",
                         "Print every configuration key with its default and meaning, as a "
                         "TOML file that itself passes `config check`");
  std::string check_path;
  CLI::App* check =
      config->add_subcommand("check", "Validate a configuration file; errors name the key");
  check->add_option("FILE", check_path, "TOML configuration file")->required();

  CLI::App* op = app.add_subcommand("operator", "Manage operators (2FA is mandatory for them)");
  op->require_subcommand(1);
  std::string operator_email;
  CLI::App* op_add = op->add_subcommand(
      "add",
      "Create an operator and print a one-time enrolment token; the operator must set "
      "a password and enrol TOTP before any operator session exists");
  op_add->add_option("EMAIL", operator_email, "the operator's e-mail address")->required();
  op_add->add_option("--config", config_path, "TOML configuration file")->check(CLI::ExistingFile);
  op_add->add_option("--data", data_dir, "data directory");

  CLI::App* keys = app.add_subcommand("keys", "Manage the keyring's key-encryption keys");
  keys->require_subcommand(1);
  CLI::App* keys_rotate = keys->add_subcommand(
      "rotate",
      "Add a KEK version, re-wrap every data key under it online and drop the versions "
      "nothing uses any more; safe while `sicher serve` runs");
  keys_rotate->add_option("--config", config_path, "TOML configuration file")
      ->check(CLI::ExistingFile);
  keys_rotate->add_option("--data", data_dir, "data directory");

  CLI::App* audit = app.add_subcommand("audit", "Export and verify the tamper-evident audit log");
  audit->require_subcommand(1);
  sicher::app::AuditExportFlags export_flags;
  CLI::App* audit_export = audit->add_subcommand(
      "export", "Write an account's audit events, oldest first, to stdout (CSV or JSON Lines)");
  audit_export->add_option("--account", export_flags.account_id, "account id (acc_...)")
      ->required();
  audit_export->add_option("--from", export_flags.from, "first time, RFC 3339 (inclusive)");
  audit_export->add_option("--to", export_flags.to, "last time, RFC 3339 (exclusive)");
  audit_export->add_option("--format", export_flags.format, "csv or jsonl")
      ->required()
      ->check(CLI::IsMember({"csv", "jsonl"}));
  audit_export->add_flag("--proofs", export_flags.proofs,
                         "JSON Lines only: checkpoint first and add each event's inclusion proof");
  audit_export->add_option("--config", config_path, "TOML configuration file")
      ->check(CLI::ExistingFile);
  audit_export->add_option("--data", data_dir, "data directory");
  sicher::app::AuditVerifyFlags verify_flags;
  CLI::App* audit_verify = audit->add_subcommand(
      "verify",
      "Verify signed checkpoints, their consistency, and an export's proofs (or, without "
      "--export, every event in the local data directory)");
  audit_verify
      ->add_option("--checkpoint", verify_flags.checkpoints,
                   "checkpoint file (GET /v1/audit/checkpoint); give two to check that "
                   "the later extends the earlier")
      ->required()
      ->expected(1, 2)
      ->check(CLI::ExistingFile);
  audit_verify
      ->add_option("--export", verify_flags.export_file, "JSON Lines export made with proofs")
      ->check(CLI::ExistingFile);
  audit_verify->add_option("--key", verify_flags.key,
                           "verifier key (GET /v1/audit/key) or a file holding it; default: "
                           "the local data directory's signing key");
  audit_verify
      ->add_option("--consistency-proof", verify_flags.consistency_proof,
                   "JSON of GET /v1/audit/consistency (default: computed locally); with --key "
                   "and two checkpoints this check needs no data directory")
      ->check(CLI::ExistingFile);
  audit_verify->add_option("--config", config_path, "TOML configuration file")
      ->check(CLI::ExistingFile);
  audit_verify->add_option("--data", data_dir, "data directory");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (serve->parsed()) {
    if (!config_path.empty()) serve_flags.config_path = config_path;
    if (!data_dir.empty()) serve_flags.data_dir = data_dir;
    serve_flags.environ = Environment();
    return sicher::app::RunServe(serve_flags, std::cout, std::cerr);
  }
  if (op_add->parsed()) {
    sicher::app::CommandFlags flags;
    if (!config_path.empty()) flags.config_path = config_path;
    if (!data_dir.empty()) flags.data_dir = data_dir;
    flags.environ = Environment();
    return sicher::app::RunOperatorAdd(flags, operator_email, std::cout, std::cerr);
  }
  if (keys_rotate->parsed()) {
    sicher::app::CommandFlags flags;
    if (!config_path.empty()) flags.config_path = config_path;
    if (!data_dir.empty()) flags.data_dir = data_dir;
    flags.environ = Environment();
    return sicher::app::RunKeysRotate(flags, std::cout, std::cerr);
  }
  if (audit_export->parsed() || audit_verify->parsed()) {
    sicher::app::CommandFlags flags;
    if (!config_path.empty()) flags.config_path = config_path;
    if (!data_dir.empty()) flags.data_dir = data_dir;
    flags.environ = Environment();
    if (audit_export->parsed()) {
      return sicher::app::RunAuditExport(flags, export_flags, std::cout, std::cerr);
    }
    return sicher::app::RunAuditVerify(flags, verify_flags, std::cout, std::cerr);
  }
  if (config->got_subcommand("defaults")) {
    std::cout << sicher::config::DefaultsToml();
    return 0;
  }
  if (check->parsed()) {
    const sicher::Status s = sicher::config::CheckConfigFile(sicher::Env::Default(), check_path);
    if (!s.ok()) {
      std::cerr << "sicher: " << s.message() << std::endl;
      return 1;
    }
    std::cout << "sicher: " << check_path << " is valid" << std::endl;
    return 0;
  }
  return 0;
}
