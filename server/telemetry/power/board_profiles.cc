#include "server/telemetry/power/board_profiles.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/telemetry/power/sysfs_file.h"

namespace attnserve::power {

const std::vector<BoardProfile>& BoardProfiles() {
  // Sources and uncertainty: docs/POWER.md, "Board profiles".
  static const std::vector<BoardProfile> kProfiles = {
      {"rpi4", "Raspberry Pi 4 Model B", 2.7, 6.4, 4},
      {"rpi5", "Raspberry Pi 5", 3.0, 7.5, 4},
      {"jetson_orin_nano", "NVIDIA Jetson Orin Nano (15 W mode)", 5.0, 11.0, 6},
      // 65 W TDP desktop part, 8 cores / 16 threads: per busy logical CPU.
      {"generic_x86", "x86-64, 65 W TDP class, 16 logical CPUs", 10.0, 65.0, 16},
      {"generic_arm", "Arm single-board computer, 4 cores", 2.0, 6.0, 4},
  };
  return kProfiles;
}

absl::StatusOr<BoardProfile> FindBoardProfile(const std::string& name) {
  std::vector<std::string> names;
  for (const BoardProfile& p : BoardProfiles()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  return absl::NotFoundError(
      absl::StrCat("unknown board profile \"", name, "\"; known: ", absl::StrJoin(names, ", ")));
}

BoardProfile DetectBoardProfile(const std::string& proc_root) {
  // The device-tree model ends with a NUL.
  std::string model = ReadLabel(JoinPath(proc_root, "device-tree/model"));
  std::string profile;
  if (absl::StrContains(model, "Raspberry Pi 5") || absl::StrContains(model, "Compute Module 5")) {
    profile = "rpi5";
  } else if (absl::StrContains(model, "Raspberry Pi 4") ||
             absl::StrContains(model, "Compute Module 4")) {
    profile = "rpi4";
  } else if (absl::StrContains(model, "Orin Nano")) {
    profile = "jetson_orin_nano";
  } else if (!model.empty()) {
    profile = "generic_arm";
  } else {
    absl::StatusOr<std::string> cpuinfo = ReadSmallFile(JoinPath(proc_root, "cpuinfo"));
    bool x86 = cpuinfo.ok() && (absl::StrContains(*cpuinfo, "GenuineIntel") ||
                                absl::StrContains(*cpuinfo, "AuthenticAMD") ||
                                absl::StrContains(*cpuinfo, "vendor_id"));
#if defined(__x86_64__) || defined(__i386__)
    if (!cpuinfo.ok()) x86 = true;
#endif
    profile = x86 ? "generic_x86" : "generic_arm";
  }
  return *FindBoardProfile(profile);
}

}  // namespace attnserve::power
