#include "sicher/log/log_sink.h"

#include <gtest/gtest.h>

#include "sicher/testing/fault_injecting_file_system.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::log {
namespace {

using testing::FaultInjectingFileSystem;
using testing::MemFileSystem;

class LogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(mem_.CreateDirs("/logs", 0750)); }
  std::unique_ptr<LogSink> MakeSink(FileSystem& fs, uint64_t max_bytes, int retention) {
    return std::make_unique<LogSink>(fs, "/logs", "access", max_bytes, retention,
                                     [this](std::string_view l) { reports_.emplace_back(l); });
  }
  std::string Read(const std::string& path) {
    auto r = mem_.ReadFile(path);
    return r.ok() ? *r : "<missing>";
  }

  MemFileSystem mem_;
  std::vector<std::string> reports_;
};

TEST_F(LogSinkTest, AppendsLinesWithMode0640) {
  auto sink = MakeSink(mem_, 1024, 3);
  EXPECT_FALSE(mem_.Exists("/logs/access.log"));  // nothing before the first write
  ASSERT_OK(sink->Write("{\"a\":1}"));
  ASSERT_OK(sink->Write("{\"a\":2}"));
  EXPECT_EQ(Read("/logs/access.log"), "{\"a\":1}\n{\"a\":2}\n");
  ASSERT_OK_AND_ASSIGN(FileInfo info, mem_.Stat("/logs/access.log"));
  EXPECT_EQ(info.mode, 0640u);
  ASSERT_OK(sink->Sync());
  EXPECT_EQ(mem_.UnsyncedBytes("/logs/access.log"), 0u);
}

TEST_F(LogSinkTest, FixesModeOfExistingFile) {
  ASSERT_OK(mem_.WriteFileAtomic("/logs/access.log", "old\n", 0644));
  auto sink = MakeSink(mem_, 1024, 3);
  ASSERT_OK(sink->Write("new"));
  EXPECT_EQ(Read("/logs/access.log"), "old\nnew\n");
  ASSERT_OK_AND_ASSIGN(FileInfo info, mem_.Stat("/logs/access.log"));
  EXPECT_EQ(info.mode, 0640u);
}

TEST_F(LogSinkTest, RotatesBeforeExceedingLimitAndKeepsRetentionCount) {
  auto sink = MakeSink(mem_, 10, 2);  // "lineN" + '\n' = 6 bytes: one line per file
  for (int i = 1; i <= 5; ++i) ASSERT_OK(sink->Write("line" + std::to_string(i)));
  EXPECT_EQ(Read("/logs/access.log"), "line5\n");
  EXPECT_EQ(Read("/logs/access.log.1"), "line4\n");
  EXPECT_EQ(Read("/logs/access.log.2"), "line3\n");
  EXPECT_FALSE(mem_.Exists("/logs/access.log.3"));
  ASSERT_OK_AND_ASSIGN(FileInfo info, mem_.Stat("/logs/access.log.1"));
  EXPECT_EQ(info.mode, 0640u);
  EXPECT_TRUE(reports_.empty());
}

TEST_F(LogSinkTest, FillsFileUpToLimit) {
  auto sink = MakeSink(mem_, 12, 5);
  ASSERT_OK(sink->Write("aaaaa"));  // 6 bytes
  ASSERT_OK(sink->Write("bbbbb"));  // 12 bytes: exactly the limit, no rotation
  ASSERT_OK(sink->Write("c"));      // would be 14: rotate first
  EXPECT_EQ(Read("/logs/access.log.1"), "aaaaa\nbbbbb\n");
  EXPECT_EQ(Read("/logs/access.log"), "c\n");
}

TEST_F(LogSinkTest, OversizedLineIsWrittenWhole) {
  auto sink = MakeSink(mem_, 4, 1);
  ASSERT_OK(sink->Write("0123456789"));
  ASSERT_OK(sink->Write("x"));
  EXPECT_EQ(Read("/logs/access.log.1"), "0123456789\n");
  EXPECT_EQ(Read("/logs/access.log"), "x\n");
}

