#include "engine/attention/performer_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/attention/dense_attention.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& PerformerAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "performer",
      .description =
          "Performer FAVOR+: softmax kernel estimated with `features` positive "
          "orthogonal random features phi(x) = exp(w.x - |x|^2/2)/sqrt(m), "
          "out = phi(Q)(phi(K)^T V) / phi(Q)(phi(K)^T 1), on keys centred and "
          "query/key norms balanced (same softmax, lower variance). Linear in n; "
          "scores no query-key pair (pairs scored = 0) except on sequences "
          "shorter than `dense_below`, which run exact. Deterministic given "
          "seed; each head draws its own features.",
      .time_complexity = "O(n m d)",
      .memory_complexity = "O(n m) per head in flight",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"features", ParamType::kInt, 256, 1, 1 << 16, "random features m"},
                 {"seed", ParamType::kInt, 0, 0, 2147483647.0, "random feature seed"},
                 {"dense_below", ParamType::kInt, 1024, 0, 1 << 20,
                  "sequences with fewer real keys run exact dense attention: below ~1,000 "
                  "tokens the estimate is both slower than dense and far from it "
                  "(docs/ATTENTION_QUALITY.md); 0 = never"}},
      .tolerance = {.max_rel_error = 1.2},
  };
  return *kInfo;
}

