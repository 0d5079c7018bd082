#include "engine/attention/approx_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "engine/kernels/elementwise.h"
#include "engine/kernels/gemm.h"

namespace attnserve::approx {

std::vector<int64_t> RealKeys(const AttentionInputs& in) {
  std::vector<int64_t> real;
  real.reserve(in.n_kv);
  for (int64_t j = 0; j < in.n_kv; ++j) {
    if (in.key_valid == nullptr || in.key_valid[j] != 0) real.push_back(j);
  }
  return real;
}

void GatherHead(const float* src, int64_t stride, int head, int d, const int64_t* rows,
                int64_t count, float* dst) {
  for (int64_t r = 0; r < count; ++r) {
    const int64_t row = rows != nullptr ? rows[r] : r;
    std::memcpy(dst + r * d, src + row * stride + int64_t{head} * d, sizeof(float) * d);
  }
}

void ScatterHead(const float* src, int64_t count, int d, int head, float* dst, int64_t stride) {
  for (int64_t r = 0; r < count; ++r) {
    std::memcpy(dst + r * stride + int64_t{head} * d, src + r * d, sizeof(float) * d);
  }
}

uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void FillGaussian(uint64_t seed, float* x, int64_t count) {
  uint64_t state = seed;
  auto uniform = [&state]() {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
  };
  for (int64_t i = 0; i < count; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double t = 2.0 * std::numbers::pi * uniform();
    x[i] = static_cast<float>(r * std::cos(t));
    if (i + 1 < count) x[i + 1] = static_cast<float>(r * std::sin(t));
  }
}

std::vector<float> OrthogonalGaussianRows(uint64_t seed, int64_t rows, int cols) {
  std::vector<float> out(rows * cols);
  std::vector<double> block(int64_t{cols} * cols);
  std::vector<float> g(int64_t{cols} * cols);
  for (int64_t start = 0, b = 0; start < rows; start += cols, ++b) {
    FillGaussian(MixSeed(seed, 2 * b), g.data(), g.size());
    for (size_t i = 0; i < g.size(); ++i) block[i] = g[i];
    // Modified Gram-Schmidt over the rows of a square Gaussian block.
    for (int r = 0; r < cols; ++r) {
      double* row = block.data() + int64_t{r} * cols;
      for (int p = 0; p < r; ++p) {
        const double* prev = block.data() + int64_t{p} * cols;
        double dot = 0;
        for (int c = 0; c < cols; ++c) dot += row[c] * prev[c];
        for (int c = 0; c < cols; ++c) row[c] -= dot * prev[c];
      }
      double norm = 0;
      for (int c = 0; c < cols; ++c) norm += row[c] * row[c];
      norm = std::sqrt(std::max(norm, 1e-30));
      for (int c = 0; c < cols; ++c) row[c] /= norm;
    }
    // Row lengths drawn like those of Gaussian vectors, so each row is
    // marginally N(0, I) as the unbiased estimator needs.
    FillGaussian(MixSeed(seed, 2 * b + 1), g.data(), g.size());
    const int64_t take = std::min<int64_t>(cols, rows - start);
    for (int64_t r = 0; r < take; ++r) {
      double len = 0;
      for (int c = 0; c < cols; ++c) len += double{g[r * cols + c]} * g[r * cols + c];
      len = std::sqrt(len);
      for (int c = 0; c < cols; ++c) {
        out[(start + r) * cols + c] = static_cast<float>(block[r * cols + c] * len);
      }
    }
  }
  return out;
}

void SegmentMeans(const float* x, int64_t n, int d, int64_t m, float* out, int64_t* counts) {
  for (int64_t s = 0; s < m; ++s) {
    const int64_t begin = SegmentBegin(s, n, m), end = SegmentBegin(s + 1, n, m);
    float* row = out + s * d;
    std::memset(row, 0, sizeof(float) * d);
    for (int64_t i = begin; i < end; ++i) {
      for (int c = 0; c < d; ++c) row[c] += x[i * d + c];
    }
    const float inv = 1.0f / static_cast<float>(std::max<int64_t>(end - begin, 1));
    for (int c = 0; c < d; ++c) row[c] *= inv;
    if (counts != nullptr) counts[s] = end - begin;
  }
}

void ScatterKeyMass(const std::vector<float>& head_mass, const std::vector<int64_t>& real,
                    int heads, float* key_mass) {
  if (key_mass == nullptr || head_mass.empty()) return;
  const int64_t n = static_cast<int64_t>(real.size());
  for (int h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < n; ++j) key_mass[real[j]] += head_mass[h * n + j];
  }
}

void DenseHead(const float* q, int64_t n_q, const float* k, const float* v, int64_t n_k, int d,
               float scale, float* out, float* mass) {
  std::vector<float> p(n_q * n_k);
  Sgemm(false, true, n_q, n_k, d, scale, q, d, k, d, 0.0f, p.data(), n_k);
  for (int64_t i = 0; i < n_q; ++i) {
    float* row = p.data() + i * n_k;
    SoftmaxRow(row, n_k);
    if (mass != nullptr) {
      for (int64_t j = 0; j < n_k; ++j) mass[j] += row[j];
    }
  }
  Sgemm(false, false, n_q, d, n_k, 1.0f, p.data(), n_k, v, d, 0.0f, out, d);
}

void AddStats(AttentionStats* stats, int64_t pairs_scored, int64_t pairs_total, int64_t flops) {
  if (stats == nullptr) return;
  stats->pairs_scored += pairs_scored;
  stats->pairs_total += pairs_total;
  stats->flops += flops;
}

}  // namespace attnserve::approx
