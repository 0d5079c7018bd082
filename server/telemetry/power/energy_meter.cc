#include "server/telemetry/power/energy_meter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace attnserve::power {

EnergyMeter::EnergyMeter(std::unique_ptr<PowerSource> source, std::unique_ptr<PowerSource> fallback,
                         Logger log, std::function<absl::Time()> now)
    : source_(std::move(source)),
      fallback_(std::move(fallback)),
      log_(std::move(log)),
      now_(now ? std::move(now) : [] { return absl::Now(); }) {
  reading_.source = source_ ? source_->name() : "none";
}

EnergyMeter::~EnergyMeter() {
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EnergyMeter::StartBackgroundSampling(absl::Duration interval) {
  EnergyReading first = SampleSource();
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  if (background_) return;
  snapshot_ = first;
  background_ = true;
  thread_ = std::thread([this, interval] {
    const auto period = absl::ToChronoMilliseconds(std::max(interval, absl::Milliseconds(1)));
    std::unique_lock<std::mutex> lock(snapshot_mu_);
    while (!stop_cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      EnergyReading r = SampleSource();
      lock.lock();
      snapshot_ = std::move(r);
    }
  });
}

EnergyReading EnergyMeter::Sample() {
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    if (background_) return snapshot_;
  }
  return SampleSource();
}

std::string EnergyMeter::source_name() const {
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    if (background_) return snapshot_.source;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return reading_.source;
}

void EnergyMeter::Log(const std::string& message) {
  if (log_) log_(message);
}

std::optional<PowerSample> EnergyMeter::ReadLocked() {
  if (source_ == nullptr) return std::nullopt;
  absl::StatusOr<PowerSample> sample = source_->Read();
  if (sample.ok()) return *sample;
  if (fallback_ == nullptr) {
    if (!fallback_failed_logged_) {
      Log(absl::StrCat("power source ", source_->name(), " failed (", sample.status().message(),
                       "); holding its last power"));
      fallback_failed_logged_ = true;
    }
    return std::nullopt;
  }
  std::string from = source_->name();
  source_ = std::move(fallback_);
  Log(absl::StrCat("power source ", from, " failed (", sample.status().message(),
                   "); switching to ", source_->name()));
  // The new source's counter and power start afresh.
  last_source_energy_.reset();
  reading_.source = source_->name();
  reading_.source_energy_joules = 0;
  return ReadLocked();
}

EnergyReading EnergyMeter::SampleSource() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time now = now_();
  if (have_reading_ && source_ != nullptr &&
      now - last_read_attempt_ < source_->min_read_interval()) {
    return reading_;
  }
  last_read_attempt_ = now;
  const std::string before = reading_.source;
  std::optional<PowerSample> sample = ReadLocked();
  if (!sample.has_value()) {
    // Nothing readable: hold the last power over the elapsed time.
    if (have_reading_ && now > reading_.time) {
      double joules = reading_.power_watts * absl::ToDoubleSeconds(now - reading_.time);
      reading_.energy_joules += joules;
      reading_.source_energy_joules += joules;
      reading_.time = now;
    }
    return reading_;
  }
  const bool switched = reading_.source != before;
  double dt =
      have_reading_ ? std::max(0.0, absl::ToDoubleSeconds(sample->time - reading_.time)) : 0;
  double joules = 0;
  double watts = reading_.power_watts;
  if (sample->energy_joules.has_value()) {
    if (last_source_energy_.has_value()) {
      joules = std::max(0.0, *sample->energy_joules - *last_source_energy_);
      if (dt > 0) watts = joules / dt;
    } else if (switched && sample->power_watts.has_value()) {
      joules = 0.5 * (reading_.power_watts + *sample->power_watts) * dt;
    }
    last_source_energy_ = sample->energy_joules;
  } else if (sample->power_watts.has_value() && have_reading_) {
    // Trapezoid between the previous power (the old source's, after a
    // switch) and this one.
    joules = 0.5 * (reading_.power_watts + *sample->power_watts) * dt;
  }
  if (sample->power_watts.has_value()) watts = *sample->power_watts;
  reading_.energy_joules += joules;
  reading_.source_energy_joules += joules;
  reading_.power_watts = watts;
  reading_.time = sample->time;
  have_reading_ = true;
  return reading_;
}

}  // namespace attnserve::power
