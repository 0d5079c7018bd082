#include "engine/attention/segment_memory_attention.h"

#include <algorithm>

#include "engine/attention/sparse_pattern.h"

namespace attnserve {

const KernelInfo& SegmentMemoryAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "segment_memory",
      .description =
          "Transformer-XL-style: the sequence is cut into segments of `segment` "
          "tokens; queries of segment s attend to the keys of segment s and of "
          "segment s - 1 (the cached memory; the first segment has none). Same "
          "positions and weights as dense, no relative encoding. segment >= n "
          "is dense.",
      .time_complexity = "O(n s d)",
      .memory_complexity = "O(64 * 2s) per thread",
      .exact = false,
      .reports_key_mass = true,
      .params = {sparse::IntParam("segment", 128, 1, 1 << 20, "tokens per segment")},
      .tolerance = {.max_rel_error = 1.7},
  };
  return *kInfo;
}

absl::Status SegmentMemoryAttention::Run(const AttentionInputs& inputs,
                                         const AttentionParams& params,
                                         AttentionStats* stats) const {
  sparse::Pattern pattern;
  pattern.link_block = sparse::IntArg(params, "segment");
  const int64_t n = std::max(inputs.n_q, inputs.n_kv);
  const int64_t segments = (n + pattern.link_block - 1) / pattern.link_block;
  pattern.links.resize(segments);
  for (int64_t s = 0; s < segments; ++s) {
    if (s > 0) pattern.links[s].push_back(s - 1);
    pattern.links[s].push_back(s);
  }
  pattern.tile_rows = std::min<int64_t>(64, pattern.link_block);
  return sparse::RunPattern(inputs, pattern, stats);
}

}  // namespace attnserve
