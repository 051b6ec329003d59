// libFuzzer target: bytes -> the server's request-head parsing, body limit and net::Request
// construction (internal::ParseRequestBuffer, the code path a connection uses), then the
// server's response finishing. Built only with SICHER_BUILD_FUZZERS (clang):
//   cmake --preset fuzz && cmake --build build/fuzz --target fuzz_request_parser
//   build/fuzz/src/sicher/net/fuzz_request_parser -max_total_time=30

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sicher/net/client_ip.h"
#include "sicher/net/internal/http_codec.h"
#include "sicher/net/internal/responses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sicher::net;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Request request;
  const auto failure = internal::ParseRequestBuffer(
      bytes, /*max_header_bytes=*/16 * 1024,
      [](std::string_view method, std::string_view path) -> uint64_t {
        return method == "POST" && path.starts_with("/upload") ? 4096 : 1024;
      },
      &request,
      // Split the head into reads as a connection would (HeadReader), differently per input.
      /*read_chunk=*/size % 3 == 0 ? 0 : 1 + size % 5000);
  if (failure != internal::ReadFailure::kNone) return 0;
  // What the server does next with a parsed request.
  static const auto trusted = TrustedProxies::Parse({"10.0.0.0/8", "2001:db8::/32"});
  (void)ResolveClientIp("10.0.0.1", request.headers, *trusted);
  Response redirect =
      internal::RedirectToHttps(request.headers.Get("Host"), request.target, "localhost", 8443);
  Response response;
  response.body = request.body;
  for (const auto& f : request.headers.fields()) response.headers.Add(f.name, f.value);
  internal::AddSecurityHeaders(response, "max-age=63072000", "0123");
  std::string head;
  internal::AppendResponseHead(response, true, request.method == "HEAD", &head);
  auto message = internal::ToBeastResponse(std::move(response), true, request.method == "HEAD");
  (void)message;
  (void)redirect;
  return 0;
}
