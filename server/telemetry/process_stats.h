// The process's own CPU time, memory and threads, read from /proc (the
// Prometheus C++ client has no process collector).
#ifndef ATTNSERVE_SERVER_TELEMETRY_PROCESS_STATS_H_
#define ATTNSERVE_SERVER_TELEMETRY_PROCESS_STATS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace attnserve {

struct ProcessStats {
  double cpu_seconds = 0;      // user + system
  int64_t resident_bytes = 0;  // VmRSS
  int64_t virtual_bytes = 0;   // VmSize
  int threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads <proc_root>/self/stat and /self/status (proc_root: "/proc" normally).
absl::StatusOr<ProcessStats> ReadProcessStats(const std::string& proc_root = "/proc");

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and
// parentheses) given the clock tick rate and the boot time (seconds since epoch).
absl::StatusOr<ProcessStats> ParseProcStat(const std::string& stat, double ticks_per_second,
                                           double boot_time_seconds);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_TELEMETRY_PROCESS_STATS_H_
