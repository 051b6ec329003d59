#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sicher/app/commands.h"
#include "sicher/audit/checkpoint.h"
#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"
#include "sicher/crypto/signing.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::app {
namespace {

// `sicher audit verify` offline (key, checkpoints and a consistency proof as files, no data
// directory): what a witness that kept the checkpoints it saw can check.
class AuditVerifyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sicher_verify_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    for (int i = 0; i < 12; ++i) tree_.Append(audit::LeafHash("record " + std::to_string(i)));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string Note(const audit::NoteSigner& signer, uint64_t size, std::string root = "") {
    audit::Checkpoint cp{.origin = signer.name(),
                         .size = size,
                         .root_hash = root.empty() ? *audit::RootHash(tree_, size) : root,
                         .extensions = {}};
    return *signer.Sign(audit::CheckpointBody(cp));
  }
  std::string ProofFile(uint64_t a, uint64_t b) {
    std::string json = "{\"consistency_proof\":[";
    const Result<std::vector<std::string>> proof = audit::ConsistencyProof(tree_, a, b);
    for (size_t i = 0; i < proof->size(); ++i) {
      json += (i ? ",\"" : "\"") + Base64Encode((*proof)[i]) + "\"";
    }
    return Write("proof.json", json + "]}");
  }
  int Run(AuditVerifyFlags v, std::string* out) {
    std::ostringstream o, e;
    const int code = RunAuditVerify(CommandFlags{}, v, o, e);
    *out = o.str() + e.str();
    return code;
  }

  std::filesystem::path dir_;
  audit::MemoryTree tree_;
};

TEST_F(AuditVerifyCommandTest, ConsistentCheckpointsPassAndForksAndForeignOriginsFail) {
  ASSERT_OK_AND_ASSIGN(auto key, crypto::Ed25519PrivateKey::Generate());
  ASSERT_OK_AND_ASSIGN(audit::NoteSigner signer,
                       audit::NoteSigner::Create("test.example/log", std::move(key)));
  const std::string vkey = Write("key", signer.VerifierKey() + "\n");
  std::string out;

  AuditVerifyFlags ok{.checkpoints = {Write("a", Note(signer, 5)), Write("b", Note(signer, 12))},
                      .export_file = "",
                      .key = vkey,
                      .consistency_proof = ProofFile(5, 12)};
  EXPECT_EQ(Run(ok, &out), 0) << out;
  EXPECT_NE(out.find("extends tree of size 5"), std::string::npos) << out;

  // The same size, another root, both validly signed: two histories were shown.
  AuditVerifyFlags fork = ok;
  fork.checkpoints = {Write("c", Note(signer, 5)),
                      Write("d", Note(signer, 5, std::string(32, 'x')))};
  EXPECT_EQ(Run(fork, &out), 1);
  EXPECT_NE(out.find("forked"), std::string::npos) << out;

  // A later tree that does not extend the earlier one.
  AuditVerifyFlags rewritten = ok;
  rewritten.checkpoints = {Write("e", Note(signer, 5)),
                           Write("f", Note(signer, 12, std::string(32, 'y')))};
  EXPECT_EQ(Run(rewritten, &out), 1);
  EXPECT_NE(out.find("FAIL consistency 5 -> 12"), std::string::npos) << out;

  // Signed by this key but naming another log.
  audit::Checkpoint elsewhere{.origin = "other.example/log",
                              .size = 5,
                              .root_hash = *audit::RootHash(tree_, 5),
                              .extensions = {}};
  AuditVerifyFlags foreign = ok;
  foreign.checkpoints = {Write("g", *signer.Sign(audit::CheckpointBody(elsewhere)))};
  foreign.consistency_proof.clear();
  foreign.export_file = Write("empty.jsonl", "");
  EXPECT_EQ(Run(foreign, &out), 1);
  EXPECT_NE(out.find("is not the log the key names"), std::string::npos) << out;
  // Signed by another key altogether.
  ASSERT_OK_AND_ASSIGN(auto key2, crypto::Ed25519PrivateKey::Generate());
  ASSERT_OK_AND_ASSIGN(audit::NoteSigner other,
                       audit::NoteSigner::Create("test.example/log", std::move(key2)));
  foreign.checkpoints = {Write("h", Note(other, 5))};
  EXPECT_EQ(Run(foreign, &out), 1);
  EXPECT_NE(out.find("FAIL checkpoint"), std::string::npos) << out;
}

}  // namespace
}  // namespace sicher::app
