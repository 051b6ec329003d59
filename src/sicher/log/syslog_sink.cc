#include "sicher/log/syslog_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "sicher/base/bytes.h"

namespace sicher::log {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// RFC 5424 6.2 header field lengths.
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxAppName = 48;
constexpr size_t kMaxProcId = 128;
constexpr size_t kMaxMsgId = 32;
// RFC 5426 3.2: every IPv4 receiver accepts 480 octets.
constexpr size_t kMinMessageBytes = 480;
// The largest UDP payload over IPv4.
constexpr size_t kMaxDatagramBytes = 65507;
// One background-thread batch: at most this many messages or bytes.
constexpr size_t kBatchMessages = 256;
constexpr size_t kBatchBytes = 256 * 1024;
// Poll slices, so that a stop request shortens a wait without a wake-up descriptor.
constexpr milliseconds kPollSlice{50};

struct FacilityName {
  std::string_view name;
  int code;
};
constexpr std::array<FacilityName, 19> kFacilities = {{
    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10},
    {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19},
    {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
}};

// RFC 5424 PRINTUSASCII (33..126), at most `max` bytes; "-" (NILVALUE) if empty.
std::string HeaderField(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 33 && u <= 126) ? c : '_';
  }
  return out.empty() ? "-" : out;
}

std::string LocalHostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "";
  return std::string(buf.data());
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int64_t SteadyTicks(SteadyClock::time_point t) { return t.time_since_epoch().count(); }

}  // namespace

