#include "server/telemetry/power/pmic_parse.h"

#include <cmath>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attnserve::power {
namespace {

struct AdcLine {
  std::string rail;
  char unit = 0;  // 'A' or 'V'
  double value = 0;
};

// "VDD_CORE_A current(7)=0.75012000A" -> {VDD_CORE, 'A', 0.75012}.
std::optional<AdcLine> ParseLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  size_t space = line.find(' ');
  size_t eq = line.rfind('=');
  if (space == absl::string_view::npos || eq == absl::string_view::npos || eq < space) {
    return std::nullopt;
  }
  absl::string_view name = line.substr(0, space);
  absl::string_view kind = absl::StripAsciiWhitespace(line.substr(space, eq - space));
  absl::string_view value = line.substr(eq + 1);
  if (name.size() < 3 || name[name.size() - 2] != '_' || value.size() < 2) return std::nullopt;
  char unit = name.back();
  if ((unit != 'A' && unit != 'V') || value.back() != unit) return std::nullopt;
  if (unit == 'A' && !absl::StartsWith(kind, "current(")) return std::nullopt;
  if (unit == 'V' && !absl::StartsWith(kind, "volt(")) return std::nullopt;
  AdcLine out;
  out.rail = std::string(name.substr(0, name.size() - 2));
  out.unit = unit;
  if (!absl::SimpleAtod(value.substr(0, value.size() - 1), &out.value) ||
      !std::isfinite(out.value) || out.value < 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

absl::StatusOr<PmicReading> ParsePmicReadAdc(absl::string_view output) {
  std::map<std::string, double> amps;
  std::map<std::string, double> volts;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::optional<AdcLine> adc = ParseLine(line);
    if (!adc) continue;
    (adc->unit == 'A' ? amps : volts)[adc->rail] = adc->value;
  }
  PmicReading reading;
  for (const auto& [rail, a] : amps) {
    auto v = volts.find(rail);
    if (v == volts.end()) continue;
    reading.rails.push_back({rail, v->second, a});
    reading.watts += v->second * a;
  }
  if (reading.rails.empty()) {
    absl::string_view first = absl::StripAsciiWhitespace(output);
    first = first.substr(0, std::min<size_t>(first.find('\n'), 80));
    return absl::InvalidArgumentError(
        absl::StrCat("no rail with both NAME_A current(..)= and NAME_V volt(..)= lines in the "
                     "PMIC output (starts: \"",
                     first, "\")"));
  }
  return reading;
}

}  // namespace attnserve::power
