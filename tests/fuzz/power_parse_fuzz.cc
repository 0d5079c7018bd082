// The power sources' text parsers: `vcgencmd pmic_read_adc` output,
// /proc/stat, and /proc/self/stat (process stats). Three targets in one file
// would clash in libFuzzer mode, so this file is built once per parser with
// ATTNSERVE_POWER_PARSER set to 1, 2 or 3 (tests/fuzz/CMakeLists.txt).
#include <cmath>
#include <string>

#include "absl/strings/string_view.h"
#include "server/telemetry/power/pmic_parse.h"
#include "server/telemetry/power/proc_stat.h"
#include "server/telemetry/process_stats.h"
#include "tests/fuzz/fuzz_target.h"

#if !defined(ATTNSERVE_FUZZ_REPLAY) && !defined(ATTNSERVE_POWER_PARSER)
#error "define ATTNSERVE_POWER_PARSER"
#endif

#if defined(ATTNSERVE_FUZZ_REPLAY) || ATTNSERVE_POWER_PARSER == 1
ATTNSERVE_FUZZ_TARGET(pmic_read_adc) {
  auto reading = attnserve::power::ParsePmicReadAdc(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (reading.ok()) ATTNSERVE_FUZZ_CHECK(!reading->rails.empty());
  return 0;
}
#endif

#if defined(ATTNSERVE_FUZZ_REPLAY) || ATTNSERVE_POWER_PARSER == 2
ATTNSERVE_FUZZ_TARGET(proc_stat) {
  auto times =
      attnserve::power::ParseProcStat(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (times.ok()) ATTNSERVE_FUZZ_CHECK(times->num_cpus >= 1);
  return 0;
}
#endif

#if defined(ATTNSERVE_FUZZ_REPLAY) || ATTNSERVE_POWER_PARSER == 3
ATTNSERVE_FUZZ_TARGET(process_stat) {
  auto stats = attnserve::ParseProcStat(std::string(attnserve::fuzz::AsStringView(data, size)),
                                        100.0, 1.7e9);
  (void)stats;  // /proc is the kernel's: only memory safety is asked of the parser
  return 0;
}
#endif
