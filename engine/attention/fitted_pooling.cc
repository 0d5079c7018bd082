#include "engine/attention/fitted_pooling.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attnserve {

int FittedPooling::NearestSegmentIndex(double n_over_k) const {
  int best = -1;
  double best_gap = std::abs(std::log(n_over_k));  // segments of one key
  for (size_t i = 0; i < segments.size(); ++i) {
    const double gap = std::abs(std::log(static_cast<double>(segments[i]) / n_over_k));
    if (gap < best_gap - 1e-12) {
      best_gap = gap;
      best = static_cast<int>(i);
    }
  }
  return best;
}

void PoolRows(const float* x, int64_t n, int d, int segment, int first_offset,
              const std::vector<float>& taps, float* pooled, int64_t* count) {
  const int64_t m = (n + segment - 1) / segment;
  const int64_t num_taps = static_cast<int64_t>(taps.size());
  for (int64_t s = 0; s < m; ++s) {
    float* row = pooled + s * d;
    std::memset(row, 0, sizeof(float) * d);
    const int64_t base = s * segment + first_offset;
    const int64_t o_begin = std::max<int64_t>(0, -base);
    const int64_t o_end = std::min<int64_t>(num_taps, n - base);
    for (int64_t o = o_begin; o < o_end; ++o) {
      const float w = taps[o];
      const float* src = x + (base + o) * d;
      for (int c = 0; c < d; ++c) row[c] += w * src[c];
    }
    if (count != nullptr) count[s] = std::min<int64_t>(segment, n - s * segment);
  }
}

}  // namespace attnserve
