#include "engine/attention/dense_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_scratch.h"

namespace attnserve {

const KernelInfo& DenseAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "dense",
      .description =
          "Exact softmax(QK^T/sqrt(d))V: one GEMM for the scores, a row "
          "softmax, one GEMM for the output, per head. The baseline.",
      .time_complexity = "O(n^2 d)",
      .memory_complexity = "O(n^2) per head in flight",
      .exact = true,
      .reports_key_mass = true,
      .params = {},
      .tolerance = {.max_abs_error = 1e-5},
  };
  return *kInfo;
}

absl::Status DenseAttention::Run(const AttentionInputs& in, const AttentionParams& /*params*/,
                                 AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const int64_t n_q = in.n_q, n_kv = in.n_kv, d = in.head_dim;
  int64_t real_keys = n_kv;
  if (in.key_valid != nullptr) {
    real_keys = 0;
    for (int64_t j = 0; j < n_kv; ++j) real_keys += in.key_valid[j] != 0;
  }
  // Per-head key mass, summed after the heads (no shared writes). This and
  // the score matrices are kept per thread for the next call (thread_scratch.h).
  thread_local std::vector<float> kept_head_mass;
  // A plain reference: inside the parallel region the name of a thread_local
  // would mean each worker's own (empty) vector.
  std::vector<float>& head_mass = kept_head_mass;
  head_mass.assign(in.key_mass != nullptr ? in.num_heads * n_kv : 0, 0.0f);
  const auto run_head = [&](int h) {
    const ProfileScope scope(ProfilePhase::kAttention);
    thread_local std::vector<float> scores;
    scores.resize(n_q * n_kv);
    Sgemm(false, true, n_q, n_kv, d, in.scale, in.q + h * d, in.q_stride, in.k + h * d, in.k_stride,
          0.0f, scores.data(), n_kv);
    {
      const ProfileScope softmax(ProfilePhase::kSoftmax);
      for (int64_t i = 0; i < n_q; ++i) {
        float* row = scores.data() + i * n_kv;
        if (in.key_valid != nullptr) {
          for (int64_t j = 0; j < n_kv; ++j) {
            if (!in.key_valid[j]) row[j] = -std::numeric_limits<float>::infinity();
          }
        }
        SoftmaxRow(row, n_kv);
        if (!head_mass.empty()) {
          float* mass = head_mass.data() + h * n_kv;
          for (int64_t j = 0; j < n_kv; ++j) mass[j] += row[j];
        }
      }
    }
    Sgemm(false, false, n_q, d, n_kv, 1.0f, scores.data(), n_kv, in.v + h * d, in.v_stride, 0.0f,
          in.out + h * d, in.out_stride);
    ReleaseUnlessKept(&scores);
  };
  // Heads are independent: spread them over the caller's threads; each GEMM
  // then runs single-threaded inside the parallel region. One thread skips
  // the region: entering it costs a team set-up (and a malloc in libgomp).
  if (in.num_heads > 1 && omp_get_max_threads() > 1) {
    const ProfileScope handoff(ProfilePhase::kThreadHandoff);
#pragma omp parallel for schedule(static)
    for (int h = 0; h < in.num_heads; ++h) run_head(h);
  } else {
    for (int h = 0; h < in.num_heads; ++h) run_head(h);
  }
  for (int h = 0; h < static_cast<int>(head_mass.size() / std::max<int64_t>(n_kv, 1)); ++h) {
    for (int64_t j = 0; j < n_kv; ++j) in.key_mass[j] += head_mass[h * n_kv + j];
  }
  ReleaseUnlessKept(&head_mass);
  if (stats != nullptr) {
    stats->pairs_scored += n_q * real_keys * in.num_heads;
    stats->pairs_total += n_q * real_keys * in.num_heads;
    stats->flops += 4 * n_q * n_kv * d * in.num_heads;
  }
  return absl::OkStatus();
}

}  // namespace attnserve
