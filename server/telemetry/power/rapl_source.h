// CPU package energy from the Linux powercap RAPL tree (Intel, and AMD Zen
// whose RAPL the kernel exposes under the same intel-rapl control type).
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_RAPL_SOURCE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_RAPL_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/telemetry/power/power_source.h"

namespace attnserve::power {

// Sums the top-level package domains `<root>/intel-rapl:N` whose name starts
// with "package". Subdomains (`intel-rapl:N:M`: core, uncore, dram) lie
// inside their package and "psys" covers the packages too, so both are left
// out to avoid double counting; `intel-rapl-mmio:*` duplicates a package.
// energy_uj wraps at max_energy_range_uj; each domain's wrap is undone here.
// Gives energy only (power is the meter's difference of energies).
class RaplSource : public PowerSource {
 public:
  // Finds the package domains and reads them once; NotFound when there are
  // none, PermissionDenied when energy_uj is root-only (Linux >= 5.10).
  static absl::StatusOr<std::unique_ptr<RaplSource>> Create(const std::string& root);

  std::string name() const override { return "rapl"; }
  absl::StatusOr<PowerSample> Read() override;

 private:
  struct Domain {
    std::string energy_path;
    uint64_t max_range_uj = 0;
    uint64_t last_uj = 0;
  };
  explicit RaplSource(std::vector<Domain> domains) : domains_(std::move(domains)) {}

  std::vector<Domain> domains_;
  double total_uj_ = 0;  // accumulated deltas since Create
};

// Microjoules the counter advanced from `last` to `now`, for a counter that
// wraps to 0 after `max_range` (max_range 0 = unknown: a decrease reads as a
// restart from 0).
uint64_t CounterDelta(uint64_t last, uint64_t now, uint64_t max_range);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_RAPL_SOURCE_H_
