#include "sicher/log/syslog_sink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "sicher/log/logger.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::log {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// 2026-01-01T00:00:00Z plus 123456 us.
const Time kTime = Time(std::chrono::seconds(1767225600)) + std::chrono::microseconds(123456);
constexpr char kTimeText[] = "2026-01-01T00:00:00.123456Z";

// ------------------------------------------------------------------ receivers on 127.0.0.1

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

uint16_t LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  return ntohs(a.sin_port);
}

bool Readable(int fd, milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

class UdpReceiver {
 public:
  UdpReceiver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    port_ = LocalPort(fd_);
  }
  ~UdpReceiver() { ::close(fd_); }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> Receive(milliseconds timeout = seconds(5)) {
    if (!Readable(fd_, timeout)) return std::nullopt;
    std::string buf(70000, '\0');
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  std::string Address() const { return "udp://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class TcpReceiver {
 public:
  // Listens on `port` (0: an ephemeral one).
  explicit TcpReceiver(uint16_t port = 0, int rcvbuf = 0) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rcvbuf > 0) ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a = Loopback(port);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0)
        << "bind: " << errno;
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    port_ = LocalPort(listen_fd_);
  }
  ~TcpReceiver() { Close(); }

  void Close() {
    if (conn_fd_ >= 0) ::close(conn_fd_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    conn_fd_ = listen_fd_ = -1;
  }
  bool Accept(milliseconds timeout = seconds(5)) {
    if (!Readable(listen_fd_, timeout)) return false;
    conn_fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_fd_ >= 0;
  }
  // One recv() of whatever has arrived; "" on timeout or close.
  std::string ReadOnce(milliseconds timeout = seconds(5)) {
    if (!Readable(conn_fd_, timeout)) return "";
    std::string buf(1 << 20, '\0');
    const ssize_t n = ::recv(conn_fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  // Reads until `count` complete octet-counted frames have arrived (or `timeout`); returns
  // the frames' MSG parts. A malformed frame fails the test.
  std::vector<std::string> ReadFrames(size_t count, milliseconds timeout = seconds(5)) {
    std::vector<std::string> out;
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      while (out.size() < count) {
        std::optional<std::string> frame = TakeFrame();
        if (!frame) break;
        out.push_back(*std::move(frame));
      }
      if (out.size() >= count) return out;
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return out;
      const std::string more = ReadOnce(left);
      if (more.empty()) return out;
      buffer_ += more;
    }
  }
  // Removes one "LEN SP MSG" frame from the front of `buffer_`, if whole.
  std::optional<std::string> TakeFrame() {
    const size_t sp = buffer_.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    const std::string len_text = buffer_.substr(0, sp);
    EXPECT_TRUE(std::regex_match(len_text, std::regex("[1-9][0-9]*"))) << "bad LEN " << len_text;
    const size_t len = std::stoul(len_text);
    if (buffer_.size() < sp + 1 + len) return std::nullopt;
    std::string msg = buffer_.substr(sp + 1, len);
    buffer_.erase(0, sp + 1 + len);
    return msg;
  }
  std::string& buffer() { return buffer_; }
  std::string Address() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  uint16_t port_ = 0;
  std::string buffer_;
};

// A TCP port on 127.0.0.1 where nothing listens.
uint16_t ClosedPort() {
  TcpReceiver r;
  return r.port();  // closed when `r` goes
}

// ------------------------------------------------------------------ parsing RFC 5424

struct Parsed {
  int pri = -1;
  std::string version, timestamp, hostname, app_name, procid, msgid, structured_data, msg;
};

// Parses one RFC 5424 message with the header grammar of section 6 (PRINTUSASCII fields of
// bounded length, TIMESTAMP as sicher writes it); fails the test if it does not match. The
// header is split by hand and each field matched on its own (std::regex recurses per character
// and would overflow the stack on a long MSG).
Parsed Parse(const std::string& message) {
  Parsed p;
  std::vector<std::string> fields;
  size_t pos = 0;
  for (int i = 0; i < 7; ++i) {
    const size_t sp = message.find(' ', pos);
    if (sp == std::string::npos) {
      ADD_FAILURE() << "fewer than 8 fields: " << message;
      return p;
    }
    fields.push_back(message.substr(pos, sp - pos));
    pos = sp + 1;
  }
  std::smatch m;
  static const std::regex kPriVersion("<([0-9]{1,3})>([1-9][0-9]{0,2})");
  static const std::regex kTimestamp(
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z");
  if (!std::regex_match(fields[0], m, kPriVersion)) {
    ADD_FAILURE() << "bad PRI/VERSION: " << fields[0];
    return p;
  }
  p.pri = std::stoi(m[1]);
  p.version = m[2];
  EXPECT_LE(p.pri, 191);
  EXPECT_TRUE(std::regex_match(fields[1], kTimestamp)) << "bad TIMESTAMP: " << fields[1];
  const size_t limits[] = {255, 48, 128, 32, 1 << 20};
  for (size_t i = 2; i < 7; ++i) {
    EXPECT_FALSE(fields[i].empty()) << "empty field " << i;
    EXPECT_LE(fields[i].size(), limits[i - 2]) << "field " << i << " too long";
    for (char c : fields[i]) {
      EXPECT_TRUE(c >= 33 && c <= 126) << "field " << i << " not PRINTUSASCII: " << fields[i];
    }
  }
  p.timestamp = fields[1];
  p.hostname = fields[2];
  p.app_name = fields[3];
  p.procid = fields[4];
  p.msgid = fields[5];
  p.structured_data = fields[6];
  p.msg = message.substr(pos);
  return p;
}

std::unique_ptr<SyslogSink> OpenSink(metrics::Registry& registry, const std::string& address,
                                     SyslogOptions options = {}) {
  Result<SyslogAddress> parsed = ParseSyslogAddress(address);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  options.address = *parsed;
  if (options.hostname.empty()) options.hostname = "test-host.example";
  if (options.procid == 0) options.procid = 4242;
  Result<std::unique_ptr<SyslogSink>> sink = SyslogSink::Open(registry, std::move(options));
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

std::string JsonLine(std::string_view action, size_t pad = 0) {
  return nlohmann::json({{"@timestamp", kTimeText},
                         {"event", {{"action", action}, {"outcome", "failure"}}},
                         {"message", std::string(pad, 'x')}})
      .dump();
}

// ------------------------------------------------------------------ parsers and format

TEST(SyslogAddressTest, ParsesUdpTcpAndIpv6) {
  ASSERT_OK_AND_ASSIGN(SyslogAddress udp, ParseSyslogAddress("udp://127.0.0.1:514"));
  EXPECT_EQ(udp.transport, SyslogTransport::kUdp);
  EXPECT_EQ(udp.host, "127.0.0.1");
  EXPECT_EQ(udp.port, 514);
  ASSERT_OK_AND_ASSIGN(SyslogAddress tcp, ParseSyslogAddress("tcp://logs.example.org:6514"));
  EXPECT_EQ(tcp.transport, SyslogTransport::kTcp);
  EXPECT_EQ(tcp.host, "logs.example.org");
  EXPECT_EQ(tcp.port, 6514);
  ASSERT_OK_AND_ASSIGN(SyslogAddress v6, ParseSyslogAddress("tcp://[::1]:601"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.ToString(), "tcp://[::1]:601");
}

TEST(SyslogAddressTest, RejectsMalformedAddresses) {
  for (const char* bad :
       {"", "127.0.0.1:514", "udp://", "udp://127.0.0.1", "udp://127.0.0.1:0",
        "udp://127.0.0.1:65536", "udp://:514", "tcp://::1:514", "tcp://[::1:514",
        "tls://127.0.0.1:6514", "http://127.0.0.1:514", "udp://host:51x", "udp://a b:514"}) {
    Result<SyslogAddress> r = ParseSyslogAddress(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(SyslogFacilityTest, NamesToCodes) {
  EXPECT_EQ(*ParseSyslogFacility("local0"), 16);
  EXPECT_EQ(*ParseSyslogFacility("local7"), 23);
  EXPECT_EQ(*ParseSyslogFacility("auth"), 4);
  EXPECT_EQ(*ParseSyslogFacility("authpriv"), 10);
  EXPECT_EQ(*ParseSyslogFacility("daemon"), 3);
  EXPECT_FALSE(ParseSyslogFacility("kern").ok());
  EXPECT_FALSE(ParseSyslogFacility("local8").ok());
  EXPECT_FALSE(ParseSyslogFacility("").ok());
}

TEST(SyslogCategoriesTest, ParsesListsAndRejectsUnknownNames) {
  ASSERT_OK_AND_ASSIGN(std::vector<Category> c, ParseCategoryList("security,audit,access"));
  EXPECT_EQ(c, (std::vector<Category>{Category::kSecurity, Category::kAudit, Category::kAccess}));
  ASSERT_OK_AND_ASSIGN(c, ParseCategoryList(" app , security,app,"));
  EXPECT_EQ(c, (std::vector<Category>{Category::kApp, Category::kSecurity}));
  EXPECT_FALSE(ParseCategoryList("").ok());
  EXPECT_FALSE(ParseCategoryList(" , ").ok());
  Result<std::vector<Category>> bad = ParseCategoryList("security,secruity");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("secruity"), std::string::npos);
}

TEST(SyslogSeverityTest, ByCategoryAndAppLevel) {
  EXPECT_EQ(SyslogSeverity(Category::kSecurity, Level::kInfo), 5);
  EXPECT_EQ(SyslogSeverity(Category::kAudit, Level::kInfo), 6);
  EXPECT_EQ(SyslogSeverity(Category::kAccess, Level::kInfo), 6);
  EXPECT_EQ(SyslogSeverity(Category::kAvailability, Level::kInfo), 6);
  EXPECT_EQ(SyslogSeverity(Category::kApp, Level::kDebug), 7);
  EXPECT_EQ(SyslogSeverity(Category::kApp, Level::kInfo), 6);
  EXPECT_EQ(SyslogSeverity(Category::kApp, Level::kWarn), 4);
  EXPECT_EQ(SyslogSeverity(Category::kApp, Level::kError), 3);
}

TEST(SyslogSinkTest, OpenRejectsBadOptions) {
  metrics::Registry registry;
  SyslogOptions o;
  o.address = *ParseSyslogAddress("udp://127.0.0.1:514");
  o.queue_limit = 0;
  EXPECT_FALSE(SyslogSink::Open(registry, o).ok());
  o.queue_limit = 1;
  o.max_message_bytes = 479;
  EXPECT_FALSE(SyslogSink::Open(registry, o).ok());
  o.max_message_bytes = 480;
  o.categories.clear();
  EXPECT_FALSE(SyslogSink::Open(registry, o).ok());
  o.categories = {Category::kSecurity};
  o.facility = 24;
  EXPECT_FALSE(SyslogSink::Open(registry, o).ok());
}

TEST(SyslogSinkTest, FormatsTheRfc5424HeaderExactly) {
  metrics::Registry registry;
  UdpReceiver receiver;  // the format does not depend on it; the sink just needs an address
  auto sink = OpenSink(registry, receiver.Address());
  ASSERT_NE(sink, nullptr);
  const std::string line = JsonLine("login");
  bool truncated = true;
  EXPECT_EQ(sink->Format(Category::kSecurity, Level::kInfo, kTime, line, &truncated),
            "<133>1 2026-01-01T00:00:00.123456Z test-host.example sicher 4242 security - " + line);
  EXPECT_FALSE(truncated);
  // local0 (16) * 8 + info (6); app by level: warn (4), error (3).
  EXPECT_EQ(Parse(sink->Format(Category::kAudit, Level::kInfo, kTime, line, &truncated)).pri, 134);
  EXPECT_EQ(Parse(sink->Format(Category::kApp, Level::kWarn, kTime, line, &truncated)).pri, 132);
  EXPECT_EQ(Parse(sink->Format(Category::kApp, Level::kError, kTime, line, &truncated)).pri, 131);
  EXPECT_EQ(
      Parse(sink->Format(Category::kAvailability, Level::kInfo, kTime, line, &truncated)).msgid,
      "availability");
}

TEST(SyslogSinkTest, HeaderFieldsArePrintableAsciiWithinRfcLengths) {
  metrics::Registry registry;
  UdpReceiver receiver;
  SyslogOptions o;
  o.hostname = "bad host\x01\xc3\xa9" + std::string(300, 'h');
  o.app_name = std::string(60, 'a');
  o.facility = 4;  // auth
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  bool truncated = false;
  const Parsed p =
      Parse(sink->Format(Category::kSecurity, Level::kInfo, kTime, JsonLine("x"), &truncated));
  EXPECT_EQ(p.pri, 4 * 8 + 5);
  EXPECT_EQ(p.hostname.size(), 255u);
  EXPECT_EQ(p.hostname.substr(0, 12), "bad_host___h");  // space, \x01 and both bytes of é
  EXPECT_EQ(p.app_name, std::string(48, 'a'));
}

TEST(SyslogSinkTest, DefaultHostnameAndProcIdComeFromTheSystem) {
  metrics::Registry registry;
  UdpReceiver receiver;
  SyslogOptions o;
  o.address = *ParseSyslogAddress(receiver.Address());
  ASSERT_OK_AND_ASSIGN(auto sink, SyslogSink::Open(registry, o));
  bool truncated = false;
  const Parsed p =
      Parse(sink->Format(Category::kSecurity, Level::kInfo, kTime, JsonLine("x"), &truncated));
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(p.hostname, std::string(host));
  EXPECT_EQ(p.procid, std::to_string(::getpid()));
}

TEST(SyslogSinkTest, LongMessagesAreCutAtAUtf8BoundaryAndCounted) {
  metrics::Registry registry;
  UdpReceiver receiver;
  SyslogOptions o;
  o.max_message_bytes = 480;
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  std::string line = "{\"message\":\"";
  for (int i = 0; i < 400; ++i) line += "\xc3\xa9";  // é, two bytes each
  line += "\"}";
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, line));
  std::optional<std::string> got = receiver.Receive();
  ASSERT_TRUE(got.has_value());
  EXPECT_LE(got->size(), 480u);
  EXPECT_GE(got->size(), 479u);
  const Parsed p = Parse(*got);
  EXPECT_EQ(line.rfind(p.msg, 0), 0u) << "MSG must be a prefix of the line";
  // Never ends inside a two-byte sequence: the prefix after the opening has even length.
  EXPECT_EQ((p.msg.size() - std::string("{\"message\":\"").size()) % 2, 0u);
  EXPECT_EQ(sink->truncated(), 1u);
  EXPECT_NE(registry.RenderPrometheus().find("sicher_syslog_truncated_total 1"), std::string::npos);
}

// ------------------------------------------------------------------ UDP

TEST(SyslogSinkTest, UdpSendsOneRfc5424MessagePerDatagram) {
  metrics::Registry registry;
  UdpReceiver receiver;
  auto sink = OpenSink(registry, receiver.Address());
  ASSERT_NE(sink, nullptr);
  const std::string security = JsonLine("login");
  const std::string audit = JsonLine("operator.request");
  const std::string access = JsonLine("http-request");
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, security));
  // Not among the default categories: ignored, not counted.
  ASSERT_TRUE(sink->Send(Category::kApp, Level::kError, kTime, JsonLine("app")));
  ASSERT_TRUE(sink->Send(Category::kAvailability, Level::kInfo, kTime, JsonLine("avail")));
  ASSERT_TRUE(sink->Send(Category::kAudit, Level::kInfo, kTime, audit));
  ASSERT_TRUE(sink->Send(Category::kAccess, Level::kInfo, kTime, access));

  struct Expected {
    int pri;
    const char* msgid;
    const std::string* msg;
  };
  for (const Expected& e : {Expected{133, "security", &security}, Expected{134, "audit", &audit},
                            Expected{134, "access", &access}}) {
    std::optional<std::string> got = receiver.Receive();
    ASSERT_TRUE(got.has_value()) << "no datagram for " << e.msgid;
    const Parsed p = Parse(*got);
    EXPECT_EQ(p.pri, e.pri);
    EXPECT_EQ(p.version, "1");
    EXPECT_EQ(p.timestamp, kTimeText);
    EXPECT_EQ(p.hostname, "test-host.example");
    EXPECT_EQ(p.app_name, "sicher");
    EXPECT_EQ(p.procid, "4242");
    EXPECT_EQ(p.msgid, e.msgid);
    EXPECT_EQ(p.structured_data, "-");
    EXPECT_EQ(p.msg, *e.msg);  // no BOM, no newline, the JSON line as is
    EXPECT_EQ(nlohmann::json::parse(p.msg)["event"]["action"],
              nlohmann::json::parse(*e.msg)["event"]["action"]);
  }
  EXPECT_FALSE(receiver.Receive(milliseconds(200)).has_value()) << "app/availability were sent";
  ASSERT_TRUE(sink->WaitUntilIdle(seconds(5)));
  EXPECT_EQ(sink->sent(), 3u);
  EXPECT_EQ(sink->dropped(), 0u);
  EXPECT_NE(registry.RenderPrometheus().find("sicher_syslog_sent_total 3"), std::string::npos);
}

// ------------------------------------------------------------------ TCP

TEST(SyslogSinkTest, TcpFramesMessagesWithOctetCounting) {
  metrics::Registry registry;
  TcpReceiver receiver;
  SyslogOptions o;
  o.categories = {Category::kSecurity, Category::kApp};
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(receiver.Accept());

  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) lines.push_back(JsonLine("login-" + std::to_string(i), i * 100));
  lines.push_back("{\"message\":\"text with spaces, \\\"quotes\\\" and \xc3\xa9\"}");
  for (const std::string& l : lines)
    ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, l));
  ASSERT_TRUE(sink->Send(Category::kApp, Level::kWarn, kTime, JsonLine("warned")));
  ASSERT_TRUE(sink->WaitUntilIdle(seconds(5)));

  // Everything was written before this read: several frames arrive in one recv().
  receiver.buffer() = receiver.ReadOnce();
  const std::string first_read = receiver.buffer();
  std::vector<std::string> frames = receiver.ReadFrames(lines.size() + 1);
  ASSERT_EQ(frames.size(), lines.size() + 1) << "first read: " << first_read;
  size_t frames_in_first_read = 0;
  for (size_t pos = 0, i = 0; i < frames.size(); ++i) {
    const std::string frame = std::to_string(frames[i].size()) + " " + frames[i];
    if (first_read.compare(pos, frame.size(), frame) != 0) break;
    pos += frame.size();
    ++frames_in_first_read;
  }
  EXPECT_GE(frames_in_first_read, 2u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const Parsed p = Parse(frames[i]);
    EXPECT_EQ(p.pri, 133);
    EXPECT_EQ(p.timestamp, kTimeText);
    EXPECT_EQ(p.hostname, "test-host.example");
    EXPECT_EQ(p.app_name, "sicher");
    EXPECT_EQ(p.procid, "4242");
    EXPECT_EQ(p.msgid, "security");
    EXPECT_EQ(p.structured_data, "-");
    EXPECT_EQ(p.msg, lines[i]);
  }
  const Parsed app = Parse(frames.back());
  EXPECT_EQ(app.pri, 16 * 8 + 4);
  EXPECT_EQ(app.msgid, "app");
  EXPECT_EQ(sink->sent(), lines.size() + 1);
  EXPECT_TRUE(receiver.buffer().empty()) << "trailing bytes after the last frame";
}

