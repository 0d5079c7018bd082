// The s8 GEMM micro-kernel for ARMv8.2 dot product (SDOT by lane: 16
// multiply-adds per instruction; Cortex-A55/A76, Pi 5, Graviton 2+). This
// file alone is compiled with +dotprod (engine/CMakeLists.txt); it runs only
// where getauxval says the CPU has it (s8_gemm.cc).
#include "engine/kernels/s8_gemm.h"

#if defined(__aarch64__) || defined(ATTNSERVE_HAVE_SIMDE)
#include "engine/kernels/arm64/s8_gemm_tile.h"

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

}  // namespace

void S8MicroKernelNeonDot(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                          const int8_t* panel, int32_t* c, int64_t ldc) {
  s8_tile::AnyRows<DotGroup>(rows, cols, depth, a, lda, panel, c, ldc);
}

}  // namespace attnserve

#endif  // __aarch64__ || ATTNSERVE_HAVE_SIMDE
