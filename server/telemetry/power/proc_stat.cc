#include "server/telemetry/power/proc_stat.h"

#include <unistd.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/util/status_macros.h"
#include "server/telemetry/power/sysfs_file.h"

namespace attnserve::power {

absl::StatusOr<CpuTimes> ParseProcStat(absl::string_view text) {
  CpuTimes times;
  bool have_total = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "cpu")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (fields.empty()) continue;
    if (fields[0] != "cpu") {
      if (fields[0].size() > 3 && absl::ascii_isdigit(fields[0][3])) ++times.num_cpus;
      continue;
    }
    // cpu user nice system idle iowait irq softirq steal [guest guest_nice]
    if (fields.size() < 9) {
      return absl::InvalidArgumentError(
          absl::StrCat("/proc/stat: \"cpu\" line has ", fields.size() - 1, " fields, want >= 8"));
    }
    uint64_t v[8];
    for (int i = 0; i < 8; ++i) {
      if (!absl::SimpleAtoi(fields[i + 1], &v[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("/proc/stat: \"cpu\" field ", i + 1, " is not a number: ", fields[i + 1]));
      }
    }
    times.busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    times.total_ticks = times.busy_ticks + v[3] + v[4];
    have_total = true;
  }
  if (!have_total) return absl::InvalidArgumentError("/proc/stat: no \"cpu\" line");
  if (times.num_cpus == 0) times.num_cpus = 1;
  return times;
}

absl::StatusOr<CpuTimes> ReadProcStat(const std::string& proc_root) {
  std::string path = JoinPath(proc_root, "stat");
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  absl::StatusOr<CpuTimes> times = ParseProcStat(text);
  if (!times.ok()) {
    return absl::Status(times.status().code(), absl::StrCat(path, ": ", times.status().message()));
  }
  return times;
}

double SecondsPerTick() {
  static const double seconds = [] {
    long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? 1.0 / static_cast<double>(hz) : 0.01;
  }();
  return seconds;
}

}  // namespace attnserve::power
