#include "sicher/app/data_dir.h"

#include <gtest/gtest.h>

#include "sicher/crypto/self_signed.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::app {
namespace {

class DataDirTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  testing::MemFileSystem fs_{clock_};
  testing::SeededRandom random_;
  Env env_{clock_, fs_, random_};
};

TEST_F(DataDirTest, FirstStartCreatesPrivateDirectoriesAndCertificate) {
  ASSERT_OK(fs_.CreateDirs("/srv", 0755));
  ASSERT_OK_AND_ASSIGN(DataDir dir, PrepareDataDir(env_, "/srv/data"));
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs_.Stat("/srv/data"));
  EXPECT_EQ(info.mode, 0700u);
  EXPECT_TRUE(fs_.Exists("/srv/data/logs"));
  ASSERT_OK_AND_ASSIGN(CertificateSetup first, EnsureSelfSignedCertificate(env_, dir));
  EXPECT_TRUE(first.created);
  ASSERT_OK_AND_ASSIGN(FileInfo key, fs_.Stat(dir.DefaultKeyFile()));
  EXPECT_EQ(key.mode, 0600u);
}

TEST_F(DataDirTest, SecondStartReusesCertificate) {
  ASSERT_OK_AND_ASSIGN(DataDir dir, PrepareDataDir(env_, "/data"));
  ASSERT_OK_AND_ASSIGN(CertificateSetup first, EnsureSelfSignedCertificate(env_, dir));
  ASSERT_OK_AND_ASSIGN(CertificateSetup second, EnsureSelfSignedCertificate(env_, dir));
  EXPECT_FALSE(second.created);
  EXPECT_EQ(first.fingerprint, second.fingerprint);
}

TEST_F(DataDirTest, LooseModesAreTightened) {
  ASSERT_OK(fs_.CreateDirs("/data", 0755));
  ASSERT_OK_AND_ASSIGN(DataDir dir, PrepareDataDir(env_, "/data"));
  ASSERT_OK_AND_ASSIGN(FileInfo info, fs_.Stat("/data"));
  EXPECT_EQ(info.mode, 0700u);
  ASSERT_OK(EnsureSelfSignedCertificate(env_, dir).status());
  ASSERT_OK(fs_.Chmod(dir.DefaultKeyFile(), 0644));
  ASSERT_OK(EnsureSelfSignedCertificate(env_, dir).status());
  ASSERT_OK_AND_ASSIGN(FileInfo key, fs_.Stat(dir.DefaultKeyFile()));
  EXPECT_EQ(key.mode, 0600u);
}

TEST_F(DataDirTest, ExpiringOrMismatchedCertificateIsReplaced) {
  ASSERT_OK_AND_ASSIGN(DataDir dir, PrepareDataDir(env_, "/data"));
  ASSERT_OK_AND_ASSIGN(CertificateSetup first, EnsureSelfSignedCertificate(env_, dir));
  clock_.Advance(std::chrono::hours(24 * 61));  // 29 days left of 90
  ASSERT_OK_AND_ASSIGN(CertificateSetup renewed, EnsureSelfSignedCertificate(env_, dir));
  EXPECT_TRUE(renewed.created);
  EXPECT_NE(first.fingerprint, renewed.fingerprint);

  // A crash between the key and the certificate write leaves a mismatched pair.
  ASSERT_OK_AND_ASSIGN(crypto::CertificatePair other, crypto::GenerateSelfSigned({}, clock_.Now()));
  ASSERT_OK(fs_.WriteFileAtomic(dir.DefaultKeyFile(), other.key_pem, 0600));
  ASSERT_OK_AND_ASSIGN(CertificateSetup repaired, EnsureSelfSignedCertificate(env_, dir));
  EXPECT_TRUE(repaired.created);
}

TEST_F(DataDirTest, EmptyPathIsAnError) {
  EXPECT_EQ(PrepareDataDir(env_, "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::app
