#include "sicher/crypto/keyring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sicher/crypto/hash.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/fault_injecting_file_system.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

constexpr char kPath[] = "/data/keyring";

class KeyringTest : public ::testing::Test {
 protected:
  std::unique_ptr<Keyring> Create() {
    Result<std::unique_ptr<Keyring>> k = Keyring::OpenOrCreate(env_, kPath);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? std::move(k).value() : nullptr;
  }
  std::string FileText() { return fs_.ReadFile(kPath).value(); }
  // Writes `body` followed by its correct checksum line, mode 0600.
  void WriteWithChecksum(const std::string& body) {
    ASSERT_OK(fs_.CreateDirs("/data", 0700));
    ASSERT_OK(fs_.WriteFileAtomic(kPath, body + "sha256 " + HexEncode(Sha256(body)) + "\n", 0600));
  }
  // Every base64 and hex spelling of every key in the file: what no message may contain.
  std::vector<std::string> KeySpellings() {
    std::vector<std::string> out;
    const std::string text = FileText();
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t lf = text.find('\n', pos);
      const std::string line = text.substr(pos, lf - pos);
      pos = lf + 1;
      if (line.starts_with("kek ") || line.starts_with("blind-index ")) {
        const std::string b64 = line.substr(line.rfind(' ') + 1);
        const std::string raw = Base64Decode(b64).value();
        out.push_back(b64);
        out.push_back(HexEncode(raw));
        out.push_back(raw);
      }
    }
    return out;
  }

  testing::FakeClock clock_;
  testing::MemFileSystem fs_{clock_};
  testing::SeededRandom random_{11};
  Env env_{clock_, fs_, random_};
};

TEST_F(KeyringTest, CreateWritesA0600FileThatOpensAgain) {
  auto keyring = Create();
  ASSERT_NE(keyring, nullptr);
  EXPECT_EQ(keyring->current_version(), 1u);
  EXPECT_EQ(keyring->versions(), std::vector<uint32_t>{1});
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs_.Stat(kPath));
  EXPECT_EQ(info.mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(FileInfo dir, fs_.Stat("/data"));
  EXPECT_EQ(dir.mode & 0777, 0700u);

  const std::string text = FileText();
  EXPECT_TRUE(text.starts_with("sicher-keyring 1\ncurrent 1\nblind-index "));
  EXPECT_NE(text.find("\nkek 1 2026-01-01T00:00:00.000000Z "), std::string::npos);
  EXPECT_NE(text.find("\nsha256 "), std::string::npos);

  ASSERT_OK_AND_ASSIGN(auto reopened, Keyring::Open(env_, kPath));
  EXPECT_EQ(reopened->versions(), std::vector<uint32_t>{1});
  EXPECT_EQ(reopened->BlindIndex("email", "a@b.example"),
            keyring->BlindIndex("email", "a@b.example"));
  // OpenOrCreate on an existing file opens it, never replaces it.
  auto again = Create();
  EXPECT_EQ(FileText(), text);
  EXPECT_EQ(again->BlindIndex("email", "x"), keyring->BlindIndex("email", "x"));
  ASSERT_EQ(again->keks().size(), 1u);
  EXPECT_TRUE(again->keks()[0].current);
  EXPECT_EQ(again->keks()[0].created, clock_.Now());
}

TEST_F(KeyringTest, OpenMissingIsNotFound) {
  const auto r = Keyring::Open(env_, kPath);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs_.Exists(kPath));  // Open never creates
}

TEST_F(KeyringTest, GroupOrOtherPermissionBitsAreRefused) {
  auto keyring = Create();
  for (uint32_t mode : {0640u, 0604u, 0660u, 0644u, 0700u | 0001u}) {
    ASSERT_OK(fs_.Chmod(kPath, mode));
    const auto r = Keyring::Open(env_, kPath);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << std::oct << mode;
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos);
    EXPECT_EQ(keyring->Reload().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(keyring->AddVersion().status().code(), StatusCode::kFailedPrecondition);
  }
  // The loaded keys survive a refused reload.
  EXPECT_EQ(keyring->current_version(), 1u);
  ASSERT_OK(fs_.Chmod(kPath, 0400));  // owner-only read is fine
  EXPECT_OK(Keyring::Open(env_, kPath));
}

