// The arithmetic of a model's dense (linear) layers: the f32 weights as
// loaded, or int8 / bf16 copies of them (engine/kernels/packed_linear.h).
#ifndef ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_
#define ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnserve {

enum class LinearPrecision {
  kF32,   // the checkpoint's weights, f32 GEMM
  kInt8,  // weights s8 per output channel, activations u8 per token (dynamic)
  kBf16,  // weights and activations rounded to bfloat16, f32 accumulation
};

inline std::string_view LinearPrecisionName(LinearPrecision p) {
  switch (p) {
    case LinearPrecision::kInt8:
      return "int8";
    case LinearPrecision::kBf16:
      return "bf16";
    case LinearPrecision::kF32:
      break;
  }
  return "f32";
}

// The accepted names, for error messages.
inline constexpr char kLinearPrecisionNames[] = "f32, int8, bf16";

// Every precision, for flag checks, listings and sweeps.
inline constexpr LinearPrecision kAllLinearPrecisions[] = {
    LinearPrecision::kF32, LinearPrecision::kInt8, LinearPrecision::kBf16};

// "f32", "int8" or "bf16"; nullopt for anything else.
inline std::optional<LinearPrecision> ParseLinearPrecision(std::string_view name) {
  if (name == "f32") return LinearPrecision::kF32;
  if (name == "int8") return LinearPrecision::kInt8;
  if (name == "bf16") return LinearPrecision::kBf16;
  return std::nullopt;
}

// The names a request or flag may give: every precision's, then `extra`
// ("auto" where the auto policy may pick, "" where unset means the policy's).
inline std::vector<std::string> LinearPrecisionChoices(
    std::initializer_list<const char*> extra = {}) {
  std::vector<std::string> names;
  for (LinearPrecision p : kAllLinearPrecisions) names.emplace_back(LinearPrecisionName(p));
  names.insert(names.end(), extra.begin(), extra.end());
  return names;
}

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_
