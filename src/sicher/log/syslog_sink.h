#pragma once
// SyslogSink: an optional copy of chosen log categories, sent to a syslog receiver as RFC 5424
// messages over UDP (RFC 5426) or TCP (RFC 6587 octet counting). The JSON Lines files stay the
// record; syslog is a best-effort second copy (for a SIEM, a central log host) and never slows or
// blocks the code that logs.
//
// Message (RFC 5424 section 6), one per log line:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//   PRI        facility * 8 + severity; severity from the category: security 5 (notice),
//              audit, access, availability 6 (info), app by the line's log.level (debug 7,
//              info 6, warn 4, error 3).
//   TIMESTAMP  the line's @timestamp (LogLine::time), RFC 3339 UTC with microseconds:
//              2026-01-01T00:00:00.000000Z.
//   HOSTNAME   options.hostname or gethostname(); APP-NAME "sicher"; PROCID the process id;
//   MSGID      the category name ("security"). Header fields are printable US-ASCII (33..126;
//              anything else becomes '_') cut to the RFC's lengths (255, 48, 128, 32); an empty
//              one is "-".
//   STRUCTURED-DATA "-" (the JSON carries every field).
//   MSG        the JSON line exactly as in the file, UTF-8 (the Logger replaces invalid UTF-8),
//              without a BOM: RFC 5424 6.4 makes the BOM optional, and common receivers keep
//              it as part of the text, which breaks JSON parsing downstream.
// A message longer than max_message_bytes (header included) has its MSG cut at a UTF-8
// boundary (then no longer valid JSON) and is counted in sicher_syslog_truncated_total.
//
// Transport: UDP sends one message per datagram (RFC 5426). TCP frames each message as
// "LEN SP MSG" (RFC 6587 3.4.1, octet counting; no newline). TLS (RFC 5425) is not supported:
// send to a local relay (rsyslog, syslog-ng, vector) that forwards over TLS, or keep the
// receiver on a trusted network.
//
// Never blocks the caller: Send() formats the message and appends it to a bounded queue
// (queue_limit messages) under a short mutex; one background thread drains it. A message that
// finds the queue full, that a failed or timed-out write loses, or that is still queued when
// the drain time at destruction runs out is dropped and counted in
// sicher_syslog_dropped_total; written messages count in sicher_syslog_sent_total ("sent"
// means handed to the kernel: UDP datagrams to an absent receiver, and the bytes written to a
// TCP connection the receiver has just dropped, are lost without an error).
// While the TCP connection is down, messages wait in the queue (up to queue_limit) and are
// sent after the reconnect. Connecting (name lookup aside: getaddrinfo is not bounded; use an
// IP address or a local resolver) is bounded by connect_timeout, each batch write by
// write_timeout; after a failure the thread waits min_backoff, doubling up to max_backoff,
// before it tries again. The first failure, and the recovery, are reported through `report`.
// Before each write the thread checks whether the receiver has closed the TCP connection and
// reconnects first, so a restarted receiver loses no message that was queued after it closed.
//
// Memory: at most queue_limit messages of at most max_message_bytes each, plus one batch.
//
// Thread-safe: Send() and Forward() may be called from any thread. Borrows `registry`, which
// must outlive the sink. Destruction sends what is queued for at most drain_timeout if a
// connection is up (dropping the rest; with no connection it drops the queue at once), then
// joins the thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sicher/base/clock.h"
#include "sicher/base/metrics.h"
#include "sicher/base/status.h"
#include "sicher/log/logger.h"

namespace sicher::log {

enum class SyslogTransport { kUdp, kTcp };

struct SyslogAddress {
  SyslogTransport transport = SyslogTransport::kUdp;
  std::string host;  // IPv4 literal, IPv6 literal without brackets, or a DNS name
  uint16_t port = 0;

