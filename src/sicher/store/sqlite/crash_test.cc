// Crash test (label "slow"): kill -9 a process in the middle of concurrent writes, then check
// that every write it acknowledged is in the database and the database is intact.
//
// The child (store_crash_writer) prints a row id only after Store::Write returned OK for it.
// SIGKILL leaves the OS page cache intact, so this test proves the store never acknowledges
// before COMMIT and that SQLite recovers from the WAL left by a killed process; it does not
// simulate power loss (that is synchronous=FULL's job, checked by the pragma test).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/store/sqlite/crash_test_schema.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/status_matchers.h"

extern char** environ;

namespace sicher::store {
namespace {

struct ChildRun {
  std::vector<int64_t> acked;
  int wait_status = 0;
  std::string error;
};

// Runs the writer, reads acknowledged ids until `kill_after` of them, SIGKILLs it, then reads
// whatever it had already written to the pipe (those writes were acknowledged too).
ChildRun RunAndKill(const std::string& db_path, int threads, size_t kill_after) {
  ChildRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    run.error = "pipe failed";
    return run;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string threads_arg = std::to_string(threads);
  std::string program = SICHER_STORE_CRASH_WRITER;
  char* argv[] = {program.data(), const_cast<char*>(db_path.c_str()),
                  const_cast<char*>(threads_arg.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    run.error = "posix_spawn failed";
    return run;
  }

  std::string pending;
  bool killed = false;
  char buf[4096];
  while (true) {
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, 60'000) <= 0) {
      run.error = "no output from the writer for 60 s";
      break;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // EOF: the child is gone and the pipe is drained
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      run.acked.push_back(std::stoll(pending.substr(start, nl - start)));
    }
    pending.erase(0, start);
    if (!killed && run.acked.size() >= kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  if (!killed) ::kill(pid, SIGKILL);
  ::close(fds[0]);
  ::waitpid(pid, &run.wait_status, 0);
  // Lines are written with one write(2) each, so a torn line cannot occur.
  if (!pending.empty() && run.error.empty()) run.error = "torn line from the writer";
  return run;
}

TEST(StoreCrashTest, EveryAcknowledgedWriteSurvivesKill9) {
  char tmpl[] = "/tmp/sicher-store-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string db_path = dir + "/crash.db";

  std::set<int64_t> all_acked;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const size_t kill_after = 300 + 150 * static_cast<size_t>(round);
    ChildRun run = RunAndKill(db_path, /*threads=*/8, kill_after);
    ASSERT_TRUE(run.error.empty()) << run.error;
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) && WTERMSIG(run.wait_status) == SIGKILL)
        << "the writer exited on its own with status " << run.wait_status;
    ASSERT_GE(run.acked.size(), kill_after);
    all_acked.insert(run.acked.begin(), run.acked.end());

    metrics::Registry registry;
    SqliteOptions options;
    options.path = db_path;
    options.migrations = testing::CrashTestMigrations();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                         OpenSqliteStore(options, Env::Default(), registry));
    std::set<int64_t> present;
    std::string integrity;
    ASSERT_OK(store->Read([&](Txn& txn) {
      ASSIGN_OR_RETURN(std::vector<Row> rows, txn.Query("SELECT id FROM crash_rows"));
      for (const Row& r : rows) present.insert(r.GetInt(0));
      ASSIGN_OR_RETURN(std::optional<Row> check, txn.QueryOne("PRAGMA integrity_check"));
      integrity = check.has_value() ? check->GetText(0) : "";
      return OkStatus();
    }));
    EXPECT_EQ(integrity, "ok");
    size_t missing = 0;
    for (int64_t id : all_acked) missing += present.count(id) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u) << "of " << all_acked.size() << " acknowledged writes";
    EXPECT_GE(present.size(), all_acked.size());
    struct stat st;
    ASSERT_EQ(::stat(db_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::cerr << "round " << round << ": " << run.acked.size() << " acknowledged, "
              << present.size() << " rows in total\n";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sicher::store
