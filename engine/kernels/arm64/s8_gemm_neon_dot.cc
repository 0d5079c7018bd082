// The s8 GEMM micro-kernel for ARMv8.2 dot product (SDOT by lane: 16
// multiply-adds per instruction; Cortex-A55/A76, Pi 5, Graviton 2+). This
// file alone is compiled with +dotprod (engine/CMakeLists.txt); it runs only
// where getauxval says the CPU has it (s8_gemm.cc).
#include "engine/kernels/s8_gemm.h"

#if defined(__aarch64__) || defined(ATTNSERVE_HAVE_SIMDE)
#include <cstring>

#include "engine/kernels/arm64/neon_intrinsics.h"

namespace attnserve {
namespace {

template <int R, int L>
struct DotGroup {
  static void Run(const int8x16_t (&a)[R], const int8_t* group, int32x4_t (&acc)[R][4]) {
    int8x16_t b[4];
    for (int cb = 0; cb < 4; ++cb) b[cb] = vld1q_s8(group + cb * 16);
    for (int r = 0; r < R; ++r) {
      for (int cb = 0; cb < 4; ++cb) acc[r][cb] = vdotq_laneq_s32(acc[r][cb], b[cb], a[r], L);
    }
  }
};

// The R x 16 tile: 16 bytes of each of R rows of A per step, four groups of
// 4 k, the sums kept in registers.
template <int R>
inline void Tile(int cols, int64_t depth, const int8_t* a, int64_t lda, const int8_t* panel,
                 int32_t* c, int64_t ldc) {
  int32x4_t acc[R][4];
  for (int r = 0; r < R; ++r) {
    for (int cb = 0; cb < 4; ++cb) acc[r][cb] = vdupq_n_s32(0);
  }
  for (int64_t d = 0; d < depth; d += 16, panel += 256) {
    int8x16_t x[R];
    for (int r = 0; r < R; ++r) x[r] = vld1q_s8(a + r * lda + d);
    DotGroup<R, 0>::Run(x, panel, acc);
    DotGroup<R, 1>::Run(x, panel + 64, acc);
    DotGroup<R, 2>::Run(x, panel + 128, acc);
    DotGroup<R, 3>::Run(x, panel + 192, acc);
  }
  for (int r = 0; r < R; ++r) {
    int32_t row[16];
    for (int cb = 0; cb < 4; ++cb) vst1q_s32(row + cb * 4, acc[r][cb]);
    std::memcpy(c + r * ldc, row, cols * sizeof(int32_t));
  }
}

}  // namespace

void S8MicroKernelNeonDot(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                          const int8_t* panel, int32_t* c, int64_t ldc) {
  switch (rows) {
    case 4:
      return Tile<4>(cols, depth, a, lda, panel, c, ldc);
    case 3:
      return Tile<3>(cols, depth, a, lda, panel, c, ldc);
    case 2:
      return Tile<2>(cols, depth, a, lda, panel, c, ldc);
    default:
      return Tile<1>(cols, depth, a, lda, panel, c, ldc);
  }
}

}  // namespace attnserve

#endif  // __aarch64__ || ATTNSERVE_HAVE_SIMDE
