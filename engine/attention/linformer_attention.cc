#include "engine/attention/linformer_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/attention/approx_common.h"
#include "engine/attention/fitted_pooling.h"
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
          "scored counts query x pooled-row scores. fitted=1 pools with "
          "filters fitted to the model instead (tools/fit_linformer.py, "
          "<model_dir>/linformer_fit.json): per layer and head, taps over the "
          "segment of S keys and its neighbours, S the fitted size nearest "
          "n/k, so k becomes ceil(n/S); where n/k is nearer 1 than any fitted "
          "S, segment means as with fitted=0.",
      .time_complexity = "O(n k d)",
      .memory_complexity = "O(n k) per head in flight",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"k", ParamType::kInt, 128, 1, 1 << 20,
                  "projected rows (pooled keys/values); k >= n is dense"},
                 {"fitted", ParamType::kInt, 0, 0, 1,
                  "1: pool with the model's fitted filters (linformer_fit.json) instead of "
                  "segment means"}},
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
  int64_t m = std::min<int64_t>(static_cast<int64_t>(params.at("k")), n_r);
  const FittedPooling* fit = nullptr;
  int fit_index = 0;
  if (params.at("fitted") != 0) {
    fit = in.fitted_pooling;
    if (fit == nullptr) {
      return absl::FailedPreconditionError(
          "linformer fitted=1: this model has no fitted pooling filters "
          "(<model_dir>/linformer_fit.json, made by tools/fit_linformer.py)");
    }
    if (in.layer < 0 || in.layer >= fit->layers || in.num_heads != fit->heads) {
      return absl::FailedPreconditionError(absl::StrCat(
          "linformer fitted=1: ", fit->source, " was fitted for ", fit->layers, " layers x ",
          fit->heads, " heads, not layer ", in.layer, " of ", in.num_heads, " heads"));
    }
    fit_index = fit->NearestSegmentIndex(static_cast<double>(n_r) / static_cast<double>(m));
    if (fit_index < 0) {
      fit = nullptr;  // n/k nearer 1 than any fitted size: segment means, exact at k >= n
    } else {
      const int segment = fit->segments[fit_index];
      m = (n_r + segment - 1) / segment;
    }
  }
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    std::vector<float> pk(m * d), pv(m * d), p(n_q * m), log_count(m);
    std::vector<int64_t> count(m);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    if (fit != nullptr) {
      const PoolingFilter& filter = fit->Filter(fit_index, in.layer, h);
      PoolRows(k.data(), n_r, d, filter.segment, filter.first_offset, filter.key_taps, pk.data(),
               count.data());
      PoolRows(v.data(), n_r, d, filter.segment, filter.first_offset, filter.value_taps, pv.data(),
               nullptr);
    } else {
      approx::SegmentMeans(k.data(), n_r, d, m, pk.data(), count.data());
      approx::SegmentMeans(v.data(), n_r, d, m, pv.data(), nullptr);
    }
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
      int64_t j = 0;
      for (int64_t s = 0; s < m; ++s) {
        for (const int64_t end = j + count[s]; j < end; ++j) {
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