std::string SyslogAddress::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", transport == SyslogTransport::kTcp ? "tcp" : "udp",
                     v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Result<SyslogAddress> ParseSyslogAddress(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "\"{}\": {} (expected udp://HOST:PORT or tcp://HOST:PORT, e.g. udp://127.0.0.1:514)", text,
        why));
  };
  SyslogAddress out;
  std::string_view rest = text;
  if (rest.substr(0, 6) == "udp://") {
    out.transport = SyslogTransport::kUdp;
  } else if (rest.substr(0, 6) == "tcp://") {
    out.transport = SyslogTransport::kTcp;
  } else if (rest.substr(0, 6) == "tls://") {
    return bad("TLS is not supported; use a local relay that forwards over TLS");
  } else {
    return bad("unknown or missing scheme");
  }
  rest.remove_prefix(6);
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the IPv6 address");
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("missing :PORT");
    port = rest.substr(1);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("missing :PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("put an IPv6 address in brackets");
  }
  if (host.empty()) return bad("missing host");
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == '/' || c == '@' || c == '[' || c == ']') {
      return bad("the host holds a character that is not allowed");
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return bad("the port must be a number 1..65535");
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<int> ParseSyslogFacility(std::string_view name) {
  for (const FacilityName& f : kFacilities) {
    if (f.name == name) return f.code;
  }
  return InvalidArgumentError(fmt::format(
      "unknown syslog facility \"{}\" (expected local0..local7, user, daemon, auth, authpriv, "
      "syslog, mail, lpr, news, uucp, cron or ftp)",
      name));
}

Result<std::vector<Category>> ParseCategoryList(std::string_view text) {
  std::vector<Category> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    bool found = false;
    for (Category c : kAllCategories) {
      if (CategoryName(c) != item) continue;
      found = true;
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    if (!found) {
      return InvalidArgumentError(fmt::format(
          "unknown log category \"{}\" (expected security, audit, access, availability, app)",
          item));
    }
  }
  if (out.empty()) return InvalidArgumentError("lists no log category");
  return out;
}

int SyslogSeverity(Category category, Level level) {
  switch (category) {
    case Category::kSecurity:
      return 5;  // notice
    case Category::kAccess:
    case Category::kAudit:
    case Category::kAvailability:
      return 6;  // info
    case Category::kApp:
      switch (level) {
        case Level::kDebug:
          return 7;
        case Level::kInfo:
          return 6;
        case Level::kWarn:
          return 4;
        case Level::kError:
          return 3;
      }
  }
  return 6;
}

Result<std::unique_ptr<SyslogSink>> SyslogSink::Open(metrics::Registry& registry,
                                                     SyslogOptions options) {
  if (options.queue_limit == 0) return InvalidArgumentError("syslog queue limit must be >= 1");
  if (options.max_message_bytes < kMinMessageBytes) {
    return InvalidArgumentError(
        fmt::format("syslog max message size must be >= {} bytes", kMinMessageBytes));
  }
  if (options.facility < 0 || options.facility > 23) {
    return InvalidArgumentError("syslog facility must be 0..23");
  }
  if (options.categories.empty()) return InvalidArgumentError("no log category for syslog");
  if (options.address.host.empty() || options.address.port == 0) {
    return InvalidArgumentError("syslog address needs a host and a port");
  }
  if (options.address.transport == SyslogTransport::kUdp) {
    options.max_message_bytes = std::min(options.max_message_bytes, kMaxDatagramBytes);
  }
  if (options.hostname.empty()) options.hostname = LocalHostname();
  if (options.procid == 0) options.procid = ::getpid();
  return std::unique_ptr<SyslogSink>(new SyslogSink(registry, std::move(options)));
}

SyslogSink::SyslogSink(metrics::Registry& registry, SyslogOptions options)
    : options_(std::move(options)),
      address_text_(options_.address.ToString()),
      sent_(registry.GetCounter("sicher_syslog_sent_total",
                                "Log lines written to the syslog receiver.")),
      dropped_(registry.GetCounter(
          "sicher_syslog_dropped_total",
          "Log lines not delivered to the syslog receiver (queue full, receiver absent or slow, "
          "shutdown).")),
      truncated_(registry.GetCounter("sicher_syslog_truncated_total",
                                     "Syslog messages cut to log.syslog.max_message_bytes.")) {
  header_tail_ = " " + HeaderField(options_.hostname, kMaxHostname) + " " +
                 HeaderField(options_.app_name, kMaxAppName) + " " +
                 HeaderField(std::to_string(options_.procid), kMaxProcId) + " ";
  for (Category c : options_.categories) category_mask_ |= 1u << static_cast<unsigned>(c);
  thread_ = std::thread([this] { Run(); });
}

SyslogSink::~SyslogSink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    drain_deadline_.store(SteadyTicks(SteadyClock::now() + options_.drain_timeout),
                          std::memory_order_relaxed);
    stop_flag_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  thread_.join();
  Disconnect();
}

std::string SyslogSink::Format(Category category, Level level, Time time,
                               std::string_view json_line, bool* truncated) const {
  const int pri = options_.facility * 8 + SyslogSeverity(category, level);
  std::string out = fmt::format("<{}>1 {}", pri, FormatRfc3339(time));
  out += header_tail_;
  out += HeaderField(CategoryName(category), kMaxMsgId);
  out += " - ";
  const size_t room =
      options_.max_message_bytes > out.size() ? options_.max_message_bytes - out.size() : 0;
  *truncated = json_line.size() > room;
  out += TruncateUtf8(json_line, room);
  return out;
}

bool SyslogSink::Send(Category category, Level level, Time time, std::string_view json_line) {
  if ((category_mask_ & (1u << static_cast<unsigned>(category))) == 0) return true;
  bool truncated = false;
  std::string message = Format(category, level, time, json_line, &truncated);
  if (truncated) truncated_.Inc();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_limit || stopping_) {
      dropped_.Inc();
      return false;
    }
    queue_.push_back(std::move(message));
  }
  cv_.notify_all();
  return true;
}

void SyslogSink::Forward(const LogLine& line) {
  (void)Send(line.category, line.level, line.time, line.text);
}

size_t SyslogSink::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool SyslogSink::WaitUntilIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return queue_.empty() && in_flight_ == 0; });
}

