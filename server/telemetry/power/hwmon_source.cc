#include "server/telemetry/power/hwmon_source.h"

#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/util/status_macros.h"
#include "server/telemetry/power/rapl_source.h"
#include "server/telemetry/power/sysfs_file.h"

namespace attnserve::power {
namespace {

// "power12_input" with prefix "power" and suffix "_input" -> 12.
std::optional<int> ChannelIndex(const std::string& file, absl::string_view prefix,
                                absl::string_view suffix) {
  if (!absl::StartsWith(file, prefix) || !absl::EndsWith(file, suffix)) return std::nullopt;
  if (file.size() <= prefix.size() + suffix.size()) return std::nullopt;
  std::string digits = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  int index = 0;
  if (!absl::SimpleAtoi(digits, &index) || !absl::ascii_isdigit(digits[0])) return std::nullopt;
  return index;
}

bool IsGpuChip(const std::string& chip) {
  return chip == "amdgpu" || chip == "radeon" || chip == "nouveau" || chip == "i915" ||
         chip == "xe";
}

void AddChipChannels(const std::string& dir, const std::string& chip,
                     const std::vector<std::string>& files, std::vector<HwmonChannel>* out) {
  std::set<std::string> present(files.begin(), files.end());
  std::map<int, HwmonChannel> by_index;  // power and energy indices are separate
  std::map<int, HwmonChannel> energy_by_index;
  auto label_or = [&](const std::string& file, const std::string& fallback) {
    std::string label = present.count(file) ? ReadLabel(JoinPath(dir, file)) : "";
    return label.empty() ? fallback : label;
  };
  for (const std::string& file : files) {
    if (auto i = ChannelIndex(file, "power", "_input")) {
      HwmonChannel& ch = by_index[*i];
      ch.power_path = JoinPath(dir, file);
    } else if (auto j = ChannelIndex(file, "power", "_average")) {
      HwmonChannel& ch = by_index[*j];
      if (ch.power_path.empty()) ch.power_path = JoinPath(dir, file);
    } else if (auto k = ChannelIndex(file, "energy", "_input")) {
      HwmonChannel& ch = energy_by_index[*k];
      ch.energy_path = JoinPath(dir, file);
    }
  }
  // Second pass, so that a chip with its own powerN files is not counted twice.
  for (const std::string& file : files) {
    auto n = ChannelIndex(file, "curr", "_input");
    if (!n || chip != "ina3221") continue;
    std::string in = absl::StrCat("in", *n, "_input");
    if (present.count(in) && !by_index.count(*n)) {
      HwmonChannel& ch = by_index[*n];
      ch.voltage_path = JoinPath(dir, in);
      ch.current_path = JoinPath(dir, file);
      ch.label = label_or(absl::StrCat("in", *n, "_label"), absl::StrCat("in", *n));
    }
  }
  for (auto& [index, ch] : by_index) {
    ch.chip = chip;
    if (ch.label.empty()) {
      ch.label = label_or(absl::StrCat("power", index, "_label"), absl::StrCat("power", index));
    }
    out->push_back(ch);
  }
  for (auto& [index, ch] : energy_by_index) {
    ch.chip = chip;
    ch.label = label_or(absl::StrCat("energy", index, "_label"), absl::StrCat("energy", index));
    out->push_back(ch);
  }
}

bool HasPower(const HwmonChannel& ch) {
  return !ch.power_path.empty() || (!ch.voltage_path.empty() && !ch.current_path.empty());
}

absl::StatusOr<double> ChannelWatts(const HwmonChannel& ch) {
  if (!ch.power_path.empty()) {
    ASSIGN_OR_RETURN(uint64_t uw, ReadUint64File(ch.power_path));
    return static_cast<double>(uw) * 1e-6;
  }
  ASSIGN_OR_RETURN(uint64_t mv, ReadUint64File(ch.voltage_path));
  ASSIGN_OR_RETURN(uint64_t ma, ReadUint64File(ch.current_path));
  return static_cast<double>(mv) * static_cast<double>(ma) * 1e-6;
}

}  // namespace

absl::StatusOr<std::vector<HwmonChannel>> ListHwmonChannels(const std::string& root) {
  ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDir(root));
  std::vector<HwmonChannel> channels;
  for (const std::string& entry : entries) {
    if (!absl::StartsWith(entry, "hwmon")) continue;
    std::string dir = JoinPath(root, entry);
    std::string chip = ReadLabel(JoinPath(dir, "name"));
    if (IsGpuChip(chip)) continue;
    absl::StatusOr<std::vector<std::string>> files = ListDir(dir);
    if (!files.ok()) continue;  // a chip that vanished between the listings
    AddChipChannels(dir, chip.empty() ? entry : chip, *files, &channels);
  }
  return channels;
}

