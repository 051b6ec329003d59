#pragma once
// The tables of docs/ (migrations 200-299): documents, their versions and sealed chunks,
// publishing links and access records. What each column holds:
// docs/design/document-envelope.md section 4. Requires AuthMigrations() (accounts) before it.

#include <vector>

#include "sicher/store/migration.h"

namespace sicher::docs {

std::vector<store::Migration> DocsMigrations();

}  // namespace sicher::docs