TEST(SyslogSinkTest, TcpCarriesLargeMessagesWhole) {
  metrics::Registry registry;
  TcpReceiver receiver;
  SyslogOptions o;
  o.max_message_bytes = 64 * 1024;
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(receiver.Accept());
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back(JsonLine("big", 30000 + i));
  for (const std::string& l : lines)
    ASSERT_TRUE(sink->Send(Category::kAudit, Level::kInfo, kTime, l));
  std::vector<std::string> frames = receiver.ReadFrames(lines.size());
  ASSERT_EQ(frames.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Parse(frames[i]).msg, lines[i]);
  EXPECT_EQ(sink->truncated(), 0u);
}

TEST(SyslogSinkTest, AbsentTcpReceiverNeverBlocksAndCountsEveryDrop) {
  metrics::Registry registry;
  SyslogOptions o;
  o.queue_limit = 10;
  o.min_backoff = milliseconds(20);
  std::string reports;
  std::mutex reports_mu;
  o.report = [&](std::string_view line) {
    std::lock_guard lock(reports_mu);
    reports += std::string(line) + "\n";
  };
  auto sink = OpenSink(registry, "tcp://127.0.0.1:" + std::to_string(ClosedPort()), o);
  ASSERT_NE(sink, nullptr);

  const std::string line = JsonLine("login");
  const auto start = SteadyClock::now();
  int accepted = 0;
  for (int i = 0; i < 1000; ++i)
    accepted += sink->Send(Category::kSecurity, Level::kInfo, kTime, line);
  EXPECT_LT(SteadyClock::now() - start, seconds(1));
  // With no connection nothing leaves the queue: exactly queue_limit wait, the rest dropped.
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(sink->queued(), 10u);
  EXPECT_EQ(sink->dropped(), 990u);
  EXPECT_EQ(sink->sent(), 0u);
  EXPECT_NE(registry.RenderPrometheus().find("sicher_syslog_dropped_total 990"), std::string::npos);

  // Destruction does not wait for a receiver that is not there; the queued ten are dropped.
  metrics::Counter& dropped = registry.GetCounter("sicher_syslog_dropped_total", "");
  const auto destroy_start = SteadyClock::now();
  sink.reset();
  EXPECT_LT(SteadyClock::now() - destroy_start, seconds(1));
  EXPECT_EQ(dropped.Value(), 1000u);
  std::lock_guard lock(reports_mu);
  EXPECT_NE(reports.find("syslog: cannot deliver to tcp://127.0.0.1:"), std::string::npos)
      << reports;
}