std::vector<HwmonChannel> SelectHwmonChannels(const std::vector<HwmonChannel>& all,
                                              const std::string& label) {
  std::vector<HwmonChannel> out;
  auto pick = [&](auto pred) {
    for (const HwmonChannel& ch : all) {
      if (pred(ch)) out.push_back(ch);
    }
    return !out.empty();
  };
  if (!label.empty()) {
    pick([&](const HwmonChannel& ch) { return ch.label == label; });
    return out;
  }
  if (pick([](const HwmonChannel& ch) { return ch.label == "VDD_IN" && HasPower(ch); })) return out;
  if (pick([](const HwmonChannel& ch) { return HasPower(ch); })) return out;
  pick([](const HwmonChannel& ch) {
    return !ch.energy_path.empty() && !absl::StartsWith(ch.label, "Ecore");
  });
  return out;
}

HwmonSource::HwmonSource(std::vector<HwmonChannel> channels) : channels_(std::move(channels)) {
  for (const HwmonChannel& ch : channels_) {
    has_power_ = has_power_ && HasPower(ch);
    has_energy_ = has_energy_ && !ch.energy_path.empty();
  }
  last_uj_.assign(channels_.size(), 0);
}

absl::StatusOr<std::unique_ptr<HwmonSource>> HwmonSource::Create(const std::string& root,
                                                                 const std::string& label) {
  ASSIGN_OR_RETURN(std::vector<HwmonChannel> all, ListHwmonChannels(root));
  std::vector<HwmonChannel> selected = SelectHwmonChannels(all, label);
  if (selected.empty()) {
    std::vector<std::string> labels;
    for (const HwmonChannel& ch : all) labels.push_back(absl::StrCat(ch.chip, "/", ch.label));
    return absl::NotFoundError(absl::StrCat(
        "no hwmon power or energy channel", label.empty() ? "" : absl::StrCat(" labelled ", label),
        " under ", root,
        labels.empty() ? "" : absl::StrCat(" (have: ", absl::StrJoin(labels, ", "), ")")));
  }
  auto source = std::unique_ptr<HwmonSource>(new HwmonSource(std::move(selected)));
  RETURN_IF_ERROR(source->Read().status());
  return source;
}

absl::StatusOr<PowerSample> HwmonSource::Read() {
  PowerSample sample;
  sample.time = absl::Now();
  if (has_power_) {
    double watts = 0;
    for (const HwmonChannel& ch : channels_) {
      ASSIGN_OR_RETURN(double w, ChannelWatts(ch));
      watts += w;
    }
    sample.power_watts = watts;
  }
  if (has_energy_) {
    std::vector<uint64_t> now(channels_.size());
    for (size_t i = 0; i < channels_.size(); ++i) {
      ASSIGN_OR_RETURN(uint64_t uj, ReadUint64File(channels_[i].energy_path));
      now[i] = uj;
    }
    for (size_t i = 0; i < channels_.size(); ++i) {
      // 64-bit microjoule counters do not wrap in practice; a decrease
      // (driver reload) counts from 0.
      if (!first_read_) total_uj_ += static_cast<double>(CounterDelta(last_uj_[i], now[i], 0));
      last_uj_[i] = now[i];
    }
    first_read_ = false;
    sample.energy_joules = total_uj_ * 1e-6;
  }
  return sample;
}

}  // namespace attnserve::power
