#include "engine/util/float_env.h"

#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace attnserve {

#if defined(__x86_64__) || defined(__i386__)
namespace {
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bits: FTZ (15) | DAZ (6).
}
void EnableFlushToZeroInThisThread() { _mm_setcsr(_mm_getcsr() | kFtzDaz); }
bool FlushToZeroEnabledInThisThread() { return (_mm_getcsr() & kFtzDaz) == kFtzDaz; }
#elif defined(__aarch64__)
namespace {
constexpr unsigned long kFpcrFz = 1ul << 24;  // FPCR.FZ
}
void EnableFlushToZeroInThisThread() {
  unsigned long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  fpcr |= kFpcrFz;
  __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
}
bool FlushToZeroEnabledInThisThread() {
  unsigned long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return (fpcr & kFpcrFz) != 0;
}
#else
void EnableFlushToZeroInThisThread() {}
bool FlushToZeroEnabledInThisThread() { return false; }
#endif

void PrepareComputeThreads(int num_threads) {
  if (num_threads < 1) num_threads = 1;
  omp_set_num_threads(num_threads);
  EnableFlushToZeroInThisThread();
  // One thread computes on the caller alone: no region to enter (a team
  // set-up and a malloc in libgomp per call).
  if (num_threads == 1) return;
    // OpenMP pools are persistent, so this is cheap after the first call.
#pragma omp parallel num_threads(num_threads)
  EnableFlushToZeroInThisThread();
}

}  // namespace attnserve
