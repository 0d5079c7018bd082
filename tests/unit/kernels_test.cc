// Fast kernels against their naive double-precision twins.
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/reference/naive_kernels.h"
#include "engine/util/float_env.h"
#include "gtest/gtest.h"
#include "tests/unit/kernel_test_util.h"

namespace attnserve {
namespace {

using kernel_test::MaxRelError;
using kernel_test::RandomVector;

struct GemmCase {
  bool ta, tb;
  int64_t m, n, k;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesNaive) {
  const GemmCase c = GetParam();
  const auto a = RandomVector(c.m * c.k, 1);
  const auto b = RandomVector(c.k * c.n, 2);
  std::vector<float> out(c.m * c.n, 0.0f);
  Sgemm(c.ta, c.tb, c.m, c.n, c.k, 1.0f, a.data(), c.ta ? c.m : c.k, b.data(), c.tb ? c.k : c.n,
        0.0f, out.data(), c.n);
  const auto expected = reference::Gemm(c.ta, c.tb, c.m, c.n, c.k, a, b);
  // f32 accumulation over k terms of unit-variance products.
  EXPECT_LT(MaxRelError(out, expected), 1e-5 * std::sqrt(double(c.k)) + 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmTest,
    ::testing::Values(GemmCase{false, false, 1, 1, 1}, GemmCase{false, false, 7, 13, 5},
                      GemmCase{false, true, 33, 17, 64}, GemmCase{true, false, 16, 31, 9},
                      GemmCase{true, true, 5, 8, 300}, GemmCase{false, false, 128, 512, 256},
                      GemmCase{false, false, 3, 1536, 512}));

TEST(GemmTest, LinearSetsAndAccumulatesWithBias) {
  const int64_t m = 4, k = 6, n = 5;
  const auto x = RandomVector(m * k, 3), w = RandomVector(k * n, 4), bias = RandomVector(n, 5);
  const auto product = reference::Gemm(false, false, m, n, k, x, w);
  std::vector<float> y(m * n, 123.0f);
  Linear(x.data(), m, k, w.data(), n, bias.data(), y.data(), /*accumulate=*/false);
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(y[i], product[i] + bias[i % n], 1e-5);
  std::vector<float> acc(m * n, 2.0f);
  Linear(x.data(), m, k, w.data(), n, bias.data(), acc.data(), /*accumulate=*/true);
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(acc[i], 2.0f + product[i] + bias[i % n], 1e-5);
  std::vector<float> no_bias(m * n, 7.0f);
  Linear(x.data(), m, k, w.data(), n, nullptr, no_bias.data(), /*accumulate=*/false);
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(no_bias[i], product[i], 1e-5);
}

// LayerNorm, SoftmaxRow and TanhInPlace are Highway kernels: tested on every
// SIMD target in simd_targets_test.cc.

// The GEMM library this binary loaded keeps to each worker's thread count:
// fails where OpenBLAS's pthread build is the one installed (arm64: install
// libopenblas0-openmp; docs/DEPLOYMENT.md "Threads and the GEMM library").
TEST(GemmTest, ThreadingFollowsTheCallersThreadCount) {
  const GemmThreading threading = GetGemmThreading();
  EXPECT_TRUE(threading.follows_caller_threads) << threading.description;
  EXPECT_NE(threading.description.find(GemmBackendName() == "onednn" ? "onednn" : "OpenBLAS"),
            std::string::npos)
      << threading.description;
}

TEST(ActivationTest, ReluMatchesNaive) {
  auto x = RandomVector(1001, 13, 4.0f);
  auto relu = x;
  ReluInPlace(relu.data(), relu.size());
  EXPECT_EQ(relu, reference::Relu(x));
}
TEST(L2NormalizeTest, UnitNormAndFloor) {
  auto x = RandomVector(512, 14);
  auto y = x;
  L2NormalizeInPlace(y.data(), y.size(), 1e-12f);
  EXPECT_LT(MaxRelError(y, reference::L2Normalize(x, 1e-12)), 1e-6);
  std::vector<float> zeros(8, 0.0f);
  L2NormalizeInPlace(zeros.data(), zeros.size(), 1e-12f);
  for (float v : zeros) EXPECT_EQ(v, 0.0f);  // the floor prevents 0/0
}

TEST(FloatEnvTest, ComputeThreadsFlushDenormals) {
  PrepareComputeThreads(2);
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_TRUE(FlushToZeroEnabledInThisThread());
  volatile float tiny = 1e-38f;
  volatile float product = tiny * 1e-3f;  // denormal without FTZ
  EXPECT_EQ(product, 0.0f);
#endif
}

}  // namespace
}  // namespace attnserve
