// Hand-overs ThreadSanitizer can see, for objects that cross gRPC's threads.
//
// gRPC, Abseil and protobuf come from Debian, built without -fsanitize=thread:
// the synchronisation that orders a handler's writes before gRPC's completion
// thread reads them (and a completion's before the next callback) is
// invisible to TSan. Publish(object) on the thread that hands `object` to
// gRPC, and Adopt(object) on the thread that gets it back, state that order
// explicitly (the release/acquire pair gRPC performs internally), so that
// scripts/tsan.supp need not suppress every report below a gRPC frame.
// Outside TSan builds both are empty.
#ifndef ATTNSERVE_SERVER_TSAN_HANDOVER_H_
#define ATTNSERVE_SERVER_TSAN_HANDOVER_H_

#if defined(__SANITIZE_THREAD__)
#define ATTNSERVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ATTNSERVE_TSAN 1
#endif
#endif

#if defined(ATTNSERVE_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace attnserve::tsan {

// Everything this thread wrote so far happens-before what a thread does
// after Adopt(object).
inline void Publish(const void* object) {
#if defined(ATTNSERVE_TSAN)
  __tsan_release(const_cast<void*>(object));
#else
  (void)object;
#endif
}

inline void Adopt(const void* object) {
#if defined(ATTNSERVE_TSAN)
  __tsan_acquire(const_cast<void*>(object));
#else
  (void)object;
#endif
}

}  // namespace attnserve::tsan

#endif  // ATTNSERVE_SERVER_TSAN_HANDOVER_H_
