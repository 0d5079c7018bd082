#include "engine/kernels/lowp_gemm.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/kernels/gemm.h"

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

// cpu_isa values are bit sets: an ISA includes the bits of those it extends.
bool IsaHas(dnnl::cpu_isa feature) {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(feature)) == static_cast<unsigned>(feature);
}

// The f32 form of an [rows, cols] matrix with rows ld apart, packed densely.
template <typename T, typename Convert>
void ToF32(const T* x, int64_t rows, int64_t cols, int64_t ld, Convert convert,
           std::vector<float>* out) {
  out->resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) (*out)[r * cols + j] = convert(x[r * ld + j]);
  }
}

// f32 C = A * op(B) on the f32 forms of A and B (B is [n, k] when trans_b):
// the form of the low-precision products where oneDNN has no exact kernel.
template <typename TA, typename TB, typename Convert>
void GemmInF32(bool trans_b, int64_t m, int64_t n, int64_t k, const TA* a, int64_t lda, const TB* b,
               int64_t ldb, Convert convert, float* c, int64_t ldc) {
  thread_local std::vector<float> af, bf;
  ToF32(a, m, k, lda, convert, &af);
  if (trans_b) {
    ToF32(b, n, k, ldb, convert, &bf);
  } else {
    ToF32(b, k, n, ldb, convert, &bf);
  }
  Sgemm(false, trans_b, m, n, k, 1.0f, af.data(), k, bf.data(), trans_b ? k : n, 0.0f, c, ldc);
}

// C (int32) = A * op(B) through the f32 GEMM.
template <typename TA, typename TB>
void IntegerGemmInF32(bool trans_b, int64_t m, int64_t n, int64_t k, const TA* a, int64_t lda,
                      const TB* b, int64_t ldb, int32_t* c, int64_t ldc) {
  thread_local std::vector<float> cf;
  cf.resize(m * n);
  GemmInF32(
      trans_b, m, n, k, a, lda, b, ldb, [](auto v) { return static_cast<float>(v); }, cf.data(), n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j)
      c[i * ldc + j] = static_cast<int32_t>(std::lrint(cf[i * n + j]));
  }
}

}  // namespace

bool OnednnHasVnni() {
  static const bool kVnni =
      IsaHas(dnnl::cpu_isa::avx512_core_vnni) || IsaHas(dnnl::cpu_isa::avx2_vnni);
  return kVnni;
}

// bf16 matmul without hardware bf16 is emulated (about 4x slower than f32)
// or, on AVX2, not offered at all; bf16 x bf16 products are exact in f32.
bool OnednnHasNativeBf16() {
  static const bool kNative =
      IsaHas(dnnl::cpu_isa::avx512_core_bf16) || IsaHas(dnnl::cpu_isa::avx512_core_amx);
  return kNative;
}

// Before VNNI, oneDNN's integer GEMMs multiply with VPMADDUBSW, whose 16-bit
// pair sums saturate on full-range operands (int8 attention was 0.58 off on
// an AVX2-only Zen 3). There the integers go through the f32 GEMM: 8-bit
// products are exact in f32, and sums are exact below 2^24 (q.k over a head
// of 64 stays far below; a longer p.v sum rounds by at most 2^-24 relative).
void GemmS8S8NT(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (!OnednnHasVnni()) return IntegerGemmInF32(true, m, n, k, a, lda, b, ldb, c, ldc);
  const int32_t zero = 0;
  CheckDnnl(
      dnnl_gemm_s8s8s32('N', 'T', 'F', m, n, k, 1.0f, a, lda, 0, b, ldb, 0, 0.0f, c, ldc, &zero),
      "dnnl_gemm_s8s8s32");
}

void GemmU8S8NN(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc, int a_max) {
  if (m == 0 || n == 0) return;
  // Two products of 127 x 128 still fit 16 bits: no saturation below 128.
  if (a_max > 127 && !OnednnHasVnni())
    return IntegerGemmInF32(false, m, n, k, a, lda, b, ldb, c, ldc);
  const int32_t zero = 0;
  CheckDnnl(
      dnnl_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, a, lda, 0, b, ldb, 0, 0.0f, c, ldc, &zero),
      "dnnl_gemm_u8s8s32");
}

void GemmBf16(bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (!OnednnHasNativeBf16()) {
    return GemmInF32(trans_b, m, n, k, a, lda, b, ldb, FromBf16, c, ldc);
  }
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

bool OnednnHasVnni() { return false; }
bool OnednnHasNativeBf16() { return false; }

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
                int64_t ldb, int32_t* c, int64_t ldc, int /*a_max*/) {
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
