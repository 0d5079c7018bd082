#include "engine/model/stepwise_encoder.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_scratch.h"

namespace attnserve {

void EncoderState::Clear() {
  hidden.clear();
  next.clear();
  width = 0;
  offsets.assign(1, 0);
  pooled.clear();
}

int64_t EncoderState::CapacityBytes() const {
  return attnserve::CapacityBytes(hidden) + attnserve::CapacityBytes(next) +
         attnserve::CapacityBytes(offsets) + attnserve::CapacityBytes(pooled) +
         scratch.CapacityBytes();
}

void MeanPool(const EncoderState& state, std::vector<float>* pooled) {
  const int d = state.width;
  pooled->assign(state.batch() * d, 0.0f);
  for (int64_t b = 0; b < state.batch(); ++b) {
    float* m = pooled->data() + b * d;
    for (int64_t r = state.offsets[b]; r < state.offsets[b + 1]; ++r) {
      const float* row = state.hidden.data() + r * d;
      for (int i = 0; i < d; ++i) m[i] += row[i];
    }
    const float inv_n = 1.0f / static_cast<float>(state.offsets[b + 1] - state.offsets[b]);
    for (int i = 0; i < d; ++i) m[i] *= inv_n;
  }
}

absl::Status CheckStillWanted(const ExecutionPlan& plan, int layer, int layers) {
  if (plan.is_cancelled && plan.is_cancelled()) {
    return absl::CancelledError(absl::StrCat("run cancelled before layer ", layer, " of ", layers));
  }
  if (absl::Now() > plan.deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline expired before layer ", layer, " of ", layers));
  }
  return absl::OkStatus();
}

absl::Status EmbedStepwise(const StepwiseEncoder& model, int num_layers,
                           const std::vector<std::vector<int32_t>>& ids, const ExecutionPlan& plan,
                           float* out, RunStats* stats) {
  // The result's per-layer figures grow once, not per layer.
  stats->tokens_per_layer.reserve(stats->tokens_per_layer.size() + num_layers + 1);
  KeptScratch<EncoderState> state;  // the previous run's buffers, on this thread
  RETURN_IF_ERROR(model.Start(ids, &*state));
  for (int k = 0; k < num_layers; ++k) {
    RETURN_IF_ERROR(CheckStillWanted(plan, k, num_layers));
    stats->tokens_per_layer.push_back(state->rows());
    const ProfileLayer in_layer(k);
    RETURN_IF_ERROR(model.RunLayer(k, plan, /*pruner=*/nullptr, &*state, stats));
    ++stats->layers_run;
  }
  stats->tokens_per_layer.push_back(state->rows());
  const ProfileScope pooling(ProfilePhase::kPooling);
  model.PoolState(*state, &state->pooled);
  model.EmbedPooled(state->pooled.data(), state->batch(), out, stats);
  return absl::OkStatus();
}

}  // namespace attnserve
