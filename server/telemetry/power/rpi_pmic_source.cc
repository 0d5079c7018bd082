#include "server/telemetry/power/rpi_pmic_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/util/status_macros.h"
#include "server/telemetry/power/pmic_parse.h"
#include "server/telemetry/power/run_command.h"

namespace attnserve::power {

absl::StatusOr<std::unique_ptr<RpiPmicSource>> RpiPmicSource::Create(const std::string& command,
                                                                     absl::Duration timeout) {
  std::vector<std::string> argv = absl::StrSplit(command, ' ', absl::SkipWhitespace());
  if (argv.empty()) return absl::InvalidArgumentError("empty PMIC command");
  auto source = std::unique_ptr<RpiPmicSource>(new RpiPmicSource(std::move(argv), timeout));
  RETURN_IF_ERROR(source->Read().status());
  return source;
}

absl::StatusOr<PowerSample> RpiPmicSource::Read() {
  ASSIGN_OR_RETURN(std::string output, RunCommand(argv_, timeout_));
  absl::StatusOr<PmicReading> reading = ParsePmicReadAdc(output);
  if (!reading.ok()) {
    return absl::Status(reading.status().code(), absl::StrCat("`", absl::StrJoin(argv_, " "),
                                                              "`: ", reading.status().message()));
  }
  PowerSample sample;
  sample.time = absl::Now();
  sample.power_watts = reading->watts;
  return sample;
}

}  // namespace attnserve::power
