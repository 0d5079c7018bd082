#include "engine/attention/bigbird_attention.h"

#include <algorithm>

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& BigBirdAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "bigbird",
      .description =
          "Query i keeps |i - j| <= window, the first `global` tokens (global "
          "both ways, as longformer), and, per query block of `block` tokens, "
          "`random_blocks` distinct other key blocks drawn from `seed` (the "
          "block_sparse draw).",
      .time_complexity = "O(n (w + g + r b) d)",
      .memory_complexity = "O(64 (64 + 2w + g + r b) + 64 n) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("window", 64, 0, 1 << 20, "keys kept on each side"),
                 sparse::IntParam("global", 8, 0, 1 << 20,
                                  "leading tokens that attend to and are attended by all"),
                 sparse::IntParam("block", 64, 1, 4096, "tokens per random block"),
                 sparse::IntParam("random_blocks", 2, 0, 1 << 20,
                                  "random key blocks per query block"),
                 sparse::IntParam("seed", 0, 0, 4294967295.0, "seed of the random blocks")},
      .tolerance = {.max_rel_error = 1.6},
  };
  return *kInfo;
}

absl::Status BigBirdAttention::Run(const AttentionInputs& inputs, const AttentionParams& params,
                                   AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.window = sparse::IntArg(params, "window");
  pattern.global = sparse::IntArg(params, "global");
  pattern.link_block = sparse::IntArg(params, "block");
  const int64_t n = std::max(inputs.n_q, inputs.n_kv);
  const int64_t blocks = (n + pattern.link_block - 1) / pattern.link_block;
  const uint64_t seed = static_cast<uint64_t>(params.at("seed"));
  pattern.links.resize(blocks);
  for (int64_t b = 0; b < blocks; ++b) {
    pattern.links[b] =
        sparse::RandomBlocks(seed, b, blocks, sparse::IntArg(params, "random_blocks"));
  }
  pattern.tile_rows = sparse::TileRowsForWindow(pattern.window);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
