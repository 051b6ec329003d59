#include "sicher/testing/mem_file_system.h"

#include <gtest/gtest.h>

#include <thread>

#include "sicher/testing/fake_clock.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::testing {
namespace {

TEST(NormalizeMemPathTest, CollapsesSeparators) {
  EXPECT_EQ(NormalizeMemPath("a//b/./c/"), "a/b/c");
  EXPECT_EQ(NormalizeMemPath("./a"), "a");
  EXPECT_EQ(NormalizeMemPath("/x//y"), "/x/y");
  EXPECT_EQ(NormalizeMemPath("/"), "/");
  EXPECT_EQ(NormalizeMemPath(""), ".");
  EXPECT_EQ(NormalizeMemPath("./"), ".");
}

TEST(MemFileSystemTest, AtomicWriteAndRead) {
  MemFileSystem fs;
  ASSERT_OK(fs.CreateDirs("/d", 0700));
  ASSERT_OK(fs.WriteFileAtomic("/d/key", "one", 0600));
  ASSERT_OK(fs.WriteFileAtomic("/d/key", "two", 0600));
  ASSERT_OK_AND_ASSIGN(std::string content, fs.ReadFile("/d/key"));
  EXPECT_EQ(content, "two");
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs.Stat("/d/key"));
  EXPECT_EQ(info.mode, 0600u);
  EXPECT_EQ(info.size, 3u);
  EXPECT_FALSE(info.is_directory);
  EXPECT_EQ(fs.SyncedBytes("/d/key"), 3u);
  EXPECT_EQ(fs.UnsyncedBytes("/d/key"), 0u);
}

TEST(MemFileSystemTest, MissingParentIsNotFound) {
  MemFileSystem fs;
  EXPECT_EQ(fs.WriteFileAtomic("/nope/f", "x", 0600).code(), StatusCode::kNotFound);
  EXPECT_EQ(fs.OpenAppendable("/nope/f", 0600).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs.ReadFile("/nope/f").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs.Stat("/nope").status().code(), StatusCode::kNotFound);
  // Relative paths live under the implicit ".".
  ASSERT_OK(fs.WriteFileAtomic("top", "x", 0600));
  EXPECT_TRUE(fs.Exists("./top"));
}

TEST(MemFileSystemTest, AppendTracksSyncedBytes) {
  MemFileSystem fs;
  ASSERT_OK_AND_ASSIGN(auto file, fs.OpenAppendable("log", 0640));
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("de"));
  EXPECT_EQ(file->Size(), 5u);
  EXPECT_EQ(fs.SyncedBytes("log"), 3u);
  EXPECT_EQ(fs.UnsyncedBytes("log"), 2u);
  fs.DropUnsyncedData();
  ASSERT_OK_AND_ASSIGN(std::string content, fs.ReadFile("log"));
  EXPECT_EQ(content, "abc");
  ASSERT_OK(file->Close());
  EXPECT_EQ(file->Append("x").code(), StatusCode::kFailedPrecondition);
}

TEST(MemFileSystemTest, ReopenAppendsAndReportsExistingSize) {
  MemFileSystem fs;
  ASSERT_OK(fs.WriteFileAtomic("f", "12345", 0600));
  ASSERT_OK_AND_ASSIGN(auto file, fs.OpenAppendable("f", 0644));
  EXPECT_EQ(file->Size(), 5u);
  ASSERT_OK(file->Append("6"));
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs.Stat("f"));
  EXPECT_EQ(info.mode, 0600u);  // the creation mode applies only to new files
  EXPECT_EQ(info.size, 6u);
}

TEST(MemFileSystemTest, OpenHandleFollowsRenamedInode) {
  MemFileSystem fs;
  ASSERT_OK_AND_ASSIGN(auto file, fs.OpenAppendable("a.log", 0640));
  ASSERT_OK(file->Append("one\n"));
  ASSERT_OK(fs.Rename("a.log", "a.log.1"));
  ASSERT_OK(file->Append("two\n"));
  EXPECT_FALSE(fs.Exists("a.log"));
  ASSERT_OK_AND_ASSIGN(std::string content, fs.ReadFile("a.log.1"));
  EXPECT_EQ(content, "one\ntwo\n");
  // Removing the path does not break the handle either.
  ASSERT_OK(fs.Remove("a.log.1"));
  EXPECT_OK(file->Append("three\n"));
}

