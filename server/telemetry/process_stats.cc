#include "server/telemetry/process_stats.h"

#include <unistd.h>

#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"

namespace attnserve {

absl::StatusOr<ProcessStats> ParseProcStat(const std::string& stat, double ticks_per_second,
                                           double boot_time_seconds) {
  // Fields after the command name, which ends at the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::InvalidArgumentError("stat: no ')' after comm");
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 1), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state); utime = field 14, stime 15, num_threads 20, starttime 22.
  if (f.size() < 20) return absl::InvalidArgumentError("stat: too few fields");
  double utime = 0, stime = 0, start = 0;
  int threads = 0;
  if (!absl::SimpleAtod(f[11], &utime) || !absl::SimpleAtod(f[12], &stime) ||
      !absl::SimpleAtoi(f[17], &threads) || !absl::SimpleAtod(f[19], &start)) {
    return absl::InvalidArgumentError("stat: non-numeric fields");
  }
  ProcessStats s;
  s.cpu_seconds = (utime + stime) / ticks_per_second;
  s.threads = threads;
  s.start_time_seconds = boot_time_seconds + start / ticks_per_second;
  return s;
}

namespace {

// "VmRSS:	  123456 kB" -> bytes.
int64_t StatusKilobytes(const std::string& status, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::StartsWith(line, key)) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kb = 0;
    for (absl::string_view p : parts) {
      if (absl::SimpleAtoi(p, &kb)) return kb * 1024;
    }
  }
  return 0;
}

double BootTimeSeconds(const std::string& proc_root) {
  absl::StatusOr<std::string> stat = ReadFileToString(proc_root + "/stat", 1 << 20);
  if (!stat.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    if (absl::StartsWith(line, "btime ")) {
      double btime = 0;
      if (absl::SimpleAtod(line.substr(6), &btime)) return btime;
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<ProcessStats> ReadProcessStats(const std::string& proc_root) {
  // /proc files report size 0, so read them with a stream.
  ASSIGN_OR_RETURN(std::string stat, ReadFileToString(proc_root + "/self/stat", 1 << 20));
  static const double boot = BootTimeSeconds(proc_root);
  absl::StatusOr<ProcessStats> s =
      ParseProcStat(stat, static_cast<double>(sysconf(_SC_CLK_TCK)), boot);
  if (!s.ok()) return s;
  absl::StatusOr<std::string> status = ReadFileToString(proc_root + "/self/status", 1 << 20);
  if (status.ok()) {
    s->resident_bytes = StatusKilobytes(*status, "VmRSS:");
    s->virtual_bytes = StatusKilobytes(*status, "VmSize:");
  }
  return s;
}

}  // namespace attnserve