TEST_F(LogSinkTest, RetentionZeroKeepsNoRotatedFiles) {
  auto sink = MakeSink(mem_, 6, 0);
  ASSERT_OK(sink->Write("line1"));
  ASSERT_OK(sink->Write("line2"));
  EXPECT_EQ(Read("/logs/access.log"), "line2\n");
  EXPECT_FALSE(mem_.Exists("/logs/access.log.1"));
}

TEST_F(LogSinkTest, RemovesRotatedFilesBeyondALoweredRetention) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_OK(mem_.WriteFileAtomic("/logs/access.log." + std::to_string(i), "x\n", 0640));
  }
  ASSERT_OK(mem_.WriteFileAtomic("/logs/access.log.bak", "keep\n", 0640));
  auto sink = MakeSink(mem_, 1024, 2);
  ASSERT_OK(sink->Write("first"));
  EXPECT_TRUE(mem_.Exists("/logs/access.log.2"));
  EXPECT_FALSE(mem_.Exists("/logs/access.log.3"));
  EXPECT_FALSE(mem_.Exists("/logs/access.log.5"));
  EXPECT_TRUE(mem_.Exists("/logs/access.log.bak"));  // not ours: untouched
}

TEST_F(LogSinkTest, FailingDiskDropsCountsAndReportsOnce) {
  FaultInjectingFileSystem faulty(mem_);
  auto sink = MakeSink(faulty, 1024, 2);
  ASSERT_OK(sink->Write("ok1"));
  faulty.SetReadOnly(true);
  EXPECT_FALSE(sink->Write("lost1").ok());
  EXPECT_FALSE(sink->Write("lost2").ok());
  EXPECT_FALSE(sink->Write("lost3").ok());
  EXPECT_EQ(sink->dropped_lines(), 3u);
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_NE(reports_[0].find("/logs/access.log"), std::string::npos);
  faulty.SetReadOnly(false);
  ASSERT_OK(sink->Write("ok2"));
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_NE(reports_[1].find("3 lines dropped"), std::string::npos);
  EXPECT_EQ(Read("/logs/access.log"), "ok1\nok2\n");
}

TEST_F(LogSinkTest, FailedRotationKeepsLoggingInCurrentFile) {
  ASSERT_OK(mem_.CreateDirs("/logs/access.log.1", 0750));  // blocks the rotation
  auto sink = MakeSink(mem_, 6, 1);
  ASSERT_OK(sink->Write("line1"));
  ASSERT_OK(sink->Write("line2"));
  ASSERT_OK(sink->Write("line3"));
  EXPECT_EQ(Read("/logs/access.log"), "line1\nline2\nline3\n");
  EXPECT_EQ(sink->dropped_lines(), 0u);
  ASSERT_EQ(reports_.size(), 1u);  // reported once, not per line
  EXPECT_NE(reports_[0].find("cannot rotate"), std::string::npos);
}

TEST_F(LogSinkTest, FailedAppendAfterRotationIsCounted) {
  FaultInjectingFileSystem faulty(mem_);
  auto sink = MakeSink(faulty, 6, 2);
  ASSERT_OK(sink->Write("line1"));
  ASSERT_OK(sink->Write("line2"));  // rotates
  faulty.FailNextWrite();           // unrelated: the next Append fails once
  EXPECT_FALSE(sink->Write("line3").ok());
  ASSERT_OK(sink->Write("line4"));
  EXPECT_EQ(sink->dropped_lines(), 1u);
  EXPECT_EQ(Read("/logs/access.log"), "line4\n");
}

