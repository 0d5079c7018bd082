#include "server/telemetry/power/cpu_busy_clock.h"

#include "server/telemetry/power/proc_stat.h"

namespace attnserve::power {

absl::StatusOr<double> CpuBusyClock::BusySeconds() const {
  absl::StatusOr<CpuTimes> times = ReadProcStat(proc_root_);
  if (!times.ok()) return times.status();
  return static_cast<double>(times->busy_ticks) * SecondsPerTick();
}

}  // namespace attnserve::power
