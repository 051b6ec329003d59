#include "sicher/base/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace sicher::metrics {
namespace {

TEST(MetricsTest, CounterRendersWithEscapedLabels) {
  Registry r;
  r.GetCounter("http_requests_total", "Requests.", {{"route", "/a\"b"}, {"status", "200"}}).Inc(3);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("http_requests_total{route=\"/a\\\"b\",status=\"200\"} 3"), std::string::npos)
      << text;
}

TEST(MetricsTest, SameLabelsSameSeries) {
  Registry r;
  Counter& a = r.GetCounter("c", "h", {{"k", "v"}});
  Counter& b = r.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &r.GetCounter("c", "h", {{"k", "w"}}));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram& h = r.GetHistogram("lat", "Latency.", {}, {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("lat_bucket{le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"1\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_count 3"), std::string::npos) << text;
  EXPECT_NEAR(h.Sum(), 5.55, 1e-6);
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  Counter& c = r.GetCounter("n", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 40000u);
}

}  // namespace
}  // namespace sicher::metrics
