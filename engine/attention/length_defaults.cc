#include "engine/attention/length_defaults.h"

#include <algorithm>
#include <cmath>

namespace attnserve {

double LengthDefault::At(int64_t n, const ParamSpec& spec) const {
  double value = spec.default_value;
  if (!points.empty()) {
    if (n <= points.front().first) {
      value = points.front().second;
    } else if (n >= points.back().first) {
      value = points.back().second;
    } else {
      auto hi = std::upper_bound(points.begin(), points.end(), n,
                                 [](int64_t x, const auto& p) { return x < p.first; });
      auto lo = hi - 1;
      const double t = std::log(static_cast<double>(n) / lo->first) /
                       std::log(static_cast<double>(hi->first) / lo->first);
      value = lo->second + t * (hi->second - lo->second);
    }
  }
  if (spec.type == ParamType::kInt) value = std::ceil(value - 1e-9);  // never below the fit
  return std::clamp(value, spec.min_value, spec.max_value);
}

const std::vector<LengthDefault>& AllLengthDefaults() {
  static const std::vector<LengthDefault>* const kTable = new std::vector<LengthDefault>{
#include "engine/attention/length_defaults_table.inc"
  };
  return *kTable;
}

const LengthDefault* FindLengthDefault(std::string_view kernel, std::string_view param) {
  for (const LengthDefault& rule : AllLengthDefaults()) {
    if (rule.kernel == kernel && rule.param == param) return &rule;
  }
  return nullptr;
}

}  // namespace attnserve
