#include "server/telemetry/power/estimate_source.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"

namespace attnserve::power {
namespace {

double BusyFraction(const CpuTimes& from, const CpuTimes& to) {
  if (to.total_ticks <= from.total_ticks || to.busy_ticks < from.busy_ticks) return -1;
  double busy = static_cast<double>(to.busy_ticks - from.busy_ticks);
  double total = static_cast<double>(to.total_ticks - from.total_ticks);
  return std::clamp(busy / total, 0.0, 1.0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EstimateSource>> EstimateSource::Create(const PowerConfig& config) {
  BoardProfile profile;
  if (config.board_profile.empty() || config.board_profile == "auto") {
    profile = DetectBoardProfile(config.proc_root);
  } else {
    ASSIGN_OR_RETURN(BoardProfile found, FindBoardProfile(config.board_profile));
    profile = found;
  }
  if (config.idle_watts >= 0) profile.idle_watts = config.idle_watts;
  // Overridden numbers describe this machine: all of its CPUs busy.
  if (config.max_watts >= 0) {
    profile.max_watts = config.max_watts;
    profile.cores = 0;
  }
  if (profile.max_watts < profile.idle_watts) {
    return absl::InvalidArgumentError(absl::StrCat("estimate: max_watts ", profile.max_watts,
                                                   " is below idle_watts ", profile.idle_watts));
  }
  ASSIGN_OR_RETURN(CpuTimes first, ReadProcStat(config.proc_root));
  return std::unique_ptr<EstimateSource>(
      new EstimateSource(config.proc_root, std::move(profile), first));
}

EstimateSource::EstimateSource(std::string proc_root, BoardProfile profile, CpuTimes first)
    : proc_root_(std::move(proc_root)), profile_(std::move(profile)), last_(first) {
  cpus_ = std::max(1, first.num_cpus);
  int cores = profile_.cores > 0 ? profile_.cores : cpus_;
  active_per_core_ = (profile_.max_watts - profile_.idle_watts) / cores;
  last_time_ = absl::Now();
  // Until there is a delta, the load since boot is the best guess.
  CpuTimes zero;
  double fraction = BusyFraction(zero, first);
  last_watts_ = Watts(std::max(0.0, fraction) * cpus_);
}

double EstimateSource::Watts(double busy_cores) const {
  return profile_.idle_watts + active_per_core_ * std::clamp(busy_cores, 0.0, double(cpus_));
}

absl::StatusOr<PowerSample> EstimateSource::Read() {
  PowerSample sample;
  sample.time = absl::Now();
  if (sample.time - last_time_ >= min_stat_interval_) {
    ASSIGN_OR_RETURN(CpuTimes now, ReadProcStat(proc_root_));
    double fraction = BusyFraction(last_, now);
    if (fraction >= 0) {  // no tick elapsed: keep the previous power
      last_watts_ = Watts(fraction * std::max(1, now.num_cpus));
      last_ = now;
      last_time_ = sample.time;
    }
  }
  sample.power_watts = last_watts_;
  return sample;
}

}  // namespace attnserve::power