TEST(SyslogSinkTest, SlowTcpReceiverNeverBlocksSend) {
  metrics::Registry registry;
  TcpReceiver receiver(0, /*rcvbuf=*/4096);  // accepts, never reads
  SyslogOptions o;
  o.queue_limit = 10;
  o.max_message_bytes = 60 * 1024;
  o.write_timeout = milliseconds(200);
  o.drain_timeout = milliseconds(300);
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(receiver.Accept());

  const std::string line = JsonLine("big", 50000);
  const auto start = SteadyClock::now();
  int accepted = 0;
  for (int i = 0; i < 1000; ++i)
    accepted += sink->Send(Category::kAccess, Level::kInfo, kTime, line);
  EXPECT_LT(SteadyClock::now() - start, seconds(1));
  EXPECT_GE(sink->dropped(), static_cast<uint64_t>(1000 - accepted));

  const auto destroy_start = SteadyClock::now();
  const metrics::Counter& sent = registry.GetCounter("sicher_syslog_sent_total", "");
  const metrics::Counter& dropped = registry.GetCounter("sicher_syslog_dropped_total", "");
  sink.reset();
  EXPECT_LT(SteadyClock::now() - destroy_start, seconds(2));
  // Every message is accounted for exactly once.
  EXPECT_EQ(sent.Value() + dropped.Value(), 1000u);
  EXPECT_GT(dropped.Value(), 0u);
}

