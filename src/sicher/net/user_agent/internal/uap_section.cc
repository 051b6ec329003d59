#include "sicher/net/user_agent/internal/uap_section.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <utility>

#include "sicher/base/check.h"
#include "sicher/net/user_agent/internal/pcre_to_re2.h"

namespace sicher::net::internal {
namespace {

// Rules per RE2::Set. Smaller chunks keep each set's program and DFA cache small (and let a
// match in an early chunk skip the rest); larger ones mean fewer passes over the text. On
// uap-core 0.18.0 (350/197/628 rules), release build, 20,000 varied User-Agents parsed twice:
// 64 -> 11.5 us per parse, 52 MB RSS; 256 -> 7.3 us, 59 MB; one set per section -> 5.6 us,
// 83 MB. One by one, without sets: ~125 us.
constexpr size_t kRulesPerChunk = 256;

// Memory budget for each chunk's program and DFA cache. RE2's default (8 MiB) is plenty for a
// single uap-core regex but can be short for a set of them.
constexpr int64_t kSetMaxMem = int64_t{32} << 20;

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

RE2::Options BaseOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

}  // namespace

struct UapSection::Compiled {
  std::string pattern;  // translated, without case flag
  bool case_insensitive = false;
  std::unique_ptr<RE2> re;
  std::vector<std::optional<std::string>> replacements;
};

struct UapSection::Chunk {
  size_t begin = 0;  // [begin, end) in compiled_
  size_t end = 0;
  std::unique_ptr<RE2::Set> set;  // null: try the rules one by one
};

std::string ExpandTemplate(std::string_view tmpl, const std::vector<std::string_view>& captures) {
  std::string out;
  out.reserve(tmpl.size());
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '$' && i + 1 < tmpl.size() && tmpl[i + 1] >= '1' && tmpl[i + 1] <= '9') {
      const size_t n = static_cast<size_t>(tmpl[i + 1] - '1');
      if (n < captures.size()) out += captures[n];
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

UapSection::UapSection(std::vector<UapRule> rules, std::vector<UapField> fields)
    : fields_(std::move(fields)) {
  compiled_.reserve(rules.size());
  for (UapRule& rule : rules) {
    CHECK(rule.replacements.size() == fields_.size());
    Compiled c;
    c.pattern = TranslatePcreForRe2(rule.regex);
    c.case_insensitive = rule.case_insensitive;
    RE2::Options options = BaseOptions();
    options.set_case_sensitive(!rule.case_insensitive);
    c.re = std::make_unique<RE2>(c.pattern, options);
    if (!c.re->ok()) {
      ++failed_;
      continue;
    }
    c.replacements = std::move(rule.replacements);
    compiled_.push_back(std::move(c));
  }

  for (size_t begin = 0; begin < compiled_.size(); begin += kRulesPerChunk) {
    Chunk chunk;
    chunk.begin = begin;
    chunk.end = std::min(compiled_.size(), begin + kRulesPerChunk);
    RE2::Options options = BaseOptions();
    options.set_max_mem(kSetMaxMem);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    bool ok = true;
    for (size_t i = chunk.begin; i < chunk.end && ok; ++i) {
      const Compiled& c = compiled_[i];
      // Set indexes are assigned 0, 1, ... in Add() order; a failed Add would shift them.
      ok = set->Add(c.case_insensitive ? "(?i)" + c.pattern : c.pattern, nullptr) ==
           static_cast<int>(i - chunk.begin);
    }
    if (ok && set->Compile()) chunk.set = std::move(set);
    chunks_.push_back(std::move(chunk));
  }
}

UapSection::~UapSection() = default;

size_t UapSection::compiled_count() const { return compiled_.size(); }

bool UapSection::MatchRule(size_t index, std::string_view text,
                           std::vector<std::string>& fields) const {
  const Compiled& c = compiled_[index];
  const int groups = c.re->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> submatch(static_cast<size_t>(groups) + 1);
  if (!c.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                   submatch.data(), groups + 1)) {
    return false;
  }
  std::vector<std::string_view> captures;
  captures.reserve(static_cast<size_t>(groups));
  for (int g = 1; g <= groups; ++g) {
    const re2::StringPiece& s = submatch[static_cast<size_t>(g)];
    captures.push_back(s.data() == nullptr ? std::string_view()
                                           : std::string_view(s.data(), s.size()));
  }
  fields.assign(fields_.size(), std::string());
  for (size_t f = 0; f < fields_.size(); ++f) {
    if (c.replacements[f].has_value()) {
      fields[f] = Trim(ExpandTemplate(*c.replacements[f], captures));
    } else if (const int g = fields_[f].default_group; g > 0 && g <= groups) {
      fields[f] = Trim(captures[static_cast<size_t>(g - 1)]);
    }
  }
  return true;
}

std::optional<std::vector<std::string>> UapSection::Match(std::string_view text) const {
  std::vector<std::string> fields;
  const re2::StringPiece piece(text.data(), text.size());
  std::vector<int> hits;
  for (const Chunk& chunk : chunks_) {
    if (chunk.set != nullptr) {
      hits.clear();
      RE2::Set::ErrorInfo error{};
      if (chunk.set->Match(piece, &hits, &error)) {
        std::sort(hits.begin(), hits.end());
        for (int hit : hits) {
          if (MatchRule(chunk.begin + static_cast<size_t>(hit), text, fields)) return fields;
        }
        continue;
      }
      if (error.kind == RE2::Set::kNoError) continue;  // no rule in this chunk matches
      // The DFA ran out of memory (or similar): fall through to one-by-one matching.
    }
    for (size_t i = chunk.begin; i < chunk.end; ++i) {
      if (MatchRule(i, text, fields)) return fields;
    }
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> UapSection::MatchOneByOne(std::string_view text) const {
  std::vector<std::string> fields;
  for (size_t i = 0; i < compiled_.size(); ++i) {
    if (MatchRule(i, text, fields)) return fields;
  }
  return std::nullopt;
}

}  // namespace sicher::net::internal
