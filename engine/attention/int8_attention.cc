#include "engine/attention/int8_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/lowp_gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& Int8Attention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "int8",
      .description =
          "Dense attention with both GEMMs in 8-bit integers (oneDNN s8s8s32 "
          "for QK^T, u8s8s32 for PV; portable loops on the OpenBLAS build): Q "
          "and K rows quantised to s8 with per-row scales, V columns with "
          "per-column scales, scores dequantised and softmaxed in f32, P "
          "quantised to u8 with per-row scale max(P_i)/255 (a fixed 1/255 "
          "would zero every probability below 1/510 on long inputs). Max "
          "abs error vs exact about 1e-2 of |V|.",
      .time_complexity = "O(n^2 d)",
      .memory_complexity = "O(n^2) per head in flight",
      .exact = false,
      .reports_key_mass = true,
      .params = {},
      .tolerance = {.max_abs_error = 4e-2},
  };
  return *kInfo;
}

namespace {

// x [rows, cols] -> s8 with one scale per row (max |x| / 127).
void QuantizeRows(const float* x, int64_t rows, int cols, int8_t* q, float* scale) {
  for (int64_t i = 0; i < rows; ++i) {
    float amax = 0;
    for (int c = 0; c < cols; ++c) amax = std::max(amax, std::abs(x[i * cols + c]));
    const float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
    scale[i] = s;
    for (int c = 0; c < cols; ++c) {
      q[i * cols + c] = static_cast<int8_t>(approx::RoundNearest(x[i * cols + c] * inv));
    }
  }
}

}  // namespace

absl::Status Int8Attention::Run(const AttentionInputs& in, const AttentionParams& /*params*/,
                                AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    std::vector<int8_t> q8(n_q * d), k8(n_r * d), v8(n_r * d);
    std::vector<float> sq(n_q), sk(n_r), sv(d), sp(n_q);
    QuantizeRows(q.data(), n_q, d, q8.data(), sq.data());
    QuantizeRows(k.data(), n_r, d, k8.data(), sk.data());
    // V per column: the PV sum runs over rows, so only column scales factor out.
    for (int c = 0; c < d; ++c) {
      float amax = 0;
      for (int64_t j = 0; j < n_r; ++j) amax = std::max(amax, std::abs(v[j * d + c]));
      sv[c] = amax > 0 ? amax / 127.0f : 1.0f;
    }
    for (int64_t j = 0; j < n_r; ++j) {
      for (int c = 0; c < d; ++c)
        v8[j * d + c] = static_cast<int8_t>(approx::RoundNearest(v[j * d + c] / sv[c]));
    }
    std::vector<int32_t> acc(n_q * std::max<int64_t>(n_r, d));
    GemmS8S8NT(n_q, n_r, d, q8.data(), d, k8.data(), d, acc.data(), n_r);
    std::vector<float> p(n_r);
    std::vector<uint8_t> p8(n_q * n_r);
    float* mass = head_mass.empty() ? nullptr : head_mass.data() + h * n_r;
    for (int64_t i = 0; i < n_q; ++i) {
      const float row_scale = in.scale * sq[i];
      for (int64_t j = 0; j < n_r; ++j) {
        p[j] = row_scale * sk[j] * static_cast<float>(acc[i * n_r + j]);
      }
      SoftmaxRow(p.data(), n_r);
      const float pmax = *std::max_element(p.begin(), p.end());
      sp[i] = pmax / 255.0f;
      const float inv = 255.0f / pmax;
      for (int64_t j = 0; j < n_r; ++j) {
        p8[i * n_r + j] = static_cast<uint8_t>(approx::RoundNearest(p[j] * inv));
        if (mass != nullptr) mass[j] += p[j];
      }
    }
    GemmU8S8NN(n_q, d, n_r, p8.data(), n_r, v8.data(), d, acc.data(), d);
    for (int64_t i = 0; i < n_q; ++i) {
      for (int c = 0; c < d; ++c)
        out[i * d + c] = static_cast<float>(acc[i * d + c]) * sp[i] * sv[c];
    }
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  approx::AddStats(stats, n_q * n_r * in.num_heads, n_q * n_r * in.num_heads,
                   4 * n_q * n_r * d * in.num_heads);
  return absl::OkStatus();
}

}  // namespace attnserve
