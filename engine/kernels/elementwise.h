// Row-wise and element-wise kernels of the encoder: layer norm, softmax,
// activations, L2 normalisation. Naive twins live in kernels/reference/.
#ifndef ATTNSERVE_ENGINE_KERNELS_ELEMENTWISE_H_
#define ATTNSERVE_ENGINE_KERNELS_ELEMENTWISE_H_

#include <cstdint>

namespace attnserve {

// y[i,:] = gain * (x[i,:] - mean) / sqrt(var + eps) + bias for each of `rows`
// rows of width `width`; biased variance. x and y may alias.
void LayerNorm(const float* x, int64_t rows, int64_t width, const float* gain, const float* bias,
               float eps, float* y);

// In-place softmax of one row of n scores. Max-subtracted, so large scores
// cannot overflow. n == 0 is a no-op.
void SoftmaxRow(float* x, int64_t n);

// out[c] = sum over r < rows of x[r * ld + c], c < width (rows may be 0).
void SumRows(const float* x, int64_t ld, int64_t rows, int64_t width, float* out);

// Element-wise, in place.
void ReluInPlace(float* x, int64_t n);
void TanhInPlace(float* x, int64_t n);
// GELU: exact (erf, BERT's "gelu"; erf by a rational approximation,
// |error| < 4e-7) and the tanh approximation ("gelu_new").
void GeluInPlace(float* x, int64_t n);
void GeluTanhInPlace(float* x, int64_t n);

// x /= sqrt(max(sum(x^2), floor_sq)): TensorFlow's l2_normalize.
void L2NormalizeInPlace(float* x, int64_t n, float floor_sq);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_ELEMENTWISE_H_
