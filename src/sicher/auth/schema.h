#pragma once
// The tables of auth/ (migrations 100-199). See docs/design/auth.md for what each holds and
// which columns are encrypted.

#include <vector>

#include "sicher/store/migration.h"

namespace sicher::auth {

std::vector<store::Migration> AuthMigrations();

}  // namespace sicher::auth
