#include "engine/model/bert_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"

namespace attnserve {

void Norm::Apply(float* x, int64_t rows) const {
  const ProfileScope scope(ProfilePhase::kLayerNorm);
  if (!no_norm) {
    LayerNorm(x, rows, width, gain, bias, eps, x);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * width;
    for (int i = 0; i < width; ++i) row[i] = row[i] * gain[i] + bias[i];
  }
}

InPlaceActivation ActivationFunction(HfActivation act) {
  switch (act) {
    case HfActivation::kRelu:
      return ReluInPlace;
    case HfActivation::kGelu:
      return GeluInPlace;
    case HfActivation::kGeluTanh:
      return GeluTanhInPlace;
  }
  return GeluInPlace;  // unreachable: every HfActivation is listed
}

int64_t BertLayerWeights::AttentionSublayerFlopsPerToken() const {
  // An absent projection (Optimized, Efficient, Super) is empty: 0 FLOPs.
  int64_t f = q.Flops() + k.Flops() + v.Flops() + attn_out.Flops();
  if (bottleneck) f += bottleneck_in.Flops();
  if (shared_kq && !bottleneck_attention) f += bottleneck_kq.Flops();
  return f;
}

int64_t BertLayerWeights::FfnSublayerFlopsPerToken() const {
  int64_t f = ffn.up.Flops() + ffn.down.Flops();
  for (const BertFfn& e : extra_ffn) f += e.up.Flops() + e.down.Flops();
  if (bottleneck) f += out_bottleneck.Flops();
  return f;
}

int BertLayerWeights::max_width() const {
  int m = std::max({hidden, 3 * inner, ffn.up.out()});
  for (const BertFfn& e : extra_ffn) m = std::max(m, e.up.out());
  return m;
}

namespace {

void RunFfn(const BertFfn& f, HfActivation act, LinearPrecision linear, int64_t rows, float* a,
            std::vector<float>* tmp) {
  if (linear == LinearPrecision::kInt8) {
    // The middle activations stay in u8 between the two products.
    const ProfileScope scope(ProfilePhase::kFfnGemms);
    f.up.ApplyInt8FeedForward(ActivationFunction(act), f.down, a, rows, a, true);
    f.norm.Apply(a, rows);
    return;
  }
  tmp->resize(rows * f.up.out());
  {
    const ProfileScope scope(ProfilePhase::kFfnGemms);
    f.up.Apply(a, rows, tmp->data(), false, linear);
  }
  {
    const ProfileScope scope(ProfilePhase::kActivation);
    ActivationFunction(act)(tmp->data(), rows * f.up.out());
  }
  {
    const ProfileScope scope(ProfilePhase::kFfnGemms);
    f.down.Apply(tmp->data(), rows, a, true, linear);  // a = down(act(up(a))) + a
  }
  f.norm.Apply(a, rows);
}

// Copies the head slices of the layer input in as keys or values: rows of
// `in` [rows, width] into the slot of qkv at `dst` (rows qkv_width apart).
void CopyRows(const float* in, int64_t rows, int width, float* dst, int64_t qkv_width) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * qkv_width, in + r * width, sizeof(float) * width);
  }
}

// Super's values: per sequence of n rows, alignment[:n, :n] x + bias[:n].
absl::Status AlignValues(const BertLayerWeights& w, const float* x,
                         const std::vector<int64_t>& offsets, float* v, int64_t qkv_width,
                         RunStats* stats) {
  const int width = w.inner;
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const int64_t begin = offsets[b], n = offsets[b + 1] - offsets[b];
    if (n == 0) continue;
    if (n > w.alignment_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence of ", n, " rows exceeds the super-attention alignment of ",
                       w.alignment_size, " positions"));
    }
    float* out = v + begin * qkv_width;
    Sgemm(false, false, n, width, n, 1.0f, w.alignment, w.alignment_size, x + begin * width, width,
          0.0f, out, qkv_width);
    for (int64_t i = 0; i < n; ++i) {
      const float bias = w.alignment_bias[i];
      float* row = out + i * qkv_width;
      for (int c = 0; c < width; ++c) row[c] += bias;
    }
    stats->flops += 2 * n * n * width;
  }
  return absl::OkStatus();
}

