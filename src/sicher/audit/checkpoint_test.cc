#include "sicher/audit/checkpoint.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sicher/audit/merkle.h"
#include "sicher/base/bytes.h"
#include "sicher/base/check.h"
#include "sicher/crypto/hash.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::audit {
namespace {

// ---------------------------------------------------------------------------------------------
// golang.org/x/mod/sumdb/note's test vectors (golang/mod sumdb/note/note_test.go): the
// PeterNeumann and EnochRoot keys, Peter's signer key, the note text and both signature lines.

constexpr const char* kPeterKey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// Go's signer key format: PRIVATE+KEY+<name>+<key id>+base64(0x01 || 32-byte seed).
constexpr const char* kPeterSignerKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr const char* kEnochKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr const char* kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr const char* kPeterSig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr const char* kEnochSig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

crypto::Ed25519PrivateKey PeterPrivateKey() {
  // The base64 may contain '+' itself: cut after the fixed prefix.
  const std::string_view prefix = "PRIVATE+KEY+PeterNeumann+c74f20a3+";
  std::optional<std::string> blob =
      Base64Decode(std::string_view(kPeterSignerKey).substr(prefix.size()));
  CHECK(blob.has_value() && blob->size() == 33 && (*blob)[0] == '\x01');
  Result<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromSeed(blob->substr(1));
  EXPECT_OK(key);
  return std::move(key).value();
}

NoteVerifier Verifier(std::string_view key) {
  Result<NoteVerifier> verifier = NoteVerifier::Parse(key);
  EXPECT_OK(verifier);
  return std::move(verifier).value();
}

TEST(SignedNoteTest, GoVerifierKeys) {
  ASSERT_OK_AND_ASSIGN(NoteVerifier peter, NoteVerifier::Parse(kPeterKey));
  EXPECT_EQ(peter.name(), "PeterNeumann");
  EXPECT_EQ(peter.key_id(), 0xc74f20a3u);
  EXPECT_EQ(peter.public_key().size(), 32u);
  ASSERT_OK_AND_ASSIGN(NoteVerifier enoch, NoteVerifier::Parse(kEnochKey));
  EXPECT_EQ(enoch.name(), "EnochRoot");
  EXPECT_EQ(enoch.key_id(), 0xaf0cfe78u);
}

TEST(SignedNoteTest, GoSignerReproducesTheNoteByteForByte) {
  ASSERT_OK_AND_ASSIGN(NoteSigner signer, NoteSigner::Create("PeterNeumann", PeterPrivateKey()));
  EXPECT_EQ(signer.key_id(), 0xc74f20a3u);
  EXPECT_EQ(signer.VerifierKey(), kPeterKey);
  ASSERT_OK_AND_ASSIGN(std::string note, signer.Sign(kText));
  EXPECT_EQ(note, std::string(kText) + "\n" + kPeterSig);
}

TEST(SignedNoteTest, GoNotesVerify) {
  const NoteVerifier peter = Verifier(kPeterKey);
  const NoteVerifier enoch = Verifier(kEnochKey);
  const std::string both = std::string(kText) + "\n" + kPeterSig + kEnochSig;
  // Each verifier finds its own line and ignores the other key's.
  ASSERT_OK_AND_ASSIGN(std::string text, peter.VerifyNote(both));
  EXPECT_EQ(text, kText);
  ASSERT_OK_AND_ASSIGN(text, enoch.VerifyNote(both));
  EXPECT_EQ(text, kText);
  // Repeated lines, and an invalid signature by a key we do not know, are fine.
  const std::string enoch_sig = kEnochSig;
  const std::string noisy = std::string(kText) + "\n" + kPeterSig + kPeterSig + kEnochSig +
                            kEnochSig + enoch_sig.substr(0, 60) + "ABCD" + enoch_sig.substr(60);
  EXPECT_OK(peter.VerifyNote(noisy));
}

TEST(SignedNoteTest, GoMalformedNotes) {
  const NoteVerifier peter = Verifier(kPeterKey);
  const std::string text = kText;
  const std::string sig = kPeterSig;
  // The malformed-message table of note_test.go's TestOpen.
  const std::string bad[] = {
      text,
      text + "\n",
      text + "\n" + sig.substr(0, sig.size() - 1),
      "\x01" + text + "\n" + sig,
      "\xff" + text + "\n" + sig,
      text + "\n" + "\xE2\x80\x94 Bad Name " +
          "x08go/ZJkuBS9UG/"
          "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
      text + "\n" + sig + "Unexpected line.\n",
  };
  for (const std::string& note : bad) {
    Result<std::string> result = peter.VerifyNote(note);
    ASSERT_FALSE(result.ok()) << note;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << note;
    EXPECT_EQ(result.status().message().rfind("malformed note", 0), 0u)
        << result.status().ToString();
  }
  // Too many signatures (Go's limit is 100 too).
  std::string many = text + "\n";
  for (int i = 0; i < 101; ++i) many += sig;
  EXPECT_EQ(peter.VerifyNote(many).status().code(), StatusCode::kInvalidArgument);
  many.resize(many.size() - sig.size());
  EXPECT_OK(peter.VerifyNote(many));
}

TEST(SignedNoteTest, GoInvalidSignature) {
  const NoteVerifier peter = Verifier(kPeterKey);
  const std::string sig = kPeterSig;
  Result<std::string> result =
      peter.VerifyNote(std::string(kText) + "\n" + sig.substr(0, 60) + "ABCD" + sig.substr(60));
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message(),
            "signature invalid: the signature by PeterNeumann+c74f20a3 does not verify");
  // A changed text.
  std::string text = kText;
  text[3] = 'T';
  result = peter.VerifyNote(text + "\n" + sig);
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
}

