// Tests of store/sqlite internals: error translation and the portable-text rule.

#include <gtest/gtest.h>

#include "sicher/store/sqlite/internal/errors.h"
#include "sicher/store/sqlite/internal/sqlite_txn.h"

namespace sicher::store::sqlite::internal {
namespace {

TEST(ErrorsTest, TranslatesResultCodes) {
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_UNIQUE), StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_PRIMARYKEY), StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_FOREIGNKEY), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_CHECK), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_NOTNULL), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeFor(SQLITE_BUSY), StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_BUSY_SNAPSHOT), StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_LOCKED), StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_FULL), StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeFor(SQLITE_IOERR_FSYNC), StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_IOERR_NOMEM), StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeFor(SQLITE_CORRUPT), StatusCode::kDataLoss);
  EXPECT_EQ(CodeFor(SQLITE_NOTADB), StatusCode::kDataLoss);
  EXPECT_EQ(CodeFor(SQLITE_READONLY), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeFor(SQLITE_ERROR), StatusCode::kInternal);
  EXPECT_EQ(CodeFor(SQLITE_MISUSE), StatusCode::kInternal);
  EXPECT_EQ(CodeFor(SQLITE_OK), StatusCode::kOk);
  // Never OK for an error, even a code SQLite does not use here.
  EXPECT_EQ(SqliteError(SQLITE_OK, nullptr, "x").code(), StatusCode::kInternal);
  EXPECT_EQ(SqliteError(SQLITE_FULL, nullptr, "commit").message(),
            "commit: database or disk is full");
}

TEST(PortableTextTest, AcceptsUtf8AndRejectsTheRest) {
  EXPECT_TRUE(IsPortableText(""));
  EXPECT_TRUE(IsPortableText("plain ascii"));
  EXPECT_TRUE(IsPortableText("Grüße, 日本, 🙂"));
  EXPECT_FALSE(IsPortableText(std::string("a\0b", 3)));  // NUL
  EXPECT_FALSE(IsPortableText("\xff"));
  EXPECT_FALSE(IsPortableText("\xc3"));              // truncated
  EXPECT_FALSE(IsPortableText("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsPortableText("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsPortableText("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsPortableText("\xe0\x80\xaf"));      // overlong 3-byte
}

}  // namespace
}  // namespace sicher::store::sqlite::internal
