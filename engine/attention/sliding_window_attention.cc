#include "engine/attention/sliding_window_attention.h"

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& SlidingWindowAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "sliding_window",
      .description =
          "Query i keeps the keys j with |i - j| <= window; exact softmax over "
          "those. window >= n is dense.",
      .time_complexity = "O(n w d)",
      .memory_complexity = "O(64 (64 + 2w)) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("window", 64, 0, 1 << 20, "keys kept on each side")},
      .tolerance = {.max_rel_error = 2.0},
  };
  return *kInfo;
}

absl::Status SlidingWindowAttention::Run(const AttentionInputs& inputs,
                                         const AttentionParams& params,
                                         AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.window = sparse::IntArg(params, "window");
  pattern.tile_rows = sparse::TileRowsForWindow(pattern.window);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
