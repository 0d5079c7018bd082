// Counts the process's heap allocations: linking counting_malloc.cc into a
// binary interposes glibc's malloc family (malloc, calloc, realloc and the
// aligned forms; operator new and shared libraries such as oneDNN reach them
// too) with wrappers that count, then call glibc's own allocator. For tests
// that a code path allocates nothing, and for benches that time allocations.
#ifndef ATTNSERVE_TESTS_SUPPORT_COUNTING_MALLOC_H_
#define ATTNSERVE_TESTS_SUPPORT_COUNTING_MALLOC_H_

#include <cstdint>

namespace attnserve::testing {

// False where the wrappers are compiled out: sanitizer builds (ASan and TSan
// replace malloc themselves) and non-glibc systems. Counts stay 0 then.
bool CountingMallocActive();

// Allocation calls so far, all threads (realloc counts as one).
int64_t AllocationCount();

// Called around every counted allocation when set (bench timing). They run
// inside malloc, so they must not allocate.
struct AllocationHooks {
  void (*before)() = nullptr;
  void (*after)() = nullptr;
};
void SetAllocationHooks(AllocationHooks hooks);

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_SUPPORT_COUNTING_MALLOC_H_
