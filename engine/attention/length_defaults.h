// Default attention parameters that depend on the sequence length.
//
// An approximate kernel's fixed default (a 64-key window, 64 landmarks, ...)
// is close to dense at 128 tokens and far from it at 1,000. Where a
// calibration on real prose found the budget a length needs to keep the
// embedding's cosine to dense at the target, the default follows that length
// instead. A request that sets the parameter gets exactly its value.
//
// The points come from tools/fit_length_defaults (generated into
// length_defaults_table.inc; docs/ATTENTION_QUALITY.md "Defaults by length").
#ifndef ATTNSERVE_ENGINE_ATTENTION_LENGTH_DEFAULTS_H_
#define ATTNSERVE_ENGINE_ATTENTION_LENGTH_DEFAULTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/attention/attention_kernel.h"

namespace attnserve {

struct LengthDefault {
  std::string kernel;
  std::string param;
  // (n, value) ascending in n: between points the value is interpolated in
  // log n; below the first and above the last, the end point's value.
  std::vector<std::pair<int64_t, double>> points;
  // The calibration reached the target at every point (false: the largest
  // budget tried fell short somewhere; the points then hold that budget).
  bool meets_target = true;

  // The default at n keys, rounded for integer parameters and clamped to
  // `spec`'s range.
  double At(int64_t n, const ParamSpec& spec) const;
};

// Every length rule, in the table's order.
const std::vector<LengthDefault>& AllLengthDefaults();

// `kernel`'s rule for `param`, or nullptr when its default is fixed.
const LengthDefault* FindLengthDefault(std::string_view kernel, std::string_view param);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_LENGTH_DEFAULTS_H_
