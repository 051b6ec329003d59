#pragma once
// Test-only: a Store that fails chosen statements of its write transactions, to prove that a
// change and its audit event commit together or not at all ("inject a failure between the
// two"). Header-only; link sicher::store.

#include <atomic>
#include <mutex>
#include <string>

#include "sicher/store/store.h"

namespace sicher::store::testing {

class FaultStore final : public Store {
 public:
  explicit FaultStore(Store& inner) : inner_(inner) {}

  // Every later write statement whose SQL contains `fragment` fails with Unavailable ("" stops).
  void FailStatementsContaining(std::string fragment) {
    std::lock_guard lock(mu_);
    fragment_ = std::move(fragment);
  }
  int injected() const { return injected_.load(); }

  Status Write(TxnFn fn) override {
    return inner_.Write([&](Txn& txn) {
      FaultTxn faulty(txn, Fragment(), injected_);
      return fn(faulty);
    });
  }
  void WriteAsync(TxnFn fn, std::function<void(Status)> done) override {
    inner_.WriteAsync(
        [this, fn = std::move(fn)](Txn& txn) {
          FaultTxn faulty(txn, Fragment(), injected_);
          return fn(faulty);
        },
        std::move(done));
  }
  Status Read(TxnFn fn) override { return inner_.Read(std::move(fn)); }
  Status CheckWritable() override { return inner_.CheckWritable(); }
  std::string_view Kind() const override { return inner_.Kind(); }

 private:
  class FaultTxn final : public Txn {
   public:
    FaultTxn(Txn& inner, std::string fragment, std::atomic<int>& injected)
        : inner_(inner), fragment_(std::move(fragment)), injected_(injected) {}
    Status Exec(std::string_view sql, Params params) override {
      if (Hit(sql)) return UnavailableError("injected failure");
      return inner_.Exec(sql, params);
    }
    Result<std::vector<Row>> Query(std::string_view sql, Params params) override {
      if (Hit(sql)) return UnavailableError("injected failure");
      return inner_.Query(sql, params);
    }
    Result<std::optional<Row>> QueryOne(std::string_view sql, Params params) override {
      if (Hit(sql)) return UnavailableError("injected failure");
      return inner_.QueryOne(sql, params);
    }
    int64_t LastInsertId() const override { return inner_.LastInsertId(); }
    int64_t ChangedRows() const override { return inner_.ChangedRows(); }
    bool read_only() const override { return inner_.read_only(); }
    void Enlist(BatchParticipant& participant) override { inner_.Enlist(participant); }

   private:
    bool Hit(std::string_view sql) {
      if (fragment_.empty() || sql.find(fragment_) == std::string_view::npos) return false;
      ++injected_;
      return true;
    }
    Txn& inner_;
    const std::string fragment_;
    std::atomic<int>& injected_;
  };

  std::string Fragment() {
    std::lock_guard lock(mu_);
    return fragment_;
  }

  Store& inner_;
  std::mutex mu_;
  std::string fragment_;
  std::atomic<int> injected_{0};
};

}  // namespace sicher::store::testing
