#include "sicher/keys/data_keys.h"

#include <fmt/format.h>

#include <thread>

#include "sicher/crypto/aead.h"
#include "sicher/events/events.h"

namespace sicher::keys {
namespace {

std::string FieldAad(std::string_view table, std::string_view column, std::string_view owner) {
  std::string aad(table);
  aad += '.';
  aad += column;
  aad += ':';
  aad += owner;
  return aad;
}

// Passes over the table before RewrapAll gives up on rows that keep changing under it.
constexpr int kMaxRewrapPasses = 8;

}  // namespace

Result<uint32_t> DataKeys::MinKekVersion(store::Txn& txn) {
  ASSIGN_OR_RETURN(std::optional<store::Row> row,
                   txn.QueryOne("SELECT min_kek_version FROM key_state WHERE id = 1"));
  if (!row) return 0u;
  return static_cast<uint32_t>(row->GetInt(0));
}

Result<SecretBytes> DataKeys::Create(store::Txn& txn, std::string_view owner_id, Time now) {
  // The fence (keys.md section 6): read in this write transaction, so a rotation's fence is
  // either committed before it (and seen here) or after it (and then the rotation's re-wrap,
  // which starts after its fence, sees this row).
  ASSIGN_OR_RETURN(const uint32_t min_version, MinKekVersion(txn));
  if (keyring_.current_version() < min_version) {
    // A rotation added a KEK version this process has not loaded yet.
    RETURN_IF_ERROR(keyring_.Reload().WithContext(
        fmt::format("reloading the keyring for KEK version {}", min_version)));
  }
  SecretBytes dek = crypto::NewDataKey(random_);
  ASSIGN_OR_RETURN(std::string wrapped, keyring_.WrapDek(dek, owner_id));
  ASSIGN_OR_RETURN(uint32_t version, crypto::Keyring::WrappedKekVersion(wrapped));
  if (version < min_version) {
    return UnavailableError(
        fmt::format("the keyring file does not have KEK version {} yet (a key rotation is "
                    "running); retry",
                    min_version));
  }
  change_epoch_.fetch_add(1);
  RETURN_IF_ERROR(txn.Exec(
      "INSERT INTO data_keys (owner_id, kek_version, wrapped_dek, created_at) VALUES (?, ?, ?, ?)",
      {std::string(owner_id), int64_t{version}, store::Blob{std::move(wrapped)},
       int64_t{Micros(now)}}));
  return dek;
}

std::atomic<uint64_t> DataKeys::change_epoch_{0};

Result<SecretBytes> DataKeys::Get(store::Txn& txn, std::string_view owner_id) {
  ASSIGN_OR_RETURN(const std::string wrapped, GetWrapped(txn, owner_id));
  return Unwrap(txn, owner_id, wrapped);
}

Result<std::string> DataKeys::GetWrapped(store::Txn& txn, std::string_view owner_id) {
  ASSIGN_OR_RETURN(std::optional<store::Row> row,
                   txn.QueryOne("SELECT wrapped_dek FROM data_keys WHERE owner_id = ?",
                                {std::string(owner_id)}));
  if (!row) return NotFoundError("the data key of this owner no longer exists");
  return row->GetBlob(0);
}

Result<SecretBytes> DataKeys::Unwrap(store::Txn& txn, std::string_view owner_id,
                                     std::string_view wrapped) {
  Result<SecretBytes> dek = keyring_.UnwrapDek(wrapped, owner_id);
  if (dek.ok() || dek.status().code() != StatusCode::kNotFound) return dek;

  // An unknown KEK version. UnwrapDek re-reads the file for a newer version, but at most once
  // a second, and two rotations may come closer together than that.
  ASSIGN_OR_RETURN(const uint32_t version, crypto::Keyring::WrappedKekVersion(wrapped));
  if (version <= keyring_.current_version()) {
    // Another thread may have reloaded meanwhile; otherwise the version was dropped.
    return keyring_.UnwrapDek(wrapped, owner_id);
  }
  // Newer than this process knows. Force a reload only when the database vouches for the
  // version (the rotation raises the fence before any row carries it), so a forged row cannot
  // turn every request into a file read.
  ASSIGN_OR_RETURN(const uint32_t min_version, MinKekVersion(txn));
  if (version > min_version) return dek;
  RETURN_IF_ERROR(keyring_.Reload().WithContext(
      fmt::format("reloading the keyring for KEK version {}", version)));
  return keyring_.UnwrapDek(wrapped, owner_id);
}

Result<bool> DataKeys::DestroyOwnerKey(store::Txn& txn, std::string_view owner_id) {
  change_epoch_.fetch_add(1);
  RETURN_IF_ERROR(txn.Exec("DELETE FROM data_keys WHERE owner_id = ?", {std::string(owner_id)}));
  return txn.ChangedRows() > 0;
}

Status DataKeys::Destroy(store::Txn& txn, std::string_view owner_id) {
  return DestroyOwnerKey(txn, owner_id).status();
}

void DataKeys::PublishDestroyed(events::Bus& bus, std::string_view owner_id,
                                std::string_view reason) {
  bus.Publish(events::DataKeyDestroyed{std::string(owner_id), std::string(reason)});
}

Result<bool> DataKeys::ShredOwnerKey(store::Store& store, events::Bus& bus,
                                     std::string_view owner_id, std::string_view reason) {
  bool existed = false;
  RETURN_IF_ERROR(store.Write([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(existed, DestroyOwnerKey(txn, owner_id));
    return OkStatus();
  }));
  if (existed) PublishDestroyed(bus, owner_id, reason);
  return existed;
}

Result<std::string> DataKeys::Seal(const SecretBytes& dek, std::string_view table,
                                   std::string_view column, std::string_view owner_id,
                                   std::string_view plaintext) {
  return crypto::AeadSeal(dek, plaintext, FieldAad(table, column, owner_id), random_);
}

Result<std::string> DataKeys::Seal(crypto::AeadContext& ctx, std::string_view table,
                                   std::string_view column, std::string_view owner_id,
                                   std::string_view plaintext) {
  return crypto::AeadSeal(ctx, plaintext, FieldAad(table, column, owner_id), random_);
}

Result<std::string> DataKeys::Open(const SecretBytes& dek, std::string_view table,
                                   std::string_view column, std::string_view owner_id,
                                   std::string_view sealed) {
  return crypto::AeadOpen(dek, sealed, FieldAad(table, column, owner_id));
}

std::string DataKeys::EmailIndex(std::string_view normalized_email) const {
  return keyring_.BlindIndex("email", normalized_email);
}

// --- Rotation --------------------------------------------------------------------------------

Result<std::map<uint32_t, int64_t>> DataKeys::CountByVersion(store::Txn& txn) {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   txn.Query("SELECT kek_version, COUNT(*) FROM data_keys GROUP BY kek_version "
                             "ORDER BY kek_version"));
  std::map<uint32_t, int64_t> out;
  for (const store::Row& r : rows) out[static_cast<uint32_t>(r.GetInt(0))] = r.GetInt(1);
  return out;
}

