// The low-precision GEMMs of the int8 and bf16 attention kernels
// (engine/kernels/lowp_gemm.h) against naive sums, with the full 8-bit range
// (where oneDNN's pre-VNNI kernels saturate 16-bit pair sums) and bf16
// values. CMake reruns this with ONEDNN_MAX_CPU_ISA capped to older CPUs, so
// each CPU's form (oneDNN's integer GEMM, or the f32 GEMM on the integers)
// is checked on one machine.
#include "engine/kernels/lowp_gemm.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve {
namespace {

template <typename T>
std::vector<T> Random(int64_t size, int lo, int hi, std::mt19937* rng) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(size);
  for (T& x : v) x = static_cast<T>(dist(*rng));
  return v;
}

struct Shape {
  int64_t m, n, k;
};
constexpr Shape kShapes[] = {{1, 1, 1}, {3, 5, 64}, {16, 33, 64}, {7, 64, 300}};

TEST(LowpGemmTest, S8S8TransposedIsExactOverTheFullRange) {
  std::mt19937 rng(1);
  for (const Shape& s : kShapes) {
    const auto a = Random<int8_t>(s.m * s.k, -128, 127, &rng);
    const auto b = Random<int8_t>(s.n * s.k, -128, 127, &rng);
    std::vector<int32_t> c(s.m * s.n, -1);
    GemmS8S8NT(s.m, s.n, s.k, a.data(), s.k, b.data(), s.k, c.data(), s.n);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t want = 0;
        for (int64_t t = 0; t < s.k; ++t) want += int64_t{a[i * s.k + t]} * b[j * s.k + t];
        ASSERT_EQ(c[i * s.n + j], want) << "m=" << s.m << " n=" << s.n << " k=" << s.k;
      }
    }
  }
}

// The worst case for 16-bit pair sums: 255 x 127 twice is 64,770.
TEST(LowpGemmTest, U8S8IsExactAtTheExtremes) {
  for (int a_max : {127, 255}) {
    const int64_t m = 4, n = 40, k = 96;
    std::vector<uint8_t> a(m * k, static_cast<uint8_t>(a_max));
    std::vector<int8_t> b(k * n, 127);
    std::vector<int32_t> c(m * n);
    GemmU8S8NN(m, n, k, a.data(), k, b.data(), n, c.data(), n, a_max);
    EXPECT_EQ(c, std::vector<int32_t>(m * n, a_max * 127 * k)) << "a_max " << a_max;
    std::fill(b.begin(), b.end(), static_cast<int8_t>(-128));
    GemmU8S8NN(m, n, k, a.data(), k, b.data(), n, c.data(), n, a_max);
    EXPECT_EQ(c, std::vector<int32_t>(m * n, -a_max * 128 * k)) << "a_max " << a_max;
  }
}

TEST(LowpGemmTest, U8S8IsExactOnRandomValuesAndStrides) {
  std::mt19937 rng(2);
  for (const Shape& s : kShapes) {
    const int64_t lda = s.k + 3, ldb = s.n + 5, ldc = s.n + 2;
    const auto a = Random<uint8_t>(s.m * lda, 0, 255, &rng);
    const auto b = Random<int8_t>(s.k * ldb, -128, 127, &rng);
    std::vector<int32_t> c(s.m * ldc, -7);
    GemmU8S8NN(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), ldc);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < ldc; ++j) {
        if (j >= s.n) {
          ASSERT_EQ(c[i * ldc + j], -7) << "wrote past column " << s.n;
          continue;
        }
        int64_t want = 0;
        for (int64_t t = 0; t < s.k; ++t) want += int64_t{a[i * lda + t]} * b[t * ldb + j];
        ASSERT_EQ(c[i * ldc + j], want) << "m=" << s.m << " n=" << s.n << " k=" << s.k;
      }
    }
  }
}

// bf16 x bf16 products are exact in f32; only the order of the f32 sums may
// differ from the naive loop's.
TEST(LowpGemmTest, Bf16MatchesTheNaiveProductBothLayouts) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (bool trans_b : {false, true}) {
    for (const Shape& s : kShapes) {
      std::vector<uint16_t> a(s.m * s.k), b(s.n * s.k);
      for (uint16_t& x : a) x = ToBf16(nd(rng));
      for (uint16_t& x : b) x = ToBf16(nd(rng));
      const int64_t ldb = trans_b ? s.k : s.n;
      std::vector<float> c(s.m * s.n);
      GemmBf16(trans_b, s.m, s.n, s.k, a.data(), s.k, b.data(), ldb, c.data(), s.n);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          double want = 0, size = 0;
          for (int64_t t = 0; t < s.k; ++t) {
            const double bv = FromBf16(trans_b ? b[j * ldb + t] : b[t * ldb + j]);
            want += double{FromBf16(a[i * s.k + t])} * bv;
            size += std::abs(double{FromBf16(a[i * s.k + t])} * bv);
          }
          ASSERT_NEAR(c[i * s.n + j], want, 1e-6 * size + 1e-6)
              << (trans_b ? "B^T" : "B") << " m=" << s.m << " n=" << s.n << " k=" << s.k;
        }
      }
    }
  }
}

}  // namespace
}  // namespace attnserve
