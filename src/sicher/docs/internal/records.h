#pragma once
// Pieces shared by doc_store.cc and doc_store_links.cc: time conversion, the access record
// being built, and the SQL that loads a document's metadata columns. Private to docs/.

#include <cstdint>
#include <string>
#include <string_view>

#include "sicher/base/clock.h"

namespace sicher::docs::internal {

// The columns LoadMeta reads, in order; `d` is the documents table.
inline constexpr std::string_view kMetaColumns =
    "d.id, d.account_id, d.current_version, d.title_sealed, d.description_sealed, "
    "d.content_type_sealed, d.size, d.created_at, d.updated_at, d.created_by";

// FieldAad coordinates of the sealed metadata columns.
inline constexpr std::string_view kDocumentsTable = "documents";
inline constexpr std::string_view kTitleColumn = "title";
inline constexpr std::string_view kDescriptionColumn = "description";
inline constexpr std::string_view kContentTypeColumn = "content_type";

// "\"<document id>-v<version>\"".
std::string ETag(std::string_view document_id, uint64_t version);

}  // namespace sicher::docs::internal
