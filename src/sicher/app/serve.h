#pragma once
// `sicher serve`: the composition root. Loads the configuration, prepares the data directory
// (locking it against a second process), opens the logs and the store, wires the router and
// the HTTPS server, prints the URLs it serves, and then runs until SIGTERM or SIGINT (graceful
// shutdown) while SIGHUP reloads the certificate.

#include <iosfwd>
#include <map>
#include <optional>
#include <string>

namespace sicher::app {

struct ServeFlags {
  std::optional<std::string> config_path;      // --config
  std::optional<std::string> data_dir;         // --data (wins over SICHER_DATA and data.dir)
  std::map<std::string, std::string> environ;  // the process environment
};

// Blocks until shutdown. Returns the process exit code: 0 after a clean shutdown, 1 when the
// service cannot start (the reason is one line on `err`). Must be called from the main thread
// before any other thread exists: it blocks SIGHUP, SIGINT and SIGTERM in every thread and
// waits for them synchronously.
int RunServe(const ServeFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace sicher::app