TEST(SyslogSinkTest, ReconnectsAfterTheReceiverRestarts) {
  metrics::Registry registry;
  auto receiver = std::make_unique<TcpReceiver>();
  const uint16_t port = receiver->port();
  SyslogOptions o;
  o.min_backoff = milliseconds(20);
  o.max_backoff = milliseconds(100);
  std::vector<std::string> reports;
  std::mutex reports_mu;
  o.report = [&](std::string_view line) {
    std::lock_guard lock(reports_mu);
    reports.emplace_back(line);
  };
  auto sink = OpenSink(registry, receiver->Address(), o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(receiver->Accept());
  const std::string a = JsonLine("a"), b = JsonLine("b"), c = JsonLine("c"), d = JsonLine("d");
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, a));
  std::vector<std::string> got = receiver->ReadFrames(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Parse(got[0]).msg, a);

  // The receiver goes away; a line logged meanwhile waits in the queue.
  receiver.reset();
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, b));
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(sink->queued(), 1u);

  // It comes back on the same port: the waiting line and later ones arrive.
  receiver = std::make_unique<TcpReceiver>(port);
  ASSERT_EQ(receiver->port(), port);
  ASSERT_TRUE(receiver->Accept(seconds(5)));
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, c));
  got = receiver->ReadFrames(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Parse(got[0]).msg, b);
  EXPECT_EQ(Parse(got[1]).msg, c);

  // And once more, restarted while idle: the closed connection is noticed before writing.
  receiver.reset();
  receiver = std::make_unique<TcpReceiver>(port);
  ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, d));
  ASSERT_TRUE(receiver->Accept(seconds(5)));
  got = receiver->ReadFrames(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Parse(got[0]).msg, d);
  EXPECT_EQ(sink->sent(), 4u);
  EXPECT_EQ(sink->dropped(), 0u);
  std::lock_guard lock(reports_mu);
  ASSERT_GE(reports.size(), 2u);
  EXPECT_NE(reports[0].find("cannot deliver"), std::string::npos) << reports[0];
  EXPECT_NE(reports[1].find("delivering to tcp://127.0.0.1:" + std::to_string(port) + " again"),
            std::string::npos)
      << reports[1];
}

