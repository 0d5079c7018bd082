// Raspberry Pi 5 board power from its PMIC's ADCs (`vcgencmd pmic_read_adc`).
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_RPI_PMIC_SOURCE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_RPI_PMIC_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/telemetry/power/power_source.h"

namespace attnserve::power {

// Power = sum over the PMIC's rails of V x I (see pmic_parse.h). The PMIC
// sees its own output rails, not the 5 V input: USB devices, the fan and
// conversion losses are not in it, so it reads below a meter at the plug.
// Each read runs the command (a process, tens of ms), hence the long
// min_read_interval.
class RpiPmicSource : public PowerSource {
 public:
  // `command` is split on spaces; Create runs it once and parses the output.
  static absl::StatusOr<std::unique_ptr<RpiPmicSource>> Create(const std::string& command,
                                                               absl::Duration timeout);

  std::string name() const override { return "rpi_pmic"; }
  absl::StatusOr<PowerSample> Read() override;
  absl::Duration min_read_interval() const override { return absl::Milliseconds(200); }

 private:
  RpiPmicSource(std::vector<std::string> argv, absl::Duration timeout)
      : argv_(std::move(argv)), timeout_(timeout) {}

  std::vector<std::string> argv_;
  absl::Duration timeout_;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_RPI_PMIC_SOURCE_H_
