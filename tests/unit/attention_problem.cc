#include "tests/unit/attention_problem.h"

#include <algorithm>
#include <random>

#include "engine/attention/reference/naive_attention.h"
#include "engine/attention/registry.h"
#include "gtest/gtest.h"

namespace attnserve::testing {

Problem MakeProblem(int64_t n, int heads, int d, bool padded, float sharpness, uint32_t seed) {
  constexpr int kRank = 8;
  Problem p{n, heads, d, {}, {}, {}, {}};
  std::mt19937 rng(seed + static_cast<uint32_t>(n));
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int64_t w = p.width();
  std::vector<float> z(n * kRank), mq(kRank * w), mk(kRank * w);
  // The latent drifts along the sequence (AR(1), rho 0.9): neighbours are
  // related, as in text, and distant tokens can still match.
  for (int64_t i = 0; i < n; ++i) {
    for (int r = 0; r < kRank; ++r) {
      const float prev = i > 0 ? z[(i - 1) * kRank + r] : g(rng);
      z[i * kRank + r] = 0.9f * prev + 0.436f * g(rng);
    }
  }
  const float sigma = std::sqrt(sharpness / std::sqrt(static_cast<float>(d)));
  for (int64_t i = 0; i < kRank * w; ++i) {
    mq[i] = sigma * g(rng);
    mk[i] = mq[i] + 0.2f * sigma * g(rng);
  }
  p.q.assign(n * w, 0.0f);
  p.k.assign(n * w, 0.0f);
  p.v.resize(n * w);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < w; ++c) {
      for (int r = 0; r < kRank; ++r) {
        p.q[i * w + c] += z[i * kRank + r] * mq[r * w + c];
        p.k[i * w + c] += z[i * kRank + r] * mk[r * w + c];
      }
      p.q[i * w + c] += 0.3f * g(rng);
      p.k[i * w + c] += 0.3f * g(rng);
      p.v[i * w + c] = g(rng);
    }
  }
  if (padded) {
    p.valid.assign(n, 1);
    for (int64_t j = 1; j < n; j += 3) p.valid[j] = 0;
  }
  return p;
}

AttentionInputs InputsFor(const Problem& p, float* out) {
  AttentionInputs in;
  in.n_q = in.n_kv = p.n;
  in.num_heads = p.heads;
  in.head_dim = p.d;
  in.scale = p.scale();
  in.q = p.q.data();
  in.k = p.k.data();
  in.v = p.v.data();
  in.q_stride = in.k_stride = in.v_stride = in.out_stride = p.width();
  in.out = out;
  in.key_valid = p.valid.empty() ? nullptr : p.valid.data();
  return in;
}

RunResult RunKernel(const Problem& p, const std::string& name,
                    const std::map<std::string, std::string>& params) {
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(name, params);
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  RunResult r;
  r.out.assign(p.n * p.width(), NAN);
  r.mass.assign(p.n, 0.0f);
  if (!resolved.ok()) return r;
  AttentionInputs in = InputsFor(p, r.out.data());
  in.key_mass = resolved->kernel->info().reports_key_mass ? r.mass.data() : nullptr;
  const absl::Status status = resolved->kernel->Run(in, resolved->params, &r.stats);
  EXPECT_TRUE(status.ok()) << name << ": " << status;
  return r;
}

std::vector<float> Reference(const Problem& p) {
  return reference::NaiveAttention(p.q, p.k, p.v, p.n, p.n, p.heads, p.d, p.scale(),
                                   p.valid.empty() ? nullptr : &p.valid);
}

double RelError(const std::vector<float>& out, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (double{out[i]} - ref[i]) * (double{out[i]} - ref[i]);
    den += double{ref[i]} * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

double MaxAbsError(const std::vector<float>& out, const std::vector<float>& ref) {
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::abs(double{out[i]} - ref[i]));
  return worst;
}

ToleranceCheck CheckTolerance(const KernelInfo& info, const std::vector<float>& out,
                              const std::vector<float>& ref) {
  if (info.tolerance.max_abs_error > 0) {
    return {MaxAbsError(out, ref), info.tolerance.max_abs_error, "max abs error"};
  }
  return {RelError(out, ref), info.tolerance.max_rel_error, "relative error"};
}

}  // namespace attnserve::testing
