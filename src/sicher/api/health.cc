#include "sicher/api/health.h"

#include <memory>
#include <mutex>

#include "sicher/api/json.h"
#include "sicher/api/problem.h"
#include "sicher/base/check.h"

namespace sicher::api {
namespace {

struct Readiness {
  bool ready = false;
  nlohmann::json checks;
};

class ReadinessProbe {
 public:
  explicit ReadinessProbe(HealthOptions options) : options_(std::move(options)) {}

  Readiness Check() {
    std::lock_guard lock(mu_);
    const MonoTime now = options_.clock->MonoNow();
    if (has_cached_ && now - cached_at_ < options_.cache_for) return cached_;
    Readiness r;
    r.ready = true;
    const Status db = options_.database_writable();
    r.checks["database"] = {{"status", db.ok() ? "ok" : "failing"}};
    if (!db.ok()) r.ready = false;
    const Result<uint64_t> free = options_.fs->AvailableBytes(options_.data_dir);
    const bool disk_ok = free.ok() && *free >= options_.min_free_bytes;
    r.checks["disk"] = {{"status", disk_ok ? "ok" : "failing"}};
    if (!disk_ok) r.ready = false;
    cached_ = r;
    cached_at_ = now;
    has_cached_ = true;
    return r;
  }

 private:
  HealthOptions options_;
  std::mutex mu_;
  bool has_cached_ = false;
  MonoTime cached_at_{};
  Readiness cached_;
};

}  // namespace

void RegisterHealthRoutes(Router& router, HealthOptions options, metrics::Registry& registry) {
  CHECK(options.database_writable && options.fs != nullptr && options.clock != nullptr);
  const RouteOptions inline_both{
      .max_body_bytes = 0, .blocking = false, .on_public = true, .on_operator = true};
  // Built once: liveness probes and the benchmark hit this on every request.
  const net::Response alive = JsonResponse(200, {{"status", "ok"}});
  router.Add("GET", "/livez", inline_both,
             [alive](net::Request&, const PathParams&) { return alive; });

  auto probe = std::make_shared<ReadinessProbe>(std::move(options));
  RouteOptions blocking_both = inline_both;
  blocking_both.blocking = true;
  router.Add("GET", "/readyz", blocking_both, [probe](net::Request&, const PathParams&) {
    const Readiness r = probe->Check();
    if (r.ready) return JsonResponse(200, {{"status", "ready"}, {"checks", r.checks}});
    net::Response resp = Problem(503, "not-ready", "Not ready", "a readiness check is failing");
    nlohmann::json body = nlohmann::json::parse(resp.body);
    body["checks"] = r.checks;
    resp.body = body.dump();
    resp.headers.Set("Retry-After", "5");
    return resp;
  });

  const RouteOptions operator_only{
      .max_body_bytes = 0, .blocking = false, .on_public = false, .on_operator = true};
  router.Add("GET", "/metrics", operator_only, [&registry](net::Request&, const PathParams&) {
    net::Response r;
    r.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = registry.RenderPrometheus();
    return r;
  });
}

}  // namespace sicher::api