Result<std::map<uint32_t, int64_t>> DataKeys::CountByVersion(store::Store& store) {
  std::map<uint32_t, int64_t> out;
  RETURN_IF_ERROR(store.Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(out, CountByVersion(txn));
    return OkStatus();
  }));
  return out;
}

Result<int64_t> DataKeys::RewrapAll(store::Store& store, const crypto::Keyring& keyring,
                                    const RewrapOptions& options) {
  if (options.batch_size < 1) return InvalidArgumentError("batch_size must be at least 1");
  const uint32_t target = keyring.current_version();
  struct Update {
    std::string owner_id;
    int64_t old_version = 0;
    std::string old_wrapped;
    std::string new_wrapped;
    int64_t new_version = 0;
  };
  int64_t total = 0;
  for (int pass = 0; pass < kMaxRewrapPasses; ++pass) {
    // One pass in owner-id order (keyset pagination on the primary key, so a pass is linear
    // however large the table). A row lost to a concurrent change is picked up by the next pass.
    std::string cursor;  // owner ids are non-empty, so "" precedes them all
    while (true) {
      std::vector<store::Row> rows;
      RETURN_IF_ERROR(store.Read([&](store::Txn& txn) -> Status {
        ASSIGN_OR_RETURN(rows, txn.Query("SELECT owner_id, kek_version, wrapped_dek FROM "
                                         "data_keys WHERE owner_id > ? AND kek_version < ? "
                                         "ORDER BY owner_id LIMIT ?",
                                         {cursor, int64_t{target}, int64_t{options.batch_size}}));
        return OkStatus();
      }));
      if (rows.empty()) break;
      cursor = rows.back().GetText(0);

      // The crypto runs outside any transaction; only the compare-and-set writes hold the lock.
      std::vector<Update> updates;
      updates.reserve(rows.size());
      for (const store::Row& r : rows) {
        Update u;
        u.owner_id = r.GetText(0);
        u.old_version = r.GetInt(1);
        u.old_wrapped = r.GetBlob(2);
        Result<std::string> fresh = keyring.RewrapDek(u.old_wrapped, u.owner_id);
        if (!fresh.ok()) {
          return fresh.status().WithContext(
              fmt::format("re-wrapping the data key of {}", u.owner_id));
        }
        ASSIGN_OR_RETURN(const uint32_t v, crypto::Keyring::WrappedKekVersion(*fresh));
        u.new_version = v;
        u.new_wrapped = *std::move(fresh);
        updates.push_back(std::move(u));
      }
      int64_t changed = 0;
      RETURN_IF_ERROR(store.Write([&](store::Txn& txn) -> Status {
        changed = 0;
        if (options.in_batch) RETURN_IF_ERROR(options.in_batch(txn));
        for (const Update& u : updates) {
          change_epoch_.fetch_add(1);
          RETURN_IF_ERROR(
              txn.Exec("UPDATE data_keys SET kek_version = ?, wrapped_dek = ? "
                       "WHERE owner_id = ? AND kek_version = ? AND wrapped_dek = ?",
                       {int64_t{u.new_version}, store::Blob{u.new_wrapped}, u.owner_id,
                        int64_t{u.old_version}, store::Blob{u.old_wrapped}}));
          changed += txn.ChangedRows();
        }
        return OkStatus();
      }));
      total += changed;
    }

    int64_t left = 0;
    RETURN_IF_ERROR(store.Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(
          std::optional<store::Row> row,
          txn.QueryOne("SELECT COUNT(*) FROM data_keys WHERE kek_version < ?", {int64_t{target}}));
      left = row ? row->GetInt(0) : 0;
      return OkStatus();
    }));
    if (left == 0) return total;
  }
  return AbortedError(fmt::format(
      "data keys kept changing during {} re-wrap passes; some still use a KEK version older "
      "than {}; run the rotation again",
      kMaxRewrapPasses, target));
}

