#include "engine/attention/adaptive_topk_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& AdaptiveTopkAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "adaptive_topk",
      .description =
          "Adaptive sparse attention (seed note 000), training-free: a cheap "
          "scorer in a compressed space (Q and K projected to `rank` dims by "
          "a fixed seeded Gaussian projection; rank >= head_dim scores in "
          "full dims) ranks the keys for each block of `block` queries by "
          "the block's mean query; the top max(k, ratio*n) keys are kept and "
          "the block runs an exact softmax over those only (two small GEMMs). "
          "Pairs scored counts the exact pairs; k >= n is dense.",
      .time_complexity = "O(n^2 r / block + n kept d)",
      .memory_complexity = "O(n r + n^2 / block)",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"k", ParamType::kInt, 32, 1, 1 << 20, "kept keys per query (at least)"},
                 {"ratio", ParamType::kFloat, 0.125, 0, 1,
                  "kept fraction of the keys, if more than k"},
                 {"rank", ParamType::kInt, 16, 1, 4096,
                  "scorer dimensions; >= head_dim scores in full dims"},
                 {"block", ParamType::kInt, 32, 1, 1 << 16, "queries sharing one key selection"},
                 {"seed", ParamType::kInt, 0, 0, 2147483647.0, "projection seed"}},
      .tolerance = {.max_rel_error = 1.2},
  };
  return *kInfo;
}

namespace {

// Indices (ascending) of the `kept` largest of scores[0, n): a threshold from
// nth_element on a copy, then one pass (ties at the threshold filled in order).
void TopK(const float* scores, int64_t n, int64_t kept, std::vector<float>* work,
          std::vector<int64_t>* out) {
  work->assign(scores, scores + n);
  std::nth_element(work->begin(), work->begin() + (n - kept), work->end());
  const float threshold = (*work)[n - kept];
  out->clear();
  for (int64_t j = 0; j < n; ++j) {
    if (scores[j] > threshold) out->push_back(j);
  }
  for (int64_t j = 0; j < n && static_cast<int64_t>(out->size()) < kept; ++j) {
    if (scores[j] == threshold) out->push_back(j);
  }
  std::sort(out->begin(), out->end());
}

}  // namespace

absl::Status AdaptiveTopkAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                                        AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  const int64_t kept = std::min<int64_t>(
      n_r, std::max<int64_t>(static_cast<int64_t>(params.at("k")),
                             static_cast<int64_t>(std::ceil(params.at("ratio") * n_r))));
  const bool dense = kept >= n_r;
  const int r = std::min<int>(static_cast<int>(params.at("rank")), d);
  const bool project = r < d;
  const int64_t bq = static_cast<int64_t>(params.at("block"));
  const int64_t blocks = (n_q + bq - 1) / bq;
  const uint64_t seed = static_cast<uint64_t>(params.at("seed"));
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    float* mass = head_mass.empty() ? nullptr : head_mass.data() + h * n_r;
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    if (dense) {
      approx::DenseHead(q.data(), n_q, k.data(), v.data(), n_r, d, in.scale, out.data(), mass);
      approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
      continue;
    }
    // Scorer: block-mean queries and keys in r dims, [blocks, n_r] scores.
    std::vector<float> qbar(blocks * d, 0.0f);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t end = std::min(n_q, (b + 1) * bq);
      for (int64_t i = b * bq; i < end; ++i) {
        for (int c = 0; c < d; ++c) qbar[b * d + c] += q[i * d + c];
      }
    }
    std::vector<float> scorer(blocks * n_r);
    if (project) {
      std::vector<float> proj(int64_t{d} * r), kp(n_r * r), qp(blocks * r);
      approx::FillGaussian(approx::MixSeed(seed, h), proj.data(), proj.size());
      Sgemm(false, false, n_r, r, d, 1.0f, k.data(), d, proj.data(), r, 0.0f, kp.data(), r);
      Sgemm(false, false, blocks, r, d, 1.0f, qbar.data(), d, proj.data(), r, 0.0f, qp.data(), r);
      Sgemm(false, true, blocks, n_r, r, 1.0f, qp.data(), r, kp.data(), r, 0.0f, scorer.data(),
            n_r);
    } else {
      Sgemm(false, true, blocks, n_r, d, 1.0f, qbar.data(), d, k.data(), d, 0.0f, scorer.data(),
            n_r);
    }
    // Exact attention of each query block over its kept keys.
    std::vector<float> work, ks(kept * d), vs(kept * d), p(bq * kept);
    std::vector<int64_t> sel;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * bq, rows = std::min(n_q, begin + bq) - begin;
      TopK(scorer.data() + b * n_r, n_r, kept, &work, &sel);
      approx::GatherHead(k.data(), d, 0, d, sel.data(), kept, ks.data());
      approx::GatherHead(v.data(), d, 0, d, sel.data(), kept, vs.data());
      Sgemm(false, true, rows, kept, d, in.scale, q.data() + begin * d, d, ks.data(), d, 0.0f,
            p.data(), kept);
      for (int64_t i = 0; i < rows; ++i) {
        float* row = p.data() + i * kept;
        SoftmaxRow(row, kept);
        if (mass != nullptr) {
          for (int64_t t = 0; t < kept; ++t) mass[sel[t]] += row[t];
        }
      }
      Sgemm(false, false, rows, d, kept, 1.0f, p.data(), kept, vs.data(), d, 0.0f,
            out.data() + begin * d, d);
    }
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  const int64_t scorer_flops =
      dense ? 0 : (project ? 2 * (n_r + blocks) * d * r : 0) + 2 * blocks * n_r * r;
  approx::AddStats(stats, n_q * kept * in.num_heads, n_q * n_r * in.num_heads,
                   in.num_heads * (scorer_flops + 4 * n_q * kept * d));
  return absl::OkStatus();
}

}  // namespace attnserve
