// Power and cumulative energy from one source, for the metrics and the
// per-request attribution, surviving the source's failure.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_ENERGY_METER_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_ENERGY_METER_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "server/telemetry/power/power_source.h"

namespace attnserve::power {

struct EnergyReading {
  absl::Time time;           // when the source was last read
  double power_watts = 0;    // latest power
  double energy_joules = 0;  // since the meter started, all sources together
  // Since `source` became the active one: the value for a counter labelled
  // with the source, which starts at 0 when the label appears.
  double source_energy_joules = 0;
  std::string source;  // "rapl", "hwmon", "rpi_pmic", "estimate"
};

// Thread-safe. Energy comes from the source's counter when it has one
// (power is then the counter's rate between reads unless the source gives
// power too), else it is the trapezoid integral of the source's power.
// A source read more often than its min_read_interval() is not read again:
// the previous reading is returned (with its own time).
// When the source fails (file gone, unreadable, command hung), the meter
// switches for good to `fallback` (the estimate), tells `log` once, and
// carries on from the energy it had. If the fallback fails too, the last
// power is held and integrated, and that is logged once as well.
class EnergyMeter {
 public:
  using Logger = std::function<void(const std::string&)>;

  // `fallback` may be null (then a failing source's last power is held).
  // `log` may be empty. `now` is for tests (default absl::Now).
  EnergyMeter(std::unique_ptr<PowerSource> source, std::unique_ptr<PowerSource> fallback,
              Logger log, std::function<absl::Time()> now = {});
  ~EnergyMeter();

  EnergyMeter(const EnergyMeter&) = delete;
  EnergyMeter& operator=(const EnergyMeter&) = delete;

  // Reads the source if due (see above) and returns the meter's state. After
  // StartBackgroundSampling it never reads: it returns the latest reading
  // of the background thread, so a request never waits for a slow source.
  EnergyReading Sample();

  // Reads the source every `interval` on a thread of its own until the meter
  // is destroyed. Use it with rpi_pmic, whose reads run a process (tens of
  // ms, up to the command's timeout), so that no request pays for them.
  void StartBackgroundSampling(absl::Duration interval);

  std::string source_name() const;

 private:
  EnergyReading SampleSource();
  // Reads `source_`, switching to the fallback on failure. Needs mu_.
  std::optional<PowerSample> ReadLocked();
  void Log(const std::string& message);

  mutable std::mutex mu_;
  std::unique_ptr<PowerSource> source_;
  std::unique_ptr<PowerSource> fallback_;
  Logger log_;
  std::function<absl::Time()> now_;
  bool fallback_failed_logged_ = false;

  bool have_reading_ = false;
  absl::Time last_read_attempt_;
  std::optional<double> last_source_energy_;  // the source's own counter
  EnergyReading reading_;

  // Background mode: the thread's latest reading, under its own mutex so
  // that Sample() never waits on a source read.
  mutable std::mutex snapshot_mu_;
  std::condition_variable stop_cv_;
  bool background_ = false;
  bool stop_ = false;
  EnergyReading snapshot_;
  std::thread thread_;
};

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_ENERGY_METER_H_
