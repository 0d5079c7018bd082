// The Raspberry Pi 5 PMIC's ADC report (`vcgencmd pmic_read_adc`), parsed
// into rails, apart from running the command so that it can be tested on
// captured output.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_PMIC_PARSE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_PMIC_PARSE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::power {

struct PmicRail {
  std::string name;  // "VDD_CORE"
  double volts = 0;
  double amps = 0;
};

struct PmicReading {
  std::vector<PmicRail> rails;  // rails with both a current and a voltage, by name
  double watts = 0;             // sum of volts * amps over `rails`
};

// Lines look like
//     VDD_CORE_A current(7)=0.75012000A
//     VDD_CORE_V volt(15)=0.86173300V
// A rail's current and voltage pair by name (NAME_A with NAME_V), not by the
// ADC index in parentheses, which differs. Rails with a voltage only
// (EXT5V_V: the 5 V input, BATT_V: the RTC cell) carry no power and are left
// out, as are lines that do not parse or read "nan". InvalidArgument when no
// rail pairs (e.g. `error=1 error_msg="Command not registered"` on a Pi 4).
absl::StatusOr<PmicReading> ParsePmicReadAdc(absl::string_view output);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_PMIC_PARSE_H_
