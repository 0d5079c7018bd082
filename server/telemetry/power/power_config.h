// How the power sources are chosen and where they read from. The server maps
// its own config onto this; tests point the roots at fake trees.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_CONFIG_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_CONFIG_H_

#include <string>

#include "absl/time/time.h"

namespace attnserve::power {

struct PowerConfig {
  // "auto" (rapl, hwmon, rpi_pmic, then estimate) or one of those names; a
  // named source that cannot be read is an error, not a silent estimate.
  std::string source = "auto";

  // Linux powercap tree (RAPL, Intel and AMD).
  std::string powercap_root = "/sys/class/powercap";

  // hwmon tree, and the label of the channel to use ("" = the default
  // selection: VDD_IN when present, else every power channel summed).
  std::string hwmon_root = "/sys/class/hwmon";
  std::string hwmon_label;

  // Command printing the Raspberry Pi 5 PMIC ADCs, split on spaces, run
  // without a shell; killed after `pmic_timeout`.
  std::string pmic_command = "vcgencmd pmic_read_adc";
  absl::Duration pmic_timeout = absl::Seconds(2);

  // Holds stat, cpuinfo and device-tree/model.
  std::string proc_root = "/proc";

  // Estimate profile: "auto" (from the device-tree model or cpuinfo) or a
  // name from board_profiles.h ("rpi4", "rpi5", "jetson_orin_nano",
  // "generic_x86", "generic_arm").
  std::string board_profile = "auto";
  // Overrides of the profile's numbers when >= 0 (e.g. from a meter at the
  // plug): idle, and all of this machine's CPUs busy.
  double idle_watts = -1;
  double max_watts = -1;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_CONFIG_H_
