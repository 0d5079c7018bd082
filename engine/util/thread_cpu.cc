#include "engine/util/thread_cpu.h"

#include <time.h>

namespace attnserve {

namespace {

double ThisThreadCpuSeconds() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

double TeamCpuSeconds(int num_threads) {
  // A team of one is the caller: no region to enter (a team set-up and a
  // malloc in libgomp per call).
  if (num_threads <= 1) return ThisThreadCpuSeconds();
  double total = 0;
#pragma omp parallel num_threads(num_threads) reduction(+ : total)
  total += ThisThreadCpuSeconds();
  return total;
}

}  // namespace attnserve
