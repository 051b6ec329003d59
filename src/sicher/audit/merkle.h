#pragma once
// The audit log's Merkle tree: RFC 6962 / RFC 9162 section 2.1 hashing, inclusion and consistency
// proofs, over storage the caller provides.
//
//   leaf hash  = SHA-256(0x00 || record)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//
// Storage layout. A tree is stored as its *perfect subtrees* only: node (level, index) is the hash
// of the 2^level leaves [index << level, (index + 1) << level), and it exists once all of them
// do; level 0 holds the leaf hashes. Nodes never change once written, so a store is append-only.
// Hashes of the other subtrees that roots and proofs need (RFC 6962's MTH of a range whose size
// is not a power of two) are computed from the perfect nodes that make them up, so every
// algorithm here reads only stored nodes: O(log n) of them for a root, an append, an inclusion
// proof or a consistency proof.
//
// NodeReader is the storage interface; the database implements it, and MemoryTree is an
// in-memory implementation for tests and benchmarks.
//
// Failure: arguments that no tree allows (a leaf index past the end, size1 > size2, hashes that
// are not 32 bytes, a proof of the wrong length) are InvalidArgument. A proof that is well formed
// but does not lead to the given root is DataLoss: the log, the proof or the root has been
// tampered with or corrupted. Errors from the NodeReader are returned as they are (NotFound for a
// node past the end of the stored tree). Messages name what failed, never record contents.
//
// Thread-safety: the free functions keep no state; they are as thread-safe as the NodeReader they
// are given. MemoryTree is not thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sicher/base/status.h"

namespace sicher::audit {

inline constexpr size_t kMerkleHashBytes = 32;

// RFC 6962 section 2.1 hashes (all 32 raw bytes).
std::string LeafHash(std::string_view record);
std::string NodeHash(std::string_view left, std::string_view right);
std::string EmptyRootHash();

// The perfect-subtree nodes of one tree (see the layout above).
class NodeReader {
 public:
  virtual ~NodeReader() = default;
  // The 32-byte hash of node (level, index); NotFound if it is not stored.
  virtual Result<std::string> Node(int level, uint64_t index) = 0;
};

struct NodeWrite {
  int level = 0;
  uint64_t index = 0;
  std::string hash;
};

// Appending leaf number `tree_size` (0-based) to a tree of `tree_size` leaves: the nodes that
// become complete, level 0 (the leaf itself) first, then each parent the append completes. Reads
// one stored left sibling per parent: at most log2(tree_size + 1) reads. The caller writes the
// result (atomically with the leaf, for a database). InvalidArgument if `leaf_hash` is not 32
// bytes or the tree is full (2^64 - 1 leaves).
Result<std::vector<NodeWrite>> AppendLeaf(NodeReader& nodes, uint64_t tree_size,
                                          std::string_view leaf_hash);

// The root of the tree's first `tree_size` leaves (any size up to the stored one: older roots are
// still computable). EmptyRootHash() for 0.
Result<std::string> RootHash(NodeReader& nodes, uint64_t tree_size);

// RFC 9162 section 2.1.3.1: the audit path of leaf `leaf_index` in the tree of `tree_size`
// leaves, from the leaf's sibling up. InvalidArgument if leaf_index >= tree_size.
Result<std::vector<std::string>> InclusionProof(NodeReader& nodes, uint64_t leaf_index,
                                                uint64_t tree_size);

// RFC 9162 section 2.1.4.1: the proof that the tree of `size1` leaves is a prefix of the tree of
// `size2` leaves. Empty if size1 == size2. InvalidArgument unless 0 < size1 <= size2.
Result<std::vector<std::string>> ConsistencyProof(NodeReader& nodes, uint64_t size1,
                                                  uint64_t size2);

// RFC 9162 section 2.1.3.2: OK if `proof` shows that the leaf with hash `leaf_hash` is leaf
// `leaf_index` of the tree of `tree_size` leaves whose root is `root`.
Status VerifyInclusion(std::string_view leaf_hash, uint64_t leaf_index, uint64_t tree_size,
                       std::span<const std::string> proof, std::string_view root);

// RFC 9162 section 2.1.4.2: OK if `proof` shows that the tree of `size1` leaves with root `root1`
// is a prefix of the tree of `size2` leaves with root `root2`. Two trees of the same size are
// consistent if their roots are equal (the proof must be empty); the empty tree (size1 == 0,
// root1 == EmptyRootHash(), empty proof) is consistent with every tree. InvalidArgument if
// size1 > size2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                         std::string_view root1, std::string_view root2);

// An in-memory tree: every perfect-subtree node, level by level. For tests, benchmarks and
// offline verification of small logs.
class MemoryTree : public NodeReader {
 public:
  // Appends the leaf with hash `leaf_hash` (32 bytes; anything else is a bug and crashes).
  void Append(std::string_view leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }

  Result<std::string> Node(int level, uint64_t index) override;

 private:
  using Hash = std::array<char, kMerkleHashBytes>;
  std::vector<std::vector<Hash>> levels_;  // levels_[level][index]
};

}  // namespace sicher::audit
