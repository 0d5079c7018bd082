// The indices of the k largest scores, for kernels that keep the best keys
// (adaptive_topk). A radix select on the floats' order-preserving bit
// patterns: one histogram pass over all n scores, then passes over the few
// candidates left, with no data-dependent branches in the long pass (the
// nth_element it replaces was a fifth of adaptive_topk's time at n = 512).
#ifndef ATTNSERVE_ENGINE_ATTENTION_TOP_K_SELECT_H_
#define ATTNSERVE_ENGINE_ATTENTION_TOP_K_SELECT_H_

#include <cstdint>
#include <vector>

namespace attnserve {

// Reused buffers: no allocation once they hold n entries.
struct TopKScratch {
  std::vector<uint32_t> keys, candidates;
};

// out = ascending indices of the k (1 <= k <= n) largest of scores[0, n):
// every score above the k-th largest value, then ties at that value in index
// order until there are k. NaN scores rank above +inf (never produced by the
// scorers, whose inputs are finite).
void TopKIndices(const float* scores, int64_t n, int64_t k, TopKScratch* scratch,
                 std::vector<int64_t>* out);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_TOP_K_SELECT_H_
