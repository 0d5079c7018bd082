// Highway kernels with runtime dispatch, like elementwise.cc. The naive twins
// (reference/naive_kernels.cc) are the specification.
#include "engine/kernels/row_quantize.h"

#include <algorithm>
#include <cmath>

// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/row_quantize.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace attnserve {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void QuantizeRowsU8Impl(const float* HWY_RESTRICT x, int64_t rows, int64_t cols, int qmax,
                        uint8_t* HWY_RESTRICT q, float* scale, int32_t* zero) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> du8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    uint8_t* qr = q + r * cols;
    auto vmin = hn::Zero(d), vmax = hn::Zero(d);  // the range always holds 0
    int64_t i = 0;
    for (; i + lanes <= cols; i += lanes) {
      const auto v = hn::LoadU(d, xr + i);
      vmin = hn::Min(vmin, v);
      vmax = hn::Max(vmax, v);
    }
    float lo = hn::GetLane(hn::MinOfLanes(d, vmin)), hi = hn::GetLane(hn::MaxOfLanes(d, vmax));
    for (; i < cols; ++i) {
      lo = std::min(lo, xr[i]);
      hi = std::max(hi, xr[i]);
    }
    const float step = (hi - lo) / static_cast<float>(qmax);
    const float s = step > 0.0f ? step : 1.0f;
    const int32_t z = std::clamp(static_cast<int32_t>(std::nearbyint(-lo / s)), 0, qmax);
    scale[r] = s;
    zero[r] = z;
    const auto vinv = hn::Set(d, 1.0f / s);
    const auto vz = hn::Set(di, z);
    const auto vlo = hn::Zero(di), vhi = hn::Set(di, qmax);
    for (i = 0; i + lanes <= cols; i += lanes) {
      auto qi = hn::Add(hn::NearestInt(hn::Mul(hn::LoadU(d, xr + i), vinv)), vz);
      qi = hn::Min(hn::Max(qi, vlo), vhi);
      hn::StoreU(hn::DemoteTo(du8, qi), du8, qr + i);
    }
    for (; i < cols; ++i) {
      const int32_t v = static_cast<int32_t>(std::nearbyint(xr[i] * (1.0f / s))) + z;
      qr[i] = static_cast<uint8_t>(std::clamp(v, 0, qmax));
    }
  }
}

void DequantizeRowsImpl(const int32_t* HWY_RESTRICT acc, int64_t rows, int64_t cols,
                        const float* scale, const int32_t* zero, const float* HWY_RESTRICT w_scale,
                        const int32_t* HWY_RESTRICT w_colsum, const float* HWY_RESTRICT bias,
                        float* HWY_RESTRICT y, int64_t ldy, bool accumulate) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* ar = acc + r * cols;
    float* yr = y + r * ldy;
    const auto vs = hn::Set(d, scale[r]);
    const auto vz = hn::Set(di, zero[r]);
    int64_t j = 0;
    for (; j + lanes <= cols; j += lanes) {
      const auto centred = hn::Sub(hn::LoadU(di, ar + j), hn::Mul(vz, hn::LoadU(di, w_colsum + j)));
      auto v = hn::Mul(hn::Mul(hn::ConvertTo(d, centred), vs), hn::LoadU(d, w_scale + j));
      if (bias != nullptr) v = hn::Add(v, hn::LoadU(d, bias + j));
      if (accumulate) v = hn::Add(v, hn::LoadU(d, yr + j));
      hn::StoreU(v, d, yr + j);
    }
    for (; j < cols; ++j) {
      float v = static_cast<float>(ar[j] - zero[r] * w_colsum[j]) * scale[r] * w_scale[j];
      if (bias != nullptr) v += bias[j];
      yr[j] = accumulate ? yr[j] + v : v;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attnserve
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attnserve {

HWY_EXPORT(QuantizeRowsU8Impl);
HWY_EXPORT(DequantizeRowsImpl);

void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int qmax, uint8_t* q, float* scale,
                    int32_t* zero) {
  HWY_DYNAMIC_DISPATCH(QuantizeRowsU8Impl)(x, rows, cols, qmax, q, scale, zero);
}

void DequantizeRows(const int32_t* acc, int64_t rows, int64_t cols, const float* scale,
                    const int32_t* zero, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* y, int64_t ldy, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(DequantizeRowsImpl)
  (acc, rows, cols, scale, zero, w_scale, w_colsum, bias, y, ldy, accumulate);
}

}  // namespace attnserve
#endif  // HWY_ONCE