TEST_F(KeyringTest, TruncatedOrFlippedFileIsDataLossNeverACrash) {
  Create();
  const std::string text = FileText();
  for (size_t n = 0; n < text.size(); ++n) {
    ASSERT_OK(fs_.WriteFileAtomic(kPath, text.substr(0, n), 0600));
    const auto r = Keyring::Open(env_, kPath);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "truncated to " << n;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    ASSERT_OK(fs_.WriteFileAtomic(kPath, bad, 0600));
    EXPECT_EQ(Keyring::Open(env_, kPath).status().code(), StatusCode::kDataLoss) << "byte " << i;
  }
  ASSERT_OK(fs_.WriteFileAtomic(kPath, text + "kek 9", 0600));
  EXPECT_EQ(Keyring::Open(env_, kPath).status().code(), StatusCode::kDataLoss);
  ASSERT_OK(fs_.WriteFileAtomic(kPath, std::string(kMaxKeyringFileBytes + 1, 'a'), 0600));
  EXPECT_EQ(Keyring::Open(env_, kPath).status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, WellFormedChecksumButBadContentIsDataLoss) {
  const std::string k = Base64Encode(std::string(32, 'k'));
  const std::string t = "2026-01-01T00:00:00Z";
  const std::string head = "sicher-keyring 1\ncurrent 2\nblind-index " + k + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not a keyring", "hello\n"},
      {"future format",
       "sicher-keyring 2\ncurrent 1\nblind-index " + k + "\nkek 1 " + t + " " + k + "\n"},
      {"current not highest", head + "kek 1 " + t + " " + k + "\nkek 3 " + t + " " + k + "\n"},
      {"current missing", head + "kek 1 " + t + " " + k + "\n"},
      {"descending", head + "kek 2 " + t + " " + k + "\nkek 1 " + t + " " + k + "\n"},
      {"duplicate", head + "kek 2 " + t + " " + k + "\nkek 2 " + t + " " + k + "\n"},
      {"leading zero", head + "kek 02 " + t + " " + k + "\n"},
      {"version zero",
       "sicher-keyring 1\ncurrent 0\nblind-index " + k + "\nkek 0 " + t + " " + k + "\n"},
      {"short key", head + "kek 2 " + t + " " + Base64Encode(std::string(31, 'k')) + "\n"},
      {"bad base64", head + "kek 2 " + t + " " + std::string(44, '!') + "\n"},
      {"bad time", head + "kek 2 yesterday " + k + "\n"},
      {"double space", head + "kek 2  " + t + " " + k + "\n"},
      {"no kek", head},
      {"no blind index", "sicher-keyring 1\ncurrent 1\nkek 1 " + t + " " + k + "\n"},
      {"extra field", head + "kek 2 " + t + " " + k + " x\n"},
      {"crlf", "sicher-keyring 1\r\ncurrent 1\nblind-index " + k + "\nkek 1 " + t + " " + k + "\n"},
  };
  for (const auto& [name, body] : cases) {
    WriteWithChecksum(body);
    const auto r = Keyring::Open(env_, kPath);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << name;
    EXPECT_EQ(r.status().message().find(k), std::string::npos) << name;
  }
  // And the same template, well formed, loads.
  WriteWithChecksum(head + "kek 1 " + t + " " + k + "\nkek 2 " + t + " " + k + "\n");
  ASSERT_OK_AND_ASSIGN(auto keyring, Keyring::Open(env_, kPath));
  EXPECT_EQ(keyring->versions(), (std::vector<uint32_t>{1, 2}));
}

