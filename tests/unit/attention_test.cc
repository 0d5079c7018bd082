// Every kernel of the registry against the naive reference within the
// tolerance its KernelInfo states, on small and odd shapes with and without
// padding; the exact kernels over more shapes with fused-QKV strides; the
// registry's validation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "engine/attention/reference/naive_attention.h"
#include "engine/attention/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/attention_problem.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

struct Shape {
  int64_t n;
  int heads;
  int head_dim;
  bool padded;  // mask out some keys
};

class ExactKernelTest : public ::testing::TestWithParam<std::tuple<std::string, Shape>> {};

TEST_P(ExactKernelTest, MatchesNaiveReference) {
  const auto& [name, shape] = GetParam();
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(name, {});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  const int64_t n = shape.n, width = int64_t{shape.heads} * shape.head_dim;
  // Fused [n, 3 * width] rows, as the encoder lays them out.
  std::mt19937 rng(static_cast<uint32_t>(n * 31 + width));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> qkv(n * 3 * width);
  for (float& x : qkv) x = dist(rng);
  std::vector<float> q(n * width), k(n * width), v(n * width);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < width; ++c) {
      q[i * width + c] = qkv[i * 3 * width + c];
      k[i * width + c] = qkv[i * 3 * width + width + c];
      v[i * width + c] = qkv[i * 3 * width + 2 * width + c];
    }
  }
  std::vector<uint8_t> valid(n, 1);
  if (shape.padded) {
    for (int64_t j = 1; j < n; j += 3) valid[j] = 0;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  AttentionInputs in;
  in.n_q = in.n_kv = n;
  in.num_heads = shape.heads;
  in.head_dim = shape.head_dim;
  in.scale = scale;
  in.q = qkv.data();
  in.k = qkv.data() + width;
  in.v = qkv.data() + 2 * width;
  in.q_stride = in.k_stride = in.v_stride = 3 * width;
  std::vector<float> out(n * width, NAN);
  in.out = out.data();
  in.out_stride = width;
  in.key_valid = shape.padded ? valid.data() : nullptr;
  AttentionStats stats;
  ASSERT_TRUE(resolved->kernel->Run(in, resolved->params, &stats).ok());

  const auto expected = reference::NaiveAttention(q, k, v, n, n, shape.heads, shape.head_dim, scale,
                                                  shape.padded ? &valid : nullptr);
  double worst = 0;
  for (size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, double(std::abs(out[i] - expected[i])));
  EXPECT_LE(worst, resolved->kernel->info().tolerance.max_abs_error) << name << " n=" << n;
  int64_t real = 0;
  for (uint8_t x : valid) real += shape.padded ? x : 1;
  EXPECT_EQ(stats.pairs_scored, n * real * shape.heads);

  // Key mass: every query row's probabilities sum to one, so the total mass
  // is n_q * heads, and padded keys receive none.
  if (resolved->kernel->info().reports_key_mass) {
    std::vector<float> mass(n, 0.0f);
    in.key_mass = mass.data();
    ASSERT_TRUE(resolved->kernel->Run(in, resolved->params, nullptr).ok());
    double total = 0;
    for (int64_t j = 0; j < n; ++j) {
      total += mass[j];
      if (shape.padded && !valid[j]) {
        EXPECT_EQ(mass[j], 0.0f) << j;
      }
    }
    EXPECT_NEAR(total, double(n) * shape.heads, 1e-3 * n * shape.heads);
  }
}

