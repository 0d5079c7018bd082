#include "engine/attention/adaptive_topk_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/attention/selected_keys_attention.h"
#include "engine/attention/top_k_select.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_scratch.h"

namespace attnserve {

const KernelInfo& AdaptiveTopkAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "adaptive_topk",
      .description =
          "Adaptive sparse attention (seed note 000), training-free: a scorer "
          "ranks the keys for each block of `block` queries by the block's mean "
          "query (in full head dims by default; rank < head_dim scores in a "
          "seeded Gaussian projection instead); the top max(k, ratio*n) keys "
          "(or, with key_block > 1, whole runs of key_block contiguous keys) "
          "are kept and the block runs an exact softmax over those only, reading "
          "their rows in place (selected_keys_attention.h). Pairs scored counts "
          "the exact pairs; k >= n is dense.",
      .time_complexity = "O(n^2 min(r, d) / block + n kept d)",
      .memory_complexity = "O(n r + n^2 / block)",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"k", ParamType::kInt, 32, 1, 1 << 20, "kept keys per query (at least)"},
                 {"ratio", ParamType::kFloat, 0.125, 0, 1,
                  "kept fraction of the keys, if more than k"},
                 {"rank", ParamType::kInt, 4096, 1, 4096,
                  "scorer dimensions; >= head_dim (the default) scores in full dims"},
                 {"block", ParamType::kInt, 32, 1, 1 << 16, "queries sharing one key selection"},
                 {"key_block", ParamType::kInt, 1, 1, 1 << 16,
                  "contiguous keys selected together (1: each key on its own)"},
                 {"seed", ParamType::kInt, 0, 0, 2147483647.0, "projection seed"}},
      .tolerance = {.max_rel_error = 1.2},
  };
  return *kInfo;
}

namespace {

// Per-thread buffers, reused across heads and calls (grow only).
struct Scratch {
  std::vector<float> q, k, v, out, qbar, proj, kp, qp, scorer, block_best;
  std::vector<int64_t> sel, picked;
  TopKScratch top;
  SelectedKeysScratch attend;
};

// The keys of the top ceil(kept / key_block) contiguous key blocks, ranked by
// each block's best key score: whole blocks are kept, so the gathers copy
// key_block rows at a time and the selection ranks n / key_block items.
void TopKeyBlocks(const float* scores, int64_t n, int64_t kept, int64_t key_block, Scratch* s) {
  const int64_t count = (n + key_block - 1) / key_block;
  float* best = GrownTo(&s->block_best, count);
  for (int64_t b = 0; b < count; ++b) {
    const int64_t end = std::min(n, (b + 1) * key_block);
    best[b] = *std::max_element(scores + b * key_block, scores + end);
  }
  TopKIndices(best, count, std::min(count, (kept + key_block - 1) / key_block), &s->top,
              &s->picked);
  s->sel.clear();
  for (int64_t b : s->picked) {
    for (int64_t j = b * key_block; j < std::min(n, (b + 1) * key_block); ++j) s->sel.push_back(j);
  }
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
  const int64_t key_block = static_cast<int64_t>(params.at("key_block"));
  // With no padded key, rows are read where they lie (strided) instead of gathered.
  const bool all_real = n_r == in.n_kv;
  std::vector<int64_t> head_pairs(in.num_heads, n_q * kept);
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    thread_local Scratch s;
    float* mass = head_mass.empty() ? nullptr : head_mass.data() + h * n_r;
    const float* q = in.q + int64_t{h} * d;
    const int64_t ldq = in.q_stride;
    const float *k = in.k + int64_t{h} * d, *v = in.v + int64_t{h} * d;
    int64_t ldk = in.k_stride, ldv = in.v_stride;
    if (!all_real) {
      approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, GrownTo(&s.k, n_r * d));
      approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, GrownTo(&s.v, n_r * d));
      k = s.k.data();
      v = s.v.data();
      ldk = ldv = d;
    }
    if (dense) {
      float* out = GrownTo(&s.out, n_q * d);
      approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, GrownTo(&s.q, n_q * d));
      if (all_real) {
        approx::GatherHead(in.k, in.k_stride, h, d, nullptr, n_r, GrownTo(&s.k, n_r * d));
        approx::GatherHead(in.v, in.v_stride, h, d, nullptr, n_r, GrownTo(&s.v, n_r * d));
      }
      approx::DenseHead(s.q.data(), n_q, s.k.data(), s.v.data(), n_r, d, in.scale, out, mass);
      approx::ScatterHead(out, n_q, d, h, in.out, in.out_stride);
      continue;
    }
    // Scorer: block-mean queries and keys in r dims, [blocks, n_r] scores.
    // (Sums: the ranking does not depend on the mean's 1 / rows.)
    float* qbar = GrownTo(&s.qbar, blocks * d);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * bq, rows = std::min(n_q, begin + bq) - begin;
      SumRows(q + begin * ldq, ldq, rows, d, qbar + b * d);
    }
    float* scorer = GrownTo(&s.scorer, blocks * n_r);
    if (project) {
      float* proj = GrownTo(&s.proj, int64_t{d} * r);
      float* kp = GrownTo(&s.kp, n_r * r);
      float* qp = GrownTo(&s.qp, blocks * r);
      approx::FillGaussian(approx::MixSeed(seed, h), proj, int64_t{d} * r);
      Sgemm(false, false, n_r, r, d, 1.0f, k, ldk, proj, r, 0.0f, kp, r);
      Sgemm(false, false, blocks, r, d, 1.0f, qbar, d, proj, r, 0.0f, qp, r);
      Sgemm(false, true, blocks, n_r, r, 1.0f, qp, r, kp, r, 0.0f, scorer, n_r);
    } else {
      ScoreAllKeys(qbar, d, blocks, k, ldk, n_r, d, scorer, &s.attend);
    }
    // Exact attention of each query block over its kept keys, read in place.
    head_pairs[h] = 0;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * bq, rows = std::min(n_q, begin + bq) - begin;
      if (key_block > 1) {
        TopKeyBlocks(scorer + b * n_r, n_r, kept, key_block, &s);
      } else {
        TopKIndices(scorer + b * n_r, n_r, kept, &s.top, &s.sel);
      }
      const int64_t m = static_cast<int64_t>(s.sel.size());
      head_pairs[h] += rows * m;
      AttendSelectedKeys(q + begin * ldq, ldq, rows, k, ldk, v, ldv, s.sel.data(), m, d, in.scale,
                         in.out + begin * in.out_stride + int64_t{h} * d, in.out_stride, mass,
                         &s.attend);
    }
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  int64_t pairs = 0;
  for (int64_t hp : head_pairs) pairs += hp;
  const int64_t scorer_flops =
      dense ? 0 : (project ? 2 * (n_r + blocks) * d * r : 0) + 2 * blocks * n_r * r;
  approx::AddStats(stats, pairs, n_q * n_r * in.num_heads,
                   in.num_heads * scorer_flops + 4 * pairs * d);
  return absl::OkStatus();
}

}  // namespace attnserve
