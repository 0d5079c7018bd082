// The shared engine of the pattern kernels (sliding_window, strided,
// block_sparse, longformer, bigbird, segment_memory). A pattern says which
// query-key pairs are kept; the engine walks query tiles, gathers the union of
// the keys the tile's rows keep, and runs GEMM, masked softmax, GEMM on that
// gathered block only: O(n * kept * d) time, never an n x n matrix.
#ifndef ATTNSERVE_ENGINE_ATTENTION_SPARSE_PATTERN_H_
#define ATTNSERVE_ENGINE_ATTENTION_SPARSE_PATTERN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/attention/attention_kernel.h"

namespace attnserve::sparse {

// Query i keeps key j when any of these holds:
//   window >= 0 and |i - j| <= window
//   stride > 0 and j % stride == 0
//   i < global or j < global
//   link_block > 0 and j / link_block is in links[i / link_block]
// Padded keys are never kept. A query that keeps no real key outputs zeros.
struct Pattern {
  int64_t window = -1;
  int64_t stride = 0;
  int64_t global = 0;
  int64_t link_block = 0;
  std::vector<std::vector<int64_t>> links;  // per query block; any order
  int64_t tile_rows = 64;                   // query rows per GEMM tile (split at link blocks)
};

// `count` distinct key blocks out of [0, num_blocks) other than `query_block`
// (all of them when count >= num_blocks - 1), sorted. Deterministic for a
// seed on every platform: SplitMix64 seeded by (seed, query_block) drives
// Floyd's sampling algorithm.
std::vector<int64_t> RandomBlocks(uint64_t seed, int64_t query_block, int64_t num_blocks,
                                  int64_t count);

// Computes inputs.out under `pattern`, adds the key mass when asked for, and
// adds to stats the pairs actually scored (the gathered tile pairs, a
// superset of the kept pairs at tile granularity), the dense pair count and
// the FLOPs.
absl::Status RunPattern(const AttentionInputs& inputs, const Pattern& pattern,
                        AttentionStats* stats);

// Schema helpers shared by the pattern kernels' info() and Run().
ParamSpec IntParam(const char* name, double default_value, double min_value, double max_value,
                   const char* description);
inline int64_t IntArg(const AttentionParams& params, const char* name) {
  return static_cast<int64_t>(params.at(name));
}
// Query rows per tile for a window w: about w, so the gathered block (rows +
// 2w keys) is not mostly masked, but at least 16 and at most 64 rows.
int64_t TileRowsForWindow(int64_t window);

}  // namespace attnserve::sparse

#endif  // ATTNSERVE_ENGINE_ATTENTION_SPARSE_PATTERN_H_
