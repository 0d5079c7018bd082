#include "engine/attention/block_sparse_attention.h"

#include <algorithm>

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& BlockSparseAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "block_sparse",
      .description =
          "Tokens in blocks of `block`; query block q keeps its own (diagonal) key "
          "block plus `random_blocks` distinct other key blocks drawn for q from "
          "`seed` (SplitMix64 + Floyd sampling, the same draw as bigbird). "
          "random_blocks >= n/block - 1 is dense.",
      .time_complexity = "O(n b (1 + r) d)",
      .memory_complexity = "O(min(64, b) b (1 + r)) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("block", 64, 1, 4096, "tokens per block"),
                 sparse::IntParam("random_blocks", 2, 0, 1 << 20,
                                  "random off-diagonal key blocks per query block"),
                 sparse::IntParam("seed", 0, 0, 4294967295.0, "seed of the random blocks")},
      .tolerance = {.max_rel_error = 1.8},
  };
  return *kInfo;
}

absl::Status BlockSparseAttention::Run(const AttentionInputs& inputs, const AttentionParams& params,
                                       AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.link_block = sparse::IntArg(params, "block");
  const int64_t n = std::max(inputs.n_q, inputs.n_kv);
  const int64_t blocks = (n + pattern.link_block - 1) / pattern.link_block;
  const uint64_t seed = static_cast<uint64_t>(params.at("seed"));
  pattern.links.resize(blocks);
  for (int64_t b = 0; b < blocks; ++b) {
    pattern.links[b] =
        sparse::RandomBlocks(seed, b, blocks, sparse::IntArg(params, "random_blocks"));
    pattern.links[b].push_back(b);
  }
  pattern.tile_rows = std::min<int64_t>(64, pattern.link_block);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
