// How many CPUs this process may really use: the online CPUs, narrowed by
// the affinity mask (taskset, cpusets) and by a cgroup CPU quota (a
// container's --cpus or Kubernetes limit: cgroup v2 `cpu.max`, v1
// `cpu.cfs_quota_us` / `cpu.cfs_period_us`). std::thread::hardware_concurrency
// sees only the first; sizing workers by it on a large node under a small
// limit oversubscribes the quota and the kernel throttles every thread.
#ifndef ATTNSERVE_ENGINE_UTIL_CPU_BUDGET_H_
#define ATTNSERVE_ENGINE_UTIL_CPU_BUDGET_H_

#include <string>

namespace attnserve {

struct CpuBudget {
  int cpus = 1;            // what to size by: min(online, affinity, floor(quota)), at least 1
  int online = 1;          // std::thread::hardware_concurrency()
  int affinity = 0;        // CPUs in this thread's affinity mask (0: unknown)
  double quota = 0;        // the tightest cgroup CPU quota, in CPUs (0: none)
  std::string quota_file;  // where the quota was read ("" when none)

  // One line for the start-up log, e.g. "2 CPUs (2 online, affinity 2,
  // cgroup v1 quota 1.5 CPUs in /sys/fs/cgroup/cpu/cpu.cfs_quota_us)".
  std::string Describe() const;
};

// Reads the budget of the calling thread. `root` prefixes /proc and /sys (a
// fake tree in tests); "" reads the real ones. Unreadable or malformed cgroup
// files count as "no quota": the budget never fails, it only narrows.
CpuBudget ReadCpuBudget(const std::string& root = "");

// The cgroup quota in CPUs from a v2 `cpu.max` ("max 100000" -> 0,
// "150000 100000" -> 1.5) or v1 quota and period files ("-1" -> 0); 0 when
// there is none or the text is malformed.
double QuotaFromCpuMax(const std::string& text);
double QuotaFromCfs(const std::string& quota_us, const std::string& period_us);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_CPU_BUDGET_H_
