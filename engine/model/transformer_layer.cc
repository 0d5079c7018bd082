#include "engine/model/transformer_layer.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/kernels/elementwise.h"
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
  const ResolvedAttention& attention = plan.attention;
  const LinearPrecision linear = plan.linear;
  const int64_t rows = offsets.back();
  const bool want_mass =
      pruner != nullptr && pruner->want_key_mass && attention.kernel->info().reports_key_mass;
  if (want_mass) s->key_mass.assign(rows, 0.0f);
  const int64_t qkv_width = 3 * int64_t{w.d_in};
  s->normed.resize(rows * std::max(w.d_in, w.d_out));
  s->qkv.resize(rows * qkv_width);
  s->context.resize(rows * w.d_in);
  s->ffn.resize(rows * w.d_ffn);

  // Residual branch straight into y; both sublayers then accumulate onto it.
  if (!w.residual.empty()) {
    w.residual.Apply(x, rows, y, false, linear);
  } else {
    std::memcpy(y, x, sizeof(float) * rows * w.d_out);
  }

  // Attention sublayer.
  LayerNorm(x, rows, w.d_in, w.attn_norm_gain, w.attn_norm_bias, w.norm_eps, s->normed.data());
  w.qkv.Apply(s->normed.data(), rows, s->qkv.data(), false, linear);
  const auto attention_start = std::chrono::steady_clock::now();
  AttentionStats attention_stats;
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const int64_t begin = offsets[b], n = offsets[b + 1] - offsets[b];
    if (n == 0) continue;
    const float* qkv = s->qkv.data() + begin * qkv_width;
    AttentionInputs in;
    in.n_q = in.n_kv = n;
    in.num_heads = w.num_heads;
    in.head_dim = w.head_dim;
    in.scale = w.q_scale;
    in.q = qkv;
    in.k = qkv + w.d_in;
    in.v = qkv + 2 * w.d_in;
    in.q_stride = in.k_stride = in.v_stride = qkv_width;
    in.out = s->context.data() + begin * w.d_in;
    in.out_stride = w.d_in;
    if (want_mass) in.key_mass = s->key_mass.data() + begin;
    RETURN_IF_ERROR(attention.kernel->Run(in, attention.params, &attention_stats));
  }
  stats->attention_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - attention_start).count();
  stats->attention_pairs_scored += attention_stats.pairs_scored;
  stats->attention_pairs_total += attention_stats.pairs_total;
  w.out.Apply(s->context.data(), rows, y, true, linear);
  int64_t kept_rows = rows;
  if (pruner != nullptr) {
    std::vector<int64_t> keep, new_offsets;
    RETURN_IF_ERROR(pruner->select(want_mass ? s->key_mass.data() : nullptr, y, w.d_out, offsets,
                                   &keep, &new_offsets));
    // Ascending rows: compacting in place never overwrites a row still needed.
    for (size_t i = 0; i < keep.size(); ++i) {
      if (keep[i] != static_cast<int64_t>(i)) {
        std::memmove(y + i * w.d_out, y + keep[i] * w.d_out, sizeof(float) * w.d_out);
      }
    }
    kept_rows = static_cast<int64_t>(keep.size());
    *offsets_inout = std::move(new_offsets);
  }
  stats->flops += attention_stats.flops + rows * (w.LinearFlopsPerToken() - w.FfnFlopsPerToken()) +
                  kept_rows * w.FfnFlopsPerToken();

  // Feed-forward sublayer, on the kept rows only.
  LayerNorm(y, kept_rows, w.d_out, w.ffn_norm_gain, w.ffn_norm_bias, w.norm_eps, s->normed.data());
  w.ffn_up.Apply(s->normed.data(), kept_rows, s->ffn.data(), false, linear);
  ReluInPlace(s->ffn.data(), kept_rows * w.d_ffn);
  w.ffn_down.Apply(s->ffn.data(), kept_rows, y, true, linear);
  return absl::OkStatus();
}

}  // namespace attnserve
