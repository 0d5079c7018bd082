#include "engine/run_options.h"

#include "absl/strings/str_cat.h"

namespace attnserve {

absl::Status SetAutoMode(std::string_view field, std::string_view mode, bool* auto_flag) {
  if (!mode.empty() && mode != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": '", std::string(mode), "' is not '' or 'auto'"));
  }
  *auto_flag = mode == "auto";
  return absl::OkStatus();
}

void SetAttention(std::string_view kernel, RunOptions* options) {
  options->auto_select.attention = kernel == "auto";
  // Under auto the policy replaces it; until then dense keeps the options valid.
  options->attention = kernel.empty() || kernel == "auto" ? "dense" : std::string(kernel);
}

absl::Status SetLinearPrecision(std::string_view field, std::string_view name,
                                RunOptions* options) {
  options->auto_select.linear_precision = name == "auto";
  if (name == "auto") {
    options->linear_precision = LinearPrecision::kF32;
    return absl::OkStatus();
  }
  const std::optional<LinearPrecision> precision = ParseLinearPrecision(name);
  if (!precision) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": '", std::string(name),
                                                   "' is not one of ", kLinearPrecisionNames,
                                                   " (or auto)"));
  }
  options->linear_precision = *precision;
  return absl::OkStatus();
}

absl::Status SetPruningFallback(std::string_view field, std::string_view name,
                                PruningOptions* pruning) {
  if (name.empty() || name == "hidden_norm") {
    pruning->fallback = PruningOptions::Fallback::kHiddenNorm;
  } else if (name == "keep_all") {
    pruning->fallback = PruningOptions::Fallback::kKeepAll;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": '", std::string(name),
                                                   "' is not 'hidden_norm' or 'keep_all'"));
  }
  return absl::OkStatus();
}

std::string_view PruningFallbackName(PruningOptions::Fallback fallback) {
  return fallback == PruningOptions::Fallback::kKeepAll ? "keep_all" : "hidden_norm";
}

}  // namespace attnserve
