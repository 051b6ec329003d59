#include "sicher/audit/actions.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace sicher::audit {
namespace {

// The actions documented in docs/audit-events.md: every table row whose first cell is a
// backquoted dotted name.
std::set<std::string> DocumentedActions() {
  std::ifstream in(std::string(SICHER_SOURCE_DIR) + "/docs/audit-events.md");
  EXPECT_TRUE(in.good()) << "docs/audit-events.md is missing";
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    const size_t end = line.find('`', 3);
    if (end == std::string::npos) continue;
    const std::string name = line.substr(3, end - 3);
    if (name.find('.') != std::string::npos) out.insert(name);
  }
  return out;
}

TEST(ActionsTest, CatalogAndDocumentationAgree) {
  const std::set<std::string> documented = DocumentedActions();
  std::set<std::string> coded;
  for (const ActionInfo& a : AllActions()) coded.insert(std::string(a.name));
  for (const std::string& name : coded) {
    EXPECT_TRUE(documented.contains(name)) << name << " is emitted but not in docs/audit-events.md";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(coded.contains(name)) << name << " is documented but not in the catalog";
  }
  EXPECT_GE(coded.size(), 30u);
}

TEST(ActionsTest, FindsExactNamesOnly) {
  ASSERT_NE(FindAction("document.read"), nullptr);
  EXPECT_EQ(FindAction("document.read")->category, log::Category::kAccess);
  EXPECT_EQ(FindAction("login.password")->category, log::Category::kSecurity);
  EXPECT_EQ(FindAction("member.role_changed")->category, log::Category::kAudit);
  EXPECT_EQ(FindAction("document."), nullptr);
  EXPECT_EQ(FindAction("document.read "), nullptr);
  EXPECT_EQ(FindAction(""), nullptr);
  EXPECT_EQ(FindAction("zzz.unknown"), nullptr);
}

}  // namespace
}  // namespace sicher::audit
