#include "sicher/audit/merkle.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "sicher/base/check.h"
#include "sicher/crypto/hash.h"

namespace sicher::audit {
namespace {

// A range of leaves [begin, end) whose RFC 6962 hash a proof needs.
struct Range {
  uint64_t begin;
  uint64_t end;
};

// RFC 6962's k: the largest power of two smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

std::string Where(int level, uint64_t index) {
  return "(" + std::to_string(level) + ", " + std::to_string(index) + ")";
}

Result<std::string> ReadNode(NodeReader& nodes, int level, uint64_t index) {
  ASSIGN_OR_RETURN(std::string hash, nodes.Node(level, index));
  // A store that hands back something else is corrupt; better to say so than to hash garbage.
  if (hash.size() != kMerkleHashBytes) {
    return DataLossError("stored Merkle node " + Where(level, index) + " is " +
                         std::to_string(hash.size()) + " bytes, not 32");
  }
  return hash;
}

// The RFC 6962 hash (MTH) of leaves [begin, end). Every range the proofs and roots need starts
// at a multiple of the smallest power of two >= its size, so it is a run of perfect subtrees
// of decreasing size, one per set bit of the size, and its hash folds them from the right:
// MTH = H(first, H(second, ... last)).
Result<std::string> RangeHash(NodeReader& nodes, Range range) {
  const uint64_t size = range.end - range.begin;
  CHECK(size > 0);
  std::vector<std::string> parts;
  uint64_t start = range.begin;
  for (int level = static_cast<int>(std::bit_width(size)) - 1; level >= 0; --level) {
    if (((size >> level) & 1) == 0) continue;
    CHECK(start % (uint64_t{1} << level) == 0);
    ASSIGN_OR_RETURN(std::string hash, ReadNode(nodes, level, start >> level));
    parts.push_back(std::move(hash));
    start += uint64_t{1} << level;
  }
  std::string hash = std::move(parts.back());
  for (size_t i = parts.size() - 1; i-- > 0;) hash = NodeHash(parts[i], hash);
  return hash;
}

// RFC 9162 2.1.3.1 PATH(m, D[n]) as leaf ranges, bottom-up. Recursing into one half and keeping
// the other as a proof element; only the first right-hand range taken can be imperfect, so the
// hashes cost O(log n) reads in total.
std::vector<Range> InclusionRanges(uint64_t leaf_index, uint64_t tree_size) {
  std::vector<Range> ranges;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    const uint64_t k = SplitPoint(end - begin);
    if (leaf_index < begin + k) {
      ranges.push_back({begin + k, end});
      end = begin + k;
    } else {
      ranges.push_back({begin, begin + k});
      begin += k;
    }
  }
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[n], true) as leaf ranges, bottom-up (0 < m <= n).
std::vector<Range> ConsistencyRanges(uint64_t size1, uint64_t size2) {
  std::vector<Range> ranges;
  uint64_t begin = 0;
  uint64_t end = size2;
  bool whole_old_tree = true;  // RFC's b: is [begin, end) still a tree the verifier knows?
  while (size1 != end) {
    const uint64_t k = SplitPoint(end - begin);
    if (size1 <= begin + k) {
      ranges.push_back({begin + k, end});
      end = begin + k;
    } else {
      ranges.push_back({begin, begin + k});
      begin += k;
      whole_old_tree = false;
    }
  }
  // SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree's last subtree, which the verifier
  // cannot compute from root1 alone.
  if (!whole_old_tree) ranges.push_back({begin, end});
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

Result<std::vector<std::string>> HashRanges(NodeReader& nodes, const std::vector<Range>& ranges) {
  std::vector<std::string> hashes;
  hashes.reserve(ranges.size());
  for (const Range& range : ranges) {
    ASSIGN_OR_RETURN(std::string hash, RangeHash(nodes, range));
    hashes.push_back(std::move(hash));
  }
  return hashes;
}

Status CheckHash(std::string_view what, std::string_view hash) {
  if (hash.size() != kMerkleHashBytes) {
    return InvalidArgumentError(std::string(what) + " is " + std::to_string(hash.size()) +
                                " bytes, not 32");
  }
  return OkStatus();
}

Status CheckProof(std::string_view what, std::span<const std::string> proof, size_t want) {
  if (proof.size() != want) {
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(proof.size()) +
                                " hashes; a proof for these sizes has " + std::to_string(want));
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    RETURN_IF_ERROR(CheckHash(std::string(what) + " hash " + std::to_string(i), proof[i]));
  }
  return OkStatus();
}

}  // namespace

std::string LeafHash(std::string_view record) {
  return crypto::Sha256({std::string_view("\x00", 1), record});
}

std::string NodeHash(std::string_view left, std::string_view right) {
  return crypto::Sha256({std::string_view("\x01", 1), left, right});
}

std::string EmptyRootHash() { return crypto::Sha256(""); }

Result<std::vector<NodeWrite>> AppendLeaf(NodeReader& nodes, uint64_t tree_size,
                                          std::string_view leaf_hash) {
  RETURN_IF_ERROR(CheckHash("leaf hash", leaf_hash));
  if (tree_size == std::numeric_limits<uint64_t>::max()) {
    return InvalidArgumentError("Merkle tree is full");
  }
  std::vector<NodeWrite> writes;
  writes.push_back({0, tree_size, std::string(leaf_hash)});
  // The new node at (level, index) completes its parent exactly when it is a right child
  // (index odd); the left sibling is already stored.
  int level = 0;
  uint64_t index = tree_size;
  while ((index & 1) == 1) {
    ASSIGN_OR_RETURN(std::string left, ReadNode(nodes, level, index - 1));
    std::string parent = NodeHash(left, writes.back().hash);
    ++level;
    index >>= 1;
    writes.push_back({level, index, std::move(parent)});
  }
  return writes;
}

