#include "sicher/config/cron.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

namespace sicher::config {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // names[i] stands for min + i; may be null
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr, nullptr, nullptr, nullptr, nullptr};

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

bool ParseValue(std::string_view text, const FieldSpec& field, int& out) {
  if (field.names != nullptr && text.size() == 3) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < field.names->size(); ++i) {
      if ((*field.names)[i] != nullptr && lower == (*field.names)[i]) {
        out = field.min + static_cast<int>(i);
        return true;
      }
    }
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Sets the bits of one field; returns the reason on failure.
Status ParseField(std::string_view text, const FieldSpec& field, int max_value,
                  std::vector<bool>& bits) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format("{} field \"{}\": {}", field.name, text, why));
  };
  for (std::string_view item : Split(text, ',')) {
    if (item.empty()) return bad("empty list item");
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || ec != std::errc() || end != step_text.data() + step_text.size() ||
          step < 1) {
        return bad("step must be a positive number");
      }
      item = item.substr(0, slash);
    }
    int lo = field.min;
    int hi = field.max;
    if (item != "*") {
      const size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!ParseValue(item, field, lo)) return bad(fmt::format("\"{}\" is not a value", item));
        hi = step > 1 ? field.max : lo;  // "5/15" means 5-max/15, as in Vixie cron
      } else {
        if (!ParseValue(item.substr(0, dash), field, lo) ||
            !ParseValue(item.substr(dash + 1), field, hi)) {
          return bad(fmt::format("\"{}\" is not a range", item));
        }
      }
      if (lo < field.min || hi > max_value || lo > hi) {
        return bad(fmt::format("values must be {}..{}", field.min, field.max));
      }
    }
    for (int v = lo; v <= hi; v += step) bits[static_cast<size_t>(v)] = true;
  }
  return OkStatus();
}

template <size_t N>
void Copy(const std::vector<bool>& bits, std::bitset<N>& out) {
  for (size_t i = 0; i < N && i < bits.size(); ++i) out[i] = bits[i];
}

}  // namespace

Result<CronSpec> ParseCron(std::string_view text) {
  std::string_view expr = text;
  if (!expr.empty() && expr.front() == '@') {
    if (expr == "@yearly" || expr == "@annually")
      expr = "0 0 1 1 *";
    else if (expr == "@monthly")
      expr = "0 0 1 * *";
    else if (expr == "@weekly")
      expr = "0 0 * * 0";
    else if (expr == "@daily" || expr == "@midnight")
      expr = "0 0 * * *";
    else if (expr == "@hourly")
      expr = "0 * * * *";
    else
      return InvalidArgumentError(fmt::format("\"{}\" is not a cron macro", text));
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && (expr[i] == ' ' || expr[i] == '\t')) ++i;
    size_t j = i;
    while (j < expr.size() && expr[j] != ' ' && expr[j] != '\t') ++j;
    if (j > i) fields.push_back(expr.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return InvalidArgumentError(fmt::format(
        "\"{}\" has {} fields; a cron schedule has 5: minute hour day-of-month month day-of-week, "
        "e.g. \"0 2 * * *\"",
        text, fields.size()));
  }
  static constexpr std::array<FieldSpec, 5> kFields = {{{"minute", 0, 59, nullptr},
                                                        {"hour", 0, 23, nullptr},
                                                        {"day-of-month", 1, 31, nullptr},
                                                        {"month", 1, 12, &kMonthNames},
                                                        {"day-of-week", 0, 6, &kDayNames}}};
  CronSpec spec;
  for (size_t f = 0; f < 5; ++f) {
    const FieldSpec& field = kFields[f];
    const int max_value = f == 4 ? 7 : field.max;  // 7 is Sunday too
    std::vector<bool> bits(static_cast<size_t>(max_value) + 1, false);
    RETURN_IF_ERROR(ParseField(fields[f], field, max_value, bits));
    switch (f) {
      case 0:
        Copy(bits, spec.minutes);
        break;
      case 1:
        Copy(bits, spec.hours);
        break;
      case 2:
        Copy(bits, spec.days_of_month);
        break;
      case 3:
        Copy(bits, spec.months);
        break;
      case 4:
        if (bits[7]) bits[0] = true;
        Copy(bits, spec.days_of_week);
        break;
    }
  }
  spec.day_of_month_any = fields[2] == "*";
  spec.day_of_week_any = fields[4] == "*";
  return spec;
}

}  // namespace sicher::config
