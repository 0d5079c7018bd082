#include "engine/kernels/reference/naive_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

std::vector<float> SumRows(const std::vector<float>& x, int64_t ld, int64_t rows, int64_t width) {
  std::vector<float> out(width);
  for (int64_t c = 0; c < width; ++c) {
    double sum = 0;
    for (int64_t r = 0; r < rows; ++r) sum += x[r * ld + c];
    out[c] = static_cast<float>(sum);
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

std::vector<float> Gelu(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
  }
  return y;
}

std::vector<float> GeluTanh(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  const double c = std::sqrt(2.0 / M_PI);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v))));
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

namespace {

float RoundToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  const uint32_t lsb = (bits >> 16) & 1u;
  bits = (bits + 0x7fffu + lsb) & 0xffff0000u;
  float y;
  std::memcpy(&y, &bits, sizeof(y));
  return y;
}

}  // namespace

std::vector<int32_t> GemmS8(int64_t m, int64_t n, int64_t k, const std::vector<int8_t>& a,
                            const std::vector<int8_t>& w) {
  std::vector<int32_t> c(m * n, 0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += int64_t{a[i * k + p]} * w[p * n + j];
      c[i * n + j] = static_cast<int32_t>(sum);
    }
  }
  return c;
}

std::vector<float> QuantizedLinear(const std::vector<float>& x, int64_t m, int64_t k,
                                   const std::vector<float>& w, int64_t n,
                                   const std::vector<float>& bias, int qmax) {
  std::vector<double> w_scale(n);
  std::vector<int64_t> wq(k * n);
  for (int64_t j = 0; j < n; ++j) {
    float amax = 0.0f;
    for (int64_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(w[p * n + j]));
    const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    w_scale[j] = scale;
    for (int64_t p = 0; p < k; ++p) {
      wq[p * n + j] =
          static_cast<int64_t>(std::clamp(std::nearbyint(w[p * n + j] / scale), -127.0f, 127.0f));
    }
  }
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
      lo = std::min(lo, x[i * k + p]);
      hi = std::max(hi, x[i * k + p]);
    }
    const float step = (hi - lo) / static_cast<float>(qmax);
    const float scale = step > 0.0f ? step : 1.0f;
    const int64_t zero =
        std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(-lo / scale)), 0, qmax);
    std::vector<int64_t> xq(k);
    for (int64_t p = 0; p < k; ++p) {
      xq[p] = std::clamp<int64_t>(
          static_cast<int64_t>(std::nearbyint(x[i * k + p] * (1.0f / scale))) + zero, 0, qmax);
    }
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += (xq[p] - zero) * wq[p * n + j];
      y[i * n + j] = static_cast<float>(static_cast<double>(acc) * scale * w_scale[j] +
                                        (bias.empty() ? 0.0 : bias[j]));
    }
  }
  return y;
}

std::vector<float> Bf16Linear(const std::vector<float>& x, int64_t m, int64_t k,
                              const std::vector<float>& w, int64_t n,
                              const std::vector<float>& bias) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias.empty() ? 0.0 : bias[j];
      for (int64_t p = 0; p < k; ++p) {
        acc += static_cast<double>(RoundToBf16(x[i * k + p])) * RoundToBf16(w[p * n + j]);
      }
      y[i * n + j] = static_cast<float>(acc);
    }
  }
  return y;
}

}  // namespace attnserve::reference
