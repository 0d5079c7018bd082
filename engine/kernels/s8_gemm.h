// An s8 x s8 -> s32 GEMM on weights packed once, for builds where oneDNN has
// no fast integer kernel (Debian's arm64 oneDNN has only a reference GEMM).
// The micro-kernel is chosen at run time from the CPU's features:
//   neon_dot  NEON SDOT (ARMv8.2 dot product: Cortex-A55/A76, Pi 5, Graviton 2+)
//   neon      NEON widening multiply-add (ARMv8.0: the Pi 4's Cortex-A72)
//   portable  plain C++ over the same packed layout (other CPUs; tests)
// The products are exact integers, so every path returns the same numbers.
// Off arm64, builds with SIMDe (Debian libsimde-dev) also run the two NEON
// kernels translated to the host's SIMD: tests check their code on x86 and
// bench/linear_bench times them there, but serving never picks them.
#ifndef ATTNSERVE_ENGINE_KERNELS_S8_GEMM_H_
#define ATTNSERVE_ENGINE_KERNELS_S8_GEMM_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace attnserve {

enum class S8GemmPath { kPortable, kNeon, kNeonDot };

// The fastest path this CPU runs natively (getauxval's HWCAP on arm64).
S8GemmPath BestS8GemmPath();
// Whether this CPU can run `path`, natively or translated by SIMDe.
bool S8GemmPathRuns(S8GemmPath path);
// Whether `path` runs on this CPU's own instructions (not translated).
bool S8GemmPathIsNative(S8GemmPath path);
std::string_view S8GemmPathName(S8GemmPath path);

class PackedS8Weights {
 public:
  // The micro-kernels' tile: kRows rows of A by kCols columns of W, k in
  // steps of kDepth (W's columns and depth are zero-padded to these).
  static constexpr int kRows = 4, kCols = 16, kDepth = 16;

  PackedS8Weights() = default;
  // w: row-major [k, n] (input-major, as PackedLinear quantises it), in
  // [-127, 127] (the NEON path sums two products in 16 bits).
  PackedS8Weights(const int8_t* w, int64_t k, int64_t n);

  // c[m, n] (rows ldc apart) = a[m, k] (rows lda apart) * W, on `path`
  // (BestS8GemmPath() by default; it must run here). Threads: the caller's
  // OpenMP thread count, over column panels.
  void Multiply(const int8_t* a, int64_t m, int64_t lda, int32_t* c, int64_t ldc) const;
  void Multiply(S8GemmPath path, const int8_t* a, int64_t m, int64_t lda, int32_t* c,
                int64_t ldc) const;

  int64_t bytes() const { return static_cast<int64_t>(panels_.size()); }

 private:
  int64_t k_ = 0, n_ = 0, k_padded_ = 0;
  // Panel p holds columns [16p, 16p + 16): for each group of 4 k, 4 blocks
  // of 4 columns, each block 4 columns x 4 k (a column's 4 k adjacent), the
  // operand layout of SDOT's by-lane form.
  std::vector<int8_t> panels_;
};

// One micro-kernel call: c[rows, cols] = a[rows, depth] * panel, with
// rows <= kRows, cols <= kCols, depth a multiple of kDepth; a's rows lda
// apart and readable for `depth` bytes.
using S8MicroKernel = void (*)(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                               const int8_t* panel, int32_t* c, int64_t ldc);
// Defined in arm64/s8_gemm_neon.cc and arm64/s8_gemm_neon_dot.cc (arm64, or
// with SIMDe elsewhere).
void S8MicroKernelNeon(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                       const int8_t* panel, int32_t* c, int64_t ldc);
void S8MicroKernelNeonDot(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                          const int8_t* panel, int32_t* c, int64_t ldc);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_S8_GEMM_H_
