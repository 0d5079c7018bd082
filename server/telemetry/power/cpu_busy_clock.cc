#include "server/telemetry/power/cpu_busy_clock.h"

#include "absl/time/clock.h"
#include "server/telemetry/power/proc_stat.h"

namespace attnserve::power {

absl::StatusOr<double> CpuBusyClock::BusySeconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = absl::Now();
  if (now - last_read_ < min_interval_) return cached_;
  absl::StatusOr<CpuTimes> times = ReadProcStat(proc_root_);
  if (!times.ok()) {
    cached_ = times.status();
  } else {
    cached_ = static_cast<double>(times->busy_ticks) * SecondsPerTick();
  }
  last_read_ = now;
  return cached_;
}

}  // namespace attnserve::power
