// A request's share of the machine's energy: the energy over the request's
// interval times the request's share of the machine's busy CPU time. See
// docs/POWER.md for the method and its limits.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_REQUEST_ENERGY_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_REQUEST_ENERGY_H_

#include "absl/time/time.h"
#include "server/telemetry/power/cpu_busy_clock.h"
#include "server/telemetry/power/energy_meter.h"

namespace attnserve::power {

// interval_joules x request_cpu / machine_busy, in [0, interval_joules].
// machine_busy comes in 10 ms ticks while request_cpu is exact, so a
// request's CPU time is a lower bound of the machine's: when machine_busy
// is below request_cpu (zero included) the share is 1. No CPU time, or no
// energy, gives 0.
double AttributeEnergyJoules(double interval_joules, double request_cpu_seconds,
                             double machine_busy_cpu_seconds);

// Energy over [start, end] from two meter readings: the counter difference
// when the meter read its source in between; when both readings are the
// same one (a request shorter than the source's read interval), the latest
// power times the wall time, so short requests are not given zero.
double IntervalJoules(const EnergyReading& start, const EnergyReading& end, absl::Duration wall);

struct EnergySpan {
  absl::Time start;
  EnergyReading reading;
  double busy_seconds = 0;
  bool busy_ok = false;
};

// Thread-safe; one per server, shared by every request.
class RequestEnergyAttributor {
 public:
  // Neither is owned; both must outlive the attributor.
  RequestEnergyAttributor(EnergyMeter* meter, const CpuBusyClock* clock)
      : meter_(meter), clock_(clock) {}

  // Before the engine runs.
  EnergySpan BeginSpan() const;
  // After it ran: `request_cpu_seconds` is RunStats::cpu_seconds, the CPU
  // time of the threads that worked on the request. 0 when /proc/stat could
  // not be read.
  double EndSpanMillijoules(const EnergySpan& span, double request_cpu_seconds) const;

 private:
  EnergyMeter* meter_;
  const CpuBusyClock* clock_;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_REQUEST_ENERGY_H_