TEST_F(KeyringTest, WrapUnwrapRoundTrip) {
  auto keyring = Create();
  const SecretBytes dek = NewDataKey(random_);
  ASSERT_EQ(dek.size(), kDataKeyBytes);
  ASSERT_OK_AND_ASSIGN(std::string wrapped, keyring->WrapDek(dek, "acct-1"));
  EXPECT_EQ(wrapped.size(), kWrappedDekBytes);
  EXPECT_EQ(wrapped[0], '\x01');
  EXPECT_EQ(wrapped.find(dek.view()), std::string::npos);
  ASSERT_OK_AND_ASSIGN(uint32_t version, Keyring::WrappedKekVersion(wrapped));
  EXPECT_EQ(version, 1u);
  ASSERT_OK_AND_ASSIGN(SecretBytes back, keyring->UnwrapDek(wrapped, "acct-1"));
  EXPECT_EQ(back.view(), dek.view());

  // Same DEK wrapped twice: fresh nonces, different bytes.
  ASSERT_OK_AND_ASSIGN(std::string wrapped2, keyring->WrapDek(dek, "acct-1"));
  EXPECT_NE(wrapped, wrapped2);
}

TEST_F(KeyringTest, UnwrapRejectsOtherAccountsAndTampering) {
  auto keyring = Create();
  const SecretBytes dek = NewDataKey(random_);
  ASSERT_OK_AND_ASSIGN(const std::string wrapped, keyring->WrapDek(dek, "acct-1"));
  for (std::string_view other : {"acct-2", "acct-", "acct-1 ", ""}) {
    const auto r = keyring->UnwrapDek(wrapped, other);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << other;
  }
  for (size_t i = 0; i < wrapped.size(); ++i) {
    std::string bad = wrapped;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    const auto r = keyring->UnwrapDek(bad, "acct-1");
    ASSERT_FALSE(r.ok()) << i;
    // The version bytes name a KEK that does not exist; everything else fails authentication.
    if (i >= 1 && i <= 4) {
      EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << i;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << i;
    }
  }
  EXPECT_EQ(keyring->UnwrapDek(wrapped.substr(0, 64), "acct-1").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(keyring->UnwrapDek("", "acct-1").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Keyring::WrappedKekVersion(wrapped + "x").status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, WrapRejectsBadArguments) {
  auto keyring = Create();
  EXPECT_EQ(keyring->WrapDek(SecretBytes(16), "a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keyring->WrapDek(NewDataKey(random_), "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeyringTest, RotationAddRewrapDrop) {
  auto keyring = Create();
  const SecretBytes dek = NewDataKey(random_);
  ASSERT_OK_AND_ASSIGN(const std::string v1_wrapped, keyring->WrapDek(dek, "acct"));

  clock_.Advance(std::chrono::hours(24));
  ASSERT_OK_AND_ASSIGN(uint32_t v2, keyring->AddVersion());
  EXPECT_EQ(v2, 2u);
  EXPECT_EQ(keyring->current_version(), 2u);
  EXPECT_EQ(keyring->versions(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(keyring->keks()[1].created, clock_.Now());
  // Persisted before AddVersion returned.
  ASSERT_OK_AND_ASSIGN(auto on_disk, Keyring::Open(env_, kPath));
  EXPECT_EQ(on_disk->current_version(), 2u);

  // The old wrapping still opens; new wrappings use v2; RewrapDek moves it to v2.
  ASSERT_OK_AND_ASSIGN(SecretBytes back, keyring->UnwrapDek(v1_wrapped, "acct"));
  EXPECT_EQ(back.view(), dek.view());
  ASSERT_OK_AND_ASSIGN(const std::string v2_wrapped, keyring->RewrapDek(v1_wrapped, "acct"));
  EXPECT_EQ(Keyring::WrappedKekVersion(v2_wrapped).value(), 2u);
  EXPECT_EQ(keyring->RewrapDek(v1_wrapped, "other").status().code(), StatusCode::kDataLoss);

  const Status drop_current = keyring->DropVersion(2);
  EXPECT_EQ(drop_current.code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(keyring->DropVersion(1));
  EXPECT_EQ(keyring->versions(), std::vector<uint32_t>{2});
  EXPECT_EQ(keyring->DropVersion(1).code(), StatusCode::kNotFound);
  EXPECT_EQ(keyring->DropVersion(7).code(), StatusCode::kNotFound);

  const auto gone = keyring->UnwrapDek(v1_wrapped, "acct");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), "KEK version 1 is not in the keyring");
  ASSERT_OK_AND_ASSIGN(SecretBytes still, keyring->UnwrapDek(v2_wrapped, "acct"));
  EXPECT_EQ(still.view(), dek.view());

  // Version numbers are never reused.
  ASSERT_OK_AND_ASSIGN(uint32_t v3, keyring->AddVersion());
  EXPECT_EQ(v3, 3u);
  ASSERT_OK_AND_ASSIGN(auto reopened, Keyring::Open(env_, kPath));
  EXPECT_EQ(reopened->versions(), (std::vector<uint32_t>{2, 3}));
}

TEST_F(KeyringTest, BlindIndexSurvivesRotationAndDiffersPerKeyring) {
  auto keyring = Create();
  const std::string before = keyring->BlindIndex("email", "dana@example.com");
  EXPECT_EQ(before.size(), 64u);
  EXPECT_EQ(before, keyring->BlindIndex("email", "dana@example.com"));
  EXPECT_NE(before, keyring->BlindIndex("email", "dan@example.com"));
  EXPECT_NE(before, keyring->BlindIndex("name", "dana@example.com"));
  ASSERT_OK(keyring->AddVersion());
  ASSERT_OK(keyring->DropVersion(1));
  EXPECT_EQ(before, keyring->BlindIndex("email", "dana@example.com"));

  ASSERT_OK_AND_ASSIGN(auto other, Keyring::OpenOrCreate(env_, "/elsewhere/keyring"));
  EXPECT_NE(before, other->BlindIndex("email", "dana@example.com"));
}

TEST_F(KeyringTest, ASecondInstanceSeesRotationsByReload) {
  auto server = Create();
  ASSERT_OK_AND_ASSIGN(auto cli, Keyring::Open(env_, kPath));  // `sicher keys rotate`
  ASSERT_OK(cli->AddVersion());
  EXPECT_EQ(server->current_version(), 1u);
  ASSERT_OK(server->Reload());
  EXPECT_EQ(server->current_version(), 2u);
  ASSERT_OK(cli->DropVersion(1));
  ASSERT_OK(server->Reload());
  EXPECT_EQ(server->versions(), std::vector<uint32_t>{2});
}

TEST_F(KeyringTest, UnwrapReloadsByItselfForANewerVersionRateLimited) {
  auto server = Create();
  ASSERT_OK_AND_ASSIGN(auto cli, Keyring::Open(env_, kPath));
  const SecretBytes dek = NewDataKey(random_);

  // A forged row naming a version nobody created: one reload, then NotFound.
  ASSERT_OK_AND_ASSIGN(std::string forged, server->WrapDek(dek, "acct"));
  forged[4] = 99;
  EXPECT_EQ(server->UnwrapDek(forged, "acct").status().code(), StatusCode::kNotFound);

  // The rotation adds v2 and re-wraps. Within a second of that miss the server does not read
  // the file again...
  ASSERT_OK(cli->AddVersion());
  ASSERT_OK_AND_ASSIGN(std::string v2_wrapped, cli->WrapDek(dek, "acct"));
  EXPECT_EQ(server->UnwrapDek(v2_wrapped, "acct").status().code(), StatusCode::kNotFound);
  // ...after it, the first request that meets v2 loads it.
  clock_.Advance(std::chrono::seconds(2));
  ASSERT_OK_AND_ASSIGN(SecretBytes back, server->UnwrapDek(v2_wrapped, "acct"));
  EXPECT_EQ(back.view(), dek.view());
  EXPECT_EQ(server->current_version(), 2u);

  // A version below the current one that is missing was dropped: no reload needed to say so.
  ASSERT_OK_AND_ASSIGN(std::string v2_again, server->WrapDek(dek, "acct"));
  EXPECT_EQ(Keyring::WrappedKekVersion(v2_again).value(), 2u);
}

TEST_F(KeyringTest, FailedWriteLeavesFileAndMemoryUnchanged) {
  testing::FaultInjectingFileSystem faulty(fs_);
  Env env{clock_, faulty, random_};
  ASSERT_OK_AND_ASSIGN(auto keyring, Keyring::OpenOrCreate(env, kPath));
  const std::string before = FileText();

  faulty.FailNextWrite();
  EXPECT_FALSE(keyring->AddVersion().ok());
  EXPECT_EQ(keyring->current_version(), 1u);
  EXPECT_EQ(FileText(), before);

  faulty.FailNextSync();
  EXPECT_FALSE(keyring->AddVersion().ok());
  EXPECT_EQ(keyring->current_version(), 1u);

  ASSERT_OK(keyring->AddVersion());
  faulty.FailNextWrite();
  EXPECT_FALSE(keyring->DropVersion(1).ok());
  EXPECT_EQ(keyring->versions(), (std::vector<uint32_t>{1, 2}));

  // A crash right after creation: the file is durable (WriteFileAtomic syncs).
  ASSERT_OK(faulty.DropUnsyncedData());
  EXPECT_OK(Keyring::Open(env, kPath));
}

TEST_F(KeyringTest, NoStatusMessageContainsKeyBytes) {
  auto keyring = Create();
  ASSERT_OK(keyring->AddVersion());
  const SecretBytes dek = NewDataKey(random_);
  ASSERT_OK_AND_ASSIGN(std::string wrapped, keyring->WrapDek(dek, "acct"));
  const std::vector<std::string> secrets = KeySpellings();
  ASSERT_EQ(secrets.size(), 9u);  // blind-index key + 2 KEKs, three spellings each

  std::vector<Status> errors;
  errors.push_back(keyring->UnwrapDek(wrapped, "other").status());
  std::string bad = wrapped;
  bad[30] ^= 1;
  errors.push_back(keyring->UnwrapDek(bad, "acct").status());
  errors.push_back(keyring->DropVersion(2));
  errors.push_back(keyring->WrapDek(SecretBytes(3), "acct").status());
  const std::string text = FileText();
  for (size_t n : {text.size() / 2, text.size() - 3, text.size() - 70}) {
    ASSERT_OK(fs_.WriteFileAtomic(kPath, text.substr(0, n), 0600));
    errors.push_back(Keyring::Open(env_, kPath).status());
  }
  // A corrupt key line with a valid checksum: the parser must not echo the line.
  std::string body = text.substr(0, text.rfind("sha256 "));
  body.insert(body.find("\nkek 2") + 8, "x");
  WriteWithChecksum(body);
  errors.push_back(Keyring::Open(env_, kPath).status());
  ASSERT_OK(fs_.WriteFileAtomic(kPath, text, 0644));
  errors.push_back(Keyring::Open(env_, kPath).status());

  for (const Status& s : errors) {
    ASSERT_FALSE(s.ok());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(s.ToString().find(secret), std::string::npos) << s.ToString();
    }
    EXPECT_EQ(s.ToString().find(HexEncode(dek.view())), std::string::npos);
  }
}

TEST_F(KeyringTest, ConcurrentUnwrapsDuringRotation) {
  auto keyring = Create();
  const SecretBytes dek = NewDataKey(random_);
  ASSERT_OK_AND_ASSIGN(const std::string v1_wrapped, keyring->WrapDek(dek, "acct"));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        Result<std::string> w = keyring->WrapDek(dek, "acct");
        Result<SecretBytes> a = keyring->UnwrapDek(v1_wrapped, "acct");
        if (!w.ok() || !a.ok() || a->view() != dek.view()) ++failures;
        if (w.ok()) {
          Result<SecretBytes> b = keyring->UnwrapDek(*w, "acct");
          if (!b.ok() || b->view() != dek.view()) ++failures;
        }
        (void)keyring->BlindIndex("email", "e@example.com");
      }
    });
  }
  for (int i = 0; i < 3; ++i) ASSERT_OK(keyring->AddVersion());
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(keyring->current_version(), 4u);
}

}  // namespace
}  // namespace sicher::crypto
