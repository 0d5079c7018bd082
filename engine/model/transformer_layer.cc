#include "engine/model/transformer_layer.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

int64_t PreNormLayerWeights::LinearFlopsPerToken() const {
  int64_t macs = int64_t{d_in} * 3 * d_in + int64_t{d_in} * d_out +
                 int64_t{d_out} * d_ffn * 2;
  if (residual_kernel != nullptr) macs += int64_t{d_in} * d_out;
  return 2 * macs;
}

absl::Status RunPreNormLayer(const PreNormLayerWeights& w, const float* x,
                             const std::vector<int64_t>& offsets,
                             const ResolvedAttention& attention,
                             LayerScratch* s, float* y, RunStats* stats) {
  const int64_t rows = offsets.back();
  const int64_t qkv_width = 3 * int64_t{w.d_in};
  s->normed.resize(rows * std::max(w.d_in, w.d_out));
  s->qkv.resize(rows * qkv_width);
  s->context.resize(rows * w.d_in);
  s->ffn.resize(rows * w.d_ffn);

  // Residual branch straight into y; both sublayers then accumulate onto it.
  if (w.residual_kernel != nullptr) {
    Linear(x, rows, w.d_in, w.residual_kernel, w.d_out, w.residual_bias, y, false);
  } else {
    std::memcpy(y, x, sizeof(float) * rows * w.d_out);
  }

  // Attention sublayer.
  LayerNorm(x, rows, w.d_in, w.attn_norm_gain, w.attn_norm_bias, w.norm_eps,
            s->normed.data());
  Linear(s->normed.data(), rows, w.d_in, w.qkv_kernel, qkv_width, w.qkv_bias,
         s->qkv.data(), false);
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
    RETURN_IF_ERROR(attention.kernel->Run(in, attention.params, &attention_stats));
  }
  stats->attention_seconds += std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - attention_start)
                                  .count();
  stats->attention_pairs_scored += attention_stats.pairs_scored;
  stats->attention_pairs_total += attention_stats.pairs_total;
  stats->flops += attention_stats.flops + rows * w.LinearFlopsPerToken();
  Linear(s->context.data(), rows, w.d_in, w.out_kernel, w.d_out, w.out_bias, y, true);

  // Feed-forward sublayer.
  LayerNorm(y, rows, w.d_out, w.ffn_norm_gain, w.ffn_norm_bias, w.norm_eps,
            s->normed.data());
  Linear(s->normed.data(), rows, w.d_out, w.ffn_up_kernel, w.d_ffn,
         w.ffn_up_bias, s->ffn.data(), false);
  ReluInPlace(s->ffn.data(), rows * w.d_ffn);
  Linear(s->ffn.data(), rows, w.d_ffn, w.ffn_down_kernel, w.d_out,
         w.ffn_down_bias, y, true);
  return absl::OkStatus();
}

}  // namespace attnserve
