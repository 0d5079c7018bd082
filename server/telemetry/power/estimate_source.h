// Power estimated from CPU load, for boards without a readable sensor:
// idle watts plus active watts per busy core. Never a measurement; its
// `estimate` label says so.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_ESTIMATE_SOURCE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_ESTIMATE_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/telemetry/power/board_profiles.h"
#include "server/telemetry/power/power_config.h"
#include "server/telemetry/power/power_source.h"
#include "server/telemetry/power/proc_stat.h"

namespace attnserve::power {

// P = idle + active_per_core x busy_cores, where busy_cores is the busy
// share of /proc/stat's ticks since the previous read times the number of
// CPUs (at most this machine's), and active_per_core = (max - idle) / the
// profile's cores (this machine's CPUs when max_watts is overridden).
// Ticks are 10 ms, so a read less than 50 ms after the previous one returns
// the previous power.
class EstimateSource : public PowerSource {
 public:
  // Profile from config.board_profile ("auto" = DetectBoardProfile), with
  // config.idle_watts / max_watts overriding it when >= 0.
  static absl::StatusOr<std::unique_ptr<EstimateSource>> Create(const PowerConfig& config);

  std::string name() const override { return "estimate"; }
  absl::StatusOr<PowerSample> Read() override;
  absl::Duration min_read_interval() const override { return absl::Milliseconds(10); }

  const BoardProfile& profile() const { return profile_; }
  double active_watts_per_core() const { return active_per_core_; }

  // Reads of /proc/stat closer together than this reuse the previous power
  // (default 50 ms: five ticks). Tests lower it.
  void set_min_stat_interval(absl::Duration d) { min_stat_interval_ = d; }

  // The estimate for `busy_cores` cores busy (clamped to [0, cpus]).
  double Watts(double busy_cores) const;

 private:
  EstimateSource(std::string proc_root, BoardProfile profile, CpuTimes first);

  std::string proc_root_;
  BoardProfile profile_;
  int cpus_ = 1;
  double active_per_core_ = 0;
  CpuTimes last_;
  absl::Time last_time_;
  double last_watts_ = 0;
  absl::Duration min_stat_interval_ = absl::Milliseconds(50);
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_ESTIMATE_SOURCE_H_
