#include "engine/kernels/elementwise.h"

#include <algorithm>
#include <cmath>

namespace attnserve {

void LayerNorm(const float* x, int64_t rows, int64_t width, const float* gain,
               const float* bias, float eps, float* y) {
  const float inv_width = 1.0f / static_cast<float>(width);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < width; ++i) sum += xr[i];
    const float mean = sum * inv_width;
    // Two passes: the variance of centred values does not cancel badly.
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < width; ++i) {
      const float d = xr[i] - mean;
      sq += d * d;
    }
    const float inv_std = 1.0f / std::sqrt(sq * inv_width + eps);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) {
      yr[i] = (xr[i] - mean) * inv_std * gain[i] + bias[i];
    }
  }
}

void SoftmaxRow(float* x, int64_t n) {
  if (n <= 0) return;
  float max_value = x[0];
  for (int64_t i = 1; i < n; ++i) max_value = std::max(max_value, x[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inv_sum = 1.0f / sum;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= inv_sum;
}

void ReluInPlace(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void TanhInPlace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void L2NormalizeInPlace(float* x, int64_t n, float floor_sq) {
  float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < n; ++i) sq += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(std::max(sq, floor_sq));
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace attnserve
