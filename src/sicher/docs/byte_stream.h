#pragma once
// Streaming seams between the document store and whatever carries the bytes (an HTTP body, a
// file, a test generator). Independent of HTTP: the network layer adapts its request body to a
// ByteSource and its response to a ByteSink.
//
// Not thread-safe: one stream is used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::docs {

// A forward-only source of bytes. The store calls Read until it returns 0.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to out.size() bytes (out.size() > 0) and returns how many; 0 means the end of the
  // stream (and every later call also returns 0). May return fewer bytes than asked for at any
  // time. An error (a dropped connection, say) aborts the upload that reads it.
  virtual Result<size_t> Read(std::span<char> out) = 0;
};

// What a read is about to deliver, given to ByteSink::Start before the first body byte.
struct ContentInfo {
  std::string document_id;
  uint64_t version = 0;
  std::string etag;          // strong, quoted: "\"doc_...-v3\""
  std::string content_type;  // as uploaded
  uint64_t total_size = 0;   // the whole document's size
  // The bytes that follow: [first, first + length). For a full read first = 0 and length =
  // total_size.
  uint64_t first = 0;
  uint64_t length = 0;
  bool partial = false;     // a Range was requested and is satisfiable (HTTP 206)
  bool satisfiable = true;  // false: the Range cannot be served (HTTP 416), no body follows
};

// A forward-only destination for bytes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Called exactly once per successful lookup, before any Write (also for an empty body or an
  // unsatisfiable range). An error stops the read before any content is produced and is
  // returned by the read.
  virtual Status Start(const ContentInfo& info) { return OkStatus(); }
  // Receives the next bytes, all of them verified. An error (a client that went away) stops
  // the read and is returned by it.
  virtual Status Write(std::string_view bytes) = 0;
};

// A ByteSource over a string_view (borrowed; it must outlive the source). For tests and small
// in-memory bodies (the HTTP server's buffered body, until it streams).
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(std::span<char> out) override;

 private:
  std::string_view data_;
};

// A ByteSink that appends to a string. For tests and small documents.
class StringSink final : public ByteSink {
 public:
  Status Start(const ContentInfo& info) override {
    info_ = info;
    return OkStatus();
  }
  Status Write(std::string_view bytes) override {
    data_.append(bytes);
    return OkStatus();
  }
  const std::string& data() const { return data_; }
  const ContentInfo& info() const { return info_; }

 private:
  std::string data_;
  ContentInfo info_;
};

}  // namespace sicher::docs
