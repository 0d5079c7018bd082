#include "engine/attention/linformer_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& LinformerAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "linformer",
      .description =
          "Linformer with a training-free projection: keys and values are "
          "pooled to k rows by segment means (contiguous runs of real keys), "
          "and each pooled score gets +log(segment size) so a segment weighs "
          "as much as its members would. A pretrained model has no learned "
          "E/F projections; pooling neighbours is the projection that keeps "
          "locality and is exact when k >= n (segments of one key). Pairs "
          "scored counts query x pooled-row scores.",
      .time_complexity = "O(n k d)",
      .memory_complexity = "O(n k) per head in flight",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"k", ParamType::kInt, 128, 1, 1 << 20,
                  "projected rows (pooled keys/values); k >= n is dense"}},
      .tolerance = {.max_rel_error = 1.2},
  };
  return *kInfo;
}

absl::Status LinformerAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                                     AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  const int64_t m = std::min<int64_t>(static_cast<int64_t>(params.at("k")), n_r);
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    std::vector<float> pk(m * d), pv(m * d), p(n_q * m), log_count(m);
    std::vector<int64_t> count(m);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    approx::SegmentMeans(k.data(), n_r, d, m, pk.data(), count.data());
    approx::SegmentMeans(v.data(), n_r, d, m, pv.data(), nullptr);
    for (int64_t s = 0; s < m; ++s) log_count[s] = std::log(static_cast<float>(count[s]));
    Sgemm(false, true, n_q, m, d, in.scale, q.data(), d, pk.data(), d, 0.0f, p.data(), m);
    std::vector<float> col(m, 0.0f);
    for (int64_t i = 0; i < n_q; ++i) {
      float* row = p.data() + i * m;
      for (int64_t s = 0; s < m; ++s) row[s] += log_count[s];
      SoftmaxRow(row, m);
      for (int64_t s = 0; s < m; ++s) col[s] += row[s];
    }
    Sgemm(false, false, n_q, d, m, 1.0f, p.data(), m, pv.data(), d, 0.0f, out.data(), d);
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
    if (!head_mass.empty()) {
      // A segment's probability is shared equally by its members.
      for (int64_t s = 0; s < m; ++s) {
        for (int64_t j = approx::SegmentBegin(s, n_r, m); j < approx::SegmentBegin(s + 1, n_r, m);
             ++j) {
          head_mass[h * n_r + j] = col[s] / static_cast<float>(count[s]);
        }
      }
    }
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  approx::AddStats(stats, n_q * m * in.num_heads, n_q * n_r * in.num_heads,
                   in.num_heads * (4 * n_q * m * d + 2 * n_r * d));
  return absl::OkStatus();
}

}  // namespace attnserve
