#include "engine/util/thread_cpu.h"

#include <time.h>

namespace attnserve {

double TeamCpuSeconds(int num_threads) {
  double total = 0;
#pragma omp parallel num_threads(num_threads) reduction(+ : total)
  {
    timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) {
      total += static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    }
  }
  return total;
}

}  // namespace attnserve
