// One pre-norm transformer layer over a ragged batch (rows of all sequences
// stacked, no padding): the building block of USE-lite's encoder.
#ifndef ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_
#define ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/kernels/packed_linear.h"
#include "engine/model/attention_sublayer.h"
#include "engine/model/execution_plan.h"
#include "engine/run_options.h"

namespace attnserve {

// Weights of y = x' + FFN(LN(x')), x' = R(x) + Attn(LN(x)), with R the
// identity or, when the width changes, a dense projection. Kernels are
// input-major [in, out]; each runs in the plan's linear precision.
struct PreNormLayerWeights {
  int d_in = 0, d_out = 0, num_heads = 0, head_dim = 0, d_ffn = 0;
  int index = 0;  // the layer's place in the model (for fitted attention data)
  float q_scale = 1.0f;
  float norm_eps = 1e-6f;
  const float* attn_norm_gain = nullptr;
  const float* attn_norm_bias = nullptr;
  PackedLinear qkv;       // d_in -> 3 * d_in: q | k | v columns
  PackedLinear out;       // d_in -> d_out
  PackedLinear residual;  // d_in -> d_out, or empty if d_in == d_out
  const float* ffn_norm_gain = nullptr;
  const float* ffn_norm_bias = nullptr;
  PackedLinear ffn_up;    // d_out -> d_ffn, ReLU after
  PackedLinear ffn_down;  // d_ffn -> d_out

  // FLOPs of the linear layers per token (multiply-add = 2).
  int64_t LinearFlopsPerToken() const;
  // The feed-forward sublayer's share of LinearFlopsPerToken.
  int64_t FfnFlopsPerToken() const;
};

// Rows [offsets[b], offsets[b+1]) of x [T, d_in] are sequence b. Writes y
// [T, d_out] (y must not alias x). Adds attention figures to stats.
absl::Status RunPreNormLayer(const PreNormLayerWeights& w, const float* x,
                             const std::vector<int64_t>& offsets, const ExecutionPlan& plan,
                             LayerScratch* scratch, float* y, RunStats* stats);

// Same, letting `pruner` (may be null) drop rows after the attention
// sublayer; *offsets is updated to the rows of y that remain.
absl::Status RunPreNormLayerPruned(const PreNormLayerWeights& w, const float* x,
                                   std::vector<int64_t>* offsets, const ExecutionPlan& plan,
                                   const SublayerPruner* pruner, LayerScratch* scratch, float* y,
                                   RunStats* stats);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_TRANSFORMER_LAYER_H_
