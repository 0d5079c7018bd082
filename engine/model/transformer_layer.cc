#include "engine/model/transformer_layer.h"

#include <algorithm>
#include <cstring>

#include "engine/kernels/elementwise.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"

namespace attnserve {

int64_t PreNormLayerWeights::LinearFlopsPerToken() const {
  int64_t macs = int64_t{d_in} * 3 * d_in + int64_t{d_in} * d_out + int64_t{d_out} * d_ffn * 2;
  if (!residual.empty()) macs += int64_t{d_in} * d_out;
  return 2 * macs;
}

int64_t PreNormLayerWeights::FfnFlopsPerToken() const { return 2 * int64_t{d_out} * d_ffn * 2; }

absl::Status RunPreNormLayer(const PreNormLayerWeights& w, const float* x,
                             const std::vector<int64_t>& offsets, const ExecutionPlan& plan,
                             LayerScratch* s, float* y, RunStats* stats) {
  std::vector<int64_t> kept = offsets;
  return RunPreNormLayerPruned(w, x, &kept, plan, nullptr, s, y, stats);
}

absl::Status RunPreNormLayerPruned(const PreNormLayerWeights& w, const float* x,
                                   std::vector<int64_t>* offsets_inout, const ExecutionPlan& plan,
                                   const SublayerPruner* pruner, LayerScratch* s, float* y,
                                   RunStats* stats) {
  const std::vector<int64_t>& offsets = *offsets_inout;
  const LinearPrecision linear = plan.linear;
  const int64_t rows = offsets.back();
  const int64_t qkv_width = 3 * int64_t{w.d_in};
  s->normed.resize(rows * std::max(w.d_in, w.d_out));
  s->qkv.resize(rows * qkv_width);
  s->context.resize(rows * w.d_in);

  // Residual branch straight into y; both sublayers then accumulate onto it.
  {
    const ProfileScope scope(ProfilePhase::kResidual);
    if (!w.residual.empty()) {
      w.residual.Apply(x, rows, y, false, linear);
    } else {
      std::memcpy(y, x, sizeof(float) * rows * w.d_out);
    }
  }

  // Attention sublayer.
  {
    const ProfileScope scope(ProfilePhase::kLayerNorm);
    LayerNorm(x, rows, w.d_in, w.attn_norm_gain, w.attn_norm_bias, w.norm_eps, s->normed.data());
  }
  {
    const ProfileScope scope(ProfilePhase::kQkvGemm);
    w.qkv.Apply(s->normed.data(), rows, s->qkv.data(), false, linear);
  }
  const FusedQkvHeads heads{w.num_heads, w.head_dim, w.q_scale, w.index};
  ASSIGN_OR_RETURN(const float* key_mass,
                   AttendEachSequence(plan, heads, s->qkv.data(), offsets, pruner, &s->key_mass,
                                      s->context.data(), stats));
  {
    const ProfileScope scope(ProfilePhase::kOutputProjection);
    w.out.Apply(s->context.data(), rows, y, true, linear);
  }
  int64_t kept_rows = rows;
  if (pruner != nullptr) {
    std::vector<int64_t> keep;
    RETURN_IF_ERROR(
        PruneRows(*pruner, key_mass, y, w.d_out, /*keep_first_rows=*/false, offsets_inout, &keep));
    kept_rows = static_cast<int64_t>(keep.size());
  }
  stats->flops +=
      rows * (w.LinearFlopsPerToken() - w.FfnFlopsPerToken()) + kept_rows * w.FfnFlopsPerToken();

  // Feed-forward sublayer, on the kept rows only.
  {
    const ProfileScope scope(ProfilePhase::kLayerNorm);
    LayerNorm(y, kept_rows, w.d_out, w.ffn_norm_gain, w.ffn_norm_bias, w.norm_eps,
              s->normed.data());
  }
  if (linear == LinearPrecision::kInt8) {
    // The middle activations stay in u8 between the two products.
    const ProfileScope scope(ProfilePhase::kFfnGemms);
    w.ffn_up.ApplyInt8FeedForward(ReluInPlace, w.ffn_down, s->normed.data(), kept_rows, y, true);
    return absl::OkStatus();
  }
  s->ffn.resize(kept_rows * w.d_ffn);  // f32 and bf16 only: int8 keeps them in u8
  {
    const ProfileScope scope(ProfilePhase::kFfnGemms);
    w.ffn_up.Apply(s->normed.data(), kept_rows, s->ffn.data(), false, linear);
  }
  {
    const ProfileScope scope(ProfilePhase::kActivation);
    ReluInPlace(s->ffn.data(), kept_rows * w.d_ffn);
  }
  const ProfileScope scope(ProfilePhase::kFfnGemms);
  w.ffn_down.Apply(s->ffn.data(), kept_rows, y, true, linear);
  return absl::OkStatus();
}

}  // namespace attnserve
