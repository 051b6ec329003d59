#pragma once
// HTTP routes of the audit log (docs/design/audit-log.md, CLAIMS C4 and C18):
//   GET /v1/accounts/{id}/audit-events           query, newest first, cursor pagination
//   GET /v1/accounts/{id}/audit-events/export    CSV or JSON Lines, streamed (chunked)
//   GET /v1/audit/checkpoint[?size=M]            the latest (or size M) signed checkpoint
//   GET /v1/audit/key                            the checkpoint verifier key
//   GET /v1/audit/proof?leaf=N[&size=M]          inclusion proof against a checkpoint
//   GET /v1/audit/consistency?from=A&to=B        consistency proof between two sizes
//
// Owners and admins read the account's events and its members' personal events (logins,
// sessions, 2FA); members read only their own personal events; anyone else gets 404. Reading
// or exporting is itself an event, committed before the answer. Checkpoints and the key are
// public (a witness needs no account); proofs need a session.

#include "sicher/api/router.h"
#include "sicher/audit/log.h"
#include "sicher/auth/service.h"
#include "sicher/store/store.h"

namespace sicher::api {

// Adds the routes. Everything passed must outlive `router`.
void RegisterAuditRoutes(Router& router, auth::AuthService& auth, audit::Log& log,
                         store::Store& store);

}  // namespace sicher::api