namespace {

// phi(x) for n rows of x [n, d] given x.W^T in xw [n, m], in place, up to
// a constant factor per query row (per_row) or for all keys, which cancels
// in the normalisation. The factor makes the largest entry exactly 1, so
// nothing overflows and the features of large-norm inputs do not all
// underflow. A query's -|q|^2/2 is one of those per-row constants.
void FeatureMap(const float* x, int64_t n, int d, int64_t m, bool per_row, float* xw) {
  if (!per_row) {
    for (int64_t i = 0; i < n; ++i) {
      float sq = 0;
      for (int c = 0; c < d; ++c) sq += x[i * d + c] * x[i * d + c];
      for (int64_t f = 0; f < m; ++f) xw[i * m + f] -= 0.5f * sq;
    }
  }
  const float global = per_row ? 0.0f : *std::max_element(xw, xw + n * m);
  for (int64_t i = 0; i < n; ++i) {
    float* row = xw + i * m;
    const float shift = per_row ? *std::max_element(row, row + m) : global;
#pragma omp simd
    for (int64_t f = 0; f < m; ++f) row[f] = approx::FastExp(row[f] - shift);
  }
}

// Rewrites the scaled q', k' (q' = sqrt(scale) q, k' = sqrt(scale) k) into
// pairs with the same softmax but a far smaller estimator variance, which
// grows like exp(|q' + k'|^2): keys lose their mean (q'.mu is the same for
// every key of a query, so the softmax is unchanged) and queries and keys
// trade a factor a (q'.k' = (a q').(k'/a)) that equalises their mean norms.
// Real models' keys share a large common direction; without this, 4,096
// features kept only 0.4-0.9 cosine to dense on USE-lite prose.
void BalanceNorms(float root, int64_t n_q, int64_t n_k, int d, float* q, float* k) {
  std::vector<double> mean(d, 0.0);
  for (int64_t j = 0; j < n_k; ++j) {
    for (int c = 0; c < d; ++c) mean[c] += k[j * d + c];
  }
  for (double& m : mean) m /= static_cast<double>(std::max<int64_t>(n_k, 1));
  double norm_q = 0, norm_k = 0;
  for (int64_t j = 0; j < n_k; ++j) {
    double sq = 0;
    for (int c = 0; c < d; ++c) {
      k[j * d + c] -= static_cast<float>(mean[c]);
      sq += double{k[j * d + c]} * k[j * d + c];
    }
    norm_k += std::sqrt(sq);
  }
  for (int64_t i = 0; i < n_q; ++i) {
    double sq = 0;
    for (int c = 0; c < d; ++c) sq += double{q[i * d + c]} * q[i * d + c];
    norm_q += std::sqrt(sq);
  }
  norm_q /= static_cast<double>(std::max<int64_t>(n_q, 1));
  norm_k /= static_cast<double>(std::max<int64_t>(n_k, 1));
  const double a = norm_q > 0 && norm_k > 0 ? std::sqrt(norm_k / norm_q) : 1.0;
  const float q_factor = static_cast<float>(root * a), k_factor = static_cast<float>(root / a);
  for (int64_t i = 0; i < n_q * d; ++i) q[i] *= q_factor;
  for (int64_t j = 0; j < n_k * d; ++j) k[j] *= k_factor;
}

// The random features of (seed, head, m, d), drawn once per process: each
// layer of every request reuses them instead of redrawing (a third of the
// kernel's time at n = 512 otherwise).
std::shared_ptr<const std::vector<float>> Features(uint64_t seed, int head, int64_t m, int d) {
  static std::mutex* const mu = new std::mutex;
  static auto* const cache = new std::map<std::tuple<uint64_t, int, int64_t, int>,
                                          std::shared_ptr<const std::vector<float>>>;
  const auto key = std::make_tuple(seed, head, m, d);
  {
    std::lock_guard<std::mutex> lock(*mu);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  auto features = std::make_shared<const std::vector<float>>(
      approx::OrthogonalGaussianRows(approx::MixSeed(seed, head), m, d));
  std::lock_guard<std::mutex> lock(*mu);
  if (cache->size() >= 1024) cache->clear();  // bound memory under odd params
  cache->emplace(key, features);
  return features;
}

}  // namespace

absl::Status PerformerAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                                     AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  const int64_t m = static_cast<int64_t>(params.at("features"));
  const uint64_t seed = static_cast<uint64_t>(params.at("seed"));
  if (n_r < static_cast<int64_t>(params.at("dense_below"))) {
    static const DenseAttention* const kDense = new DenseAttention();
    return kDense->Run(in, {}, stats);
  }
  // exp(scale q.k) = exp(q'.k') with q' = sqrt(scale) q, k' = sqrt(scale) k.
  const float root = std::sqrt(in.scale);
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    const std::shared_ptr<const std::vector<float>> features = Features(seed, h, m, d);
    const std::vector<float>& w = *features;
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d);
    std::vector<float> qf(n_q * m), kf(n_r * m), kv(m * d), ksum(m, 0.0f);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    BalanceNorms(root, n_q, n_r, d, q.data(), k.data());
    Sgemm(false, true, n_q, m, d, 1.0f, q.data(), d, w.data(), d, 0.0f, qf.data(), m);
    Sgemm(false, true, n_r, m, d, 1.0f, k.data(), d, w.data(), d, 0.0f, kf.data(), m);
    FeatureMap(q.data(), n_q, d, m, /*per_row=*/true, qf.data());
    FeatureMap(k.data(), n_r, d, m, /*per_row=*/false, kf.data());
    Sgemm(true, false, m, d, n_r, 1.0f, kf.data(), m, v.data(), d, 0.0f, kv.data(), d);
    for (int64_t j = 0; j < n_r; ++j) {
      for (int64_t f = 0; f < m; ++f) ksum[f] += kf[j * m + f];
    }
    Sgemm(false, false, n_q, d, m, 1.0f, qf.data(), m, kv.data(), d, 0.0f, out.data(), d);
    std::vector<float> usum(m, 0.0f);  // sum_i phi(q_i) / den_i, for key mass
    for (int64_t i = 0; i < n_q; ++i) {
      const float* row = qf.data() + i * m;
      double den = 0;
      for (int64_t f = 0; f < m; ++f) den += double{row[f]} * ksum[f];
      const float inv = den > 0 ? static_cast<float>(1.0 / den) : 0.0f;
      for (int c = 0; c < d; ++c) out[i * d + c] *= inv;
      if (!head_mass.empty()) {
        for (int64_t f = 0; f < m; ++f) usum[f] += row[f] * inv;
      }
    }
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
    if (!head_mass.empty()) {
      for (int64_t j = 0; j < n_r; ++j) {
        double mass = 0;
        for (int64_t f = 0; f < m; ++f) mass += double{kf[j * m + f]} * usum[f];
        head_mass[h * n_r + j] = static_cast<float>(mass);
      }
    }
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  approx::AddStats(stats, 0, n_q * n_r * in.num_heads, in.num_heads * (4 * (n_q + n_r) * m * d));
  return absl::OkStatus();
}

}  // namespace attnserve
