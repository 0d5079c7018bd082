// The arithmetic of a model's dense (linear) layers: the f32 weights as
// loaded, or int8 / bf16 copies of them (engine/kernels/packed_linear.h).
#ifndef ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_
#define ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_

#include <optional>
#include <string_view>

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

// "f32", "int8" or "bf16"; nullopt for anything else.
inline std::optional<LinearPrecision> ParseLinearPrecision(std::string_view name) {
  if (name == "f32") return LinearPrecision::kF32;
  if (name == "int8") return LinearPrecision::kInt8;
  if (name == "bf16") return LinearPrecision::kBf16;
  return std::nullopt;
}

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_LINEAR_PRECISION_H_