void SyslogSink::Report(std::string_view line) const {
  if (options_.report) options_.report(line);
}

void SyslogSink::Failed(const Status& status) {
  if (failing_) return;
  failing_ = true;
  dropped_at_failure_ = dropped_.Value();
  Report(
      fmt::format("syslog: cannot deliver to {}: {}; retrying, messages wait in the queue "
                  "(up to {}) and are dropped beyond it",
                  address_text_, status.message(), options_.queue_limit));
}

void SyslogSink::Recovered() {
  if (!failing_) return;
  failing_ = false;
  Report(fmt::format("syslog: delivering to {} again; {} messages dropped meanwhile", address_text_,
                     dropped_.Value() - dropped_at_failure_));
}

SyslogSink::SteadyTime SyslogSink::Deadline(std::chrono::milliseconds timeout) const {
  SteadyTime deadline = SteadyClock::now() + timeout;
  if (stop_flag_.load(std::memory_order_acquire)) {
    deadline =
        std::min(deadline,
                 SteadyTime(SteadyTime::duration(drain_deadline_.load(std::memory_order_relaxed))));
  }
  return deadline;
}

Status SyslogSink::Poll(short events, SteadyTime deadline) const {
  for (;;) {
    if (stop_flag_.load(std::memory_order_acquire)) {
      deadline = std::min(
          deadline,
          SteadyTime(SteadyTime::duration(drain_deadline_.load(std::memory_order_relaxed))));
    }
    const SteadyTime now = SteadyClock::now();
    if (now >= deadline) return DeadlineExceededError("timed out");
    const auto slice = std::min<SteadyClock::duration>(deadline - now, kPollSlice);
    pollfd p{fd_, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::chrono::ceil<milliseconds>(slice).count()));
    if (n < 0 && errno != EINTR) return ErrnoError("poll", errno);
    if (n > 0) return OkStatus();  // ready, or an error the next call reports
  }
}

Status SyslogSink::Connect() {
  Disconnect();
  const bool tcp = options_.address.transport == SyslogTransport::kTcp;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.address.port);
  const int gai = ::getaddrinfo(options_.address.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    return UnavailableError(
        fmt::format("cannot resolve {}: {}", options_.address.host, ::gai_strerror(gai)));
  }
  const SteadyTime deadline = Deadline(options_.connect_timeout);
  Status last = UnavailableError("no address");
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd_ = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) {
      last = ErrnoError("socket", errno);
      continue;
    }
    if (tcp) {
      const int one = 1;
      (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (::connect(fd_, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (errno != EINPROGRESS) {
      last = ErrnoError("connect", errno);
      Disconnect();
      continue;
    }
    last = Poll(POLLOUT, deadline);
    if (last.ok()) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) break;
      last = ErrnoError("connect", err);
    } else if (last.code() == StatusCode::kDeadlineExceeded) {
      last = DeadlineExceededError(
          fmt::format("connect timed out after {} ms", options_.connect_timeout.count()));
    }
    Disconnect();
  }
  ::freeaddrinfo(found);
  return fd_ >= 0 ? OkStatus() : last;
}

