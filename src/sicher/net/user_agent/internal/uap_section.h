#pragma once
// One section of uap-core's regexes.yaml (user_agent_parsers, os_parsers or device_parsers),
// compiled for RE2: an ordered list of rules, each a regex plus replacement templates, and the
// uap-core rule "the first regex that matches wins, then fill each field from its template or
// its default capture group".
//
// Finding the first match among hundreds of regexes one by one is slow, so the rules are also
// compiled into RE2::Set chunks of consecutive rules: a chunk's set reports every rule in it
// that matches, the smallest index is run alone for its captures, and later chunks are skipped.
// If a set cannot be built or runs out of DFA memory, its rules are tried one by one instead,
// with the same result.
//
// Thread-safe once built: Match() is const and RE2 / RE2::Set matching is thread-safe.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
class Set;
}  // namespace re2

namespace sicher::net::internal {

// How one output field is filled: from `replacement_key`'s template when the rule has one,
// else from capture group `default_group` (1-based; 0 = no default, the field stays empty).
struct UapField {
  std::string_view replacement_key;  // e.g. "family_replacement"
  int default_group = 0;
};

// A rule as written in regexes.yaml.
struct UapRule {
  std::string regex;
  bool case_insensitive = false;  // regex_flag: 'i'
  // One entry per section field (same order as the UapField list); nullopt when absent.
  std::vector<std::optional<std::string>> replacements;
};

class UapSection {
 public:
  // Compiles `rules` in order. Never fails: a rule RE2 rejects (after TranslatePcreForRe2) is
  // left out and counted in failed_count().
  UapSection(std::vector<UapRule> rules, std::vector<UapField> fields);
  ~UapSection();
  UapSection(const UapSection&) = delete;
  UapSection& operator=(const UapSection&) = delete;

  // The fields of the first rule that matches `text` anywhere (unanchored), or nullopt when
  // none does. A template has $1..$9 replaced by that capture (empty when the group does not
  // exist or did not participate); every field is trimmed of surrounding whitespace.
  std::optional<std::vector<std::string>> Match(std::string_view text) const;

  // The same result as Match(), found by trying every rule in order without the sets: slow;
  // for tests that check the sets never change the answer.
  std::optional<std::vector<std::string>> MatchOneByOne(std::string_view text) const;

  size_t compiled_count() const;
  size_t failed_count() const { return failed_; }

 private:
  struct Compiled;
  struct Chunk;

  // Runs compiled_[index] alone; fills the fields and returns true if it matches.
  bool MatchRule(size_t index, std::string_view text, std::vector<std::string>& fields) const;

  std::vector<UapField> fields_;
  std::vector<Compiled> compiled_;  // the rules RE2 accepted, in file order
  std::vector<Chunk> chunks_;       // consecutive ranges of compiled_
  size_t failed_ = 0;
};

// Replaces $1..$9 in `tmpl` with captures[0..8]; a capture beyond the vector is empty. A `$`
// not followed by 1-9 is kept. "$1 $2" with {"Nexus", "7"} -> "Nexus 7". No trimming.
std::string ExpandTemplate(std::string_view tmpl, const std::vector<std::string_view>& captures);

}  // namespace sicher::net::internal
