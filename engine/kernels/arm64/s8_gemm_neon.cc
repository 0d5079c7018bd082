// The s8 GEMM micro-kernel for ARMv8.0 NEON (no dot product: the Pi 4's
// Cortex-A72). Two consecutive groups of 4 k hold the same 4 columns at the
// same byte positions of their 16-byte blocks (s8_gemm.h's layout), so one
// 16-bit lane can take a product from each: SMULL then SMLAL (low halves) and
// SMULL2 then SMLAL2 (high halves) sum two products in 16 bits (|2 x 128 x
// 127| fits), and SADALP adds adjacent lanes into the 32-bit sums. That is 6
// instructions per 32 multiply-adds, where widening, pairing and adding
// within one group (SMULL, SMULL2, ADDP, SADALP) took 8. The 32-bit sums
// keep two partial sums per column until the tile is stored.
#include "engine/kernels/s8_gemm.h"

#if defined(__aarch64__) || defined(ATTNSERVE_HAVE_SIMDE)

#include <cstring>

#include "engine/kernels/arm64/neon_intrinsics.h"

namespace attnserve {
namespace {

// A's 4 bytes of group `lane`, repeated for the 4 columns of a block.
template <int L>
int8x16_t Broadcast(int8x16_t a) {
  return vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(a), L));
}

// Groups G and G + 1 of one 16-deep step, for R rows and the two blocks of
// columns [8 * P, 8 * P + 8).
template <int R, int G, int P>
inline void GroupPair(const int8x16_t (&a)[R], const int8_t* panel, int32x4_t (&acc)[R][2][2]) {
  int8x16_t x0[R], x1[R];
  for (int r = 0; r < R; ++r) {
    x0[r] = Broadcast<G>(a[r]);
    x1[r] = Broadcast<G + 1>(a[r]);
  }
  const int8_t* g0 = panel + G * 64 + P * 32;
  for (int cb = 0; cb < 2; ++cb) {
    const int8x16_t b0 = vld1q_s8(g0 + cb * 16), b1 = vld1q_s8(g0 + 64 + cb * 16);
    for (int r = 0; r < R; ++r) {
      int16x8_t lo = vmull_s8(vget_low_s8(b0), vget_low_s8(x0[r]));
      lo = vmlal_s8(lo, vget_low_s8(b1), vget_low_s8(x1[r]));
      int16x8_t hi = vmull_high_s8(b0, x0[r]);
      hi = vmlal_high_s8(hi, b1, x1[r]);
      acc[r][cb][0] = vpadalq_s16(acc[r][cb][0], lo);
      acc[r][cb][1] = vpadalq_s16(acc[r][cb][1], hi);
    }
  }
}

// Columns [8 * P, 8 * P + 8) of an R x 16 tile, over the whole depth.
template <int R, int P>
void HalfTile(int64_t depth, const int8_t* a, int64_t lda, const int8_t* panel,
              int32_t (&out)[R][16]) {
  // [row][block of 4 columns][half]: half 0 holds the block's columns 0-1,
  // half 1 its columns 2-3, each as two partial sums.
  int32x4_t acc[R][2][2];
  for (int r = 0; r < R; ++r) {
    for (int cb = 0; cb < 2; ++cb) acc[r][cb][0] = acc[r][cb][1] = vdupq_n_s32(0);
  }
  for (int64_t d = 0; d < depth; d += 16, panel += 256) {
    int8x16_t x[R];
    for (int r = 0; r < R; ++r) x[r] = vld1q_s8(a + r * lda + d);
    GroupPair<R, 0, P>(x, panel, acc);
    GroupPair<R, 2, P>(x, panel, acc);
  }
  for (int r = 0; r < R; ++r) {
    for (int cb = 0; cb < 2; ++cb) {
      vst1q_s32(out[r] + P * 8 + cb * 4, vpaddq_s32(acc[r][cb][0], acc[r][cb][1]));
    }
  }
}

// Half a tile at a time: two rows' sums for all 16 columns (16 registers)
// plus weights, broadcasts and products spilled in GCC's code; for 8
// columns they fit, and A's rows are read twice (from L1).
template <int R>
void Tile(int cols, int64_t depth, const int8_t* a, int64_t lda, const int8_t* panel, int32_t* c,
          int64_t ldc) {
  int32_t out[R][16];
  HalfTile<R, 0>(depth, a, lda, panel, out);
  HalfTile<R, 1>(depth, a, lda, panel, out);
  for (int r = 0; r < R; ++r) std::memcpy(c + r * ldc, out[r], cols * sizeof(int32_t));
}

}  // namespace

// Two rows at a time: more rows' sums do not fit the 32 vector registers.
void S8MicroKernelNeon(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                       const int8_t* panel, int32_t* c, int64_t ldc) {
  for (int r = 0; r < rows; r += 2) {
    if (rows - r >= 2) {
      Tile<2>(cols, depth, a + r * lda, lda, panel, c + r * ldc, ldc);
    } else {
      Tile<1>(cols, depth, a + r * lda, lda, panel, c + r * ldc, ldc);
    }
  }
}

}  // namespace attnserve

#endif  // __aarch64__ || ATTNSERVE_HAVE_SIMDE
