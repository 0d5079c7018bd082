#include "engine/model/stepwise_encoder.h"

namespace attnserve {

std::vector<float> MeanPool(const EncoderState& state) {
  // Same order of operations as UseLiteModel::Embed, so results match bit for bit.
  const int d = state.width;
  std::vector<float> pooled(state.batch() * d, 0.0f);
  for (int64_t b = 0; b < state.batch(); ++b) {
    float* m = pooled.data() + b * d;
    for (int64_t r = state.offsets[b]; r < state.offsets[b + 1]; ++r) {
      const float* row = state.hidden.data() + r * d;
      for (int i = 0; i < d; ++i) m[i] += row[i];
    }
    const float inv_n = 1.0f / static_cast<float>(state.offsets[b + 1] - state.offsets[b]);
    for (int i = 0; i < d; ++i) m[i] *= inv_n;
  }
  return pooled;
}

}  // namespace attnserve