TEST(SignedNoteTest, GoVerifierKeyManglingsAreRefused) {
  // As TestNewVerifier: every proper substring and every single-byte change is refused.
  const std::string key = kPeterKey;
  for (size_t i = 0; i <= key.size(); ++i) {
    for (size_t j = i + 1; j <= key.size(); ++j) {
      if (i == 0 && j == key.size()) continue;
      EXPECT_FALSE(NoteVerifier::Parse(key.substr(i, j - i)).ok()) << key.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < key.size(); ++i) {
    std::string bad = key;
    ++bad[i];
    EXPECT_FALSE(NoteVerifier::Parse(bad).ok()) << bad;
  }
  // Wrong key length and unknown algorithm, each with a key id that matches.
  EXPECT_FALSE(NoteVerifier::Parse(
                   "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .ok());
  EXPECT_FALSE(
      NoteVerifier::Parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .ok());
  // Uppercase key ids are not the canonical spelling.
  EXPECT_FALSE(
      NoteVerifier::Parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .ok());
}

TEST(SignedNoteTest, SpecExampleWithBlankLineInText) {
  // c2sp.org/signed-note's example (C2SP/C2SP signed-note.md): the text contains a blank line
  // and non-ASCII letters. We have no key for it, so it is well formed but unsigned for us.
  const std::string note =
      "Ognuno sta solo sul cuor della terra\n"
      "trafitto da un raggio di sole:\n"
      "\n"
      "ed \xC3\xA8 subito sera.\n"
      "\n"
      "\xE2\x80\x94 quasimodo.example/salvatore "
      "NnugSzTjtVAewIS+Z/iJhUPeFDkO/"
      "5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
  Result<std::string> result = Verifier(kPeterKey).VerifyNote(note);
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message(), "no signature by PeterNeumann+c74f20a3");
}

TEST(SignedNoteTest, SignerRefusesBadInput) {
  EXPECT_FALSE(NoteSigner::Create("", PeterPrivateKey()).ok());
  EXPECT_FALSE(NoteSigner::Create("a+b", PeterPrivateKey()).ok());
  EXPECT_FALSE(NoteSigner::Create("a b", PeterPrivateKey()).ok());
  EXPECT_FALSE(NoteSigner::Create("a\xC2\xA0"
                                  "b",
                                  PeterPrivateKey())
                   .ok());  // NBSP
  EXPECT_FALSE(NoteSigner::Create("a\xE3\x80\x80"
                                  "b",
                                  PeterPrivateKey())
                   .ok());  // U+3000
  EXPECT_FALSE(NoteSigner::Create("a\x01", PeterPrivateKey()).ok());
  EXPECT_FALSE(NoteSigner::Create("\xff", PeterPrivateKey()).ok());
  EXPECT_OK(NoteSigner::Create("sicher.example/audit", PeterPrivateKey()));

  ASSERT_OK_AND_ASSIGN(NoteSigner signer, NoteSigner::Create("PeterNeumann", PeterPrivateKey()));
  EXPECT_EQ(signer.Sign("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signer.Sign("no newline").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signer.Sign("tab\there\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signer.Sign("\xc0\xaf\n").status().code(), StatusCode::kInvalidArgument);  // overlong
  EXPECT_EQ(signer.Sign(std::string(kMaxNoteBytes, 'x') + "\n").status().code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints.

Checkpoint SampleCheckpoint() {
  Checkpoint checkpoint;
  checkpoint.origin = "sicher.example/audit";
  checkpoint.size = 12345;
  checkpoint.root_hash = crypto::Sha256("root");
  return checkpoint;
}

struct Log {
  NoteSigner signer;
  NoteVerifier verifier;
};

Log NewLog(const std::string& name) {
  Result<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::Generate();
  EXPECT_OK(key);
  Result<NoteSigner> signer = NoteSigner::Create(name, std::move(key).value());
  EXPECT_OK(signer);
  NoteVerifier verifier = Verifier(signer->VerifierKey());
  return Log{std::move(signer).value(), std::move(verifier)};
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(CheckpointTest, SpecExampleBodyParses) {
  // c2sp.org/tlog-checkpoint's example (C2SP/C2SP tlog-checkpoint.md).
  ASSERT_OK_AND_ASSIGN(Checkpoint checkpoint,
                       ParseCheckpointBody("example.com/behind-the-sofa\n"
                                           "20852163\n"
                                           "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"));
  EXPECT_EQ(checkpoint.origin, "example.com/behind-the-sofa");
  EXPECT_EQ(checkpoint.size, 20852163u);
  EXPECT_EQ(Base64Encode(checkpoint.root_hash), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(checkpoint.extensions.empty());
}

TEST(CheckpointTest, BodyFormat) {
  Checkpoint checkpoint = SampleCheckpoint();
  EXPECT_EQ(CheckpointBody(checkpoint),
            "sicher.example/audit\n12345\n" + Base64Encode(checkpoint.root_hash) + "\n");
  checkpoint.extensions = {"one", "two words"};
  EXPECT_EQ(
      CheckpointBody(checkpoint),
      "sicher.example/audit\n12345\n" + Base64Encode(checkpoint.root_hash) + "\none\ntwo words\n");
  checkpoint.size = 0;
  checkpoint.root_hash = EmptyRootHash();
  ASSERT_OK_AND_ASSIGN(Checkpoint parsed, ParseCheckpointBody(CheckpointBody(checkpoint)));
  EXPECT_EQ(parsed, checkpoint);
}

TEST(CheckpointTest, RoundTrip) {
  Log log = NewLog("sicher.example/audit");
  for (const std::vector<std::string>& extensions :
       {std::vector<std::string>{}, std::vector<std::string>{"ext one", "ext+two \xC3\xA8"}}) {
    Checkpoint checkpoint = SampleCheckpoint();
    checkpoint.extensions = extensions;
    ASSERT_OK_AND_ASSIGN(std::string note, log.signer.Sign(CheckpointBody(checkpoint)));
    EXPECT_EQ(note.rfind(CheckpointBody(checkpoint) + "\n\xE2\x80\x94 sicher.example/audit ", 0),
              0u);
    ASSERT_OK_AND_ASSIGN(Checkpoint verified, log.verifier.VerifyCheckpoint(note));
    EXPECT_EQ(verified, checkpoint);
  }
}

TEST(CheckpointTest, RealTreeRoundTrip) {
  // A checkpoint of an actual tree, and the proof a client would check against it.
  MemoryTree tree;
  for (int i = 0; i < 10; ++i) tree.Append(LeafHash("event " + std::to_string(i)));
  Checkpoint checkpoint{"sicher.example/audit", tree.size(), {}, {}};
  ASSERT_OK_AND_ASSIGN(checkpoint.root_hash, RootHash(tree, tree.size()));
  Log log = NewLog(checkpoint.origin);
  ASSERT_OK_AND_ASSIGN(std::string note, log.signer.Sign(CheckpointBody(checkpoint)));
  ASSERT_OK_AND_ASSIGN(Checkpoint verified, log.verifier.VerifyCheckpoint(note));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, InclusionProof(tree, 7, verified.size));
  EXPECT_OK(VerifyInclusion(LeafHash("event 7"), 7, verified.size, proof, verified.root_hash));
}

TEST(CheckpointTest, TamperingIsCaughtAndNamed) {
  Log log = NewLog("sicher.example/audit");
  const Checkpoint checkpoint = SampleCheckpoint();
  ASSERT_OK_AND_ASSIGN(std::string note, log.signer.Sign(CheckpointBody(checkpoint)));
  const std::string root64 = Base64Encode(checkpoint.root_hash);
  std::string other_root64 = Base64Encode(crypto::Sha256("other root"));

  struct Case {
    const char* what;
    std::string note;
    StatusCode code;
    const char* message_starts;
  };
  Log other = NewLog("sicher.example/audit");  // same name, another key
  Log stranger = NewLog("stranger.example/log");
  ASSERT_OK_AND_ASSIGN(std::string by_other, other.signer.Sign(CheckpointBody(checkpoint)));
  ASSERT_OK_AND_ASSIGN(std::string by_stranger, stranger.signer.Sign(CheckpointBody(checkpoint)));
  const std::string body = CheckpointBody(checkpoint);
  const Case cases[] = {
      {"size", Replace(note, "\n12345\n", "\n12346\n"), StatusCode::kUnauthenticated,
       "signature invalid"},
      {"root", Replace(note, root64, other_root64), StatusCode::kUnauthenticated,
       "signature invalid"},
      {"origin", Replace(note, "sicher.example/audit\n", "sicher.example/audi7\n"),
       StatusCode::kUnauthenticated, "signature invalid"},
      {"extension added", Replace(note, root64 + "\n", root64 + "\nextra\n"),
       StatusCode::kUnauthenticated, "signature invalid"},
      {"another key, same name", by_other, StatusCode::kUnauthenticated,
       "no signature by sicher.example/audit+"},
      {"another key and name", by_stranger, StatusCode::kUnauthenticated,
       "no signature by sicher.example/audit+"},
      {"truncated", note.substr(0, note.size() - 1), StatusCode::kInvalidArgument,
       "malformed note: does not end in a newline"},
      {"truncated to the body", body, StatusCode::kInvalidArgument,
       "malformed note: no blank line"},
      {"no blank line", Replace(note, "\n\n", "\n"), StatusCode::kInvalidArgument,
       "malformed note: no blank line"},
      // The text ends at the last blank line, so it grows one: no longer what was signed.
      {"blank line doubled", Replace(note, "\n\n", "\n\n\n"), StatusCode::kUnauthenticated,
       "signature invalid"},
      {"ASCII dash", Replace(note, "\xE2\x80\x94", "-"), StatusCode::kInvalidArgument,
       "malformed note: a line after the blank line is not a signature line"},
      {"CRLF", Replace(note, "\n12345\n", "\r\n12345\n"), StatusCode::kInvalidArgument,
       "malformed note: contains a control character"},
  };
  for (const Case& c : cases) {
    Result<Checkpoint> result = log.verifier.VerifyCheckpoint(c.note);
    ASSERT_FALSE(result.ok()) << c.what;
    EXPECT_EQ(result.status().code(), c.code) << c.what << ": " << result.status().ToString();
    EXPECT_EQ(result.status().message().rfind(c.message_starts, 0), 0u)
        << c.what << ": " << result.status().ToString();
  }
  // Cut anywhere, the note never verifies.
  for (size_t n = 0; n < note.size(); ++n) {
    EXPECT_FALSE(log.verifier.VerifyCheckpoint(note.substr(0, n)).ok()) << n;
  }
  // Other signatures around ours do not matter.
  EXPECT_OK(log.verifier.VerifyCheckpoint(by_other + note.substr(body.size() + 1)));
}

TEST(CheckpointTest, SignedButMalformedCheckpointIsRefusedAfterVerifying) {
  Log log = NewLog("sicher.example/audit");
  const std::string root64 = Base64Encode(crypto::Sha256("root"));
  ASSERT_OK_AND_ASSIGN(std::string note,
                       log.signer.Sign("sicher.example/audit\n012\n" + root64 + "\n"));
  Result<Checkpoint> result = log.verifier.VerifyCheckpoint(note);
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message().rfind("malformed checkpoint: line 2", 0), 0u)
      << result.status().ToString();
  // The note itself is fine.
  EXPECT_OK(log.verifier.VerifyNote(note));
}

TEST(CheckpointTest, ParseIsStrict) {
  const std::string root = Base64Encode(crypto::Sha256("root"));
  const std::string root31 = Base64Encode(crypto::Sha256("root").substr(0, 31));
  const std::string root33 = Base64Encode(crypto::Sha256("root") + "!");
  std::string unpadded = root;
  unpadded.pop_back();
  std::string url_safe = Base64Encode(std::string(32, '\xfb'));  // all '+' and '/' in std base64
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  // "...A=" vs "...B=": same bytes but stray low bits in the last character.
  std::string stray_bits = Base64Encode(std::string(32, '\0'));
  stray_bits[stray_bits.size() - 2] = 'B';

  const std::string bad[] = {
      "",
      "o\n",
      "o\n1\n",
      "o\n1\n" + root,                            // no final newline
      "\n1\n" + root + "\n",                      // empty origin
      "o\n\n" + root + "\n",                      // empty size
      "o\n01\n" + root + "\n",                    // leading zero
      "o\n00\n" + root + "\n",                    // leading zero
      "o\n-1\n" + root + "\n",                    // sign
      "o\n+1\n" + root + "\n",                    // sign
      "o\n 1\n" + root + "\n",                    // space
      "o\n1 \n" + root + "\n",                    // space
      "o\n1a\n" + root + "\n",                    // not decimal
      "o\n0x10\n" + root + "\n",                  // not decimal
      "o\n18446744073709551616\n" + root + "\n",  // 2^64
      "o\n1\n" + root31 + "\n",                   // 31-byte root
      "o\n1\n" + root33 + "\n",                   // 33-byte root
      "o\n1\n" + unpadded + "\n",                 // unpadded
      "o\n1\n" + url_safe + "\n",                 // URL-safe alphabet
      "o\n1\n" + stray_bits + "\n",               // non-canonical
      "o\n1\n" + root + "\n\n",                   // blank line after the root
      "o\n1\n" + root + "\n\next\n",              // blank extension line
      "o\r\n1\n" + root + "\n",                   // CRLF
      "o\x01\n1\n" + root + "\n",                 // control character
      "o\xff\n1\n" + root + "\n",                 // not UTF-8
      "o\xed\xa0\x80\n1\n" + root + "\n",         // UTF-8 surrogate
  };
  for (const std::string& body : bad) {
    Result<Checkpoint> result = ParseCheckpointBody(body);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message().rfind("malformed checkpoint: ", 0), 0u)
        << result.status().ToString();
  }

  ASSERT_OK_AND_ASSIGN(Checkpoint max,
                       ParseCheckpointBody("o\n18446744073709551615\n" + root + "\n"));
  EXPECT_EQ(max.size, UINT64_MAX);
  ASSERT_OK_AND_ASSIGN(Checkpoint zero, ParseCheckpointBody("o\n0\n" + root + "\n"));
  EXPECT_EQ(zero.size, 0u);
  // Origins need not be URLs: anything on one line goes.
  ASSERT_OK_AND_ASSIGN(Checkpoint odd, ParseCheckpointBody("a log + spaces\n7\n" + root + "\n"));
  EXPECT_EQ(odd.origin, "a log + spaces");
}

TEST(CheckpointTest, SizeBounds) {
  const std::string root = Base64Encode(crypto::Sha256("root"));
  std::string body = "o\n1\n" + root + "\n";
  for (size_t i = 3; i < kMaxCheckpointLines; ++i) body += "e\n";
  ASSERT_OK_AND_ASSIGN(Checkpoint full, ParseCheckpointBody(body));
  EXPECT_EQ(full.extensions.size(), kMaxCheckpointLines - 3);
  Result<Checkpoint> over = ParseCheckpointBody(body + "e\n");
  EXPECT_EQ(over.status().message(), "malformed checkpoint: more than 100 lines");

  // The same limit holds for checkpoints built in memory.
  Checkpoint checkpoint = SampleCheckpoint();
  checkpoint.extensions.assign(kMaxCheckpointLines - 3, "e");
  EXPECT_OK(ValidateCheckpoint(checkpoint));
  checkpoint.extensions.push_back("e");
  EXPECT_FALSE(ValidateCheckpoint(checkpoint).ok());

  // A body of exactly 64 KiB parses; one byte more does not.
  const std::string head = "o\n1\n" + root + "\n";
  const std::string at_limit = head + std::string(kMaxNoteBytes - head.size() - 1, 'x') + "\n";
  ASSERT_EQ(at_limit.size(), kMaxNoteBytes);
  EXPECT_OK(ParseCheckpointBody(at_limit));
  EXPECT_EQ(ParseCheckpointBody("x" + at_limit).status().message(),
            "malformed checkpoint: larger than 64 KiB");

  // A note over 64 KiB is refused before anything else is looked at.
  Log log = NewLog("sicher.example/audit");
  ASSERT_OK_AND_ASSIGN(std::string note, log.signer.Sign(CheckpointBody(SampleCheckpoint())));
  Result<Checkpoint> huge = log.verifier.VerifyCheckpoint(note + std::string(kMaxNoteBytes, 'x'));
  EXPECT_EQ(huge.status().message(), "malformed note: larger than 64 KiB");
}

TEST(CheckpointTest, ValidateNamesTheProblem) {
  Checkpoint checkpoint = SampleCheckpoint();
  EXPECT_OK(ValidateCheckpoint(checkpoint));
  checkpoint.origin = "two\nlines";
  EXPECT_EQ(ValidateCheckpoint(checkpoint).message(), "checkpoint origin contains a newline");
  checkpoint = SampleCheckpoint();
  checkpoint.origin = "";
  EXPECT_FALSE(ValidateCheckpoint(checkpoint).ok());
  checkpoint = SampleCheckpoint();
  checkpoint.root_hash = "short";
  EXPECT_EQ(ValidateCheckpoint(checkpoint).message(), "checkpoint root hash is 5 bytes, not 32");
  checkpoint = SampleCheckpoint();
  checkpoint.extensions = {""};
  EXPECT_FALSE(ValidateCheckpoint(checkpoint).ok());
  checkpoint.extensions = {"a\nb"};
  EXPECT_EQ(ValidateCheckpoint(checkpoint).message(),
            "checkpoint extension line contains a newline");
}

TEST(CheckpointDeathTest, BodyOfInvalidCheckpointIsABug) {
  Checkpoint checkpoint = SampleCheckpoint();
  checkpoint.root_hash = "short";
  EXPECT_DEATH(CheckpointBody(checkpoint), "CHECK_OK failed");
}

}  // namespace
}  // namespace sicher::audit
