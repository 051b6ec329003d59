#include "sicher/api/health.h"

#include <gtest/gtest.h>

#include <atomic>

#include "sicher/testing/fake_clock.h"

namespace sicher::api {
namespace {

class HealthTest : public ::testing::Test {
 protected:
  void Register(uint64_t min_free) {
    HealthOptions o;
    o.database_writable = [this] {
      ++db_checks_;
      return db_status_;
    };
    o.fs = &fs_;
    o.clock = &clock_;
    o.data_dir = "/tmp";
    o.min_free_bytes = min_free;
    RegisterHealthRoutes(router_, std::move(o), registry_);
  }
  net::Response Get(std::string path, net::Listener l = net::Listener::kPublic) {
    net::Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.listener = l;
    return router_.Handle(r);
  }

  PosixFileSystem fs_;
  testing::FakeClock clock_;
  metrics::Registry registry_;
  Router router_;
  Status db_status_;
  std::atomic<int> db_checks_{0};
};

TEST_F(HealthTest, LivezAndReadyz) {
  Register(1);
  EXPECT_EQ(Get("/livez").status, 200);
  const net::Response r = Get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"ready\""), std::string::npos);
}

TEST_F(HealthTest, ReadyzFailsOnDatabaseAndCachesResults) {
  Register(1);
  db_status_ = UnavailableError("db down");
  const net::Response r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/problem+json");
  EXPECT_NE(r.body.find("\"database\":{\"status\":\"failing\"}"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("db down"), std::string::npos);  // no internals on the public listener
  Get("/readyz");
  EXPECT_EQ(db_checks_.load(), 1);  // cached
  clock_.Advance(std::chrono::seconds(2));
  db_status_ = OkStatus();
  EXPECT_EQ(Get("/readyz").status, 200);
  EXPECT_EQ(db_checks_.load(), 2);
}

TEST_F(HealthTest, ReadyzFailsWhenDiskIsLow) {
  Register(UINT64_MAX);
  const net::Response r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"disk\":{\"status\":\"failing\"}"), std::string::npos) << r.body;
}

TEST_F(HealthTest, MetricsOnlyOnOperatorListener) {
  Register(1);
  registry_.GetCounter("sicher_test_total", "t").Inc();
  EXPECT_EQ(Get("/metrics", net::Listener::kPublic).status, 404);
  const net::Response r = Get("/metrics", net::Listener::kOperator);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("sicher_test_total 1"), std::string::npos);
}

}  // namespace
}  // namespace sicher::api
