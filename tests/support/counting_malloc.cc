#include "tests/support/counting_malloc.h"

#include <atomic>
#include <cerrno>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ATTNSERVE_COUNTING_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ATTNSERVE_COUNTING_MALLOC 0
#endif
#endif
#if !defined(ATTNSERVE_COUNTING_MALLOC) && defined(__GLIBC__)
#define ATTNSERVE_COUNTING_MALLOC 1
#elif !defined(ATTNSERVE_COUNTING_MALLOC)
#define ATTNSERVE_COUNTING_MALLOC 0
#endif

namespace attnserve::testing {
namespace {

// Constant-initialised, so counting works from the first allocation the
// dynamic loader or a static constructor makes.
std::atomic<int64_t> g_count{0};
std::atomic<void (*)()> g_before{nullptr};
std::atomic<void (*)()> g_after{nullptr};

}  // namespace

bool CountingMallocActive() { return ATTNSERVE_COUNTING_MALLOC; }
int64_t AllocationCount() { return g_count.load(std::memory_order_relaxed); }

void SetAllocationHooks(AllocationHooks hooks) {
  g_before.store(hooks.before);
  g_after.store(hooks.after);
}

// Counts one allocation and runs the hooks around `allocate`.
template <typename F>
auto Counted(F&& allocate) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  void (*before)() = g_before.load(std::memory_order_relaxed);
  if (before != nullptr) before();
  auto result = allocate();
  void (*after)() = g_after.load(std::memory_order_relaxed);
  if (after != nullptr) after();
  return result;
}

}  // namespace attnserve::testing

#if ATTNSERVE_COUNTING_MALLOC
// glibc's allocator under its exported internal names: the wrappers below
// take the public names, so every caller in the process reaches them first.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);

void* malloc(size_t size) {
  return attnserve::testing::Counted([&] { return __libc_malloc(size); });
}
void* calloc(size_t count, size_t size) {
  return attnserve::testing::Counted([&] { return __libc_calloc(count, size); });
}
void* realloc(void* ptr, size_t size) {
  return attnserve::testing::Counted([&] { return __libc_realloc(ptr, size); });
}
void* memalign(size_t alignment, size_t size) {
  return attnserve::testing::Counted([&] { return __libc_memalign(alignment, size); });
}
void* aligned_alloc(size_t alignment, size_t size) {
  return attnserve::testing::Counted([&] { return __libc_memalign(alignment, size); });
}
void* valloc(size_t size) {
  return attnserve::testing::Counted([&] { return __libc_memalign(4096, size); });
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = attnserve::testing::Counted([&] { return __libc_memalign(alignment, size); });
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"
#endif
