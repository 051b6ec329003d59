#include "sicher/app/data_dir.h"

#include "sicher/base/bytes.h"
#include "sicher/crypto/self_signed.h"

namespace sicher::app {

Result<DataDir> PrepareDataDir(Env& env, const std::string& root) {
  if (root.empty()) return InvalidArgumentError("data directory path is empty");
  DataDir dir{root};
  RETURN_IF_ERROR(env.fs.CreateDirs(root, 0700).WithContext("data directory"));
  ASSIGN_OR_RETURN(FileInfo info, env.fs.Stat(root));
  if (!info.is_directory) return FailedPreconditionError(root + " is not a directory");
  if ((info.mode & 077) != 0) RETURN_IF_ERROR(env.fs.Chmod(root, 0700));
  RETURN_IF_ERROR(env.fs.CreateDirs(dir.TlsDir(), 0700));
  RETURN_IF_ERROR(env.fs.CreateDirs(dir.LogDir(), 0750));
  return dir;
}

Result<CertificateSetup> EnsureSelfSignedCertificate(Env& env, const DataDir& dir) {
  const std::string cert_file = dir.DefaultCertFile();
  const std::string key_file = dir.DefaultKeyFile();
  const Time now = env.clock.Now();
  if (env.fs.Exists(cert_file) && env.fs.Exists(key_file)) {
    ASSIGN_OR_RETURN(std::string pem, env.fs.ReadFile(cert_file));
    ASSIGN_OR_RETURN(std::string key_pem, env.fs.ReadFile(key_file));
    Result<crypto::CertificateInfo> info = crypto::InspectCertificate(pem);
    const bool matches = crypto::KeyMatchesCertificate(pem, key_pem);
    SecureWipe(key_pem.data(), key_pem.size());
    if (info.ok() && matches && info->not_after - now > kRenewBefore) {
      // Keep the key private even if someone loosened it.
      ASSIGN_OR_RETURN(FileInfo key_info, env.fs.Stat(key_file));
      if ((key_info.mode & 077) != 0) RETURN_IF_ERROR(env.fs.Chmod(key_file, 0600));
      return CertificateSetup{false, info->sha256_fingerprint};
    }
  }
  ASSIGN_OR_RETURN(crypto::CertificatePair pair, crypto::GenerateSelfSigned({}, now));
  // A crash between the two writes leaves a mismatched pair; the next start sees that the key
  // does not match and generates both again.
  RETURN_IF_ERROR(env.fs.WriteFileAtomic(key_file, pair.key_pem, 0600));
  RETURN_IF_ERROR(env.fs.WriteFileAtomic(cert_file, pair.cert_pem, 0644));
  ASSIGN_OR_RETURN(crypto::CertificateInfo info, crypto::InspectCertificate(pair.cert_pem));
  return CertificateSetup{true, info.sha256_fingerprint};
}

}  // namespace sicher::app
