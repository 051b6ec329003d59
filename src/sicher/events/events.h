#pragma once
// The typed events published on the in-process Bus (bus.h). Plain values: copyable, no
// behaviour, no dependency beyond base. Add a new event here (or in the folder of the subsystem
// that owns it) when a second subsystem needs to react to something; extend these structs, do
// not rename their fields (log sinks and detection rules read them).
//
// None of these may carry secrets: no tokens, passwords, cookies, query strings or document
// content. `path` fields hold the URL path only, never the query.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sicher::events {

// One HTTP request was answered (or failed before an answer). Published by net/ once per request,
// after the response was written; the access log line is built from it.
struct RequestCompleted {
  std::string request_id;  // the X-Request-Id value
  std::string listener;    // "public", "operator" or "redirect"
  std::string method;      // "GET"
  std::string route;       // the router pattern, e.g. "/v1/documents/{id}"; "" if unmatched
  std::string path;        // the URL path without the query string
  int status = 0;          // HTTP status code sent
  std::chrono::nanoseconds duration{0};  // from the first byte read to the last byte written
  std::string client_ip;                 // after trusted-proxy resolution
  std::string user_agent;                // as sent (the access log truncates it)
  uint64_t bytes_sent = 0;               // response body bytes
};

// The server listens. Published once after every listener is bound.
struct ServerStarted {
  std::vector<std::string> addresses;  // URLs actually served, e.g. "https://127.0.0.1:8443/"
};

// Graceful shutdown began (SIGTERM): listeners are closing, in-flight requests are draining.
struct ServerStopping {};

// A certificate/key reload was attempted (SIGHUP or file modification). On failure the old
// certificate stays in use and `error` says why (never key material).
struct CertificateReloaded {
  std::string serial;       // hex serial number of the certificate now in use
  std::string fingerprint;  // SHA-256 fingerprint of the certificate now in use, hex
  bool ok = false;
  std::string error;
};

// The linked TLS library cannot offer something the configured profile's guideline names (for
// example a group OpenSSL 3.0 lacks). Published at start for each such item; the self-audit
// reports them.
struct TlsProfileGap {
  std::string profile;  // "modern", "intermediate" or "old"
  std::string item;     // e.g. "group X25519MLKEM768"
  std::string reason;   // e.g. "needs OpenSSL 3.5"
};

// A login attempt, a second-factor check, a logout or a session revocation, whatever its
// outcome (CLAIMS C3). Published after the durable row is committed, so every event seen on
// the bus is also in the login history.
struct LoginAttempted {
  std::string id;            // login event id ("lev_...")
  std::string realm;         // "user" or "operator"
  std::string principal_id;  // user or operator id; empty when the e-mail is unknown
  std::string outcome;       // "success" or "failure"
  std::string reason;        // "ok", "wrong_password", "unknown_user", "locked", ...
  std::string method;        // "password", "totp", "recovery_code", "session"
  std::string client_ip;
  std::string user_agent;   // truncated to 512 bytes
  std::string device_type;  // desktop, mobile, tablet, bot, other
  std::string os;
  std::string browser;
  std::string session_id;   // set when a session was created, ended or revoked
  bool new_device = false;  // first success from this device type + browser + OS
  std::string request_id;
};

// An owner's data-encryption key was destroyed (crypto-shredding, keys::DataKeys): every byte
// sealed under it is unreadable from now on. Published after the deletion is committed, once
// per key that existed. Audit-relevant.
struct DataKeyDestroyed {
  std::string owner_id;  // user, account or operator id
  std::string reason;    // why, e.g. "account_deleted"; an identifier, never personal data
};

// A document was uploaded, replaced, read (content or metadata), listed or deleted, a
// publishing link was created, revoked or used, or a read found the document damaged (issue 4,
// CLAIMS C8). Published by docs/ after the access record (document_events) is committed, so
// every event seen on the bus is also in the durable store. Carries ids, never titles,
// content types or content.
struct DocumentAccessed {
  std::string id;  // access record id ("dac_...")
  std::chrono::sys_time<std::chrono::microseconds> at{};
  std::string account_id;
  std::string document_id;  // empty for "document.list"
  uint64_t version = 0;     // the version read or written; 0 if none
  std::string action;       // "document.upload", "document.read", ... (docs/doc_store.h)
  std::string outcome;      // "success" or "failure"
  std::string reason;       // failure code ("too_large", "chunk_failed_authentication", ...)
  std::string actor_kind;   // "user", "link" or "system"
  std::string actor_id;     // user id, link id, or empty for the system
  std::string link_id;      // the link created, revoked or used
  std::string client_ip;
  std::string user_agent;   // truncated to 512 bytes
  std::string device_type;  // desktop, mobile, tablet, bot, other
  std::string request_id;
  uint64_t bytes = 0;  // content bytes uploaded or to be sent
};

}  // namespace sicher::events
