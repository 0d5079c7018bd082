// Helpers shared by the approximate attention kernels (linformer, performer,
// nystrom, lsh, adaptive_topk, int8, bf16): one head's rows gathered into a
// contiguous buffer with padded keys dropped, portable seeded random numbers,
// segment means, and the key-mass / stats bookkeeping every kernel repeats.
#ifndef ATTNSERVE_ENGINE_ATTENTION_APPROX_COMMON_H_
#define ATTNSERVE_ENGINE_ATTENTION_APPROX_COMMON_H_

#include <bit>
#include <cstdint>
#include <vector>

#include "engine/attention/attention_kernel.h"

namespace attnserve::approx {

// Indices of the real (unpadded) keys, in order.
std::vector<int64_t> RealKeys(const AttentionInputs& in);

// dst[r, 0:d) = src[rows[r] * stride + head * d + (0:d)]; rows == nullptr
// means rows 0..count-1. dst is dense [count, d].
void GatherHead(const float* src, int64_t stride, int head, int d, const int64_t* rows,
                int64_t count, float* dst);

// Writes dense [count, d] rows into head `head` of a strided output.
void ScatterHead(const float* src, int64_t count, int d, int head, float* dst, int64_t stride);

// A stream identifier mixed into a seed (SplitMix64), so every head and round
// gets its own deterministic random numbers.
uint64_t MixSeed(uint64_t seed, uint64_t stream);

// count standard normal samples from a SplitMix64 generator + Box-Muller:
// identical on every platform and standard library (std::normal_distribution
// is not specified bit-exactly).
void FillGaussian(uint64_t seed, float* x, int64_t count);

// rows x cols matrix whose rows come in blocks of up to `cols` mutually
// orthogonal directions, each scaled to the norm of an independent Gaussian
// vector (chi distributed): the orthogonal random features of FAVOR+.
std::vector<float> OrthogonalGaussianRows(uint64_t seed, int64_t rows, int cols);

// Splits n rows into m contiguous segments whose sizes differ by at most one
// and writes each segment's mean row to out [m, d]; counts (optional) gets
// the sizes. begin(s) = s * n / m.
void SegmentMeans(const float* x, int64_t n, int d, int64_t m, float* out, int64_t* counts);
inline int64_t SegmentBegin(int64_t s, int64_t n, int64_t m) { return s * n / m; }

// Adds per-head key mass, indexed by real-key position, into in.key_mass
// (indexed by key position). head_mass is [heads, real.size()].
void ScatterKeyMass(const std::vector<float>& head_mass, const std::vector<int64_t>& real,
                    int heads, float* key_mass);

// Exact softmax attention of dense [n_q, d] queries over dense [n_k, d]
// keys/values (all real); out dense [n_q, d]. Adds column sums of the
// probabilities to mass[n_k] when mass is non-null. Used by kernels whose
// budget covers every key and so must equal dense.
void DenseHead(const float* q, int64_t n_q, const float* k, const float* v, int64_t n_k, int d,
               float scale, float* out, float* mass);

// exp(x) to ~2 ulp for x in [-87, 88] (smaller x gives ~1e-38, not 0),
// written without branches so loops over it vectorise (std::exp is a scalar
// libm call): 2^round(x log2 e) times a degree-6 polynomial for e^f.
inline float FastExp(float x) {
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest
  const float f = (t - n) * 0.693147180559945309f;  // |f| <= 0.347
  float p = 1.0f / 720;
  p = p * f + 1.0f / 120;
  p = p * f + 1.0f / 24;
  p = p * f + 1.0f / 6;
  p = p * f + 0.5f;
  p = p * f + 1.0f;
  p = p * f + 1.0f;
  int32_t e = static_cast<int32_t>(n);
  e = e < -126 ? -126 : e;
  e = e > 127 ? 127 : e;
  return p * std::bit_cast<float>((e + 127) << 23);
}

// Round to nearest (ties to even) for |x| < 2^22, vectorisable unlike lround.
inline float RoundNearest(float x) { return (x + 12582912.0f) - 12582912.0f; }

// Adds a run's counts to stats (null-safe).
void AddStats(AttentionStats* stats, int64_t pairs_scored, int64_t pairs_total, int64_t flops);

}  // namespace attnserve::approx

#endif  // ATTNSERVE_ENGINE_ATTENTION_APPROX_COMMON_H_
