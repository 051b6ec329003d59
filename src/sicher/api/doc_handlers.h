#pragma once
// HTTP routes of docs/: upload (streamed), list, metadata, content (streamed, single Range),
// replace, delete, publishing links and GET /p/{token} for readers.
//
// Who may do what follows the permission matrix (docs/design/auth.md): members upload and
// read; owners and admins also delete and manage links. Content is served as an attachment
// on the API; readers of a link get it inline under a sandboxing Content-Security-Policy, so
// an uploaded HTML file can never run script in sicher's origin.

#include "sicher/api/router.h"
#include "sicher/auth/service.h"
#include "sicher/docs/doc_store.h"
#include "sicher/net/user_agent/user_agent.h"

namespace sicher::api {

struct DocRoutesOptions {
  uint64_t max_document_bytes = uint64_t{2} << 30;
};

// Adds the routes. Everything passed must outlive `router`.
void RegisterDocRoutes(Router& router, auth::AuthService& auth, docs::DocStore& store,
                       const net::UserAgentParser& ua_parser, DocRoutesOptions options);

// Parses a single-range `Range: bytes=...` header. nullopt for "no range" and for forms sicher
// serves whole (multiple ranges, other units, garbage): RFC 9110 lets a server ignore Range.
std::optional<docs::RangeSpec> ParseRangeHeader(std::string_view value);

}  // namespace sicher::api
