#include "engine/kernels/reference/naive_kernels.h"

#include <algorithm>
#include <cmath>

namespace attnserve::reference {

std::vector<float> Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                        const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> c(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = trans_a ? a[p * m + i] : a[i * k + p];
        const double bv = trans_b ? b[j * k + p] : b[p * n + j];
        acc += av * bv;
      }
      c[i * n + j] = static_cast<float>(acc);
    }
  }
  return c;
}

std::vector<float> LayerNorm(const std::vector<float>& x, int64_t rows, int64_t width,
                             const std::vector<float>& gain, const std::vector<float>& bias,
                             double eps) {
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0.0;
    for (int64_t i = 0; i < width; ++i) mean += x[r * width + i];
    mean /= width;
    double var = 0.0;
    for (int64_t i = 0; i < width; ++i) {
      const double d = x[r * width + i] - mean;
      var += d * d;
    }
    var /= width;
    for (int64_t i = 0; i < width; ++i) {
      y[r * width + i] =
          static_cast<float>(gain[i] * (x[r * width + i] - mean) / std::sqrt(var + eps) + bias[i]);
    }
  }
  return y;
}

std::vector<float> Softmax(const std::vector<float>& row) {
  std::vector<float> out(row.size());
  if (row.empty()) return out;
  const double max_value = *std::max_element(row.begin(), row.end());
  double sum = 0.0;
  for (float v : row) sum += std::exp(v - max_value);
  for (size_t i = 0; i < row.size(); ++i) {
    out[i] = static_cast<float>(std::exp(row[i] - max_value) / sum);
  }
  return out;
}

std::vector<float> Relu(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::max(x[i], 0.0f);
  return y;
}

std::vector<float> Tanh(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = static_cast<float>(std::tanh(static_cast<double>(x[i])));
  }
  return y;
}

std::vector<float> L2Normalize(const std::vector<float>& x, double floor_sq) {
  double sq = 0.0;
  for (float v : x) sq += static_cast<double>(v) * v;
  const double norm = std::sqrt(std::max(sq, floor_sq));
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] / norm);
  return y;
}

}  // namespace attnserve::reference
