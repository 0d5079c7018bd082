// Highway kernels with runtime dispatch: one source, the best of SSE4, AVX2,
// AVX-512 on x86-64 and NEON/SVE on arm64 picked at run time. The naive twins
// in reference/naive_kernels.cc are the specification.
#include "engine/kernels/elementwise.h"

#include <algorithm>
#include <cmath>

// Highway's foreach_target re-includes this file once per target; these
// includes must stay in this order (clang-format would regroup them).
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace attnserve {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;

// Four independent accumulators: a shorter dependency chain, and four
// partial sums even on one-lane targets (a single float running sum of a
// width-1000 row with mean 1000 loses 3e-4 of the layer norm's precision).
float SumOf(const float* HWY_RESTRICT x, int64_t n) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    acc0 = hn::Add(acc0, hn::LoadU(d, x + i));
    acc1 = hn::Add(acc1, hn::LoadU(d, x + i + lanes));
    acc2 = hn::Add(acc2, hn::LoadU(d, x + i + 2 * lanes));
    acc3 = hn::Add(acc3, hn::LoadU(d, x + i + 3 * lanes));
  }
  for (; i + lanes <= n; i += lanes) acc0 = hn::Add(acc0, hn::LoadU(d, x + i));
  const auto acc = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  float sum = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) sum += x[i];
  return sum;
}

void LayerNormImpl(const float* HWY_RESTRICT x, int64_t rows, int64_t width,
                   const float* HWY_RESTRICT gain, const float* HWY_RESTRICT bias, float eps,
                   float* y) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const float inv_width = 1.0f / static_cast<float>(width);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    const float mean = SumOf(xr, width) * inv_width;
    // Two passes: the variance of centred values does not cancel badly.
    const auto vmean = hn::Set(d, mean);
    auto acc = hn::Zero(d);
    int64_t i = 0;
    for (; i + lanes <= width; i += lanes) {
      const auto c = hn::Sub(hn::LoadU(d, xr + i), vmean);
      acc = hn::MulAdd(c, c, acc);
    }
    float sq = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; i < width; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float inv_std = 1.0f / std::sqrt(sq * inv_width + eps);
    const auto vscale = hn::Set(d, inv_std);
    for (i = 0; i + lanes <= width; i += lanes) {
      const auto c = hn::Mul(hn::Sub(hn::LoadU(d, xr + i), vmean), vscale);
      hn::StoreU(hn::MulAdd(c, hn::LoadU(d, gain + i), hn::LoadU(d, bias + i)), d, yr + i);
    }
    for (; i < width; ++i) yr[i] = (xr[i] - mean) * inv_std * gain[i] + bias[i];
  }
}

void SoftmaxRowImpl(float* HWY_RESTRICT x, int64_t n) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto vmax = hn::Set(d, -HUGE_VALF);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
  float max_value = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) max_value = std::max(max_value, x[i]);
  // Exp is 1 ulp and returns exactly 0 below -104 (so -inf, a masked key,
  // contributes nothing).
  const auto vm = hn::Set(d, max_value);
  auto acc = hn::Zero(d);
  for (i = 0; i + lanes <= n; i += lanes) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vm));
    hn::StoreU(e, d, x + i);
    acc = hn::Add(acc, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const auto inv = hn::Set(d, 1.0f / sum);
  for (i = 0; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Mul(hn::LoadU(d, x + i), inv), d, x + i);
  }
  for (; i < n; ++i) x[i] *= 1.0f / sum;
}

void TanhImpl(float* HWY_RESTRICT x, int64_t n) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Tanh(d, hn::LoadU(d, x + i)), d, x + i);
  }
  for (; i < n; ++i) x[i] = std::tanh(x[i]);
}

// erf as XLA and Eigen compute it for float: a rational approximation on
// [-4, 4] (erf is +-1 in float beyond), |error| < 4e-7.
template <class DF, class V>
V Erf(DF d, V a) {
  const V x = hn::Clamp(a, hn::Set(d, -4.0f), hn::Set(d, 4.0f));
  const V x2 = hn::Mul(x, x);
  V p = hn::MulAdd(x2, hn::Set(d, -2.72614225801306e-10f), hn::Set(d, 2.77068142495902e-08f));
  p = hn::MulAdd(x2, p, hn::Set(d, -2.10102402082508e-06f));
  p = hn::MulAdd(x2, p, hn::Set(d, -5.69250639462346e-05f));
  p = hn::MulAdd(x2, p, hn::Set(d, -7.34990630326855e-04f));
  p = hn::MulAdd(x2, p, hn::Set(d, -2.95459980854025e-03f));
  p = hn::MulAdd(x2, p, hn::Set(d, -1.60960333262415e-02f));
  V q = hn::MulAdd(x2, hn::Set(d, -1.45660718464996e-05f), hn::Set(d, -2.13374055278905e-04f));
  q = hn::MulAdd(x2, q, hn::Set(d, -1.68282697438203e-03f));
  q = hn::MulAdd(x2, q, hn::Set(d, -7.37332916720468e-03f));
  q = hn::MulAdd(x2, q, hn::Set(d, -1.42647390514189e-02f));
  return hn::Div(hn::Mul(x, p), q);
}

