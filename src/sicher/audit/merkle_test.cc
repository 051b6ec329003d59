#include "sicher/audit/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sicher/base/bytes.h"
#include "sicher/crypto/hash.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::audit {
namespace {

std::string Unhex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

std::vector<std::string> UnhexAll(std::initializer_list<const char*> hexes) {
  std::vector<std::string> out;
  for (const char* h : hexes) out.push_back(Unhex(h));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reference vectors. The eight leaf inputs, the roots of the trees of 1..8 leaves and the known
// proofs come from Certificate Transparency's reference tests (google/certificate-transparency
// cpp/merkletree/merkle_tree_test.cc: kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs) and
// their Go successor (transparency-dev/merkle proof/verify_test.go: leaves, roots,
// inclusionProofs, consistencyProofs, which adds the 6 -> 7 consistency proof). Those files number
// leaves from 1; the indexes below are 0-based.

constexpr const char* kInputs[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

constexpr const char* kRoots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

constexpr const char* kEmptyRoot =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct InclusionVector {
  uint64_t leaf_index;  // 0-based
  uint64_t tree_size;
  std::vector<std::string> proof;
};

std::vector<InclusionVector> InclusionVectors() {
  return {
      {0, 1, {}},
      {0, 8,
       UnhexAll({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       UnhexAll({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, UnhexAll({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       UnhexAll({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
}

struct ConsistencyVector {
  uint64_t size1;
  uint64_t size2;
  std::vector<std::string> proof;
};

std::vector<ConsistencyVector> ConsistencyVectors() {
  return {
      {1, 1, {}},
      {1, 8,
       UnhexAll({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       UnhexAll({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       UnhexAll({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       UnhexAll({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
}

MemoryTree ReferenceTree() {
  MemoryTree tree;
  for (const char* input : kInputs) tree.Append(LeafHash(Unhex(input)));
  return tree;
}

// ---------------------------------------------------------------------------------------------
// A naive implementation straight from RFC 6962 section 2.1, over the leaf hashes, to check the
// stored-node algorithms against. Memoized so the property tests stay fast; the values are
// still only the recursive definitions.
class NaiveTree {
 public:
  explicit NaiveTree(std::vector<std::string> leaf_hashes) : leaves_(std::move(leaf_hashes)) {}

  // MTH(D[begin:end]).
  const std::string& Mth(uint64_t begin, uint64_t end) {
    auto it = cache_.find({begin, end});
    if (it != cache_.end()) return it->second;
    std::string hash;
    if (end == begin) {
      hash = crypto::Sha256("");
    } else if (end - begin == 1) {
      hash = leaves_[begin];
    } else {
      const uint64_t k = Split(end - begin);
      hash = NodeHash(Mth(begin, begin + k), Mth(begin + k, end));
    }
    return cache_.emplace(std::make_pair(begin, end), std::move(hash)).first->second;
  }

  // PATH(m, D[begin:end]), m relative to begin.
  std::vector<std::string> Path(uint64_t m, uint64_t begin, uint64_t end) {
    const uint64_t n = end - begin;
    if (n == 1) return {};
    const uint64_t k = Split(n);
    std::vector<std::string> path;
    if (m < k) {
      path = Path(m, begin, begin + k);
      path.push_back(Mth(begin + k, end));
    } else {
      path = Path(m - k, begin + k, end);
      path.push_back(Mth(begin, begin + k));
    }
    return path;
  }

  // SUBPROOF(m, D[begin:end], b), m relative to begin.
  std::vector<std::string> Subproof(uint64_t m, uint64_t begin, uint64_t end, bool b) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (b) return {};
      return {Mth(begin, end)};
    }
    const uint64_t k = Split(n);
    std::vector<std::string> proof;
    if (m <= k) {
      proof = Subproof(m, begin, begin + k, b);
      proof.push_back(Mth(begin + k, end));
    } else {
      proof = Subproof(m - k, begin + k, end, false);
      proof.push_back(Mth(begin, begin + k));
    }
    return proof;
  }

 private:
  // The largest power of two smaller than n, by counting rather than bit tricks.
  static uint64_t Split(uint64_t n) {
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  std::vector<std::string> leaves_;
  std::map<std::pair<uint64_t, uint64_t>, std::string> cache_;
};

// Counts reads, to check that the algorithms stay within O(log n) of them.
class CountingReader : public NodeReader {
 public:
  explicit CountingReader(NodeReader& inner) : inner_(inner) {}
  Result<std::string> Node(int level, uint64_t index) override {
    ++reads;
    return inner_.Node(level, index);
  }
  int reads = 0;

 private:
  NodeReader& inner_;
};

// A huge tree that is never materialized: every node of a tree of `size` leaves "exists" and its
// hash is a function of its position. Good only for counting reads.
class SyntheticTree : public NodeReader {
 public:
  explicit SyntheticTree(uint64_t size) : size_(size) {}
  Result<std::string> Node(int level, uint64_t index) override {
    ++reads;
    if (level >= 64 || (index + 1) > (size_ >> level)) return NotFoundError("absent");
    return crypto::Sha256(std::to_string(level) + "/" + std::to_string(index));
  }
  int reads = 0;

 private:
  uint64_t size_;
};

// ---------------------------------------------------------------------------------------------
// Hashing and the reference vectors.

TEST(MerkleTest, EmptyTree) {
  EXPECT_EQ(HexEncode(EmptyRootHash()), kEmptyRoot);
  MemoryTree tree;
  EXPECT_EQ(tree.size(), 0u);
  ASSERT_OK_AND_ASSIGN(std::string root, RootHash(tree, 0));
  EXPECT_EQ(HexEncode(root), kEmptyRoot);
}

TEST(MerkleTest, LeafAndNodeHashesAreDomainSeparated) {
  // leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r).
  EXPECT_EQ(LeafHash("abc"), crypto::Sha256(std::string("\x00", 1) + "abc"));
  const std::string l(32, 'l');
  const std::string r(32, 'r');
  EXPECT_EQ(NodeHash(l, r), crypto::Sha256("\x01" + l + r));
  // The first reference root is the leaf hash of the empty input.
  EXPECT_EQ(HexEncode(LeafHash("")), kRoots[0]);
}

TEST(MerkleTest, ReferenceRoots) {
  MemoryTree tree;
  for (size_t i = 0; i < 8; ++i) {
    tree.Append(LeafHash(Unhex(kInputs[i])));
    ASSERT_EQ(tree.size(), i + 1);
    ASSERT_OK_AND_ASSIGN(std::string root, RootHash(tree, i + 1));
    EXPECT_EQ(HexEncode(root), kRoots[i]) << "size " << i + 1;
    // Every older root stays computable from the grown tree.
    for (size_t j = 0; j <= i; ++j) {
      ASSERT_OK_AND_ASSIGN(std::string old_root, RootHash(tree, j + 1));
      EXPECT_EQ(HexEncode(old_root), kRoots[j]) << "size " << j + 1 << " within " << i + 1;
    }
  }
}

TEST(MerkleTest, ReferenceInclusionProofs) {
  MemoryTree tree = ReferenceTree();
  for (const InclusionVector& v : InclusionVectors()) {
    SCOPED_TRACE("leaf " + std::to_string(v.leaf_index) + " of " + std::to_string(v.tree_size));
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof,
                         InclusionProof(tree, v.leaf_index, v.tree_size));
    EXPECT_EQ(proof, v.proof);
    EXPECT_OK(VerifyInclusion(LeafHash(Unhex(kInputs[v.leaf_index])), v.leaf_index, v.tree_size,
                              v.proof, Unhex(kRoots[v.tree_size - 1])));
  }
}

TEST(MerkleTest, ReferenceConsistencyProofs) {
  MemoryTree tree = ReferenceTree();
  for (const ConsistencyVector& v : ConsistencyVectors()) {
    SCOPED_TRACE(std::to_string(v.size1) + " -> " + std::to_string(v.size2));
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, ConsistencyProof(tree, v.size1, v.size2));
    EXPECT_EQ(proof, v.proof);
    EXPECT_OK(VerifyConsistency(v.size1, v.size2, v.proof, Unhex(kRoots[v.size1 - 1]),
                                Unhex(kRoots[v.size2 - 1])));
  }
}

// ---------------------------------------------------------------------------------------------
// Tampering: each known-good proof, mutated the ways the reference tests mutate them, must fail.
// (Not "size + 1": a proof binds a leaf to a root, and the path to leaf i can have the same shape
// in trees of n and n + 1 leaves, e.g. leaf 0 of 3 and of 4. The root itself is what a verifier
// must already trust for its size.)

std::vector<std::string> FlipBit(std::vector<std::string> proof, size_t i, int bit) {
  proof[i][0] = static_cast<char>(proof[i][0] ^ (1 << bit));
  return proof;
}

void ExpectInclusionTamperingFails(const std::string& leaf_hash, uint64_t index, uint64_t size,
                                   const std::vector<std::string>& proof, const std::string& root) {
  ASSERT_OK(VerifyInclusion(leaf_hash, index, size, proof, root));
  auto fails = [&](uint64_t i, uint64_t n, const std::vector<std::string>& p,
                   const std::string& leaf, const std::string& r, const char* what) {
    EXPECT_FALSE(VerifyInclusion(leaf, i, n, p, r).ok())
        << what << " (leaf " << index << " of " << size << ")";
  };
  if (index > 0) fails(index - 1, size, proof, leaf_hash, root, "index - 1");
  fails(index + 1, size, proof, leaf_hash, root, "index + 1");
  fails(index ^ 2, size, proof, leaf_hash, root, "index ^ 2");
  fails(index, size * 2, proof, leaf_hash, root, "size * 2");
  fails(index, size / 2, proof, leaf_hash, root, "size / 2");
  fails(index, size, proof, LeafHash("WrongLeaf"), root, "wrong leaf");
  fails(index, size, proof, "WrongLeaf", root, "short leaf");
  fails(index, size, proof, leaf_hash, EmptyRootHash(), "empty root");
  fails(index, size, proof, leaf_hash, crypto::Sha256("some root"), "random root");
  for (const std::string& extra : {std::string(), root, std::string(32, '\0')}) {
    std::vector<std::string> longer = proof;
    longer.push_back(extra);
    fails(index, size, longer, leaf_hash, root, "trailing garbage");
    longer = proof;
    longer.insert(longer.begin(), extra);
    fails(index, size, longer, leaf_hash, root, "preceding garbage");
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    fails(index, size, FlipBit(proof, i, 3), leaf_hash, root, "flipped bit");
  }
  if (!proof.empty()) {
    std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
    fails(index, size, shorter, leaf_hash, root, "removed last");
  }
  if (proof.size() > 1) {
    std::vector<std::string> swapped = proof;
    std::swap(swapped[0], swapped[1]);
    if (swapped != proof) fails(index, size, swapped, leaf_hash, root, "swapped");
  }
}

void ExpectConsistencyTamperingFails(uint64_t size1, uint64_t size2,
                                     const std::vector<std::string>& proof,
                                     const std::string& root1, const std::string& root2) {
  ASSERT_OK(VerifyConsistency(size1, size2, proof, root1, root2));
  auto fails = [&](uint64_t m, uint64_t n, const std::vector<std::string>& p, const std::string& r1,
                   const std::string& r2, const char* what) {
    EXPECT_FALSE(VerifyConsistency(m, n, p, r1, r2).ok())
        << what << " (" << size1 << " -> " << size2 << ")";
  };
  // Wrong roots fail for every proof, trivial ones included.
  fails(size1, size2, proof, crypto::Sha256("WrongRoot"), root2, "wrong root1");
  fails(size1, size2, proof, root1, crypto::Sha256("WrongRoot"), "wrong root2");
  fails(size1, size2, proof, "WrongRoot", root2, "short root1");
  if (root1 == root2) return;  // size1 == size2: nothing else to mutate
  fails(size1, size2, proof, root2, root1, "swapped roots");
  fails(size1 - 1, size2, proof, root1, root2, "size1 - 1");
  fails(size1 + 1, size2, proof, root1, root2, "size1 + 1");
  if ((size1 ^ 2) != size1) fails(size1 ^ 2, size2, proof, root1, root2, "size1 ^ 2");
  fails(size1, size2 * 2, proof, root1, root2, "size2 * 2");
  fails(size1, size2 / 2, proof, root1, root2, "size2 / 2");
  fails(size1, size2, {}, root1, root2, "empty proof");
  for (const std::string& extra : {std::string(), root1, root2, proof[0]}) {
    std::vector<std::string> longer = proof;
    longer.push_back(extra);
    fails(size1, size2, longer, root1, root2, "trailing garbage");
    longer = proof;
    longer.insert(longer.begin(), extra);
    fails(size1, size2, longer, root1, root2, "preceding garbage");
  }
  std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
  fails(size1, size2, shorter, root1, root2, "truncated");
  for (size_t i = 0; i < proof.size(); ++i) {
    fails(size1, size2, FlipBit(proof, i, 4), root1, root2, "flipped bit");
  }
}

TEST(MerkleTest, TamperedReferenceInclusionProofsFail) {
  for (const InclusionVector& v : InclusionVectors()) {
    ExpectInclusionTamperingFails(LeafHash(Unhex(kInputs[v.leaf_index])), v.leaf_index, v.tree_size,
                                  v.proof, Unhex(kRoots[v.tree_size - 1]));
  }
}

TEST(MerkleTest, TamperedReferenceConsistencyProofsFail) {
  for (const ConsistencyVector& v : ConsistencyVectors()) {
    ExpectConsistencyTamperingFails(v.size1, v.size2, v.proof, Unhex(kRoots[v.size1 - 1]),
                                    Unhex(kRoots[v.size2 - 1]));
  }
}

// ---------------------------------------------------------------------------------------------
// Properties over every small tree: the stored-node algorithms agree with RFC 6962's recursive
// definitions, and their proofs verify (and stop verifying when mutated).

constexpr uint64_t kMaxSize = 130;

struct Fixture {
  MemoryTree tree;
  std::vector<std::string> leaves;
};

Fixture BuildTree(uint64_t size) {
  Fixture f;
  for (uint64_t i = 0; i < size; ++i) {
    f.leaves.push_back(LeafHash("record " + std::to_string(i)));
    f.tree.Append(f.leaves.back());
  }
  return f;
}

TEST(MerklePropertyTest, RootsMatchRecursiveDefinition) {
  Fixture f = BuildTree(kMaxSize);
  NaiveTree naive(f.leaves);
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    ASSERT_OK_AND_ASSIGN(std::string root, RootHash(f.tree, n));
    EXPECT_EQ(root, naive.Mth(0, n)) << "size " << n;
  }
}

TEST(MerklePropertyTest, IncrementalRootsMatch) {
  // Building leaf by leaf gives the same stored nodes as building at once: check the root at
  // each step of a fresh tree against the full tree's historical root.
  Fixture full = BuildTree(kMaxSize);
  MemoryTree growing;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    growing.Append(full.leaves[n - 1]);
    ASSERT_OK_AND_ASSIGN(std::string a, RootHash(growing, n));
    ASSERT_OK_AND_ASSIGN(std::string b, RootHash(full.tree, n));
    EXPECT_EQ(a, b) << "size " << n;
  }
}

TEST(MerklePropertyTest, EveryInclusionProofMatchesAndVerifies) {
  Fixture f = BuildTree(kMaxSize);
  NaiveTree naive(f.leaves);
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const std::string root = naive.Mth(0, n);
    for (uint64_t i = 0; i < n; ++i) {
      ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, InclusionProof(f.tree, i, n));
      ASSERT_EQ(proof, naive.Path(i, 0, n)) << "leaf " << i << " of " << n;
      ExpectInclusionTamperingFails(f.leaves[i], i, n, proof, root);
      // The proof is specific to its leaf.
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(f.leaves[(i + 1) % n], i, n, proof, root).ok());
      }
    }
  }
}

TEST(MerklePropertyTest, EveryConsistencyProofMatchesAndVerifies) {
  Fixture f = BuildTree(kMaxSize);
  NaiveTree naive(f.leaves);
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, ConsistencyProof(f.tree, m, n));
      ASSERT_EQ(proof, naive.Subproof(m, 0, n, true)) << m << " -> " << n;
      ExpectConsistencyTamperingFails(m, n, proof, naive.Mth(0, m), naive.Mth(0, n));
    }
  }
}

TEST(MerklePropertyTest, ConsistencyFailsAcrossForkedHistories) {
  // Two logs that share a prefix of 37 leaves and then diverge: no proof from the first log
  // convinces a verifier holding the second's older root, except over the shared prefix.
  Fixture a = BuildTree(64);
  MemoryTree b;
  for (uint64_t i = 0; i < 64; ++i) {
    b.Append(i < 37 ? a.leaves[i] : LeafHash("forked " + std::to_string(i)));
  }
  for (uint64_t m = 1; m <= 64; ++m) {
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, ConsistencyProof(a.tree, m, 64));
    ASSERT_OK_AND_ASSIGN(std::string a_root, RootHash(a.tree, 64));
    ASSERT_OK_AND_ASSIGN(std::string b_old_root, RootHash(b, m));
    EXPECT_EQ(VerifyConsistency(m, 64, proof, b_old_root, a_root).ok(), m <= 37) << m;
  }
}

// ---------------------------------------------------------------------------------------------
// The storage contract: what AppendLeaf writes, and how much every algorithm reads.

TEST(MerkleTest, AppendLeafWritesCompletedNodes) {
  Fixture f = BuildTree(7);
  const std::string leaf = LeafHash("record 7");
  CountingReader reader(f.tree);
  ASSERT_OK_AND_ASSIGN(std::vector<NodeWrite> writes, AppendLeaf(reader, 7, leaf));
  // Leaf 7 completes (1, 3), (2, 1) and the root (3, 0), reading their three left siblings.
  ASSERT_EQ(writes.size(), 4u);
  EXPECT_EQ(reader.reads, 3);
  const std::pair<int, uint64_t> want[] = {{0, 7}, {1, 3}, {2, 1}, {3, 0}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(writes[i].level, want[i].first);
    EXPECT_EQ(writes[i].index, want[i].second);
  }
  EXPECT_EQ(writes[0].hash, leaf);
  f.leaves.push_back(leaf);
  NaiveTree naive(f.leaves);
  EXPECT_EQ(writes[1].hash, naive.Mth(6, 8));
  EXPECT_EQ(writes[2].hash, naive.Mth(4, 8));
  EXPECT_EQ(writes[3].hash, naive.Mth(0, 8));

  // An even leaf completes nothing above itself and reads nothing.
  CountingReader reader2(f.tree);
  ASSERT_OK_AND_ASSIGN(std::vector<NodeWrite> even, AppendLeaf(reader2, 6, leaf));
  EXPECT_EQ(even.size(), 1u);
  EXPECT_EQ(reader2.reads, 0);
}

TEST(MerkleTest, ReadsStayLogarithmicInHugeTrees) {
  const uint64_t n = (uint64_t{1} << 40) - 1;  // 40 perfect subtrees, the worst case
  {
    SyntheticTree tree(n);
    ASSERT_OK(AppendLeaf(tree, n, LeafHash("x")));
    EXPECT_EQ(tree.reads, 40);  // leaf n completes 40 parents
  }
  {
    SyntheticTree tree(n);
    ASSERT_OK(RootHash(tree, n));
    EXPECT_EQ(tree.reads, 40);
  }
  for (uint64_t leaf : {uint64_t{0}, uint64_t{12345}, n / 2, n - 2, n - 1}) {
    SyntheticTree tree(n);
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, InclusionProof(tree, leaf, n));
    EXPECT_LE(proof.size(), 40u);
    EXPECT_LE(tree.reads, 80) << leaf;
  }
  for (uint64_t m : {uint64_t{1}, uint64_t{12345}, n / 2, n - 2, n - 1}) {
    SyntheticTree tree(n);
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> proof, ConsistencyProof(tree, m, n));
    EXPECT_LE(proof.size(), 41u);
    EXPECT_LE(tree.reads, 120) << m;
  }
}

TEST(MerklePropertyTest, ReadsAreBoundedForEverySmallTree) {
  Fixture f = BuildTree(kMaxSize);
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const int log = static_cast<int>(std::bit_width(n));
    {
      CountingReader reader(f.tree);
      ASSERT_OK(RootHash(reader, n));
      EXPECT_EQ(reader.reads, std::popcount(n));
    }
    for (uint64_t i = 0; i < n; ++i) {
      CountingReader reader(f.tree);
      ASSERT_OK(InclusionProof(reader, i, n));
      EXPECT_LE(reader.reads, 2 * log) << i << " of " << n;
    }
    for (uint64_t m = 1; m <= n; ++m) {
      CountingReader reader(f.tree);
      ASSERT_OK(ConsistencyProof(reader, m, n));
      EXPECT_LE(reader.reads, 3 * log) << m << " -> " << n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(MerkleTest, RejectsImpossibleArguments) {
  Fixture f = BuildTree(8);
  EXPECT_EQ(InclusionProof(f.tree, 8, 8).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InclusionProof(f.tree, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(f.tree, 0, 8).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(f.tree, 5, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendLeaf(f.tree, 8, "short").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendLeaf(f.tree, UINT64_MAX, LeafHash("x")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MerkleTest, ReadingPastTheStoredTreeIsNotFound) {
  Fixture f = BuildTree(8);
  EXPECT_EQ(f.tree.Node(0, 8).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.tree.Node(4, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.tree.Node(-1, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RootHash(f.tree, 9).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(InclusionProof(f.tree, 0, 9).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ConsistencyProof(f.tree, 3, 9).status().code(), StatusCode::kNotFound);
  // Appending out of order needs a node that is not there.
  EXPECT_EQ(AppendLeaf(f.tree, 11, LeafHash("x")).status().code(), StatusCode::kNotFound);
}

class CorruptReader : public NodeReader {
 public:
  Result<std::string> Node(int, uint64_t) override { return std::string("not a hash"); }
};

TEST(MerkleTest, CorruptStoredNodeIsDataLoss) {
  CorruptReader reader;
  Result<std::string> root = RootHash(reader, 3);
  EXPECT_EQ(root.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(root.status().message().find("stored Merkle node"), std::string::npos);
}

TEST(MerkleTest, VerifyErrorsSayWhatFailed) {
  MemoryTree tree = ReferenceTree();
  const std::string root8 = Unhex(kRoots[7]);
  const std::string root6 = Unhex(kRoots[5]);
  const std::string leaf0 = LeafHash(Unhex(kInputs[0]));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> inclusion, InclusionProof(tree, 0, 8));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> consistency, ConsistencyProof(tree, 6, 8));

  Status s = VerifyInclusion(leaf0, 8, 8, inclusion, root8);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not in a tree of 8 leaves"), std::string::npos) << s.ToString();

  s = VerifyInclusion(leaf0, 0, 8, std::vector<std::string>(inclusion.begin(), inclusion.end() - 1),
                      root8);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("has 2 hashes"), std::string::npos) << s.ToString();

  s = VerifyInclusion(leaf0, 0, 8, inclusion, root6);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("does not lead to the root"), std::string::npos) << s.ToString();

  s = VerifyInclusion(leaf0, 0, 8, inclusion, "short");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("root hash"), std::string::npos) << s.ToString();

  s = VerifyConsistency(8, 6, consistency, root8, root6);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("backwards"), std::string::npos) << s.ToString();

  s = VerifyConsistency(6, 8, consistency, Unhex(kRoots[4]), root8);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("first root"), std::string::npos) << s.ToString();

  s = VerifyConsistency(6, 8, consistency, root6, Unhex(kRoots[6]));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("second root"), std::string::npos) << s.ToString();

  s = VerifyConsistency(6, 6, {}, root6, root8);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
}

TEST(MerkleTest, TrivialConsistency) {
  const std::string root8 = Unhex(kRoots[7]);
  // Same size, same root, no proof.
  EXPECT_OK(VerifyConsistency(8, 8, {}, root8, root8));
  EXPECT_FALSE(VerifyConsistency(8, 8, std::vector<std::string>{root8}, root8, root8).ok());
  // The empty tree is a prefix of every tree, but only with its own root and no proof.
  EXPECT_OK(VerifyConsistency(0, 8, {}, EmptyRootHash(), root8));
  EXPECT_OK(VerifyConsistency(0, 0, {}, EmptyRootHash(), EmptyRootHash()));
  EXPECT_FALSE(VerifyConsistency(0, 0, {}, EmptyRootHash(), root8).ok());
  EXPECT_FALSE(VerifyConsistency(0, 8, {}, root8, root8).ok());
  EXPECT_FALSE(
      VerifyConsistency(0, 8, std::vector<std::string>{EmptyRootHash()}, EmptyRootHash(), root8)
          .ok());
  // Growing needs a proof.
  EXPECT_FALSE(VerifyConsistency(1, 2, {}, Unhex(kRoots[0]), Unhex(kRoots[1])).ok());
}

}  // namespace
}  // namespace sicher::audit