namespace {

class RotationLease {
 public:
  RotationLease(store::Store& store, Env& env, Duration lease)
      : store_(store), env_(env), lease_(lease), holder_("rot_" + env.random.Hex(16)) {}

  Status Acquire() {
    return store_.Write([&](store::Txn& txn) -> Status {
      const int64_t now = Micros(env_.clock.Now());
      RETURN_IF_ERROR(
          txn.Exec("UPDATE key_state SET rotation_holder = ?, rotation_expires_at = ? "
                   "WHERE id = 1 AND (rotation_holder IS NULL OR rotation_expires_at < ?)",
                   {holder_, Expiry(), now}));
      if (txn.ChangedRows() == 1) return OkStatus();
      ASSIGN_OR_RETURN(std::optional<store::Row> row,
                       txn.QueryOne("SELECT rotation_expires_at FROM key_state WHERE id = 1"));
      if (!row) return FailedPreconditionError("the database has no key_state row");
      const std::optional<int64_t> until = row->GetOptionalInt(0);
      return FailedPreconditionError(fmt::format(
          "another `sicher keys rotate` is running (its lock expires at {}); wait for it to "
          "finish or, if it crashed, run again after that time",
          until ? FormatRfc3339(FromMicros(*until)) : std::string("?")));
    });
  }

