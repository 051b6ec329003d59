#include "sicher/auth/permissions.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sicher::auth {
namespace {

TEST(PermissionsTest, MatrixHighlights) {
  EXPECT_TRUE(Allowed(Role::kMember, Action::kDocumentsUpload));
  EXPECT_TRUE(Allowed(Role::kMember, Action::kDocumentsRead));
  EXPECT_FALSE(Allowed(Role::kMember, Action::kDocumentsDelete));
  EXPECT_FALSE(Allowed(Role::kMember, Action::kLoginsReadAll));
  EXPECT_TRUE(Allowed(Role::kAdmin, Action::kLoginsReadAll));
  EXPECT_FALSE(Allowed(Role::kAdmin, Action::kOwnershipTransfer));
  EXPECT_TRUE(Allowed(Role::kOwner, Action::kAccountDelete));
  EXPECT_EQ(Authorize(Role::kMember, Action::kAuditRead).code(), StatusCode::kPermissionDenied);
}

TEST(PermissionsTest, GrantsAndRemovals) {
  EXPECT_TRUE(AuthorizeRoleGrant(Role::kOwner, Role::kAdmin).ok());
  EXPECT_TRUE(AuthorizeRoleGrant(Role::kAdmin, Role::kMember).ok());
  EXPECT_FALSE(AuthorizeRoleGrant(Role::kAdmin, Role::kAdmin).ok());
  EXPECT_FALSE(AuthorizeRoleGrant(Role::kOwner, Role::kOwner).ok());
  EXPECT_FALSE(AuthorizeRoleGrant(Role::kMember, Role::kMember).ok());
  EXPECT_TRUE(AuthorizeMemberRemoval(Role::kAdmin, Role::kMember, false).ok());
  EXPECT_FALSE(AuthorizeMemberRemoval(Role::kAdmin, Role::kAdmin, false).ok());
  EXPECT_TRUE(AuthorizeMemberRemoval(Role::kMember, Role::kMember, true).ok());
  EXPECT_FALSE(AuthorizeMemberRemoval(Role::kOwner, Role::kOwner, true).ok());
}

// docs/design/auth.md prints the matrix; it must say exactly what the code does.
TEST(PermissionsTest, DocumentedMatrixMatchesCode) {
  std::ifstream in(SICHER_SOURCE_DIR "/docs/design/auth.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  for (Action a : kAllActions) {
    std::string row = "| `" + std::string(ActionName(a)) + "` |";
    for (Role r : {Role::kOwner, Role::kAdmin, Role::kMember}) {
      row += Allowed(r, a) ? " yes |" : " no |";
    }
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/design/auth.md lacks the row: " << row;
  }
}

}  // namespace
}  // namespace sicher::auth
