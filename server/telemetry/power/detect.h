// Chooses the power source: the first one that can be read, in a fixed and
// documented order, or the one the operator named.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_DETECT_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_DETECT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/telemetry/power/power_config.h"
#include "server/telemetry/power/power_source.h"

namespace attnserve::power {

// source "auto": rapl, hwmon, rpi_pmic, then estimate; the first whose
// Create (which reads once) succeeds. Measured sources come first because
// they are readings; RAPL before hwmon because it is the CPU's own counter
// where it exists (x86), hwmon next (Jetson, INA boards), the PMIC last of
// the three because each read runs a process. The estimate always works
// unless /proc/stat cannot be read.
// A named source is created alone: if it fails, that is the error.
// `notes` (may be null) receives one line per source tried and skipped, with
// the reason, for the start-up log.
absl::StatusOr<std::unique_ptr<PowerSource>> DetectPowerSource(
    const PowerConfig& config, std::vector<std::string>* notes = nullptr);

// One source by name ("rapl", "hwmon", "rpi_pmic", "estimate").
absl::StatusOr<std::unique_ptr<PowerSource>> CreatePowerSource(const std::string& name,
                                                               const PowerConfig& config);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_DETECT_H_
