#include "engine/kernels/gemm.h"

#include <cstdio>
#include <cstdlib>

#if defined(ATTNSERVE_GEMM_ONEDNN)
#include "oneapi/dnnl/dnnl.h"
#elif defined(ATTNSERVE_GEMM_OPENBLAS)
#include <cblas.h>
#else
#error "define ATTNSERVE_GEMM_ONEDNN or ATTNSERVE_GEMM_OPENBLAS"
#endif

namespace attnserve {

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(ATTNSERVE_GEMM_ONEDNN)
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha,
                                          a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success) {
    // Only reachable through inconsistent shapes, a bug in the caller.
    std::fprintf(stderr, "attnserve: dnnl_sgemm failed (status %d) m=%ld n=%ld k=%ld\n",
                 static_cast<int>(status), static_cast<long>(m), static_cast<long>(n),
                 static_cast<long>(k));
    std::abort();
  }
#else
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

void Linear(const float* x, int64_t m, int64_t k, const float* w, int64_t n, const float* bias,
            float* y, bool accumulate, bool w_out_major, int64_t ldy) {
  if (ldy == 0) ldy = n;
  float beta = accumulate ? 1.0f : 0.0f;
  if (bias != nullptr) {
    // The bias goes in first, then the product is added to it.
    for (int64_t i = 0; i < m; ++i) {
      float* row = y + i * ldy;
      if (accumulate) {
        for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] = bias[j];
      }
    }
    beta = 1.0f;
  }
  Sgemm(false, w_out_major, m, n, k, 1.0f, x, k, w, w_out_major ? k : n, beta, y, ldy);
}

#if defined(ATTNSERVE_GEMM_OPENBLAS)
extern "C" int openblas_get_parallel(void);
extern "C" char* openblas_get_config(void);
#endif

GemmThreading GetGemmThreading() {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  return {"onednn, OpenMP threads", true};
#else
  const int parallel = openblas_get_parallel();
  const std::string config = openblas_get_config();
  if (parallel == 1) return {config + ", pthreads (its own pool)", false};
  return {config + (parallel == 2 ? ", OpenMP threads" : ", sequential"), true};
#endif
}

std::string_view GemmBackendName() {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  return "onednn";
#else
  return "openblas";
#endif
}

}  // namespace attnserve
