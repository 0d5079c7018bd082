#include "engine/kernels/s8_gemm.h"

#include <algorithm>
#include <cstring>

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace attnserve {
namespace {

constexpr int kRows = PackedS8Weights::kRows, kCols = PackedS8Weights::kCols;
constexpr int64_t kPanelGroupBytes = 4 * kCols;  // one group of 4 k for 16 columns

// Byte offset of W[kk, jl] inside its panel (jl: column within the panel).
int64_t PanelOffset(int64_t kk, int jl) {
  return (kk / 4) * kPanelGroupBytes + (jl / 4) * 16 + (jl % 4) * 4 + kk % 4;
}

// The same sums as the NEON kernels, element by element over the packed
// layout (so the packing is tested on every CPU).
void S8MicroKernelPortable(int rows, int cols, int64_t depth, const int8_t* a, int64_t lda,
                           const int8_t* panel, int32_t* c, int64_t ldc) {
  int32_t acc[kRows][kCols] = {};
  for (int64_t kk = 0; kk < depth; ++kk) {
    for (int r = 0; r < rows; ++r) {
      const int32_t x = a[r * lda + kk];
      for (int jl = 0; jl < kCols; ++jl) acc[r][jl] += x * panel[PanelOffset(kk, jl)];
    }
  }
  for (int r = 0; r < rows; ++r) std::memcpy(c + r * ldc, acc[r], cols * sizeof(int32_t));
}

// Off arm64 the NEON kernels run only as SIMDe's translation (any CPU).
#if defined(ATTNSERVE_HAVE_SIMDE) && !defined(__aarch64__)
constexpr bool kNeonTranslated = true;
#else
constexpr bool kNeonTranslated = false;
#endif

S8MicroKernel KernelFor(S8GemmPath path) {
#if defined(__aarch64__) || defined(ATTNSERVE_HAVE_SIMDE)
  if (path == S8GemmPath::kNeonDot) return S8MicroKernelNeonDot;
  if (path == S8GemmPath::kNeon) return S8MicroKernelNeon;
#endif
  (void)path;
  return S8MicroKernelPortable;
}

// Below this many multiply-adds one thread is faster than waking others.
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;

}  // namespace

bool S8GemmPathIsNative(S8GemmPath path) {
  switch (path) {
    case S8GemmPath::kPortable:
      return true;
#if defined(__aarch64__)
    case S8GemmPath::kNeon:
      return true;  // NEON (Advanced SIMD) is mandatory in ARMv8-A
    case S8GemmPath::kNeonDot:
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
      return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
      return false;
#endif
#endif
    default:
      return false;
  }
}

bool S8GemmPathRuns(S8GemmPath path) {
  return S8GemmPathIsNative(path) || (kNeonTranslated && path != S8GemmPath::kPortable);
}

S8GemmPath BestS8GemmPath() {
  static const S8GemmPath kBest = S8GemmPathIsNative(S8GemmPath::kNeonDot) ? S8GemmPath::kNeonDot
                                  : S8GemmPathIsNative(S8GemmPath::kNeon)  ? S8GemmPath::kNeon
                                                                           : S8GemmPath::kPortable;
  return kBest;
}

std::string_view S8GemmPathName(S8GemmPath path) {
  switch (path) {
    case S8GemmPath::kNeonDot:
      return "neon_dot";
    case S8GemmPath::kNeon:
      return "neon";
    case S8GemmPath::kPortable:
      break;
  }
  return "portable";
}

PackedS8Weights::PackedS8Weights(const int8_t* w, int64_t k, int64_t n)
    : k_(k), n_(n), k_padded_((k + kDepth - 1) / kDepth * kDepth) {
  const int64_t panels = (n + kCols - 1) / kCols;
  panels_.assign(panels * k_padded_ * kCols, 0);
  for (int64_t p = 0; p < panels; ++p) {
    int8_t* panel = panels_.data() + p * k_padded_ * kCols;
    const int cols = static_cast<int>(std::min<int64_t>(kCols, n - p * kCols));
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int jl = 0; jl < cols; ++jl) panel[PanelOffset(kk, jl)] = w[kk * n + p * kCols + jl];
    }
  }
}

void PackedS8Weights::Multiply(const int8_t* a, int64_t m, int64_t lda, int32_t* c,
                               int64_t ldc) const {
  Multiply(BestS8GemmPath(), a, m, lda, c, ldc);
}

void PackedS8Weights::Multiply(S8GemmPath path, const int8_t* a, int64_t m, int64_t lda, int32_t* c,
                               int64_t ldc) const {
  if (m == 0 || n_ == 0) return;
  if (k_ == 0) {
    for (int64_t r = 0; r < m; ++r) std::fill(c + r * ldc, c + r * ldc + n_, 0);
    return;
  }
  // The kernels read whole steps of depth: pad A's rows when k is not one.
  thread_local std::vector<int8_t> padded;
  if (k_padded_ != k_) {
    padded.assign(m * k_padded_, 0);
    for (int64_t r = 0; r < m; ++r) std::memcpy(&padded[r * k_padded_], a + r * lda, k_);
    a = padded.data();
    lda = k_padded_;
  }
  const S8MicroKernel kernel = KernelFor(path);
  const int64_t panels = (n_ + kCols - 1) / kCols;
  const int8_t* const packed = panels_.data();
  const int64_t depth = k_padded_, n = n_;
  // Column panels across threads: each panel (k x 16 bytes) stays in L1
  // while A's rows stream past it.
#pragma omp parallel for schedule(static) if (m * n * depth >= kMinParallelMacs)
  for (int64_t p = 0; p < panels; ++p) {
    const int cols = static_cast<int>(std::min<int64_t>(kCols, n - p * kCols));
    const int8_t* panel = packed + p * depth * kCols;
    for (int64_t r = 0; r < m; r += kRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kRows, m - r));
      kernel(rows, cols, depth, a + r * lda, lda, panel, c + r * ldc + p * kCols, ldc);
    }
  }
}

}  // namespace attnserve
