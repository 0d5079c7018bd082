// PackedLinear in each precision against the naive twins: f32 against the
// double GEMM; int8 against the textbook dynamic quantisation (same rounding
// rules, exact integer sums), so only float rounding of the rescale differs;
// bf16 against double sums of bf16-rounded operands. Then the error each
// low precision costs against f32, which the quality grid relies on.
#include "engine/kernels/packed_linear.h"

#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/reference/naive_kernels.h"
#include "engine/kernels/row_quantize.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

std::vector<float> RandomVector(size_t n, uint32_t seed, float scale, float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(shift, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// [k, n] -> [n, k].
std::vector<float> Transposed(const std::vector<float>& w, int64_t k, int64_t n) {
  std::vector<float> t(w.size());
  for (int64_t p = 0; p < k; ++p) {
    for (int64_t j = 0; j < n; ++j) t[j * k + p] = w[p * n + j];
  }
  return t;
}

// Largest |a - b| over the largest |b|.
double RelError(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double{a[i]} - b[i]));
    scale = std::max(scale, std::abs(double{b[i]}));
  }
  return worst / scale;
}

struct Shape {
  int64_t m, k, n;
};

class PackedLinearTest : public ::testing::TestWithParam<Shape> {};

TEST_P(PackedLinearTest, EachPrecisionMatchesItsReference) {
  const auto [m, k, n] = GetParam();
  const auto x = RandomVector(m * k, 1, 1.0f, 0.3f);
  const auto w = RandomVector(k * n, 2, 0.05f);
  const auto b = RandomVector(n, 3, 0.1f);
  const auto dense = reference::Gemm(false, false, m, n, k, x, w);
  std::vector<float> want_f32(m * n);
  for (int64_t i = 0; i < m * n; ++i) want_f32[i] = dense[i] + b[i % n];
  const auto want_int8 = reference::QuantizedLinear(x, m, k, w, n, b, Int8ActivationMax());
  const auto want_bf16 = reference::Bf16Linear(x, m, k, w, n, b);

  const auto w_out_major = Transposed(w, k, n);
  const PackedLinear input_major(w.data(), b.data(), k, n, PackedLinear::Layout::kInputMajor);
  const PackedLinear output_major(w_out_major.data(), b.data(), k, n,
                                  PackedLinear::Layout::kOutputMajor);
  for (const PackedLinear* layer : {&input_major, &output_major}) {
    std::vector<float> y(m * n);
    layer->Apply(x.data(), m, y.data(), false, LinearPrecision::kF32);
    EXPECT_LT(RelError(y, want_f32), 1e-5);
    layer->Apply(x.data(), m, y.data(), false, LinearPrecision::kInt8);
    EXPECT_LT(RelError(y, want_int8), 1e-5) << "int8 vs its reference";
    // Against f32 the quantisation error: a few tenths of a percent here.
    const double int8_cost = RelError(y, want_f32);
    EXPECT_LT(int8_cost, 0.03);
    EXPECT_GT(int8_cost, 1e-5) << "int8 should not be exact: is it running f32?";
    layer->Apply(x.data(), m, y.data(), false, LinearPrecision::kBf16);
    EXPECT_LT(RelError(y, want_bf16), 1e-5) << "bf16 vs its reference";
    const double bf16_cost = RelError(y, want_f32);
    EXPECT_LT(bf16_cost, 0.02);
    EXPECT_GT(bf16_cost, 1e-6) << "bf16 should not be exact: is it running f32?";
  }
  EXPECT_GT(input_major.packed_bytes(), 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedLinearTest,
                         // 16 and 64 rows fill the f32 matmul's row buckets (it writes
                         // y directly); 600 and 4,100 are past its row limit (the GEMM API).
                         ::testing::Values(Shape{1, 16, 8}, Shape{7, 33, 17}, Shape{16, 40, 24},
                                           Shape{20, 256, 768}, Shape{64, 128, 96},
                                           Shape{65, 512, 130}, Shape{300, 96, 64},
                                           Shape{600, 24, 40}, Shape{4100, 8, 16}),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return absl::StrCat("m", info.param.m, "_k", info.param.k, "_n",
                                               info.param.n);
                         });

TEST(PackedLinear, AccumulatesAndWritesStridedRows) {
  const int64_t m = 9, k = 40, n = 24, ldy = 30;
  const auto x = RandomVector(m * k, 4, 1.0f);
  const auto w = RandomVector(k * n, 5, 0.1f);
  const PackedLinear layer(w.data(), nullptr, k, n, PackedLinear::Layout::kInputMajor);
  for (LinearPrecision p :
       {LinearPrecision::kF32, LinearPrecision::kInt8, LinearPrecision::kBf16}) {
    std::vector<float> plain(m * n), strided(m * ldy, 7.0f);
    layer.Apply(x.data(), m, plain.data(), false, p);
    layer.Apply(x.data(), m, strided.data(), true, p, ldy);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < ldy; ++j) {
        const float want = j < n ? plain[i * n + j] + 7.0f : 7.0f;  // pad columns untouched
        ASSERT_NEAR(strided[i * ldy + j], want, 1e-5)
            << LinearPrecisionName(p) << " " << i << "," << j;
      }
    }
  }
}

struct FeedForwardShape {
  int64_t m, k, hidden;
};

class Int8FeedForwardTest : public ::testing::TestWithParam<FeedForwardShape> {};

