#pragma once
// CLI commands that act on a data directory without serving it.

#include <iosfwd>
#include <map>
#include <optional>
#include <string>

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

}  // namespace sicher::app
