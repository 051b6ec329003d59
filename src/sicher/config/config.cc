// Loading: TOML file (toml++, included only here), environment overrides, cross-key checks, and
// the `config defaults` document. The keys themselves are declared in keys.cc.

#include "sicher/config/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>

namespace sicher::config {
namespace {

// Problems found while loading; each line names its source and key.
class Problems {
 public:
  void Add(std::string line) { lines_.push_back(std::move(line)); }
  bool empty() const { return lines_.empty(); }
  Status ToStatus() const {
    if (lines_.empty()) return OkStatus();
    if (lines_.size() == 1) return InvalidArgumentError(lines_[0]);
    std::string msg = fmt::format("{} problems:", lines_.size());
    for (const auto& l : lines_) msg += "\n  " + l;
    return InvalidArgumentError(std::move(msg));
  }

 private:
  std::vector<std::string> lines_;
};

std::string_view SectionOf(std::string_view key) { return key.substr(0, key.find('.')); }

std::set<std::string, std::less<>> Sections() {
  std::set<std::string, std::less<>> out;
  for (const KeyInfo& k : Keys()) out.emplace(SectionOf(k.name));
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string DidYouMean(std::string_view name) {
  const KeyInfo* best = nullptr;
  size_t best_distance = 4;  // suggest only close matches
  for (const KeyInfo& k : Keys()) {
    const size_t d = EditDistance(name, k.name);
    if (d < best_distance) {
      best = &k;
      best_distance = d;
    }
  }
  return best == nullptr ? "" : fmt::format(" (did you mean {}?)", best->name);
}

std::string_view TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

Status WrongType(const KeyInfo& key, const toml::node& node) {
  return InvalidArgumentError(
      fmt::format("expected {} ({}), got {}",
                  key.kind == ValueKind::kInteger       ? "an integer"
                  : key.kind == ValueKind::kStringArray ? "an array of strings"
                  : key.kind == ValueKind::kSiteArray   ? "[[backup.sites]] tables"
                  : key.kind == ValueKind::kSize        ? "a string or an integer"
                                                        : "a string",
                  key.type, TomlTypeName(node)));
}

Result<RawValue> FromToml(const KeyInfo& key, const toml::node& node) {
  switch (key.kind) {
    case ValueKind::kString:
      if (auto s = node.value<std::string>(); s && node.is_string()) return RawValue(*s);
      return WrongType(key, node);
    case ValueKind::kSize:
      if (node.is_string()) return RawValue(*node.value<std::string>());
      if (node.is_integer()) {
        const int64_t n = node.as_integer()->get();
        if (n < 0) return InvalidArgumentError(fmt::format("{} is negative", n));
        return RawValue(std::to_string(n));
      }
      return WrongType(key, node);
    case ValueKind::kInteger:
      if (node.is_integer()) return RawValue(node.as_integer()->get());
      return WrongType(key, node);
    case ValueKind::kStringArray: {
      const toml::array* array = node.as_array();
      if (array == nullptr) return WrongType(key, node);
      std::vector<std::string> out;
      for (size_t i = 0; i < array->size(); ++i) {
        const toml::node& el = *array->get(i);
        if (!el.is_string()) {
          return InvalidArgumentError(
              fmt::format("element {} is {}, expected a string", i, TomlTypeName(el)));
        }
        out.push_back(*el.value<std::string>());
      }
      return RawValue(std::move(out));
    }
    case ValueKind::kSiteArray: {
      const toml::array* array = node.as_array();
      if (array == nullptr) return WrongType(key, node);
      std::vector<BackupSite> out;
      for (size_t i = 0; i < array->size(); ++i) {
        const toml::table* table = array->get(i)->as_table();
        if (table == nullptr) {
          return InvalidArgumentError(fmt::format("[{}] is {}, expected a table with name and path",
                                                  i, TomlTypeName(*array->get(i))));
        }
        BackupSite site;
        for (auto&& [k, v] : *table) {
          std::string* field = k.str() == "name"   ? &site.name
                               : k.str() == "path" ? &site.path
                                                   : nullptr;
          if (field == nullptr) {
            return InvalidArgumentError(
                fmt::format("[{}].{}: unknown key (a site has name and path)", i, k.str()));
          }
          if (!v.is_string()) {
            return InvalidArgumentError(
                fmt::format("[{}].{}: expected a string, got {}", i, k.str(), TomlTypeName(v)));
          }
          *field = *v.value<std::string>();
        }
        out.push_back(std::move(site));
      }
      return RawValue(std::move(out));
    }
  }
  return InternalError("unhandled value kind");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitList(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = Trim(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

Result<RawValue> FromEnv(const KeyInfo& key, const std::string& text) {
  switch (key.kind) {
    case ValueKind::kString:
    case ValueKind::kSize:
      return RawValue(text);
    case ValueKind::kInteger: {
      ASSIGN_OR_RETURN(int64_t n, ParseInteger(Trim(text)));
      return RawValue(n);
    }
    case ValueKind::kStringArray: {
      std::vector<std::string> out;
      for (std::string_view item : SplitList(text)) out.emplace_back(item);
      return RawValue(std::move(out));
    }
    case ValueKind::kSiteArray: {
      std::vector<BackupSite> out;
      for (std::string_view item : SplitList(text)) {
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
          return InvalidArgumentError(
              fmt::format("\"{}\" is not name=path (sites are \"name=path,name=path\")", item));
        }
        out.push_back(
            {std::string(Trim(item.substr(0, eq))), std::string(Trim(item.substr(eq + 1)))});
      }
      return RawValue(std::move(out));
    }
  }
  return InternalError("unhandled value kind");
}

void ApplyToml(const toml::table& root, std::string_view source, Config& config,
               Problems& problems) {
  const auto sections = Sections();
  const auto where = [&](const toml::node& node) {
    const auto line = node.source().begin.line;
    return line > 0 ? fmt::format("{}:{}", source, line) : std::string(source);
  };
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    if (!section_node.is_table()) {
      problems.Add(
          fmt::format("{}: {}: unknown key{}; every key belongs to a section such as "
                      "[server]",
                      where(section_node), section, DidYouMean(section)));
      continue;
    }
    if (sections.count(section) == 0) {
      problems.Add(
          fmt::format("{}: [{}]: unknown section (known: server, database, data, log, "
                      "health, backup)",
                      where(section_node), section));
      continue;
    }
    // Keys with three parts (log.syslog.address) arrive as a nested table, from a dotted key
    // under [log] or from a [log.syslog] header.
    std::function<void(const toml::table&, const std::string&)> apply_table =
        [&](const toml::table& table, const std::string& prefix) {
          for (auto&& [key_name, node] : table) {
            const std::string name = prefix + "." + std::string(key_name.str());
            const KeyInfo* key = FindKey(name);
            if (key == nullptr && node.is_table() &&
                std::any_of(Keys().begin(), Keys().end(),
                            [&](const KeyInfo& k) { return k.name.rfind(name + ".", 0) == 0; })) {
              apply_table(*node.as_table(), name);
              continue;
            }
            if (key == nullptr) {
              problems.Add(
                  fmt::format("{}: {}: unknown key{}", where(node), name, DidYouMean(name)));
              continue;
            }
            Result<RawValue> raw = FromToml(*key, node);
            Status s = raw.ok() ? key->apply(*raw, config) : raw.status();
            if (!s.ok()) problems.Add(fmt::format("{}: {}: {}", where(node), name, s.message()));
          }
        };
    apply_table(*section_node.as_table(), section);
  }
}

void ApplyEnvironment(const std::map<std::string, std::string>& environ, Config& config,
                      Problems& problems) {
  for (const KeyInfo& key : Keys()) {
    const std::string env = key.EnvName();
    auto it = environ.find(env);
    if (it == environ.end()) continue;
    Result<RawValue> raw = FromEnv(key, it->second);
    Status s = raw.ok() ? key.apply(*raw, config) : raw.status();
    if (!s.ok()) problems.Add(fmt::format("environment {} ({}): {}", env, key.name, s.message()));
  }
  // SICHER_DATA is the documented short form of SICHER_DATA_DIR.
  if (auto it = environ.find("SICHER_DATA"); it != environ.end()) {
    auto long_form = environ.find("SICHER_DATA_DIR");
    if (long_form != environ.end() && long_form->second != it->second) {
      problems.Add("environment SICHER_DATA and SICHER_DATA_DIR (data.dir) disagree; set one");
    } else if (Status s = FindKey("data.dir")->apply(RawValue(it->second), config); !s.ok()) {
      problems.Add(fmt::format("environment SICHER_DATA (data.dir): {}", s.message()));
    }
  }
}

// Rules that involve more than one key.
void CheckCombinations(const Config& c, Problems& problems) {
  if (c.server.cert_file.empty() != c.server.key_file.empty()) {
    problems.Add(
        "server.cert_file, server.key_file: set both (your own certificate) or neither (the "
        "generated self-signed one)");
  }
  struct Listener {
    const char* key;
    const HostPort* address;
  };
  std::vector<Listener> listeners = {{"server.public_listen", &c.server.public_listen},
                                     {"server.operator_listen", &c.server.operator_listen}};
  if (c.server.redirect_listen) {
    listeners.push_back({"server.redirect_listen", &*c.server.redirect_listen});
  }
  for (size_t i = 0; i < listeners.size(); ++i) {
    for (size_t j = i + 1; j < listeners.size(); ++j) {
      const HostPort& a = *listeners[i].address;
      const HostPort& b = *listeners[j].address;
      if (a.port != 0 && a == b) {
        problems.Add(fmt::format("{}, {}: both are {}; each listener needs its own address",
                                 listeners[i].key, listeners[j].key, a.ToString()));
      }
    }
  }
}

std::vector<std::string> Wrap(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    start = end + 1;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text, std::string_view source,
                           const std::map<std::string, std::string>& environ) {
  Config config;
  Problems problems;
  try {
    const toml::table root = toml::parse(toml_text, source);
    ApplyToml(root, source, config, problems);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                            e.source().begin.column, e.description()));
  } catch (const std::exception& e) {
    return InvalidArgumentError(fmt::format("{}: cannot parse: {}", source, e.what()));
  }
  ApplyEnvironment(environ, config, problems);
  CheckCombinations(config, problems);
  RETURN_IF_ERROR(problems.ToStatus());
  return config;
}

Result<Config> LoadConfig(Env& env, std::optional<std::string> path,
                          const std::map<std::string, std::string>& environ) {
  if (!path) return ParseConfig("", "defaults", environ);
  Result<std::string> text = env.fs.ReadFile(*path);
  if (!text.ok()) return text.status().WithContext("config file");
  return ParseConfig(*text, *path, environ);
}

Status CheckConfigFile(Env& env, const std::string& path) {
  return LoadConfig(env, path, {}).status();
}

std::string DefaultsToml() {
  constexpr size_t kWidth = 98;
  std::string out =
      "# sicher configuration: every key with its default and its meaning.\n"
      "# Printed by `sicher config defaults`; check a file with `sicher config check FILE`.\n"
      "#\n"
      "# Every key can also be set in the environment, which overrides this file: SICHER_ and the\n"
      "# key upper-cased with dots as underscores (server.public_listen ->\n"
      "# SICHER_SERVER_PUBLIC_LISTEN). Unknown keys and bad values are errors.\n"
      "#\n"
      "# Durations: a number and a unit (ms, s, m, h, d), e.g. \"10s\", \"5m\", \"1h30m\".\n"
      "# Sizes: a number and a unit (B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB), e.g. \"64KiB\".\n";
  std::string_view section;
  for (const KeyInfo& key : Keys()) {
    const std::string_view key_section = SectionOf(key.name);
    if (key_section != section) {
      section = key_section;
      out += fmt::format("\n[{}]\n", section);
    }
    out += "\n";
    for (const std::string& line : Wrap(key.meaning, kWidth)) out += "# " + line + "\n";
    const std::string_view short_name = std::string_view(key.name).substr(section.size() + 1);
    if (key.kind == ValueKind::kSiteArray) {
      out += fmt::format("# Type: {}. Default: none.\n# Environment: {}=\"name=path,name=path\".\n",
                         key.type, key.EnvName());
      out += fmt::format("#\n# [[{0}]]\n# name = \"offsite\"\n# path = \"/mnt/sicher-backup\"\n",
                         key.name);
      continue;
    }
    out += fmt::format("# Type: {}. Environment: {}.\n", key.type, key.EnvName());
    out += fmt::format("{} = {}\n", short_name, key.default_toml);
  }
  return out;
}

std::vector<std::string> UnknownEnvironmentVariables(
    const std::map<std::string, std::string>& environ) {
  std::set<std::string> known = {"SICHER_DATA", "SICHER_KEYRING"};
  for (const KeyInfo& key : Keys()) known.insert(key.EnvName());
  std::vector<std::string> out;
  for (const auto& [name, value] : environ) {
    if (name.rfind("SICHER_", 0) == 0 && known.count(name) == 0) out.push_back(name);
  }
  return out;
}

}  // namespace sicher::config
