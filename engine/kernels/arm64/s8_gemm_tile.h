// The R x 16 tile loop both NEON s8 micro-kernels share (s8_gemm.h's
// layout): 16 bytes of each of R rows of A per step, four groups of 4 k,
// the sums kept in registers. `Group<R, L>::Run` does one group (lane L of
// the loaded A bytes): SDOT in one kernel, widening multiply-adds in the other.
#ifndef ATTNSERVE_ENGINE_KERNELS_ARM64_S8_GEMM_TILE_H_
#define ATTNSERVE_ENGINE_KERNELS_ARM64_S8_GEMM_TILE_H_

#if defined(__aarch64__)
#include <arm_neon.h>
#else
// Elsewhere SIMDe translates the same intrinsics, so x86 tests run these
// kernels' code (s8_gemm.h: never picked for serving there).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#endif

#include <cstdint>
#include <cstring>

namespace attnserve::s8_tile {

template <template <int, int> class Group, int R>
inline void Tile(int cols, int64_t depth, const int8_t* a, int64_t lda, const int8_t* panel,
                 int32_t* c, int64_t ldc) {
  int32x4_t acc[R][4];
  for (int r = 0; r < R; ++r) {
    for (int cb = 0; cb < 4; ++cb) acc[r][cb] = vdupq_n_s32(0);
  }
  for (int64_t d = 0; d < depth; d += 16, panel += 256) {
    int8x16_t x[R];
    for (int r = 0; r < R; ++r) x[r] = vld1q_s8(a + r * lda + d);
    Group<R, 0>::Run(x, panel, acc);
    Group<R, 1>::Run(x, panel + 64, acc);
    Group<R, 2>::Run(x, panel + 128, acc);
    Group<R, 3>::Run(x, panel + 192, acc);
  }
  for (int r = 0; r < R; ++r) {
    int32_t row[16];
    for (int cb = 0; cb < 4; ++cb) vst1q_s32(row + cb * 4, acc[r][cb]);
    std::memcpy(c + r * ldc, row, cols * sizeof(int32_t));
  }
}

template <template <int, int> class Group>
inline void AnyRows(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                    const int8_t* panel, int32_t* c, int64_t ldc) {
  switch (rows) {
    case 4:
      return Tile<Group, 4>(cols, depth, a, lda, panel, c, ldc);
    case 3:
      return Tile<Group, 3>(cols, depth, a, lda, panel, c, ldc);
    case 2:
      return Tile<Group, 2>(cols, depth, a, lda, panel, c, ldc);
    default:
      return Tile<Group, 1>(cols, depth, a, lda, panel, c, ldc);
  }
}

}  // namespace attnserve::s8_tile

#endif  // ATTNSERVE_ENGINE_KERNELS_ARM64_S8_GEMM_TILE_H_