TEST(SyslogSinkTest, DestructionDrainsWhatIsQueued) {
  metrics::Registry registry;
  TcpReceiver receiver;
  auto sink = OpenSink(registry, receiver.Address());
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(receiver.Accept());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(sink->Send(Category::kSecurity, Level::kInfo, kTime, JsonLine("x")));
  }
  sink.reset();
  EXPECT_EQ(receiver.ReadFrames(200).size(), 200u);
}

// ------------------------------------------------------------------ through the Logger

class SyslogLoggerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Logger> OpenLogger() {
    auto logger = Logger::Open(
        env_, {.dir = "/logs", .stderr_stream = nullptr, .flush_interval = milliseconds(0)});
    EXPECT_TRUE(logger.ok());
    return logger.ok() ? std::move(logger).value() : nullptr;
  }

  testing::FakeClock clock_{kTime};
  testing::SeededRandom random_;
  testing::MemFileSystem fs_{clock_};
  Env env_{clock_, fs_, random_};
};

TEST_F(SyslogLoggerTest, LoggerForwardsEachLineAsWritten) {
  metrics::Registry registry;
  UdpReceiver receiver;
  SyslogOptions o;
  o.categories = {Category::kSecurity, Category::kAccess, Category::kApp};
  auto sink = OpenSink(registry, receiver.Address(), o);
  ASSERT_NE(sink, nullptr);
  auto logger = OpenLogger();
  ASSERT_NE(logger, nullptr);
  logger->SetForwarder(sink.get());

  logger->Write(Category::kSecurity, {{"event", {{"action", "login"}, {"outcome", "failure"}}}});
  logger->Write(Category::kAudit, {{"event", {{"action", "not-forwarded"}}}});
  logger->App(Level::kError, "disk trouble");
  logger->WriteAccess({.method = "GET",
                       .path = "/livez",
                       .status = 200,
                       .duration_ns = 1000,
                       .client_ip = "192.0.2.1",
                       .user_agent = "test",
                       .request_id = "req-1",
                       .listener = "public",
                       .route = "/livez",
                       .bytes_sent = 0});
  ASSERT_OK(logger->Flush());

  const Parsed security = Parse(receiver.Receive().value_or(""));
  EXPECT_EQ(security.pri, 133);
  EXPECT_EQ(security.msgid, "security");
  EXPECT_EQ(security.timestamp, kTimeText);
  ASSERT_OK_AND_ASSIGN(std::string file, fs_.ReadFile(logger->PathOf(Category::kSecurity)));
  EXPECT_EQ(security.msg + "\n", file);  // the very line in security.log
  EXPECT_EQ(nlohmann::json::parse(security.msg)["event"]["action"], "login");

  const Parsed app = Parse(receiver.Receive().value_or(""));
  EXPECT_EQ(app.pri, 16 * 8 + 3);  // log.level error
  EXPECT_EQ(app.msgid, "app");

  const Parsed access = Parse(receiver.Receive().value_or(""));
  EXPECT_EQ(access.pri, 134);
  EXPECT_EQ(access.msgid, "access");
  ASSERT_OK_AND_ASSIGN(file, fs_.ReadFile(logger->PathOf(Category::kAccess)));
  EXPECT_EQ(access.msg + "\n", file);

  // Detached: nothing more is sent.
  logger->SetForwarder(nullptr);
  logger->Write(Category::kSecurity, {{"event", {{"action", "after"}}}});
  EXPECT_FALSE(receiver.Receive(milliseconds(200)).has_value());
  EXPECT_EQ(sink->sent(), 3u);
}

