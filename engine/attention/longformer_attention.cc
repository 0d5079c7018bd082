#include "engine/attention/longformer_attention.h"

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& LongformerAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "longformer",
      .description =
          "Query i keeps |i - j| <= window; the first `global` tokens are "
          "global: they attend to every key and every query attends to them.",
      .time_complexity = "O(n (w + g) d)",
      .memory_complexity = "O(64 (64 + 2w + g) + 64 n) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("window", 64, 0, 1 << 20, "keys kept on each side"),
                 sparse::IntParam("global", 8, 0, 1 << 20,
                                  "leading tokens that attend to and are attended by all")},
      .tolerance = {.max_rel_error = 1.9},
  };
  return *kInfo;
}

absl::Status LongformerAttention::Run(const AttentionInputs& inputs, const AttentionParams& params,
                                      AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.window = sparse::IntArg(params, "window");
  pattern.global = sparse::IntArg(params, "global");
  pattern.tile_rows = sparse::TileRowsForWindow(pattern.window);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