// Fills qkv's q | k | v slots as the layer's attention type says: the fused
// projection first (one GEMM for the slots it covers), then each remaining
// slot by its own projection, the input's head slices, or Super's alignment.
absl::Status MakeQkv(const BertLayerWeights& w, const float* q_in, const float* k_in,
                     const float* v_in, const std::vector<int64_t>& offsets, LinearPrecision linear,
                     float* qkv, RunStats* stats) {
  const int I = w.inner;
  const int64_t rows = offsets.back(), qkv_width = 3 * int64_t{I};
  int slots = 1;  // filled so far
  if (!w.fused.empty()) {
    w.fused.Apply(q_in, rows, qkv, false, linear, qkv_width);
    slots = w.fused.out() / I;
  } else {
    w.q.Apply(q_in, rows, qkv, false, linear, qkv_width);
  }
  if (slots < 2) {
    if (w.k.empty()) {
      CopyRows(k_in, rows, I, qkv + I, qkv_width);  // Efficient: K_i = X_i
    } else {
      w.k.Apply(k_in, rows, qkv + I, false, linear, qkv_width);
    }
  }
  if (slots < 3) {
    if (w.attention_type == AttentionType::kSuper) {
      return AlignValues(w, v_in, offsets, qkv + 2 * I, qkv_width, stats);
    }
    if (w.v.empty()) {
      CopyRows(v_in, rows, I, qkv + 2 * I, qkv_width);  // Optimized, Efficient: V_i = X_i
    } else {
      w.v.Apply(v_in, rows, qkv + 2 * I, false, linear, qkv_width);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBertLayer(const BertLayerWeights& w, const float* x,
                          std::vector<int64_t>* offsets_inout, const ExecutionPlan& plan,
                          const SublayerPruner* pruner, LayerScratch* s, std::vector<float>* y,
                          RunStats* stats) {
  const std::vector<int64_t> offsets = *offsets_inout;
  const int64_t rows = offsets.back();
  const int H = w.hidden, I = w.inner;
  const LinearPrecision linear = plan.linear;

  // Inputs of the attention block: the layer input, or MobileBERT's
  // bottlenecked versions of it.
  const float *q_in = x, *k_in = x, *v_in = x, *residual = x;
  if (w.bottleneck) {
    s->layer_input.resize(rows * I);
    w.bottleneck_in.Apply(x, rows, s->layer_input.data(), false, linear);
    w.bottleneck_in_norm.Apply(s->layer_input.data(), rows);
    residual = s->layer_input.data();
    if (w.bottleneck_attention) {
      q_in = k_in = v_in = residual;
    } else if (w.shared_kq) {
      s->kq.resize(rows * I);
      w.bottleneck_kq.Apply(x, rows, s->kq.data(), false, linear);
      w.bottleneck_kq_norm.Apply(s->kq.data(), rows);
      q_in = k_in = s->kq.data();
    }
  }
  const int64_t qkv_width = 3 * int64_t{I};
  s->qkv.resize(rows * qkv_width);
  {
    const ProfileScope scope(ProfilePhase::kQkvGemm);
    RETURN_IF_ERROR(MakeQkv(w, q_in, k_in, v_in, offsets, linear, s->qkv.data(), stats));
  }

  s->context.resize(rows * I);
  const FusedQkvHeads heads{w.num_heads, w.head_dim,
                            1.0f / std::sqrt(static_cast<float>(w.head_dim)), w.index};
  ASSIGN_OR_RETURN(const float* key_mass,
                   AttendEachSequence(plan, heads, s->qkv.data(), offsets, pruner, &s->key_mass,
                                      s->context.data(), stats));

  // a = norm(attn_out(context) + residual)
  {
    const ProfileScope scope(ProfilePhase::kResidual);
    s->a.assign(residual, residual + rows * I);
  }
  {
    const ProfileScope scope(ProfilePhase::kOutputProjection);
    w.attn_out.Apply(s->context.data(), rows, s->a.data(), true, linear);
  }
  w.attn_norm.Apply(s->a.data(), rows);

  int64_t kept = rows;
  const float* x_kept = x;  // the layer input rows that remain (MobileBERT's last residual)
  if (pruner != nullptr) {
    std::vector<int64_t> keep;
    RETURN_IF_ERROR(PruneRows(*pruner, key_mass, s->a.data(), I, /*keep_first_rows=*/true,
                              offsets_inout, &keep));
    if (w.bottleneck) {
      s->tmp.resize(keep.size() * H);
      for (size_t i = 0; i < keep.size(); ++i) {
        std::memcpy(s->tmp.data() + i * H, x + keep[i] * H, sizeof(float) * H);
      }
      // s->tmp is reused by the feed-forward blocks: keep the rows apart.
      s->layer_input.assign(s->tmp.begin(), s->tmp.end());
      x_kept = s->layer_input.data();
    }
    kept = static_cast<int64_t>(keep.size());
  }
  stats->flops += rows * w.AttentionSublayerFlopsPerToken() + kept * w.FfnSublayerFlopsPerToken();

  for (const BertFfn& f : w.extra_ffn) RunFfn(f, w.activation, linear, kept, s->a.data(), &s->ffn);
  RunFfn(w.ffn, w.activation, linear, kept, s->a.data(), &s->ffn);
  if (w.bottleneck) {
    y->assign(x_kept, x_kept + kept * H);
    w.out_bottleneck.Apply(s->a.data(), kept, y->data(), true, linear);
    w.out_bottleneck_norm.Apply(y->data(), kept);
  } else {
    y->assign(s->a.begin(), s->a.begin() + kept * H);
  }
  return absl::OkStatus();
}

}  // namespace attnserve