TEST(MemFileSystemTest, ModificationTimeComesFromClock) {
  FakeClock clock;
  MemFileSystem fs(clock);
  ASSERT_OK(fs.WriteFileAtomic("cert.pem", "a", 0644));
  ASSERT_OK_AND_ASSIGN(FileInfo before, fs.Stat("cert.pem"));
  EXPECT_EQ(before.modified, clock.Now());
  clock.Advance(std::chrono::seconds(5));
  ASSERT_OK(fs.WriteFileAtomic("cert.pem", "b", 0644));
  ASSERT_OK_AND_ASSIGN(FileInfo after, fs.Stat("cert.pem"));
  EXPECT_EQ(after.modified - before.modified, std::chrono::seconds(5));
}

TEST(MemFileSystemTest, DirectoriesListRenameAndRemove) {
  MemFileSystem fs;
  ASSERT_OK(fs.CreateDirs("/data/tls", 0750));
  ASSERT_OK(fs.CreateDirs("/data/tls", 0750));  // idempotent
  ASSERT_OK(fs.WriteFileAtomic("/data/b", "", 0600));
  ASSERT_OK(fs.WriteFileAtomic("/data/a", "", 0600));
  ASSERT_OK(fs.WriteFileAtomic("/data/tls/cert.pem", "c", 0600));
  ASSERT_OK_AND_ASSIGN(auto names, fs.ListDir("/data"));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "tls"}));
  ASSERT_OK_AND_ASSIGN(auto root, fs.ListDir("/"));
  EXPECT_EQ(root, std::vector<std::string>{"data"});
  ASSERT_OK_AND_ASSIGN(FileInfo dir, fs.Stat("/data/tls"));
  EXPECT_TRUE(dir.is_directory);
  EXPECT_EQ(dir.mode, 0750u);

  EXPECT_EQ(fs.CreateDirs("/data/a", 0750).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs.CreateDirs("/data/a/x", 0750).code(), StatusCode::kNotFound);  // ENOTDIR
  EXPECT_FALSE(fs.Remove("/data/tls").ok());
  EXPECT_EQ(fs.Remove("/data/zz").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs.ListDir("/data/a").status().code(), StatusCode::kNotFound);

  ASSERT_OK(fs.Rename("/data/tls", "/data/tls.old"));
  ASSERT_OK_AND_ASSIGN(std::string cert, fs.ReadFile("/data/tls.old/cert.pem"));
  EXPECT_EQ(cert, "c");
  EXPECT_FALSE(fs.Exists("/data/tls/cert.pem"));
  EXPECT_FALSE(fs.Rename("/data/tls.old", "/data/tls.old/inner").ok());

  ASSERT_OK(fs.Chmod("/data/a", 0640));
  ASSERT_OK_AND_ASSIGN(FileInfo a, fs.Stat("/data/a"));
  EXPECT_EQ(a.mode, 0640u);
  EXPECT_EQ(fs.Chmod("/data/zz", 0640).code(), StatusCode::kNotFound);
}

TEST(MemFileSystemTest, RenameReplacesFile) {
  MemFileSystem fs;
  ASSERT_OK(fs.WriteFileAtomic("a", "new", 0600));
  ASSERT_OK(fs.WriteFileAtomic("b", "old", 0600));
  ASSERT_OK(fs.Rename("a", "b"));
  ASSERT_OK_AND_ASSIGN(std::string content, fs.ReadFile("b"));
  EXPECT_EQ(content, "new");
  EXPECT_EQ(fs.Rename("a", "c").code(), StatusCode::kNotFound);
}

TEST(MemFileSystemTest, CapacityLimitsWrites) {
  MemFileSystem fs;
  fs.SetCapacity(10);
  ASSERT_OK_AND_ASSIGN(uint64_t avail, fs.AvailableBytes("."));
  EXPECT_EQ(avail, 10u);
  ASSERT_OK_AND_ASSIGN(auto file, fs.OpenAppendable("f", 0600));
  ASSERT_OK(file->Append("12345678"));
  EXPECT_EQ(file->Append("abc").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(fs.WriteFileAtomic("g", "abc", 0600).code(), StatusCode::kResourceExhausted);
  ASSERT_OK_AND_ASSIGN(avail, fs.AvailableBytes("f"));
  EXPECT_EQ(avail, 2u);
  EXPECT_EQ(fs.AvailableBytes("missing").status().code(), StatusCode::kNotFound);
}

TEST(MemFileSystemTest, ConcurrentAppendersToDistinctFiles) {
  MemFileSystem fs;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&fs, t] {
      auto file = fs.OpenAppendable("f" + std::to_string(t), 0600);
      ASSERT_TRUE(file.ok());
      for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*file)->Append("x").ok());
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    ASSERT_OK_AND_ASSIGN(FileInfo info, fs.Stat("f" + std::to_string(t)));
    EXPECT_EQ(info.size, 1000u);
  }
}

}  // namespace
}  // namespace sicher::testing
