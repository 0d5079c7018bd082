// Runs a command and collects its standard output, with a deadline: a
// sensor command that hangs must not hang the server.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_RUN_COMMAND_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_RUN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnserve::power {

// Runs argv[0] (searched in PATH) with argv, no shell, stdin and stderr from
// /dev/null, in its own process group. Returns stdout when it exits 0 within
// `timeout`; otherwise the whole group is killed and the error names the
// command and says why (not found, exit status, signal, timeout).
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_RUN_COMMAND_H_
