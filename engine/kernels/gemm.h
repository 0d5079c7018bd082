// Single-precision matrix multiply on the build's GEMM backend (oneDNN on
// x86-64, OpenBLAS on arm64 where Debian's oneDNN has only a reference GEMM).
#ifndef ATTNSERVE_ENGINE_KERNELS_GEMM_H_
#define ATTNSERVE_ENGINE_KERNELS_GEMM_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace attnserve {

// Row-major C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, where op(X) is
// X or its transpose. Leading dimensions are row strides in elements. Threads
// come from the caller's OpenMP setting (see PrepareComputeThreads).
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// y[m,n] (=|+=) x[m,k] * W + bias[n]: a dense layer. W is w[k,n]
// (input-major, TensorFlow) or, with w_out_major, w[n,k] (torch.nn.Linear).
// With accumulate, the product and bias are added to y (a fused residual
// connection). bias may be null. y's rows are ldy apart (0: n).
void Linear(const float* x, int64_t m, int64_t k, const float* w, int64_t n, const float* bias,
            float* y, bool accumulate, bool w_out_major = false, int64_t ldy = 0);

// "onednn" or "openblas".
std::string_view GemmBackendName();

// How the GEMM library threads, and whether it keeps to each caller's
// OpenMP thread count (PrepareComputeThreads). OpenBLAS says at run time
// which Debian build was loaded: the OpenMP one keeps to it; the pthread one
// runs one process-wide pool of its own (docs/DEPLOYMENT.md, "Threads and
// the GEMM library").
struct GemmThreading {
  std::string description;  // e.g. "openblas 0.3.21 ..., OpenMP threads"
  bool follows_caller_threads = true;
};
GemmThreading GetGemmThreading();

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_GEMM_H_
