// The most OpenMP threads an engine run started on this thread may use. The
// server's admission workers set it, per run, to the CPUs the other runs in
// flight leave free (server/admission_queue.h): one run alone gets the whole
// CPU budget, concurrent runs share it, so workers x threads never exceeds
// the box. 0 (the default): no cap, for tools, tests and direct engine users.
#ifndef ATTNSERVE_ENGINE_UTIL_RUN_THREAD_CAP_H_
#define ATTNSERVE_ENGINE_UTIL_RUN_THREAD_CAP_H_

namespace attnserve {

namespace internal {
inline thread_local int run_thread_cap = 0;
}  // namespace internal

inline int RunThreadCap() { return internal::run_thread_cap; }

// Sets the calling thread's cap for its lifetime, then restores the old one.
class ScopedRunThreadCap {
 public:
  explicit ScopedRunThreadCap(int cap) : previous_(internal::run_thread_cap) {
    internal::run_thread_cap = cap;
  }
  ~ScopedRunThreadCap() { internal::run_thread_cap = previous_; }
  ScopedRunThreadCap(const ScopedRunThreadCap&) = delete;
  ScopedRunThreadCap& operator=(const ScopedRunThreadCap&) = delete;

 private:
  int previous_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_RUN_THREAD_CAP_H_
