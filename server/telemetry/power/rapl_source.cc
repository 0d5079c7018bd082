#include "server/telemetry/power/rapl_source.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"
#include "server/telemetry/power/sysfs_file.h"

namespace attnserve::power {
namespace {

// "intel-rapl:0" yes; "intel-rapl:0:1", "intel-rapl", "intel-rapl-mmio:0" no.
bool IsTopLevelDomain(const std::string& entry) {
  constexpr absl::string_view kPrefix = "intel-rapl:";
  if (!absl::StartsWith(entry, kPrefix)) return false;
  std::string rest = entry.substr(kPrefix.size());
  return !rest.empty() && rest.find(':') == std::string::npos;
}

absl::Status WithPermissionHint(absl::Status status) {
  if (!absl::IsPermissionDenied(status)) return status;
  return absl::PermissionDeniedError(
      absl::StrCat(status.message(),
                   " (energy_uj is readable by root only since Linux 5.10; grant read "
                   "access with a udev rule or run the estimate)"));
}

}  // namespace

uint64_t CounterDelta(uint64_t last, uint64_t now, uint64_t max_range) {
  if (now >= last) return now - last;
  if (max_range == 0 || last > max_range) return now;
  return (max_range - last) + now;
}

absl::StatusOr<std::unique_ptr<RaplSource>> RaplSource::Create(const std::string& root) {
  ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDir(root));
  std::vector<Domain> domains;
  std::vector<std::string> skipped;
  for (const std::string& entry : entries) {
    if (!IsTopLevelDomain(entry)) continue;
    std::string dir = JoinPath(root, entry);
    std::string name = ReadLabel(JoinPath(dir, "name"));
    if (!absl::StartsWith(name, "package")) {
      skipped.push_back(absl::StrCat(entry, " (", name.empty() ? "no name" : name, ")"));
      continue;
    }
    Domain domain;
    domain.energy_path = JoinPath(dir, "energy_uj");
    absl::StatusOr<uint64_t> range = ReadUint64File(JoinPath(dir, "max_energy_range_uj"));
    if (!range.ok()) return WithPermissionHint(range.status());
    domain.max_range_uj = *range;
    absl::StatusOr<uint64_t> now = ReadUint64File(domain.energy_path);
    if (!now.ok()) return WithPermissionHint(now.status());
    domain.last_uj = *now;
    domains.push_back(std::move(domain));
  }
  if (domains.empty()) {
    std::string message =
        absl::StrCat("no RAPL package domain (", root, "/intel-rapl:N with name package-*)");
    if (!skipped.empty()) absl::StrAppend(&message, "; skipped ", skipped.front());
    return absl::NotFoundError(message);
  }
  return std::unique_ptr<RaplSource>(new RaplSource(std::move(domains)));
}

absl::StatusOr<PowerSample> RaplSource::Read() {
  PowerSample sample;
  sample.time = absl::Now();
  // Read every domain before updating any, so a failure leaves state intact.
  std::vector<uint64_t> now(domains_.size());
  for (size_t i = 0; i < domains_.size(); ++i) {
    absl::StatusOr<uint64_t> value = ReadUint64File(domains_[i].energy_path);
    if (!value.ok()) return WithPermissionHint(value.status());
    now[i] = *value;
  }
  for (size_t i = 0; i < domains_.size(); ++i) {
    total_uj_ +=
        static_cast<double>(CounterDelta(domains_[i].last_uj, now[i], domains_[i].max_range_uj));
    domains_[i].last_uj = now[i];
  }
  sample.energy_joules = total_uj_ * 1e-6;
  return sample;
}

}  // namespace attnserve::power
