// Busy CPU seconds of the whole machine, the denominator of a request's
// share of the energy.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace attnserve::power {

// Sum over all CPUs of user + nice + system + irq + softirq + steal time
// (see proc_stat.h), from `<proc_root>/stat`, in seconds. Every process
// counts, not just this one: that is the point (a request's share of the
// machine's work). Resolution is one tick (10 ms) per CPU. Thread-safe.
class CpuBusyClock {
 public:
  explicit CpuBusyClock(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}

  absl::StatusOr<double> BusySeconds() const;

 private:
  std::string proc_root_;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_
