#include "sicher/store/store.h"

#include "sicher/base/check.h"

namespace sicher::store {

std::string_view ValueTypeName(const Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return "INTEGER";
    case 2:
      return "REAL";
    case 3:
      return "TEXT";
    default:
      return "BLOB";
  }
}

namespace {

[[noreturn]] void TypeMismatch(size_t i, std::string_view want, const Value& got) {
  std::cerr << "Row: column " << i << " is " << ValueTypeName(got) << ", not " << want << std::endl;
  std::abort();
}

}  // namespace

const Value& Row::Get(size_t i) const {
  CHECK(i < values_.size());
  return values_[i];
}

bool Row::IsNull(size_t i) const { return std::holds_alternative<std::monostate>(Get(i)); }

int64_t Row::GetInt(size_t i) const {
  const Value& v = Get(i);
  if (const auto* p = std::get_if<int64_t>(&v)) return *p;
  TypeMismatch(i, "INTEGER", v);
}

double Row::GetDouble(size_t i) const {
  const Value& v = Get(i);
  if (const auto* p = std::get_if<double>(&v)) return *p;
  if (const auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  TypeMismatch(i, "REAL", v);
}

const std::string& Row::GetText(size_t i) const {
  const Value& v = Get(i);
  if (const auto* p = std::get_if<std::string>(&v)) return *p;
  TypeMismatch(i, "TEXT", v);
}

const std::string& Row::GetBlob(size_t i) const {
  const Value& v = Get(i);
  if (const auto* p = std::get_if<Blob>(&v)) return p->bytes;
  TypeMismatch(i, "BLOB", v);
}

std::optional<int64_t> Row::GetOptionalInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetInt(i);
}

std::optional<std::string> Row::GetOptionalText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetText(i);
}

}  // namespace sicher::store
