#include "sicher/net/user_agent/internal/uap_yaml.h"

#include <yaml-cpp/yaml.h>

#include <string>

namespace sicher::net::internal {
namespace {

Result<std::vector<UapRule>> ParseSection(const YAML::Node& root, const char* name,
                                          const std::vector<UapField>& fields) {
  const YAML::Node list = root[name];
  if (!list || !list.IsSequence()) {
    return DataLossError(std::string("uap-core regexes: no list '") + name + "'");
  }
  std::vector<UapRule> rules;
  rules.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const YAML::Node regex = item.IsMap() ? item["regex"] : YAML::Node();
    if (!regex || !regex.IsScalar()) {
      return DataLossError(std::string("uap-core regexes: ") + name + "[" + std::to_string(i) +
                           "] has no regex");
    }
    UapRule rule;
    rule.regex = regex.Scalar();
    const YAML::Node flag = item["regex_flag"];
    rule.case_insensitive = flag && flag.IsScalar() && flag.Scalar() == "i";
    for (const UapField& field : fields) {
      const YAML::Node value = item[std::string(field.replacement_key)];
      if (value && value.IsScalar()) {
        rule.replacements.emplace_back(value.Scalar());
      } else {
        rule.replacements.emplace_back(std::nullopt);
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace

std::vector<UapField> UserAgentFields() {
  return {{"family_replacement", 1},
          {"v1_replacement", 2},
          {"v2_replacement", 3},
          {"v3_replacement", 4},
          {"v4_replacement", 5}};
}

std::vector<UapField> OsFields() {
  return {{"os_replacement", 1},
          {"os_v1_replacement", 2},
          {"os_v2_replacement", 3},
          {"os_v3_replacement", 4},
          {"os_v4_replacement", 5}};
}

std::vector<UapField> DeviceFields() {
  return {{"device_replacement", 1}, {"brand_replacement", 0}, {"model_replacement", 1}};
}

Result<UapRegexes> ParseUapRegexes(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return DataLossError(std::string("uap-core regexes: bad YAML: ") + e.what());
  }
  if (!root.IsMap()) return DataLossError("uap-core regexes: top level is not a map");
  UapRegexes out;
  try {
    ASSIGN_OR_RETURN(out.user_agent, ParseSection(root, "user_agent_parsers", UserAgentFields()));
    ASSIGN_OR_RETURN(out.os, ParseSection(root, "os_parsers", OsFields()));
    ASSIGN_OR_RETURN(out.device, ParseSection(root, "device_parsers", DeviceFields()));
  } catch (const YAML::Exception& e) {
    return DataLossError(std::string("uap-core regexes: ") + e.what());
  }
  return out;
}

}  // namespace sicher::net::internal