TEST_F(LogSinkTest, ContinuesAfterDiskFull) {
  mem_.SetCapacity(20);
  auto sink = MakeSink(mem_, 1024, 2);
  ASSERT_OK(sink->Write("0123456789"));  // 11 bytes
  EXPECT_EQ(sink->Write("0123456789").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(sink->dropped_lines(), 1u);
  mem_.SetCapacity(1000);
  ASSERT_OK(sink->Write("after"));
}

TEST_F(LogSinkTest, BufferedLinesWaitForAFlush) {
  auto sink = MakeSink(mem_, 1024, 2);
  ASSERT_OK(sink->WriteBuffered("b1"));
  ASSERT_OK(sink->WriteBuffered("b2"));
  EXPECT_FALSE(mem_.Exists("/logs/access.log"));  // still in memory
  ASSERT_OK(sink->Flush());
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\n");
  ASSERT_OK(sink->Flush());  // nothing more
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\n");
  // A write-through line flushes the buffer first, so the order holds.
  ASSERT_OK(sink->WriteBuffered("b3"));
  ASSERT_OK(sink->Write("w1"));
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\nb3\nw1\n");
  // Sync and Close flush too.
  ASSERT_OK(sink->WriteBuffered("b4"));
  ASSERT_OK(sink->Sync());
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\nb3\nw1\nb4\n");
  EXPECT_EQ(mem_.UnsyncedBytes("/logs/access.log"), 0u);
  ASSERT_OK(sink->WriteBuffered("b5"));
  ASSERT_OK(sink->Close());
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\nb3\nw1\nb4\nb5\n");
  // And destruction.
  ASSERT_OK(sink->WriteBuffered("b6"));
  sink.reset();
  EXPECT_EQ(Read("/logs/access.log"), "b1\nb2\nb3\nw1\nb4\nb5\nb6\n");
}

TEST_F(LogSinkTest, BufferIsWrittenWhenFull) {
  auto sink = MakeSink(mem_, 1 << 20, 2);
  const std::string line(999, 'x');  // 1000 bytes with the newline
  const size_t per_batch = LogSink::kBufferBytes / 1000;
  for (size_t i = 0; i < per_batch; ++i) ASSERT_OK(sink->WriteBuffered(line));
  EXPECT_FALSE(mem_.Exists("/logs/access.log"));
  ASSERT_OK(sink->WriteBuffered(line));  // would pass kBufferBytes: the batch goes first
  ASSERT_OK_AND_ASSIGN(FileInfo info, mem_.Stat("/logs/access.log"));
  EXPECT_EQ(info.size, per_batch * 1000);
}

TEST_F(LogSinkTest, BufferedLinesRotateLikeWrittenOnes) {
  auto sink = MakeSink(mem_, 10, 2);  // one 6-byte line per file, as in the test above
  for (int i = 1; i <= 5; ++i) ASSERT_OK(sink->WriteBuffered("line" + std::to_string(i)));
  ASSERT_OK(sink->Flush());
  EXPECT_EQ(Read("/logs/access.log"), "line5\n");
  EXPECT_EQ(Read("/logs/access.log.1"), "line4\n");
  EXPECT_EQ(Read("/logs/access.log.2"), "line3\n");
  EXPECT_FALSE(mem_.Exists("/logs/access.log.3"));
}

TEST_F(LogSinkTest, FailedFlushCountsEveryBufferedLine) {
  FaultInjectingFileSystem faulty(mem_);
  auto sink = MakeSink(faulty, 1024, 2);
  ASSERT_OK(sink->WriteBuffered("ok1"));
  ASSERT_OK(sink->Flush());
  faulty.SetReadOnly(true);
  ASSERT_OK(sink->WriteBuffered("lost1"));
  ASSERT_OK(sink->WriteBuffered("lost2"));
  EXPECT_FALSE(sink->Flush().ok());
  EXPECT_EQ(sink->dropped_lines(), 2u);
  ASSERT_EQ(reports_.size(), 1u);
  faulty.SetReadOnly(false);
  ASSERT_OK(sink->WriteBuffered("ok2"));
  ASSERT_OK(sink->Flush());
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_NE(reports_[1].find("2 lines dropped"), std::string::npos);
  EXPECT_EQ(Read("/logs/access.log"), "ok1\nok2\n");
}

}  // namespace
}  // namespace sicher::log