  // Inside a write transaction: extends the lease; Aborted if this rotation no longer holds it.
  Status Renew(store::Txn& txn) const {
    RETURN_IF_ERROR(txn.Exec(
        "UPDATE key_state SET rotation_expires_at = ? WHERE id = 1 AND rotation_holder = ?",
        {Expiry(), holder_}));
    if (txn.ChangedRows() != 1) {
      return AbortedError(
          "this rotation lost its lock (it expired and another rotation took it over); stopped");
    }
    return OkStatus();
  }

  Status Release() {
    return store_.Write([&](store::Txn& txn) -> Status {
      return txn.Exec(
          "UPDATE key_state SET rotation_holder = NULL, rotation_expires_at = NULL "
          "WHERE id = 1 AND rotation_holder = ?",
          {holder_});
    });
  }

 private:
  int64_t Expiry() const { return Micros(env_.clock.Now() + lease_); }

  store::Store& store_;
  Env& env_;
  const Duration lease_;
  const std::string holder_;
};

Result<RotationReport> RotateLocked(store::Store& store, crypto::Keyring& keyring,
                                    RotationLease& lease,
                                    const std::function<void(const std::string&)>& say,
                                    const RotationOptions& options) {
  RotationReport report;
  // (a) The file first: from here on every process can unwrap whatever the rotation writes.
  ASSIGN_OR_RETURN(report.new_version, keyring.AddVersion());
  say(fmt::format("added KEK version {}", report.new_version));

  // (b) The fence: from its commit on, no DEK is created under an older version.
  RETURN_IF_ERROR(store.Write([&](store::Txn& txn) -> Status {
    RETURN_IF_ERROR(lease.Renew(txn));
    return txn.Exec("UPDATE key_state SET min_kek_version = ? WHERE id = 1 AND min_kek_version < ?",
                    {int64_t{report.new_version}, int64_t{report.new_version}});
  }));

  // (c) Re-wrap everything older.
  RewrapOptions rewrap = options.rewrap;
  std::function<Status(store::Txn&)> outer = rewrap.in_batch;
  rewrap.in_batch = [&lease, outer](store::Txn& txn) -> Status {
    RETURN_IF_ERROR(lease.Renew(txn));
    return outer ? outer(txn) : OkStatus();
  };
  ASSIGN_OR_RETURN(report.rewrapped, DataKeys::RewrapAll(store, keyring, rewrap));
  say(fmt::format("re-wrapped {} data keys", report.rewrapped));

  // (d) Drop what nothing uses, after the grace period, counted (not assumed) in the same
  // transaction that confirms the lease.
  std::vector<uint32_t> older;
  for (uint32_t v : keyring.versions()) {
    if (v < report.new_version) older.push_back(v);
  }
  if (!older.empty() && options.drop_grace > Duration::zero()) {
    std::this_thread::sleep_for(options.drop_grace);
  }
  RETURN_IF_ERROR(store.Write([&](store::Txn& txn) -> Status {
    RETURN_IF_ERROR(lease.Renew(txn));
    ASSIGN_OR_RETURN(report.keys_by_version, DataKeys::CountByVersion(txn));
    return OkStatus();
  }));
  for (uint32_t v : older) {
    const auto it = report.keys_by_version.find(v);
    if (it != report.keys_by_version.end() && it->second > 0) {
      return FailedPreconditionError(fmt::format(
          "{} data keys still use KEK version {} after the re-wrap; nothing was dropped; run "
          "`sicher keys rotate` again",
          it->second, v));
    }
  }
  for (uint32_t v : older) {
    RETURN_IF_ERROR(keyring.DropVersion(v));
    report.dropped.push_back(v);
    say(fmt::format("dropped KEK version {}", v));
  }
  return report;
}

}  // namespace

Result<RotationReport> RotateKeks(store::Store& store, crypto::Keyring& keyring, Env& env,
                                  const std::function<void(const std::string&)>& progress,
                                  const RotationOptions& options) {
  auto say = [&progress](const std::string& line) {
    if (progress) progress(line);
  };
  RotationLease lease(store, env, options.lease);
  RETURN_IF_ERROR(lease.Acquire());
  Result<RotationReport> report = RotateLocked(store, keyring, lease, say, options);
  const Status released = lease.Release();
  if (!report.ok()) return report.status();
  if (!released.ok()) return released.WithContext("releasing the rotation lock");
  return report;
}

}  // namespace sicher::keys