class CountingForwarder final : public LineForwarder {
 public:
  void Forward(const LogLine& line) override {
    std::lock_guard lock(mu_);
    lines_.push_back({line.category, line.level, line.time, std::string(line.text)});
  }
  struct Copy {
    Category category;
    Level level;
    Time time;
    std::string text;
  };
  std::vector<Copy> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<Copy> lines_;
};

TEST_F(SyslogLoggerTest, ForwarderSeesEveryCategoryWithLevelAndTime) {
  CountingForwarder forwarder;
  auto logger = OpenLogger();
  ASSERT_NE(logger, nullptr);
  logger->Write(Category::kSecurity, {{"message", "before"}});
  logger->SetForwarder(&forwarder);
  for (Category c : kAllCategories) logger->Write(c, {{"message", "x"}});
  logger->App(Level::kWarn, "careful");
  const auto lines = forwarder.lines();
  ASSERT_EQ(lines.size(), kAllCategories.size() + 1);
  for (size_t i = 0; i < kAllCategories.size(); ++i) {
    EXPECT_EQ(lines[i].category, kAllCategories[i]);
    EXPECT_EQ(lines[i].level, Level::kInfo);
    EXPECT_EQ(lines[i].time, kTime);
  }
  EXPECT_EQ(lines.back().category, Category::kApp);
  EXPECT_EQ(lines.back().level, Level::kWarn);
  logger->SetForwarder(nullptr);
}