std::vector<std::string> ExactKernelNames() {
  std::vector<std::string> names;
  for (const AttentionKernel* k : AllAttentionKernels()) {
    if (k->info().exact) names.emplace_back(k->name());
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(
    AllShapes, ExactKernelTest,
    ::testing::Combine(::testing::ValuesIn(ExactKernelNames()),
                       ::testing::Values(Shape{1, 1, 8, false}, Shape{2, 4, 64, false},
                                         Shape{17, 4, 64, true}, Shape{128, 4, 128, false},
                                         Shape{130, 2, 32, true}, Shape{513, 4, 64, false},
                                         Shape{1000, 1, 16, true})),
    [](const auto& info) {
      const Shape& s = std::get<1>(info.param);
      return std::get<0>(info.param) + "_n" + std::to_string(s.n) + "_h" + std::to_string(s.heads) +
             "_d" + std::to_string(s.head_dim) + (s.padded ? "_padded" : "");
    });

// ---- Every kernel of the registry, within its stated tolerance --------------

class KernelConformanceTest
    : public ::testing::TestWithParam<std::tuple<std::string, int64_t, bool>> {};

TEST_P(KernelConformanceTest, WithinToleranceAndPaddingIgnored) {
  const auto& [name, n, padded] = GetParam();
  absl::StatusOr<const AttentionKernel*> kernel = FindAttentionKernel(name);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  const KernelInfo& info = (*kernel)->info();
  testing::Problem p = testing::MakeProblem(n, 2, 16, padded);
  const testing::RunResult r = testing::RunKernel(p, name, {});
  for (float x : r.out) ASSERT_TRUE(std::isfinite(x)) << name;
  const testing::ToleranceCheck c = testing::CheckTolerance(info, r.out, testing::Reference(p));
  EXPECT_LE(c.error, c.bound) << name << " n=" << n << ": " << c.measure;
  std::printf("%-15s n=%-4ld %s %.3e (bound %.1e)\n", name.c_str(), static_cast<long>(n), c.measure,
              c.error, c.bound);

  int64_t real = n;
  if (padded) real = std::count(p.valid.begin(), p.valid.end(), 1);
  EXPECT_EQ(r.stats.pairs_total, n * real * p.heads);
  // Nystrom scores 2nm + m^2 pairs, more than n^2 when m > n/3.
  if (name != "nystrom") {
    EXPECT_LE(r.stats.pairs_scored, r.stats.pairs_total + 2 * n * p.heads);
  }
  EXPECT_GT(r.stats.flops, 0);
  if (info.reports_key_mass) {
    double total = 0;
    for (int64_t j = 0; j < n; ++j) {
      total += r.mass[j];
      if (padded && !p.valid[j]) {
        EXPECT_EQ(r.mass[j], 0.0f) << j;
      }
    }
    EXPECT_NEAR(total, double(n) * p.heads, 1e-3 * n * p.heads) << name;
  }
  // Padded keys are ignored: huge values there change nothing.
  if (padded) {
    for (int64_t j = 0; j < n; ++j) {
      if (p.valid[j]) continue;
      for (int64_t col = 0; col < p.width(); ++col) {
        p.k[j * p.width() + col] = p.v[j * p.width() + col] = 1e3f;
      }
    }
    EXPECT_EQ(r.out, testing::RunKernel(p, name, {}).out) << name;
  }
}

std::vector<std::string> AllKernelNames() {
  std::vector<std::string> names;
  for (const AttentionKernel* k : AllAttentionKernels()) names.emplace_back(k->name());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Registry, KernelConformanceTest,
                         ::testing::Combine(::testing::ValuesIn(AllKernelNames()),
                                            ::testing::Values(int64_t{1}, int64_t{2}, int64_t{5},
                                                              int64_t{17}, int64_t{129},
                                                              int64_t{333}),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_n" +
                                  std::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_padded" : "");
                         });

TEST(RegistryTest, UnknownKernelListsKnownNames) {
  absl::StatusOr<ResolvedAttention> r = ResolveAttention("nope", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("unknown attention kernel 'nope'"));
  EXPECT_THAT(r.status().message(), HasSubstr("dense"));
}

TEST(RegistryTest, UnknownParameterIsNamed) {
  absl::StatusOr<ResolvedAttention> r = ResolveAttention("dense", {{"window", "4"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("no parameter 'window'"));
}

TEST(RegistryTest, EveryKernelHasCompleteInfoAndUniqueName) {
  std::set<std::string> names;
  for (const AttentionKernel* k : AllAttentionKernels()) {
    const KernelInfo& info = k->info();
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_FALSE(info.time_complexity.empty()) << info.name;
    // Exactly one tolerance measure, and exact kernels bound the absolute error.
    EXPECT_NE(info.tolerance.max_abs_error > 0, info.tolerance.max_rel_error > 0) << info.name;
    if (info.exact) {
      EXPECT_GT(info.tolerance.max_abs_error, 0) << info.name;
      EXPECT_LE(info.tolerance.max_abs_error, 1e-4) << info.name;
    }
    for (const ParamSpec& p : info.params) {
      EXPECT_LE(p.min_value, p.default_value) << info.name << "." << p.name;
      EXPECT_LE(p.default_value, p.max_value) << info.name << "." << p.name;
    }
  }
  EXPECT_TRUE(names.contains("dense"));
}

TEST(ValidateAttentionInputsTest, RejectsAllPaddingAndBadLayout) {
  std::vector<float> buf(16, 0.0f);
  std::vector<uint8_t> none(2, 0);
  AttentionInputs in;
  in.n_q = in.n_kv = 2;
  in.num_heads = 1;
  in.head_dim = 2;
  in.q = in.k = in.v = buf.data();
  in.out = buf.data() + 8;
  in.q_stride = in.k_stride = in.v_stride = in.out_stride = 2;
  EXPECT_TRUE(ValidateAttentionInputs(in).ok());
  in.key_valid = none.data();
  EXPECT_THAT(ValidateAttentionInputs(in).message(), HasSubstr("every key is padding"));
  in.key_valid = nullptr;
  in.q_stride = 1;
  EXPECT_THAT(ValidateAttentionInputs(in).message(), HasSubstr("row strides"));
}

}  // namespace
}  // namespace attnserve
