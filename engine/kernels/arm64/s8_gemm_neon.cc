// The s8 GEMM micro-kernel for ARMv8.0 NEON (no dot product: the Pi 4's
// Cortex-A72): 8-bit products widened to 16 bits (SMULL), adjacent pairs
// summed in 16 bits (ADDP: two products of |128 x 127| fit), then added
// into the 32-bit sums (SADALP).
#include "engine/kernels/s8_gemm.h"

#if defined(__aarch64__) || defined(ATTNSERVE_HAVE_SIMDE)
#include <algorithm>

#include "engine/kernels/arm64/s8_gemm_tile.h"

namespace attnserve {
namespace {

template <int R, int L>
struct WideningGroup {
  static void Run(const int8x16_t (&a)[R], const int8_t* group, int32x4_t (&acc)[R][4]) {
    int8x16_t b[4];
    for (int cb = 0; cb < 4; ++cb) b[cb] = vld1q_s8(group + cb * 16);
    for (int r = 0; r < R; ++r) {
      // A's 4 bytes of this group, repeated for the 4 columns of a block.
      const int8x16_t x = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(a[r]), L));
      for (int cb = 0; cb < 4; ++cb) {
        const int16x8_t lo = vmull_s8(vget_low_s8(b[cb]), vget_low_s8(x));
        const int16x8_t hi = vmull_high_s8(b[cb], x);
        acc[r][cb] = vpadalq_s16(acc[r][cb], vpaddq_s16(lo, hi));
      }
    }
  }
};

}  // namespace

// Two rows at a time: four rows' sums plus the 16-bit products need more
// than the 32 vector registers, and GCC then keeps the sums on the stack
// (seen in the disassembly); the panel is re-read from L1 instead.
void S8MicroKernelNeon(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                       const int8_t* panel, int32_t* c, int64_t ldc) {
  for (int r = 0; r < rows; r += 2) {
    s8_tile::AnyRows<WideningGroup>(std::min(2, rows - r), cols, depth, a + r * lda, lda, panel,
                                    c + r * ldc, ldc);
  }
}

}  // namespace attnserve

#endif  // __aarch64__ || ATTNSERVE_HAVE_SIMDE
