// Published idle and all-cores-busy power of the boards attnserve targets,
// for the estimate when no sensor can be read. docs/POWER.md cites where
// each number comes from and how far off it may be.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_BOARD_PROFILES_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_BOARD_PROFILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::power {

struct BoardProfile {
  std::string name;  // "rpi5"
  std::string description;
  double idle_watts = 0;  // whole board, idle
  double max_watts = 0;   // whole board, every core busy
  // CPUs (as /proc/stat counts them) busy at max_watts; (max - idle) / cores
  // is the power of one busy CPU.
  int cores = 0;
};

// The shipped table: rpi4, rpi5, jetson_orin_nano, generic_x86, generic_arm.
const std::vector<BoardProfile>& BoardProfiles();

// A profile by name; NotFound lists the known names.
absl::StatusOr<BoardProfile> FindBoardProfile(const std::string& name);

// From `<proc_root>/device-tree/model` ("Raspberry Pi 5 Model B Rev 1.0",
// "NVIDIA Jetson Orin Nano ...") or, without a device tree, `cpuinfo`'s
// architecture: generic_x86 for x86 (vendor_id), generic_arm otherwise.
BoardProfile DetectBoardProfile(const std::string& proc_root);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_BOARD_PROFILES_H_
