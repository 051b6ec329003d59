#pragma once
// Health and metrics endpoints:
//   GET /livez    public + operator, inline: the process answers.
//   GET /readyz   public + operator: the database takes a committed write and the data
//                 directory's file system has at least `min_free_bytes` free. 200 JSON when
//                 ready, 503 problem+json with the failing checks otherwise. Results are
//                 cached for `cache_for` so that a flood of probes cannot become a flood of
//                 database writes.
//   GET /metrics  operator only: Prometheus text format.

#include <functional>
#include <string>

#include "sicher/api/router.h"
#include "sicher/base/clock.h"
#include "sicher/base/file_system.h"
#include "sicher/base/metrics.h"

namespace sicher::api {

struct HealthOptions {
  std::function<Status()> database_writable;  // required
  FileSystem* fs = nullptr;                   // required, borrowed
  const Clock* clock = nullptr;               // required, borrowed
  std::string data_dir;
  uint64_t min_free_bytes = 512ull << 20;
  Duration cache_for = std::chrono::seconds(1);
};

// Adds the three routes. `registry` and everything in `options` must outlive `router`.
void RegisterHealthRoutes(Router& router, HealthOptions options, metrics::Registry& registry);

}  // namespace sicher::api
