#include "engine/kernels/lowp_gemm.h"

#include <cstdio>
#include <cstdlib>

#if defined(ATTNSERVE_GEMM_ONEDNN)
#include "oneapi/dnnl/dnnl.h"
#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace attnserve {

#if defined(ATTNSERVE_GEMM_ONEDNN)

namespace {

void CheckDnnl(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) {
    // Only reachable through inconsistent shapes, a bug in the caller.
    std::fprintf(stderr, "attnserve: %s failed (status %d)\n", what, static_cast<int>(status));
    std::abort();
  }
}

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const kEngine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *kEngine;
}

}  // namespace

void GemmS8S8NT(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const int32_t zero = 0;
  CheckDnnl(
      dnnl_gemm_s8s8s32('N', 'T', 'F', m, n, k, 1.0f, a, lda, 0, b, ldb, 0, 0.0f, c, ldc, &zero),
      "dnnl_gemm_s8s8s32");
}

void GemmU8S8NN(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const int32_t zero = 0;
  CheckDnnl(
      dnnl_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, a, lda, 0, b, ldb, 0, 0.0f, c, ldc, &zero),
      "dnnl_gemm_u8s8s32");
}

void GemmBf16(bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dnnl::memory::desc a_md(dims{m, k}, dt::bf16, dims{lda, 1});
  const dnnl::memory::desc b_md(dims{k, n}, dt::bf16, trans_b ? dims{1, ldb} : dims{ldb, 1});
  const dnnl::memory::desc c_md(dims{m, n}, dt::f32, dims{ldc, 1});
  // oneDNN's primitive cache makes re-creating a seen shape cheap.
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), CpuEngine());
  dnnl::stream stream(CpuEngine());
  dnnl::memory am(a_md, CpuEngine(), const_cast<uint16_t*>(a));
  dnnl::memory bm(b_md, CpuEngine(), const_cast<uint16_t*>(b));
  dnnl::memory cm(c_md, CpuEngine(), c);
  dnnl::matmul(pd).execute(stream,
                           {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
}

#else  // Portable loops: exact integer sums; bf16 products are exact in f32.

void GemmS8S8NT(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t t = 0; t < k; ++t) acc += int32_t{a[i * lda + t]} * b[j * ldb + t];
      c[i * ldc + j] = acc;
    }
  }
}

void GemmU8S8NN(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    int32_t* row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] = 0;
    for (int64_t t = 0; t < k; ++t) {
      const int32_t x = a[i * lda + t];
      if (x == 0) continue;
      const int8_t* brow = b + t * ldb;
      for (int64_t j = 0; j < n; ++j) row[j] += x * brow[j];
    }
  }
}

void GemmBf16(bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] = 0.0f;
    for (int64_t t = 0; t < k; ++t) {
      const float x = FromBf16(a[i * lda + t]);
      for (int64_t j = 0; j < n; ++j) {
        row[j] += x * FromBf16(trans_b ? b[j * ldb + t] : b[t * ldb + j]);
      }
    }
  }
}

#endif

}  // namespace attnserve
