// CPU time of the threads that work on a run, for per-request energy.
#ifndef ATTNSERVE_ENGINE_UTIL_THREAD_CPU_H_
#define ATTNSERVE_ENGINE_UTIL_THREAD_CPU_H_

namespace attnserve {

// Sum of the per-thread CPU seconds of the calling thread's OpenMP team of
// `num_threads` (the caller included). GOMP keeps a master's team between
// parallel regions of the same size, so the difference of two calls around a
// run is the CPU time the run's threads spent, whatever else the process does.
double TeamCpuSeconds(int num_threads);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_THREAD_CPU_H_
