// Highway kernels with runtime dispatch, like kernels/elementwise.cc.
#include "engine/attention/softmax_rows.h"

#include <algorithm>
#include <cmath>

// Highway's foreach_target re-includes this file once per target; these
// includes must stay in this order (clang-format would regroup them).
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/attention/softmax_rows.cc"
// Order matters for Highway: foreach_target, then highway, then contrib.
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

#include "hwy/contrib/math/math-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace attnserve {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;

float RowMaxImpl(const float* HWY_RESTRICT x, int64_t n) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto vmax = hn::Set(d, -HUGE_VALF);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
  float m = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

float ExpShiftSumImpl(float* HWY_RESTRICT x, int64_t n, float shift) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  // Exp returns exactly 0 below -104, so -inf (an excluded key) adds nothing.
  const auto vs = hn::Set(d, shift);
  auto acc = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vs));
    hn::StoreU(e, d, x + i);
    acc = hn::Add(acc, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void ScaleRowImpl(float* HWY_RESTRICT x, int64_t n, float s) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, s);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, x + i);
  for (; i < n; ++i) x[i] *= s;
}

}  // namespace HWY_NAMESPACE
}  // namespace attnserve
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attnserve {

HWY_EXPORT(RowMaxImpl);
HWY_EXPORT(ExpShiftSumImpl);
HWY_EXPORT(ScaleRowImpl);

float RowMax(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(RowMaxImpl)(x, n); }

float ExpShiftSum(float* x, int64_t n, float shift) {
  return HWY_DYNAMIC_DISPATCH(ExpShiftSumImpl)(x, n, shift);
}

void ScaleRow(float* x, int64_t n, float s) { HWY_DYNAMIC_DISPATCH(ScaleRowImpl)(x, n, s); }

bool MaskedSoftmaxRow(float* x, int64_t n) {
  const float m = RowMax(x, n);
  if (!std::isfinite(m)) {
    std::fill(x, x + n, 0.0f);
    return false;
  }
  ScaleRow(x, n, 1.0f / ExpShiftSum(x, n, m));
  return true;
}

}  // namespace attnserve
#endif  // HWY_ONCE