  // "udp://127.0.0.1:514", "tcp://[::1]:6514".
  std::string ToString() const;
};

// Parses "udp://HOST:PORT" or "tcp://HOST:PORT" (HOST: IPv4, [IPv6] or a name; PORT 1..65535).
// InvalidArgument, saying what is expected, otherwise.
Result<SyslogAddress> ParseSyslogAddress(std::string_view text);

// The facility code of a name: user 1, mail 2, daemon 3, auth 4, syslog 5, lpr 6, news 7,
// uucp 8, cron 9, authpriv 10, ftp 11, local0..local7 16..23. InvalidArgument otherwise (kern
// is refused: it belongs to the kernel).
Result<int> ParseSyslogFacility(std::string_view name);

// "security,audit,access" (commas, optional spaces; at least one name; repeats ignored) ->
// categories. InvalidArgument names the unknown entry.
Result<std::vector<Category>> ParseCategoryList(std::string_view text);

// The RFC 5424 severity of a line: see the table at the top. `level` matters for kApp only.
int SyslogSeverity(Category category, Level level);

struct SyslogOptions {
  SyslogAddress address;
  int facility = 16;  // local0
  std::vector<Category> categories = {Category::kSecurity, Category::kAudit, Category::kAccess};
  size_t queue_limit = 10000;       // messages; at least 1
  size_t max_message_bytes = 2048;  // header + MSG; at least 480 (RFC 5426's minimum)
  std::string hostname;             // "": gethostname()
  std::string app_name = "sicher";
  int64_t procid = 0;  // 0: getpid()
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds drain_timeout{1000};
  // Receives one human-readable line about a failure or a recovery (no newline), on the
  // background thread. nullptr: none. It may call Logger::App (not under any sink lock).
  std::function<void(std::string_view)> report;
};

class SyslogSink final : public LineForwarder {
 public:
  // Checks the options (InvalidArgument for a queue_limit of 0, a max_message_bytes below 480,
  // a facility outside 0..23, no categories, an empty host or port 0) and starts the
  // background thread, which connects at once. A receiver that cannot be reached is not an
  // error here: it is reported and retried.
  static Result<std::unique_ptr<SyslogSink>> Open(metrics::Registry& registry,
                                                  SyslogOptions options);
  ~SyslogSink() override;
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  // Queues one line of `category` written at `time` (lines of other categories than
  // options.categories are ignored and not counted). Returns false if it was dropped because
  // the queue is full (or the sink is being destroyed). Never waits for I/O; `level` matters
  // for Category::kApp only.
  bool Send(Category category, Level level, Time time, std::string_view json_line);
  // LineForwarder: Send(line.category, line.level, line.time, line.text).
  void Forward(const LogLine& line) override;

  // The RFC 5424 message Send() would queue (without TCP framing), and whether MSG was cut.
  std::string Format(Category category, Level level, Time time, std::string_view json_line,
                     bool* truncated) const;

  // Waits until every queued message has been written or dropped; false on timeout. For tests
  // and orderly shutdown.
  bool WaitUntilIdle(std::chrono::milliseconds timeout);

  // Counters: sicher_syslog_{sent,dropped,truncated}_total in the registry (shared by every
  // sink of that registry).
  uint64_t sent() const { return sent_.Value(); }
  uint64_t dropped() const { return dropped_.Value(); }
  uint64_t truncated() const { return truncated_.Value(); }
  // Messages waiting in the queue now.
  size_t queued() const;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  SyslogSink(metrics::Registry& registry, SyslogOptions options);
  void Run();
  // Opens fd_ (TCP: connects) within connect_timeout. Returns the error.
  Status Connect();
  void Disconnect();
  // True if the receiver has closed (or reset) the TCP connection.
  bool PeerClosed() const;
  // Writes `batch`; counts each message as sent or dropped. Returns the first error (the
  // connection is then closed).
  Status WriteBatch(const std::vector<std::string>& batch);
  Status WriteAll(std::string_view data, SteadyTime deadline, size_t* written);
  // Waits for `events` on fd_ until `deadline` (cut short by the drain deadline once stopping).
  Status Poll(short events, SteadyTime deadline) const;
  SteadyTime Deadline(std::chrono::milliseconds timeout) const;
  void Failed(const Status& status);
  void Recovered();
  void Report(std::string_view line) const;

  const SyslogOptions options_;
  const std::string address_text_;
  std::string header_tail_;  // " HOSTNAME APP-NAME PROCID "
  uint32_t category_mask_ = 0;

  metrics::Counter& sent_;
  metrics::Counter& dropped_;
  metrics::Counter& truncated_;

  mutable std::mutex mu_;
  std::condition_variable cv_;     // queue changed, stop requested, or became idle
  std::deque<std::string> queue_;  // formatted messages, guarded by mu_
  size_t in_flight_ = 0;           // messages taken from queue_ but not yet counted
  bool stopping_ = false;          // guarded by mu_
  // Once stopping: the end of the drain time, as steady_clock ticks (written before
  // stop_flag_, read after it, so both are readable without mu_).
  std::atomic<int64_t> drain_deadline_{0};
  std::atomic<bool> stop_flag_{false};

  // Background thread only.
  int fd_ = -1;
  int last_errno_ = 0;    // of WriteAll's last failed send
  bool failing_ = false;  // the last connect or write failed; report once
  uint64_t dropped_at_failure_ = 0;
  std::thread thread_;
};

}  // namespace sicher::log