Result<std::string> RootHash(NodeReader& nodes, uint64_t tree_size) {
  if (tree_size == 0) return EmptyRootHash();
  return RangeHash(nodes, {0, tree_size});
}

Result<std::vector<std::string>> InclusionProof(NodeReader& nodes, uint64_t leaf_index,
                                                uint64_t tree_size) {
  if (leaf_index >= tree_size) {
    return InvalidArgumentError("leaf index " + std::to_string(leaf_index) +
                                " is not in a tree of " + std::to_string(tree_size) + " leaves");
  }
  return HashRanges(nodes, InclusionRanges(leaf_index, tree_size));
}

Result<std::vector<std::string>> ConsistencyProof(NodeReader& nodes, uint64_t size1,
                                                  uint64_t size2) {
  if (size1 == 0 || size1 > size2) {
    return InvalidArgumentError("no consistency proof from size " + std::to_string(size1) +
                                " to size " + std::to_string(size2) + " (need 0 < size1 <= size2)");
  }
  return HashRanges(nodes, ConsistencyRanges(size1, size2));
}

Status VerifyInclusion(std::string_view leaf_hash, uint64_t leaf_index, uint64_t tree_size,
                       std::span<const std::string> proof, std::string_view root) {
  if (leaf_index >= tree_size) {
    return InvalidArgumentError("leaf index " + std::to_string(leaf_index) +
                                " is not in a tree of " + std::to_string(tree_size) + " leaves");
  }
  RETURN_IF_ERROR(CheckHash("leaf hash", leaf_hash));
  RETURN_IF_ERROR(CheckHash("root hash", root));
  RETURN_IF_ERROR(
      CheckProof("inclusion proof", proof, InclusionRanges(leaf_index, tree_size).size()));

  // RFC 9162 2.1.3.2, step by step.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return InvalidArgumentError("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return InvalidArgumentError("inclusion proof is too short");
  if (r != root) {
    return DataLossError("inclusion proof of leaf " + std::to_string(leaf_index) +
                         " does not lead to the root of the tree of " + std::to_string(tree_size) +
                         " leaves");
  }
  return OkStatus();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                         std::string_view root1, std::string_view root2) {
  if (size1 > size2) {
    return InvalidArgumentError("tree size went backwards: " + std::to_string(size1) + " to " +
                                std::to_string(size2));
  }
  RETURN_IF_ERROR(CheckHash("first root hash", root1));
  RETURN_IF_ERROR(CheckHash("second root hash", root2));
  if (size1 == 0) {
    RETURN_IF_ERROR(CheckProof("consistency proof", proof, 0));
    if (root1 != EmptyRootHash()) {
      return DataLossError("first root is not the root of the empty tree");
    }
    if (size2 == 0 && root2 != root1) {
      return DataLossError("second root is not the root of the empty tree");
    }
    return OkStatus();
  }
  if (size1 == size2) {
    RETURN_IF_ERROR(CheckProof("consistency proof", proof, 0));
    if (root1 != root2) {
      return DataLossError("two different roots for the tree of " + std::to_string(size1) +
                           " leaves");
    }
    return OkStatus();
  }
  RETURN_IF_ERROR(CheckProof("consistency proof", proof, ConsistencyRanges(size1, size2).size()));

  // RFC 9162 2.1.4.2, step by step. When size1 is a power of two the old tree is a node of the
  // new one and the proof leaves it out: the verifier starts from root1 itself.
  std::vector<std::string_view> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) path.push_back(root1);
  for (const std::string& p : proof) path.push_back(p);

  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr(path[0]);
  std::string sr(path[0]);
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string_view c = path[i];
    if (sn == 0) return InvalidArgumentError("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return InvalidArgumentError("consistency proof is too short");
  const std::string sizes = std::to_string(size1) + " and " + std::to_string(size2);
  if (fr != root1) {
    return DataLossError("consistency proof between sizes " + sizes +
                         " does not reproduce the first root");
  }
  if (sr != root2) {
    return DataLossError("consistency proof between sizes " + sizes +
                         " does not reproduce the second root");
  }
  return OkStatus();
}

void MemoryTree::Append(std::string_view leaf_hash) {
  Result<std::vector<NodeWrite>> writes = AppendLeaf(*this, size(), leaf_hash);
  CHECK_OK(writes);
  for (const NodeWrite& w : *writes) {
    const size_t level = static_cast<size_t>(w.level);
    if (levels_.size() <= level) levels_.resize(level + 1);
    CHECK(levels_[level].size() == w.index);
    Hash& hash = levels_[level].emplace_back();
    std::copy(w.hash.begin(), w.hash.end(), hash.begin());
  }
}

Result<std::string> MemoryTree::Node(int level, uint64_t index) {
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() ||
      index >= levels_[static_cast<size_t>(level)].size()) {
    return NotFoundError("no Merkle node " + Where(level, index));
  }
  const Hash& hash = levels_[static_cast<size_t>(level)][index];
  return std::string(hash.begin(), hash.end());
}

}  // namespace sicher::audit
