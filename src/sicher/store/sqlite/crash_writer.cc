// store_crash_writer DB_PATH THREADS: test helper for store_crash_test.
//
// Opens the store at DB_PATH and runs THREADS writer threads, each inserting rows into
// crash_rows through Store::Write forever. After each Write returns OK, and only then, it
// writes the new row's id as one line to stdout with a single write(2) (atomic on a pipe), so
// every line the parent reads is an acknowledged write. It never exits on its own: the parent
// kills it with SIGKILL. Exits 1 on a setup error, 2 on a write error, 0 if stdout closes.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/store/sqlite/crash_test_schema.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::store {
namespace {

int Run(const std::string& path, int threads) {
  metrics::Registry registry;
  SqliteOptions options;
  options.path = path;
  options.migrations = testing::CrashTestMigrations();
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(options, Env::Default(), registry);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&store, t] {
      uint64_t state = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(t + 1);
      for (int64_t seq = 0;; ++seq) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        // 0..4 KiB of payload, so the WAL grows, wraps and checkpoints while we are killed.
        const std::string payload(static_cast<size_t>((state >> 33) % 4096),
                                  static_cast<char>(state >> 56));
        int64_t id = 0;
        const Status s = (*store)->Write([&](Txn& txn) {
          RETURN_IF_ERROR(txn.Exec("INSERT INTO crash_rows (writer, seq, payload) VALUES (?, ?, ?)",
                                   {int64_t{t}, seq, Blob{payload}}));
          id = txn.LastInsertId();
          return OkStatus();
        });
        if (!s.ok()) {
          std::fprintf(stderr, "write: %s\n", s.ToString().c_str());
          std::_Exit(2);
        }
        const std::string line = std::to_string(id) + "\n";
        if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          std::_Exit(0);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}

}  // namespace
}  // namespace sicher::store

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DB_PATH THREADS\n", argv[0]);
    return 1;
  }
  return sicher::store::Run(argv[1], std::atoi(argv[2]));
}