void SyslogSink::Disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SyslogSink::PeerClosed() const {
  if (options_.address.transport != SyslogTransport::kTcp) return false;
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // orderly close
  if (n > 0) return false;  // a receiver should not send, but it is alive
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

Status SyslogSink::WriteAll(std::string_view data, SteadyTime deadline, size_t* written) {
  *written = 0;
  last_errno_ = 0;
  while (*written < data.size()) {
    const ssize_t n =
        ::send(fd_, data.data() + *written, data.size() - *written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      *written += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      last_errno_ = errno;
      return ErrnoError("send", last_errno_);
    }
    if (Status s = Poll(POLLOUT, deadline); !s.ok()) {
      if (s.code() == StatusCode::kDeadlineExceeded) {
        return DeadlineExceededError(fmt::format("write timed out after {} ms (receiver slow)",
                                                 options_.write_timeout.count()));
      }
      return s;
    }
  }
  return OkStatus();
}

Status SyslogSink::WriteBatch(const std::vector<std::string>& batch) {
  const SteadyTime deadline = Deadline(options_.write_timeout);
  if (options_.address.transport == SyslogTransport::kUdp) {
    Status first;
    for (const std::string& message : batch) {
      size_t written = 0;
      Status s = WriteAll(message, deadline, &written);
      // A refusal (ICMP port unreachable) reported now was for an earlier datagram; this one
      // was not sent yet. UDP gives no other delivery feedback.
      if (!s.ok() && last_errno_ == ECONNREFUSED) s = WriteAll(message, deadline, &written);
      if (s.ok()) {
        sent_.Inc();
      } else {
        dropped_.Inc();
        if (first.ok()) first = s;
      }
    }
    return first;
  }
  // TCP: RFC 6587 octet counting, "LEN SP MSG" per message, all in one write.
  std::string data;
  std::vector<size_t> ends;  // offset just past each frame
  ends.reserve(batch.size());
  for (const std::string& message : batch) {
    fmt::format_to(std::back_inserter(data), "{} ", message.size());
    data += message;
    ends.push_back(data.size());
  }
  size_t written = 0;
  const Status s = WriteAll(data, deadline, &written);
  const auto complete =
      static_cast<uint64_t>(std::upper_bound(ends.begin(), ends.end(), written) - ends.begin());
  sent_.Inc(complete);
  dropped_.Inc(batch.size() - complete);
  return s;
}

void SyslogSink::Run() {
  const auto min_backoff = static_cast<uint64_t>(options_.min_backoff.count());
  const auto max_backoff = static_cast<uint64_t>(options_.max_backoff.count());
  uint64_t backoff_ms = min_backoff;
  // Waits out the backoff (false if a stop request ends the wait) and doubles it.
  const auto back_off = [&]() -> bool {
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, milliseconds(backoff_ms), [this] { return stopping_; })) return false;
    backoff_ms = std::min(backoff_ms * 2, max_backoff);
    return true;
  };
  // Whether the current connection has taken a batch: a receiver that accepts and then closes
  // at once is retried with backoff, not in a busy loop.
  bool delivered = false;
  for (;;) {
    if (fd_ < 0) {
      if (stop_flag_.load(std::memory_order_acquire) && failing_) break;  // no retries now
      {
        std::unique_lock lock(mu_);
        if (stopping_ && queue_.empty()) break;
      }
      if (Status s = Connect(); !s.ok()) {
        Failed(s);
        if (!back_off()) break;
        continue;
      }
      delivered = false;
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything went out
      if (stopping_ &&
          SteadyTicks(SteadyClock::now()) >= drain_deadline_.load(std::memory_order_relaxed)) {
        break;
      }
    }
    if (PeerClosed()) {  // reconnect rather than write into a connection that is gone
      Disconnect();
      if (!delivered && !back_off()) break;
      continue;
    }
    std::vector<std::string> batch;
    {
      std::lock_guard lock(mu_);
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < kBatchMessages && bytes < kBatchBytes) {
        bytes += queue_.front().size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
    }
    const Status s = WriteBatch(batch);
    {
      std::lock_guard lock(mu_);
      in_flight_ = 0;
    }
    cv_.notify_all();  // WaitUntilIdle
    if (s.ok()) {
      delivered = true;
      backoff_ms = min_backoff;
      Recovered();
      continue;
    }
    Failed(s);
    if (options_.address.transport == SyslogTransport::kTcp) {
      Disconnect();
      if (!delivered && !back_off()) break;
    }
  }
  // Stopping: whatever is still queued is lost.
  {
    std::lock_guard lock(mu_);
    dropped_.Inc(queue_.size());
    queue_.clear();
  }
  cv_.notify_all();
}

}  // namespace sicher::log
