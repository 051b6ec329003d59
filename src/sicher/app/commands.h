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

// `sicher keys rotate`: adds a KEK version to the keyring, re-wraps every data key under it in
// small batches and drops the KEK versions nothing uses any more (docs/design/keys.md section
// 6). Safe while `sicher serve` runs on the same data directory: the server picks up the new
// version from the keyring file without a restart. Never creates a keyring or a database.
// Prints one progress line per step on `out`; returns the exit code; errors are one line on
// `err`.
int RunKeysRotate(const CommandFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace sicher::app
