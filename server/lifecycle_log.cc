#include "server/lifecycle_log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnserve {

void LogEvent(const std::string& message) {
  const std::string line =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()) +
      " attnserve: " + message + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace attnserve
