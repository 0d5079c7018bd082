// Naive double-precision twins of the fast kernels, used only by tests. Written
// for obviousness, not speed: each is the textbook formula.
#ifndef ATTNSERVE_ENGINE_KERNELS_REFERENCE_NAIVE_KERNELS_H_
#define ATTNSERVE_ENGINE_KERNELS_REFERENCE_NAIVE_KERNELS_H_

#include <cstdint>
#include <vector>

namespace attnserve::reference {

// C = op(A) * op(B) with row-major A [m,k] (or [k,m] transposed) and B [k,n]
// (or [n,k] transposed); returns C [m,n].
std::vector<float> Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                        const std::vector<float>& a, const std::vector<float>& b);

std::vector<float> LayerNorm(const std::vector<float>& x, int64_t rows, int64_t width,
                             const std::vector<float>& gain, const std::vector<float>& bias,
                             double eps);

std::vector<float> Softmax(const std::vector<float>& row);

// Column sums of x [rows, width] with row stride ld.
std::vector<float> SumRows(const std::vector<float>& x, int64_t ld, int64_t rows, int64_t width);

std::vector<float> Relu(const std::vector<float>& x);
std::vector<float> Tanh(const std::vector<float>& x);
// 0.5 x (1 + erf(x / sqrt 2)) and 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
std::vector<float> Gelu(const std::vector<float>& x);
std::vector<float> GeluTanh(const std::vector<float>& x);
std::vector<float> L2Normalize(const std::vector<float>& x, double floor_sq);

// C [m,n] = A [m,k] * W [k,n] in exact integers (row-major, s8 inputs).
std::vector<int32_t> GemmS8(int64_t m, int64_t n, int64_t k, const std::vector<int8_t>& a,
                            const std::vector<int8_t>& w);

// y = x W + b for x [m,k], W [k,n] (bias may be empty) under dynamic int8
// quantisation: W per column to s8 in [-127, 127] (scale max|w| / 127), each
// row of x to u8 in [0, qmax] with its range widened to hold 0 (scale
// range / qmax, zero point round(-min / scale)), the integer product exact,
// then rescaled. Rounding is to nearest, ties to even.
std::vector<float> QuantizedLinear(const std::vector<float>& x, int64_t m, int64_t k,
                                   const std::vector<float>& w, int64_t n,
                                   const std::vector<float>& bias, int qmax);

// y = x W + b with x and W rounded to bfloat16 (nearest even), summed in double.
std::vector<float> Bf16Linear(const std::vector<float>& x, int64_t m, int64_t k,
                              const std::vector<float>& w, int64_t n,
                              const std::vector<float>& bias);

}  // namespace attnserve::reference

#endif  // ATTNSERVE_ENGINE_KERNELS_REFERENCE_NAIVE_KERNELS_H_
