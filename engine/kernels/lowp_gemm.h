// Low-precision GEMMs for the int8 and bf16 attention kernels: oneDNN's
// integer GEMMs and bf16 matmul on the oneDNN backend; on the OpenBLAS
// backend (no oneDNN linked) portable loops over the same int8 / bf16 values,
// so both builds compute the same quantised model.
#ifndef ATTNSERVE_ENGINE_KERNELS_LOWP_GEMM_H_
#define ATTNSERVE_ENGINE_KERNELS_LOWP_GEMM_H_

#include <cstdint>
#include <cstring>

namespace attnserve {

// What this CPU's oneDNN offers (oneDNN backend; false on OpenBLAS): integer
// dot products that cannot saturate 16-bit pair sums (VNNI; AMX includes it),
// and bf16 in hardware (AVX512_BF16 or AMX).
bool OnednnHasVnni();
bool OnednnHasNativeBf16();

// Row-major int32 C[m,n] = A[m,k] * B[n,k]^T, signed 8-bit inputs.
void GemmS8S8NT(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc);

// Row-major int32 C[m,n] = A[m,k] * B[k,n], unsigned A, signed B. a_max: the
// largest value A may hold. Exact on every CPU: where oneDNN's kernel would
// saturate 16-bit pair sums (before VNNI, unless a_max <= 127) the integers
// go through the f32 GEMM instead.
void GemmU8S8NN(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                int64_t ldb, int32_t* c, int64_t ldc, int a_max = 255);

// Row-major f32 C[m,n] = A[m,k] * op(B) with bf16 inputs and f32
// accumulation; op(B) = B[n,k]^T when trans_b, else B[k,n].
void GemmBf16(bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              const uint16_t* b, int64_t ldb, float* c, int64_t ldc);

// float -> bf16 with round-to-nearest-even (NaN kept quiet), and back.
inline uint16_t ToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
inline float FromBf16(uint16_t x) {
  const uint32_t bits = uint32_t{x} << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_LOWP_GEMM_H_
