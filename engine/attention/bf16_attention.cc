#include "engine/attention/bf16_attention.h"

#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/lowp_gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& Bf16Attention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "bf16",
      .description =
          "Dense attention with Q, K, V and P rounded to bfloat16 and both "
          "GEMMs in bf16 with f32 accumulation and output (oneDNN matmul; "
          "portable loops on the OpenBLAS build); scale and softmax in f32. "
          "Max abs error vs exact about 1e-2 of |V| (8-bit mantissa).",
      .time_complexity = "O(n^2 d)",
      .memory_complexity = "O(n^2) per head in flight",
      .exact = false,
      .reports_key_mass = true,
      .params = {},
      .tolerance = {.max_abs_error = 2.5e-2},
  };
  return *kInfo;
}

namespace {

// Rows of one head of a strided matrix, rounded to bf16, dense [count, d].
std::vector<uint16_t> HeadToBf16(const float* src, int64_t stride, int head, int d,
                                 const int64_t* rows, int64_t count) {
  std::vector<uint16_t> out(count * d);
  for (int64_t r = 0; r < count; ++r) {
    const float* row = src + (rows != nullptr ? rows[r] : r) * stride + int64_t{head} * d;
    for (int c = 0; c < d; ++c) out[r * d + c] = ToBf16(row[c]);
  }
  return out;
}

}  // namespace

absl::Status Bf16Attention::Run(const AttentionInputs& in, const AttentionParams& /*params*/,
                                AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    const std::vector<uint16_t> q = HeadToBf16(in.q, in.q_stride, h, d, nullptr, n_q);
    const std::vector<uint16_t> k = HeadToBf16(in.k, in.k_stride, h, d, real.data(), n_r);
    const std::vector<uint16_t> v = HeadToBf16(in.v, in.v_stride, h, d, real.data(), n_r);
    std::vector<float> s(n_q * n_r), out(n_q * d);
    std::vector<uint16_t> p(n_q * n_r);
    GemmBf16(true, n_q, n_r, d, q.data(), d, k.data(), d, s.data(), n_r);
    float* mass = head_mass.empty() ? nullptr : head_mass.data() + h * n_r;
    for (int64_t i = 0; i < n_q; ++i) {
      float* row = s.data() + i * n_r;
      for (int64_t j = 0; j < n_r; ++j) row[j] *= in.scale;
      SoftmaxRow(row, n_r);
      for (int64_t j = 0; j < n_r; ++j) {
        p[i * n_r + j] = ToBf16(row[j]);
        if (mass != nullptr) mass[j] += row[j];
      }
    }
    GemmBf16(false, n_q, d, n_r, p.data(), n_r, v.data(), d, out.data(), d);
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  approx::AddStats(stats, n_q * n_r * in.num_heads, n_q * n_r * in.num_heads,
                   4 * n_q * n_r * d * in.num_heads);
  return absl::OkStatus();
}

}  // namespace attnserve
