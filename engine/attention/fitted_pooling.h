// Pooling filters fitted offline to one model's attention
// (tools/fit_linformer.py), for linformer's `fitted` projection: per segment
// size S, layer and head, taps over the tokens around each segment of S keys.
// Loaded from <model_dir>/linformer_fit.json by LoadFittedPooling
// (engine/model/fitted_pooling_file.h) and handed to the kernel through
// AttentionInputs::fitted_pooling.
#ifndef ATTNSERVE_ENGINE_ATTENTION_FITTED_POOLING_H_
#define ATTNSERVE_ENGINE_ATTENTION_FITTED_POOLING_H_

#include <cstdint>
#include <string>
#include <vector>

namespace attnserve {

// Pooled row s of n rows x = sum_o taps[o] * x[s * segment + first_offset + o]
// over the terms with the row index inside [0, n).
struct PoolingFilter {
  int segment = 0;
  int first_offset = 0;
  std::vector<float> key_taps, value_taps;  // same length
};

struct FittedPooling {
  std::string source;  // where it came from, for errors
  int layers = 0, heads = 0;
  std::vector<int> segments;  // ascending, one filter set each
  // filters[(segment_index * layers + layer) * heads + head]
  std::vector<PoolingFilter> filters;

  // The fitted segment size nearest n / k in ratio (ties: the smaller, which
  // keeps more rows); -1 when 1 (no pooling) is nearer than any of them, so
  // k >= n stays exact.
  int NearestSegmentIndex(double n_over_k) const;
  const PoolingFilter& Filter(int segment_index, int layer, int head) const {
    return filters[(static_cast<size_t>(segment_index) * layers + layer) * heads + head];
  }
};

// Rows [m = ceil(n / segment), d] pooled from dense rows x [n, d] by `taps`
// (PoolingFilter's rule); `count` [m] gets each segment's tokens in [0, n).
void PoolRows(const float* x, int64_t n, int d, int segment, int first_offset,
              const std::vector<float>& taps, float* pooled, int64_t* count);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_FITTED_POOLING_H_
