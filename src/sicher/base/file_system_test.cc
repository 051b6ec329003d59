#include "sicher/base/file_system.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "sicher/testing/status_matchers.h"

namespace sicher {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_fs_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  PosixFileSystem fs_;
  std::string dir_;
};

TEST_F(PosixFileSystemTest, AtomicWriteSetsContentAndMode) {
  const std::string path = JoinPath(dir_, "key");
  ASSERT_OK(fs_.WriteFileAtomic(path, "one", 0600));
  ASSERT_OK(fs_.WriteFileAtomic(path, "two", 0600));
  ASSERT_OK_AND_ASSIGN(std::string content, fs_.ReadFile(path));
  EXPECT_EQ(content, "two");
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs_.Stat(path));
  EXPECT_EQ(info.mode, 0600u);
  EXPECT_EQ(info.size, 3u);
  EXPECT_FALSE(fs_.Exists(path + ".tmp"));
}

TEST_F(PosixFileSystemTest, AppendableTracksSize) {
  const std::string path = JoinPath(dir_, "log");
  ASSERT_OK_AND_ASSIGN(auto file, fs_.OpenAppendable(path, 0640));
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(file->Append("de"));
  ASSERT_OK(file->Sync());
  EXPECT_EQ(file->Size(), 5u);
  ASSERT_OK(file->Close());
  ASSERT_OK_AND_ASSIGN(auto again, fs_.OpenAppendable(path, 0640));
  EXPECT_EQ(again->Size(), 5u);
}

TEST_F(PosixFileSystemTest, ErrorsAreStatuses) {
  EXPECT_EQ(fs_.ReadFile(JoinPath(dir_, "missing")).status().code(), StatusCode::kNotFound);
  ASSERT_OK(fs_.CreateDirs(JoinPath(dir_, "a/b/c"), 0700));
  ASSERT_OK_AND_ASSIGN(auto names, fs_.ListDir(JoinPath(dir_, "a")));
  EXPECT_EQ(names, std::vector<std::string>{"b"});
  ASSERT_OK_AND_ASSIGN(uint64_t avail, fs_.AvailableBytes(dir_));
  EXPECT_GT(avail, 0u);
}

TEST(PathTest, JoinAndDirName) {
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("a/b/", "c"), "a/b/c");
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
}

}  // namespace
}  // namespace sicher
