#include "engine/attention/strided_attention.h"

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& StridedAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "strided",
      .description =
          "Query i keeps |i - j| <= window plus every key j with j % stride == 0 "
          "(the Sparse Transformer's fixed summary columns, shared by all "
          "queries). window >= n or stride = 1 is dense.",
      .time_complexity = "O(n (w + n/s) d)",
      .memory_complexity = "O(64 (64 + 2w + n/s)) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("window", 64, 0, 1 << 20, "keys kept on each side"),
                 sparse::IntParam("stride", 64, 1, 1 << 20,
                                  "every stride-th key (0, s, 2s, ...) is kept by all")},
      .tolerance = {.max_rel_error = 1.9},
  };
  return *kInfo;
}

absl::Status StridedAttention::Run(const AttentionInputs& inputs, const AttentionParams& params,
                                   AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.window = sparse::IntArg(params, "window");
  pattern.stride = sparse::IntArg(params, "stride");
  pattern.tile_rows = sparse::TileRowsForWindow(pattern.window);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
