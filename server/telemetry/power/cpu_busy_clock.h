// Busy CPU seconds of the whole machine, the denominator of a request's
// share of the energy.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_

#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnserve::power {

// Sum over all CPUs of user + nice + system + irq + softirq + steal time
// (see proc_stat.h), from `<proc_root>/stat`, in seconds. Every process
// counts, not just this one: that is the point (a request's share of the
// machine's work). Resolution is one tick (10 ms) per CPU, so the file is
// read at most once per `min_interval` and the value reused in between:
// reading it for every request cost ~5% of a 16-token request's latency and
// bought no resolution. Thread-safe.
class CpuBusyClock {
 public:
  explicit CpuBusyClock(std::string proc_root = "/proc",
                        absl::Duration min_interval = absl::Milliseconds(10))
      : proc_root_(std::move(proc_root)), min_interval_(min_interval) {}

  absl::StatusOr<double> BusySeconds() const;

 private:
  std::string proc_root_;
  absl::Duration min_interval_;
  mutable std::mutex mu_;
  mutable absl::Time last_read_ = absl::InfinitePast();
  mutable absl::StatusOr<double> cached_ = 0.0;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_CPU_BUSY_CLOCK_H_
