// The machine's load, printed beside benchmark figures: the cores are shared,
// and a figure taken under load says so.
#ifndef ATTNSERVE_BENCH_LOAD_AVERAGE_H_
#define ATTNSERVE_BENCH_LOAD_AVERAGE_H_

#include <fstream>
#include <string>

namespace attnserve {

// "0.52 (1 min), 0.61 (5 min)", or "unknown" without /proc/loadavg.
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return in ? one + " (1 min), " + five + " (5 min)" : "unknown";
}

}  // namespace attnserve

#endif  // ATTNSERVE_BENCH_LOAD_AVERAGE_H_
