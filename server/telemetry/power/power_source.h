// What a power or energy sensor gives, behind one interface, so that the
// meter and the metrics do not care whether a reading comes from a RAPL
// counter, a hwmon sensor, the Raspberry Pi 5 PMIC or an estimate.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_SOURCE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_SOURCE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnserve::power {

// One reading. A source fills what it has: a cumulative energy counter, an
// instantaneous power, or both.
struct PowerSample {
  absl::Time time;
  // Joules since the source's first Read(); never decreases (counter
  // wrap-around is handled inside the source).
  std::optional<double> energy_joules;
  // Watts now (a sensor's instantaneous value or the source's own average
  // since its previous read).
  std::optional<double> power_watts;
};

// Not thread-safe: EnergyMeter serialises the calls.
class PowerSource {
 public:
  virtual ~PowerSource() = default;

  // "rapl", "hwmon", "rpi_pmic" or "estimate": the metrics' `source` label,
  // so that an estimate is never mistaken for a reading.
  virtual std::string name() const = 0;

  // Errors name the file or command and what was wrong with it.
  virtual absl::StatusOr<PowerSample> Read() = 0;

  // Reading more often than this gives no new information (the sensor's
  // update rate) or costs too much (a process per read); EnergyMeter reuses
  // the previous reading inside this interval.
  virtual absl::Duration min_read_interval() const { return absl::Milliseconds(1); }
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_POWER_SOURCE_H_
