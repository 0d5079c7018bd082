#include "server/telemetry/power/detect.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/telemetry/power/estimate_source.h"
#include "server/telemetry/power/hwmon_source.h"
#include "server/telemetry/power/rapl_source.h"
#include "server/telemetry/power/rpi_pmic_source.h"

namespace attnserve::power {
namespace {

template <typename T>
absl::StatusOr<std::unique_ptr<PowerSource>> Upcast(absl::StatusOr<std::unique_ptr<T>> s) {
  if (!s.ok()) return s.status();
  return std::unique_ptr<PowerSource>(std::move(*s));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PowerSource>> CreatePowerSource(const std::string& name,
                                                               const PowerConfig& config) {
  if (name == "rapl") return Upcast(RaplSource::Create(config.powercap_root));
  if (name == "hwmon") return Upcast(HwmonSource::Create(config.hwmon_root, config.hwmon_label));
  if (name == "rpi_pmic") {
    return Upcast(RpiPmicSource::Create(config.pmic_command, config.pmic_timeout));
  }
  if (name == "estimate") return Upcast(EstimateSource::Create(config));
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown power source \"", name, "\"; want auto, rapl, hwmon, rpi_pmic or estimate"));
}

absl::StatusOr<std::unique_ptr<PowerSource>> DetectPowerSource(const PowerConfig& config,
                                                               std::vector<std::string>* notes) {
  if (!config.source.empty() && config.source != "auto") {
    return CreatePowerSource(config.source, config);
  }
  for (const char* name : {"rapl", "hwmon", "rpi_pmic", "estimate"}) {
    absl::StatusOr<std::unique_ptr<PowerSource>> source = CreatePowerSource(name, config);
    if (source.ok()) return source;
    if (notes != nullptr) notes->push_back(absl::StrCat(name, ": ", source.status().message()));
    if (std::string(name) == "estimate") return source.status();
  }
  return absl::InternalError("unreachable");
}

}  // namespace attnserve::power
