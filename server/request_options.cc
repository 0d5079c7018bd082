#include "server/request_options.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/options_from_proto.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

void ApplyAttention(const v1::AttentionSpec& spec, RunOptions* options) {
  SetAttention(spec.kernel(), options);
  options->attention_params.clear();
  for (const auto& [key, value] : spec.params()) options->attention_params[key] = value;
}

// `prefix` names where the options came from ("options." or
// "policy.defaults.") in errors.
absl::Status ApplyPruning(const std::string& prefix, const v1::PruningOptions& p,
                          RunOptions* options) {
  RETURN_IF_ERROR(PruningFromProto(prefix + "pruning.", p, &options->pruning));
  return SetAutoMode(prefix + "pruning.mode", p.mode(), &options->auto_select.pruning);
}

absl::Status ApplyEarlyExit(const std::string& prefix, const v1::EarlyExitOptions& e,
                            RunOptions* options) {
  RETURN_IF_ERROR(
      SetAutoMode(prefix + "early_exit.mode", e.mode(), &options->auto_select.early_exit));
  options->early_exit = EarlyExitFromProto(e);
  return absl::OkStatus();
}

void ApplyBudget(const v1::Budget& b, RunOptions* options) {
  options->auto_select.max_latency_ms = b.max_latency_ms();
  options->auto_select.min_retention = b.min_retention();
}

}  // namespace

absl::StatusOr<RunOptions> PolicyRunOptions(const v1::Policy& policy) {
  const std::string prefix = "policy.defaults.";
  const v1::ExecutionOptions& defaults = policy.defaults();
  RunOptions options;
  ApplyAttention(defaults.attention(), &options);
  options.max_tokens = defaults.max_tokens();
  options.num_threads = defaults.num_threads();
  if (!defaults.linear_precision().empty()) {
    RETURN_IF_ERROR(
        SetLinearPrecision(prefix + "linear_precision", defaults.linear_precision(), &options));
  }
  if (defaults.has_pruning()) RETURN_IF_ERROR(ApplyPruning(prefix, defaults.pruning(), &options));
  if (defaults.has_early_exit()) {
    RETURN_IF_ERROR(ApplyEarlyExit(prefix, defaults.early_exit(), &options));
  }
  if (defaults.has_budget()) ApplyBudget(defaults.budget(), &options);
  return options;
}

absl::StatusOr<RunOptions> MergeRunOptions(const v1::Policy& policy,
                                           const v1::ExecutionOptions& request) {
  // The policy store checked the policy when it was set.
  ASSIGN_OR_RETURN(RunOptions options, PolicyRunOptions(policy));
  const std::string prefix = "options.";
  const auto allowed = [&](const std::string& field) -> absl::Status {
    const auto& list = policy.overridable();
    if (std::find(list.begin(), list.end(), field) != list.end()) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("options.", field, ": the policy (version ", policy.version(),
                     ") does not let requests override it; overridable: ",
                     list.empty() ? std::string("none") : absl::StrJoin(list, ", ")));
  };
  if (request.has_attention()) {
    RETURN_IF_ERROR(allowed("attention"));
    ApplyAttention(request.attention(), &options);
  }
  if (request.max_tokens() != 0) {
    RETURN_IF_ERROR(allowed("max_tokens"));
    options.max_tokens = request.max_tokens();
  }
  if (request.num_threads() != 0) {
    RETURN_IF_ERROR(allowed("num_threads"));
    options.num_threads = request.num_threads();
  }
  if (!request.linear_precision().empty()) {
    RETURN_IF_ERROR(allowed("linear_precision"));
    RETURN_IF_ERROR(
        SetLinearPrecision(prefix + "linear_precision", request.linear_precision(), &options));
  }
  if (request.has_pruning()) {
    RETURN_IF_ERROR(allowed("pruning"));
    RETURN_IF_ERROR(ApplyPruning(prefix, request.pruning(), &options));
  }
  if (request.has_early_exit()) {
    RETURN_IF_ERROR(allowed("early_exit"));
    RETURN_IF_ERROR(ApplyEarlyExit(prefix, request.early_exit(), &options));
  }
  if (request.has_budget()) {
    RETURN_IF_ERROR(allowed("budget"));
    ApplyBudget(request.budget(), &options);
  }
  return options;
}

}  // namespace attnserve
