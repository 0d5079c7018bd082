// One pre-norm transformer layer over a ragged batch (rows of all sequences
// stacked, no padding): the building block of USE-lite's encoder.
#ifndef ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_
#define ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/model/encoder_model.h"
#include "engine/run_options.h"

namespace attnserve {

// Weights of y = x' + FFN(LN(x')), x' = R(x) + Attn(LN(x)), with R the
// identity or, when the width changes, a dense projection. Kernels are
// input-major [in, out].
struct PreNormLayerWeights {
  int d_in = 0, d_out = 0, num_heads = 0, head_dim = 0, d_ffn = 0;
  float q_scale = 1.0f;
  float norm_eps = 1e-6f;
  const float* attn_norm_gain = nullptr;
  const float* attn_norm_bias = nullptr;
  const float* qkv_kernel = nullptr;  // [d_in, 3 * d_in]: q | k | v columns
  const float* qkv_bias = nullptr;
  const float* out_kernel = nullptr;  // [d_in, d_out]
  const float* out_bias = nullptr;
  const float* residual_kernel = nullptr;  // [d_in, d_out], or null if d_in == d_out
  const float* residual_bias = nullptr;
  const float* ffn_norm_gain = nullptr;
  const float* ffn_norm_bias = nullptr;
  const float* ffn_up_kernel = nullptr;  // [d_out, d_ffn], ReLU after
  const float* ffn_up_bias = nullptr;
  const float* ffn_down_kernel = nullptr;  // [d_ffn, d_out]
  const float* ffn_down_bias = nullptr;

  // FLOPs of the linear layers per token (multiply-add = 2).
  int64_t LinearFlopsPerToken() const;
};

// Scratch activations reused across layers of one run.
struct LayerScratch {
  std::vector<float> normed, qkv, context, ffn;
};

// Rows [offsets[b], offsets[b+1]) of x [T, d_in] are sequence b. Writes y
// [T, d_out] (y must not alias x). Adds attention figures to stats.
absl::Status RunPreNormLayer(const PreNormLayerWeights& w, const float* x,
                             const std::vector<int64_t>& offsets,
                             const ResolvedAttention& attention,
                             LayerScratch* scratch, float* y, RunStats* stats);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_
