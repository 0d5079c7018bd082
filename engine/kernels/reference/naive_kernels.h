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

std::vector<float> Relu(const std::vector<float>& x);
std::vector<float> Tanh(const std::vector<float>& x);
std::vector<float> L2Normalize(const std::vector<float>& x, double floor_sq);

}  // namespace attnserve::reference

#endif  // ATTNSERVE_ENGINE_KERNELS_REFERENCE_NAIVE_KERNELS_H_
