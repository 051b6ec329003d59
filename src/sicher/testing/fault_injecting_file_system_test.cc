#include "sicher/testing/fault_injecting_file_system.h"

#include <gtest/gtest.h>

#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::testing {
namespace {

class FaultInjectingFileSystemTest : public ::testing::Test {
 protected:
  MemFileSystem mem_;
  FaultInjectingFileSystem fs_{mem_};
};

TEST_F(FaultInjectingFileSystemTest, PassesThroughWhenNoFaults) {
  ASSERT_OK(fs_.CreateDirs("/d", 0700));
  ASSERT_OK(fs_.WriteFileAtomic("/d/f", "abc", 0600));
  ASSERT_OK_AND_ASSIGN(std::string content, fs_.ReadFile("/d/f"));
  EXPECT_EQ(content, "abc");
  ASSERT_OK_AND_ASSIGN(auto names, fs_.ListDir("/d"));
  EXPECT_EQ(names, std::vector<std::string>{"f"});
  EXPECT_TRUE(fs_.Exists("/d/f"));
  ASSERT_OK(fs_.Chmod("/d/f", 0640));
  ASSERT_OK(fs_.Rename("/d/f", "/d/g"));
  ASSERT_OK(fs_.Remove("/d/g"));
  EXPECT_OK(fs_.AvailableBytes("/d"));
  EXPECT_EQ(fs_.sync_count(), 1);
}

TEST_F(FaultInjectingFileSystemTest, FailNextSyncFailsOnceAndKeepsDataUnsynced) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable("wal", 0600));
  ASSERT_OK(file->Append("a"));
  fs_.FailNextSync();
  Status s = file->Sync();
  EXPECT_EQ(s.code(), StatusCode::kInternal);  // EIO
  EXPECT_NE(s.message().find("injected"), std::string::npos);
  EXPECT_EQ(mem_.SyncedBytes("wal"), 0u);
  ASSERT_OK(file->Sync());
  EXPECT_EQ(mem_.SyncedBytes("wal"), 1u);
}

TEST_F(FaultInjectingFileSystemTest, FailNextSyncAlsoFailsAtomicWrite) {
  ASSERT_OK(fs_.WriteFileAtomic("k", "old", 0600));
  fs_.FailNextSync();
  EXPECT_FALSE(fs_.WriteFileAtomic("k", "new", 0600).ok());
  ASSERT_OK_AND_ASSIGN(std::string content, fs_.ReadFile("k"));
  EXPECT_EQ(content, "old");
}

TEST_F(FaultInjectingFileSystemTest, FailNextWriteUsesGivenStatus) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable("f", 0600));
  fs_.FailNextWrite(ErrnoError("write f", ENOSPC));
  EXPECT_EQ(file->Append("abc").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_OK(file->Append("abc"));
  fs_.FailNextWrite();
  EXPECT_FALSE(fs_.WriteFileAtomic("g", "x", 0600).ok());
  EXPECT_FALSE(fs_.Exists("g"));
}

TEST_F(FaultInjectingFileSystemTest, ReadOnlyRefusesMutationsButAllowsReads) {
  ASSERT_OK(fs_.WriteFileAtomic("f", "x", 0600));
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable("f", 0600));
  fs_.SetReadOnly(true);
  EXPECT_EQ(fs_.WriteFileAtomic("g", "x", 0600).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(file->Append("y").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_.OpenAppendable("new", 0600).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_.Rename("f", "h").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_.Remove("f").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_.CreateDirs("d", 0700).code(), StatusCode::kPermissionDenied);
  EXPECT_OK(fs_.ReadFile("f"));
  fs_.SetReadOnly(false);
  EXPECT_OK(file->Append("y"));
}

TEST_F(FaultInjectingFileSystemTest, CrashDropUnsyncedRestart) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable("journal", 0600));
  ASSERT_OK(file->Append("committed\n"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("in-flight\n"));

  fs_.Crash();
  EXPECT_TRUE(fs_.crashed());
  EXPECT_EQ(file->Append("late").code(), StatusCode::kUnavailable);
  EXPECT_EQ(file->Sync().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fs_.ReadFile("journal").status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(fs_.Exists("journal"));

  ASSERT_OK(fs_.DropUnsyncedData());
  fs_.Restart();
  ASSERT_OK_AND_ASSIGN(std::string content, fs_.ReadFile("journal"));
  EXPECT_EQ(content, "committed\n");
  // Handles from before the crash stay dead; new ones work.
  EXPECT_EQ(file->Append("zombie").code(), StatusCode::kUnavailable);
  ASSERT_OK_AND_ASSIGN(auto reopened, fs_.OpenAppendable("journal", 0600));
  EXPECT_EQ(reopened->Size(), 10u);
  ASSERT_OK(reopened->Append("next\n"));
}

TEST_F(FaultInjectingFileSystemTest, DropUnsyncedFollowsRenames) {
  ASSERT_OK(mem_.WriteFileAtomic("pre", "existing", 0640));
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable("pre", 0600));
  ASSERT_OK(file->Append("+unsynced"));
  ASSERT_OK(fs_.Rename("pre", "moved"));
  ASSERT_OK(fs_.DropUnsyncedData());
  ASSERT_OK_AND_ASSIGN(std::string content, fs_.ReadFile("moved"));
  EXPECT_EQ(content, "existing");
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs_.Stat("moved"));
  EXPECT_EQ(info.mode, 0640u);
}

TEST_F(FaultInjectingFileSystemTest, WrapsAnyFileSystemIncludingAnotherWrapper) {
  FaultInjectingFileSystem outer(static_cast<FileSystem&>(fs_));
  fs_.FailNextWrite();
  ASSERT_OK_AND_ASSIGN(auto file, outer.OpenAppendable("f", 0600));
  EXPECT_FALSE(file->Append("x").ok());
  EXPECT_OK(file->Append("x"));
}

}  // namespace
}  // namespace sicher::testing
