// Board power from hwmon sensors: INA3221 (Jetson), INA219/INA226 and other
// boards' power monitors, ACPI power meters.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_HWMON_SOURCE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_HWMON_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/telemetry/power/power_source.h"

namespace attnserve::power {

// One measured rail of one chip, e.g. "ina3221/VDD_IN".
struct HwmonChannel {
  std::string chip;          // the chip's `name` file (ina3221, ina219, ...)
  std::string label;         // powerN_label / inN_label / energyN_label, else "powerN"
  std::string power_path;    // powerN_input or powerN_average, microwatts
  std::string energy_path;   // energyN_input, microjoules
  std::string voltage_path;  // INA3221 only: inN_input, millivolts
  std::string current_path;  // INA3221 only: currN_input, milliamps
};

// Every channel under `root`/hwmon*/ that measures power or energy. Chips
// of GPUs (amdgpu, radeon, nouveau) are left out: they are not the CPU's
// power. The upstream ina3221 driver gives no power file, so its channels
// are inN_input x currN_input of the same index.
absl::StatusOr<std::vector<HwmonChannel>> ListHwmonChannels(const std::string& root);

// The channels to sum, in this order of preference:
//  1. `label` non-empty: the channels with that label (e.g. "VDD_IN");
//  2. a channel labelled VDD_IN (the Jetson module input, which already
//     contains the CPU/GPU/SoC rails beside it): that one alone;
//  3. every channel with power, summed (separate boards' monitors);
//  4. else every channel with energy, minus amd_energy's per-core "Ecore*"
//     counters, which the "Esocket*" counters already contain.
// Empty when nothing matches.
std::vector<HwmonChannel> SelectHwmonChannels(const std::vector<HwmonChannel>& all,
                                              const std::string& label);

// Sums the selected channels. Gives power when every selected channel has
// power (or V and I), energy when every one has an energy counter.
class HwmonSource : public PowerSource {
 public:
  static absl::StatusOr<std::unique_ptr<HwmonSource>> Create(const std::string& root,
                                                             const std::string& label);

  std::string name() const override { return "hwmon"; }
  absl::StatusOr<PowerSample> Read() override;
  // INA2xx/INA3221 conversions take a few ms per channel and average
  // several; a faster read returns the same value.
  absl::Duration min_read_interval() const override { return absl::Milliseconds(10); }

  const std::vector<HwmonChannel>& channels() const { return channels_; }

 private:
  explicit HwmonSource(std::vector<HwmonChannel> channels);

  std::vector<HwmonChannel> channels_;
  bool has_power_ = true;
  bool has_energy_ = true;
  std::vector<uint64_t> last_uj_;
  bool first_read_ = true;
  double total_uj_ = 0;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_HWMON_SOURCE_H_
