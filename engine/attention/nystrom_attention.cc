#include "engine/attention/nystrom_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& NystromAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "nystrom",
      .description =
          "Nystromformer: `landmarks` segment-mean landmarks of Q and of the "
          "real keys; out = softmax(Q Kl^T) pinv(softmax(Ql Kl^T)) "
          "softmax(Ql K^T) V with the pseudo-inverse from 6 Newton-Schulz "
          "style iterations (Razavi et al.). With landmarks >= n the "
          "factorisation is exact, so the kernel computes it directly (dense). "
          "Pairs scored counts the three small score matrices.",
      .time_complexity = "O(n m d + m^3)",
      .memory_complexity = "O(n m) per head in flight",
      .exact = false,
      .reports_key_mass = false,  // rows of F Z B are not probabilities
      .params = {{"landmarks", ParamType::kInt, 64, 1, 1 << 16, "landmarks m; m >= n is dense"}},
      .tolerance = {.max_rel_error = 1.0},
  };
  return *kInfo;
}

namespace {

constexpr int kPinvIterations = 6;

// Iterative Moore-Penrose pseudo-inverse of the [m, m] row-stochastic A:
// Z0 = A^T / (|A|_1 |A|_inf), Z <- Z (13I - AZ (15I - AZ (7I - AZ))) / 4.
std::vector<float> PseudoInverse(const std::vector<float>& a, int64_t m) {
  double max_row = 0, max_col = 0;
  for (int64_t i = 0; i < m; ++i) {
    double row = 0, col = 0;
    for (int64_t j = 0; j < m; ++j) {
      row += std::abs(a[i * m + j]);
      col += std::abs(a[j * m + i]);
    }
    max_row = std::max(max_row, row);
    max_col = std::max(max_col, col);
  }
  std::vector<float> z(m * m), az(m * m), t(m * m), u(m * m);
  const float inv = static_cast<float>(1.0 / (max_row * max_col));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < m; ++j) z[i * m + j] = a[j * m + i] * inv;
  }
  auto mul = [m](const std::vector<float>& x, const std::vector<float>& y, std::vector<float>* r) {
    Sgemm(false, false, m, m, m, 1.0f, x.data(), m, y.data(), m, 0.0f, r->data(), m);
  };
  auto diag_minus = [m](float c, const std::vector<float>& x, std::vector<float>* r) {
    for (int64_t i = 0; i < m * m; ++i) (*r)[i] = -x[i];
    for (int64_t i = 0; i < m; ++i) (*r)[i * m + i] += c;
  };
  for (int it = 0; it < kPinvIterations; ++it) {
    mul(a, z, &az);
    diag_minus(7.0f, az, &t);  // 7I - AZ
    mul(az, t, &u);            // AZ (7I - AZ)
    diag_minus(15.0f, u, &t);  // 15I - ...
    mul(az, t, &u);            // AZ (15I - ...)
    diag_minus(13.0f, u, &t);  // 13I - ...
    mul(z, t, &u);
    for (int64_t i = 0; i < m * m; ++i) z[i] = 0.25f * u[i];
  }
  return z;
}

// Row-softmax of scale * x y^T, x [r, d], y [c, d] -> [r, c].
std::vector<float> SoftmaxScores(const float* x, int64_t r, const float* y, int64_t c, int d,
                                 float scale) {
  std::vector<float> s(r * c);
  Sgemm(false, true, r, c, d, scale, x, d, y, d, 0.0f, s.data(), c);
  for (int64_t i = 0; i < r; ++i) SoftmaxRow(s.data() + i * c, c);
  return s;
}

}  // namespace

absl::Status NystromAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                                   AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  const int64_t landmarks = static_cast<int64_t>(params.at("landmarks"));
  const bool dense = landmarks >= n_r || n_q == 0;
  const int64_t m = dense ? n_r : std::min(landmarks, n_q);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    if (dense) {
      approx::DenseHead(q.data(), n_q, k.data(), v.data(), n_r, d, in.scale, out.data(), nullptr);
    } else {
      std::vector<float> ql(m * d), kl(m * d), bv(m * d), zbv(m * d);
      approx::SegmentMeans(q.data(), n_q, d, m, ql.data(), nullptr);
      approx::SegmentMeans(k.data(), n_r, d, m, kl.data(), nullptr);
      const std::vector<float> f = SoftmaxScores(q.data(), n_q, kl.data(), m, d, in.scale);
      const std::vector<float> a = SoftmaxScores(ql.data(), m, kl.data(), m, d, in.scale);
      const std::vector<float> b = SoftmaxScores(ql.data(), m, k.data(), n_r, d, in.scale);
      const std::vector<float> z = PseudoInverse(a, m);
      Sgemm(false, false, m, d, n_r, 1.0f, b.data(), n_r, v.data(), d, 0.0f, bv.data(), d);
      Sgemm(false, false, m, d, m, 1.0f, z.data(), m, bv.data(), d, 0.0f, zbv.data(), d);
      Sgemm(false, false, n_q, d, m, 1.0f, f.data(), m, zbv.data(), d, 0.0f, out.data(), d);
    }
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
  }
  const int64_t scored = dense ? n_q * n_r : n_q * m + m * m + m * n_r;
  const int64_t flops = dense ? 4 * n_q * n_r * d
                              : 4 * (n_q + n_r) * m * d + 2 * m * m * d + 2 * m * m * d +
                                    kPinvIterations * 8 * m * m * m;
  approx::AddStats(stats, scored * in.num_heads, n_q * n_r * in.num_heads, flops * in.num_heads);
  return absl::OkStatus();
}

}  // namespace attnserve