// The fused pair keeps the middle activations in u8; it must give exactly
// what the separate int8 calls give (the same operations per element), and
// the naive reference's chain to within the rounding of a requantisation.
TEST_P(Int8FeedForwardTest, EqualsTheSeparateInt8Calls) {
  const auto [m, k, hidden] = GetParam();
  const int64_t ldy = k + 3;
  const auto x = RandomVector(m * k, 11, 1.0f, 0.2f);
  const auto w_up = RandomVector(k * hidden, 12, 0.08f);
  const auto b_up = RandomVector(hidden, 13, 0.1f);
  const auto w_down = RandomVector(hidden * k, 14, 0.05f);
  const auto b_down = RandomVector(k, 15, 0.1f);
  const auto w_down_out_major = Transposed(w_down, hidden, k);
  const PackedLinear up(w_up.data(), b_up.data(), k, hidden, PackedLinear::Layout::kInputMajor);
  const PackedLinear down(w_down_out_major.data(), b_down.data(), hidden, k,
                          PackedLinear::Layout::kOutputMajor);
  const std::vector<float> start = RandomVector(m * ldy, 16, 1.0f);
  for (InPlaceActivation act : {&ReluInPlace, &GeluInPlace, &GeluTanhInPlace}) {
    std::vector<float> h(m * hidden), separate = start, fused = start;
    up.Apply(x.data(), m, h.data(), false, LinearPrecision::kInt8);
    act(h.data(), m * hidden);
    down.Apply(h.data(), m, separate.data(), true, LinearPrecision::kInt8, ldy);
    up.ApplyInt8FeedForward(act, down, x.data(), m, fused.data(), true, ldy);
    ASSERT_EQ(fused, separate);  // pad columns included: untouched in both

    auto h_ref = reference::QuantizedLinear(x, m, k, w_up, hidden, b_up, Int8ActivationMax());
    act(h_ref.data(), m * hidden);
    const auto y_ref =
        reference::QuantizedLinear(h_ref, m, hidden, w_down, k, b_down, Int8ActivationMax());
    std::vector<float> got(m * k), want(m * k);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        got[i * k + j] = fused[i * ldy + j] - start[i * ldy + j];
        want[i * k + j] = y_ref[i * k + j];
      }
    }
    EXPECT_LT(RelError(got, want), 2e-3) << "fused pair vs the naive int8 chain";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8FeedForwardTest,
                         // Odd widths take the SIMD kernels' scalar tails; 130 and 600
                         // rows pad to the matmul's row buckets.
                         ::testing::Values(FeedForwardShape{1, 16, 64}, FeedForwardShape{7, 33, 70},
                                           FeedForwardShape{20, 256, 1024},
                                           FeedForwardShape{130, 64, 96},
                                           FeedForwardShape{600, 24, 40}),
                         [](const ::testing::TestParamInfo<FeedForwardShape>& info) {
                           return absl::StrCat("m", info.param.m, "_k", info.param.k, "_h",
                                               info.param.hidden);
                         });

TEST(PackedLinear, ConcurrentFirstUseBuildsOnePackAndAgrees) {
  const int64_t m = 12, k = 64, n = 48;
  const auto x = RandomVector(m * k, 6, 1.0f);
  const auto w = RandomVector(k * n, 7, 0.1f);
  const PackedLinear layer(w.data(), nullptr, k, n, PackedLinear::Layout::kInputMajor);
  std::vector<std::vector<float>> outs(4, std::vector<float>(m * n));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      layer.Apply(x.data(), m, outs[t].data(), false,
                  t % 2 ? LinearPrecision::kInt8 : LinearPrecision::kBf16);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(outs[0], outs[2]);
  EXPECT_EQ(outs[1], outs[3]);
  EXPECT_NE(outs[0], outs[1]);
}

TEST(RowQuantize, ZeroIsExactAndRangeIsCovered) {
  const std::vector<float> x = {0.0f, -1.0f, 3.0f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 4.0f};
  std::vector<uint8_t> q(x.size());
  float scale[2];
  int32_t zero[2];
  QuantizeRowsU8(x.data(), 2, 5, 255, q.data(), scale, zero);
  EXPECT_FLOAT_EQ(scale[0], 4.0f / 255.0f);
  EXPECT_EQ(zero[0], 64);  // round(1 / (4 / 255)) = round(63.75)
  EXPECT_EQ(q[0], zero[0]);
  EXPECT_EQ(q[1], 0);
  EXPECT_EQ(q[2], 255);
  EXPECT_EQ(zero[1], 0);  // a non-negative row (ReLU output) uses the whole range
  EXPECT_EQ(q[9], 255);
  EXPECT_EQ(q[5], 0);
  const std::vector<float> zeros(6, 0.0f);
  QuantizeRowsU8(zeros.data(), 1, 6, 255, q.data(), scale, zero);
  EXPECT_EQ(scale[0], 1.0f);
  EXPECT_EQ(zero[0], 0);
}

TEST(PackedLinear, NamesAndParsesPrecisions) {
  for (LinearPrecision p :
       {LinearPrecision::kF32, LinearPrecision::kInt8, LinearPrecision::kBf16}) {
    EXPECT_EQ(ParseLinearPrecision(LinearPrecisionName(p)), p);
  }
  EXPECT_FALSE(ParseLinearPrecision("fp16").has_value());
  EXPECT_FALSE(ParseLinearPrecision("").has_value());
}

}  // namespace
}  // namespace attnserve
