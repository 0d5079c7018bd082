#include "engine/util/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace attnserve {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// One cgroup mount from /proc/self/mountinfo: where it is mounted, which
// cgroup directory its root is, and whether it is v2 or a v1 hierarchy
// carrying the cpu controller.
struct CgroupMount {
  std::string mount_point;
  std::string root;
  bool v2 = false;
};

std::vector<CgroupMount> CpuCgroupMounts(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu"
    const std::vector<absl::string_view> halves = absl::StrSplit(line, " - ");
    if (halves.size() != 2) continue;
    const std::vector<absl::string_view> left = absl::StrSplit(halves[0], ' ');
    const std::vector<absl::string_view> right = absl::StrSplit(halves[1], ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    CgroupMount m;
    m.root = std::string(left[3]);
    m.mount_point = std::string(left[4]);
    if (right[0] == "cgroup2") {
      m.v2 = true;
    } else if (right[0] == "cgroup") {
      bool cpu = false;
      for (absl::string_view option : absl::StrSplit(right[2], ',')) cpu |= option == "cpu";
      if (!cpu) continue;
    } else {
      continue;
    }
    mounts.push_back(m);
  }
  return mounts;
}

// This process's cgroup path for the v2 hierarchy ("0::/path") or for the v1
// hierarchy that lists "cpu" among its controllers.
std::string CgroupPath(const std::string& proc_cgroup, bool v2) {
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n')) {
    const std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (v2 && f[0] == "0" && f[1].empty()) return std::string(f[2]);
    if (!v2) {
      for (absl::string_view c : absl::StrSplit(f[1], ',')) {
        if (c == "cpu") return std::string(f[2]);
      }
    }
  }
  return "";
}

// The quota applies at every level up to the mount's root: the tightest wins.
void TightestQuota(const std::string& root, const CgroupMount& m, const std::string& cgroup,
                   CpuBudget* budget) {
  std::string relative = cgroup;
  if (m.root != "/" && absl::StartsWith(relative, m.root))
    relative = relative.substr(m.root.size());
  std::string dir = root + m.mount_point + (relative == "/" ? "" : relative);
  const std::string top = root + m.mount_point;
  for (;;) {
    double quota = 0;
    std::string file;
    if (m.v2) {
      file = dir + "/cpu.max";
      quota = QuotaFromCpuMax(ReadFile(file));
    } else {
      file = dir + "/cpu.cfs_quota_us";
      quota = QuotaFromCfs(ReadFile(file), ReadFile(dir + "/cpu.cfs_period_us"));
    }
    if (quota > 0 && (budget->quota == 0 || quota < budget->quota)) {
      budget->quota = quota;
      budget->quota_file = file.substr(root.size());
    }
    if (dir.size() <= top.size()) break;
    dir = dir.substr(0, dir.rfind('/'));
  }
}

}  // namespace

double QuotaFromCpuMax(const std::string& text) {
  const std::vector<std::string> f = absl::StrSplit(text, ' ', absl::SkipEmpty());
  double quota = 0, period = 0;
  if (f.size() != 2 || f[0] == "max" || !absl::SimpleAtod(f[0], &quota) ||
      !absl::SimpleAtod(f[1], &period) || quota <= 0 || period <= 0) {
    return 0;
  }
  return quota / period;
}

double QuotaFromCfs(const std::string& quota_us, const std::string& period_us) {
  double quota = 0, period = 0;
  if (!absl::SimpleAtod(quota_us, &quota) || !absl::SimpleAtod(period_us, &period) || quota <= 0 ||
      period <= 0) {
    return 0;
  }
  return quota / period;
}

CpuBudget ReadCpuBudget(const std::string& root) {
  CpuBudget budget;
  budget.online = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) budget.affinity = CPU_COUNT(&set);

  const std::string proc_cgroup = ReadFile(root + "/proc/self/cgroup");
  for (const CgroupMount& m : CpuCgroupMounts(ReadFile(root + "/proc/self/mountinfo"))) {
    const std::string path = CgroupPath(proc_cgroup, m.v2);
    if (!path.empty()) TightestQuota(root, m, path, &budget);
  }

  budget.cpus = budget.online;
  if (budget.affinity > 0) budget.cpus = std::min(budget.cpus, budget.affinity);
  if (budget.quota > 0) {
    budget.cpus = std::min(budget.cpus, static_cast<int>(std::floor(budget.quota)));
  }
  budget.cpus = std::max(1, budget.cpus);
  return budget;
}

std::string CpuBudget::Describe() const {
  char quota_text[32];
  std::snprintf(quota_text, sizeof(quota_text), "%.2f", quota);
  return absl::StrCat(cpus, " CPU", cpus == 1 ? "" : "s", " (", online, " online, affinity ",
                      affinity > 0 ? absl::StrCat(affinity) : std::string("unknown"), ", ",
                      quota > 0 ? absl::StrCat("cgroup quota ", quota_text, " CPUs in ", quota_file)
                                : std::string("no cgroup CPU quota"),
                      ")");
}

}  // namespace attnserve
