#include "sicher/app/commands.h"

#include <iostream>

#include "sicher/app/services.h"

namespace sicher::app {
namespace {

Result<config::Config> LoadFor(const CommandFlags& flags, Env& env) {
  ASSIGN_OR_RETURN(config::Config cfg, config::LoadConfig(env, flags.config_path, flags.environ));
  if (flags.data_dir) cfg.data.dir = *flags.data_dir;
  return cfg;
}

}  // namespace

int RunOperatorAdd(const CommandFlags& flags, const std::string& email, std::ostream& out,
                   std::ostream& err) {
  Env& env = Env::Default();
  auto fail = [&err](const Status& s) {
    err << "sicher: " << s.message() << std::endl;
    return 1;
  };
  Result<config::Config> cfg = LoadFor(flags, env);
  if (!cfg.ok()) return fail(cfg.status());
  Result<DataDir> dir = PrepareDataDir(env, cfg->data.dir);
  if (!dir.ok()) return fail(dir.status());
  metrics::Registry registry;
  events::Bus bus;
  Result<std::unique_ptr<Services>> services =
      Services::Open(env, *cfg, *dir, flags.environ, registry, bus);
  if (!services.ok()) return fail(services.status());
  Result<std::string> token = (*services)->auth->AddOperator(email);
  if (!token.ok()) return fail(token.status());
  out << "sicher: operator " << email << " created.\n"
      << "One-time enrolment token (valid " << cfg->auth.invitation_ttl.count() / 3'600'000
      << " h, shown only now):\n\n  " << *token << "\n\n"
      << "Enrol on the operator listener (https://" << cfg->server.operator_listen.ToString()
      << "/):\n"
      << "  1. POST /v1/operator/enrol {\"token\": TOKEN, \"password\": ...}  -> TOTP secret "
         "and QR code\n"
      << "  2. POST /v1/operator/enrol/confirm {\"token\": TOKEN, \"code\": ...} -> recovery "
         "codes\n"
      << "No operator session exists before step 2." << std::endl;
  return 0;
}

}  // namespace sicher::app