// Applies f(d, vector) to x in place: full vectors, then one lane at a time.
template <class F>
void MapInPlace(float* HWY_RESTRICT x, int64_t n, const F& f) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(f(d, hn::LoadU(d, x + i)), d, x + i);
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) hn::StoreU(f(d1, hn::LoadU(d1, x + i)), d1, x + i);
}

// x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)): BERT's "gelu".
void GeluImpl(float* HWY_RESTRICT x, int64_t n) {
  MapInPlace(x, n, [](auto d, auto v) {
    const auto half_v = hn::Mul(hn::Set(d, 0.5f), v);
    return hn::MulAdd(half_v, Erf(d, hn::Mul(v, hn::Set(d, 0.70710678118654752f))), half_v);
  });
}

// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))): "gelu_new" / "gelu_pytorch_tanh".
void GeluTanhImpl(float* HWY_RESTRICT x, int64_t n) {
  MapInPlace(x, n, [](auto d, auto v) {
    const auto cubic = hn::MulAdd(hn::Mul(hn::Set(d, 0.044715f), hn::Mul(v, v)), v, v);
    const auto half_v = hn::Mul(hn::Set(d, 0.5f), v);
    return hn::MulAdd(half_v, hn::Tanh(d, hn::Mul(hn::Set(d, 0.79788456080286536f), cubic)),
                      half_v);
  });
}

// out[c] = sum_r x[r * ld + c]: a column sum of strided rows (adaptive_topk's
// block-mean query). Four vectors of columns at a time, rows innermost, so
// the sums stay in registers.
void SumRowsImpl(const float* HWY_RESTRICT x, int64_t ld, int64_t rows, int64_t width,
                 float* HWY_RESTRICT out) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t c = 0;
  for (; c + 4 * lanes <= width; c += 4 * lanes) {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * ld + c;
      a0 = hn::Add(a0, hn::LoadU(d, row));
      a1 = hn::Add(a1, hn::LoadU(d, row + lanes));
      a2 = hn::Add(a2, hn::LoadU(d, row + 2 * lanes));
      a3 = hn::Add(a3, hn::LoadU(d, row + 3 * lanes));
    }
    hn::StoreU(a0, d, out + c);
    hn::StoreU(a1, d, out + c + lanes);
    hn::StoreU(a2, d, out + c + 2 * lanes);
    hn::StoreU(a3, d, out + c + 3 * lanes);
  }
  for (; c + lanes <= width; c += lanes) {
    auto acc = hn::Zero(d);
    for (int64_t r = 0; r < rows; ++r) acc = hn::Add(acc, hn::LoadU(d, x + r * ld + c));
    hn::StoreU(acc, d, out + c);
  }
  for (; c < width; ++c) {
    float acc = 0.0f;
    for (int64_t r = 0; r < rows; ++r) acc += x[r * ld + c];
    out[c] = acc;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attnserve
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attnserve {

HWY_EXPORT(LayerNormImpl);
HWY_EXPORT(SoftmaxRowImpl);
HWY_EXPORT(TanhImpl);
HWY_EXPORT(GeluImpl);
HWY_EXPORT(GeluTanhImpl);
HWY_EXPORT(SumRowsImpl);

void LayerNorm(const float* x, int64_t rows, int64_t width, const float* gain, const float* bias,
               float eps, float* y) {
  HWY_DYNAMIC_DISPATCH(LayerNormImpl)(x, rows, width, gain, bias, eps, y);
}

void SoftmaxRow(float* x, int64_t n) {
  if (n <= 0) return;
  HWY_DYNAMIC_DISPATCH(SoftmaxRowImpl)(x, n);
}

void TanhInPlace(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(TanhImpl)(x, n); }

void GeluInPlace(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(GeluImpl)(x, n); }

void GeluTanhInPlace(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(GeluTanhImpl)(x, n); }

void SumRows(const float* x, int64_t ld, int64_t rows, int64_t width, float* out) {
  HWY_DYNAMIC_DISPATCH(SumRowsImpl)(x, ld, rows, width, out);
}

void ReluInPlace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void L2NormalizeInPlace(float* x, int64_t n, float floor_sq) {
  float sq = 0.0f;
  for (int64_t i = 0; i < n; ++i) sq += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(std::max(sq, floor_sq));
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace attnserve
#endif  // HWY_ONCE
