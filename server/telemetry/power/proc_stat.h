// The machine's CPU time from /proc/stat, shared by the estimate and the
// per-request attribution.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_PROC_STAT_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_PROC_STAT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::power {

// Sums of the aggregate "cpu" line, in USER_HZ ticks (1/100 s on Linux).
struct CpuTimes {
  // user + nice + system + irq + softirq + steal. guest and guest_nice are
  // already inside user and nice, so they are not added again; idle and
  // iowait are not busy.
  uint64_t busy_ticks = 0;
  uint64_t total_ticks = 0;  // busy + idle + iowait
  int num_cpus = 0;          // "cpuN" lines (online CPUs)
};

// Parses /proc/stat's text; InvalidArgument when the "cpu" line is missing
// or short.
absl::StatusOr<CpuTimes> ParseProcStat(absl::string_view text);

// Reads and parses `<proc_root>/stat`.
absl::StatusOr<CpuTimes> ReadProcStat(const std::string& proc_root);

// Seconds per tick (sysconf(_SC_CLK_TCK)).
double SecondsPerTick();

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_PROC_STAT_H_
