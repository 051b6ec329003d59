#include "sicher/store/store.h"

#include <gtest/gtest.h>

#include "sicher/store/migration.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::store {
namespace {

TEST(ValueTest, ConvertsFromNaturalLiterals) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(Value(kNull)));
  EXPECT_TRUE(std::holds_alternative<int64_t>(Value(int64_t{7})));
  EXPECT_TRUE(std::holds_alternative<int64_t>(Value(7)));
  EXPECT_TRUE(std::holds_alternative<double>(Value(1.5)));
  EXPECT_TRUE(std::holds_alternative<std::string>(Value("text")));
  EXPECT_TRUE(std::holds_alternative<Blob>(Value(Blob{std::string("\0x", 2)})));
  EXPECT_EQ(ValueTypeName(Value(Blob{})), "BLOB");
  EXPECT_EQ(ValueTypeName(Value(kNull)), "NULL");
}

size_t CountParams(Params p) { return p.size(); }

TEST(ParamsTest, AcceptsBracedListsVectorsAndSpans) {
  EXPECT_EQ(CountParams({}), 0u);
  EXPECT_EQ(CountParams({1, "a", Blob{"b"}, kNull, 2.5}), 5u);
  const std::vector<Value> v = {1, 2, 3};
  EXPECT_EQ(CountParams(v), 3u);
  EXPECT_EQ(CountParams(std::span<const Value>(v).first(2)), 2u);
}

TEST(RowTest, TypedGetters) {
  const Row row({int64_t{42}, 2.5, std::string("hi"), Blob{std::string("\0\1", 2)}, kNull});
  EXPECT_EQ(row.size(), 5u);
  EXPECT_EQ(row.GetInt(0), 42);
  EXPECT_EQ(row.GetDouble(0), 42.0);  // INTEGER widens to REAL
  EXPECT_EQ(row.GetDouble(1), 2.5);
  EXPECT_EQ(row.GetText(2), "hi");
  EXPECT_EQ(row.GetBlob(3), std::string("\0\1", 2));
  EXPECT_TRUE(row.IsNull(4));
  EXPECT_FALSE(row.IsNull(0));
  EXPECT_EQ(row.GetOptionalInt(4), std::nullopt);
  EXPECT_EQ(row.GetOptionalInt(0), 42);
  EXPECT_EQ(row.GetOptionalText(4), std::nullopt);
  EXPECT_EQ(row.GetOptionalText(2), "hi");
}

TEST(RowDeathTest, TypeMismatchIsABug) {
  const Row row({std::string("hi")});
  EXPECT_DEATH((void)row.GetInt(0), "column 0 is TEXT, not INTEGER");
  EXPECT_DEATH((void)row.Get(1), "CHECK failed");
}

TEST(MigrationTest, CoreMigrationsAreValid) {
  const std::vector<Migration> core = CoreMigrations();
  ASSERT_FALSE(core.empty());
  EXPECT_EQ(core.front().version, 1);
  EXPECT_EQ(core.front().name, "core");
  EXPECT_FALSE(core.front().postgres_sql.empty());
  EXPECT_OK(ValidateMigrations(core));
}

TEST(MigrationTest, ValidationRejectsBadLists) {
  EXPECT_EQ(ValidateMigrations({}).code(), StatusCode::kInvalidArgument);
  std::vector<Migration> without_core = {
      {.version = 1, .name = "x", .sqlite_sql = "SELECT 1", .postgres_sql = ""}};
  EXPECT_EQ(ValidateMigrations(without_core).code(), StatusCode::kInvalidArgument);

  std::vector<Migration> m = CoreMigrations();
  m.push_back({.version = 5, .name = "a", .sqlite_sql = "SELECT 1", .postgres_sql = ""});
  m.push_back({.version = 5, .name = "b", .sqlite_sql = "SELECT 1", .postgres_sql = ""});
  EXPECT_EQ(ValidateMigrations(m).code(), StatusCode::kInvalidArgument);
  m.back().version = 4;
  EXPECT_EQ(ValidateMigrations(m).code(), StatusCode::kInvalidArgument);
  m.back().version = 6;
  EXPECT_OK(ValidateMigrations(m));
  m.back().name = "";
  EXPECT_EQ(ValidateMigrations(m).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::store