TEST_F(SyslogLoggerTest, ForwardedTimeIsTheCallersTimestamp) {
  CountingForwarder forwarder;
  auto logger = OpenLogger();
  ASSERT_NE(logger, nullptr);
  logger->SetForwarder(&forwarder);
  logger->Write(Category::kAudit, {{"@timestamp", "2025-06-01T12:00:00.5+02:00"}});
  logger->Write(Category::kAudit, {{"@timestamp", "not a time"}});
  const auto lines = forwarder.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(FormatRfc3339(lines[0].time), "2025-06-01T10:00:00.500000Z");
  EXPECT_EQ(lines[1].time, kTime);  // unparseable: when the Logger wrote it
  logger->SetForwarder(nullptr);
}

TEST_F(SyslogLoggerTest, SetForwarderIsSafeWhileOtherThreadsLog) {
  CountingForwarder forwarder;
  auto logger = OpenLogger();
  ASSERT_NE(logger, nullptr);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&] {
      while (!stop.load()) logger->Write(Category::kSecurity, {{"message", "x"}});
    });
  }
  for (int i = 0; i < 50; ++i) {
    logger->SetForwarder(&forwarder);
    logger->SetForwarder(nullptr);
  }
  const size_t seen = forwarder.lines().size();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(forwarder.lines().size(), seen) << "forwarded after SetForwarder(nullptr) returned";
  stop = true;
  for (auto& w : writers) w.join();
}

}  // namespace
}  // namespace sicher::log
