// Every Highway kernel on every SIMD target compiled into this binary that
// this CPU can run, not only the one dynamic dispatch picks here: Highway's
// own harness for dispatched code (hwy::TestWithParamTarget, one test per
// target, as Highway's and gemma.cpp's ops tests run), against naive twins in
// double precision. On an AVX-512 machine: AVX3 (and AVX3_ZEN4/SPR where the
// CPU has them), AVX2, SSE4; on arm64: NEON (and SVE where present).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/attention/reference/naive_attention.h"
#include "engine/attention/selected_keys_attention.h"
#include "engine/attention/softmax_rows.h"
#include "engine/kernels/elementwise.h"
#include "engine/kernels/reference/naive_kernels.h"
#include "engine/kernels/row_quantize.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "tests/unit/kernel_test_util.h"

namespace attnserve {
namespace {

using kernel_test::MaxRelError;
using kernel_test::RandomVector;

// Lengths that cover whole vectors of every target (4 to 16 floats), tails,
// and a row shorter than one vector.
const std::vector<int> kLengths = {1, 3, 17, 128, 777, 1000};

class SimdTargetTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(SimdTargetTest);

TEST_P(SimdTargetTest, LayerNormMatchesNaiveIncludingLargeOffsets) {
  for (int width : kLengths) {
    const int rows = 5;
    auto x = RandomVector(rows * width, 6 + width, 3.0f);
    for (int i = 0; i < width; ++i) x[i] += 1000.0f;  // a row with a large mean
    const auto gain = RandomVector(width, 7), bias = RandomVector(width, 8);
    std::vector<float> y(x.size());
    LayerNorm(x.data(), rows, width, gain.data(), bias.data(), 1e-6f, y.data());
    const auto expected = reference::LayerNorm(x, rows, width, gain, bias, 1e-6);
    EXPECT_LT(MaxRelError(y, expected), 2e-4) << "width " << width;
    // In place equals out of place.
    LayerNorm(x.data(), rows, width, gain.data(), bias.data(), 1e-6f, x.data());
    EXPECT_EQ(x, y) << "width " << width;
  }
}

TEST_P(SimdTargetTest, SoftmaxRowMatchesNaiveAndSumsToOne) {
  for (int n : kLengths) {
    auto row = RandomVector(n, 12 + n, 5.0f);
    const auto expected = reference::Softmax(row);
    SoftmaxRow(row.data(), n);
    EXPECT_LT(MaxRelError(row, expected), 1e-6) << "n " << n;
    double sum = 0;
    for (float v : row) sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-5) << "n " << n;
  }
  // Huge scores do not overflow and masked (-inf) entries get zero, in the
  // vector body (the first 16) as well as the tail.
  std::vector<float> row(19, -INFINITY);
  row[0] = row[17] = 1e30f;
  row[5] = 0.0f;
  SoftmaxRow(row.data(), static_cast<int64_t>(row.size()));
  EXPECT_FLOAT_EQ(row[0], 0.5f);
  EXPECT_FLOAT_EQ(row[17], 0.5f);
  for (size_t i = 1; i < row.size(); ++i) {
    if (i != 17) {
      EXPECT_EQ(row[i], 0.0f) << i;
    }
  }
}

TEST_P(SimdTargetTest, SumRowsMatchesNaiveOnStridedRows) {
  for (int width : kLengths) {
    for (int rows : {0, 1, 7, 32}) {
      const int ld = width + 3;
      const auto x = RandomVector(std::max(rows, 1) * ld, 70 + width + rows);
      std::vector<float> out(width, 99.0f);
      SumRows(x.data(), ld, rows, width, out.data());
      EXPECT_LT(MaxRelError(out, reference::SumRows(x, ld, rows, width)), 1e-5)
          << "width " << width << " rows " << rows;
    }
  }
}

TEST_P(SimdTargetTest, TanhMatchesNaive) {
  for (int n : kLengths) {
    auto x = RandomVector(n, 13 + n, 4.0f);
    auto y = x;
    TanhInPlace(y.data(), n);
    EXPECT_LT(MaxRelError(y, reference::Tanh(x)), 1e-6) << "n " << n;
  }
}

// GELU's values span many magnitudes (tiny for negative inputs): compared
// with an absolute bound scaled by max(1, |x|).
TEST_P(SimdTargetTest, GeluMatchesNaive) {
  for (int n : kLengths) {
    auto x = RandomVector(n, 17 + n, 6.0f);
    if (n > 2) x[1] = -12.0f, x[2] = 12.0f;  // beyond erf's clamp
    auto exact = x, tanh_form = x;
    GeluInPlace(exact.data(), n);
    GeluTanhInPlace(tanh_form.data(), n);
    const auto want_exact = reference::Gelu(x), want_tanh = reference::GeluTanh(x);
    for (int i = 0; i < n; ++i) {
      const float bound = 2e-6f * std::max(1.0f, std::fabs(x[i]));
      EXPECT_NEAR(exact[i], want_exact[i], bound) << "n " << n << " x " << x[i];
      EXPECT_NEAR(tanh_form[i], want_tanh[i], bound) << "n " << n << " x " << x[i];
    }
  }
}

// The running-softmax primitives of the tiled attention kernels.
TEST_P(SimdTargetTest, RowMaxExpShiftSumScaleRowMatchNaive) {
  for (int n : kLengths) {
    auto x = RandomVector(n, 20 + n, 5.0f);
    for (int i = 2; i < n; i += 5) x[i] = -INFINITY;  // masked keys
    const float expected_max = *std::max_element(x.begin(), x.end());
    EXPECT_EQ(RowMax(x.data(), n), expected_max) << "n " << n;

    std::vector<float> e = x;
    const float sum = ExpShiftSum(e.data(), n, expected_max);
    double naive_sum = 0;
    std::vector<float> naive(n);
    for (int i = 0; i < n; ++i) {
      naive[i] = static_cast<float>(std::exp(double{x[i]} - expected_max));
      naive_sum += naive[i];
    }
    EXPECT_LT(MaxRelError(e, naive), 1e-6) << "n " << n;
    EXPECT_NEAR(sum, naive_sum, 1e-5 * naive_sum) << "n " << n;
    for (int i = 2; i < n; i += 5) EXPECT_EQ(e[i], 0.0f) << i;

    const std::vector<float> before = e;
    ScaleRow(e.data(), n, 0.3f);
    for (int i = 0; i < n; ++i) EXPECT_EQ(e[i], before[i] * 0.3f) << "n " << n << " i " << i;
  }
  std::vector<float> all_masked(9, -INFINITY);
  EXPECT_EQ(RowMax(all_masked.data(), 9), -INFINITY);
  EXPECT_FALSE(MaskedSoftmaxRow(all_masked.data(), 9));
  for (float v : all_masked) EXPECT_EQ(v, 0.0f);
}

// The int8 linear layer's activation quantiser and output dequantiser
// against the same arithmetic written as scalar loops.
TEST_P(SimdTargetTest, QuantizeAndDequantizeRowsMatchScalar) {
  for (int cols : kLengths) {
    const int rows = 3, qmax = 255;
    auto x = RandomVector(rows * cols, 30 + cols, 2.0f);
    for (int i = 0; i < cols; ++i) x[cols + i] = std::abs(x[cols + i]);  // a ReLU-like row
    std::vector<uint8_t> q(x.size());
    std::vector<float> scale(rows);
    std::vector<int32_t> zero(rows);
    QuantizeRowsU8(x.data(), rows, cols, qmax, q.data(), scale.data(), zero.data());
    for (int r = 0; r < rows; ++r) {
      float lo = 0, hi = 0;
      for (int i = 0; i < cols; ++i) {
        lo = std::min(lo, x[r * cols + i]);
        hi = std::max(hi, x[r * cols + i]);
      }
      const float step = (hi - lo) / qmax;
      const float s = step > 0 ? step : 1.0f;
      const int32_t z = std::clamp(static_cast<int32_t>(std::nearbyint(-lo / s)), 0, qmax);
      EXPECT_EQ(scale[r], s) << "cols " << cols << " row " << r;
      EXPECT_EQ(zero[r], z) << "cols " << cols << " row " << r;
      for (int i = 0; i < cols; ++i) {
        const int32_t v = static_cast<int32_t>(std::nearbyint(x[r * cols + i] * (1.0f / s))) + z;
        EXPECT_EQ(q[r * cols + i], std::clamp(v, 0, qmax)) << "cols " << cols << " i " << i;
      }
    }

    // y = scale[r] * w_scale[j] * (acc - zero[r] * colsum[j]) + bias[j], then += y.
    std::mt19937 rng(40 + cols);
    std::uniform_int_distribution<int32_t> acc_dist(-100000, 100000), sum_dist(-500, 500);
    std::vector<int32_t> acc(rows * cols), colsum(cols);
    for (auto& a : acc) a = acc_dist(rng);
    for (auto& c : colsum) c = sum_dist(rng);
    const auto w_scale = RandomVector(cols, 50 + cols, 0.01f), bias = RandomVector(cols, 60 + cols);
    std::vector<float> y(rows * cols, 0.0f), naive(rows * cols);
    for (int r = 0; r < rows; ++r) {
      for (int j = 0; j < cols; ++j) {
        naive[r * cols + j] =
            static_cast<float>(double{scale[r]} * w_scale[j] *
                                   (acc[r * cols + j] - static_cast<double>(zero[r]) * colsum[j]) +
                               bias[j]);
      }
    }
    DequantizeRows(acc.data(), rows, cols, scale.data(), zero.data(), w_scale.data(), colsum.data(),
                   bias.data(), y.data(), cols, /*accumulate=*/false);
    EXPECT_LT(MaxRelError(y, naive), 1e-5) << "cols " << cols;
    DequantizeRows(acc.data(), rows, cols, scale.data(), zero.data(), w_scale.data(), colsum.data(),
                   bias.data(), y.data(), cols, /*accumulate=*/true);
    for (float& v : naive) v *= 2.0f;
    EXPECT_LT(MaxRelError(y, naive), 1e-5) << "cols " << cols;
  }
}

// adaptive_topk's inner step against the naive attention restricted to the
// selected keys: query counts around the 4-query tile and the vector width,
// head dims with vector tails, strided (multi-head) inputs and output, keys
// selected out of order; the key mass against the naive probabilities.
TEST_P(SimdTargetTest, AttendSelectedKeysMatchesNaiveOnTheSelectedKeys) {
  const int64_t n_kv = 70;
  for (int d : {1, 5, 16, 20, 32, 128}) {
    for (int64_t rows : {1, 3, 4, 5, 17, 32}) {
      for (int64_t m : {1, 3, 4, 7, 64}) {
        const int stride = 3 * d + 2, head = 1;  // the second of several heads
        const auto q_all = RandomVector(rows * stride, 100 + d + rows, 2.0f);
        const auto k_all = RandomVector(n_kv * stride, 200 + d + m, 2.0f);
        const auto v_all = RandomVector(n_kv * stride, 300 + d + m);
        std::vector<int64_t> sel;
        std::vector<uint8_t> chosen(n_kv, 0);
        for (int64_t t = 0; t < m; ++t) {
          const int64_t key = (t * 37 + 11 * m) % n_kv;  // distinct: 37 is coprime to 70
          sel.push_back(key);
          chosen[key] = 1;
        }
        // Dense single-head copies for the reference.
        std::vector<float> q(rows * d), k(n_kv * d), v(n_kv * d);
        for (int64_t i = 0; i < rows; ++i) {
          std::copy_n(q_all.begin() + i * stride + head * d, d, q.begin() + i * d);
        }
        for (int64_t j = 0; j < n_kv; ++j) {
          std::copy_n(k_all.begin() + j * stride + head * d, d, k.begin() + j * d);
          std::copy_n(v_all.begin() + j * stride + head * d, d, v.begin() + j * d);
        }
        const double scale = 1.0 / std::sqrt(static_cast<double>(d));
        const auto expected =
            reference::NaiveAttention(q, k, v, rows, n_kv, 1, d, scale, nullptr,
                                      [&](int64_t, int64_t j) { return chosen[j] != 0; });

        const int ldo = 2 * d + 1;
        std::vector<float> out(rows * ldo, -7.0f), mass(n_kv, 0.5f);
        SelectedKeysScratch scratch;
        AttendSelectedKeys(q_all.data() + head * d, stride, rows, k_all.data() + head * d, stride,
                           v_all.data() + head * d, stride, sel.data(), m, d,
                           static_cast<float>(scale), out.data() + 1, ldo, mass.data(), &scratch);
        std::vector<float> got(rows * d);
        for (int64_t i = 0; i < rows; ++i) {
          std::copy_n(out.begin() + i * ldo + 1, d, got.begin() + i * d);
          EXPECT_EQ(out[i * ldo], -7.0f) << "wrote outside its row";
        }
        const std::string shape =
            "d " + std::to_string(d) + " rows " + std::to_string(rows) + " m " + std::to_string(m);
        EXPECT_LT(MaxRelError(got, expected), 2e-5) << shape;

        // Naive probabilities summed over the queries, per selected key.
        std::vector<double> naive_mass(n_kv, 0.5);
        for (int64_t i = 0; i < rows; ++i) {
          std::vector<double> logits(m);
          double top = -INFINITY, sum = 0;
          for (int64_t t = 0; t < m; ++t) {
            double dot = 0;
            for (int c = 0; c < d; ++c) dot += double{q[i * d + c]} * k[sel[t] * d + c];
            logits[t] = dot * scale;
            top = std::max(top, logits[t]);
          }
          for (double& l : logits) sum += (l = std::exp(l - top));
          for (int64_t t = 0; t < m; ++t) naive_mass[sel[t]] += logits[t] / sum;
        }
        for (int64_t j = 0; j < n_kv; ++j) {
          EXPECT_NEAR(mass[j], naive_mass[j], 1e-5 * rows) << shape << " key " << j;
        }
      }
    }
  }
}

TEST_P(SimdTargetTest, ScoreAllKeysMatchesNaiveGemm) {
  for (int d : {1, 20, 128}) {
    for (int64_t rows : {1, 3, 16, 17}) {
      for (int64_t n : {1, 5, 64}) {
        const int64_t lda = d + 3, ldk = 2 * d + 1;
        const auto a = RandomVector(rows * lda, 400 + d + rows);
        const auto k = RandomVector(n * ldk, 500 + d + n);
        std::vector<float> a_dense(rows * d), k_dense(n * d);
        for (int64_t r = 0; r < rows; ++r) {
          std::copy_n(a.begin() + r * lda, d, a_dense.begin() + r * d);
        }
        for (int64_t j = 0; j < n; ++j) {
          std::copy_n(k.begin() + j * ldk, d, k_dense.begin() + j * d);
        }
        std::vector<float> out(rows * n, -1.0f);
        SelectedKeysScratch scratch;
        ScoreAllKeys(a.data(), lda, rows, k.data(), ldk, n, d, out.data(), &scratch);
        const auto expected = reference::Gemm(false, true, rows, n, d, a_dense, k_dense);
        EXPECT_LT(MaxRelError(out, expected), 1e-5) << "d " << d << " rows " << rows << " n " << n;
      }
    }
  }
}

}  // namespace
}  // namespace attnserve
