#include "server/telemetry/power/request_energy.h"

#include <algorithm>

namespace attnserve::power {

double AttributeEnergyJoules(double interval_joules, double request_cpu_seconds,
                             double machine_busy_cpu_seconds) {
  if (!(interval_joules > 0) || !(request_cpu_seconds > 0)) return 0;
  double share = machine_busy_cpu_seconds > request_cpu_seconds
                     ? request_cpu_seconds / machine_busy_cpu_seconds
                     : 1.0;
  return std::clamp(interval_joules * share, 0.0, interval_joules);
}

double IntervalJoules(const EnergyReading& start, const EnergyReading& end, absl::Duration wall) {
  if (end.time > start.time) return std::max(0.0, end.energy_joules - start.energy_joules);
  return std::max(0.0, end.power_watts * absl::ToDoubleSeconds(wall));
}

EnergySpan RequestEnergyAttributor::BeginSpan() const {
  EnergySpan span;
  span.start = absl::Now();
  span.reading = meter_->Sample();
  absl::StatusOr<double> busy = clock_->BusySeconds();
  span.busy_ok = busy.ok();
  if (busy.ok()) span.busy_seconds = *busy;
  return span;
}

double RequestEnergyAttributor::EndSpanMillijoules(const EnergySpan& span,
                                                   double request_cpu_seconds) const {
  EnergyReading end = meter_->Sample();
  absl::StatusOr<double> busy = clock_->BusySeconds();
  if (!span.busy_ok || !busy.ok()) return 0;
  double interval = IntervalJoules(span.reading, end, absl::Now() - span.start);
  return 1000.0 * AttributeEnergyJoules(interval, request_cpu_seconds, *busy - span.busy_seconds);
}

}  // namespace attnserve::power
