// The packed s8 GEMM (engine/kernels/s8_gemm.h) against the naive integer
// GEMM, on every path this CPU runs: exact equality, since the sums are
// integers. Shapes cover the tile edges (rows not a multiple of 4, columns
// not of 16, depth not of 16) and the extremes of the value range.
#include "engine/kernels/s8_gemm.h"

#include <cstdlib>
#include <iostream>
#include <random>
#include <vector>

#include "engine/kernels/reference/naive_kernels.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

std::vector<S8GemmPath> PathsHere() {
  std::vector<S8GemmPath> paths;
  for (S8GemmPath p : {S8GemmPath::kPortable, S8GemmPath::kNeon, S8GemmPath::kNeonDot}) {
    if (S8GemmPathRuns(p)) paths.push_back(p);
  }
  return paths;
}

std::vector<int8_t> Random(int64_t size, int lo, int hi, std::mt19937* rng) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(size);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(*rng));
  return v;
}

TEST(S8GemmTest, EveryPathEqualsTheNaiveGemmOnTileEdges) {
  std::mt19937 rng(7);
  for (const S8GemmPath path : PathsHere()) {
    for (const int64_t m : {1, 3, 4, 5, 9}) {
      for (const int64_t n : {1, 15, 16, 17, 40}) {
        for (const int64_t k : {1, 4, 15, 16, 33, 70}) {
          const auto a = Random(m * k, -128, 127, &rng);
          const auto w = Random(k * n, -127, 127, &rng);
          const PackedS8Weights packed(w.data(), k, n);
          std::vector<int32_t> c(m * n, -1);
          packed.Multiply(path, a.data(), m, k, c.data(), n);
          ASSERT_EQ(c, reference::GemmS8(m, n, k, a, w))
              << S8GemmPathName(path) << " m=" << m << " n=" << n << " k=" << k;
        }
      }
    }
  }
}

// The extremes: the NEON path sums two products in 16 bits, which must hold
// (-128) x (-127) twice; long depths must not wrap.
TEST(S8GemmTest, ExtremeValuesDoNotOverflow) {
  const int64_t m = 5, n = 20, k = 2048;
  const std::vector<int8_t> a(m * k, -128);
  const std::vector<int8_t> w(k * n, -127);
  const PackedS8Weights packed(w.data(), k, n);
  for (const S8GemmPath path : PathsHere()) {
    std::vector<int32_t> c(m * n, 0);
    packed.Multiply(path, a.data(), m, k, c.data(), n);
    EXPECT_EQ(c, std::vector<int32_t>(m * n, 128 * 127 * 2048)) << S8GemmPathName(path);
  }
}

// Strided A and C (rows of a larger matrix), threads over panels: the
// caller's leading dimensions are honoured and nothing outside C is touched.
TEST(S8GemmTest, LeadingDimensionsAndThreadsAreHonoured) {
  std::mt19937 rng(11);
  const int64_t m = 37, n = 100, k = 96, lda = 128, ldc = 120;
  const auto a_wide = Random(m * lda, -128, 127, &rng);
  const auto w = Random(k * n, -127, 127, &rng);
  std::vector<int8_t> a(m * k);
  for (int64_t r = 0; r < m; ++r) {
    std::copy_n(a_wide.begin() + r * lda, k, a.begin() + r * k);
  }
  const auto want = reference::GemmS8(m, n, k, a, w);
  const PackedS8Weights packed(w.data(), k, n);
  for (const S8GemmPath path : PathsHere()) {
    std::vector<int32_t> c(m * ldc, 77);
    packed.Multiply(path, a_wide.data(), m, lda, c.data(), ldc);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t j = 0; j < ldc; ++j) {
        ASSERT_EQ(c[r * ldc + j], j < n ? want[r * n + j] : 77)
            << S8GemmPathName(path) << " row " << r << " column " << j;
      }
    }
  }
}

// scripts/arm64_proof.sh runs this under qemu's CPU models and says which
// path each must pick (ATTNSERVE_EXPECT_S8_PATH): SDOT where the model has
// the dot product, plain NEON where it lacks it.
TEST(S8GemmTest, TheBestPathRunsAndIsNamed) {
  std::cout << "s8 GEMM path: " << S8GemmPathName(BestS8GemmPath()) << "\n";
  if (const char* want = std::getenv("ATTNSERVE_EXPECT_S8_PATH")) {
    EXPECT_EQ(S8GemmPathName(BestS8GemmPath()), want);
  }
  EXPECT_TRUE(S8GemmPathRuns(BestS8GemmPath()));
  EXPECT_TRUE(S8GemmPathRuns(S8GemmPath::kPortable));
  EXPECT_TRUE(S8GemmPathIsNative(BestS8GemmPath()));
#if defined(__aarch64__)
  EXPECT_NE(BestS8GemmPath(), S8GemmPath::kPortable);  // NEON is part of ARMv8-A
  EXPECT_TRUE(S8GemmPathIsNative(S8GemmPath::kNeon));
#else
  // The NEON kernels run here only translated (SIMDe): tested, never served.
  EXPECT_EQ(BestS8GemmPath(), S8GemmPath::kPortable);
  EXPECT_FALSE(S8GemmPathIsNative(S8GemmPath::kNeon));
  EXPECT_FALSE(S8GemmPathIsNative(S8GemmPath::kNeonDot));
  EXPECT_TRUE(S8GemmPathRuns(S8GemmPath::kNeon));
  EXPECT_TRUE(S8GemmPathRuns(S8GemmPath::kNeonDot));
#endif
  EXPECT_EQ(S8GemmPathName(S8GemmPath::kNeonDot), "neon_dot");
}

}  // namespace
}  // namespace attnserve
