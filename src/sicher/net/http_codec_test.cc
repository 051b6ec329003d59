#include "sicher/net/internal/http_codec.h"

#include <gtest/gtest.h>

#include "sicher/net/internal/responses.h"

namespace sicher::net::internal {
namespace {

ReadFailure Parse(std::string_view bytes, Request* out, uint64_t body_limit = 1024,
                  size_t header_limit = 4096) {
  return ParseRequestBuffer(
      bytes, header_limit, [&](std::string_view, std::string_view) { return body_limit; }, out);
}

TEST(HttpCodecTest, ParsesARequest) {
  Request r;
  ASSERT_EQ(Parse("POST /v1/a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                  "X-Two: a\r\nX-Two: b\r\n\r\nhello",
                  &r),
            ReadFailure::kNone);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/a%20b/c?x=1&y=%2F");
  EXPECT_EQ(r.path, "/v1/a b/c");
  EXPECT_EQ(r.query, "x=1&y=%2F");
  EXPECT_EQ(r.headers.Get("host"), "h");
  EXPECT_EQ(r.headers.fields().size(), 4u);
  EXPECT_EQ(r.body, "hello");
}

TEST(HttpCodecTest, ChunkedBody) {
  Request r;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                  &r),
            ReadFailure::kNone);
  EXPECT_EQ(r.body, "abcde");
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "10\r\n0123456789abcdef\r\n0\r\n\r\n",
                  &r, /*body_limit=*/8),
            ReadFailure::kBodyTooLarge);
}

TEST(HttpCodecTest, Limits) {
  Request r;
  // Declared body over the route's limit: refused from the head alone.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", &r),
            ReadFailure::kBodyTooLarge);
  std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n";
  EXPECT_EQ(Parse(big, &r), ReadFailure::kHeaderTooLarge);
}

TEST(HttpCodecTest, BadRequests) {
  for (const char* bad : {
           "GET http://evil/ HTTP/1.1\r\n\r\n",        // absolute-form
           "GET * HTTP/1.1\r\n\r\n",                   // asterisk-form
           "GET /%zz HTTP/1.1\r\n\r\n",                // bad escape
           "GET /%00 HTTP/1.1\r\n\r\n",                // encoded NUL
           "GET / HTTP/2.0\r\n\r\n",                   // not HTTP/1.x
           "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",  // space in name
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "G\x01T / HTTP/1.1\r\n\r\n",
       }) {
    Request r;
    EXPECT_EQ(Parse(bad, &r), ReadFailure::kBadRequest) << bad;
  }
  Request r;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\n", &r), ReadFailure::kClosed);  // incomplete
}

TEST(HttpCodecTest, ResponseSerialisation) {
  Response resp;
  resp.status = 201;
  resp.body = "{}";
  resp.headers.Set("Content-Type", "application/json");
  auto msg = ToBeastResponse(std::move(resp), /*keep_alive=*/false, /*head_request=*/false);
  EXPECT_EQ(msg.result_int(), 201u);
  EXPECT_EQ(msg[beast_http::field::content_length], "2");
  EXPECT_EQ(msg[beast_http::field::connection], "close");
  EXPECT_EQ(msg.body(), "{}");

  Response head;
  head.body = "12345";
  auto head_msg = ToBeastResponse(std::move(head), true, /*head_request=*/true);
  EXPECT_EQ(head_msg[beast_http::field::content_length], "5");
  EXPECT_TRUE(head_msg.body().empty());

  Response none;
  none.status = 204;
  auto none_msg = ToBeastResponse(std::move(none), true, false);
  EXPECT_EQ(none_msg.count(beast_http::field::content_length), 0u);
}

TEST(ResponsesTest, SecurityHeaders) {
  Response r;
  r.headers.Set("Strict-Transport-Security", "max-age=0");  // a handler cannot weaken HSTS
  AddSecurityHeaders(r, "max-age=63072000", "abc");
  EXPECT_EQ(r.headers.Get("Strict-Transport-Security"), "max-age=63072000");
  EXPECT_EQ(r.headers.Get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.headers.Get("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r.headers.Get("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.headers.Get("Content-Security-Policy"), kDefaultCsp);
  EXPECT_EQ(r.headers.Get("Cache-Control"), "no-store");
  EXPECT_EQ(r.headers.Get("X-Request-Id"), "abc");
  EXPECT_EQ(r.headers.Get("Server"), "sicher");

  Response own;
  own.headers.Set("Content-Security-Policy", "default-src 'self'");
  own.headers.Set("Cache-Control", "max-age=60");
  AddSecurityHeaders(own, "max-age=1", "x");
  EXPECT_EQ(own.headers.Get("Content-Security-Policy"), "default-src 'self'");
  EXPECT_EQ(own.headers.Get("Cache-Control"), "max-age=60");
}

TEST(ResponsesTest, Problems) {
  Response r = HeaderTooLarge();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/problem+json");
  EXPECT_NE(r.body.find("\"type\":\"https://sicher.dev/problems/request-header-too-large\""),
            std::string::npos);
  EXPECT_NE(r.body.find("\"status\":431"), std::string::npos);
  EXPECT_EQ(Overloaded().headers.Get("Retry-After"), "1");
}

TEST(ResponsesTest, Redirects) {
  EXPECT_EQ(RedirectToHttps("example.com:8080", "/a?b=1", "fallback", 8443).headers.Get("Location"),
            "https://example.com:8443/a?b=1");
  EXPECT_EQ(RedirectToHttps("[::1]:80", "/", "fallback", 443).headers.Get("Location"),
            "https://[::1]:443/");
  for (const char* bad :
       {"", "evil.com/x", "a b", "x:y", "[::1", "[zz]", "..", "-a", "host:123456", "ex\r\nample"}) {
    EXPECT_EQ(RedirectToHttps(bad, "/p", "sicher.test", 8443).headers.Get("Location"),
              "https://sicher.test:8443/p")
        << bad;
  }
  EXPECT_EQ(RedirectToHttps("h", "//evil.com/", "f", 1).headers.Get("Location"), "https://h:1/");
  EXPECT_EQ(RedirectToHttps("h", "http://x/", "f", 1).headers.Get("Location"), "https://h:1/");
  EXPECT_EQ(RedirectToHttps("h", "/a\r\nb", "f", 1).headers.Get("Location"), "https://h:1/");
}

}  // namespace
}  // namespace sicher::net::internal
