// UseLiteModel's computation, layer by layer (StepwiseEncoder): the token
// embedding, the pre-norm layers, mean pooling, tanh dense and L2.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/model/use_lite_model.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"

namespace attnserve {

absl::Status UseLiteModel::Start(const std::vector<std::vector<int32_t>>& ids,
                                 EncoderState* state) const {
  state->Clear();
  for (size_t b = 0; b < ids.size(); ++b) {
    if (ids[b].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("texts[", b, "]: no tokens"));
    }
    for (int32_t id : ids[b]) {
      if (id < 0 || id >= table_rows_) {
        return absl::InvalidArgumentError(
            absl::StrCat("texts[", b, "]: token id ", id, " outside [0, ", table_rows_, ")"));
      }
    }
    state->offsets.push_back(state->offsets.back() + static_cast<int64_t>(ids[b].size()));
  }
  const ProfileScope lookup(ProfilePhase::kEmbeddingLookup);
  state->width = embed_dim_;
  state->hidden.resize(state->rows() * embed_dim_);
  for (size_t b = 0; b < ids.size(); ++b) {
    EmbedTokens(ids[b], state->hidden.data() + state->offsets[b] * embed_dim_);
  }
  return absl::OkStatus();
}

absl::Status UseLiteModel::RunLayer(int layer, const ExecutionPlan& plan,
                                    const SublayerPruner* pruner, EncoderState* state,
                                    RunStats* stats) const {
  if (layer < 0 || layer >= static_cast<int>(layers_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", layer, " does not exist"));
  }
  const PreNormLayerWeights& w = layers_[layer];
  if (state->width != w.d_in) {
    return absl::InternalError(
        absl::StrCat("layer ", layer, ": input width ", state->width, " != ", w.d_in));
  }
  state->next.resize(state->rows() * w.d_out);
  RETURN_IF_ERROR(RunPreNormLayerPruned(w, state->hidden.data(), &state->offsets, plan, pruner,
                                        &state->scratch, state->next.data(), stats));
  std::swap(state->hidden, state->next);
  state->hidden.resize(state->rows() * w.d_out);
  state->width = w.d_out;
  return absl::OkStatus();
}

std::vector<float> UseLiteModel::PoolLayerInput(int layer, const EncoderState& state) const {
  const PreNormLayerWeights& w = layers_[layer];
  std::vector<float> mean;
  MeanPool(state, &mean);
  if (w.residual.empty()) return mean;
  // The residual branch is affine, so the mean of its outputs is its output
  // of the mean.
  std::vector<float> out(state.batch() * w.d_out);
  w.residual.Apply(mean.data(), state.batch(), out.data(), false, LinearPrecision::kF32);
  return out;
}

void UseLiteModel::EmbedPooled(const float* pooled, int64_t batch, float* out,
                               RunStats* stats) const {
  const int d = info_.embedding_dim;
  Linear(pooled, batch, d, pool_kernel_, d, pool_bias_, out, false);
  for (int64_t b = 0; b < batch; ++b) {
    TanhInPlace(out + b * d, d);
    L2NormalizeInPlace(out + b * d, d, l2_floor_);
  }
  stats->flops += batch * 2 * int64_t{d} * d;
}

}  // namespace attnserve
